/* SPDX-License-Identifier: MIT */
/*
 * A task's supervisor as a table of transitions (restart.h,
 * docs/supervision.md). "-" means the event is ignored in that state;
 * "rule" is the exit rule of restart.h, which picks PENDING (start now),
 * BACKOFF (start at a time), EXITED or GAVE_UP.
 *
 *            STARTED   READY  EXITED    UNHEALTHY  WATCHDOG  STOP       BACKOFF_DONE
 *  PENDING   STARTING  -      rule      -          -         EXITED     -
 *  STARTING  -         READY  rule      KILLING    KILLING   STOPPING   -
 *  READY     -         -      rule      KILLING    KILLING   STOPPING   -
 *  KILLING   -         -      rule*     -          -         STOPPING'  -
 *  BACKOFF   -         -      -         -          -         EXITED     PENDING
 *  STOPPING  -         -      EXITED    -          -         -          -
 *  EXITED    -         -      -         -          -         -          -
 *  GAVE_UP   -         -      -         -          -         -          -
 *
 * Entering KILLING, and STOPPING from a running state, asks the caller to
 * stop the process (DO_KILL). (*) In KILLING the exit counts as the
 * failure that caused the kill, whatever the process did. (') The stop
 * under way goes on; the supervisor never escalates a stop itself, the
 * task's own table does (a second cancel is SIGKILL). EXITED from PENDING
 * is a failed start; from PENDING or BACKOFF, STOP has nothing to stop:
 * the caller drops the queued start or disarms the timer.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <agentrt.h>

#include "base/macros.h"
#include "base/time.h"
#include "supervise/restart.h"

struct supervisor {
	supervise_config cfg;
	supervise_state state;
	supervise_end end;
	supervise_exit kill_reason; /* KILLING: UNHEALTHY or WATCHDOG */
	unsigned runs, restarts, attempt;
	int64_t started_at, ready_at, next_start_at;
	bool exited;
	supervise_last_exit last_exit;
	/* The times of the last min(restarts, max_restarts) restarts: a ring
	 * of max_restarts slots, `pos` the next to write (the oldest once
	 * full). */
	int64_t *ring;
	unsigned ring_n, ring_pos;
};

/* ------------------------------------------------------------ names */

static const char *const state_names[_SUPERVISE_STATE_MAX] = {
	[SUPERVISE_PENDING] = "pending",   [SUPERVISE_STARTING] = "starting",
	[SUPERVISE_READY] = "ready",       [SUPERVISE_KILLING] = "killing",
	[SUPERVISE_BACKOFF] = "backoff",   [SUPERVISE_STOPPING] = "stopping",
	[SUPERVISE_EXITED] = "exited",     [SUPERVISE_GAVE_UP] = "gave_up",
};

static const char *const event_names[_SUPERVISE_EV_MAX] = {
	[SUPERVISE_EV_STARTED] = "started",
	[SUPERVISE_EV_READY] = "ready",
	[SUPERVISE_EV_EXITED] = "exited",
	[SUPERVISE_EV_UNHEALTHY] = "unhealthy",
	[SUPERVISE_EV_WATCHDOG_MISSED] = "watchdog_missed",
	[SUPERVISE_EV_STOP_REQUESTED] = "stop_requested",
	[SUPERVISE_EV_BACKOFF_DONE] = "backoff_done",
};

static const char *const exit_names[_SUPERVISE_EXIT_MAX] = {
	[SUPERVISE_EXIT_CODE] = "exited",
	[SUPERVISE_EXIT_SIGNAL] = "signaled",
	[SUPERVISE_EXIT_TIMEOUT] = "timeout",
	[SUPERVISE_EXIT_UNHEALTHY] = "unhealthy",
	[SUPERVISE_EXIT_WATCHDOG] = "watchdog",
	[SUPERVISE_EXIT_START_FAILED] = "start_failed",
	[SUPERVISE_EXIT_FAILED] = "failed",
};

