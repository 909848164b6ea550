/* SPDX-License-Identifier: MIT */
/* The scheduler's objects, shared by the files of src/sched/sched*. */
#ifndef ART_SCHED_SCHED_PRIVATE_H
#define ART_SCHED_SCHED_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/list.h"
#include "sched/sched.h"

#define SCHED_DEFAULT_ID "default"

/*
 * The time spent in each of a few exclusive states, kept as the state
 * changes: O(1) per change, and read at any time. `now` is whatever clock
 * the owner keeps it on. A state other than SCHED_WAIT_ORDER may carry an
 * expiry (`until`, INT64_MAX for none) after which it counts as
 * SCHED_WAIT_ORDER by itself: a rate limit is known to end when the next
 * token comes, whenever the caller looks again.
 */
typedef struct sched_clock {
	int64_t total[_SCHED_WAIT_MAX];
	int64_t since, until;
	sched_wait_reason state;
} sched_clock;

static inline void sched_clock_init(sched_clock *c, int64_t now)
{
	*c = (sched_clock){ .since = now, .until = INT64_MAX, .state = SCHED_WAIT_ORDER };
}

static inline void sched_clock_set(sched_clock *c, sched_wait_reason state, int64_t until,
				   int64_t now)
{
	if (c->state != SCHED_WAIT_ORDER && now > c->until) {
		c->total[c->state] += c->until - c->since;
		c->state = SCHED_WAIT_ORDER;
		c->since = c->until;
	}
	if (c->state != state) {
		c->total[c->state] += now - c->since;
		c->state = state;
		c->since = now;
	}
	c->until = state == SCHED_WAIT_ORDER ? INT64_MAX : until;
}

static inline int64_t sched_clock_read(const sched_clock *c, sched_wait_reason state, int64_t now)
{
	int64_t t = c->total[state];
	if (c->state != SCHED_WAIT_ORDER && now > c->until) {
		if (state == c->state)
			t += c->until - c->since;
		else if (state == SCHED_WAIT_ORDER)
			t += now - c->until;
		return t;
	}
	return t + (state == c->state ? now - c->since : 0);
}

/*
 * A token bucket, kept as GCRA (the generic cell rate algorithm): one
 * "theoretical arrival time" instead of a token count, so it needs no
 * refill tick and says exactly when the next token comes. With
 * period = 1 s / rate and tau = (burst - 1) * period, a token is there at
 * t iff t >= tat - tau; taking it moves tat to max(tat, t) + period.
 */
typedef struct sched_bucket {
	int64_t period; /* ns per token; 0: unlimited */
	int64_t tau;
	int64_t tat;
	double rate;
	unsigned burst;
} sched_bucket;

int sched_bucket_set(sched_bucket *b, double rate, unsigned burst, int64_t now);
/* The earliest time a token is there (INT64_MIN: unlimited). */
int64_t sched_bucket_ready_at(const sched_bucket *b);
void sched_bucket_take(sched_bucket *b, int64_t now);
/* Tokens there at now, fractional. */
double sched_bucket_tokens(const sched_bucket *b, int64_t now);

/* An object known by a string id, in a chained hash table. */
typedef struct sched_name {
	struct sched_name *next;
	uint64_t hash;
	char *id;
} sched_name;

typedef struct sched_table {
	sched_name **slots;
	size_t size; /* a power of two */
	size_t n;
} sched_table;

int sched_table_init(sched_table *t);
void sched_table_done(sched_table *t);
sched_name *sched_table_find(const sched_table *t, const char *id);
/* Never fails: a table that cannot grow gets longer chains. */
void sched_table_add(sched_table *t, sched_name *n);
void sched_table_remove(sched_table *t, sched_name *n);

/* What groups and kinds both have: caps, a bucket, counts. */
typedef struct sched_limits {
	unsigned max_running;
	unsigned n_queued, n_running, n_frozen;
	sched_bucket rate;
} sched_limits;

static inline bool sched_limits_full(const sched_limits *l)
{
	return l->max_running && l->n_running >= l->max_running;
}

struct sched_group {
	sched_name name;
	sched_limits lim;
	unsigned weight;
	int64_t vtime; /* ns of running time / weight, finished spans */
	__int128 charge_sum; /* sum of charge_since of running entries */
	list_node flows; /* sched_flow.group_link */
	list_node running, frozen; /* sched_entry.group_link */
	list_node active_link; /* in s->active while queued or running work */
	uint64_t scan; /* sched_next() scan that computed scan_vt */
	int64_t scan_vt;
};

struct sched_kind {
	sched_name name;
	sched_limits lim;
	unsigned samples;
	double util, peak; /* averages of cpu/wall and of peak memory */
};

/* A heap slot: an entry and a copy of its sort key. */
struct sched_slot {
	int64_t key;
	uint64_t seq;
	int order;
	sched_entry *e;
};

struct sched_flow {
	struct sched_group *group;
	struct sched_kind *kind;
	struct sched_slot *heap; /* min-heap by (key, -order, seq) */
	size_t n, cap;
	list_node group_link; /* group->flows */
	list_node backlog_link; /* s->backlog */
	/* What held the head at sched_next()'s last look (SCHED_WAIT_GROUP_CAP
	 * .. SCHED_WAIT_RESERVED, or SCHED_WAIT_ORDER: nothing but rank), on
	 * the scheduler's free clock. */
	sched_clock held;
	/* Scratch of one sched_next() scan. */
	int64_t vt;
	sched_class ec;
	bool cand;
};

struct sched {
	sched_config cfg;
	sched_table groups, kinds;
	list_node backlog; /* flows, each with queued entries */
	list_node active; /* groups with queued or running entries */
	list_node low; /* running LOW entries, in start order */
	list_node frozen; /* in freeze order */
	size_t n_flows;
	unsigned n_queued, n_running, n_frozen;
	int64_t cpu_used, memory_used;
	int64_t vfloor; /* no group returns below it (monotonic) */
	uint64_t seq;
	uint64_t scan; /* sched_next() calls, from 1 */
	bool pressure;
	/* SCHED_WAIT_PRESSURE, SCHED_WAIT_GLOBAL_CAP, or SCHED_WAIT_ORDER
	 * (free), on the real clock. The free clock is the time spent free:
	 * flows' clocks stand still while the whole scheduler is held. */
	sched_clock global;
};

/* queue.c */
sched_class sched_ec(const sched *s, const sched_entry *e, int64_t now);
bool sched_rank_before(const struct sched_flow *a, const struct sched_flow *b);
int64_t sched_group_vt(const struct sched_group *g, int64_t now);
/* -1 when the entry's requests fit, else SCHED_WAIT_CPU or _MEMORY. */
int sched_fits_resources(const sched *s, const sched_entry *e);
void sched_start_queued(sched *s, sched_entry *e, int64_t now);
void sched_run_begin(sched *s, sched_entry *e, int64_t now);
void sched_run_end(sched *s, sched_entry *e, int64_t now);
void sched_group_activate(sched *s, struct sched_group *g, int64_t now);
void sched_group_settle(sched *s, struct sched_group *g, int64_t now);
void sched_global_update(sched *s, int64_t now);
int64_t sched_free_clock(const sched *s, int64_t now);

/* learn.c */
void sched_learn(const sched_config *c, struct sched_kind *k, const sched_usage *u);
void sched_learn_requests(const sched_config *c, const struct sched_kind *k, sched_entry *e);

/* explain.c */
void sched_wait_snapshot(const sched *s, sched_entry *e, int64_t now);
void sched_wait_settle(const sched *s, sched_entry *e, int64_t now);

#endif
