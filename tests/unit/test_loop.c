/* SPDX-License-Identifier: MIT */
/* The event loop: timers (order, disarm, re-arm, past deadlines), watches
 * (removal within a batch, mod), the wake eventfd, the pollable fd. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/macros.h"
#include "base/time.h"
#include "os/loop.h"
#include "tap.h"

#define MS NSEC_PER_MSEC

typedef struct tm_rec {
	loop_timer timer;
	int id;
	int64_t deadline;
	int64_t fired_at;
	int fired;
} tm_rec;

static int fire_order[64];
static int n_fired;

static void on_timer(loop *l, loop_timer *t)
{
	(void)l;
	tm_rec *r = container_of(t, tm_rec, timer);
	r->fired++;
	r->fired_at = mono_ns();
	CHECK(n_fired < 64);
	fire_order[n_fired++] = r->id;
	/* A timer that fires is out of the heap. */
	CHECK(!heap_node_queued(&t->node));
}

static loop *new_loop(void)
{
	loop *l = NULL;
	CHECK_EQ_INT(loop_new(NULL, NULL, &l), 0);
	CHECK(l != NULL);
	return l;
}

static void run_for(loop *l, int ms)
{
	int64_t end = mono_ns() + ms * MS;
	while (mono_ns() < end)
		CHECK(loop_run_once(l, 5) >= 0);
}

TEST(timers_fire_in_deadline_order)
{
	loop *l = new_loop();
	int offsets[] = { 50, 10, 30, 40, 20 };
	tm_rec r[5];
	int64_t now = mono_ns();
	for (int i = 0; i < 5; i++) {
		r[i] = (tm_rec){ .id = i, .deadline = now + offsets[i] * MS };
		loop_timer_init(&r[i].timer);
		CHECK_EQ_INT(loop_timer_arm(l, &r[i].timer, r[i].deadline, on_timer), 0);
	}
	int64_t end = now + 2000 * MS;
	while (n_fired < 5 && mono_ns() < end)
		CHECK(loop_run_once(l, -1) >= 0);
	CHECK_EQ_INT(n_fired, 5);
	int want[] = { 1, 4, 2, 3, 0 };
	for (int i = 0; i < 5; i++) {
		CHECK_EQ_INT(fire_order[i], want[i]);
		CHECK_EQ_INT(r[i].fired, 1);
		CHECK(r[i].fired_at >= r[i].deadline);
		CHECK(r[i].fired_at < r[i].deadline + 500 * MS);
	}
	run_for(l, 30);
	CHECK_EQ_INT(n_fired, 5);
	loop_free(l);
}

TEST(timer_disarm_and_rearm)
{
	loop *l = new_loop();
	tm_rec a = { .id = 1 }, b = { .id = 2 }, c = { .id = 3 };
	loop_timer_init(&a.timer);
	loop_timer_init(&b.timer);
	loop_timer_init(&c.timer);
	int64_t now = mono_ns();
	CHECK_EQ_INT(loop_timer_arm(l, &a.timer, now + 30 * MS, on_timer), 0);
	CHECK_EQ_INT(loop_timer_arm(l, &b.timer, now + 300 * MS, on_timer), 0);
	loop_timer_disarm(l, &a.timer);
	CHECK(!heap_node_queued(&a.timer.node));
	loop_timer_disarm(l, &a.timer); /* twice: nothing */
	/* Re-arming moves the deadline, earlier here. */
	CHECK_EQ_INT(loop_timer_arm(l, &b.timer, now + 60 * MS, on_timer), 0);
	/* A deadline in the past (even 0) fires at the next iteration. */
	CHECK_EQ_INT(loop_timer_arm(l, &c.timer, 0, on_timer), 0);
	int64_t t0 = mono_ns();
	CHECK(loop_run_once(l, 1000) >= 1);
	CHECK(mono_ns() - t0 < 50 * MS);
	CHECK_EQ_INT(c.fired, 1);
	CHECK_EQ_INT(b.fired, 0);
	run_for(l, 150);
	CHECK_EQ_INT(a.fired, 0);
	CHECK_EQ_INT(b.fired, 1);
	CHECK(b.fired_at >= now + 60 * MS);
	CHECK(b.fired_at < now + 250 * MS);
	/* Re-arming later than the armed timerfd: still fires once, on time. */
	now = mono_ns();
	CHECK_EQ_INT(loop_timer_arm(l, &a.timer, now + 20 * MS, on_timer), 0);
	CHECK_EQ_INT(loop_timer_arm(l, &a.timer, now + 80 * MS, on_timer), 0);
	run_for(l, 50);
	CHECK_EQ_INT(a.fired, 0); /* the early expiry was spurious */
	run_for(l, 100);
	CHECK_EQ_INT(a.fired, 1);
	CHECK(a.fired_at >= now + 80 * MS);
	loop_free(l);
}