static const char *const do_names[_SUPERVISE_DO_MAX] = {
	[SUPERVISE_DO_NOTHING] = "nothing", [SUPERVISE_DO_START] = "start",
	[SUPERVISE_DO_START_AT] = "start_at", [SUPERVISE_DO_KILL] = "kill",
	[SUPERVISE_DO_REPORT] = "report",
};

static const char *const end_names[_SUPERVISE_END_MAX] = {
	[SUPERVISE_END_NONE] = "none",
	[SUPERVISE_END_DONE] = "done",
	[SUPERVISE_END_STOPPED] = "stopped",
	[SUPERVISE_END_GAVE_UP] = "gave_up",
};

static const char *const policy_names[_SUPERVISE_POLICY_MAX] = {
	[SUPERVISE_NEVER] = "never",
	[SUPERVISE_ON_FAILURE] = "on-failure",
	[SUPERVISE_ALWAYS] = "always",
};

static const char *const backoff_names[_SUPERVISE_BACKOFF_MAX] = {
	[SUPERVISE_BACKOFF_FIXED] = "fixed",
	[SUPERVISE_BACKOFF_LINEAR] = "linear",
	[SUPERVISE_BACKOFF_EXPONENTIAL] = "exponential",
};

#define NAME(table, i) ((unsigned)(i) < ARRAY_SIZE(table) ? (table)[i] : NULL)

const char *supervise_state_to_string(supervise_state s)
{
	return NAME(state_names, s);
}

const char *supervise_event_to_string(supervise_event e)
{
	return NAME(event_names, e);
}

const char *supervise_exit_to_string(supervise_exit e)
{
	return NAME(exit_names, e);
}

const char *supervise_do_to_string(supervise_do d)
{
	return NAME(do_names, d);
}

const char *supervise_end_to_string(supervise_end e)
{
	return NAME(end_names, e);
}

const char *supervise_policy_to_string(supervise_policy p)
{
	return NAME(policy_names, p);
}

const char *supervise_backoff_kind_to_string(supervise_backoff_kind k)
{
	return NAME(backoff_names, k);
}

int supervise_policy_from_string(const char *s, supervise_policy *ret)
{
	if (!s)
		return -EINVAL;
	for (unsigned i = 0; i < _SUPERVISE_POLICY_MAX; i++)
		if (strcmp(s, policy_names[i]) == 0) {
			*ret = (supervise_policy)i;
			return 0;
		}
	return -EINVAL;
}

/* ------------------------------------------------------------ backoff */

void supervise_backoff_init(supervise_backoff *b)
{
	*b = (supervise_backoff){
		.kind = SUPERVISE_BACKOFF_EXPONENTIAL,
		.initial_ns = NSEC_PER_SEC,
		.max_ns = 60 * NSEC_PER_SEC,
		.jitter = 0.1,
	};
}

static int backoff_check(const supervise_backoff *b)
{
	if ((unsigned)b->kind >= _SUPERVISE_BACKOFF_MAX || b->initial_ns < 0 ||
	    b->max_ns < b->initial_ns || !(b->jitter >= 0 && b->jitter <= 1))
		return -EINVAL;
	return 0;
}

int64_t supervise_backoff_delay(const supervise_backoff *b, unsigned attempt, double random)
{
	int64_t d0 = MAX(b->initial_ns, INT64_C(0)), max = MAX(b->max_ns, d0), d;

	switch (b->kind) {
	case SUPERVISE_BACKOFF_LINEAR:
		/* d0 * (n + 1) <= max iff n + 1 <= floor(max / d0). */
		if (d0 && (uint64_t)attempt + 1 > (uint64_t)(max / d0))
			d = max;
		else
			d = d0 * ((int64_t)attempt + 1);
		break;
	case SUPERVISE_BACKOFF_EXPONENTIAL:
		/* d0 * 2^n <= max iff d0 <= floor(max / 2^n). */
		if (d0 && (attempt >= 63 || d0 > (max >> attempt)))
			d = max;
		else
			d = d0 << attempt;
		break;
	case SUPERVISE_BACKOFF_FIXED:
	default:
		d = d0;
		break;
	}
	d = MIN(d, max);

	if (b->jitter > 0 && d > 0 && random > 0) {
		double j = MIN(b->jitter, 1.0), r = MIN(random, 1.0);
		/* (double)d may round up past d: the cut is clamped, so the
		 * delay stays within [0, d]. */
		double cut = (double)d * j * r;
		d -= cut >= (double)d ? d : (int64_t)cut;
	}
	return d;
}

