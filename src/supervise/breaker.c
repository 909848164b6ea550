/* SPDX-License-Identifier: MIT */
/*
 * Circuit breakers per kind as a table of transitions (breaker.h,
 * docs/supervision.md). "-" means the event is ignored in that state.
 *
 *             ADMIT         SUCCESS   FAILURE   TRIAL_SUCCESS  TRIAL_FAILURE  TRIAL_RELEASED  TICK
 *  CLOSED     allow         rate*     rate*     -              -              -               -
 *  OPEN       reject        -         -         -              -              -               HALF_OPEN if due
 *  HALF_OPEN  trial/reject  -         -         CLOSED if all  OPEN           slot back       -
 *
 * (*) the outcome goes into the window; CLOSED -> OPEN when the window
 * holds >= min_runs outcomes and failures / outcomes >= threshold. The
 * TRIAL_* cells of HALF_OPEN apply to a ticket of the current round only;
 * others are stale and ignored. Outcomes of runs admitted before an
 * opening (SUCCESS, FAILURE in OPEN and HALF_OPEN) are ignored: the
 * breaker already decided, and only trials decide what comes next.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"
#include "supervise/breaker.h"

#define DEFAULT_KIND "default"
#define TABLE_MIN 16

typedef struct breaker {
	struct breaker *next; /* hash chain */
	uint64_t hash;
	char *kind;
	breaker_config cfg;
	bool own_config; /* set by breaker_configure(kind); else the set's default */
	breaker_state state;
	/* The last cfg.window outcomes: 1 = failure. `pos` is the next slot
	 * to write, the oldest once n == window. */
	uint8_t *ring;
	unsigned n, pos, failures;
	int64_t opened_at;
	uint64_t round;
	unsigned trials_out, trials_ok;
	uint64_t opens, rejected;
} breaker;

struct breaker_set {
	breaker **slots;
	size_t size; /* a power of two */
	size_t n;
	breaker_config defaults;
	breaker_change_fn on_change;
	void *userdata;
};

/* ------------------------------------------------------------ names */

static const char *const state_names[_BREAKER_STATE_MAX] = {
	[BREAKER_CLOSED] = "closed",
	[BREAKER_OPEN] = "open",
	[BREAKER_HALF_OPEN] = "half_open",
};

static const char *const event_names[_BREAKER_EV_MAX] = {
	[BREAKER_EV_ADMIT] = "admit",
	[BREAKER_EV_SUCCESS] = "success",
	[BREAKER_EV_FAILURE] = "failure",
	[BREAKER_EV_TRIAL_SUCCESS] = "trial_success",
	[BREAKER_EV_TRIAL_FAILURE] = "trial_failure",
	[BREAKER_EV_TRIAL_RELEASED] = "trial_released",
	[BREAKER_EV_TICK] = "tick",
};

static const char *const verdict_names[_BREAKER_VERDICT_MAX] = {
	[BREAKER_ALLOW] = "allow",
	[BREAKER_ALLOW_TRIAL] = "allow_trial",
	[BREAKER_REJECT] = "reject",
};

#define NAME(table, i) ((unsigned)(i) < ARRAY_SIZE(table) ? (table)[i] : NULL)

const char *breaker_state_to_string(breaker_state s)
{
	return NAME(state_names, s);
}

const char *breaker_event_to_string(breaker_event e)
{
	return NAME(event_names, e);
}

const char *breaker_verdict_to_string(breaker_verdict v)
{
	return NAME(verdict_names, v);
}

/* ------------------------------------------------------------ config */

void breaker_config_init(breaker_config *c)
{
	*c = (breaker_config){
		.window = 20,
		.min_runs = 10,
		.threshold = 0.5,
		.open_ns = 30 * NSEC_PER_SEC,
		.trial_runs = 1,
	};
}

