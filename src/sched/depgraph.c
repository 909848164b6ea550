/* SPDX-License-Identifier: MIT */
/* The task dependency graph. See depgraph.h for the semantics. */
#include "sched/depgraph.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/list.h"
#include "base/macros.h"

/* An ended node keeps the text its dependents quote after `dependency "id" `:
 * the caller's `how`, or for a skipped node this prefix and its reason. */
#define SKIPPED_PREFIX "skipped: "
#define ELIDED SKIPPED_PREFIX "...: "

/* A slot of a removed node: probing goes on past it. */
#define TOMB ((depgraph_node *)(uintptr_t)-1)

typedef struct dep_edge {
	depgraph_node *owner; /* the node that lists the dependency */
	depgraph_node *target; /* NULL until commit, and once the target is removed */
	const char *name; /* staged only: the id as written, in owner->names */
	list_node link; /* in target->dependents, from commit on */
	dep_cond cond;
} dep_edge;

struct depgraph_node {
	list_node link; /* in g->staged, then in g->nodes */
	list_node dependents; /* the edges that name this node */
	dep_edge *deps;
	size_t n_deps;
	size_t unmet; /* WAITING: dependencies that have not ended */
	char *names; /* staged only: the dependency ids, one block */
	char *end_text; /* ended; NULL (memory ran out, or no `how`): a default */
	size_t root; /* SKIPPED: where the root cause starts in end_text */
	void *userdata;
	uint64_t hash;
	uint64_t stamp; /* visit mark, compared with g->stamp */

	/* The walks keep their stacks and queues in the nodes, so they need no
	 * memory and cannot fail. Each field serves one walk at a time. */
	depgraph_node *walk_parent; /* the node the walk came from */
	depgraph_node *walk_child; /* cycle check: where the walk went next */
	depgraph_node *work_next; /* propagation: the queue of skipped nodes */
	union {
		size_t dep; /* cycle check: next index in deps */
		list_node *dependent; /* cancel walk: next edge in dependents */
	} cursor;
	enum { WHITE, GREY, BLACK } color; /* cycle check */

	depgraph_state state;
	char id[];
};

struct depgraph {
	depgraph_node **slots; /* open addressing, linear probing */
	size_t cap; /* a power of two, or 0 */
	size_t used; /* nodes plus tombstones */
	size_t n; /* nodes, staged ones included */
	list_node nodes; /* committed, in commit order */
	list_node staged; /* the open batch, in add order */
	uint64_t stamp;
	bool busy; /* inside a callback: the graph must not change */
};

/* A FIFO of nodes, threaded through work_next. */
typedef struct work_queue {
	depgraph_node *head, *tail;
} work_queue;

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static bool ended(const depgraph_node *n)
{
	return n->state >= DEPGRAPH_SUCCEEDED;
}

/* Cuts s to at most max bytes, never inside a UTF-8 sequence. */
static void truncate_utf8(char *s, size_t max)
{
	if (strnlen(s, max + 1) <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	s[max] = 0;
}

/* ------------------------------------------------------------ conditions */

static const char *const cond_names[_DEP_COND_MAX] = {
	[DEP_OK] = "ok",
	[DEP_ANY] = "any",
	[DEP_FAILED] = "failed",
};

int dep_cond_from_string(const char *s, dep_cond *ret)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(cond_names); i++)
		if (strcmp(s, cond_names[i]) == 0) {
			*ret = (dep_cond)i;
			return 0;
		}
	return -EINVAL;
}

const char *dep_cond_to_string(dep_cond cond)
{
	return (unsigned)cond < ARRAY_SIZE(cond_names) ? cond_names[cond] : NULL;
}

/* Whether a dependency that ended in `end` meets cond. A skipped task did
 * not run: it neither succeeded nor failed. */
