/* SPDX-License-Identifier: MIT */
#include "os/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"
#include "base/time.h"

#define LOOP_BATCH 256

struct loop {
	int epfd;
	loop_watch wake_watch;
	loop_watch timer_watch;
	int64_t timerfd_deadline; /* what the timerfd is armed for; 0: disarmed */
	heap timers;
	loop_wake_fn on_wake;
	void *wake_userdata;
};

static void on_wake_ready(loop *l, loop_watch *w, uint32_t events)
{
	(void)events;
	uint64_t v;
	/* Several wakes collapse into one read; the callback drains everything. */
	while (read(w->fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	if (l->on_wake)
		l->on_wake(l, l->wake_userdata);
}

static void rearm_timerfd(loop *l)
{
	heap_node *top = heap_top(&l->timers);
	int64_t deadline = top ? MAX(top->key, 1) : 0;
	if (deadline == l->timerfd_deadline)
		return;
	struct itimerspec its = {
		.it_value = { .tv_sec = deadline / NSEC_PER_SEC, .tv_nsec = deadline % NSEC_PER_SEC },
	};
	/* Absolute time: a deadline already past fires at once. */
	if (timerfd_settime(l->timer_watch.fd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		l->timerfd_deadline = deadline;
}

static void run_due_timers(loop *l)
{
	int64_t now = mono_ns();
	heap_node *top;
	while ((top = heap_top(&l->timers)) && top->key <= now) {
		heap_remove(&l->timers, top);
		loop_timer *t = container_of(top, loop_timer, node);
		t->fn(l, t);
	}
}

static void on_timer_ready(loop *l, loop_watch *w, uint32_t events)
{
	(void)events;
	uint64_t expirations;
	while (read(w->fd, &expirations, sizeof(expirations)) < 0 && errno == EINTR)
		;
	l->timerfd_deadline = 0;
	run_due_timers(l);
}

int loop_new(loop_wake_fn on_wake, void *userdata, loop **out)
{
	loop *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->on_wake = on_wake;
	l->wake_userdata = userdata;
	loop_watch_init(&l->wake_watch);
	loop_watch_init(&l->timer_watch);
	int r;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		r = -errno;
		free(l);
		return r;
	}
	_cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	_cleanup_close_ int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (efd < 0 || tfd < 0) {
		r = -errno;
		goto fail;
	}
	if ((r = loop_watch_add(l, &l->wake_watch, efd, EPOLLIN, on_wake_ready)) < 0)
		goto fail;
	efd = -1;
	if ((r = loop_watch_add(l, &l->timer_watch, tfd, EPOLLIN, on_timer_ready)) < 0)
		goto fail;
	tfd = -1;
	*out = l;
	return 0;
fail:
	loop_free(l);
	return r;
}

void loop_free(loop *l)
{
	if (!l)
		return;
	safe_close(l->wake_watch.fd);
	safe_close(l->timer_watch.fd);
	safe_close(l->epfd);
	heap_free(&l->timers);
	free(l);
}

int loop_watch_add(loop *l, loop_watch *w, int fd, uint32_t events, loop_io_fn fn)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	w->fd = fd;
	w->fn = fn;
	return 0;
}

int loop_watch_mod(loop *l, loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

void loop_watch_del(loop *l, loop_watch *w)
{
	if (w->fd < 0)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->fd = -1;
}

int loop_timer_arm(loop *l, loop_timer *t, int64_t deadline_ns, loop_timer_fn fn)
{
	heap_remove(&l->timers, &t->node);
	t->node.key = deadline_ns;
	t->fn = fn;
	int r = heap_push(&l->timers, &t->node);
	if (r < 0)
		return r;
	rearm_timerfd(l);
	return 0;
}

void loop_timer_disarm(loop *l, loop_timer *t)
{
	if (!heap_node_queued(&t->node))
		return;
	heap_remove(&l->timers, &t->node);
	/* The timerfd may stay armed for an earlier deadline; a spurious
	 * expiry finds nothing due and re-arms. */
}

int loop_run_once(loop *l, int timeout_ms)
{
	struct epoll_event events[LOOP_BATCH];
	int n = epoll_wait(l->epfd, events, LOOP_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		loop_watch *w = events[i].data.ptr;
		if (w->fd >= 0)
			w->fn(l, w, events[i].events);
	}
	rearm_timerfd(l);
	return n;
}

void loop_wake(loop *l)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is saturated: the loop will wake anyway. */
	while (write(l->wake_watch.fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

int loop_fd(const loop *l)
{
	return l->epfd;
}
