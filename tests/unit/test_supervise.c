/* SPDX-License-Identifier: MIT */
/*
 * The supervision decision cores (src/supervise/restart.h, breaker.h) on
 * simulated time: every test drives the clock and the jitter's random
 * values itself, so each run decides the same way.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"
#include "supervise/breaker.h"
#include "supervise/restart.h"
#include "tap.h"

#define SEC(x) ((int64_t)(x) * NSEC_PER_SEC)
#define MSEC(x) ((int64_t)(x) * NSEC_PER_MSEC)

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

static double rnd01(void)
{
	rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (double)(rng_state >> 11) / 9007199254740992.0; /* [0, 1) */
}

/* ------------------------------------------------------------ helpers */

/* on-failure, exponential 1 s .. 60 s, no jitter, no intensity limit, no
 * reset: each test changes what it is about. */
static void cfg_base(supervise_config *c)
{
	supervise_config_init(c);
	c->policy = SUPERVISE_ON_FAILURE;
	c->backoff.jitter = 0;
	c->max_restarts = 0;
	c->reset_ns = 0;
}

static supervisor *mk_sup(const supervise_config *c)
{
	supervisor *s = NULL;
	CHECK_EQ_INT(supervise_new(c, &s), 0);
	CHECK(s);
	CHECK_EQ_INT(supervise_get_state(s), SUPERVISE_PENDING);
	return s;
}

static supervise_action ev(supervisor *s, supervise_event e, int64_t now)
{
	supervise_action a;
	memset(&a, 0x5a, sizeof(a));
	CHECK_EQ_INT(supervise_send(s, e, now, &a), 0);
	CHECK_EQ_INT(a.from == a.to || !a.ignored, 1);
	CHECK_EQ_INT(supervise_get_state(s), a.to);
	return a;
}

static supervise_action ex(supervisor *s, supervise_exit how, int status, double r, int64_t now)
{
	supervise_action a;
	memset(&a, 0x5a, sizeof(a));
	CHECK_EQ_INT(supervise_exited(s, how, status, r, now, &a), 0);
	CHECK_EQ_INT(supervise_get_state(s), a.to);
	return a;
}

static supervise_action exit_code(supervisor *s, int code, int64_t now)
{
	return ex(s, SUPERVISE_EXIT_CODE, code, 0, now);
}

/* STARTED at now; checks the answer. */
static void start(supervisor *s, int64_t now)
{
	supervise_action a = ev(s, SUPERVISE_EV_STARTED, now);
	CHECK(!a.ignored);
	CHECK_EQ_INT(a.to, SUPERVISE_STARTING);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_NOTHING);
}

/* A failed run answered by a restart after a backoff: returns when. */
static int64_t expect_backoff(supervise_action a, int64_t now)
{
	CHECK(!a.ignored);
	CHECK(a.failure);
	CHECK(a.restart);
	CHECK_EQ_INT(a.to, SUPERVISE_BACKOFF);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_START_AT);
	CHECK(a.at > now);
	return a.at;
}

/* The timer fired: BACKOFF_DONE, DO_START, then STARTED. */
static void restart_at(supervisor *s, int64_t at)
{
	supervise_action a = ev(s, SUPERVISE_EV_BACKOFF_DONE, at);
	CHECK_EQ_INT(a.to, SUPERVISE_PENDING);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_START);
	CHECK_EQ_INT(a.at, at);
	start(s, at);
}

static void expect_report(supervise_action a, supervise_state to, supervise_end end)
{
	CHECK(!a.ignored);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_REPORT);
	CHECK_EQ_INT(a.to, to);
	CHECK_EQ_INT(a.end, end);
	CHECK(!a.restart);
}

/* ------------------------------------------------------------ backoff */

/* A crash loop with exponential backoff 1 s .. 60 s and no jitter: the
 * restarts come exactly 1, 2, 4, ..., 32, 60, 60 s after each crash. */
TEST(test_crash_loop_exponential_exact)
{
	static const int64_t expect[] = { 1, 2, 4, 8, 16, 32, 60, 60, 60, 60 };
	supervise_config c;
	cfg_base(&c);
	CHECK_EQ_INT(supervise_backoff_from_string("exponential:1s:60s", &c.backoff), 0);
	supervisor *s = mk_sup(&c);
	int64_t now = SEC(100);

	start(s, now);
	for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
		now += MSEC(10); /* crashes 10 ms after each start */
		int64_t at = expect_backoff(exit_code(s, 1, now), now);
		CHECK_EQ_INT(at - now, SEC(expect[i]));
		supervise_status st;
		supervise_get_status(s, now, &st);
		CHECK_EQ_INT(st.next_start_at, at);
		CHECK_EQ_INT(st.restarts, i + 1);
		CHECK_EQ_INT(st.attempt, i + 1);
		CHECK(!st.running);
		CHECK_EQ_INT(st.last_exit.uptime_ns, MSEC(10));
		now = at;
		restart_at(s, now);
	}
	supervise_status st;
	supervise_get_status(s, now, &st);
	CHECK_EQ_INT(st.runs, ARRAY_SIZE(expect) + 1);
	supervise_free(s);
}

/* The same loop with jitter 0.2: each delay is in (0.8 d, d], and the
 * cut is what the random value says. */
TEST(test_crash_loop_exponential_jitter)
{
	static const int64_t expect[] = { 1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60 };
	supervise_config c;
	cfg_base(&c);
	CHECK_EQ_INT(supervise_backoff_from_string("exponential:1s:60s", &c.backoff), 0);
	c.backoff.jitter = 0.2;

	for (int round = 0; round < 200; round++) {
		supervisor *s = mk_sup(&c);
		int64_t now = 0;
		start(s, now);
		for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
			/* The extremes first, then random values. */
			double r = round == 0 ? 0 : round == 1 ? 0.9999999999 : rnd01();
			int64_t d = SEC(expect[i]);
			supervise_action a = ex(s, SUPERVISE_EXIT_SIGNAL, 9, r, now);
			int64_t delay = expect_backoff(a, now) - now;
			CHECK(delay <= d);
			CHECK(delay * 5 > d * 4); /* > 0.8 d */
			CHECK_EQ_INT(delay, d - (int64_t)((double)d * 0.2 * r));
			if (round == 0)
				CHECK_EQ_INT(delay, d);
			now += delay;
			restart_at(s, now);
		}
		supervise_free(s);
	}
}

TEST(test_backoff_formulas)
{
	supervise_backoff b = { SUPERVISE_BACKOFF_LINEAR, SEC(1), SEC(5), 0 };
	static const int64_t linear[] = { 1, 2, 3, 4, 5, 5, 5 };
	for (unsigned n = 0; n < ARRAY_SIZE(linear); n++)
		CHECK_EQ_INT(supervise_backoff_delay(&b, n, 0), SEC(linear[n]));
	CHECK_EQ_INT(supervise_backoff_delay(&b, UINT_MAX, 0), SEC(5));

	b.kind = SUPERVISE_BACKOFF_FIXED;
	for (unsigned n = 0; n < 100; n += 7)
		CHECK_EQ_INT(supervise_backoff_delay(&b, n, 0), SEC(1));

	b.kind = SUPERVISE_BACKOFF_EXPONENTIAL;
	b.initial_ns = MSEC(100);
	b.max_ns = SEC(3600);
	CHECK_EQ_INT(supervise_backoff_delay(&b, 0, 0), MSEC(100));
	CHECK_EQ_INT(supervise_backoff_delay(&b, 3, 0), MSEC(800));
	/* No overflow, however many attempts. */
	CHECK_EQ_INT(supervise_backoff_delay(&b, 62, 0), SEC(3600));
	CHECK_EQ_INT(supervise_backoff_delay(&b, 63, 0), SEC(3600));
	CHECK_EQ_INT(supervise_backoff_delay(&b, UINT_MAX, 0), SEC(3600));
	b.max_ns = INT64_MAX;
	CHECK_EQ_INT(supervise_backoff_delay(&b, 200, 0), INT64_MAX);
	CHECK(supervise_backoff_delay(&b, 200, 0.5) > 0);

	/* A zero initial delay is zero whatever the formula. */
	b.initial_ns = 0;
	CHECK_EQ_INT(supervise_backoff_delay(&b, 40, 0.7), 0);

	/* Jitter 1: anywhere in (0, d]. */
	b = (supervise_backoff){ SUPERVISE_BACKOFF_FIXED, SEC(10), SEC(10), 1.0 };
	CHECK_EQ_INT(supervise_backoff_delay(&b, 0, 0.5), SEC(5));
	CHECK_EQ_INT(supervise_backoff_delay(&b, 0, 0), SEC(10));
}

/* A run of at least reset_ns sets the backoff back to its start; a
 * shorter one does not. */
TEST(test_reset_after_healthy_run)
{
	supervise_config c;
	cfg_base(&c);
	c.reset_ns = SEC(30);
	supervisor *s = mk_sup(&c);
	int64_t now = 0, at;

	start(s, now);
	for (int i = 0; i < 4; i++) { /* 1, 2, 4, 8 */
		at = expect_backoff(exit_code(s, 1, now), now);
		CHECK_EQ_INT(at - now, SEC(1) << i);
		restart_at(s, now = at);
	}
	/* Up 30 s - 1 ns: no reset, the next is 16 s. */
	now += SEC(30) - 1;
	at = expect_backoff(exit_code(s, 1, now), now);
	CHECK_EQ_INT(at - now, SEC(16));
	restart_at(s, now = at);

	/* Up exactly 30 s: reset, 1 s, then 2 s again. */
	supervise_status st;
	supervise_get_status(s, now + SEC(30), &st);
	CHECK_EQ_INT(st.uptime_ns, SEC(30));
	now += SEC(30);
	at = expect_backoff(exit_code(s, 1, now), now);
	CHECK_EQ_INT(at - now, SEC(1));
	supervise_get_status(s, now, &st);
	CHECK_EQ_INT(st.attempt, 1);
	CHECK_EQ_INT(st.restarts, 6);
	restart_at(s, now = at);
	at = expect_backoff(exit_code(s, 1, now), now);
	CHECK_EQ_INT(at - now, SEC(2));
	supervise_free(s);
}

