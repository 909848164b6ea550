/* SPDX-License-Identifier: MIT */
/* A binary min-heap of intrusive nodes keyed by int64 (deadlines). Each node
 * knows its index, so removal and re-keying are O(log n). */
#ifndef ART_BASE_HEAP_H
#define ART_BASE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE ((size_t)-1)

typedef struct heap_node {
	int64_t key;
	size_t index; /* HEAP_NONE while not in a heap */
} heap_node;

typedef struct heap {
	heap_node **nodes;
	size_t n, cap;
} heap;

static inline void heap_node_init(heap_node *node)
{
	node->index = HEAP_NONE;
}
static inline bool heap_node_queued(const heap_node *node)
{
	return node->index != HEAP_NONE;
}
static inline heap_node *heap_top(const heap *h)
{
	return h->n ? h->nodes[0] : NULL;
}

int heap_push(heap *h, heap_node *node);
void heap_remove(heap *h, heap_node *node);
heap_node *heap_pop(heap *h);
void heap_free(heap *h);

#endif
