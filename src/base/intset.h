/* SPDX-License-Identifier: MIT */
/* A set of positive integers (pids): open addressing, linear probing. */
#ifndef ART_BASE_INTSET_H
#define ART_BASE_INTSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct intset {
	int *slots; /* 0: empty, -1: removed, > 0: member */
	size_t cap; /* a power of two */
	size_t used; /* members plus removed slots */
	size_t n;
} intset;

int intset_add(intset *s, int key);
bool intset_has(const intset *s, int key);
void intset_del(intset *s, int key);
void intset_free(intset *s);

#endif