/* The reset leaves the intensity window alone: runs just over reset_ns
 * that keep crashing still give up. */
TEST(test_reset_keeps_intensity)
{
	supervise_config c;
	cfg_base(&c);
	c.reset_ns = SEC(10);
	c.max_restarts = 3;
	c.restart_window_ns = SEC(100);
	supervisor *s = mk_sup(&c);
	int64_t now = 0;

	start(s, now);
	for (int i = 0; i < 3; i++) {
		now += SEC(11);
		int64_t at = expect_backoff(exit_code(s, 1, now), now);
		CHECK_EQ_INT(at - now, SEC(1)); /* reset every time */
		restart_at(s, now = at);
	}
	now += SEC(11); /* restarts at 11, 23, 35; now 47 */
	expect_report(exit_code(s, 1, now), SUPERVISE_GAVE_UP, SUPERVISE_END_GAVE_UP);
	supervise_free(s);
}

/* ------------------------------------------------------------ intensity */

TEST(test_gives_up_after_max_restarts)
{
	supervise_config c;
	cfg_base(&c);
	c.max_restarts = 3;
	c.restart_window_ns = SEC(10);
	CHECK_EQ_INT(supervise_backoff_from_string("fixed:1s", &c.backoff), 0);
	supervisor *s = mk_sup(&c);
	int64_t now = 0;

	start(s, now);
	for (int i = 0; i < 3; i++) { /* crashes at 0, 1, 2 */
		supervise_action a = exit_code(s, 2, now);
		restart_at(s, now = expect_backoff(a, now));
	}
	supervise_status st;
	supervise_get_status(s, now, &st);
	CHECK_EQ_INT(st.restarts_in_window, 3);

	supervise_action a = exit_code(s, 2, now); /* the 4th within 10 s */
	expect_report(a, SUPERVISE_GAVE_UP, SUPERVISE_END_GAVE_UP);
	CHECK(a.failure);
	supervise_get_status(s, now, &st);
	CHECK_EQ_INT(st.state, SUPERVISE_GAVE_UP);
	CHECK_EQ_INT(st.end, SUPERVISE_END_GAVE_UP);
	CHECK_EQ_INT(st.restarts, 3);
	CHECK_EQ_INT(st.last_exit.status, 2);
	CHECK_EQ_INT(st.next_start_at, -1);

	/* Final: everything is ignored. */
	for (int e = 0; e < _SUPERVISE_EV_MAX; e++) {
		supervise_input in = { .event = (supervise_event)e };
		supervise_action b;
		CHECK_EQ_INT(supervise_dispatch(s, &in, now + SEC(1000), &b), 0);
		CHECK(b.ignored);
		CHECK_EQ_INT(b.what, SUPERVISE_DO_NOTHING);
		CHECK_EQ_INT(b.to, SUPERVISE_GAVE_UP);
	}
	supervise_free(s);
}

/* Crashes spaced wider than the window never give up. */
TEST(test_spaced_crashes_do_not_give_up)
{
	supervise_config c;
	cfg_base(&c);
	c.max_restarts = 3;
	c.restart_window_ns = SEC(10);
	CHECK_EQ_INT(supervise_backoff_from_string("fixed:1s", &c.backoff), 0);
	supervisor *s = mk_sup(&c);
	int64_t now = 0;

	start(s, now);
	for (int i = 0; i < 100; i++) {
		now += SEC(3); /* a crash every 4 s: 3 per 12 s > window */
		supervise_action a = exit_code(s, 1, now);
		restart_at(s, now = expect_backoff(a, now));
	}
	supervise_status st;
	supervise_get_status(s, now, &st);
	CHECK_EQ_INT(st.restarts, 100);
	CHECK(st.restarts_in_window <= 3);
	supervise_free(s);
}

/* The window's edge: restarts exactly restart_window_ns apart are not in
 * the same window; a delay of 0 restarts at once (DO_START). */
TEST(test_intensity_window_edge)
{
	supervise_config c;
	cfg_base(&c);
	c.max_restarts = 2;
	c.restart_window_ns = SEC(10);
	c.backoff = (supervise_backoff){ SUPERVISE_BACKOFF_FIXED, 0, 0, 0 };
	supervisor *s = mk_sup(&c);
	static const int64_t crashes[] = { 0, 5, 10 };

	start(s, 0);
	for (size_t i = 0; i < ARRAY_SIZE(crashes); i++) {
		supervise_action a = exit_code(s, 1, SEC(crashes[i]));
		CHECK(a.restart);
		CHECK_EQ_INT(a.to, SUPERVISE_PENDING);
		CHECK_EQ_INT(a.what, SUPERVISE_DO_START);
		CHECK_EQ_INT(a.at, SEC(crashes[i]));
		start(s, SEC(crashes[i]));
	}
	/* Kept: 5 and 10; at 14.999 s the oldest (5) is within 10 s. */
	expect_report(exit_code(s, 1, SEC(15) - 1), SUPERVISE_GAVE_UP, SUPERVISE_END_GAVE_UP);
	supervise_free(s);
}

/* The defaults, as docs/supervision.md tells them: 1, 2, 4, ..., 32, 60,
 * 60, 60, 60 s, then the eleventh crash (303 s in) gives up. */
TEST(test_defaults_crash_loop)
{
	static const int64_t expect[] = { 1, 2, 4, 8, 16, 32, 60, 60, 60, 60 };
	supervise_config c;
	supervise_config_init(&c);
	c.policy = SUPERVISE_ALWAYS;
	supervisor *s = mk_sup(&c);
	int64_t now = 0;

	start(s, now);
	for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
		supervise_action a = exit_code(s, 1, now);
		CHECK_EQ_INT(a.at - now, SEC(expect[i])); /* random 0: no cut */
		restart_at(s, now = a.at);
	}
	CHECK_EQ_INT(now, SEC(303));
	expect_report(exit_code(s, 1, now), SUPERVISE_GAVE_UP, SUPERVISE_END_GAVE_UP);
	supervise_free(s);
}

/* ------------------------------------------------------------ policy */

TEST(test_policy_never)
{
	supervisor *s = mk_sup(NULL); /* the default is never */
	start(s, 0);
	supervise_action a = exit_code(s, 1, SEC(1));
	expect_report(a, SUPERVISE_EXITED, SUPERVISE_END_DONE);
	CHECK(a.failure);
	supervise_free(s);

	s = mk_sup(NULL);
	start(s, 0);
	a = exit_code(s, 0, SEC(1));
	expect_report(a, SUPERVISE_EXITED, SUPERVISE_END_DONE);
	CHECK(!a.failure);
	supervise_free(s);
}

TEST(test_policy_on_failure)
{
	supervise_config c;
	cfg_base(&c);
	supervisor *s = mk_sup(&c);
	int64_t now = 0;

	/* Every kind of failure restarts... */
	static const struct {
		supervise_exit how;
		int status;
	} fails[] = {
		{ SUPERVISE_EXIT_CODE, 1 },      { SUPERVISE_EXIT_CODE, 255 },
		{ SUPERVISE_EXIT_SIGNAL, 15 },   { SUPERVISE_EXIT_SIGNAL, 0 },
		{ SUPERVISE_EXIT_TIMEOUT, 0 },   { SUPERVISE_EXIT_UNHEALTHY, 0 },
		{ SUPERVISE_EXIT_WATCHDOG, 0 },  { SUPERVISE_EXIT_FAILED, 0 },
	};
	start(s, now);
	for (size_t i = 0; i < ARRAY_SIZE(fails); i++) {
		supervise_action a = ex(s, fails[i].how, fails[i].status, 0, now);
		restart_at(s, now = expect_backoff(a, now));
	}
	/* ...a success does not. */
	supervise_action a = exit_code(s, 0, now);
	expect_report(a, SUPERVISE_EXITED, SUPERVISE_END_DONE);
	CHECK(!a.failure);
	supervise_free(s);

	/* A failed start (in PENDING, no STARTED) is a failure too. */
	s = mk_sup(&c);
	a = ex(s, SUPERVISE_EXIT_START_FAILED, 0, 0, SEC(5));
	CHECK_EQ_INT(a.from, SUPERVISE_PENDING);
	expect_backoff(a, SEC(5));
	supervise_status st;
	supervise_get_status(s, SEC(5), &st);
	CHECK_EQ_INT(st.last_exit.uptime_ns, 0);
	CHECK_EQ_INT(st.last_exit.how, SUPERVISE_EXIT_START_FAILED);
	CHECK_EQ_INT(st.runs, 0);
	supervise_free(s);
}

