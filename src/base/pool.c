/* SPDX-License-Identifier: MIT */
#include "pool.h"

#include <stdlib.h>

void pool_init(pool *p, size_t size, size_t max_free)
{
	*p = (pool){ .size = size < sizeof(void *) ? sizeof(void *) : size, .max_free = max_free };
}

void *pool_get(pool *p)
{
	void *buf = p->free_list;
	if (buf) {
		p->free_list = *(void **)buf;
		p->n_free--;
		p->hits++;
	} else {
		buf = malloc(p->size);
		if (!buf)
			return NULL;
		p->misses++;
	}
	p->n_out++;
	return buf;
}

void pool_put(pool *p, void *buf)
{
	if (!buf)
		return;
	p->n_out--;
	if (p->n_free >= p->max_free) {
		free(buf);
		return;
	}
	*(void **)buf = p->free_list;
	p->free_list = buf;
	p->n_free++;
}

void pool_destroy(pool *p)
{
	while (p->free_list) {
		void *next = *(void **)p->free_list;
		free(p->free_list);
		p->free_list = next;
	}
	p->n_free = 0;
}
