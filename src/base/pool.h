/* SPDX-License-Identifier: MIT */
/* A free list of fixed-size buffers, so that capturing output does not hit
 * malloc for every task. Not thread-safe: one pool belongs to one loop. */
#ifndef ART_BASE_POOL_H
#define ART_BASE_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct pool {
	size_t size;     /* bytes per buffer */
	size_t max_free; /* buffers kept on the free list at most */
	void *free_list;
	size_t n_free;
	size_t n_out;
	uint64_t hits, misses;
} pool;

void pool_init(pool *p, size_t size, size_t max_free);
void *pool_get(pool *p);
void pool_put(pool *p, void *buf);
void pool_destroy(pool *p);

#endif