TEST(test_policy_always)
{
	supervise_config c;
	cfg_base(&c);
	c.policy = SUPERVISE_ALWAYS;
	supervisor *s = mk_sup(&c);
	int64_t now = 0;

	start(s, now);
	supervise_action a = exit_code(s, 0, now);
	CHECK(!a.failure);
	CHECK(a.restart);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_START_AT);
	CHECK_EQ_INT(a.at - now, SEC(1));
	restart_at(s, now = a.at);
	/* Success restarts use the backoff too: 2 s. */
	a = exit_code(s, 0, now);
	CHECK_EQ_INT(a.at - now, SEC(2));
	restart_at(s, now = a.at);
	a = exit_code(s, 3, now);
	CHECK(a.failure);
	CHECK_EQ_INT(a.at - now, SEC(4));
	supervise_free(s);

	/* And every restart counts towards the intensity limit. */
	c.max_restarts = 1;
	c.restart_window_ns = SEC(60);
	s = mk_sup(&c);
	start(s, 0);
	a = exit_code(s, 0, 0);
	restart_at(s, a.at);
	expect_report(exit_code(s, 0, a.at), SUPERVISE_GAVE_UP, SUPERVISE_END_GAVE_UP);
	supervise_free(s);
}

TEST(test_success_exit_codes)
{
	supervise_config c;
	cfg_base(&c);
	c.success_codes[0] = 3;
	c.success_codes[1] = 75;
	c.n_success_codes = 2;
	static const struct {
		supervise_exit how;
		int status;
		bool failure;
	} cases[] = {
		{ SUPERVISE_EXIT_CODE, 0, false }, /* 0 always succeeds */
		{ SUPERVISE_EXIT_CODE, 3, false },
		{ SUPERVISE_EXIT_CODE, 75, false },
		{ SUPERVISE_EXIT_CODE, 1, true },
		{ SUPERVISE_EXIT_CODE, 4, true },
		{ SUPERVISE_EXIT_SIGNAL, 3, true }, /* a signal's number is no exit code */
		{ SUPERVISE_EXIT_TIMEOUT, 0, true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		supervisor *s = mk_sup(&c);
		start(s, 0);
		supervise_action a = ex(s, cases[i].how, cases[i].status, 0, SEC(1));
		CHECK_EQ_INT(a.failure, cases[i].failure);
		CHECK_EQ_INT(a.restart, cases[i].failure);
		CHECK_EQ_INT(a.to, cases[i].failure ? SUPERVISE_BACKOFF : SUPERVISE_EXITED);
		supervise_status st;
		supervise_get_status(s, SEC(1), &st);
		CHECK(st.exited);
		CHECK_EQ_INT(st.last_exit.failure, cases[i].failure);
		CHECK_EQ_INT(st.last_exit.status, cases[i].status);
		CHECK_EQ_INT(st.last_exit.at, SEC(1));
		supervise_free(s);
	}

	/* With no codes at all, 0 still succeeds. */
	c.n_success_codes = 0;
	supervisor *s = mk_sup(&c);
	start(s, 0);
	CHECK(!exit_code(s, 0, 1).failure);
	supervise_free(s);
}

/* ------------------------------------------------------------ stop */

TEST(test_stop_never_restarts)
{
	supervise_config c;
	cfg_base(&c);
	c.policy = SUPERVISE_ALWAYS;
	supervise_action a;

	/* Running, then a failing exit: still final. */
	supervisor *s = mk_sup(&c);
	start(s, 0);
	a = ev(s, SUPERVISE_EV_STOP_REQUESTED, SEC(1));
	CHECK_EQ_INT(a.to, SUPERVISE_STOPPING);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_KILL);
	CHECK(ev(s, SUPERVISE_EV_STOP_REQUESTED, SEC(2)).ignored);
	CHECK(ev(s, SUPERVISE_EV_UNHEALTHY, SEC(2)).ignored);
	CHECK(ev(s, SUPERVISE_EV_READY, SEC(2)).ignored);
	a = ex(s, SUPERVISE_EXIT_SIGNAL, 15, 0, SEC(3));
	expect_report(a, SUPERVISE_EXITED, SUPERVISE_END_STOPPED);
	supervise_status st;
	supervise_get_status(s, SEC(3), &st);
	CHECK_EQ_INT(st.last_exit.how, SUPERVISE_EXIT_SIGNAL);
	CHECK_EQ_INT(st.last_exit.uptime_ns, SEC(3));
	CHECK_EQ_INT(st.end, SUPERVISE_END_STOPPED);
	CHECK_EQ_INT(st.restarts, 0);
	supervise_free(s);

	/* Ready, then stop. */
	s = mk_sup(&c);
	start(s, 0);
	ev(s, SUPERVISE_EV_READY, 1);
	a = ev(s, SUPERVISE_EV_STOP_REQUESTED, 2);
	CHECK_EQ_INT(a.to, SUPERVISE_STOPPING);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_KILL);
	expect_report(exit_code(s, 0, 3), SUPERVISE_EXITED, SUPERVISE_END_STOPPED);
	supervise_free(s);

	/* In BACKOFF: final at once; the timer firing later is ignored. */
	s = mk_sup(&c);
	start(s, 0);
	a = exit_code(s, 1, SEC(1));
	CHECK_EQ_INT(a.to, SUPERVISE_BACKOFF);
	a = ev(s, SUPERVISE_EV_STOP_REQUESTED, SEC(1) + 5);
	expect_report(a, SUPERVISE_EXITED, SUPERVISE_END_STOPPED);
	supervise_get_status(s, SEC(1) + 5, &st);
	CHECK_EQ_INT(st.next_start_at, -1);
	CHECK(ev(s, SUPERVISE_EV_BACKOFF_DONE, SEC(2)).ignored);
	CHECK(ev(s, SUPERVISE_EV_STARTED, SEC(2)).ignored);
	supervise_free(s);

	/* Before the first start. */
	s = mk_sup(&c);
	expect_report(ev(s, SUPERVISE_EV_STOP_REQUESTED, 0), SUPERVISE_EXITED,
		      SUPERVISE_END_STOPPED);
	supervise_get_status(s, 0, &st);
	CHECK(!st.exited);
	CHECK_EQ_INT(st.started_at, -1);
	supervise_free(s);

	/* While the supervisor kills an unhealthy task: no second kill, and
	 * the end is a stop, not a restart. */
	s = mk_sup(&c);
	start(s, 0);
	CHECK_EQ_INT(ev(s, SUPERVISE_EV_UNHEALTHY, 1).what, SUPERVISE_DO_KILL);
	a = ev(s, SUPERVISE_EV_STOP_REQUESTED, 2);
	CHECK_EQ_INT(a.to, SUPERVISE_STOPPING);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_NOTHING);
	expect_report(ex(s, SUPERVISE_EXIT_SIGNAL, 15, 0, 3), SUPERVISE_EXITED,
		      SUPERVISE_END_STOPPED);
	supervise_free(s);
}

/* ------------------------------------------------------------ health */

TEST(test_unhealthy_and_watchdog_are_failures)
{
	supervise_config c;
	cfg_base(&c);
	static const struct {
		supervise_event e;
		supervise_exit reason;
	} kills[] = {
		{ SUPERVISE_EV_UNHEALTHY, SUPERVISE_EXIT_UNHEALTHY },
		{ SUPERVISE_EV_WATCHDOG_MISSED, SUPERVISE_EXIT_WATCHDOG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(kills); i++) {
		supervisor *s = mk_sup(&c);
		start(s, 0);
		ev(s, SUPERVISE_EV_READY, SEC(1));
		supervise_action a = ev(s, kills[i].e, SEC(5));
		CHECK_EQ_INT(a.to, SUPERVISE_KILLING);
		CHECK_EQ_INT(a.what, SUPERVISE_DO_KILL);
		/* Repeats while the kill goes on are ignored. */
		CHECK(ev(s, SUPERVISE_EV_UNHEALTHY, SEC(6)).ignored);
		CHECK(ev(s, SUPERVISE_EV_WATCHDOG_MISSED, SEC(6)).ignored);
		CHECK(ev(s, SUPERVISE_EV_READY, SEC(6)).ignored);
		/* It exits 0 on SIGTERM: still the failure that caused it. */
		a = exit_code(s, 0, SEC(7));
		expect_backoff(a, SEC(7));
		supervise_status st;
		supervise_get_status(s, SEC(7), &st);
		CHECK_EQ_INT(st.last_exit.how, kills[i].reason);
		CHECK(st.last_exit.failure);
		CHECK_EQ_INT(st.last_exit.uptime_ns, SEC(7));
		supervise_free(s);
	}

	/* Policy never: the kill is final, and a failure. */
	c.policy = SUPERVISE_NEVER;
	supervisor *s = mk_sup(&c);
	start(s, 0);
	ev(s, SUPERVISE_EV_WATCHDOG_MISSED, 1);
	supervise_action a = ex(s, SUPERVISE_EXIT_SIGNAL, 9, 0, 2);
	expect_report(a, SUPERVISE_EXITED, SUPERVISE_END_DONE);
	CHECK(a.failure);
	supervise_free(s);

	/* Unhealthy before it was ever ready (a probe failing from the start). */
	c.policy = SUPERVISE_ON_FAILURE;
	s = mk_sup(&c);
	start(s, 0);
	CHECK_EQ_INT(ev(s, SUPERVISE_EV_UNHEALTHY, 1).to, SUPERVISE_KILLING);
	expect_backoff(ex(s, SUPERVISE_EXIT_SIGNAL, 15, 0, 2), 2);
	supervise_free(s);
}

TEST(test_readiness)
{
	supervise_config c;
	cfg_base(&c);
	supervisor *s = mk_sup(&c);
	supervise_status st;

	CHECK(ev(s, SUPERVISE_EV_READY, 0).ignored); /* no process yet */
	supervise_get_status(s, 0, &st);
	CHECK(!st.ready);
	CHECK(!st.running);
	CHECK_EQ_INT(st.uptime_ns, 0);
	CHECK_EQ_INT(st.started_at, -1);

	start(s, SEC(10));
	supervise_get_status(s, SEC(12), &st);
	CHECK_EQ_INT(st.state, SUPERVISE_STARTING);
	CHECK(!st.ready);
	CHECK(st.running);
	CHECK_EQ_INT(st.uptime_ns, SEC(2));
	CHECK_EQ_INT(st.ready_at, -1);

	supervise_action a = ev(s, SUPERVISE_EV_READY, SEC(13));
	CHECK_EQ_INT(a.from, SUPERVISE_STARTING);
	CHECK_EQ_INT(a.to, SUPERVISE_READY);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_NOTHING);
	CHECK(ev(s, SUPERVISE_EV_READY, SEC(14)).ignored); /* every passing probe */
	CHECK(ev(s, SUPERVISE_EV_STARTED, SEC(14)).ignored);
	supervise_get_status(s, SEC(20), &st);
	CHECK(st.ready);
	CHECK_EQ_INT(st.ready_at, SEC(13));
	CHECK_EQ_INT(st.uptime_ns, SEC(10));

	/* A crash: not ready, not running; the next run starts unready. */
	a = exit_code(s, 1, SEC(20));
	supervise_get_status(s, SEC(20), &st);
	CHECK(!st.ready);
	CHECK(!st.running);
	CHECK_EQ_INT(st.uptime_ns, 0);
	CHECK_EQ_INT(st.ready_at, -1);
	CHECK_EQ_INT(st.last_exit.uptime_ns, SEC(10));
	restart_at(s, a.at);
	supervise_get_status(s, a.at, &st);
	CHECK_EQ_INT(st.state, SUPERVISE_STARTING);
	CHECK_EQ_INT(st.started_at, a.at);
	CHECK_EQ_INT(st.runs, 2);
	supervise_free(s);
}

