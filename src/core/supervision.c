/* SPDX-License-Identifier: MIT */
/*
 * The runtime's side of supervision (docs/supervision.md): a task's
 * supervisor (src/supervise/restart.h) hears of its starts, readiness,
 * health and ends, and says whether and when it runs again; the breakers
 * (src/supervise/breaker.h) hear of every run's outcome per kind and turn
 * new tasks of a failing kind away. This file only translates: the
 * decisions are the tables'.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"
#include "core/internal.h"

int supervision_task_new(art_task *t)
{
	const spec_supervise *sp = &t->spec->sup;
	loop_timer_init(&t->backoff_timer);
	t->notify_child_fd = -1;
	if (!sp->set && !sp->notify && !sp->health_cmd.n && !sp->watchdog_ns)
		return 0;
	return supervise_new(&sp->cfg, &t->sup);
}

void supervision_task_free(art_task *t)
{
	supervise_free(t->sup);
	t->sup = NULL;
}

/* A task that says when it is ready (notify channel, probe) becomes ready
 * when it says so; any other is ready once it runs. */
static bool signals_readiness(const art_task *t)
{
	return t->spec->sup.notify || t->spec->sup.health_cmd.n;
}

static void act(art_task *t, supervise_event ev, const supervise_action *a);

void supervision_started(art_task *t)
{
	if (!t->sup || !signals_readiness(t))
		t->result.ready = 1;
	if (!t->sup)
		return;
	supervise_action a;
	int64_t now = mono_ns();
	if (supervise_send(t->sup, SUPERVISE_EV_STARTED, now, &a) == 0)
		act(t, SUPERVISE_EV_STARTED, &a);
	if (!signals_readiness(t) && supervise_send(t->sup, SUPERVISE_EV_READY, now, &a) == 0)
		act(t, SUPERVISE_EV_READY, &a);
}

void supervision_event(art_task *t, supervise_event ev)
{
	if (!t->sup)
		return;
	supervise_action a;
	if (supervise_send(t->sup, ev, mono_ns(), &a) == 0)
		act(t, ev, &a);
}

/* Actions that can follow an event other than an exit. */
static void act(art_task *t, supervise_event ev, const supervise_action *a)
{
	if (a->what != SUPERVISE_DO_KILL)
		return;
	/* Stopped for being unhealthy or silent: with its grace, as a cancel
	 * would be, but the end says why. */
	t->kill_reason = ev == SUPERVISE_EV_WATCHDOG_MISSED ? ART_END_WATCHDOG : ART_END_UNHEALTHY;
	task_dispatch(t, EV_CANCEL);
}

/* ------------------------------------------------------------ restarts */

