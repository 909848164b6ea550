/* SPDX-License-Identifier: MIT */
/*
 * Prepared sandboxes: after a task starts at level sandbox, the runtime
 * sets up the next sandbox of the same configuration ahead of need (its
 * cgroup, its namespaces, its filesystem view), so that the next such task
 * only has to send its command line and stdio to a waiting init (see
 * isolate_prepare). Each prepared sandbox serves one task and is never
 * reused: a task cannot leave anything behind for the next.
 *
 * Lifecycle of a pool entry:
 *
 *   PREPARING --READY--> READY --taken by a task--> (the task's)
 *       |                  |
 *       +--failure/EOF-----+--idle for WARM_IDLE_NS--> dropped
 *
 * A task that finds a PREPARING entry waits for it (it is closer to ready
 * than a new sandbox would be). Workspaces are per task and not prepared.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "base/fd.h"
#include "base/macros.h"
#include "base/time.h"
#include "core/internal.h"
#include "sandbox/isolate.h"
#include "sandbox/view.h"

/* A prepared sandbox not taken in this long goes, so that an idle runtime
 * holds no namespaces. */
#define WARM_IDLE_NS (30 * NSEC_PER_SEC)
/* Distinct configurations kept prepared at once, per prepared sandbox
 * asked for: a runtime that alternates among a few keeps all of them. */
#define WARM_KEYS 4

struct warm_sandbox {
	list_node link; /* rt->warm or rt->dead_warm */
	art_runtime *rt;
	art_spec *spec;  /* the configuration it was prepared for */
	cg_task *cg;
	view_plan plan;  /* what params.mounts points to */
	isolate_params params;
	isolate_proc proc;
	bool ready;
	loop_watch watch; /* proc.report_fd: READY, or the init's end */
	loop_timer idle;
};

static bool same_limits(const art_spec *a, const art_spec *b)
{
	uint32_t bits = SPEC_CGROUP_LIMITS;
	if ((a->limits_set & bits) != (b->limits_set & bits))
		return false;
	for (int i = 0; i < ART_LIMIT__COUNT; i++)
		if ((bits & (1u << i)) && (a->limits_set & (1u << i)) &&
		    a->limits[i] != b->limits[i])
			return false;
	return true;
}

static bool warm_matches(const warm_sandbox *w, const art_spec *s)
{
	return spec_sandbox_equal(&w->spec->sb, &s->sb) && same_limits(w->spec, s);
}

bool warm_eligible(const art_runtime *rt, const art_spec *s)
{
	return rt->cfg.warm_sandboxes > 0 && spec_effective_level(s) == ART_SANDBOX_FULL &&
	       !s->sb.ws_base;
}

/* Takes w out of the pool; freed after the loop's current batch, which
 * may still hold an event for its watch. */
static void warm_drop(warm_sandbox *w)
{
	art_runtime *rt = w->rt;
	if (w->watch.fd >= 0)
		loop_watch_del(rt->loop, &w->watch);
	loop_timer_disarm(rt->loop, &w->idle);
	if (w->proc.pidfd >= 0)
		intset_del(&rt->child_pids, w->proc.pid);
	isolate_abort(&w->proc);
	list_remove(&w->link);
	list_add_tail(&rt->dead_warm, &w->link);
	rt->n_warm--;
}

void warm_free(warm_sandbox *w)
{
	if (!w)
		return;
	isolate_abort(&w->proc);
	if (w->cg)
		cg_task_destroy(w->cg);
	view_plan_free(&w->plan);
	art_spec_free(w->spec);
	free(w);
}

static void on_idle(loop *l, loop_timer *timer)
{
	(void)l;
	warm_drop(container_of(timer, warm_sandbox, idle));
}

static void on_report(loop *l, loop_watch *watch, uint32_t events)
{
	(void)l;
	(void)events;
	warm_sandbox *w = container_of(watch, warm_sandbox, watch);
	isolate_failure f;
	int r = isolate_poll_ready(&w->params, &w->proc, &f);
	if (r > 0)
		w->ready = true;
	else if (r < 0)
		warm_drop(w); /* the next task starts cold and reports why */
}

static int count_matching(art_runtime *rt, const art_spec *s)
{
	int n = 0;
	list_node *node, *tmp;
	list_for_each_safe(node, tmp, &rt->warm)
		n += warm_matches(container_of(node, warm_sandbox, link), s);
	return n;
}