/* ------------------------------------------------------------ input */

TEST(test_bad_input)
{
	supervise_config c;
	cfg_base(&c);
	supervisor *s = mk_sup(&c);
	supervise_action a = { .what = SUPERVISE_DO_KILL };
	start(s, 0);

	CHECK_EQ_INT(supervise_exited(s, SUPERVISE_EXIT_CODE, 1, 1.0, 1, &a), -EINVAL);
	CHECK_EQ_INT(supervise_exited(s, SUPERVISE_EXIT_CODE, 1, -0.1, 1, &a), -EINVAL);
	CHECK_EQ_INT(supervise_exited(s, SUPERVISE_EXIT_CODE, 1, NAN, 1, &a), -EINVAL);
	CHECK_EQ_INT(supervise_exited(s, _SUPERVISE_EXIT_MAX, 1, 0, 1, &a), -EINVAL);
	CHECK_EQ_INT(supervise_send(s, SUPERVISE_EV_EXITED, 1, &a), -EINVAL);
	CHECK_EQ_INT(supervise_send(s, _SUPERVISE_EV_MAX, 1, &a), -EINVAL);
	CHECK_EQ_INT(a.what, SUPERVISE_DO_KILL); /* untouched */
	CHECK_EQ_INT(supervise_get_state(s), SUPERVISE_STARTING);
	/* ret may be NULL. */
	CHECK_EQ_INT(supervise_send(s, SUPERVISE_EV_READY, 1, NULL), 0);
	CHECK_EQ_INT(supervise_get_state(s), SUPERVISE_READY);
	supervise_free(s);
	supervise_free(NULL);
}

TEST(test_config_check)
{
	supervise_config c;
	supervisor *s = (supervisor *)&c;

	supervise_config_init(&c);
	CHECK_EQ_INT(supervise_config_check(&c), 0);
	CHECK_EQ_INT(c.policy, SUPERVISE_NEVER);
	CHECK_EQ_INT(c.n_success_codes, 1);
	CHECK_EQ_INT(c.success_codes[0], 0);

#define BAD(stmt)                                                          \
	do {                                                               \
		supervise_config_init(&c);                                 \
		stmt;                                                      \
		CHECK_EQ_INT(supervise_config_check(&c), -EINVAL);         \
		CHECK_EQ_INT(supervise_new(&c, &s), -EINVAL);              \
		CHECK(s == (supervisor *)&c);                              \
	} while (0)
	BAD(c.policy = _SUPERVISE_POLICY_MAX);
	BAD(c.n_success_codes = SUPERVISE_MAX_SUCCESS_CODES + 1);
	BAD(c.success_codes[0] = 256);
	BAD(c.success_codes[0] = -1);
	BAD(c.max_restarts = SUPERVISE_MAX_RESTARTS_LIMIT + 1);
	BAD(c.restart_window_ns = 0);
	BAD(c.reset_ns = -1);
	BAD(c.backoff.kind = _SUPERVISE_BACKOFF_MAX);
	BAD(c.backoff.initial_ns = -1);
	BAD(c.backoff.max_ns = c.backoff.initial_ns - 1);
	BAD(c.backoff.jitter = 1.5);
	BAD(c.backoff.jitter = -0.1);
	BAD(c.backoff.jitter = NAN);
#undef BAD

	/* No limit needs no window. */
	supervise_config_init(&c);
	c.max_restarts = 0;
	c.restart_window_ns = 0;
	CHECK_EQ_INT(supervise_config_check(&c), 0);
	c.max_restarts = SUPERVISE_MAX_RESTARTS_LIMIT;
	c.restart_window_ns = 1;
	s = NULL;
	CHECK_EQ_INT(supervise_new(&c, &s), 0);
	supervise_free(s);
}

/* ------------------------------------------------------------ parsing */

TEST(test_parse_policy)
{
	static const struct {
		const char *s;
		supervise_policy p;
	} good[] = {
		{ "never", SUPERVISE_NEVER },
		{ "on-failure", SUPERVISE_ON_FAILURE },
		{ "always", SUPERVISE_ALWAYS },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		supervise_policy p = _SUPERVISE_POLICY_MAX;
		CHECK_EQ_INT(supervise_policy_from_string(good[i].s, &p), 0);
		CHECK_EQ_INT(p, good[i].p);
		CHECK_EQ_STR(supervise_policy_to_string(p), good[i].s);
	}
	static const char *const bad[] = { "", "on_failure", "Always", "on-failure ", "no" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		supervise_policy p = SUPERVISE_ALWAYS;
		CHECK_EQ_INT(supervise_policy_from_string(bad[i], &p), -EINVAL);
		CHECK_EQ_INT(p, SUPERVISE_ALWAYS);
	}
	CHECK_EQ_INT(supervise_policy_from_string(NULL, NULL), -EINVAL);
	CHECK(supervise_policy_to_string(_SUPERVISE_POLICY_MAX) == NULL);
}

