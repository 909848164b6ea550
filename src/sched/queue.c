/* SPDX-License-Identifier: MIT */
/*
 * Queues and selection: flows and their heaps, priority with aging, fair
 * share between groups, caps, rates and admission. See sched.h for the
 * model and its guarantees.
 *
 * Why virtual time and not deficit round robin: DRR lets a flow send its
 * head when the flow's deficit covers the head's size, so it must know
 * the size before the start. A task's size here is its running time,
 * which is known only when it ends. Virtual time charges after the fact
 * (as start-time fair queuing and CFS's vruntime do): a group's vtime
 * grows by run_time / weight as its tasks finish, and the elapsed time of
 * its running tasks counts as well when groups are compared, so a group
 * running long tasks does not look idle meanwhile. Picking the backlogged
 * group with the lowest vtime then gives each group running time in
 * proportion to its weight, with an error bounded by the longest task.
 * DRR with a fixed cost per start would share starts, not time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"
#include "sched/sched_private.h"

static const char *const class_names[_SCHED_CLASS_MAX] = {
	[SCHED_LOW] = "low",
	[SCHED_NORMAL] = "normal",
	[SCHED_HIGH] = "high",
	[SCHED_CRITICAL] = "critical",
	[SCHED_EMERGENCY] = "emergency",
};

int sched_class_from_string(const char *str, sched_class *ret)
{
	if (!str)
		return -EINVAL;
	for (int c = 0; c < _SCHED_CLASS_MAX; c++)
		if (strcmp(str, class_names[c]) == 0) {
			*ret = (sched_class)c;
			return 0;
		}
	return -EINVAL;
}

const char *sched_class_to_string(sched_class c)
{
	return (unsigned)c < _SCHED_CLASS_MAX ? class_names[c] : NULL;
}

void sched_config_init(sched_config *c)
{
	*c = (sched_config){
		.aging_step_ns = 10 * NSEC_PER_SEC,
		.learn_alpha = 0.3,
		.learn_warmup = 3,
		.cpu_class_util = 0.5,
		.memory_class_fraction = 0.1,
		.memory_class_bytes = INT64_C(1) << 30,
		.memory_margin = 1.2,
		.default_cpu = 100,
	};
}

static int config_check(const sched_config *c)
{
	/* The key adds up to 4 aging steps to a time: keep that far from
	 * overflowing. NaN fails every comparison below, so it is refused. */
	if (c->aging_step_ns <= 0 || c->aging_step_ns > INT64_MAX / 64 || c->order_window_ns < 0 ||
	    c->order_window_ns > INT64_MAX / 64 || c->cpu_capacity < 0 || c->memory_capacity < 0 ||
	    !(c->learn_alpha > 0 && c->learn_alpha <= 1) || !(c->cpu_class_util >= 0) ||
	    !(c->memory_class_fraction >= 0) || c->memory_class_bytes < 0 ||
	    !(c->memory_margin >= 0) || c->default_cpu < 0 || c->default_memory < 0)
		return -EINVAL;
	return 0;
}

static int64_t reservation_after(const sched *s)
{
	if (s->cfg.reservation_ns < 0)
		return INT64_MAX;
	return s->cfg.reservation_ns ? s->cfg.reservation_ns : s->cfg.aging_step_ns;
}

void sched_entry_init(sched_entry *e)
{
	*e = (sched_entry){
		.cls = SCHED_NORMAL,
		.cpu_request = SCHED_UNSET,
		.memory_request = SCHED_UNSET,
		.heap_index = SIZE_MAX,
	};
	list_init(&e->group_link);
	list_init(&e->link);
}

const char *sched_entry_group(const sched_entry *e)
{
	return e->group ? e->group->name.id : NULL;
}

const char *sched_entry_kind(const sched_entry *e)
{
	return e->kind ? e->kind->name.id : NULL;
}

/* ---------------------------------------------------------------- heap */

/*
 * A flow's heap is 4-ary and keeps each entry's sort key in the array, so
 * sifting reads contiguous slots rather than entries scattered over the
 * caller's memory: with 10^6 entries queued, a pop costs a few cache
 * misses per level instead of one per comparison, over half the levels of
 * a binary heap. An entry is touched only to record its new index.
 */
#define HEAP_ARITY 4

/* The order within a flow: the virtual deadline, then higher order, then
 * submission. */