static bool cond_holds(dep_cond cond, depgraph_state end)
{
	switch (cond) {
	case DEP_OK:
		return end == DEPGRAPH_SUCCEEDED;
	case DEP_FAILED:
		return end == DEPGRAPH_FAILED;
	default:
		return true;
	}
}

/* ------------------------------------------------------------ id table */

static uint64_t hash_id(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	/* FNV's low bits are poor for ids that differ in their last bytes
	 * ("t1", "t2"); the table indexes with low bits, so mix them. */
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

static depgraph_node *map_find(const depgraph *g, const char *id, uint64_t hash)
{
	if (!g->cap)
		return NULL;
	for (size_t i = hash & (g->cap - 1);; i = (i + 1) & (g->cap - 1)) {
		depgraph_node *n = g->slots[i];
		if (!n)
			return NULL;
		if (n != TOMB && n->hash == hash && strcmp(n->id, id) == 0)
			return n;
	}
}

static void map_place(depgraph_node **slots, size_t cap, depgraph_node *n)
{
	size_t i = n->hash & (cap - 1);
	while (slots[i] && slots[i] != TOMB)
		i = (i + 1) & (cap - 1);
	slots[i] = n;
}

/* Makes room for one more node: grows the table when nodes fill it, or
 * rebuilds it at the same size when tombstones do (rollbacks, removals). */
static int map_reserve(depgraph *g)
{
	if ((g->used + 1) * 4 <= g->cap * 3)
		return 0;
	size_t cap = g->cap ? g->cap : 64;
	while ((g->n + 1) * 2 > cap)
		cap *= 2;
	depgraph_node **slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < g->cap; i++)
		if (g->slots[i] && g->slots[i] != TOMB)
			map_place(slots, cap, g->slots[i]);
	free(g->slots);
	g->slots = slots;
	g->cap = cap;
	g->used = g->n;
	return 0;
}

/* After map_reserve(). */
static void map_insert(depgraph *g, depgraph_node *n)
{
	size_t i = n->hash & (g->cap - 1);
	while (g->slots[i] && g->slots[i] != TOMB)
		i = (i + 1) & (g->cap - 1);
	if (!g->slots[i])
		g->used++;
	g->slots[i] = n;
	g->n++;
}

static void map_delete(depgraph *g, depgraph_node *n)
{
	for (size_t i = n->hash & (g->cap - 1); g->slots[i]; i = (i + 1) & (g->cap - 1))
		if (g->slots[i] == n) {
			g->slots[i] = TOMB;
			g->n--;
			return;
		}
}

/* ------------------------------------------------------------ nodes */

static void node_free(depgraph_node *n)
{
	free(n->deps);
	free(n->names);
	free(n->end_text);
	free(n);
}

static void node_freep(depgraph_node **n)
{
	if (*n)
		node_free(*n);
}

/* Builds a staged node with its own copies of every id. */
static int node_new(const char *id, const dep_spec *deps, size_t n_deps, void *userdata,
		    depgraph_node **ret)
{
	size_t idlen = strlen(id);
	_cleanup_(node_freep) depgraph_node *n = calloc(1, sizeof(*n) + idlen + 1);
	if (!n)
		return -ENOMEM;
	memcpy(n->id, id, idlen + 1);
	n->hash = hash_id(id);
	n->userdata = userdata;
	n->state = DEPGRAPH_STAGED;
	list_init(&n->dependents);

	if (n_deps > 0) {
		size_t total = 0;
		for (size_t i = 0; i < n_deps; i++)
			total += strlen(deps[i].id) + 1;
		n->deps = calloc(n_deps, sizeof(*n->deps));
		n->names = malloc(total);
		if (!n->deps || !n->names)
			return -ENOMEM;
		char *p = n->names;
		for (size_t i = 0; i < n_deps; i++) {
			size_t len = strlen(deps[i].id) + 1;
			memcpy(p, deps[i].id, len);
			/* link stays zeroed: list_remove() of an edge never
			 * linked does nothing (a rollback). */
			n->deps[i] = (dep_edge){ .owner = n, .name = p, .cond = deps[i].cond };
			p += len;
		}
		n->n_deps = n_deps;
	}
	*ret = steal_ptr(&n);
	return 0;
}