TEST(test_parse_backoff)
{
	static const struct {
		const char *s;
		supervise_backoff_kind kind;
		int64_t initial, max;
	} good[] = {
		{ "exponential:1s:60s", SUPERVISE_BACKOFF_EXPONENTIAL, SEC(1), SEC(60) },
		{ "exponential", SUPERVISE_BACKOFF_EXPONENTIAL, SEC(1), SEC(60) },
		{ "exponential:2m", SUPERVISE_BACKOFF_EXPONENTIAL, SEC(120), SEC(120) },
		{ "exponential:250ms:1m", SUPERVISE_BACKOFF_EXPONENTIAL, MSEC(250), SEC(60) },
		{ "linear:500ms", SUPERVISE_BACKOFF_LINEAR, MSEC(500), SEC(60) },
		{ "linear:1.5:10", SUPERVISE_BACKOFF_LINEAR, MSEC(1500), SEC(10) },
		{ "fixed:5s", SUPERVISE_BACKOFF_FIXED, SEC(5), SEC(5) },
		{ "fixed", SUPERVISE_BACKOFF_FIXED, SEC(1), SEC(1) },
		{ "fixed:0", SUPERVISE_BACKOFF_FIXED, 0, 0 },
		{ "fixed:1s:1h", SUPERVISE_BACKOFF_FIXED, SEC(1), SEC(3600) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		supervise_backoff b;
		supervise_backoff_init(&b);
		b.jitter = 0.25;
		CHECK_EQ_INT(supervise_backoff_from_string(good[i].s, &b), 0);
		CHECK_EQ_INT(b.kind, good[i].kind);
		CHECK_EQ_INT(b.initial_ns, good[i].initial);
		CHECK_EQ_INT(b.max_ns, good[i].max);
		CHECK(b.jitter == 0.25); /* kept */
	}
	static const char *const bad[] = {
		"",
		"expo",
		"Exponential",
		"exponential:",
		":1s",
		"exponential::60s",
		"exponential:1s:",
		"exponential:x",
		"exponential:1s:60q",
		"exponential:10s:5s",
		"exponential:1s:60s:2",
		"exponential:-1s",
		"fixed:5s:1s",
		"exponential:1s:99999999999999999999s",
		"exponential:1234567890123456789012345678901234567890123456789012345678901234567890s",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		supervise_backoff b = { SUPERVISE_BACKOFF_LINEAR, 7, 8, 0.5 };
		if (supervise_backoff_from_string(bad[i], &b) != -EINVAL) {
			fprintf(stderr, "# accepted \"%s\"\n", bad[i]);
			CHECK(0);
		}
		CHECK_EQ_INT(b.kind, SUPERVISE_BACKOFF_LINEAR);
		CHECK_EQ_INT(b.initial_ns, 7);
		CHECK_EQ_INT(b.max_ns, 8);
	}
	CHECK_EQ_INT(supervise_backoff_from_string(NULL, NULL), -EINVAL);
}

TEST(test_names)
{
	for (int i = 0; i < _SUPERVISE_STATE_MAX; i++)
		CHECK(supervise_state_to_string((supervise_state)i));
	for (int i = 0; i < _SUPERVISE_EV_MAX; i++)
		CHECK(supervise_event_to_string((supervise_event)i));
	for (int i = 0; i < _SUPERVISE_EXIT_MAX; i++)
		CHECK(supervise_exit_to_string((supervise_exit)i));
	for (int i = 0; i < _SUPERVISE_DO_MAX; i++)
		CHECK(supervise_do_to_string((supervise_do)i));
	for (int i = 0; i < _SUPERVISE_END_MAX; i++)
		CHECK(supervise_end_to_string((supervise_end)i));
	for (int i = 0; i < _SUPERVISE_BACKOFF_MAX; i++)
		CHECK(supervise_backoff_kind_to_string((supervise_backoff_kind)i));
	for (int i = 0; i < _BREAKER_STATE_MAX; i++)
		CHECK(breaker_state_to_string((breaker_state)i));
	for (int i = 0; i < _BREAKER_EV_MAX; i++)
		CHECK(breaker_event_to_string((breaker_event)i));
	for (int i = 0; i < _BREAKER_VERDICT_MAX; i++)
		CHECK(breaker_verdict_to_string((breaker_verdict)i));
	CHECK_EQ_STR(supervise_state_to_string(SUPERVISE_GAVE_UP), "gave_up");
	CHECK_EQ_STR(supervise_do_to_string(SUPERVISE_DO_START_AT), "start_at");
	CHECK_EQ_STR(breaker_state_to_string(BREAKER_HALF_OPEN), "half_open");
	CHECK(supervise_state_to_string(_SUPERVISE_STATE_MAX) == NULL);
	CHECK(breaker_state_to_string(_BREAKER_STATE_MAX) == NULL);
}

/* ------------------------------------------------------------ the table */

#define ST(x) SUPERVISE_##x
#define SB(x) (1u << SUPERVISE_##x)
#define RULE_TARGETS (SB(PENDING) | SB(BACKOFF) | SB(EXITED) | SB(GAVE_UP))

/* docs/supervision.md's restart table, transcribed: the expected next
 * state and action of every cell; rule: the exit rule (4 variants). */
static const struct cell {
	bool ignored, rule;
	supervise_state to;
	supervise_do what;
} restart_table[_SUPERVISE_STATE_MAX][_SUPERVISE_EV_MAX] = {
#define IGN { .ignored = true }
#define RUL { .rule = true }
#define GO(s, d) { .to = ST(s), .what = SUPERVISE_DO_##d }
	/*              STARTED            READY              EXITED   UNHEALTHY          WATCHDOG           STOP                  BACKOFF_DONE */
	[ST(PENDING)] = { GO(STARTING, NOTHING), IGN, RUL, IGN, IGN, GO(EXITED, REPORT), IGN },
	[ST(STARTING)] = { IGN, GO(READY, NOTHING), RUL, GO(KILLING, KILL), GO(KILLING, KILL), GO(STOPPING, KILL), IGN },
	[ST(READY)] = { IGN, IGN, RUL, GO(KILLING, KILL), GO(KILLING, KILL), GO(STOPPING, KILL), IGN },
	[ST(KILLING)] = { IGN, IGN, RUL, IGN, IGN, GO(STOPPING, NOTHING), IGN },
	[ST(BACKOFF)] = { IGN, IGN, IGN, IGN, IGN, GO(EXITED, REPORT), GO(PENDING, START) },
	[ST(STOPPING)] = { IGN, IGN, GO(EXITED, REPORT), IGN, IGN, IGN, IGN },
	[ST(EXITED)] = { IGN, IGN, IGN, IGN, IGN, IGN, IGN },
	[ST(GAVE_UP)] = { IGN, IGN, IGN, IGN, IGN, IGN, IGN },
#undef IGN
#undef RUL
#undef GO
};

/* An ignored event changes nothing (field by field: padding may differ). */
static void same_status(const supervise_status *a, const supervise_status *b)
{
	CHECK_EQ_INT(a->state, b->state);
	CHECK_EQ_INT(a->ready, b->ready);
	CHECK_EQ_INT(a->running, b->running);
	CHECK_EQ_INT(a->runs, b->runs);
	CHECK_EQ_INT(a->restarts, b->restarts);
	CHECK_EQ_INT(a->attempt, b->attempt);
	CHECK_EQ_INT(a->restarts_in_window, b->restarts_in_window);
	CHECK_EQ_INT(a->started_at, b->started_at);
	CHECK_EQ_INT(a->ready_at, b->ready_at);
	CHECK_EQ_INT(a->uptime_ns, b->uptime_ns);
	CHECK_EQ_INT(a->next_start_at, b->next_start_at);
	CHECK_EQ_INT(a->exited, b->exited);
	CHECK_EQ_INT(a->last_exit.how, b->last_exit.how);
	CHECK_EQ_INT(a->last_exit.status, b->last_exit.status);
	CHECK_EQ_INT(a->last_exit.failure, b->last_exit.failure);
	CHECK_EQ_INT(a->last_exit.at, b->last_exit.at);
	CHECK_EQ_INT(a->last_exit.uptime_ns, b->last_exit.uptime_ns);
	CHECK_EQ_INT(a->end, b->end);
}

/* The exit rule's variants: which config, which outcome. */
enum { V_BACKOFF, V_NOW, V_NEVER, V_GIVE_UP, V_COUNT };

static void variant_config(int v, supervise_config *c)
{
	cfg_base(c);
	c->backoff = (supervise_backoff){ SUPERVISE_BACKOFF_FIXED, SEC(1), SEC(1), 0 };
	c->max_restarts = 1;
	c->restart_window_ns = SEC(1000);
	if (v == V_NOW)
		c->backoff = (supervise_backoff){ SUPERVISE_BACKOFF_FIXED, 0, 0, 0 };
	if (v == V_NEVER)
		c->policy = SUPERVISE_NEVER;
}

/* Drives a new supervisor into `state`. V_GIVE_UP (and GAVE_UP, under
 * any variant) first spends the one restart it has: started, crashed,
 * backed off, back in PENDING. NULL: the state cannot be reached under
 * the variant (BACKOFF needs a restart with a delay: V_BACKOFF only). */
static supervisor *reach(supervise_state state, int v, int64_t *now)
{
	supervise_config c;
	if (state == ST(GAVE_UP))
		v = V_GIVE_UP;
	if (state == ST(BACKOFF) && v != V_BACKOFF)
		return NULL;
	variant_config(v, &c);
	supervisor *s = mk_sup(&c);
	*now = SEC(1);
	if (v == V_GIVE_UP) {
		start(s, *now);
		supervise_action a = exit_code(s, 1, *now);
		CHECK_EQ_INT(a.to, ST(BACKOFF));
		*now = a.at;
		CHECK_EQ_INT(ev(s, SUPERVISE_EV_BACKOFF_DONE, *now).to, ST(PENDING));
	}
	switch (state) {
	case ST(PENDING):
		break;
	case ST(STARTING):
		start(s, *now);
		break;
	case ST(READY):
		start(s, *now);
		ev(s, SUPERVISE_EV_READY, *now);
		break;
	case ST(KILLING):
		start(s, *now);
		ev(s, SUPERVISE_EV_UNHEALTHY, *now);
		break;
	case ST(BACKOFF):
		start(s, *now);
		exit_code(s, 1, *now);
		break;
	case ST(STOPPING):
		start(s, *now);
		ev(s, SUPERVISE_EV_STOP_REQUESTED, *now);
		break;
	case ST(EXITED):
		ev(s, SUPERVISE_EV_STOP_REQUESTED, *now);
		break;
	case ST(GAVE_UP):
		start(s, *now);
		exit_code(s, 1, *now);
		break;
	default:
		CHECK(0);
	}
	CHECK_EQ_INT(supervise_get_state(s), state);
	*now += SEC(2);
	return s;
}

/* Every cell of the restart table, under each variant of the exit rule:
 * the behaviour matches the transcription of the docs, and the code's
 * declared table matches both. */
TEST(test_restart_table_conformance)
{
	unsigned visited[_SUPERVISE_STATE_MAX][_SUPERVISE_EV_MAX] = { { 0 } };

	for (int st = 0; st < _SUPERVISE_STATE_MAX; st++)
		for (int e = 0; e < _SUPERVISE_EV_MAX; e++) {
			const struct cell *x = &restart_table[st][e];
			unsigned declared = x->ignored ? 0 : x->rule ? RULE_TARGETS : 1u << x->to;
			CHECK_EQ_INT(supervise_table_targets((supervise_state)st, (supervise_event)e),
				     declared);

			for (int v = 0; v < V_COUNT; v++) {
				int64_t now;
				supervisor *s = reach((supervise_state)st, v, &now);
				if (!s)
					continue;
				supervise_status before;
				supervise_get_status(s, now, &before);

				supervise_input in = {
					.event = (supervise_event)e,
					.how = SUPERVISE_EXIT_CODE,
					.status = 1,
				};
				supervise_action a;
				CHECK_EQ_INT(supervise_dispatch(s, &in, now, &a), 0);
				CHECK_EQ_INT(a.from, st);
				CHECK_EQ_INT(supervise_get_state(s), a.to);

				if (x->ignored) {
					CHECK(a.ignored);
					CHECK_EQ_INT(a.to, st);
					CHECK_EQ_INT(a.what, SUPERVISE_DO_NOTHING);
					supervise_status after;
					supervise_get_status(s, now, &after);
					same_status(&before, &after);
				} else if (!x->rule) {
					CHECK(!a.ignored);
					CHECK_EQ_INT(a.to, x->to);
					CHECK_EQ_INT(a.what, x->what);
				} else {
					static const struct {
						supervise_state to;
						supervise_do what;
					} rule[V_COUNT] = {
						[V_BACKOFF] = { ST(BACKOFF), SUPERVISE_DO_START_AT },
						[V_NOW] = { ST(PENDING), SUPERVISE_DO_START },
						[V_NEVER] = { ST(EXITED), SUPERVISE_DO_REPORT },
						[V_GIVE_UP] = { ST(GAVE_UP), SUPERVISE_DO_REPORT },
					};
					CHECK(!a.ignored);
					CHECK(a.failure);
					CHECK_EQ_INT(a.to, rule[v].to);
					CHECK_EQ_INT(a.what, rule[v].what);
					if (v == V_BACKOFF)
						CHECK_EQ_INT(a.at, now + SEC(1));
					if (v == V_NOW)
						CHECK_EQ_INT(a.at, now);
				}
				CHECK(supervise_table_targets((supervise_state)st, (supervise_event)e) &
					      (1u << a.to) ||
				      x->ignored);
				visited[st][e]++;
				supervise_free(s);
			}
		}

	for (int st = 0; st < _SUPERVISE_STATE_MAX; st++)
		for (int e = 0; e < _SUPERVISE_EV_MAX; e++)
			CHECK(visited[st][e] > 0);
	/* Every rule cell saw every variant. */
	for (int st = 0; st < _SUPERVISE_STATE_MAX; st++)
		if (restart_table[st][SUPERVISE_EV_EXITED].rule)
			CHECK_EQ_INT(visited[st][SUPERVISE_EV_EXITED], V_COUNT);
}

/* ------------------------------------------------------------ breaker */

typedef struct change {
	char kind[32];
	breaker_state from, to;
	int64_t at;
} change;

static change changes[64];
static unsigned n_changes;

static void on_change(void *userdata, const char *kind, breaker_state from, breaker_state to,
		      int64_t now)
{
	CHECK(userdata == changes);
	if (n_changes++ >= ARRAY_SIZE(changes)) /* counted, not kept */
		return;
	change *c = &changes[n_changes - 1];
	snprintf(c->kind, sizeof(c->kind), "%s", kind);
	c->from = from;
	c->to = to;
	c->at = now;
}

static void expect_change(unsigned i, const char *kind, breaker_state from, breaker_state to,
			  int64_t at)
{
	CHECK(i < n_changes && i < ARRAY_SIZE(changes));
	CHECK_EQ_STR(changes[i].kind, kind);
	CHECK_EQ_INT(changes[i].from, from);
	CHECK_EQ_INT(changes[i].to, to);
	CHECK_EQ_INT(changes[i].at, at);
}

static breaker_set *mk_set(unsigned window, unsigned min_runs, double threshold, int64_t open_ns,
			   unsigned trial_runs)
{
	breaker_config c = { window, min_runs, threshold, open_ns, trial_runs };
	breaker_set *set = NULL;
	n_changes = 0;
	CHECK_EQ_INT(breaker_set_new(&c, on_change, changes, &set), 0);
	CHECK(set);
	return set;
}

static void rec(breaker_set *set, const char *kind, bool ok, uint64_t ticket, int64_t now)
{
	CHECK_EQ_INT(breaker_record(set, kind, ok, ticket, now), 0);
}

TEST(test_breaker_opens_after_threshold)
{
	breaker_set *set = mk_set(10, 5, 0.5, SEC(30), 1);
	breaker_stats st;

	/* Four failures are too few to judge (min_runs 5). */
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_INT(breaker_admit(set, "build", i, NULL), BREAKER_ALLOW);
		rec(set, "build", false, 0, i);
	}
	CHECK_EQ_INT(breaker_get_state(set, "build", 4), BREAKER_CLOSED);
	CHECK_EQ_INT(breaker_get_stats(set, "build", 4, &st), 0);
	CHECK_EQ_INT(st.runs, 4);
	CHECK_EQ_INT(st.failures, 4);
	CHECK_EQ_INT(st.opened_at, -1);
	rec(set, "build", false, 0, SEC(5));
	CHECK_EQ_INT(breaker_get_state(set, "build", SEC(5)), BREAKER_OPEN);
	CHECK_EQ_INT(n_changes, 1);
	expect_change(0, "build", BREAKER_CLOSED, BREAKER_OPEN, SEC(5));
	breaker_set_free(set);

	/* A mixed window: 3 of 7 failed is under 0.5, 4 of 8 is not. */
	set = mk_set(10, 5, 0.5, SEC(30), 1);
	static const bool seq[] = { true, true, true, true, false, false, false };
	for (size_t i = 0; i < ARRAY_SIZE(seq); i++)
		rec(set, "k", seq[i], 0, 0);
	CHECK_EQ_INT(breaker_get_state(set, "k", 0), BREAKER_CLOSED);
	rec(set, "k", false, 0, 1);
	CHECK_EQ_INT(breaker_get_state(set, "k", 1), BREAKER_OPEN);
	breaker_set_free(set);

	/* The window slides: after 10 successes, it takes 5 failures. */
	set = mk_set(10, 5, 0.5, SEC(30), 1);
	for (int i = 0; i < 10; i++)
		rec(set, "k", true, 0, 0);
	for (int i = 0; i < 4; i++)
		rec(set, "k", false, 0, 0);
	CHECK_EQ_INT(breaker_get_stats(set, "k", 0, &st), 0);
	CHECK_EQ_INT(st.runs, 10);
	CHECK_EQ_INT(st.failures, 4);
	CHECK_EQ_INT(st.state, BREAKER_CLOSED);
	rec(set, "k", false, 0, 0);
	CHECK_EQ_INT(breaker_get_state(set, "k", 0), BREAKER_OPEN);
	breaker_set_free(set);

	/* The rule holds after every outcome: once min_runs is reached by
	 * a success, a failure rate already at the threshold opens it. */
	set = mk_set(4, 2, 0.5, SEC(30), 1);
	rec(set, "k", false, 0, 0);
	CHECK_EQ_INT(breaker_get_state(set, "k", 0), BREAKER_CLOSED);
	rec(set, "k", true, 0, 0);
	CHECK_EQ_INT(breaker_get_state(set, "k", 0), BREAKER_OPEN);
	breaker_set_free(set);
}

