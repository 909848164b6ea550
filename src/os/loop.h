/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one epoll set, one timerfd for every deadline (kept in a
 * heap), one eventfd to wake the loop from other threads.
 *
 * Watches and timers are embedded in their owners. A watch removed while
 * events for it are still in the current batch is skipped (its fd reads -1),
 * so owners must stay allocated until the end of the iteration: the runtime
 * frees tasks only after loop_run_once returns.
 */
#ifndef ART_OS_LOOP_H
#define ART_OS_LOOP_H

#include <stdint.h>

#include "base/heap.h"

typedef struct loop loop;
typedef struct loop_watch loop_watch;
typedef struct loop_timer loop_timer;

typedef void (*loop_io_fn)(loop *l, loop_watch *w, uint32_t events);
typedef void (*loop_timer_fn)(loop *l, loop_timer *t);
typedef void (*loop_wake_fn)(loop *l, void *userdata);

struct loop_watch {
	int fd; /* -1 when not watched */
	loop_io_fn fn;
};

struct loop_timer {
	heap_node node; /* key: CLOCK_MONOTONIC deadline in ns */
	loop_timer_fn fn;
};

int loop_new(loop_wake_fn on_wake, void *userdata, loop **out);
void loop_free(loop *l);

static inline void loop_watch_init(loop_watch *w)
{
	w->fd = -1;
}
int loop_watch_add(loop *l, loop_watch *w, int fd, uint32_t events, loop_io_fn fn);
int loop_watch_mod(loop *l, loop_watch *w, uint32_t events);
/* Stops watching; does not close the descriptor. */
void loop_watch_del(loop *l, loop_watch *w);

static inline void loop_timer_init(loop_timer *t)
{
	heap_node_init(&t->node);
}
int loop_timer_arm(loop *l, loop_timer *t, int64_t deadline_ns, loop_timer_fn fn);
void loop_timer_disarm(loop *l, loop_timer *t);

/* Waits up to timeout_ms (-1: no limit) and dispatches what is ready.
 * Returns the number of events handled, or a negative errno. */
int loop_run_once(loop *l, int timeout_ms);
/* [any thread] Makes the loop wake up and call on_wake. */
void loop_wake(loop *l);
int loop_fd(const loop *l);

#endif