/* The text dependents quote after `dependency "id" `, and where in it the
 * root cause starts. */
static const char *end_text(const depgraph_node *n)
{
	if (n->end_text)
		return n->end_text;
	switch (n->state) {
	case DEPGRAPH_SUCCEEDED:
		return "succeeded";
	case DEPGRAPH_FAILED:
		return "failed";
	default:
		return SKIPPED_PREFIX "a dependency did not end as required";
	}
}

static size_t end_root(const depgraph_node *n)
{
	return n->end_text ? n->root : strlen(SKIPPED_PREFIX);
}

/* Composes d's end text from the dependency that fails its condition. A
 * chain of skips would make the texts of a long chain grow with its length
 * (quadratic memory), so past DEPGRAPH_REASON_MAX the middle goes. */
static char *skip_text(const depgraph_node *cause, size_t *root)
{
	const char *text = end_text(cause);
	size_t head = strlen(SKIPPED_PREFIX "dependency \"\" ") + strlen(cause->id);
	char *s = NULL;
	int r;

	if (cause->state != DEPGRAPH_SKIPPED) {
		r = asprintf(&s, SKIPPED_PREFIX "dependency \"%s\" %s", cause->id, text);
		*root = strlen(SKIPPED_PREFIX);
	} else if (head + strlen(text) <= strlen(SKIPPED_PREFIX) + DEPGRAPH_REASON_MAX) {
		r = asprintf(&s, SKIPPED_PREFIX "dependency \"%s\" %s", cause->id, text);
		*root = head + end_root(cause);
	} else {
		r = asprintf(&s, SKIPPED_PREFIX "dependency \"%s\" " ELIDED "%s", cause->id,
			     text + end_root(cause));
		*root = head + strlen(ELIDED);
	}
	if (r < 0)
		return NULL;
	/* Still too long: a long id or `how`. */
	truncate_utf8(s, strlen(SKIPPED_PREFIX) + DEPGRAPH_REASON_MAX);
	*root = MIN(*root, strlen(s));
	return s;
}

static void emit_ready(depgraph_node *n, const depgraph_events *ev)
{
	n->state = DEPGRAPH_READY;
	if (ev && ev->ready)
		ev->ready(n, ev->ctx);
}

static void work_push(work_queue *q, depgraph_node *n)
{
	n->work_next = NULL;
	if (q->tail)
		q->tail->work_next = n;
	else
		q->head = n;
	q->tail = n;
}

static depgraph_node *work_pop(work_queue *q)
{
	depgraph_node *n = q->head;
	if (n) {
		q->head = n->work_next;
		if (!q->head)
			q->tail = NULL;
	}
	return n;
}

/* Ends d as skipped because of cause, and queues d so that its own
 * dependents hear of it. */
static void skip(depgraph_node *d, const depgraph_node *cause, work_queue *q,
		 const depgraph_events *ev)
{
	d->end_text = skip_text(cause, &d->root);
	d->state = DEPGRAPH_SKIPPED;
	if (ev && ev->skipped)
		ev->skipped(d, depgraph_node_reason(d), ev->ctx);
	work_push(q, d);
}

/* Tells the dependents of every queued node (which have ended) that it
 * ended. Breadth first, so the reasons nearest the cause come first. */
static void propagate(work_queue *q, const depgraph_events *ev)
{
	depgraph_node *n;
	while ((n = work_pop(q))) {
		for (list_node *l = n->dependents.next; l != &n->dependents; l = l->next) {
			dep_edge *e = container_of(l, dep_edge, link);
			depgraph_node *d = e->owner;
			/* Ended already: skipped through another dependency, or
			 * ended by the caller (cancelled). */
			if (d->state != DEPGRAPH_WAITING)
				continue;
			d->unmet--;
			if (!cond_holds(e->cond, n->state))
				skip(d, n, q, ev);
			else if (d->unmet == 0)
				emit_ready(d, ev);
		}
	}
}

