/* SPDX-License-Identifier: MIT */
/*
 * Supervision through the runtime: restarts with their counts and ends,
 * and a kind's circuit breaker that opens, turns new tasks away, half-opens
 * and closes (art_runtime_set_breaker). The decision tables themselves are
 * tested in test_supervise.c on simulated time.
 */
#include <agentrt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

typedef struct rec {
	int ended;
	art_result res;
} rec;

static void on_exit_cb(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)rt;
	(void)ud;
	rec *r = art_task_userdata(task);
	r->res = *res;
	r->ended++;
}

static art_runtime *new_rt(void)
{
	art_runtime_config cfg = { .max_running = 1, .on_exit = on_exit_cb };
	art_runtime *rt = NULL;
	art_error err = { 0 };
	CHECK_EQ_INT(art_runtime_new(&cfg, &rt, &err), 0);
	return rt;
}

/* Runs one task of `kind` to its end: exit code `code`. */
static art_result run_one(art_runtime *rt, const char *kind, int code)
{
	char script[32];
	snprintf(script, sizeof(script), "exit %d", code);
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	CHECK_EQ_INT(art_spec_set_kind(s, kind), 0);
	rec r = { 0 };
	art_error err = { 0 };
	CHECK_EQ_INT(art_runtime_submit(rt, s, &r, NULL, &err), 0);
	art_spec_free(s);
	for (int i = 0; i < 5000 && !r.ended; i++)
		art_runtime_step(rt, 10);
	CHECK_EQ_INT(r.ended, 1);
	return r.res;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

TEST(breaker_opens_fails_fast_half_opens_and_closes)
{
	art_runtime *rt = new_rt();
	/* 4 runs, all counted, half failing opens it; 300 ms open; 1 trial. */
	CHECK_EQ_INT(art_runtime_set_breaker(rt, "fetch", 4, 4, 0.5, 300 * 1000000LL, 1), 0);
	CHECK_EQ_INT(run_one(rt, "fetch", 0).end, ART_END_EXITED);
	CHECK_EQ_INT(run_one(rt, "fetch", 1).exit_code, 1);
	CHECK_EQ_INT(run_one(rt, "fetch", 0).end, ART_END_EXITED);
	/* Another kind is not affected by any of this. */
	CHECK_EQ_INT(run_one(rt, "other", 1).end, ART_END_EXITED);
	CHECK_EQ_INT(run_one(rt, "fetch", 1).exit_code, 1); /* 2 of 4 failed: opens */

	art_result r = run_one(rt, "fetch", 0);
	CHECK_EQ_INT(r.end, ART_END_CIRCUIT_OPEN);
	CHECK_EQ_INT(r.attempts, 0);
	CHECK_EQ_INT(art_result_exit_status(&r), 125);
	CHECK_EQ_INT(run_one(rt, "other", 0).end, ART_END_EXITED);

	sleep_ms(350);
	/* Half-open: the trial fails, it opens again. */
	CHECK_EQ_INT(run_one(rt, "fetch", 1).exit_code, 1);
	CHECK_EQ_INT(run_one(rt, "fetch", 0).end, ART_END_CIRCUIT_OPEN);
	sleep_ms(350);
	/* The trial succeeds: closed, and tasks run again. */
	CHECK_EQ_INT(run_one(rt, "fetch", 0).end, ART_END_EXITED);
	CHECK_EQ_INT(run_one(rt, "fetch", 0).end, ART_END_EXITED);
	CHECK_EQ_INT(run_one(rt, "fetch", 1).exit_code, 1);

	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.circuit_open, 2);
	char *text = NULL;
	size_t len = 0;
	CHECK_EQ_INT(art_runtime_metrics(rt, ART_METRICS_PROMETHEUS, &text, &len), 0);
	CHECK(strstr(text, "agentrt_tasks_ended_total{reason=\"circuit_open\"} 2\n"));
	CHECK(strstr(text, "agentrt_breaker_state{kind=\"fetch\"} 0\n")); /* closed again */
	free(text);
	art_runtime_free(rt);
}

TEST(no_breaker_unless_set)
{
	art_runtime *rt = new_rt();
	for (int i = 0; i < 12; i++)
		CHECK_EQ_INT(run_one(rt, "fetch", 1).end, ART_END_EXITED);
	art_runtime_free(rt);
}

TEST(breaker_arguments_are_checked)
{
	art_runtime *rt = new_rt();
	CHECK_EQ_INT(art_runtime_set_breaker(rt, "k", 4, 5, 0.5, 0, 1), -EINVAL); /* min_runs > window */
	CHECK_EQ_INT(art_runtime_set_breaker(rt, "k", 4, 2, 1.5, 0, 1), -EINVAL);
	CHECK_EQ_INT(art_runtime_set_breaker(rt, "", 4, 2, 0.5, 0, 1), -EINVAL);
	CHECK_EQ_INT(art_runtime_set_breaker(rt, NULL, 4, 2, 0.5, 0, 1), 0);
	art_runtime_free(rt);
}

/* A restart policy's counts, and the end when it gives up. */
TEST(restarts_then_gave_up)
{
	art_runtime *rt = new_rt();
	const char *argv[] = { "/bin/sh", "-c", "exit 4", NULL };
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	CHECK_EQ_INT(art_spec_set_restart(s, "on-failure", 2, 60 * 1000000000LL), 0);
	CHECK_EQ_INT(art_spec_set_backoff(s, "fixed:50ms", 0), 0);
	CHECK_EQ_INT(art_spec_set_restart(s, "sometimes", 2, 0), -EINVAL);
	CHECK_EQ_INT(art_spec_set_backoff(s, "quadratic", 0), -EINVAL);
	rec r = { 0 };
	art_error err = { 0 };
	CHECK_EQ_INT(art_runtime_submit(rt, s, &r, NULL, &err), 0);
	art_spec_free(s);
	for (int i = 0; i < 5000 && !r.ended; i++)
		art_runtime_step(rt, 10);
	CHECK_EQ_INT(r.ended, 1);
	CHECK_EQ_INT(r.res.end, ART_END_GAVE_UP);
	CHECK_EQ_INT(r.res.restarts, 2);
	CHECK_EQ_INT(r.res.attempts, 3);
	CHECK_EQ_INT(r.res.exit_code, 4);
	CHECK_EQ_INT(art_result_exit_status(&r.res), 4);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.restarts, 2);
	CHECK_EQ_INT(st.ended, 1);
	char *text = NULL;
	size_t len = 0;
	CHECK_EQ_INT(art_runtime_metrics(rt, ART_METRICS_PROMETHEUS, &text, &len), 0);
	CHECK(strstr(text, "agentrt_task_restarts_total 2\n"));
	CHECK(strstr(text, "agentrt_tasks_ended_total{reason=\"gave_up\"} 1\n"));
	free(text);
	art_runtime_free(rt);
}