TEST(test_breaker_fails_fast_then_half_opens)
{
	breaker_set *set = mk_set(4, 2, 0.5, SEC(30), 1);
	breaker_result r;
	breaker_stats st;

	rec(set, "k", false, 0, SEC(1));
	rec(set, "k", false, 0, SEC(2)); /* opens at 2 s */
	for (int64_t t = SEC(2); t < SEC(32); t += SEC(3)) {
		CHECK_EQ_INT(breaker_admit(set, "k", t, &r), BREAKER_REJECT);
		CHECK_EQ_INT(r.retry_at, SEC(32));
		CHECK_EQ_INT(r.ticket, 0);
	}
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(32) - 1, &r), BREAKER_REJECT);
	/* Late outcomes of runs admitted before change nothing. */
	rec(set, "k", true, 0, SEC(20));
	rec(set, "k", true, 0, SEC(20));
	CHECK_EQ_INT(breaker_get_stats(set, "k", SEC(20), &st), 0);
	CHECK_EQ_INT(st.state, BREAKER_OPEN);
	CHECK_EQ_INT(st.half_open_at, SEC(32));
	CHECK_EQ_INT(st.rejected, 11);
	CHECK_EQ_INT(st.opens, 1);

	/* At open_ns: HALF_OPEN at the first look, one trial admitted. */
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(32), &r), BREAKER_ALLOW_TRIAL);
	CHECK_EQ_INT(r.from, BREAKER_HALF_OPEN);
	CHECK_EQ_INT(r.ticket, 1);
	expect_change(1, "k", BREAKER_OPEN, BREAKER_HALF_OPEN, SEC(32));
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(33), &r), BREAKER_REJECT);
	CHECK_EQ_INT(r.retry_at, INT64_MAX);
	/* Non-trial outcomes are ignored while half-open. */
	rec(set, "k", false, 0, SEC(34));
	CHECK_EQ_INT(breaker_get_state(set, "k", SEC(34)), BREAKER_HALF_OPEN);
	breaker_set_free(set);
}

TEST(test_breaker_closes_after_trials)
{
	breaker_set *set = mk_set(4, 2, 0.5, SEC(10), 3);
	breaker_result r;
	breaker_stats st;
	uint64_t t[3];

	rec(set, "k", false, 0, 0);
	rec(set, "k", false, 0, 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(breaker_admit(set, "k", SEC(10), &r), BREAKER_ALLOW_TRIAL);
		t[i] = r.ticket;
		CHECK_EQ_INT(t[i], 1);
	}
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(10), NULL), BREAKER_REJECT);
	rec(set, "k", true, t[0], SEC(11));
	rec(set, "k", true, t[1], SEC(12));
	CHECK_EQ_INT(breaker_get_stats(set, "k", SEC(12), &st), 0);
	CHECK_EQ_INT(st.state, BREAKER_HALF_OPEN);
	CHECK_EQ_INT(st.trials_ok, 2);
	CHECK_EQ_INT(st.trials_out, 1);
	rec(set, "k", true, t[2], SEC(13));
	CHECK_EQ_INT(breaker_get_stats(set, "k", SEC(13), &st), 0);
	CHECK_EQ_INT(st.state, BREAKER_CLOSED);
	CHECK_EQ_INT(st.runs, 0); /* the window starts afresh */
	CHECK_EQ_INT(st.failures, 0);
	CHECK_EQ_INT(n_changes, 3);
	expect_change(2, "k", BREAKER_HALF_OPEN, BREAKER_CLOSED, SEC(13));
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(13), &r), BREAKER_ALLOW);
	CHECK_EQ_INT(r.ticket, 0);
	/* A single failure after closing does not reopen (min_runs 2). */
	rec(set, "k", false, 0, SEC(14));
	CHECK_EQ_INT(breaker_get_state(set, "k", SEC(14)), BREAKER_CLOSED);
	breaker_set_free(set);
}