void warm_refill(art_runtime *rt, const art_spec *s)
{
	if (!warm_eligible(rt, s))
		return;
	unsigned want = rt->cfg.warm_sandboxes;
	if (rt->n_warm >= want * WARM_KEYS)
		return;
	for (int have = count_matching(rt, s); have < (int)want; have++) {
		warm_sandbox *w = calloc(1, sizeof(*w));
		if (!w)
			return;
		w->rt = rt;
		w->proc = (isolate_proc){ .pidfd = -1, .report_fd = -1, .listener_fd = -1 };
		loop_watch_init(&w->watch);
		loop_timer_init(&w->idle);
		list_init(&w->link);
		int cg_fds[8];
		spawn_params base = { .stdio = { -1, -1, -1 }, .cgroup_fds = cg_fds };
		art_error err;
		art_stage stage;
		int r = art_spec_clone(s, &w->spec);
		if (r == 0)
			r = iso_make_cgroup(rt, s, &w->cg, &err);
		if (r == 0 && w->cg && cg_task_dir_fd(w->cg) < 0)
			r = base.n_cgroup_fds = cg_task_procs_fds(w->cg, cg_fds, 8);
		if (r >= 0)
			r = iso_sandbox_params(rt, &s->sb, NULL, w->cg, &base, &w->plan, &w->params,
					       &stage, &err);
		if (r >= 0) {
			w->params.deferred = true;
			isolate_failure f;
			r = isolate_prepare(&w->params, &w->proc, &f);
		}
		if (r >= 0)
			r = loop_watch_add(rt->loop, &w->watch, w->proc.report_fd, EPOLLIN, on_report);
		if (r >= 0)
			r = loop_timer_arm(rt->loop, &w->idle, mono_ns() + WARM_IDLE_NS, on_idle);
		if (r < 0) {
			if (w->watch.fd >= 0)
				loop_watch_del(rt->loop, &w->watch);
			warm_free(w);
			return;
		}
		intset_add(&rt->child_pids, w->proc.pid);
		list_add_tail(&rt->warm, &w->link);
		rt->n_warm++;
	}
}

warm_sandbox *warm_take(art_runtime *rt, const art_spec *s)
{
	if (!warm_eligible(rt, s))
		return NULL;
	warm_sandbox *best = NULL;
	list_node *node, *tmp;
	list_for_each_safe(node, tmp, &rt->warm) {
		warm_sandbox *w = container_of(node, warm_sandbox, link);
		if (warm_matches(w, s) && (!best || (w->ready && !best->ready)))
			best = w;
	}
	if (!best)
		return NULL;
	loop_watch_del(rt->loop, &best->watch);
	loop_timer_disarm(rt->loop, &best->idle);
	list_remove(&best->link);
	list_init(&best->link);
	rt->n_warm--;
	/* The task's own start adds the init back once it is launched. */
	intset_del(&rt->child_pids, best->proc.pid);
	return best;
}

cg_task *warm_take_cgroup(warm_sandbox *w)
{
	return steal_ptr(&w->cg);
}

int warm_launch(art_runtime *rt, warm_sandbox *w, const art_spec *s, const spawn_params *task,
		isolate_proc *out, isolate_failure *fail)
{
	int r = w->ready ? 0 : isolate_wait_ready(&w->params, &w->proc, fail);
	bool sent = false;
	if (r == 0) {
		r = isolate_launch_send(&w->params, &w->proc, task, fail);
		sent = r != -E2BIG;
		if (!sent)
			isolate_abort(&w->proc);
	}
	if (r == 0) {
		/* While the init forks and execs the task: the loop thread
		 * would only wait. */
		warm_refill(rt, s);
		r = isolate_wait_started(&w->params, &w->proc, fail);
	}
	if (r == 0) {
		*out = w->proc;
		w->proc = (isolate_proc){ .pidfd = -1, .report_fd = -1, .listener_fd = -1 };
	}
	warm_free(w);
	/* Failures before the launch was sent say nothing about the task:
	 * the caller starts it cold (and reports that start's failure). */
	return sent ? r : -EAGAIN;
}

void warm_drop_all(art_runtime *rt)
{
	list_node *n, *tmp;
	list_for_each_safe(n, tmp, &rt->warm)
		warm_drop(container_of(n, warm_sandbox, link));
}

void warm_free_all(art_runtime *rt)
{
	list_node *n;
	while ((n = list_pop_front(&rt->warm))) {
		warm_sandbox *w = container_of(n, warm_sandbox, link);
		if (w->watch.fd >= 0)
			loop_watch_del(rt->loop, &w->watch);
		loop_timer_disarm(rt->loop, &w->idle);
		intset_del(&rt->child_pids, w->proc.pid);
		warm_free(w);
	}
	rt->n_warm = 0;
	warm_bury(rt);
}

void warm_bury(art_runtime *rt)
{
	list_node *n;
	while ((n = list_pop_front(&rt->dead_warm)))
		warm_free(container_of(n, warm_sandbox, link));
}