/* ------------------------------------------------------------ the graph */

int depgraph_new(depgraph **ret)
{
	depgraph *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	list_init(&g->nodes);
	list_init(&g->staged);
	*ret = g;
	return 0;
}

static void free_list(list_node *head)
{
	list_node *l;
	while ((l = list_pop_front(head)))
		node_free(container_of(l, depgraph_node, link));
}

void depgraph_free(depgraph *g)
{
	if (!g)
		return;
	free_list(&g->staged);
	free_list(&g->nodes);
	free(g->slots);
	free(g);
}

int depgraph_add(depgraph *g, const char *id, const dep_spec *deps, size_t n_deps,
		 void *userdata, depgraph_node **ret, char *err, size_t errlen)
{
	if (g->busy)
		return -EBUSY;
	if (!id || !*id)
		return fail(err, errlen, -EINVAL, "task id is empty");
	if (n_deps > 0 && !deps)
		return fail(err, errlen, -EINVAL, "task \"%s\": depends_on is missing", id);
	for (size_t i = 0; i < n_deps; i++) {
		if (!deps[i].id || !*deps[i].id)
			return fail(err, errlen, -EINVAL, "task \"%s\": depends_on[%zu]: empty id",
				    id, i);
		if ((unsigned)deps[i].cond >= _DEP_COND_MAX)
			return fail(err, errlen, -EINVAL,
				    "task \"%s\": depends_on \"%s\": invalid condition", id,
				    deps[i].id);
	}
	if (depgraph_find(g, id))
		return fail(err, errlen, -EEXIST, "duplicate task id \"%s\"", id);

	_cleanup_(node_freep) depgraph_node *n = NULL;
	int r = node_new(id, deps, n_deps, userdata, &n);
	if (r < 0)
		return r;
	r = map_reserve(g);
	if (r < 0)
		return r;
	map_insert(g, n);
	list_add_tail(&g->staged, &n->link);
	if (ret)
		*ret = n;
	n = NULL;
	return 0;
}

/* Points every staged edge at its target. */
static int resolve(depgraph *g, char *err, size_t errlen)
{
	for (list_node *l = g->staged.next; l != &g->staged; l = l->next) {
		depgraph_node *n = container_of(l, depgraph_node, link);
		/* A fresh stamp per node finds an id listed twice in O(edges). */
		uint64_t stamp = ++g->stamp;
		for (size_t i = 0; i < n->n_deps; i++) {
			dep_edge *e = &n->deps[i];
			depgraph_node *t = map_find(g, e->name, hash_id(e->name));
			if (!t)
				return fail(err, errlen, -EINVAL,
					    "task \"%s\": depends_on \"%s\": no such task", n->id,
					    e->name);
			if (t->stamp == stamp)
				return fail(err, errlen, -EINVAL,
					    "task \"%s\": depends_on \"%s\" twice", n->id, e->name);
			t->stamp = stamp;
			e->target = t;
		}
	}
	return 0;
}

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	if (*off >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (r > 0)
		*off += (size_t)r;
}

/* The walk stands at `to` and found an edge back to `from`, which is on
 * its path: the cycle is that path, from `from` on. */
static int cycle_error(const depgraph_node *from, const depgraph_node *to, char *err,
		       size_t errlen)
{
	if (!err || errlen == 0)
		return -EINVAL;
	size_t off = 0;
	append(err, errlen, &off, "dependency cycle: %s", from->id);
	for (const depgraph_node *n = from; n != to && off < errlen; n = n->walk_child)
		append(err, errlen, &off, " -> %s", n->walk_child->id);
	append(err, errlen, &off, " -> %s", from->id);
	/* A cycle of thousands does not fit: say that it goes on. */
	if (off >= errlen && errlen > 4)
		memcpy(err + errlen - 4, "...", 4);
	return -EINVAL;
}

