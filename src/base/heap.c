/* SPDX-License-Identifier: MIT */
#include "heap.h"

#include <errno.h>
#include <stdlib.h>

static void place(heap *h, size_t i, heap_node *node)
{
	h->nodes[i] = node;
	node->index = i;
}

static void sift_up(heap *h, size_t i)
{
	heap_node *node = h->nodes[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->nodes[parent]->key <= node->key)
			break;
		place(h, i, h->nodes[parent]);
		i = parent;
	}
	place(h, i, node);
}

static void sift_down(heap *h, size_t i)
{
	heap_node *node = h->nodes[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->n)
			break;
		if (child + 1 < h->n && h->nodes[child + 1]->key < h->nodes[child]->key)
			child++;
		if (node->key <= h->nodes[child]->key)
			break;
		place(h, i, h->nodes[child]);
		i = child;
	}
	place(h, i, node);
}

int heap_push(heap *h, heap_node *node)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		heap_node **nodes = realloc(h->nodes, cap * sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
		h->nodes = nodes;
		h->cap = cap;
	}
	place(h, h->n++, node);
	sift_up(h, node->index);
	return 0;
}

void heap_remove(heap *h, heap_node *node)
{
	size_t i = node->index;
	if (i == HEAP_NONE || i >= h->n || h->nodes[i] != node)
		return;
	node->index = HEAP_NONE;
	heap_node *last = h->nodes[--h->n];
	if (last == node)
		return;
	place(h, i, last);
	if (i > 0 && h->nodes[(i - 1) / 2]->key > last->key)
		sift_up(h, i);
	else
		sift_down(h, i);
}

heap_node *heap_pop(heap *h)
{
	heap_node *top = heap_top(h);
	if (top)
		heap_remove(h, top);
	return top;
}

void heap_free(heap *h)
{
	free(h->nodes);
	*h = (heap){ 0 };
}
