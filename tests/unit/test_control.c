/* SPDX-License-Identifier: MIT */
/*
 * Pausing, resuming and reading a running task's statistics from another
 * thread than the loop's (art_task_pause, art_task_resume,
 * art_task_stats_get): the loop runs on its own thread here, as it does in
 * a Python host.
 */
#include <agentrt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop_thread.h"
#include "tap.h"

static art_task *spawn_sh(loop_thread *lt, const char *script, int64_t timeout_ns)
{
	art_spec *s = NULL;
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	if (timeout_ns)
		CHECK_EQ_INT(art_spec_set_timeout(s, timeout_ns), 0);
	art_task *t = NULL;
	art_error err = { 0 };
	CHECK_EQ_INT(art_runtime_submit(lt->rt, s, NULL, &t, &err), 0);
	art_spec_free(s);
	return t;
}

static art_task_stats stats_of(art_task *t)
{
	art_task_stats st;
	CHECK_EQ_INT(art_task_stats_get(t, &st), 0);
	return st;
}

static void wait_running(art_task *t)
{
	for (int i = 0; i < 500 && stats_of(t).state != ART_TASK_RUNNING; i++)
		sleep_ms(10);
	CHECK_EQ_INT(stats_of(t).state, ART_TASK_RUNNING);
}

/* A busy task uses no CPU while paused and goes on once resumed. */
TEST(pause_stops_cpu_use_and_resume_continues)
{
	loop_thread lt;
	start_loop(&lt);
	art_task *t = spawn_sh(&lt, "while :; do :; done", 0);
	wait_running(t);
	sleep_ms(200);
	art_task_stats before = stats_of(t);
	CHECK(before.pid > 0);
	CHECK(before.procs >= 1);
	CHECK(before.cpu_ns > 50 * 1000000LL);
	CHECK(before.uptime_ns >= 200 * 1000000LL);

	CHECK_EQ_INT(art_task_pause(t), 0);
	sleep_ms(100);
	art_task_stats p1 = stats_of(t);
	sleep_ms(400);
	art_task_stats p2 = stats_of(t);
	CHECK_EQ_INT(p2.paused, 1);
	CHECK_EQ_INT(p2.state, ART_TASK_RUNNING);
	fprintf(stderr, "# paused: cpu %lld -> %lld ns over 400 ms\n", (long long)p1.cpu_ns,
		(long long)p2.cpu_ns);
	CHECK(p2.cpu_ns - p1.cpu_ns < 10 * 1000000LL);
	CHECK(p2.stopped_ns >= 450 * 1000000LL);

	CHECK_EQ_INT(art_task_resume(t), 0);
	sleep_ms(400);
	art_task_stats r = stats_of(t);
	CHECK_EQ_INT(r.paused, 0);
	fprintf(stderr, "# resumed: cpu %lld -> %lld ns over 400 ms\n", (long long)p2.cpu_ns,
		(long long)r.cpu_ns);
	CHECK(r.cpu_ns - p2.cpu_ns > 100 * 1000000LL);

	art_task_cancel(t);
	wait_ended(&lt, 1);
	CHECK_EQ_INT(lt.res.end, ART_END_CANCELLED);
	CHECK(lt.res.frozen_ns >= 450 * 1000000LL && lt.res.frozen_ns < 2000 * 1000000LL);
	art_task_unref(t);
	stop_loop(&lt);
}

/* The timeout does not run while the task is paused. */
TEST(paused_time_does_not_count_toward_the_timeout)
{
	loop_thread lt;
	start_loop(&lt);
	art_task *t = spawn_sh(&lt, "sleep 0.5", 700 * 1000000LL);
	wait_running(t);
	CHECK_EQ_INT(art_task_pause(t), 0);
	sleep_ms(800);
	CHECK_EQ_INT(stats_of(t).state, ART_TASK_RUNNING);
	CHECK_EQ_INT(art_task_resume(t), 0);
	wait_ended(&lt, 1);
	CHECK_EQ_INT(lt.res.end, ART_END_EXITED);
	CHECK_EQ_INT(lt.res.exit_code, 0);
	/* Paused 800 ms, longer than the 700 ms timeout: it would have
	 * fired. (sleep's own deadline passed while it was stopped: the
	 * kernel's clock does not stop, so it ends as soon as it runs.) */
	fprintf(stderr, "# end %d wall %lld frozen %lld\n", lt.res.end, (long long)lt.res.wall_ns,
		(long long)lt.res.frozen_ns);
	CHECK(lt.res.wall_ns > 700 * 1000000LL); /* past the timeout, yet it exited */
	CHECK(lt.res.frozen_ns >= 750 * 1000000LL);
	art_task_unref(t);
	stop_loop(&lt);
}

/* A paused task that is cancelled is resumed first, so that it can act
 * on SIGTERM, and ends promptly. */
TEST(cancel_of_a_paused_task)
{
	loop_thread lt;
	start_loop(&lt);
	art_task *t = spawn_sh(&lt, "trap 'exit 3' TERM; while :; do sleep 0.05; done", 0);
	wait_running(t);
	CHECK_EQ_INT(art_task_pause(t), 0);
	sleep_ms(100);
	art_task_cancel(t);
	wait_ended(&lt, 1);
	CHECK_EQ_INT(lt.res.end, ART_END_CANCELLED);
	CHECK(lt.res.wall_ns < 3000 * 1000000LL);
	art_task_unref(t);
	stop_loop(&lt);
}

/* Statistics of a task that has not started and of one that has ended. */
TEST(stats_outside_running)
{
	loop_thread lt;
	start_loop(&lt);
	art_runtime_set_max_running(lt.rt, 1);
	art_task *a = spawn_sh(&lt, "sleep 0.3", 0);
	art_task *b = spawn_sh(&lt, "true", 0);
	wait_running(a);
	art_task_stats sb = stats_of(b);
	CHECK_EQ_INT(sb.state, ART_TASK_QUEUED);
	CHECK_EQ_INT(sb.pid, 0);
	CHECK_EQ_INT(sb.attempts, 0);
	CHECK(sb.uptime_ns == 0 && sb.cpu_ns == 0);
	CHECK_EQ_INT(art_task_pause(b), 0); /* no effect on a queued task */
	wait_ended(&lt, 2);
	art_task_stats sa = stats_of(a);
	CHECK_EQ_INT(sa.state, ART_TASK_DONE);
	CHECK_EQ_INT(sa.attempts, 1);
	CHECK_EQ_INT(lt.res.end, ART_END_EXITED);
	art_task_unref(a);
	art_task_unref(b);
	stop_loop(&lt);
}