/* Depth first over the staged nodes. Committed nodes were checked when
 * they came and cannot depend on the batch, so a cycle lies within it. */
static int check_cycles(depgraph *g, char *err, size_t errlen)
{
	for (list_node *l = g->staged.next; l != &g->staged; l = l->next) {
		depgraph_node *u = container_of(l, depgraph_node, link);
		if (u->color != WHITE)
			continue;
		u->color = GREY;
		u->walk_parent = NULL;
		u->cursor.dep = 0;
		while (u) {
			if (u->cursor.dep == u->n_deps) {
				u->color = BLACK;
				u = u->walk_parent;
				continue;
			}
			depgraph_node *v = u->deps[u->cursor.dep++].target;
			if (v->state != DEPGRAPH_STAGED || v->color == BLACK)
				continue;
			if (v->color == GREY)
				return cycle_error(v, u, err, errlen);
			v->color = GREY;
			v->walk_parent = u;
			v->cursor.dep = 0;
			u->walk_child = v;
			u = v;
		}
	}
	return 0;
}

/* The first dependency that has ended and fails its condition, or NULL. */
static depgraph_node *failed_dependency(const depgraph_node *n)
{
	for (size_t i = 0; i < n->n_deps; i++) {
		depgraph_node *t = n->deps[i].target;
		if (ended(t) && !cond_holds(n->deps[i].cond, t->state))
			return t;
	}
	return NULL;
}

/* Links a checked batch in and settles what is settled already. Cannot
 * fail, so the batch goes in whole. */
static void activate(depgraph *g, const depgraph_events *ev)
{
	work_queue q = { 0 };
	list_node *l;

	/* Count unmet dependencies before anything in the batch ends, so that
	 * each counted edge is discounted exactly once, by propagate(). */
	for (l = g->staged.next; l != &g->staged; l = l->next) {
		depgraph_node *n = container_of(l, depgraph_node, link);
		for (size_t i = 0; i < n->n_deps; i++) {
			dep_edge *e = &n->deps[i];
			e->name = NULL;
			list_add_tail(&e->target->dependents, &e->link);
			if (!ended(e->target))
				n->unmet++;
		}
		free(n->names);
		n->names = NULL;
		n->state = DEPGRAPH_WAITING;
	}
	for (l = g->staged.next; l != &g->staged; l = l->next) {
		depgraph_node *n = container_of(l, depgraph_node, link);
		depgraph_node *cause = n->state == DEPGRAPH_WAITING ? failed_dependency(n) : NULL;
		if (cause)
			skip(n, cause, &q, ev);
	}
	propagate(&q, ev);
	while ((l = list_pop_front(&g->staged))) {
		depgraph_node *n = container_of(l, depgraph_node, link);
		if (n->state == DEPGRAPH_WAITING && n->unmet == 0)
			emit_ready(n, ev);
		list_add_tail(&g->nodes, l);
	}
}

int depgraph_commit(depgraph *g, const depgraph_events *ev, char *err, size_t errlen)
{
	if (g->busy)
		return -EBUSY;
	int r = resolve(g, err, errlen);
	if (r >= 0)
		r = check_cycles(g, err, errlen);
	if (r < 0) {
		depgraph_rollback(g);
		return r;
	}
	g->busy = true;
	activate(g, ev);
	g->busy = false;
	return 0;
}

void depgraph_rollback(depgraph *g)
{
	/* From a callback this would free nodes a walk stands on. */
	if (g->busy)
		return;
	list_node *l;
	while ((l = list_pop_front(&g->staged))) {
		depgraph_node *n = container_of(l, depgraph_node, link);
		map_delete(g, n);
		node_free(n);
	}
}

