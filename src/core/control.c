/* SPDX-License-Identifier: MIT */
/*
 * Requests about one running task from any thread: cancel, pause, resume,
 * its live statistics, a change of limit. The loop applies them; a
 * statistics or limit request is answered under the runtime's lock, which
 * its asker waits on (so an asker that gave up can take its request back).
 */
#include <errno.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"
#include "core/internal.h"

void control_apply(art_runtime *rt, cancel_req *c)
{
	(void)rt;
	switch (c->op) {
	case TASK_REQ_CANCEL:
		task_dispatch(c->task, EV_CANCEL);
		break;
	case TASK_REQ_PAUSE:
	case TASK_REQ_RESUME:
		task_pause(c->task, mono_ns(), c->op == TASK_REQ_PAUSE);
		break;
	}
}

void control_stats(art_task *t, art_task_stats *out)
{
	int64_t now = mono_ns();
	art_task_stats st = {
		.state = t->state,
		.paused = t->paused,
		.frozen = t->frozen,
		.pid = t->pid,
		.attempts = t->result.attempts,
		.stopped_ns = t->result.frozen_ns + (t->stopped ? now - t->frozen_since : 0),
	};
	if ((t->state == ART_TASK_RUNNING || t->state == ART_TASK_STOPPING) && t->pidfd >= 0) {
		st.uptime_ns = now - t->result.started_ns;
		task_sample s = { 0 };
		int64_t cpu = 0;
		sample_read(t, &s, &cpu);
		st.cpu_ns = cpu;
		st.rss_bytes = s.rss_bytes;
		st.procs = s.procs;
	}
	*out = st;
}

/* Called with rt->mu held, on the loop thread. */
void control_answer_stats(art_runtime *rt, list_node *reqs)
{
	list_node *n;
	bool any = false;
	while ((n = list_pop_front(reqs))) {
		stats_req *r = container_of(n, stats_req, link);
		control_stats(r->task, r->out);
		r->done = true;
		any = true;
	}
	if (any)
		pthread_cond_broadcast(&rt->stats_done);
}

/* Called with rt->mu held, on the loop thread. A cgroup write is quick,
 * but a lower v1 memory limit makes the kernel reclaim first: it is done
 * under mu all the same, as the asker's request lives on its stack. */
void control_answer_limits(art_runtime *rt, list_node *reqs)
{
	list_node *n;
	bool any = false;
	while ((n = list_pop_front(reqs))) {
		limit_req *r = container_of(n, limit_req, link);
		r->result = iso_set_limit(r->task, r->limit, r->value, &r->err);
		r->done = true;
		any = true;
	}
	if (any)
		pthread_cond_broadcast(&rt->stats_done);
}