typedef struct periodic {
	loop_timer timer;
	int count;
} periodic;

static void on_periodic(loop *l, loop_timer *t)
{
	periodic *p = container_of(t, periodic, timer);
	if (++p->count < 10)
		CHECK_EQ_INT(loop_timer_arm(l, t, mono_ns() + 5 * MS, on_periodic), 0);
}

TEST(timer_rearmed_from_its_callback)
{
	loop *l = new_loop();
	periodic p = { .count = 0 };
	loop_timer_init(&p.timer);
	int64_t t0 = mono_ns();
	CHECK_EQ_INT(loop_timer_arm(l, &p.timer, t0 + 5 * MS, on_periodic), 0);
	while (p.count < 10 && mono_ns() - t0 < 2000 * MS)
		CHECK(loop_run_once(l, -1) >= 0);
	CHECK_EQ_INT(p.count, 10);
	CHECK(mono_ns() - t0 >= 50 * MS);
	CHECK(!heap_node_queued(&p.timer.node));
	loop_free(l);
}

/* Two readable pipes in one batch: whichever runs first removes the other,
 * which must then not run. */
typedef struct pair_watch {
	loop_watch w;
	struct pair_watch *other;
	int calls;
} pair_watch;

static void on_pair(loop *l, loop_watch *w, uint32_t events)
{
	CHECK(events & EPOLLIN);
	pair_watch *p = container_of(w, pair_watch, w);
	p->calls++;
	loop_watch_del(l, &p->other->w);
	CHECK_EQ_INT(p->other->w.fd, -1);
}

