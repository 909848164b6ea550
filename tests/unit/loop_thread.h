/* SPDX-License-Identifier: MIT */
/*
 * A runtime whose loop runs on a thread of its own, as in a Python host,
 * for the tests of the [any thread] calls. Each task's end is counted and
 * its result kept (the last one) for the test thread to wait on.
 */
#ifndef ART_TEST_LOOP_THREAD_H
#define ART_TEST_LOOP_THREAD_H

#include <agentrt.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "tap.h"

typedef struct loop_thread {
	art_runtime *rt;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	art_result res;
	int ended;
} loop_thread;

static inline void loop_thread_on_exit(art_runtime *rt, art_task *task, const art_result *res,
				       void *ud)
{
	(void)rt;
	(void)task;
	loop_thread *lt = ud;
	pthread_mutex_lock(&lt->mu);
	lt->res = *res;
	lt->ended++;
	pthread_cond_broadcast(&lt->cond);
	pthread_mutex_unlock(&lt->mu);
}

static inline void *loop_thread_drive(void *arg)
{
	loop_thread *lt = arg;
	art_runtime_run(lt->rt);
	return NULL;
}

static inline void start_loop(loop_thread *lt)
{
	memset(lt, 0, sizeof(*lt));
	pthread_mutex_init(&lt->mu, NULL);
	pthread_cond_init(&lt->cond, NULL);
	art_runtime_config cfg = { .on_exit = loop_thread_on_exit, .userdata = lt };
	art_error err = { 0 };
	CHECK_EQ_INT(art_runtime_new(&cfg, &lt->rt, &err), 0);
	CHECK_EQ_INT(pthread_create(&lt->thread, NULL, loop_thread_drive, lt), 0);
}

static inline void stop_loop(loop_thread *lt)
{
	art_runtime_finish(lt->rt);
	pthread_join(lt->thread, NULL);
	art_runtime_free(lt->rt);
}

/* Until n tasks have ended in all. */
static inline void wait_ended(loop_thread *lt, int n)
{
	pthread_mutex_lock(&lt->mu);
	while (lt->ended < n)
		pthread_cond_wait(&lt->cond, &lt->mu);
	pthread_mutex_unlock(&lt->mu);
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

#endif