int depgraph_finished(depgraph *g, depgraph_node *node, bool success, const char *how,
		      const depgraph_events *ev)
{
	if (g->busy)
		return -EBUSY;
	switch (node->state) {
	case DEPGRAPH_READY:
		break;
	case DEPGRAPH_WAITING:
		if (success)
			return -EINVAL;
		break;
	case DEPGRAPH_STAGED:
		return -EINVAL;
	default:
		return -EALREADY;
	}
	if (how) {
		/* The slack lets truncate_utf8() see where a sequence ends. */
		char *text = strndup(how, DEPGRAPH_HOW_MAX + 4);
		if (!text)
			return -ENOMEM;
		truncate_utf8(text, DEPGRAPH_HOW_MAX);
		node->end_text = text;
	}
	node->state = success ? DEPGRAPH_SUCCEEDED : DEPGRAPH_FAILED;

	work_queue q = { 0 };
	work_push(&q, node);
	g->busy = true;
	propagate(&q, ev);
	g->busy = false;
	return 0;
}

/* The next dependent of n that needs n to succeed and is not visited. */
static depgraph_node *next_needing(depgraph_node *n, uint64_t stamp)
{
	while (n->cursor.dependent != &n->dependents) {
		dep_edge *e = container_of(n->cursor.dependent, dep_edge, link);
		n->cursor.dependent = e->link.next;
		if (e->cond == DEP_OK && e->owner->state == DEPGRAPH_WAITING &&
		    e->owner->stamp != stamp)
			return e->owner;
	}
	return NULL;
}

int depgraph_cancel_dependents(depgraph *g, depgraph_node *const *nodes, size_t n_nodes,
			       void (*fn)(depgraph_node *node, void *ctx), void *ctx)
{
	if (g->busy)
		return -EBUSY;
	/* Marking the given nodes first keeps them out of the report. */
	uint64_t stamp = ++g->stamp;
	for (size_t i = 0; i < n_nodes; i++)
		nodes[i]->stamp = stamp;

	g->busy = true;
	for (size_t i = 0; i < n_nodes; i++) {
		depgraph_node *start = nodes[i];
		if (ended(start) || start->state == DEPGRAPH_STAGED)
			continue;
		start->walk_parent = NULL;
		start->cursor.dependent = start->dependents.next;
		for (depgraph_node *u = start; u;) {
			depgraph_node *v = next_needing(u, stamp);
			if (v) {
				v->stamp = stamp;
				v->walk_parent = u;
				v->cursor.dependent = v->dependents.next;
				u = v;
				continue;
			}
			/* Every dependent of u is reported: u's turn. */
			if (u != start && fn)
				fn(u, ctx);
			u = u->walk_parent;
		}
	}
	g->busy = false;
	return 0;
}

int depgraph_remove(depgraph *g, depgraph_node *node)
{
	if (g->busy || !ended(node))
		return -EBUSY;
	for (size_t i = 0; i < node->n_deps; i++)
		list_remove(&node->deps[i].link);
	list_node *l, *tmp;
	list_for_each_safe(l, tmp, &node->dependents)
	{
		dep_edge *e = container_of(l, dep_edge, link);
		e->target = NULL;
		list_remove(l);
	}
	map_delete(g, node);
	list_remove(&node->link);
	node_free(node);
	return 0;
}

depgraph_node *depgraph_find(const depgraph *g, const char *id)
{
	return id ? map_find(g, id, hash_id(id)) : NULL;
}

size_t depgraph_size(const depgraph *g)
{
	return g->n;
}

const char *depgraph_node_id(const depgraph_node *node)
{
	return node->id;
}

void *depgraph_node_userdata(const depgraph_node *node)
{
	return node->userdata;
}

depgraph_state depgraph_node_state(const depgraph_node *node)
{
	return node->state;
}

const char *depgraph_node_reason(const depgraph_node *node)
{
	if (node->state != DEPGRAPH_SKIPPED)
		return NULL;
	return end_text(node) + strlen(SKIPPED_PREFIX);
}
