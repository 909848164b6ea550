/* SPDX-License-Identifier: MIT */
/*
 * Preemption, as decisions: which running LOW entries to freeze so that an
 * urgent entry can start, and which frozen ones to thaw. The caller does
 * the freezing (cgroup freezer) and the thawing.
 *
 * A frozen entry gives back its slot, its group's and kind's slots and its
 * CPU and memory requests: the urgent task needs them now. Its memory is
 * still in use while it is frozen, which is why pressure blocks thawing
 * as it blocks starting, and why new work below CRITICAL does not start
 * while anything is frozen (sched_next()).
 */
#include <errno.h>

#include "base/macros.h"
#include "sched/sched_private.h"

/* What e lacks to start: slots and resources beyond the limits. */
typedef struct shortfall {
	int64_t slots, group_slots, kind_slots, cpu, memory;
} shortfall;

static int64_t over(int64_t limit, int64_t used, int64_t want)
{
	return limit ? used + want - limit : 0;
}

static shortfall shortfall_of(const sched *s, const sched_entry *e)
{
	const sched_config *c = &s->cfg;
	const sched_limits *gl = &e->group->lim, *kl = &e->kind->lim;
	return (shortfall){
		.slots = over(c->max_running, s->n_running, 1),
		.group_slots = over(gl->max_running, gl->n_running, 1),
		.kind_slots = over(kl->max_running, kl->n_running, 1),
		.cpu = over(c->cpu_capacity, s->cpu_used,
			    c->cpu_capacity ? MIN(e->cpu_milli, c->cpu_capacity) : 0),
		.memory = over(c->memory_capacity, s->memory_used,
			       c->memory_capacity ? MIN(e->memory, c->memory_capacity) : 0),
	};
}

static bool shortfall_met(const shortfall *n)
{
	return n->slots <= 0 && n->group_slots <= 0 && n->kind_slots <= 0 && n->cpu <= 0 &&
	       n->memory <= 0;
}

/* Whether freezing v helps e; if so, counts what it frees. */
static bool victim_helps(shortfall *n, const sched_entry *v, const sched_entry *e)
{
	bool same_group = v->group == e->group, same_kind = v->kind == e->kind;
	if (!(n->slots > 0 || (n->group_slots > 0 && same_group) ||
	      (n->kind_slots > 0 && same_kind) || (n->cpu > 0 && v->charged_cpu > 0) ||
	      (n->memory > 0 && v->charged_memory > 0)))
		return false;
	n->slots--;
	n->group_slots -= same_group;
	n->kind_slots -= same_kind;
	n->cpu -= v->charged_cpu;
	n->memory -= v->charged_memory;
	return true;
}

/* The victims, newest first (the least progress lost to a long freeze, and
 * the oldest keep going). With out NULL, only counts. Deterministic, so
 * that a counting pass and a filling pass agree. */
static size_t pick_victims(const sched *s, const sched_entry *e, sched_entry **out, bool *met)
{
	shortfall n = shortfall_of(s, e);
	size_t count = 0;
	for (list_node *i = s->low.prev; i != &s->low && !shortfall_met(&n); i = i->prev) {
		sched_entry *v = container_of(i, sched_entry, link);
		if (victim_helps(&n, v, e)) {
			if (out)
				out[count] = v;
			count++;
		}
	}
	*met = shortfall_met(&n);
	return count;
}

static bool tokens_ready(const sched_entry *e, int64_t now)
{
	return sched_bucket_ready_at(&e->group->lim.rate) <= now &&
	       sched_bucket_ready_at(&e->kind->lim.rate) <= now;
}

sched_entry *sched_preempt_candidate(sched *s, int64_t now)
{
	struct sched_flow *best = NULL;

	if (s->pressure || list_empty(&s->low))
		return NULL;
	for (list_node *i = s->backlog.next; i != &s->backlog; i = i->next) {
		struct sched_flow *f = container_of(i, struct sched_flow, backlog_link);
		const sched_entry *e = f->heap[0].e;
		if (e->cls < SCHED_CRITICAL || !tokens_ready(e, now))
			continue;
		shortfall n = shortfall_of(s, e);
		if (shortfall_met(&n))
			continue; /* not short of anything freezing could give */
		f->ec = sched_ec(s, e, now);
		f->vt = sched_group_vt(f->group, now);
		if (!best || sched_rank_before(f, best))
			best = f;
	}
	return best ? best->heap[0].e : NULL;
}

static void freeze(sched *s, sched_entry *v, int64_t now)
{
	struct sched_group *g = v->group;

	sched_run_end(s, v, now);
	v->state = SCHED_FROZEN;
	v->since = now;
	list_add_tail(&s->frozen, &v->link);
	list_add_tail(&g->frozen, &v->group_link);
	s->n_frozen++;
	g->lim.n_frozen++;
	v->kind->lim.n_frozen++;
	sched_group_settle(s, g, now);
}

int sched_preempt(sched *s, sched_entry *e, int64_t now, sched_entry **victims,
		  size_t max_victims, size_t *n_victims)
{
	bool met;

	if (e->state != SCHED_QUEUED || e->cls < SCHED_CRITICAL)
		return -EINVAL;
	if (s->pressure)
		return -EBUSY;
	if (!tokens_ready(e, now))
		return -EAGAIN;
	size_t n = pick_victims(s, e, NULL, &met);
	if (!met)
		return -EAGAIN;
	if (n > max_victims)
		return -ENOBUFS;

	pick_victims(s, e, victims, &met);
	for (size_t i = 0; i < n; i++)
		freeze(s, victims[i], now);
	sched_start_queued(s, e, now);
	*n_victims = n;
	return 0;
}

sched_entry *sched_thaw(sched *s, int64_t now)
{
	if (s->pressure || (s->cfg.max_running && s->n_running >= s->cfg.max_running))
		return NULL;
	for (list_node *i = s->frozen.next; i != &s->frozen; i = i->next) {
		sched_entry *v = container_of(i, sched_entry, link);
		struct sched_group *g = v->group;
		if (sched_limits_full(&g->lim) || sched_limits_full(&v->kind->lim) ||
		    sched_fits_resources(s, v) >= 0)
			continue;
		list_remove(&v->link);
		list_remove(&v->group_link);
		v->frozen_ns += now - v->since;
		s->n_frozen--;
		g->lim.n_frozen--;
		v->kind->lim.n_frozen--;
		sched_group_activate(s, g, now);
		sched_run_begin(s, v, now);
		return v;
	}
	return NULL;
}
