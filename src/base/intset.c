/* SPDX-License-Identifier: MIT */
#include "intset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define REMOVED (-1)

static size_t slot_of(int key, size_t cap)
{
	/* Fibonacci hashing spreads consecutive pids over the table. */
	return (size_t)(((uint64_t)(unsigned)key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (cap - 1);
}

static int *find(const intset *s, int key)
{
	if (!s->cap)
		return NULL;
	for (size_t i = slot_of(key, s->cap);; i = (i + 1) & (s->cap - 1)) {
		if (s->slots[i] == key)
			return &s->slots[i];
		if (s->slots[i] == 0)
			return NULL;
	}
}

static int grow(intset *s)
{
	size_t cap = s->cap ? s->cap : 64;
	/* Grow only if members fill the table; otherwise just drop tombstones. */
	if ((s->n + 1) * 2 > cap)
		cap *= 2;
	int *slots = calloc(cap, sizeof(int));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		int key = s->slots[i];
		if (key <= 0)
			continue;
		size_t j = slot_of(key, cap);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = key;
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	s->used = s->n;
	return 0;
}

int intset_add(intset *s, int key)
{
	if (key <= 0)
		return -EINVAL;
	if (find(s, key))
		return 0;
	if ((s->used + 1) * 4 > s->cap * 3) {
		int r = grow(s);
		if (r < 0)
			return r;
	}
	size_t i = slot_of(key, s->cap);
	while (s->slots[i] > 0)
		i = (i + 1) & (s->cap - 1);
	if (s->slots[i] == 0)
		s->used++;
	s->slots[i] = key;
	s->n++;
	return 0;
}

bool intset_has(const intset *s, int key)
{
	return key > 0 && find(s, key);
}

void intset_del(intset *s, int key)
{
	int *slot = key > 0 ? find(s, key) : NULL;
	if (slot) {
		*slot = REMOVED;
		s->n--;
	}
}

void intset_free(intset *s)
{
	free(s->slots);
	*s = (intset){ 0 };
}