TEST(test_breaker_reopens_on_failed_trial)
{
	breaker_set *set = mk_set(4, 2, 0.5, SEC(10), 2);
	breaker_result r;
	breaker_stats st;

	rec(set, "k", false, 0, 0);
	rec(set, "k", false, 0, 0);
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(10), &r), BREAKER_ALLOW_TRIAL);
	uint64_t a = r.ticket;
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(10), &r), BREAKER_ALLOW_TRIAL);
	uint64_t b = r.ticket;
	rec(set, "k", true, a, SEC(11));
	rec(set, "k", false, b, SEC(15)); /* reopens; the timer restarts */
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(15), &r), BREAKER_REJECT);
	CHECK_EQ_INT(r.retry_at, SEC(25));
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(25) - 1, NULL), BREAKER_REJECT);
	CHECK_EQ_INT(breaker_get_stats(set, "k", SEC(20), &st), 0);
	CHECK_EQ_INT(st.opens, 2);
	CHECK_EQ_INT(st.opened_at, SEC(15));
	expect_change(2, "k", BREAKER_HALF_OPEN, BREAKER_OPEN, SEC(15));

	/* The second round: a stale ticket of round 1 decides nothing. */
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(25), &r), BREAKER_ALLOW_TRIAL);
	CHECK_EQ_INT(r.ticket, 2);
	uint64_t c = r.ticket;
	breaker_result d;
	CHECK_EQ_INT(breaker_dispatch(set, "k", BREAKER_EV_TRIAL_SUCCESS, a, SEC(26), &d), 0);
	CHECK(d.ignored);
	CHECK_EQ_INT(breaker_dispatch(set, "k", BREAKER_EV_TRIAL_FAILURE, b, SEC(26), &d), 0);
	CHECK(d.ignored);
	CHECK_EQ_INT(breaker_get_state(set, "k", SEC(26)), BREAKER_HALF_OPEN);
	CHECK_EQ_INT(breaker_get_stats(set, "k", SEC(26), &st), 0);
	CHECK_EQ_INT(st.trials_ok, 0);
	CHECK_EQ_INT(st.round, 2);

	/* A released trial gives its slot back. */
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(26), &r), BREAKER_ALLOW_TRIAL);
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(26), &r), BREAKER_REJECT);
	breaker_release(set, "k", c, SEC(27));
	CHECK_EQ_INT(breaker_admit(set, "k", SEC(27), &r), BREAKER_ALLOW_TRIAL);
	rec(set, "k", true, r.ticket, SEC(28));
	rec(set, "k", true, r.ticket, SEC(28));
	CHECK_EQ_INT(breaker_get_state(set, "k", SEC(28)), BREAKER_CLOSED);
	breaker_set_free(set);
}

TEST(test_breaker_per_kind)
{
	breaker_set *set = mk_set(4, 2, 0.5, SEC(10), 1);

	/* Admitting unknown kinds allocates nothing. */
	for (int i = 0; i < 100; i++)
		CHECK_EQ_INT(breaker_admit(set, "new", 0, NULL), BREAKER_ALLOW);
	CHECK_EQ_INT(breaker_get_state(set, "new", 0), BREAKER_CLOSED);
	breaker_stats st;
	CHECK_EQ_INT(breaker_get_stats(set, "new", 0, &st), -ENOENT);
	CHECK_EQ_INT(breaker_set_size(set), 0);

	rec(set, "fetch", false, 0, 0);
	rec(set, "fetch", false, 0, 0);
	rec(set, "build", true, 0, 0);
	rec(set, "build", true, 0, 0);
	rec(set, "build", false, 0, 0); /* 1 of 3 */
	rec(set, NULL, true, 0, 0);
	CHECK_EQ_INT(breaker_admit(set, "fetch", 1, NULL), BREAKER_REJECT);
	CHECK_EQ_INT(breaker_admit(set, "build", 1, NULL), BREAKER_ALLOW);
	CHECK_EQ_INT(breaker_admit(set, "fetc", 1, NULL), BREAKER_ALLOW);
	CHECK_EQ_INT(breaker_admit(set, NULL, 1, NULL), BREAKER_ALLOW);
	CHECK_EQ_INT(breaker_get_stats(set, "default", 1, &st), 0);
	CHECK_EQ_INT(st.runs, 1);
	CHECK_EQ_INT(breaker_set_size(set), 3);

	/* Many kinds (the table grows): each keeps its own state. */
	char kind[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(kind, sizeof(kind), "kind-%d", i);
		rec(set, kind, i % 3 != 0, 0, 0);
		rec(set, kind, i % 3 != 0, 0, 0);
	}
	CHECK_EQ_INT(breaker_set_size(set), 1003);
	CHECK_EQ_INT(n_changes, 1 + 334); /* "fetch" and every third kind opened */
	for (int i = 0; i < 1000; i++) {
		snprintf(kind, sizeof(kind), "kind-%d", i);
		CHECK_EQ_INT(breaker_admit(set, kind, 1, NULL),
			     i % 3 == 0 ? BREAKER_REJECT : BREAKER_ALLOW);
	}
	CHECK_EQ_INT(breaker_admit(set, "fetch", 1, NULL), BREAKER_REJECT);
	breaker_set_free(set);
	breaker_set_free(NULL);
}

TEST(test_breaker_configure)
{
	breaker_set *set = mk_set(4, 2, 0.5, SEC(10), 1);
	breaker_config off = { 0 }, strict;
	breaker_config_init(&strict);
	strict.window = 2;
	strict.min_runs = 1;
	strict.threshold = 1.0;

	/* A kind of its own, off: never opens. */
	CHECK_EQ_INT(breaker_configure(set, "flaky", &off, 0), 0);
	for (int i = 0; i < 10; i++)
		rec(set, "flaky", false, 0, 0);
	CHECK_EQ_INT(breaker_admit(set, "flaky", 0, NULL), BREAKER_ALLOW);
	breaker_stats st;
	CHECK_EQ_INT(breaker_get_stats(set, "flaky", 0, &st), 0);
	CHECK(!st.enabled);
	CHECK_EQ_INT(st.runs, 0);

	/* An open breaker given a config starts afresh, CLOSED. */
	rec(set, "k", false, 0, 0);
	rec(set, "k", false, 0, 0);
	CHECK_EQ_INT(breaker_get_state(set, "k", 0), BREAKER_OPEN);
	CHECK_EQ_INT(breaker_configure(set, "k", &strict, SEC(1)), 0);
	CHECK_EQ_INT(breaker_get_state(set, "k", SEC(1)), BREAKER_CLOSED);
	expect_change(1, "k", BREAKER_OPEN, BREAKER_CLOSED, SEC(1));
	rec(set, "k", false, 0, SEC(1)); /* strict: one failure opens */
	CHECK_EQ_INT(breaker_get_state(set, "k", SEC(1)), BREAKER_OPEN);
	CHECK_EQ_INT(breaker_get_stats(set, "k", SEC(1), &st), 0);
	CHECK_EQ_INT(st.half_open_at, SEC(31));

	/* The default: applies to kinds without their own and to new ones. */
	rec(set, "d", true, 0, 0);
	CHECK_EQ_INT(breaker_configure(set, NULL, &off, SEC(2)), 0);
	for (int i = 0; i < 5; i++) {
		rec(set, "d", false, 0, SEC(2));
		rec(set, "fresh", false, 0, SEC(2));
	}
	CHECK_EQ_INT(breaker_admit(set, "d", SEC(2), NULL), BREAKER_ALLOW);
	CHECK_EQ_INT(breaker_admit(set, "fresh", SEC(2), NULL), BREAKER_ALLOW);
	CHECK_EQ_INT(breaker_get_state(set, "k", SEC(2)), BREAKER_OPEN); /* its own */
	breaker_config on;
	breaker_config_init(&on);
	on.window = 3;
	on.min_runs = 3;
	CHECK_EQ_INT(breaker_configure(set, NULL, &on, SEC(3)), 0);
	for (int i = 0; i < 3; i++)
		rec(set, "fresh", false, 0, SEC(3));
	CHECK_EQ_INT(breaker_admit(set, "fresh", SEC(3), NULL), BREAKER_REJECT);
	CHECK_EQ_INT(breaker_admit(set, "flaky", SEC(3), NULL), BREAKER_ALLOW);

	/* Bad configs change nothing. */
	breaker_config bad;
#define BAD(stmt)                                                             \
	do {                                                                  \
		breaker_config_init(&bad);                                    \
		stmt;                                                         \
		CHECK_EQ_INT(breaker_config_check(&bad), -EINVAL);            \
		CHECK_EQ_INT(breaker_configure(set, "k", &bad, SEC(3)), -EINVAL); \
		CHECK_EQ_INT(breaker_configure(set, NULL, &bad, SEC(3)), -EINVAL); \
	} while (0)
	BAD(bad.min_runs = 0);
	BAD(bad.min_runs = bad.window + 1);
	BAD(bad.threshold = 0);
	BAD(bad.threshold = 1.01);
	BAD(bad.threshold = NAN);
	BAD(bad.open_ns = -1);
	BAD(bad.trial_runs = 0);
#undef BAD
	CHECK_EQ_INT(breaker_get_state(set, "k", SEC(3)), BREAKER_OPEN);
	breaker_set *x = (breaker_set *)&bad;
	breaker_config_init(&bad);
	bad.threshold = 2;
	CHECK_EQ_INT(breaker_set_new(&bad, NULL, NULL, &x), -EINVAL);
	CHECK(x == (breaker_set *)&bad);
	CHECK_EQ_INT(breaker_dispatch(set, "k", _BREAKER_EV_MAX, 0, 0, NULL), -EINVAL);
	breaker_set_free(set);

	/* The defaults. */
	CHECK_EQ_INT(breaker_set_new(NULL, NULL, NULL, &set), 0);
	for (int i = 0; i < 9; i++)
		rec(set, "k", false, 0, 0);
	CHECK_EQ_INT(breaker_get_state(set, "k", 0), BREAKER_CLOSED);
	rec(set, "k", false, 0, 0);
	CHECK_EQ_INT(breaker_get_state(set, "k", 0), BREAKER_OPEN);
	CHECK_EQ_INT(breaker_get_state(set, "k", SEC(30)), BREAKER_HALF_OPEN);
	breaker_set_free(set);
}

