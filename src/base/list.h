/* SPDX-License-Identifier: MIT */
/* An intrusive doubly linked list with a sentinel head. */
#ifndef ART_BASE_LIST_H
#define ART_BASE_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct list_node {
	struct list_node *prev, *next;
} list_node;

static inline void list_init(list_node *head)
{
	head->prev = head->next = head;
}
static inline bool list_empty(const list_node *head)
{
	return head->next == head;
}
/* A node that is in no list points at itself, so removal is idempotent. */
static inline bool list_linked(const list_node *n)
{
	return n->next && n->next != n;
}
static inline void list_add_tail(list_node *head, list_node *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}
static inline void list_remove(list_node *n)
{
	if (!n->next)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}
static inline list_node *list_pop_front(list_node *head)
{
	if (list_empty(head))
		return NULL;
	list_node *n = head->next;
	list_remove(n);
	return n;
}

#define list_for_each_safe(pos, tmp, head) \
	for (pos = (head)->next, tmp = pos->next; pos != (head); pos = tmp, tmp = pos->next)

#endif