/* xorshift64*, per runtime: the backoff's jitter needs no better. */
static double next_random(art_runtime *rt)
{
	if (!rt->rng)
		rt->rng = (uint64_t)mono_ns() ^ ((uint64_t)rt->pid << 32) ^ 0x9e3779b97f4a7c15ULL;
	uint64_t x = rt->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rt->rng = x;
	return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

static bool exit_of(const art_result *res, supervise_exit *how, int *status)
{
	*status = 0;
	switch (res->end) {
	case ART_END_EXITED:
		*how = SUPERVISE_EXIT_CODE;
		*status = res->exit_code;
		return true;
	case ART_END_SIGNALED:
		*how = SUPERVISE_EXIT_SIGNAL;
		*status = res->term_signal;
		return true;
	case ART_END_TIMEOUT:
		*how = SUPERVISE_EXIT_TIMEOUT;
		return true;
	case ART_END_START_FAILED:
		*how = SUPERVISE_EXIT_START_FAILED;
		return true;
	case ART_END_UNHEALTHY:
		*how = SUPERVISE_EXIT_UNHEALTHY;
		return true;
	case ART_END_WATCHDOG:
		*how = SUPERVISE_EXIT_WATCHDOG;
		return true;
	case ART_END_OOM_KILLED:
	case ART_END_SECCOMP:
	case ART_END_LIMIT:
		*how = SUPERVISE_EXIT_FAILED;
		return true;
	case ART_END_NONE:
	case ART_END_CANCELLED:
	case ART_END_SKIPPED:
	case ART_END_GAVE_UP:
	case ART_END_CIRCUIT_OPEN:
		break;
	}
	return false;
}

static void on_backoff_done(loop *l, loop_timer *timer)
{
	(void)l;
	art_task *t = container_of(timer, art_task, backoff_timer);
	supervise_action a;
	if (supervise_send(t->sup, SUPERVISE_EV_BACKOFF_DONE, mono_ns(), &a) == 0 &&
	    a.what == SUPERVISE_DO_START)
		schedule_enqueue_now(t->rt, t);
}

bool supervision_task_end(art_runtime *rt, art_task *t)
{
	int64_t now = mono_ns();
	art_result *res = &t->result;
	loop_timer_disarm(rt->loop, &t->backoff_timer);
	if (!t->sup)
		return true;
	supervise_action a;
	supervise_exit how;
	int status;
	if (res->end == ART_END_CANCELLED || !exit_of(res, &how, &status)) {
		/* A stop by request (or an end before any start) is final. */
		(void)supervise_send(t->sup, SUPERVISE_EV_STOP_REQUESTED, now, &a);
		return true;
	}
	if (supervise_exited(t->sup, how, status, next_random(rt), now, &a) < 0)
		return true;
	switch (a.what) {
	case SUPERVISE_DO_START:
	case SUPERVISE_DO_START_AT:
		res->restarts++;
		rt->stats.restarts++;
		event_retry(t, res->end);
		rtm_task_retry(rt, t);
		schedule_requeue(rt, t);
		if (a.what == SUPERVISE_DO_START)
			schedule_enqueue_now(rt, t);
		else if (loop_timer_arm(rt->loop, &t->backoff_timer, a.at, on_backoff_done) < 0)
			on_backoff_done(rt->loop, &t->backoff_timer);
		return false;
	case SUPERVISE_DO_REPORT:
		if (a.end == SUPERVISE_END_GAVE_UP)
			res->end = ART_END_GAVE_UP;
		return true;
	default:
		break;
	}
	return true;
}

/* ------------------------------------------------------------ breakers */

bool supervision_admit(art_runtime *rt, art_task *t)
{
	if (!rt->breakers)
		return true;
	breaker_result r;
	const char *kind = t->spec->sched.kind;
	if (breaker_admit(rt->breakers, kind, mono_ns(), &r) == BREAKER_REJECT)
		return false;
	t->breaker_ticket = r.ticket;
	return true;
}

void supervision_record(art_runtime *rt, art_task *t)
{
	if (!rt->breakers || !t->result.attempts)
		return;
	const char *kind = t->spec->sched.kind;
	int64_t now = mono_ns();
	if (t->result.end == ART_END_CANCELLED)
		breaker_release(rt->breakers, kind, t->breaker_ticket, now);
	else
		breaker_record(rt->breakers, kind, art_result_ok(&t->result) != 0, t->breaker_ticket,
			       now);
	t->breaker_ticket = 0;
}

static void on_breaker_change(void *userdata, const char *kind, breaker_state from,
			      breaker_state to, int64_t now)
{
	(void)from;
	(void)now;
	rtm_breaker_state(userdata, kind, to == BREAKER_OPEN ? 1 : to == BREAKER_HALF_OPEN ? 2 : 0);
}

int supervision_configure_breaker(art_runtime *rt, const char *kind, const breaker_config *cfg)
{
	int64_t now = mono_ns();
	if (!rt->breakers) {
		breaker_config off;
		breaker_config_init(&off);
		off.window = 0; /* kinds not configured have none */
		int r = breaker_set_new(&off, on_breaker_change, rt, &rt->breakers);
		if (r < 0)
			return r;
	}
	int r = breaker_configure(rt->breakers, kind, cfg, now);
	if (r == 0 && kind)
		rtm_breaker_state(rt, kind, 0);
	return r;
}