int breaker_config_check(const breaker_config *c)
{
	if (!c)
		return -EINVAL;
	if (c->window == 0) /* off: the rest does not matter */
		return 0;
	if (c->min_runs < 1 || c->min_runs > c->window || !(c->threshold > 0 && c->threshold <= 1) ||
	    c->open_ns < 0 || c->trial_runs < 1)
		return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------ the table */

static int64_t add_sat(int64_t a, int64_t b)
{
	return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void window_clear(breaker *b)
{
	b->n = b->pos = b->failures = 0;
}

static void window_add(breaker *b, bool failure)
{
	if (b->n == b->cfg.window)
		b->failures -= b->ring[b->pos];
	else
		b->n++;
	b->ring[b->pos] = failure;
	b->failures += failure;
	b->pos = (b->pos + 1) % b->cfg.window;
}

static breaker_state go_open(breaker *b, int64_t now)
{
	b->opened_at = now;
	b->opens++;
	b->trials_out = b->trials_ok = 0;
	return BREAKER_OPEN;
}

typedef breaker_state (*breaker_fn)(breaker *b, uint64_t ticket, int64_t now, breaker_result *r);

static breaker_state act_allow(breaker *b, uint64_t ticket, int64_t now, breaker_result *r)
{
	(void)ticket;
	(void)now;
	r->verdict = BREAKER_ALLOW;
	return b->state;
}

static breaker_state act_reject_open(breaker *b, uint64_t ticket, int64_t now, breaker_result *r)
{
	(void)ticket;
	(void)now;
	b->rejected++;
	r->verdict = BREAKER_REJECT;
	r->retry_at = add_sat(b->opened_at, b->cfg.open_ns);
	return BREAKER_OPEN;
}

static breaker_state act_admit_half_open(breaker *b, uint64_t ticket, int64_t now,
					 breaker_result *r)
{
	(void)ticket;
	(void)now;
	if (b->trials_out + b->trials_ok < b->cfg.trial_runs) {
		b->trials_out++;
		r->verdict = BREAKER_ALLOW_TRIAL;
		r->ticket = b->round;
	} else {
		b->rejected++;
		r->verdict = BREAKER_REJECT;
		r->retry_at = INT64_MAX; /* when the trials under way end */
	}
	return BREAKER_HALF_OPEN;
}

/* The rate rule. */
static breaker_state record_outcome(breaker *b, bool failure, int64_t now)
{
	window_add(b, failure);
	if (b->n >= b->cfg.min_runs && (double)b->failures / (double)b->n >= b->cfg.threshold)
		return go_open(b, now);
	return BREAKER_CLOSED;
}

static breaker_state act_success(breaker *b, uint64_t ticket, int64_t now, breaker_result *r)
{
	(void)ticket;
	(void)r;
	return record_outcome(b, false, now);
}

static breaker_state act_failure(breaker *b, uint64_t ticket, int64_t now, breaker_result *r)
{
	(void)ticket;
	(void)r;
	return record_outcome(b, true, now);
}

/* A trial of this round with its slot still out; else stale. */
static bool trial_current(const breaker *b, uint64_t ticket, breaker_result *r)
{
	if (ticket == b->round && b->trials_out > 0)
		return true;
	r->ignored = true;
	return false;
}

static breaker_state act_trial_success(breaker *b, uint64_t ticket, int64_t now, breaker_result *r)
{
	(void)now;
	if (!trial_current(b, ticket, r))
		return BREAKER_HALF_OPEN;
	b->trials_out--;
	b->trials_ok++;
	if (b->trials_ok < b->cfg.trial_runs)
		return BREAKER_HALF_OPEN;
	window_clear(b);
	b->trials_ok = 0;
	return BREAKER_CLOSED;
}

static breaker_state act_trial_failure(breaker *b, uint64_t ticket, int64_t now, breaker_result *r)
{
	if (!trial_current(b, ticket, r))
		return BREAKER_HALF_OPEN;
	return go_open(b, now);
}

static breaker_state act_trial_released(breaker *b, uint64_t ticket, int64_t now,
					breaker_result *r)
{
	(void)now;
	if (trial_current(b, ticket, r))
		b->trials_out--;
	return BREAKER_HALF_OPEN;
}

static breaker_state act_tick_open(breaker *b, uint64_t ticket, int64_t now, breaker_result *r)
{
	(void)ticket;
	if (now < add_sat(b->opened_at, b->cfg.open_ns)) {
		r->ignored = true;
		return BREAKER_OPEN;
	}
	b->round++;
	b->trials_out = b->trials_ok = 0;
	return BREAKER_HALF_OPEN;
}

#define T(x) (1u << BREAKER_##x)

static const struct transition {
	unsigned targets; /* the states it may lead to; 0: ignored */
	breaker_fn action; /* NULL: ignored */
} transitions[_BREAKER_STATE_MAX][_BREAKER_EV_MAX] = {
	[BREAKER_CLOSED] = {
		[BREAKER_EV_ADMIT] = { T(CLOSED), act_allow },
		[BREAKER_EV_SUCCESS] = { T(CLOSED) | T(OPEN), act_success },
		[BREAKER_EV_FAILURE] = { T(CLOSED) | T(OPEN), act_failure },
	},
	[BREAKER_OPEN] = {
		[BREAKER_EV_ADMIT] = { T(OPEN), act_reject_open },
		[BREAKER_EV_TICK] = { T(OPEN) | T(HALF_OPEN), act_tick_open },
	},
	[BREAKER_HALF_OPEN] = {
		[BREAKER_EV_ADMIT] = { T(HALF_OPEN), act_admit_half_open },
		[BREAKER_EV_TRIAL_SUCCESS] = { T(HALF_OPEN) | T(CLOSED), act_trial_success },
		[BREAKER_EV_TRIAL_FAILURE] = { T(HALF_OPEN) | T(OPEN), act_trial_failure },
		[BREAKER_EV_TRIAL_RELEASED] = { T(HALF_OPEN), act_trial_released },
	},
};

unsigned breaker_table_targets(breaker_state state, breaker_event ev)
{
	if ((unsigned)state >= _BREAKER_STATE_MAX || (unsigned)ev >= _BREAKER_EV_MAX)
		return 0;
	return transitions[state][ev].targets;
}

static void run_event(breaker_set *set, breaker *b, breaker_event ev, uint64_t ticket, int64_t now,
		      breaker_result *r)
{
	const struct transition *tr = &transitions[b->state][ev];
	*r = (breaker_result){ .from = b->state, .to = b->state };
	if (!tr->action) {
		r->ignored = true;
		return;
	}
	breaker_state from = b->state, next = tr->action(b, ticket, now, r);
	assert(tr->targets & (1u << next));
	b->state = next;
	r->to = next;
	if (next != from && set->on_change)
		set->on_change(set->userdata, b->kind, from, next, now);
}

/* ------------------------------------------------------------ the set */

/* FNV-1a, as src/sched/table.c: kinds are short and few. */
static uint64_t hash_kind(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

static breaker *find(const breaker_set *set, const char *kind)
{
	uint64_t h = hash_kind(kind);
	for (breaker *b = set->slots[h & (set->size - 1)]; b; b = b->next)
		if (b->hash == h && strcmp(b->kind, kind) == 0)
			return b;
	return NULL;
}

/* Never fails: a table that cannot grow gets longer chains. */
static void add(breaker_set *set, breaker *b)
{
	if (set->n >= set->size) {
		size_t size = set->size * 2;
		breaker **slots = calloc(size, sizeof(*slots));
		if (slots) {
			for (size_t i = 0; i < set->size; i++)
				for (breaker *x = set->slots[i], *next; x; x = next) {
					next = x->next;
					x->next = slots[x->hash & (size - 1)];
					slots[x->hash & (size - 1)] = x;
				}
			free(set->slots);
			set->slots = slots;
			set->size = size;
		}
	}
	breaker **slot = &set->slots[b->hash & (set->size - 1)];
	b->next = *slot;
	*slot = b;
	set->n++;
}

static breaker *breaker_create(breaker_set *set, const char *kind, const breaker_config *cfg)
{
	breaker *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->kind = strdup(kind);
	b->ring = cfg->window ? calloc(cfg->window, sizeof(*b->ring)) : NULL;
	if (!b->kind || (cfg->window && !b->ring)) {
		free(b->kind);
		free(b->ring);
		free(b);
		return NULL;
	}
	b->hash = hash_kind(kind);
	b->cfg = *cfg;
	b->state = BREAKER_CLOSED;
	b->opened_at = -1;
	add(set, b);
	return b;
}

/* A config and its new ring (allocated by the caller) take effect: the
 * breaker starts afresh. */
static void apply(breaker_set *set, breaker *b, const breaker_config *cfg, uint8_t *ring,
		  int64_t now)
{
	breaker_state from = b->state;
	free(b->ring);
	b->ring = ring;
	b->cfg = *cfg;
	window_clear(b);
	b->trials_out = b->trials_ok = 0;
	b->state = BREAKER_CLOSED;
	if (from != BREAKER_CLOSED && set->on_change)
		set->on_change(set->userdata, b->kind, from, BREAKER_CLOSED, now);
}

int breaker_set_new(const breaker_config *defaults, breaker_change_fn on_change, void *userdata,
		    breaker_set **ret)
{
	breaker_config def;
	if (!defaults) {
		breaker_config_init(&def);
		defaults = &def;
	}
	if (breaker_config_check(defaults) < 0)
		return -EINVAL;
	breaker_set *set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	set->slots = calloc(TABLE_MIN, sizeof(*set->slots));
	if (!set->slots) {
		free(set);
		return -ENOMEM;
	}
	set->size = TABLE_MIN;
	set->defaults = *defaults;
	set->on_change = on_change;
	set->userdata = userdata;
	*ret = set;
	return 0;
}

void breaker_set_free(breaker_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->size; i++)
		for (breaker *b = set->slots[i], *next; b; b = next) {
			next = b->next;
			free(b->ring);
			free(b->kind);
			free(b);
		}
	free(set->slots);
	free(set);
}

unsigned breaker_set_size(const breaker_set *set)
{
	return (unsigned)set->n;
}

int breaker_configure(breaker_set *set, const char *kind, const breaker_config *cfg, int64_t now)
{
	if (breaker_config_check(cfg) < 0)
		return -EINVAL;

	if (kind) {
		breaker *b = find(set, kind);
		if (!b) {
			b = breaker_create(set, kind, cfg);
			if (!b)
				return -ENOMEM;
		} else {
			uint8_t *ring = cfg->window ? calloc(cfg->window, 1) : NULL;
			if (cfg->window && !ring)
				return -ENOMEM;
			apply(set, b, cfg, ring, now);
		}
		b->own_config = true;
		return 0;
	}

	/* The default: every ring is allocated before anything changes. */
	size_t n = 0;
	uint8_t **rings = calloc(set->n ? set->n : 1, sizeof(*rings));
	if (!rings)
		return -ENOMEM;
	for (size_t i = 0; i < set->size; i++)
		for (breaker *b = set->slots[i]; b; b = b->next) {
			if (b->own_config || !cfg->window)
				continue;
			rings[n] = calloc(cfg->window, 1);
			if (!rings[n]) {
				while (n)
					free(rings[--n]);
				free(rings);
				return -ENOMEM;
			}
			n++;
		}
	n = 0;
	for (size_t i = 0; i < set->size; i++)
		for (breaker *b = set->slots[i]; b; b = b->next)
			if (!b->own_config)
				apply(set, b, cfg, cfg->window ? rings[n++] : NULL, now);
	free(rings);
	set->defaults = *cfg;
	return 0;
}

/* ------------------------------------------------------------ events */

int breaker_dispatch(breaker_set *set, const char *kind, breaker_event ev, uint64_t ticket,
		     int64_t now, breaker_result *ret)
{
	if ((unsigned)ev >= _BREAKER_EV_MAX)
		return -EINVAL;
	if (!kind)
		kind = DEFAULT_KIND;

	breaker_result r = { .from = BREAKER_CLOSED, .to = BREAKER_CLOSED };
	breaker *b = find(set, kind);
	if (!b && (ev == BREAKER_EV_SUCCESS || ev == BREAKER_EV_FAILURE)) {
		b = breaker_create(set, kind, &set->defaults);
		if (!b)
			return -ENOMEM;
	}

	if (!b || !b->cfg.window) {
		/* Unknown (as a fresh CLOSED breaker would: ADMIT allows, no
		 * trial can be under way, TICK does nothing) or off. */
		if (ev == BREAKER_EV_ADMIT)
			r.verdict = BREAKER_ALLOW;
		else
			r.ignored = true;
	} else {
		if (ev != BREAKER_EV_TICK)
			run_event(set, b, BREAKER_EV_TICK, 0, now, &r);
		run_event(set, b, ev, ticket, now, &r);
	}
	if (ret)
		*ret = r;
	return 0;
}

breaker_verdict breaker_admit(breaker_set *set, const char *kind, int64_t now, breaker_result *ret)
{
	breaker_result r;
	breaker_dispatch(set, kind, BREAKER_EV_ADMIT, 0, now, &r); /* cannot fail */
	if (ret)
		*ret = r;
	return r.verdict;
}

int breaker_record(breaker_set *set, const char *kind, bool success, uint64_t ticket, int64_t now)
{
	breaker_event ev = ticket ? (success ? BREAKER_EV_TRIAL_SUCCESS : BREAKER_EV_TRIAL_FAILURE)
				  : (success ? BREAKER_EV_SUCCESS : BREAKER_EV_FAILURE);
	return breaker_dispatch(set, kind, ev, ticket, now, NULL);
}

void breaker_release(breaker_set *set, const char *kind, uint64_t ticket, int64_t now)
{
	if (ticket)
		breaker_dispatch(set, kind, BREAKER_EV_TRIAL_RELEASED, ticket, now, NULL);
}

breaker_state breaker_get_state(breaker_set *set, const char *kind, int64_t now)
{
	breaker_result r;
	breaker_dispatch(set, kind, BREAKER_EV_TICK, 0, now, &r);
	return r.to;
}

int breaker_get_stats(breaker_set *set, const char *kind, int64_t now, breaker_stats *ret)
{
	breaker *b = find(set, kind ? kind : DEFAULT_KIND);
	if (!b)
		return -ENOENT;
	if (b->cfg.window) {
		breaker_result r;
		run_event(set, b, BREAKER_EV_TICK, 0, now, &r);
	}
	*ret = (breaker_stats){
		.state = b->state,
		.enabled = b->cfg.window > 0,
		.runs = b->n,
		.failures = b->failures,
		.opened_at = b->opened_at,
		.half_open_at = b->state == BREAKER_OPEN ? add_sat(b->opened_at, b->cfg.open_ns) : -1,
		.round = b->round,
		.trials_out = b->trials_out,
		.trials_ok = b->trials_ok,
		.opens = b->opens,
		.rejected = b->rejected,
	};
	return 0;
}