#define BS(x) BREAKER_##x
#define BB(x) (1u << BREAKER_##x)

static void same_bstats(const breaker_stats *a, const breaker_stats *b)
{
	CHECK_EQ_INT(a->state, b->state);
	CHECK_EQ_INT(a->enabled, b->enabled);
	CHECK_EQ_INT(a->runs, b->runs);
	CHECK_EQ_INT(a->failures, b->failures);
	CHECK_EQ_INT(a->opened_at, b->opened_at);
	CHECK_EQ_INT(a->half_open_at, b->half_open_at);
	CHECK_EQ_INT(a->round, b->round);
	CHECK_EQ_INT(a->trials_out, b->trials_out);
	CHECK_EQ_INT(a->trials_ok, b->trials_ok);
	CHECK_EQ_INT(a->opens, b->opens);
	CHECK_EQ_INT(a->rejected, b->rejected);
}

/* docs/supervision.md's breaker table, transcribed. Each cell lists its
 * variants: the setup (see breaker_reach), the event's ticket, and what
 * must come out. */
enum { B_PLAIN, B_ALT, B_VARIANTS };

static const struct bcell {
	unsigned targets; /* declared; 0: ignored */
	struct {
		bool used, ignored;
		breaker_state to;
		breaker_verdict verdict; /* ADMIT */
	} v[B_VARIANTS];
} breaker_table[_BREAKER_STATE_MAX][_BREAKER_EV_MAX] = {
#define IGN { .used = true, .ignored = true }
#define TO(s) { .used = true, .to = BS(s) }
#define ADM(s, verd) { .used = true, .to = BS(s), .verdict = BREAKER_##verd }
	[BS(CLOSED)] = {
		[BREAKER_EV_ADMIT] = { BB(CLOSED), { ADM(CLOSED, ALLOW) } },
		/* plain: the window stays under the rule; alt: it passes it */
		[BREAKER_EV_SUCCESS] = { BB(CLOSED) | BB(OPEN), { TO(CLOSED), TO(OPEN) } },
		[BREAKER_EV_FAILURE] = { BB(CLOSED) | BB(OPEN), { TO(CLOSED), TO(OPEN) } },
		[BREAKER_EV_TRIAL_SUCCESS] = { 0, { IGN } },
		[BREAKER_EV_TRIAL_FAILURE] = { 0, { IGN } },
		[BREAKER_EV_TRIAL_RELEASED] = { 0, { IGN } },
		[BREAKER_EV_TICK] = { 0, { IGN } },
	},
	[BS(OPEN)] = {
		[BREAKER_EV_ADMIT] = { BB(OPEN), { ADM(OPEN, REJECT) } },
		[BREAKER_EV_SUCCESS] = { 0, { IGN } },
		[BREAKER_EV_FAILURE] = { 0, { IGN } },
		[BREAKER_EV_TRIAL_SUCCESS] = { 0, { IGN } },
		[BREAKER_EV_TRIAL_FAILURE] = { 0, { IGN } },
		[BREAKER_EV_TRIAL_RELEASED] = { 0, { IGN } },
		/* plain: before open_ns (nothing happens); alt: at it */
		[BREAKER_EV_TICK] = { BB(OPEN) | BB(HALF_OPEN), { IGN, TO(HALF_OPEN) } },
	},
	[BS(HALF_OPEN)] = {
		/* plain: a trial slot is free; alt: all taken */
		[BREAKER_EV_ADMIT] = { BB(HALF_OPEN), { ADM(HALF_OPEN, ALLOW_TRIAL), ADM(HALF_OPEN, REJECT) } },
		[BREAKER_EV_SUCCESS] = { 0, { IGN } },
		[BREAKER_EV_FAILURE] = { 0, { IGN } },
		/* plain: this round's trial (the first of two); alt: stale */
		[BREAKER_EV_TRIAL_SUCCESS] = { BB(HALF_OPEN) | BB(CLOSED), { TO(HALF_OPEN), IGN } },
		[BREAKER_EV_TRIAL_FAILURE] = { BB(HALF_OPEN) | BB(OPEN), { TO(OPEN), IGN } },
		[BREAKER_EV_TRIAL_RELEASED] = { BB(HALF_OPEN), { TO(HALF_OPEN), IGN } },
		[BREAKER_EV_TICK] = { 0, { IGN } },
	},
#undef IGN
#undef TO
#undef ADM
};

/* window 4, min_runs 2, threshold 0.5, open 10 s, trial_runs 2; kind "k"
 * in `state`. CLOSED plain: one success (a failure next makes 1 of 2:
 * opens, so plain FAILURE needs two successes first); CLOSED alt: one
 * failure. OPEN: opened at 0. HALF_OPEN: at 10 s, one trial admitted
 * (ticket 1), two for ADMIT alt. Returns the time to dispatch at. */
static int64_t breaker_reach(breaker_set *set, breaker_state state, breaker_event e, int alt)
{
	switch (state) {
	case BS(CLOSED):
		if (alt) {
			rec(set, "k", false, 0, 0);
		} else {
			rec(set, "k", true, 0, 0);
			if (e == BREAKER_EV_FAILURE)
				rec(set, "k", true, 0, 0);
		}
		return SEC(1);
	case BS(OPEN):
		rec(set, "k", false, 0, 0);
		rec(set, "k", false, 0, 0);
		return alt ? SEC(10) : SEC(1);
	case BS(HALF_OPEN):
		rec(set, "k", false, 0, 0);
		rec(set, "k", false, 0, 0);
		CHECK_EQ_INT(breaker_admit(set, "k", SEC(10), NULL), BREAKER_ALLOW_TRIAL);
		if (alt && e == BREAKER_EV_ADMIT)
			CHECK_EQ_INT(breaker_admit(set, "k", SEC(10), NULL), BREAKER_ALLOW_TRIAL);
		return SEC(11);
	default:
		CHECK(0);
		return 0;
	}
}

TEST(test_breaker_table_conformance)
{
	unsigned visited[_BREAKER_STATE_MAX][_BREAKER_EV_MAX] = { { 0 } };

	for (int st = 0; st < _BREAKER_STATE_MAX; st++)
		for (int e = 0; e < _BREAKER_EV_MAX; e++) {
			const struct bcell *x = &breaker_table[st][e];
			CHECK_EQ_INT(breaker_table_targets((breaker_state)st, (breaker_event)e),
				     x->targets);
			for (int v = 0; v < B_VARIANTS; v++) {
				if (!x->v[v].used)
					continue;
				breaker_set *set = mk_set(4, 2, 0.5, SEC(10), 2);
				int64_t now = breaker_reach(set, (breaker_state)st, (breaker_event)e, v);
				/* OPEN's TICK before its time is the plain case;
				 * every other event comes while the state holds. */
				breaker_stats before;
				CHECK_EQ_INT(breaker_get_stats(set, "k", v && st == BS(OPEN) ? SEC(1) : now,
							       &before), 0);
				CHECK_EQ_INT(before.state, st);
				/* Trials of this round carry ticket 1; stale
				 * ones (alt, and in CLOSED/OPEN) a round that
				 * never was. */
				uint64_t ticket = st == BS(HALF_OPEN) && !v ? 1 : 7;
				breaker_result r;
				unsigned changes_before = n_changes;
				CHECK_EQ_INT(breaker_dispatch(set, "k", (breaker_event)e, ticket, now, &r), 0);
				if (st == BS(OPEN) && e == BREAKER_EV_TICK) {
					/* TICK is its own tick: from is still OPEN. */
					CHECK_EQ_INT(r.from, BS(OPEN));
				} else {
					CHECK_EQ_INT(r.from, st);
				}
				CHECK_EQ_INT(r.ignored, x->v[v].ignored);
				CHECK_EQ_INT(r.to, x->v[v].ignored ? (breaker_state)st : x->v[v].to);
				if (e == BREAKER_EV_ADMIT)
					CHECK_EQ_INT(r.verdict, x->v[v].verdict);
				if (!x->v[v].ignored)
					CHECK(x->targets & (1u << r.to));
				/* A change, and only a change, is announced. */
				CHECK_EQ_INT(n_changes - changes_before, r.to != r.from);
				breaker_stats after;
				CHECK_EQ_INT(breaker_get_stats(set, "k", now, &after), 0);
				CHECK_EQ_INT(after.state, r.to);
				if (x->v[v].ignored)
					same_bstats(&before, &after);
				visited[st][e]++;
				breaker_set_free(set);
			}
		}
	for (int st = 0; st < _BREAKER_STATE_MAX; st++)
		for (int e = 0; e < _BREAKER_EV_MAX; e++)
			CHECK(visited[st][e] > 0);
}