static bool slot_before(const struct sched_slot *a, const struct sched_slot *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	if (a->order != b->order)
		return a->order > b->order;
	return a->seq < b->seq;
}

static void heap_place(struct sched_flow *f, size_t i, const struct sched_slot *x)
{
	f->heap[i] = *x;
	x->e->heap_index = i;
}

static void heap_up(struct sched_flow *f, size_t i)
{
	struct sched_slot x = f->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / HEAP_ARITY;
		if (!slot_before(&x, &f->heap[parent]))
			break;
		heap_place(f, i, &f->heap[parent]);
		i = parent;
	}
	heap_place(f, i, &x);
}

static void heap_down(struct sched_flow *f, size_t i)
{
	struct sched_slot x = f->heap[i];
	for (;;) {
		size_t first = HEAP_ARITY * i + 1;
		if (first >= f->n)
			break;
		size_t last = MIN(first + HEAP_ARITY, f->n), best = first;
		for (size_t c = first + 1; c < last; c++)
			if (slot_before(&f->heap[c], &f->heap[best]))
				best = c;
		if (!slot_before(&f->heap[best], &x))
			break;
		heap_place(f, i, &f->heap[best]);
		i = best;
	}
	heap_place(f, i, &x);
}

/* Room for one more, so that the push itself cannot fail. */
static int heap_reserve(struct sched_flow *f)
{
	if (f->n < f->cap)
		return 0;
	size_t cap = f->cap ? f->cap * 2 : 8;
	struct sched_slot *heap = realloc(f->heap, cap * sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	f->heap = heap;
	f->cap = cap;
	return 0;
}

static void heap_push(struct sched_flow *f, sched_entry *e)
{
	f->heap[f->n] = (struct sched_slot){ .key = e->key, .seq = e->seq, .order = e->order, .e = e };
	e->heap_index = f->n++;
	heap_up(f, e->heap_index);
}

static void heap_remove(struct sched_flow *f, sched_entry *e)
{
	size_t i = e->heap_index;
	e->heap_index = SIZE_MAX;
	if (i == --f->n)
		return;
	heap_place(f, i, &f->heap[f->n]);
	if (i > 0 && slot_before(&f->heap[i], &f->heap[(i - 1) / HEAP_ARITY]))
		heap_up(f, i);
	else
		heap_down(f, i);
}

/* ------------------------------------------------------ groups, kinds */

static struct sched_group *group_find(const sched *s, const char *id)
{
	sched_name *n = sched_table_find(&s->groups, id ?: SCHED_DEFAULT_ID);
	return n ? container_of(n, struct sched_group, name) : NULL;
}

static struct sched_kind *kind_find(const sched *s, const char *id)
{
	sched_name *n = sched_table_find(&s->kinds, id ?: SCHED_DEFAULT_ID);
	return n ? container_of(n, struct sched_kind, name) : NULL;
}

static int group_get(sched *s, const char *id, struct sched_group **ret)
{
	struct sched_group *g = group_find(s, id);
	if (g) {
		*ret = g;
		return 0;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->name.id = strdup(id ?: SCHED_DEFAULT_ID);
	if (!g->name.id) {
		free(g);
		return -ENOMEM;
	}
	g->weight = 1;
	list_init(&g->flows);
	list_init(&g->running);
	list_init(&g->frozen);
	list_init(&g->active_link);
	sched_table_add(&s->groups, &g->name);
	*ret = g;
	return 0;
}

static int kind_get(sched *s, const char *id, struct sched_kind **ret)
{
	struct sched_kind *k = kind_find(s, id);
	if (k) {
		*ret = k;
		return 0;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->name.id = strdup(id ?: SCHED_DEFAULT_ID);
	if (!k->name.id) {
		free(k);
		return -ENOMEM;
	}
	sched_table_add(&s->kinds, &k->name);
	*ret = k;
	return 0;
}

/* A group that holds no work and no setting is forgotten: coming back, it
 * would start at the floor anyway. Memory stays bounded by the live
 * groups however many ids pass through. */
static void group_maybe_free(sched *s, struct sched_group *g)
{
	if (g->lim.n_queued || g->lim.n_running || g->lim.n_frozen || !list_empty(&g->flows) ||
	    g->weight != 1 || g->lim.max_running || g->lim.rate.period)
		return;
	sched_table_remove(&s->groups, &g->name);
	list_remove(&g->active_link);
	free(g->name.id);
	free(g);
}

int64_t sched_group_vt(const struct sched_group *g, int64_t now)
{
	/* The sum of the running tasks' charge_since may pass 2^63 (10^6
	 * tasks on a clock at 10^13 ns), their total elapsed time does not. */
	__int128 elapsed = (__int128)g->lim.n_running * now - g->charge_sum;
	return g->vtime + (int64_t)elapsed / (int64_t)g->weight;
}

/* The floor only rises: the lowest vtime of the active groups at any
 * moment is at least the floor, since each group entered at or above it
 * and vtimes never fall. */
static void vfloor_update(sched *s, int64_t now)
{
	bool any = false;
	int64_t min = INT64_MAX;
	for (list_node *i = s->active.next; i != &s->active; i = i->next) {
		int64_t vt = sched_group_vt(container_of(i, struct sched_group, active_link), now);
		min = MIN(min, vt);
		any = true;
	}
	if (any)
		s->vfloor = MAX(s->vfloor, min);
}

void sched_group_activate(sched *s, struct sched_group *g, int64_t now)
{
	if (list_linked(&g->active_link))
		return;
	vfloor_update(s, now);
	g->vtime = MAX(g->vtime, s->vfloor);
	list_add_tail(&s->active, &g->active_link);
}

/* After work left the group: leave the active set, maybe forget it. */
void sched_group_settle(sched *s, struct sched_group *g, int64_t now)
{
	if (g->lim.n_queued || g->lim.n_running)
		return;
	if (list_linked(&g->active_link)) {
		vfloor_update(s, now);
		list_remove(&g->active_link);
	}
	group_maybe_free(s, g);
}

/* --------------------------------------------------------------- flows */

static int flow_get(sched *s, struct sched_group *g, struct sched_kind *k, int64_t now,
		    struct sched_flow **ret)
{
	/* A group has a flow per kind it has queued: few, so a list. */
	for (list_node *i = g->flows.next; i != &g->flows; i = i->next) {
		struct sched_flow *f = container_of(i, struct sched_flow, group_link);
		if (f->kind == k) {
			*ret = f;
			return 0;
		}
	}
	struct sched_flow *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->group = g;
	f->kind = k;
	sched_clock_init(&f->held, sched_free_clock(s, now));
	list_init(&f->backlog_link);
	list_add_tail(&g->flows, &f->group_link);
	s->n_flows++;
	*ret = f;
	return 0;
}

static void flow_free(sched *s, struct sched_flow *f)
{
	list_remove(&f->group_link);
	list_remove(&f->backlog_link);
	free(f->heap);
	free(f);
	s->n_flows--;
}

/* Records what holds the flow's head back now, until `until` at the
 * latest (INT64_MAX: until further notice), for the wait accounting. The
 * flow's clock runs on free time (free_now); a limit that ends at a known
 * time ends that much free time later. */
static void flow_hold(struct sched_flow *f, sched_wait_reason why, int64_t until, int64_t now,
		      int64_t free_now)
{
	sched_clock_set(&f->held, why, until == INT64_MAX ? until : free_now + (until - now),
			free_now);
}

int64_t sched_free_clock(const sched *s, int64_t now)
{
	return now - sched_clock_read(&s->global, SCHED_WAIT_PRESSURE, now) -
	       sched_clock_read(&s->global, SCHED_WAIT_GLOBAL_CAP, now);
}

void sched_global_update(sched *s, int64_t now)
{
	sched_wait_reason st = SCHED_WAIT_ORDER;
	if (s->pressure)
		st = SCHED_WAIT_PRESSURE;
	else if (s->cfg.max_running && s->n_running >= s->cfg.max_running)
		st = SCHED_WAIT_GLOBAL_CAP;
	sched_clock_set(&s->global, st, INT64_MAX, now);
}

/* ----------------------------------------------------- scheduler object */

int sched_new(const sched_config *cfg, sched **ret)
{
	sched_config def;
	if (!cfg) {
		sched_config_init(&def);
		cfg = &def;
	}
	int r = config_check(cfg);
	if (r < 0)
		return r;
	sched *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	sched_clock_init(&s->global, 0);
	list_init(&s->backlog);
	list_init(&s->active);
	list_init(&s->low);
	list_init(&s->frozen);
	if (sched_table_init(&s->groups) < 0 || sched_table_init(&s->kinds) < 0) {
		sched_table_done(&s->groups);
		sched_table_done(&s->kinds);
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

void sched_free(sched *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->groups.size; i++)
		for (sched_name *n = s->groups.slots[i], *next; n; n = next) {
			struct sched_group *g = container_of(n, struct sched_group, name);
			next = n->next;
			while (!list_empty(&g->flows))
				flow_free(s, container_of(g->flows.next, struct sched_flow, group_link));
			free(n->id);
			free(g);
		}
	for (size_t i = 0; i < s->kinds.size; i++)
		for (sched_name *n = s->kinds.slots[i], *next; n; n = next) {
			next = n->next;
			free(n->id);
			free(container_of(n, struct sched_kind, name));
		}
	sched_table_done(&s->groups);
	sched_table_done(&s->kinds);
	free(s);
}

/* ------------------------------------------------------ ranks and fits */

sched_class sched_ec(const sched *s, const sched_entry *e, int64_t now)
{
	if (e->state != SCHED_QUEUED)
		return e->cls;
	/* min(EMERGENCY, class + floor(wait / step)) is EMERGENCY minus
	 * ceil((key - now) / step), the steps left until the key: monotonic
	 * in the key. Counted rather than divided: four steps at most. */
	int64_t d = e->key - now;
	int c = SCHED_EMERGENCY;
	for (int64_t edge = 0; d > edge && c > (int)e->cls; edge += s->cfg.aging_step_ns)
		c--;
	return (sched_class)c;
}

sched_class sched_effective_class(const sched *s, const sched_entry *e, int64_t now)
{
	return sched_ec(s, e, now);
}

bool sched_rank_before(const struct sched_flow *a, const struct sched_flow *b)
{
	if (a->ec != b->ec)
		return a->ec > b->ec;
	if (a->vt != b->vt)
		return a->vt < b->vt;
	return slot_before(&a->heap[0], &b->heap[0]);
}

/* A request above the capacity counts as the whole of it: the task then
 * starts once nothing else holds that resource, instead of never. */
static int64_t charge_of(int64_t request, int64_t capacity)
{
	return capacity ? MIN(request, capacity) : request;
}

int sched_fits_resources(const sched *s, const sched_entry *e)
{
	const sched_config *c = &s->cfg;
	if (c->cpu_capacity && s->cpu_used + charge_of(e->cpu_milli, c->cpu_capacity) > c->cpu_capacity)
		return SCHED_WAIT_CPU;
	if (c->memory_capacity &&
	    s->memory_used + charge_of(e->memory, c->memory_capacity) > c->memory_capacity)
		return SCHED_WAIT_MEMORY;
	return -1;
}

/* Takes a slot, the group's and kind's slots and the resources. */
void sched_run_begin(sched *s, sched_entry *e, int64_t now)
{
	struct sched_group *g = e->group;
	struct sched_kind *k = e->kind;

	s->n_running++;
	g->lim.n_running++;
	k->lim.n_running++;
	sched_global_update(s, now);
	e->charged_cpu = charge_of(e->cpu_milli, s->cfg.cpu_capacity);
	e->charged_memory = charge_of(e->memory, s->cfg.memory_capacity);
	s->cpu_used += e->charged_cpu;
	s->memory_used += e->charged_memory;
	e->since = e->charge_since = now;
	g->charge_sum += now;
	list_add_tail(&g->running, &e->group_link);
	if (e->cls == SCHED_LOW)
		list_add_tail(&s->low, &e->link);
	e->state = SCHED_RUNNING;
}

/* Gives all of that back and charges the group's vtime for the span. */
void sched_run_end(sched *s, sched_entry *e, int64_t now)
{
	struct sched_group *g = e->group;
	struct sched_kind *k = e->kind;

	g->vtime += (now - e->charge_since) / g->weight;
	g->charge_sum -= e->charge_since;
	e->run_ns += now - e->since;
	s->n_running--;
	g->lim.n_running--;
	k->lim.n_running--;
	sched_global_update(s, now);
	s->cpu_used -= e->charged_cpu;
	s->memory_used -= e->charged_memory;
	e->charged_cpu = e->charged_memory = 0;
	list_remove(&e->group_link);
	list_remove(&e->link);
}

void sched_start_queued(sched *s, sched_entry *e, int64_t now)
{
	struct sched_flow *f = e->flow;

	sched_wait_settle(s, e, now);
	heap_remove(f, e);
	s->n_queued--;
	e->group->lim.n_queued--;
	e->kind->lim.n_queued--;
	e->flow = NULL;
	if (!f->n)
		flow_free(s, f);
	sched_bucket_take(&e->group->lim.rate, now);
	sched_bucket_take(&e->kind->lim.rate, now);
	if (!e->started) {
		e->started = true;
		e->started_at = now;
	}
	sched_run_begin(s, e, now);
}

/* ------------------------------------------------------------- enqueue */

int sched_enqueue(sched *s, sched_entry *e, const char *group, const char *kind, int64_t now)
{
	struct sched_group *g;
	struct sched_kind *k;
	struct sched_flow *f;
	int r;

	if (e->state != SCHED_ENTRY_IDLE)
		return -EBUSY;
	if ((unsigned)e->cls >= _SCHED_CLASS_MAX ||
	    (e->cpu_request < 0 && e->cpu_request != SCHED_UNSET) ||
	    (e->memory_request < 0 && e->memory_request != SCHED_UNSET))
		return -EINVAL;

	r = group_get(s, group, &g);
	if (r < 0)
		return r;
	r = kind_get(s, kind, &k);
	if (r >= 0)
		r = flow_get(s, g, k, now, &f);
	if (r >= 0) {
		r = heap_reserve(f);
		if (r < 0 && !f->n)
			flow_free(s, f);
	}
	if (r < 0) {
		group_maybe_free(s, g);
		return r;
	}
	/* Nothing fails from here on. */

	sched_group_activate(s, g, now);
	e->group = g;
	e->kind = k;
	e->flow = f;
	sched_learn_requests(&s->cfg, k, e);
	e->enqueued_at = now;
	e->started = false;
	e->run_ns = e->frozen_ns = 0;

	int64_t t = now;
	if (s->cfg.order_window_ns) {
		int64_t m = t % s->cfg.order_window_ns;
		t -= m < 0 ? m + s->cfg.order_window_ns : m;
	}
	e->key = t + (int64_t)(SCHED_EMERGENCY - e->cls) * s->cfg.aging_step_ns;
	e->seq = s->seq++;
	heap_push(f, e);
	if (f->n == 1)
		list_add_tail(&s->backlog, &f->backlog_link);
	s->n_queued++;
	g->lim.n_queued++;
	k->lim.n_queued++;
	e->state = SCHED_QUEUED;
	sched_wait_snapshot(s, e, now);
	return 0;
}

void sched_remove(sched *s, sched_entry *e, int64_t now)
{
	if (e->state != SCHED_QUEUED)
		return;
	struct sched_flow *f = e->flow;
	struct sched_group *g = e->group;

	heap_remove(f, e);
	if (!f->n)
		flow_free(s, f);
	s->n_queued--;
	g->lim.n_queued--;
	e->kind->lim.n_queued--;
	e->state = SCHED_ENTRY_IDLE;
	e->flow = NULL;
	e->group = NULL;
	e->kind = NULL;
	sched_group_settle(s, g, now);
}

void sched_finished(sched *s, sched_entry *e, int64_t now, const sched_usage *usage)
{
	struct sched_group *g = e->group;
	struct sched_kind *k = e->kind;

	switch (e->state) {
	case SCHED_ENTRY_IDLE:
		return;
	case SCHED_QUEUED:
		sched_remove(s, e, now);
		return;
	case SCHED_RUNNING:
		sched_run_end(s, e, now);
		break;
	case SCHED_FROZEN:
		list_remove(&e->link);
		list_remove(&e->group_link);
		e->frozen_ns += now - e->since;
		s->n_frozen--;
		g->lim.n_frozen--;
		k->lim.n_frozen--;
		break;
	}
	sched_learn(&s->cfg, k, usage);
	e->state = SCHED_ENTRY_IDLE;
	e->group = NULL;
	e->kind = NULL;
	sched_group_settle(s, g, now);
}

/* ---------------------------------------------------------------- next */

/* What holds the head of f back now, SCHED_WAIT_ORDER for nothing (it may
 * start if it ranks first), and until when if that is known. Fills f->ec
 * and f->vt for ranking. */
static sched_wait_reason assess(const sched *s, struct sched_flow *f, int64_t now, int64_t *until,
				bool *reservable)
{
	struct sched_group *g = f->group;
	const struct sched_kind *k = f->kind;
	sched_entry *e = f->heap[0].e;

	/* Undeclared requests follow what the kind has learnt by now, not what
	 * was known at enqueue: a batch queued whole before its first task
	 * ended still benefits. Only a head is ever charged, so only heads
	 * need this. */
	sched_learn_requests(&s->cfg, k, e);
	*reservable = false;
	*until = INT64_MAX;
	if (sched_limits_full(&g->lim))
		return SCHED_WAIT_GROUP_CAP;
	if (sched_limits_full(&k->lim))
		return SCHED_WAIT_KIND_CAP;
	int64_t g_ready = sched_bucket_ready_at(&g->lim.rate);
	int64_t k_ready = sched_bucket_ready_at(&k->lim.rate);
	if (g_ready > now || k_ready > now) {
		*until = MAX(g_ready, k_ready);
		return g_ready >= k_ready ? SCHED_WAIT_GROUP_RATE : SCHED_WAIT_KIND_RATE;
	}
	f->ec = sched_ec(s, e, now);
	if (g->scan != s->scan) {
		/* Once per group and scan: groups have several flows. */
		g->scan = s->scan;
		g->scan_vt = sched_group_vt(g, now);
	}
	f->vt = g->scan_vt;
	int why = sched_fits_resources(s, e);
	if (why >= 0) {
		*reservable = now - e->enqueued_at >= reservation_after(s);
		return (sched_wait_reason)why;
	}
	/* Frozen tasks wait for their resources; new work below CRITICAL
	 * must not take them first. */
	if (s->n_frozen && f->ec < SCHED_CRITICAL)
		return SCHED_WAIT_RESERVED;
	return SCHED_WAIT_ORDER;
}

sched_entry *sched_next(sched *s, int64_t now, int64_t *ret_retry_at)
{
	struct sched_flow *best = NULL, *reserve = NULL;
	sched_entry *pick = NULL;
	int64_t retry = INT64_MAX;

	if (s->pressure || (s->cfg.max_running && s->n_running >= s->cfg.max_running))
		goto done;

	int64_t free_now = sched_free_clock(s, now);
	s->scan++;
	for (list_node *i = s->backlog.next; i != &s->backlog; i = i->next) {
		struct sched_flow *f = container_of(i, struct sched_flow, backlog_link);
		bool reservable;
		int64_t until;
		sched_wait_reason why = assess(s, f, now, &until, &reservable);

		f->cand = why == SCHED_WAIT_ORDER;
		flow_hold(f, why, until, now, free_now);
		if (why == SCHED_WAIT_GROUP_RATE || why == SCHED_WAIT_KIND_RATE)
			retry = MIN(retry, until);
		if (reservable && (!reserve || sched_rank_before(f, reserve)))
			reserve = f;
		if (f->cand && (!best || sched_rank_before(f, best)))
			best = f;
	}

	/* A head that has waited long enough for its resources reserves them:
	 * what ranks after it waits too, so that what runs drains and it
	 * fits. What ranks before it would have gone first anyway. */
	if (reserve) {
		for (list_node *i = s->backlog.next; i != &s->backlog; i = i->next) {
			struct sched_flow *f = container_of(i, struct sched_flow, backlog_link);
			if (f->cand && !sched_rank_before(f, reserve))
				flow_hold(f, SCHED_WAIT_RESERVED, INT64_MAX, now, free_now);
		}
		if (best && !sched_rank_before(best, reserve))
			best = NULL;
	}

	if (best) {
		pick = best->heap[0].e;
		sched_start_queued(s, pick, now);
	}
done:
	if (ret_retry_at)
		*ret_retry_at = pick ? INT64_MAX : retry;
	return pick;
}

/* -------------------------------------------------------------- limits */

int sched_set_max_running(sched *s, unsigned max_running, int64_t now)
{
	s->cfg.max_running = max_running;
	sched_global_update(s, now);
	return 0;
}

int sched_set_capacity(sched *s, int64_t cpu_milli, int64_t memory, int64_t now)
{
	(void)now;
	if (cpu_milli < 0 || memory < 0)
		return -EINVAL;
	s->cfg.cpu_capacity = cpu_milli;
	s->cfg.memory_capacity = memory;
	return 0;
}

void sched_set_pressure(sched *s, bool paused, int64_t now)
{
	s->pressure = paused;
	sched_global_update(s, now);
}

int sched_group_set_weight(sched *s, const char *group, unsigned weight, int64_t now)
{
	struct sched_group *g;
	if (weight < 1)
		return -EINVAL;
	int r = group_get(s, group, &g);
	if (r < 0)
		return r;
	/* The running tasks' time so far was spent at the old weight:
	 * charge it at that weight, and charge the rest at the new one. */
	if (g->lim.n_running) {
		g->vtime = sched_group_vt(g, now);
		for (list_node *i = g->running.next; i != &g->running; i = i->next)
			container_of(i, sched_entry, group_link)->charge_since = now;
		g->charge_sum = (__int128)g->lim.n_running * now;
	}
	g->weight = weight;
	group_maybe_free(s, g);
	return 0;
}

int sched_group_set_max_running(sched *s, const char *group, unsigned max_running, int64_t now)
{
	struct sched_group *g;
	int r = group_get(s, group, &g);
	if (r < 0)
		return r;
	(void)now;
	g->lim.max_running = max_running;
	group_maybe_free(s, g);
	return 0;
}

int sched_group_set_rate(sched *s, const char *group, double rate, unsigned burst, int64_t now)
{
	struct sched_group *g;
	int r = group_get(s, group, &g);
	if (r < 0)
		return r;
	r = sched_bucket_set(&g->lim.rate, rate, burst, now);
	group_maybe_free(s, g);
	return r;
}

int sched_kind_set_max_running(sched *s, const char *kind, unsigned max_running, int64_t now)
{
	struct sched_kind *k;
	int r = kind_get(s, kind, &k);
	if (r < 0)
		return r;
	(void)now;
	k->lim.max_running = max_running;
	return 0;
}

int sched_kind_set_rate(sched *s, const char *kind, double rate, unsigned burst, int64_t now)
{
	struct sched_kind *k;
	int r = kind_get(s, kind, &k);
	if (r < 0)
		return r;
	return sched_bucket_set(&k->lim.rate, rate, burst, now);
}

/* ------------------------------------------------- counting, iterating */

static void counts_of(const sched_limits *l, sched_counts *ret)
{
	*ret = (sched_counts){ .queued = l->n_queued, .running = l->n_running, .frozen = l->n_frozen };
}

void sched_group_counts(const sched *s, const char *group, sched_counts *ret)
{
	const struct sched_group *g = group_find(s, group);
	if (g)
		counts_of(&g->lim, ret);
	else
		*ret = (sched_counts){ 0 };
}

void sched_kind_counts(const sched *s, const char *kind, sched_counts *ret)
{
	const struct sched_kind *k = kind_find(s, kind);
	if (k)
		counts_of(&k->lim, ret);
	else
		*ret = (sched_counts){ 0 };
}

void sched_get_stats(const sched *s, sched_stats *ret)
{
	*ret = (sched_stats){
		.counts = { .queued = s->n_queued, .running = s->n_running, .frozen = s->n_frozen },
		.cpu_used = s->cpu_used,
		.memory_used = s->memory_used,
		.groups = s->groups.n,
		.kinds = s->kinds.n,
		.flows = s->n_flows,
	};
}

int64_t sched_group_vtime(const sched *s, const char *group, int64_t now)
{
	const struct sched_group *g = group_find(s, group);
	return g ? sched_group_vt(g, now) : 0;
}

int sched_group_entries(const sched *s, const char *group, sched_entry ***ret, size_t *ret_n)
{
	const struct sched_group *g = group_find(s, group);
	size_t n = g ? (size_t)g->lim.n_queued + g->lim.n_running + g->lim.n_frozen : 0;
	if (!n) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	sched_entry **v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t j = 0;
	for (list_node *i = g->flows.next; i != &g->flows; i = i->next) {
		const struct sched_flow *f = container_of(i, struct sched_flow, group_link);
		for (size_t k = 0; k < f->n; k++)
			v[j++] = f->heap[k].e;
	}
	for (list_node *i = g->running.next; i != &g->running; i = i->next)
		v[j++] = container_of(i, sched_entry, group_link);
	for (list_node *i = g->frozen.next; i != &g->frozen; i = i->next)
		v[j++] = container_of(i, sched_entry, group_link);
	*ret = v;
	*ret_n = j;
	return 0;
}