/* One part of "KIND:INITIAL:MAX", copied out so that it ends in a NUL. */
static int next_part(const char **p, char *buf, size_t size)
{
	const char *s = *p, *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (n == 0 || n >= size)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*p = colon ? colon + 1 : s + n;
	return colon ? 1 : 0; /* 1: more follows */
}

int supervise_backoff_from_string(const char *s, supervise_backoff *ret)
{
	char kind[16], part[64];
	int64_t initial = NSEC_PER_SEC, max = -1;
	int more, r;

	if (!s || !ret)
		return -EINVAL;
	supervise_backoff b = *ret;
	more = next_part(&s, kind, sizeof(kind));
	if (more < 0)
		return more;
	b.kind = _SUPERVISE_BACKOFF_MAX;
	for (unsigned i = 0; i < _SUPERVISE_BACKOFF_MAX; i++)
		if (strcmp(kind, backoff_names[i]) == 0)
			b.kind = (supervise_backoff_kind)i;
	if (b.kind == _SUPERVISE_BACKOFF_MAX)
		return -EINVAL;

	if (more) {
		more = next_part(&s, part, sizeof(part));
		if (more < 0)
			return more;
		r = art_parse_duration(part, &initial);
		if (r < 0)
			return -EINVAL;
	}
	if (more) {
		more = next_part(&s, part, sizeof(part));
		if (more != 0) /* an error, or a fourth part */
			return -EINVAL;
		r = art_parse_duration(part, &max);
		if (r < 0)
			return -EINVAL;
	}
	if (max < 0)
		max = b.kind == SUPERVISE_BACKOFF_FIXED ? initial : MAX(60 * NSEC_PER_SEC, initial);

	b.initial_ns = initial;
	b.max_ns = max;
	if (backoff_check(&b) < 0)
		return -EINVAL;
	*ret = b;
	return 0;
}

/* ------------------------------------------------------------ config */

void supervise_config_init(supervise_config *c)
{
	*c = (supervise_config){
		.policy = SUPERVISE_NEVER,
		.success_codes = { 0 },
		.n_success_codes = 1,
		.max_restarts = 10,
		.restart_window_ns = 600 * NSEC_PER_SEC,
		.reset_ns = 600 * NSEC_PER_SEC,
	};
	supervise_backoff_init(&c->backoff);
}

int supervise_config_check(const supervise_config *c)
{
	if (!c || (unsigned)c->policy >= _SUPERVISE_POLICY_MAX ||
	    c->n_success_codes > SUPERVISE_MAX_SUCCESS_CODES ||
	    c->max_restarts > SUPERVISE_MAX_RESTARTS_LIMIT ||
	    (c->max_restarts > 0 && c->restart_window_ns <= 0) || c->reset_ns < 0)
		return -EINVAL;
	for (unsigned i = 0; i < c->n_success_codes; i++)
		if (c->success_codes[i] < 0 || c->success_codes[i] > 255)
			return -EINVAL;
	return backoff_check(&c->backoff);
}

int supervise_new(const supervise_config *cfg, supervisor **ret)
{
	supervise_config def;
	if (!cfg) {
		supervise_config_init(&def);
		cfg = &def;
	}
	if (supervise_config_check(cfg) < 0)
		return -EINVAL;

	supervisor *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (cfg->max_restarts) {
		s->ring = calloc(cfg->max_restarts, sizeof(*s->ring));
		if (!s->ring) {
			free(s);
			return -ENOMEM;
		}
	}
	s->cfg = *cfg;
	s->state = SUPERVISE_PENDING;
	s->started_at = s->ready_at = s->next_start_at = -1;
	*ret = s;
	return 0;
}

