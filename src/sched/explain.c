/* SPDX-License-Identifier: MIT */
/*
 * Why a task waited. The scheduler keeps the time it spent in each global
 * state (pressure, global cap reached, free) and, on the free clock (which
 * stands still while the scheduler is held), the time each flow spent in
 * each state (what held its head at sched_next()'s last look). At enqueue
 * an entry copies the totals; at start the differences split its wait,
 * exactly, into the reasons. O(1) per event and per entry. See sched.h
 * for what is approximate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"
#include "sched/sched_private.h"

static const char *const reason_names[_SCHED_WAIT_MAX] = {
	[SCHED_WAIT_PRESSURE] = "memory pressure",
	[SCHED_WAIT_GLOBAL_CAP] = "global cap",
	[SCHED_WAIT_GROUP_CAP] = "group cap",
	[SCHED_WAIT_KIND_CAP] = "kind cap",
	[SCHED_WAIT_GROUP_RATE] = "group rate",
	[SCHED_WAIT_KIND_RATE] = "kind rate",
	[SCHED_WAIT_CPU] = "cpu",
	[SCHED_WAIT_MEMORY] = "memory",
	[SCHED_WAIT_RESERVED] = "reserved",
	[SCHED_WAIT_ORDER] = "priority",
};

const char *sched_wait_reason_to_string(sched_wait_reason r)
{
	return (unsigned)r < _SCHED_WAIT_MAX ? reason_names[r] : NULL;
}

/* The totals of every state that can hold a queued entry, at now. */
static void totals(const sched *s, const sched_entry *e, int64_t now, int64_t t[_SCHED_WAIT_MAX])
{
	int64_t free_now = sched_free_clock(s, now);
	for (int r = 0; r < _SCHED_WAIT_MAX; r++)
		t[r] = sched_clock_read(&e->flow->held, (sched_wait_reason)r, free_now);
	t[SCHED_WAIT_PRESSURE] = sched_clock_read(&s->global, SCHED_WAIT_PRESSURE, now);
	t[SCHED_WAIT_GLOBAL_CAP] = sched_clock_read(&s->global, SCHED_WAIT_GLOBAL_CAP, now);
}

void sched_wait_snapshot(const sched *s, sched_entry *e, int64_t now)
{
	totals(s, e, now, e->wait);
}

/* The states partition the wait; the clipping only guards against a
 * caller whose clock went backwards. What is left is ORDER. */
static void compute(const sched *s, const sched_entry *e, int64_t now, sched_wait *w)
{
	int64_t t[_SCHED_WAIT_MAX];
	int64_t left = MAX(now - e->enqueued_at, INT64_C(0));

	totals(s, e, now, t);
	w->total_ns = left;
	for (int r = 0; r < SCHED_WAIT_ORDER; r++) {
		int64_t d = t[r] - e->wait[r];
		d = d < 0 ? 0 : MIN(d, left);
		w->ns[r] = d;
		left -= d;
	}
	w->ns[SCHED_WAIT_ORDER] = left;
}

void sched_wait_settle(const sched *s, sched_entry *e, int64_t now)
{
	sched_wait w;

	if (e->started)
		return; /* a thawed or re-run entry keeps its first wait */
	compute(s, e, now, &w);
	memcpy(e->wait, w.ns, sizeof(e->wait));
}

int sched_entry_wait(const sched *s, const sched_entry *e, int64_t now, sched_wait *ret)
{
	if (e->state == SCHED_QUEUED) {
		compute(s, e, now, ret);
		return 0;
	}
	if (!e->started)
		return -EINVAL;
	ret->total_ns = e->started_at - e->enqueued_at;
	memcpy(ret->ns, e->wait, sizeof(ret->ns));
	return 0;
}

int sched_explain(const sched *s, const sched_entry *e, int64_t now, char *buf, size_t size)
{
	/* Ten reasons of at most ~40 bytes each, and the head. */
	char tmp[512];
	sched_wait w;
	int order[_SCHED_WAIT_MAX];
	size_t len;

	int r = sched_entry_wait(s, e, now, &w);
	if (r < 0)
		return r;

	if (w.total_ns <= 0)
		len = (size_t)snprintf(tmp, sizeof(tmp), "did not wait");
	else {
		/* Largest first; equal ones in enum order. */
		for (int i = 0; i < _SCHED_WAIT_MAX; i++) {
			int j = i;
			for (; j > 0 && w.ns[order[j - 1]] < w.ns[i]; j--)
				order[j] = order[j - 1];
			order[j] = i;
		}
		len = (size_t)snprintf(tmp, sizeof(tmp), "waited %.2fs",
				       (double)w.total_ns / (double)NSEC_PER_SEC);
		const char *sep = ": ";
		for (int i = 0; i < _SCHED_WAIT_MAX; i++) {
			int64_t ns = w.ns[order[i]];
			if (ns < 5 * NSEC_PER_MSEC)
				break;
			len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, "%s%s %.2fs", sep,
						reason_names[order[i]],
						(double)ns / (double)NSEC_PER_SEC);
			sep = ", ";
		}
	}
	if (len + 1 > size)
		return -ENOBUFS;
	memcpy(buf, tmp, len + 1);
	return 0;
}
