/* SPDX-License-Identifier: MIT */
/* Groups and kinds by id: a chained hash table that doubles as it fills. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched_private.h"

#define TABLE_MIN 16

/* FNV-1a: ids are short and few; nothing here faces an attacker who
 * could pick colliding ids cheaper than by submitting tasks. */
static uint64_t hash_id(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

int sched_table_init(sched_table *t)
{
	sched_name **slots = calloc(TABLE_MIN, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	*t = (sched_table){ .slots = slots, .size = TABLE_MIN };
	return 0;
}

void sched_table_done(sched_table *t)
{
	free(t->slots);
	*t = (sched_table){ 0 };
}

sched_name *sched_table_find(const sched_table *t, const char *id)
{
	uint64_t h = hash_id(id);
	for (sched_name *n = t->slots[h & (t->size - 1)]; n; n = n->next)
		if (n->hash == h && strcmp(n->id, id) == 0)
			return n;
	return NULL;
}

static void grow(sched_table *t)
{
	size_t size = t->size * 2;
	sched_name **slots = calloc(size, sizeof(*slots));
	if (!slots)
		return;
	for (size_t i = 0; i < t->size; i++)
		for (sched_name *n = t->slots[i], *next; n; n = next) {
			next = n->next;
			n->next = slots[n->hash & (size - 1)];
			slots[n->hash & (size - 1)] = n;
		}
	free(t->slots);
	t->slots = slots;
	t->size = size;
}

void sched_table_add(sched_table *t, sched_name *n)
{
	if (t->n >= t->size)
		grow(t);
	n->hash = hash_id(n->id);
	sched_name **slot = &t->slots[n->hash & (t->size - 1)];
	n->next = *slot;
	*slot = n;
	t->n++;
}

void sched_table_remove(sched_table *t, sched_name *n)
{
	for (sched_name **p = &t->slots[n->hash & (t->size - 1)]; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			n->next = NULL;
			t->n--;
			return;
		}
}