void supervise_free(supervisor *s)
{
	if (!s)
		return;
	free(s->ring);
	free(s);
}

/* ------------------------------------------------------------ actions */

static int64_t add_sat(int64_t a, int64_t b)
{
	return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

static bool is_failure(const supervisor *s, supervise_exit how, int status)
{
	if (how != SUPERVISE_EXIT_CODE)
		return true;
	if (status == 0)
		return false;
	for (unsigned i = 0; i < s->cfg.n_success_codes; i++)
		if (s->cfg.success_codes[i] == status)
			return false;
	return true;
}

/* The intensity rule: would one more restart at now be more than
 * max_restarts within the window? The ring is full and its oldest entry
 * (the next to be overwritten) is inside the window. */
static bool too_many_restarts(const supervisor *s, int64_t now)
{
	if (!s->cfg.max_restarts || s->ring_n < s->cfg.max_restarts)
		return false;
	return now - s->ring[s->ring_pos] < s->cfg.restart_window_ns;
}

static void remember_restart(supervisor *s, int64_t now)
{
	if (!s->cfg.max_restarts)
		return;
	s->ring[s->ring_pos] = now;
	s->ring_pos = (s->ring_pos + 1) % s->cfg.max_restarts;
	if (s->ring_n < s->cfg.max_restarts)
		s->ring_n++;
}

/* Notes the end of a run (or of a start that failed, in PENDING). */
static bool note_exit(supervisor *s, supervise_exit how, int status, int64_t now)
{
	bool ran = s->state != SUPERVISE_PENDING;
	bool failure = is_failure(s, how, status);
	s->exited = true;
	s->last_exit = (supervise_last_exit){
		.how = how,
		.status = status,
		.failure = failure,
		.at = now,
		.uptime_ns = ran ? MAX(now - s->started_at, INT64_C(0)) : 0,
	};
	s->ready_at = -1;
	return failure;
}

static supervise_state report(supervisor *s, supervise_end end, supervise_action *a)
{
	s->end = end;
	s->next_start_at = -1;
	a->what = SUPERVISE_DO_REPORT;
	a->end = end;
	return end == SUPERVISE_END_GAVE_UP ? SUPERVISE_GAVE_UP : SUPERVISE_EXITED;
}

/* The exit rule, steps 1 to 5 of restart.h. */
static supervise_state exit_rule(supervisor *s, supervise_exit how, const supervise_input *in,
				 int64_t now, supervise_action *a)
{
	bool failure = note_exit(s, how, in->status, now);
	a->failure = failure;

	bool again = s->cfg.policy == SUPERVISE_ALWAYS ||
		     (s->cfg.policy == SUPERVISE_ON_FAILURE && failure);
	if (!again)
		return report(s, SUPERVISE_END_DONE, a);

	if (s->cfg.reset_ns > 0 && s->last_exit.uptime_ns >= s->cfg.reset_ns)
		s->attempt = 0;

	if (too_many_restarts(s, now))
		return report(s, SUPERVISE_END_GAVE_UP, a);

	remember_restart(s, now);
	if (s->restarts < UINT_MAX)
		s->restarts++;
	int64_t delay = supervise_backoff_delay(&s->cfg.backoff, s->attempt, in->random);
	if (s->attempt < UINT_MAX)
		s->attempt++;
	a->restart = true;
	if (delay == 0) {
		a->what = SUPERVISE_DO_START;
		a->at = now;
		return SUPERVISE_PENDING;
	}
	s->next_start_at = add_sat(now, delay);
	a->what = SUPERVISE_DO_START_AT;
	a->at = s->next_start_at;
	return SUPERVISE_BACKOFF;
}

typedef supervise_state (*supervise_fn)(supervisor *s, const supervise_input *in, int64_t now,
					supervise_action *a);

static supervise_state act_started(supervisor *s, const supervise_input *in, int64_t now,
				   supervise_action *a)
{
	(void)in;
	(void)a;
	if (s->runs < UINT_MAX)
		s->runs++;
	s->started_at = now;
	s->ready_at = -1;
	return SUPERVISE_STARTING;
}

static supervise_state act_ready(supervisor *s, const supervise_input *in, int64_t now,
				 supervise_action *a)
{
	(void)in;
	(void)a;
	s->ready_at = now;
	return SUPERVISE_READY;
}

static supervise_state act_exited(supervisor *s, const supervise_input *in, int64_t now,
				  supervise_action *a)
{
	return exit_rule(s, in->how, in, now, a);
}

/* The kill the supervisor asked for ended the run: it counts as the
 * failure that caused it, even if the process exited 0 on SIGTERM. */
static supervise_state act_exited_killed(supervisor *s, const supervise_input *in, int64_t now,
					 supervise_action *a)
{
	return exit_rule(s, s->kill_reason, in, now, a);
}

static supervise_state act_exited_stopped(supervisor *s, const supervise_input *in, int64_t now,
					  supervise_action *a)
{
	a->failure = note_exit(s, in->how, in->status, now);
	return report(s, SUPERVISE_END_STOPPED, a);
}

static supervise_state kill_for(supervisor *s, supervise_exit reason, supervise_action *a)
{
	s->kill_reason = reason;
	a->what = SUPERVISE_DO_KILL;
	return SUPERVISE_KILLING;
}

static supervise_state act_unhealthy(supervisor *s, const supervise_input *in, int64_t now,
				     supervise_action *a)
{
	(void)in;
	(void)now;
	return kill_for(s, SUPERVISE_EXIT_UNHEALTHY, a);
}

static supervise_state act_watchdog(supervisor *s, const supervise_input *in, int64_t now,
				    supervise_action *a)
{
	(void)in;
	(void)now;
	return kill_for(s, SUPERVISE_EXIT_WATCHDOG, a);
}

static supervise_state act_stop_running(supervisor *s, const supervise_input *in, int64_t now,
					supervise_action *a)
{
	(void)s;
	(void)in;
	(void)now;
	a->what = SUPERVISE_DO_KILL;
	return SUPERVISE_STOPPING;
}

static supervise_state act_stop_killing(supervisor *s, const supervise_input *in, int64_t now,
					supervise_action *a)
{
	(void)s;
	(void)in;
	(void)now;
	(void)a;
	return SUPERVISE_STOPPING;
}

/* No process: nothing to stop, the end is final at once. */
static supervise_state act_stop_idle(supervisor *s, const supervise_input *in, int64_t now,
				     supervise_action *a)
{
	(void)in;
	(void)now;
	return report(s, SUPERVISE_END_STOPPED, a);
}

static supervise_state act_backoff_done(supervisor *s, const supervise_input *in, int64_t now,
					supervise_action *a)
{
	(void)in;
	s->next_start_at = -1;
	a->what = SUPERVISE_DO_START;
	a->at = now;
	return SUPERVISE_PENDING;
}

#define T(x) (1u << SUPERVISE_##x)
/* What the exit rule may pick. */
#define RULE (T(PENDING) | T(BACKOFF) | T(EXITED) | T(GAVE_UP))

static const struct transition {
	unsigned targets; /* the states it may lead to; 0: ignored */
	supervise_fn action; /* NULL: ignored */
} transitions[_SUPERVISE_STATE_MAX][_SUPERVISE_EV_MAX] = {
	[SUPERVISE_PENDING] = {
		[SUPERVISE_EV_STARTED] = { T(STARTING), act_started },
		[SUPERVISE_EV_EXITED] = { RULE, act_exited },
		[SUPERVISE_EV_STOP_REQUESTED] = { T(EXITED), act_stop_idle },
	},
	[SUPERVISE_STARTING] = {
		[SUPERVISE_EV_READY] = { T(READY), act_ready },
		[SUPERVISE_EV_EXITED] = { RULE, act_exited },
		[SUPERVISE_EV_UNHEALTHY] = { T(KILLING), act_unhealthy },
		[SUPERVISE_EV_WATCHDOG_MISSED] = { T(KILLING), act_watchdog },
		[SUPERVISE_EV_STOP_REQUESTED] = { T(STOPPING), act_stop_running },
	},
	[SUPERVISE_READY] = {
		[SUPERVISE_EV_EXITED] = { RULE, act_exited },
		[SUPERVISE_EV_UNHEALTHY] = { T(KILLING), act_unhealthy },
		[SUPERVISE_EV_WATCHDOG_MISSED] = { T(KILLING), act_watchdog },
		[SUPERVISE_EV_STOP_REQUESTED] = { T(STOPPING), act_stop_running },
	},
	[SUPERVISE_KILLING] = {
		[SUPERVISE_EV_EXITED] = { RULE, act_exited_killed },
		[SUPERVISE_EV_STOP_REQUESTED] = { T(STOPPING), act_stop_killing },
	},
	[SUPERVISE_BACKOFF] = {
		[SUPERVISE_EV_STOP_REQUESTED] = { T(EXITED), act_stop_idle },
		[SUPERVISE_EV_BACKOFF_DONE] = { T(PENDING), act_backoff_done },
	},
	[SUPERVISE_STOPPING] = {
		[SUPERVISE_EV_EXITED] = { T(EXITED), act_exited_stopped },
	},
	/* EXITED and GAVE_UP are final: every cell empty. */
};

unsigned supervise_table_targets(supervise_state state, supervise_event ev)
{
	if ((unsigned)state >= _SUPERVISE_STATE_MAX || (unsigned)ev >= _SUPERVISE_EV_MAX)
		return 0;
	return transitions[state][ev].targets;
}

int supervise_dispatch(supervisor *s, const supervise_input *in, int64_t now,
		       supervise_action *ret)
{
	if ((unsigned)in->event >= _SUPERVISE_EV_MAX)
		return -EINVAL;
	if (in->event == SUPERVISE_EV_EXITED &&
	    ((unsigned)in->how >= _SUPERVISE_EXIT_MAX || !(in->random >= 0 && in->random < 1)))
		return -EINVAL;

	const struct transition *tr = &transitions[s->state][in->event];
	supervise_action a = { .what = SUPERVISE_DO_NOTHING, .from = s->state, .to = s->state };
	if (!tr->action) {
		a.ignored = true;
	} else {
		supervise_state next = tr->action(s, in, now, &a);
		assert(tr->targets & (1u << next));
		s->state = next;
		a.to = next;
	}
	if (ret)
		*ret = a;
	return 0;
}

supervise_state supervise_get_state(const supervisor *s)
{
	return s->state;
}

void supervise_get_status(const supervisor *s, int64_t now, supervise_status *ret)
{
	bool running = s->state == SUPERVISE_STARTING || s->state == SUPERVISE_READY ||
		       s->state == SUPERVISE_KILLING || s->state == SUPERVISE_STOPPING;
	unsigned in_window = 0;
	for (unsigned i = 0; i < s->ring_n; i++)
		if (now - s->ring[i] < s->cfg.restart_window_ns)
			in_window++;

	*ret = (supervise_status){
		.state = s->state,
		.ready = s->state == SUPERVISE_READY,
		.running = running,
		.runs = s->runs,
		.restarts = s->restarts,
		.attempt = s->attempt,
		.restarts_in_window = in_window,
		.started_at = s->started_at,
		.ready_at = s->ready_at,
		.uptime_ns = running ? MAX(now - s->started_at, INT64_C(0)) : 0,
		.next_start_at = s->next_start_at,
		.exited = s->exited,
		.last_exit = s->last_exit,
		.end = s->end,
	};
}