TEST(watch_removed_in_batch_is_skipped)
{
	loop *l = new_loop();
	int p1[2], p2[2];
	CHECK_EQ_INT(pipe2(p1, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK_EQ_INT(pipe2(p2, O_CLOEXEC | O_NONBLOCK), 0);
	pair_watch a = { .calls = 0 }, b = { .calls = 0 };
	a.other = &b;
	b.other = &a;
	loop_watch_init(&a.w);
	loop_watch_init(&b.w);
	CHECK_EQ_INT(loop_watch_add(l, &a.w, p1[0], EPOLLIN, on_pair), 0);
	CHECK_EQ_INT(loop_watch_add(l, &b.w, p2[0], EPOLLIN, on_pair), 0);
	CHECK_EQ_INT(a.w.fd, p1[0]);
	CHECK_EQ_INT(write(p1[1], "x", 1), 1);
	CHECK_EQ_INT(write(p2[1], "y", 1), 1);
	CHECK_EQ_INT(loop_run_once(l, 1000), 2); /* both events in one batch */
	CHECK_EQ_INT(a.calls + b.calls, 1);
	/* Watching a descriptor twice fails; deleting twice is fine. */
	pair_watch *alive = a.calls ? &a : &b;
	loop_watch dup;
	loop_watch_init(&dup);
	CHECK_EQ_INT(loop_watch_add(l, &dup, alive->w.fd, EPOLLIN, on_pair), -EEXIST);
	CHECK_EQ_INT(dup.fd, -1);
	loop_watch_del(l, &a.w);
	loop_watch_del(l, &b.w);
	loop_watch_del(l, &a.w);
	CHECK_EQ_INT(loop_run_once(l, 20), 0);
	loop_free(l);
	close(p1[0]);
	close(p1[1]);
	close(p2[0]);
	close(p2[1]);
}

typedef struct io_count {
	loop_watch w;
	int calls;
	uint32_t events;
} io_count;

static void on_io(loop *l, loop_watch *w, uint32_t events)
{
	(void)l;
	io_count *c = container_of(w, io_count, w);
	c->calls++;
	c->events |= events;
}

TEST(watch_mod_changes_events)
{
	loop *l = new_loop();
	int p[2];
	CHECK_EQ_INT(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	io_count c = { .calls = 0 };
	loop_watch_init(&c.w);
	/* The write end of an empty pipe is writable at once. */
	CHECK_EQ_INT(loop_watch_add(l, &c.w, p[1], EPOLLOUT, on_io), 0);
	CHECK_EQ_INT(loop_run_once(l, 1000), 1);
	CHECK_EQ_INT(c.calls, 1);
	CHECK(c.events & EPOLLOUT);
	/* Level-triggered: again. */
	CHECK_EQ_INT(loop_run_once(l, 1000), 1);
	CHECK_EQ_INT(c.calls, 2);
	/* Only EPOLLIN on a write end: nothing. */
	CHECK_EQ_INT(loop_watch_mod(l, &c.w, EPOLLIN), 0);
	CHECK_EQ_INT(loop_run_once(l, 20), 0);
	CHECK_EQ_INT(c.calls, 2);
	/* Closing the read end reports an error on the write end. */
	close(p[0]);
	CHECK_EQ_INT(loop_run_once(l, 1000), 1);
	CHECK_EQ_INT(c.calls, 3);
	CHECK(c.events & EPOLLERR);
	loop_watch_del(l, &c.w);
	loop_free(l);
	close(p[1]);
}

typedef struct wake_ctx {
	atomic_int wakes;
	pthread_t thread;
} wake_ctx;

static void on_wake(loop *l, void *ud)
{
	(void)l;
	wake_ctx *w = ud;
	atomic_fetch_add(&w->wakes, 1);
	w->thread = pthread_self();
}

static void *waker(void *arg)
{
	loop *l = arg;
	usleep(50 * 1000);
	for (int i = 0; i < 100; i++)
		loop_wake(l);
	return NULL;
}

TEST(wake_from_another_thread)
{
	wake_ctx w = { .wakes = 0 };
	loop *l = NULL;
	CHECK_EQ_INT(loop_new(on_wake, &w, &l), 0);
	pthread_t th;
	CHECK_EQ_INT(pthread_create(&th, NULL, waker, l), 0);
	int64_t t0 = mono_ns();
	while (atomic_load(&w.wakes) == 0 && mono_ns() - t0 < 2000 * MS)
		CHECK(loop_run_once(l, -1) >= 0);
	CHECK(mono_ns() - t0 >= 40 * MS);
	CHECK_EQ_INT(pthread_join(th, NULL), 0);
	/* Many wakes collapse: after draining, the loop is quiet again. */
	while (loop_run_once(l, 0) > 0)
		;
	int wakes = atomic_load(&w.wakes);
	CHECK(wakes >= 1 && wakes <= 100);
	CHECK(pthread_equal(w.thread, pthread_self()));
	CHECK_EQ_INT(loop_run_once(l, 20), 0);
	CHECK_EQ_INT(atomic_load(&w.wakes), wakes);
	loop_free(l);
}

/* An embedding host polls loop_fd(): it turns readable when a timer is due
 * or a wake arrives. */
TEST(loop_fd_is_pollable)
{
	loop *l = new_loop();
	struct pollfd pfd = { .fd = loop_fd(l), .events = POLLIN };
	CHECK(pfd.fd >= 0);
	CHECK_EQ_INT(poll(&pfd, 1, 0), 0);
	tm_rec r = { .id = 7 };
	loop_timer_init(&r.timer);
	int64_t t0 = mono_ns();
	CHECK_EQ_INT(loop_timer_arm(l, &r.timer, t0 + 30 * MS, on_timer), 0);
	CHECK_EQ_INT(poll(&pfd, 1, 1000), 1);
	CHECK(mono_ns() - t0 >= 25 * MS);
	CHECK_EQ_INT(loop_run_once(l, 0), 1);
	CHECK_EQ_INT(r.fired, 1);
	CHECK_EQ_INT(poll(&pfd, 1, 0), 0);
	loop_wake(l);
	CHECK_EQ_INT(poll(&pfd, 1, 1000), 1);
	CHECK_EQ_INT(loop_run_once(l, 0), 1);
	CHECK_EQ_INT(poll(&pfd, 1, 0), 0);
	loop_free(l);
}
