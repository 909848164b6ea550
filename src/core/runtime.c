/* SPDX-License-Identifier: MIT */
/*
 * The runtime: one loop that owns every task. Other threads hand work over
 * through the inbox (a mutex-protected list) and wake the loop with its
 * eventfd; nothing else about a task is touched outside the loop thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"
#include "base/time.h"
#include "core/internal.h"
#include "os/pidfd.h"
#include "os/proc.h"
#include "os/spawn.h"

#define SCRATCH_SIZE (64 * 1024)
#define POOL_MAX_FREE 1024 /* 4 MiB of chunks kept for reuse at most */

static unsigned default_max_running(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static bool on_loop_thread(const art_runtime *rt)
{
	return rt->in_loop && pthread_equal(rt->loop_thread, pthread_self());
}

static void wake(art_runtime *rt)
{
	if (!on_loop_thread(rt))
		loop_wake(rt->loop);
}

/* ------------------------------------------------------------ tasks */

void runtime_task_done(art_runtime *rt, art_task *t)
{
	if (!schedule_task_end(rt, t))
		return; /* it runs again */
	rtm_task_ended(rt, t);
	session_end(t); /* its last messages come before on_exit */
	output_finish(rt, &t->out[0]);
	output_finish(rt, &t->out[1]);
	t->stdin_fd = safe_close(t->stdin_fd);
	art_result *res = &t->result;
	res->stdout_bytes = t->out[0].bytes;
	res->stderr_bytes = t->out[1].bytes;
	res->stdout_tail = t->out[0].tail;
	res->stdout_tail_len = t->out[0].tail_len;
	res->stderr_tail = t->out[1].tail;
	res->stderr_tail_len = t->out[1].tail_len;
	res->stdout_truncated = t->out[0].truncated;
	res->stderr_truncated = t->out[1].truncated;
	rt->stats.ended++;
	event_exited(t);
	if (rt->cfg.on_exit)
		rt->cfg.on_exit(rt, t, res, rt->cfg.userdata);
	/* The runtime's reference goes at the end of the iteration: events
	 * for this task may still be in the loop's current batch. */
	list_add_tail(&rt->graveyard, &t->link);
}

static void bury_dead(art_runtime *rt)
{
	list_node *n;
	while ((n = list_pop_front(&rt->graveyard)))
		art_task_unref(container_of(n, art_task, link));
	while ((n = list_pop_front(&rt->dead_watches)))
		free(container_of(n, fd_watch, link));
	warm_bury(rt);
}

/* ------------------------------------------------------------ orphans */

static void on_orphan_ready(loop *l, loop_watch *w, uint32_t events)
{
	(void)events;
	orphan *o = container_of(w, orphan, watch);
	int fd = w->fd;
	loop_watch_del(l, w);
	pidfd_reap(fd, NULL, NULL);
	safe_close(fd);
	intset_del(&o->rt->child_pids, o->pid);
	list_remove(&o->link);
	free(o);
}

/* The task an orphan belongs to: the one whose group or session it is
 * still in, or the only task that ended in this batch. NULL if unknown. */
static art_task *orphan_owner(art_runtime *rt, pid_t pid)
{
	pid_t pgrp, sid;
	if (proc_stat_ids(pid, &pgrp, &sid) == 0) {
		list_node *n;
		for (n = rt->ended.next; n != &rt->ended; n = n->next) {
			art_task *t = container_of(n, art_task, link);
			if (t->pid == pgrp || t->pid == sid)
				return t;
		}
	}
	if (!list_empty(&rt->ended) && rt->ended.next->next == &rt->ended)
		return container_of(rt->ended.next, art_task, link);
	return NULL;
}

/*
 * With ART_RT_KILL_ORPHANS each task leader is a subreaper, so what its
 * descendants leave behind stays under it while it lives and comes to us
 * only when it dies. Any child of ours that is neither a leader nor an
 * orphan we are already reaping is therefore the remains of a task that
 * has ended: it is killed and reaped through a pidfd. Safe to do by pid:
 * a child of ours cannot be reaped (and its pid reused) by anyone but us.
 *
 * Listing our children costs O(children), so it is done once per batch of
 * events, not once per ended task.
 */
void runtime_sweep_orphans(art_runtime *rt, bool all_threads)
{
	pid_t *kids = NULL;
	int n = proc_children(all_threads, &kids);
	for (int i = 0; i < n; i++) {
		pid_t pid = kids[i];
		if (intset_has(&rt->child_pids, pid))
			continue;
		art_task *owner = orphan_owner(rt, pid);
		int fd = pidfd_open_pid(pid);
		if (fd < 0) {
			/* No pidfd (EMFILE, say): the pid is still safe to use, as
			 * an unreaped child of ours cannot be recycled. */
			if (kill(pid, SIGKILL) < 0 || waitpid(pid, NULL, __WALL) != pid)
				continue;
		} else {
			pidfd_signal(fd, SIGKILL);
			orphan *o = calloc(1, sizeof(*o));
			if (!o ||
			    loop_watch_add(rt->loop, &o->watch, fd, EPOLLIN, on_orphan_ready) < 0) {
				/* Cannot watch it: wait here, it has been SIGKILLed. */
				free(o);
				pidfd_reap(fd, NULL, NULL);
				safe_close(fd);
			} else {
				o->pid = pid;
				o->rt = rt;
				list_add_tail(&rt->orphans, &o->link);
				intset_add(&rt->child_pids, pid);
			}
		}
		rt->stats.orphans_killed++;
		if (owner)
			owner->result.orphans_killed++;
	}
	free(kids);
}

void runtime_flush_ended(art_runtime *rt)
{
	if (list_empty(&rt->ended))
		return;
	runtime_sweep_orphans(rt, false);
	list_node *n;
	while ((n = list_pop_front(&rt->ended)))
		runtime_task_done(rt, container_of(n, art_task, link));
}

/* ------------------------------------------------------------ inbox */

static void drain_inbox(art_runtime *rt)
{
	list_node tasks, cancels, ctls;
	list_init(&tasks);
	list_init(&cancels);
	list_init(&ctls);
	pthread_mutex_lock(&rt->mu);
	/* Splice both lists out, so the lock is held only for that. */
	if (!list_empty(&rt->inbox)) {
		tasks = rt->inbox;
		tasks.next->prev = &tasks;
		tasks.prev->next = &tasks;
		list_init(&rt->inbox);
	}
	if (!list_empty(&rt->cancels)) {
		cancels = rt->cancels;
		cancels.next->prev = &cancels;
		cancels.prev->next = &cancels;
		list_init(&rt->cancels);
	}
	if (!list_empty(&rt->ctls)) {
		ctls = rt->ctls;
		ctls.next->prev = &ctls;
		ctls.prev->next = &ctls;
		list_init(&rt->ctls);
	}
	pthread_mutex_unlock(&rt->mu);

	list_node *n;
	/* Requests and submissions in the order they were made: a group
	 * cancelled and then given new work keeps the new work. */
	int64_t now = mono_ns();
	for (;;) {
		ctl_req *c = list_empty(&ctls) ? NULL : container_of(ctls.next, ctl_req, link);
		if (c && c->after <= rt->drained) {
			list_remove(&c->link);
			schedule_ctl(rt, c);
			free(c);
		} else if ((n = list_pop_front(&tasks))) {
			rt->drained++;
			schedule_drained(rt, container_of(n, art_task, link), now);
		} else if (c) {
			c->after = rt->drained; /* cannot happen: counted under the lock */
		} else {
			break;
		}
	}
	while ((n = list_pop_front(&cancels))) {
		cancel_req *c = container_of(n, cancel_req, link);
		control_apply(rt, c);
		art_task_unref(c->task);
		free(c);
	}
	session_drain(rt);
	pthread_mutex_lock(&rt->mu);
	control_answer_stats(rt, &rt->stat_reqs);
	control_answer_limits(rt, &rt->limit_reqs);
	pthread_mutex_unlock(&rt->mu);
	unsigned want = atomic_exchange(&rt->req_max_running, 0);
	if (want)
		schedule_set_max_running(rt, want);
	unsigned warm = atomic_exchange(&rt->req_warm, REQ_WARM_NONE);
	if (warm != REQ_WARM_NONE) {
		rt->cfg.warm_sandboxes = warm;
		warm_drop_all(rt); /* the next start prepares what the new setting asks */
	}
	if (atomic_exchange(&rt->req_cancel_all, false)) {
		list_node *tmp;
		list_for_each_safe(n, tmp, &rt->queued)
			task_dispatch(container_of(n, art_task, link), EV_CANCEL);
		list_for_each_safe(n, tmp, &rt->running)
			task_dispatch(container_of(n, art_task, link), EV_CANCEL);
	}
}

static void on_wake(loop *l, void *userdata)
{
	(void)l;
	drain_inbox(userdata);
}

/* ------------------------------------------------------------ public */

int art_runtime_new(const art_runtime_config *config, art_runtime **out, art_error *err)
{
	art_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return art_error_set(err, -ENOMEM, "out of memory");
	if (config)
		rt->cfg = *config;
	rt->max_running = rt->cfg.max_running ? rt->cfg.max_running : default_max_running();
	rt->devnull = -1;
	rt->pid = getpid();
	getrlimit(RLIMIT_NOFILE, &rt->own_nofile);
	pthread_mutex_init(&rt->mu, NULL);
	list_init(&rt->inbox);
	list_init(&rt->cancels);
	list_init(&rt->ctls);
	list_init(&rt->stat_reqs);
	list_init(&rt->limit_reqs);
	list_init(&rt->session_kicks);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->stats_done, &ca);
	pthread_condattr_destroy(&ca);
	list_init(&rt->queued);
	list_init(&rt->running);
	list_init(&rt->orphans);
	list_init(&rt->watches);
	list_init(&rt->graveyard);
	list_init(&rt->dead_watches);
	list_init(&rt->warm);
	list_init(&rt->teardowns);
	atomic_init(&rt->req_warm, REQ_WARM_NONE);
	list_init(&rt->dead_warm);
	list_init(&rt->ended);
	loop_timer_init(&rt->sample_timer);
	pool_init(&rt->chunks, sizeof(out_chunk), POOL_MAX_FREE);

	int r = loop_new(on_wake, rt, &rt->loop);
	if (r < 0) {
		art_runtime_free(rt);
		return art_error_set(err, r, "cannot create the event loop: %s", strerror(-r));
	}
	r = schedule_init(rt);
	if (r < 0) {
		art_runtime_free(rt);
		return art_error_set(err, r, "cannot create the scheduler: %s", strerror(-r));
	}
	r = rtm_new(rt);
	if (r < 0) {
		art_runtime_free(rt);
		return art_error_set(err, r, "cannot create the metrics: %s", strerror(-r));
	}
	/* Above 2, so that a host with closed stdio never hands it out as 0..2. */
	rt->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (rt->devnull >= 0)
		rt->devnull = fd_move_above(rt->devnull, 3);
	if (rt->devnull < 0) {
		r = rt->devnull < -1 ? rt->devnull : -errno;
		art_runtime_free(rt);
		return art_error_set(err, r, "/dev/null: %s", strerror(-r));
	}
	rt->spawn_stack = mmap(NULL, SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	rt->scratch_size = SCRATCH_SIZE;
	rt->scratch = malloc(rt->scratch_size);
	if (rt->spawn_stack == MAP_FAILED || !rt->scratch) {
		if (rt->spawn_stack == MAP_FAILED)
			rt->spawn_stack = NULL;
		art_runtime_free(rt);
		return art_error_set(err, -ENOMEM, "out of memory");
	}
	if (rt->cfg.flags & ART_RT_KILL_ORPHANS) {
		r = proc_set_subreaper(1);
		if (r < 0) {
			art_runtime_free(rt);
			return art_error_set(err, r, "cannot become a child subreaper: %s",
					     strerror(-r));
		}
	}
	*out = rt;
	return 0;
}

/* Kills and reaps everything; used at the end. Blocking on each pidfd is
 * fine here: every process has been sent SIGKILL. */
static void kill_everything(art_runtime *rt)
{
	rt->in_loop = true;
	rt->loop_thread = pthread_self();
	rt->no_retries = true;
	drain_inbox(rt);
	list_node *n, *tmp;
	list_for_each_safe(n, tmp, &rt->queued)
		task_dispatch(container_of(n, art_task, link), EV_CANCEL);
	list_for_each_safe(n, tmp, &rt->running)
		task_kill_now(container_of(n, art_task, link));
	while ((n = rt->running.next) != &rt->running)
		task_reap_blocking(container_of(n, art_task, link));
	runtime_flush_ended(rt);
	while ((n = rt->orphans.next) != &rt->orphans) {
		orphan *o = container_of(n, orphan, link);
		on_orphan_ready(rt->loop, &o->watch, 0);
	}
	/* Orphans of orphans arrive as their parents die: sweep until none. */
	if (rt->cfg.flags & ART_RT_KILL_ORPHANS) {
		for (int round = 0; round < 1000; round++) {
			runtime_sweep_orphans(rt, true);
			if (list_empty(&rt->orphans))
				break;
			while ((n = rt->orphans.next) != &rt->orphans)
				on_orphan_ready(rt->loop, &container_of(n, orphan, link)->watch, 0);
		}
	}
	bury_dead(rt);
	rt->in_loop = false;
}

void art_runtime_free(art_runtime *rt)
{
	if (!rt)
		return;
	/* Prepared sandboxes first, so that the sweep below sees none. */
	warm_free_all(rt);
	if (rt->loop)
		kill_everything(rt);
	session_runtime_free(rt);
	list_node *n;
	while ((n = list_pop_front(&rt->watches))) {
		fd_watch *fw = container_of(n, fd_watch, link);
		loop_watch_del(rt->loop, &fw->watch);
		free(fw);
	}
	if (rt->cfg.flags & ART_RT_KILL_ORPHANS)
		proc_set_subreaper(0);
	iso_runtime_free(rt);
	schedule_free(rt);
	sample_runtime_free(rt);
	rtm_free(rt);
	while ((n = list_pop_front(&rt->ctls)))
		free(container_of(n, ctl_req, link));
	loop_free(rt->loop);
	safe_close(rt->devnull);
	if (rt->spawn_stack)
		munmap(rt->spawn_stack, SPAWN_STACK_SIZE);
	free(rt->scratch);
	pool_destroy(&rt->chunks);
	intset_free(&rt->child_pids);
	pthread_mutex_destroy(&rt->mu);
	pthread_cond_destroy(&rt->stats_done);
	free(rt);
}

int art_runtime_submit_batch(art_runtime *rt, const art_spec *const *specs, size_t n,
			     void *const *userdata, art_task **out, art_error *err)
{
	art_task *one[1];
	art_task **tasks = n == 1 ? one : calloc(n ? n : 1, sizeof(*tasks));
	if (!tasks)
		return art_error_set(err, -ENOMEM, "out of memory");
	int r = 0;
	size_t made = 0;
	for (; made < n; made++) {
		const art_spec *spec = specs[made];
		if (!spec->argv.n) {
			r = art_error_set(err, -EINVAL, "cmd: missing");
			break;
		}
		r = task_new(rt, spec, userdata ? userdata[made] : NULL, &tasks[made]);
		if (r < 0) {
			art_error_set(err, r, "cannot create task: %s", strerror(-r));
			break;
		}
	}
	if (r == 0)
		r = schedule_submit(rt, tasks, n, err);
	if (r < 0) {
		for (size_t i = 0; i < made; i++)
			task_free(tasks[i]);
		if (tasks != one)
			free(tasks);
		return r;
	}
	/* Counted before the loop can see them: never fewer submitted than ended. */
	rtm_submitted(rt, n);
	pthread_mutex_lock(&rt->mu);
	for (size_t i = 0; i < n; i++) {
		if (out) {
			art_task_ref(tasks[i]);
			out[i] = tasks[i];
		}
		list_add_tail(&rt->inbox, &tasks[i]->link);
	}
	rt->stats.submitted += n;
	pthread_mutex_unlock(&rt->mu);
	if (tasks != one)
		free(tasks);
	wake(rt);
	return 0;
}

int art_runtime_submit(art_runtime *rt, const art_spec *spec, void *userdata, art_task **out,
		       art_error *err)
{
	return art_runtime_submit_batch(rt, &spec, 1, &userdata, out, err);
}

/* A request to the loop, with a copy of name; queued by ctl_queue. */
static ctl_req *ctl_new(ctl_op op, const char *name)
{
	size_t len = strlen(name);
	ctl_req *c = calloc(1, sizeof(*c) + len + 1);
	if (c) {
		c->op = op;
		memcpy(c->name, name, len + 1);
	}
	return c;
}

static int ctl_queue(art_runtime *rt, ctl_req *c)
{
	pthread_mutex_lock(&rt->mu);
	c->after = rt->stats.submitted;
	list_add_tail(&rt->ctls, &c->link);
	pthread_mutex_unlock(&rt->mu);
	wake(rt);
	return 0;
}

static int ctl_push(art_runtime *rt, ctl_op op, const char *name, unsigned n, double rate)
{
	if (!name || !*name)
		return -EINVAL;
	ctl_req *c = ctl_new(op, name);
	if (!c)
		return -ENOMEM;
	c->n = n;
	c->rate = rate;
	return ctl_queue(rt, c);
}

int art_runtime_group_weight(art_runtime *rt, const char *group, unsigned weight)
{
	return weight ? ctl_push(rt, CTL_GROUP_WEIGHT, group, weight, 0) : -EINVAL;
}

int art_runtime_group_max_running(art_runtime *rt, const char *group, unsigned n)
{
	return ctl_push(rt, CTL_GROUP_MAX, group, n, 0);
}

int art_runtime_group_rate(art_runtime *rt, const char *group, double per_second, unsigned burst)
{
	if (!(per_second >= 0) || (per_second > 0 && !burst))
		return -EINVAL;
	return ctl_push(rt, CTL_GROUP_RATE, group, burst ? burst : 1, per_second);
}

int art_runtime_kind_max_running(art_runtime *rt, const char *kind, unsigned n)
{
	return ctl_push(rt, CTL_KIND_MAX, kind, n, 0);
}

int art_runtime_kind_rate(art_runtime *rt, const char *kind, double per_second, unsigned burst)
{
	if (!(per_second >= 0) || (per_second > 0 && !burst))
		return -EINVAL;
	return ctl_push(rt, CTL_KIND_RATE, kind, burst ? burst : 1, per_second);
}

int art_runtime_set_breaker(art_runtime *rt, const char *kind, unsigned window, unsigned min_runs,
			    double threshold, int64_t open_ns, unsigned trials)
{
	breaker_config cfg;
	breaker_config_init(&cfg);
	cfg.window = window;
	cfg.min_runs = min_runs;
	cfg.threshold = threshold;
	cfg.open_ns = open_ns;
	cfg.trial_runs = trials;
	if (breaker_config_check(&cfg) < 0 || (kind && !*kind))
		return -EINVAL;
	ctl_req *c = ctl_new(CTL_BREAKER, kind ? kind : "");
	if (!c)
		return -ENOMEM;
	c->breaker = cfg;
	c->any_kind = !kind;
	return ctl_queue(rt, c);
}

int art_runtime_cancel_group(art_runtime *rt, const char *group)
{
	return ctl_push(rt, CTL_CANCEL_GROUP, group, 0, 0);
}

static bool idle(const art_runtime *rt)
{
	return list_empty(&rt->queued) && list_empty(&rt->running) && list_empty(&rt->orphans);
}

int art_runtime_step(art_runtime *rt, int timeout_ms)
{
	rt->in_loop = true;
	rt->loop_thread = pthread_self();
	drain_inbox(rt);
	schedule_start(rt);
	/* Do not sleep on tasks whose dependencies were just decided. */
	if (!list_empty(&rt->dep_changed))
		timeout_ms = 0;
	rtm_sync(rt); /* before sleeping, so that a scrape meanwhile is current */
	int r = loop_run_once(rt->loop, timeout_ms);
	runtime_flush_ended(rt);
	drain_inbox(rt);
	schedule_start(rt);
	runtime_flush_ended(rt); /* a start that failed late */
	bury_dead(rt);
	rtm_sync(rt);
	rt->in_loop = false;
	if (r < 0)
		return r;
	return idle(rt) ? 0 : 1;
}

int art_runtime_run(art_runtime *rt)
{
	for (;;) {
		if (atomic_exchange(&rt->req_stop, false))
			return 0;
		if (atomic_load(&rt->req_finish)) {
			pthread_mutex_lock(&rt->mu);
			bool inbox_empty = list_empty(&rt->inbox) && list_empty(&rt->cancels);
			pthread_mutex_unlock(&rt->mu);
			if (inbox_empty && idle(rt)) {
				/* No more tasks are coming: nothing is kept for them,
				 * and the last sandboxes are gone when this returns. */
				warm_drop_all(rt);
				iso_teardowns_free(rt);
				bury_dead(rt);
				return 0;
			}
		}
		int r = art_runtime_step(rt, -1);
		if (r < 0)
			return r;
	}
}

int art_runtime_fd(const art_runtime *rt)
{
	return loop_fd(rt->loop);
}

void art_runtime_finish(art_runtime *rt)
{
	atomic_store(&rt->req_finish, true);
	loop_wake(rt->loop);
}

void art_runtime_stop(art_runtime *rt)
{
	atomic_store(&rt->req_stop, true);
	loop_wake(rt->loop);
}

void art_runtime_cancel_all(art_runtime *rt)
{
	atomic_store(&rt->req_cancel_all, true);
	loop_wake(rt->loop);
}

void art_runtime_set_max_running(art_runtime *rt, unsigned max_running)
{
	atomic_store(&rt->req_max_running, max_running ? max_running : default_max_running());
	loop_wake(rt->loop);
}

void art_runtime_set_warm_sandboxes(art_runtime *rt, unsigned n)
{
	atomic_store(&rt->req_warm, n == REQ_WARM_NONE ? n - 1 : n);
	loop_wake(rt->loop);
}

void art_runtime_stats_get(art_runtime *rt, art_runtime_stats *out)
{
	*out = rt->stats;
	out->warm_ready = rt->n_warm;
	/* `submitted` is counted by submitting threads, under the lock. */
	pthread_mutex_lock(&rt->mu);
	out->submitted = rt->stats.submitted;
	pthread_mutex_unlock(&rt->mu);
	out->running = rt->n_running;
	out->queued = rt->n_queued;
	out->held = rt->n_held;
	out->frozen = rt->n_frozen;
	out->pool_hits = rt->chunks.hits;
	out->pool_misses = rt->chunks.misses;
	out->pool_bytes = (rt->chunks.n_free + rt->chunks.n_out) * rt->chunks.size;
}

static void on_user_fd(loop *l, loop_watch *w, uint32_t events)
{
	(void)l;
	fd_watch *fw = container_of(w, fd_watch, watch);
	fw->fn(fw->rt, w->fd, events, fw->userdata);
}

int art_runtime_watch_fd(art_runtime *rt, int fd, uint32_t events, art_fd_fn fn, void *userdata)
{
	fd_watch *fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	fw->fn = fn;
	fw->userdata = userdata;
	fw->rt = rt;
	int r = loop_watch_add(rt->loop, &fw->watch, fd, events, on_user_fd);
	if (r < 0) {
		free(fw);
		return r;
	}
	list_add_tail(&rt->watches, &fw->link);
	return 0;
}

int art_runtime_unwatch_fd(art_runtime *rt, int fd)
{
	list_node *n, *tmp;
	list_for_each_safe(n, tmp, &rt->watches) {
		fd_watch *fw = container_of(n, fd_watch, link);
		if (fw->watch.fd != fd)
			continue;
		loop_watch_del(rt->loop, &fw->watch);
		/* Freed after the iteration, like tasks. */
		list_remove(&fw->link);
		list_add_tail(&rt->dead_watches, &fw->link);
		return 0;
	}
	return -ENOENT;
}

/* ------------------------------------------------------------ tasks */

void art_task_ref(art_task *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void art_task_unref(art_task *t)
{
	if (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		task_free(t);
}

static int task_request(art_task *t, task_req_op op)
{
	art_runtime *rt = t->rt;
	cancel_req *c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	art_task_ref(t);
	c->task = t;
	c->op = op;
	pthread_mutex_lock(&rt->mu);
	list_add_tail(&rt->cancels, &c->link);
	pthread_mutex_unlock(&rt->mu);
	wake(rt);
	return 0;
}

void art_task_cancel(art_task *t)
{
	/* Cannot queue the request: cancel everything rather than silently
	 * nothing. */
	if (task_request(t, TASK_REQ_CANCEL) < 0)
		art_runtime_cancel_all(t->rt);
}

int art_task_pause(art_task *t)
{
	return task_request(t, TASK_REQ_PAUSE);
}

int art_task_resume(art_task *t)
{
	return task_request(t, TASK_REQ_RESUME);
}

/* Queues a request that the loop answers under mu (setting *done), and
 * waits up to 1 s for the answer. false, with the request taken back, when
 * no thread drives the loop meanwhile: the request lives on the asker's
 * stack, which is why both sides hold mu. */
static bool ask_loop(art_runtime *rt, list_node *reqs, list_node *link, const bool *done)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 1;
	int r = 0;
	pthread_mutex_lock(&rt->mu);
	list_add_tail(reqs, link);
	loop_wake(rt->loop);
	while (!*done && r == 0)
		r = pthread_cond_timedwait(&rt->stats_done, &rt->mu, &until);
	bool answered = *done;
	if (!answered)
		list_remove(link);
	pthread_mutex_unlock(&rt->mu);
	return answered;
}

int art_task_stats_get(art_task *t, art_task_stats *out)
{
	art_runtime *rt = t->rt;
	art_task_stats st;
	if (on_loop_thread(rt)) {
		control_stats(t, &st);
		*out = st;
		return 0;
	}
	stats_req req = { .task = t, .out = &st };
	if (!ask_loop(rt, &rt->stat_reqs, &req.link, &req.done))
		return -ETIMEDOUT;
	*out = st;
	return 0;
}

int art_task_set_limit(art_task *t, art_limit limit, uint64_t value, art_error *err)
{
	art_runtime *rt = t->rt;
	if (on_loop_thread(rt))
		return iso_set_limit(t, limit, value, err);
	limit_req req = { .task = t, .limit = limit, .value = value };
	if (!ask_loop(rt, &rt->limit_reqs, &req.link, &req.done))
		return art_error_set(err, -ETIMEDOUT, "no thread drives the runtime's loop");
	if (req.result < 0 && err)
		*err = req.err;
	return req.result;
}

const char *art_task_state_name(art_task_state state)
{
	switch (state) {
	case ART_TASK_QUEUED:
		return "queued";
	case ART_TASK_RUNNING:
		return "running";
	case ART_TASK_STOPPING:
		return "stopping";
	case ART_TASK_DONE:
		return "done";
	}
	return "unknown";
}

const char *art_task_id(const art_task *t)
{
	return t->spec->id;
}

void *art_task_userdata(const art_task *t)
{
	return t->userdata;
}

art_task_state art_task_state_get(const art_task *t)
{
	return t->state;
}

const art_spec *art_task_spec(const art_task *t)
{
	return t->spec;
}

const art_result *art_task_result(const art_task *t)
{
	return t->state == ART_TASK_DONE ? &t->result : NULL;
}

int art_task_stdin_fd(const art_task *t)
{
	return t->session ? -1 : t->stdin_fd;
}

void art_task_close_stdin(art_task *t)
{
	if (t->session)
		session_close_stdin(t);
	else
		t->stdin_fd = safe_close(t->stdin_fd);
}
