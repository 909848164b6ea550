/* SPDX-License-Identifier: MIT */
/*
 * The runtime's own metrics (docs/metrics.md, "The runtime's metrics"), in
 * a registry per runtime.
 *
 * The loop thread updates them where a task moves (drained, started, a
 * try ended, reported) and, at the end of each iteration, mirrors what the
 * loop keeps as plain fields (frozen, held, pressure, the output pool,
 * preemptions, orphans): those fields are the loop's alone, so another
 * thread never reads them. Submissions are counted by the submitting
 * thread. Updates are lock-free and an exposition copies what it walks
 * under the registry's mutexes, so art_runtime_metrics may run on any
 * thread while the loop works.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"
#include "core/internal.h"
#include "metrics/metrics.h"

/* Groups with a series of their own; tasks of later ones are counted under
 * RTM_OTHER_GROUP. The families hold one series more, for it. */
#define RTM_MAX_GROUPS 128
#define RTM_OTHER_GROUP "_other"

enum { RTM_NONE, RTM_QUEUED, RTM_RUNNING };

/* The last art_end: every end gets its series. */
#define ART_END_LAST_ ART_END_WATCHDOG

struct rt_metrics {
	metrics_registry *reg;
	metric_counter *submitted, *started, *failed, *retries, *restarts, *oom_kills, *preemptions,
		*orphans_killed, *pool_hits, *pool_misses;
	metric_counter *ended[ART_END_LAST_ + 1];
	metric_family *spawn_failures_f;
	metric_counter *spawn_failures[ART_STAGE_SANDBOX + 1]; /* made at first use */
	metric_histogram *duration, *queue_wait;
	metric_family *running_f, *queued_f, *breaker_f;
	metric_gauge *frozen, *held, *paused;
	/* The last group looked up: most batches have one or a few. */
	char *last_group;
	metric_gauge *last_running, *last_queued;
};

/* 1 ms to 1 h, about three buckets a decade. */
static const double task_seconds_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5,   5,      10,    30,   60,    120,  300, 600,  1800, 3600,
};

static int counter(metrics_registry *reg, const char *name, const char *help,
		   metric_counter **ret)
{
	metric_family *f;
	int r = metrics_counter_new(reg, &(metric_desc){ .name = name, .help = help }, &f);
	return r < 0 ? r : metric_family_counter(f, NULL, ret);
}

static int gauge(metrics_registry *reg, const char *name, const char *help, metric_gauge **ret)
{
	metric_family *f;
	int r = metrics_gauge_new(reg, &(metric_desc){ .name = name, .help = help }, &f);
	return r < 0 ? r : metric_family_gauge(f, NULL, ret);
}

static int histogram(metrics_registry *reg, const char *name, const char *help,
		     metric_histogram **ret)
{
	metric_family *f;
	int r = metrics_histogram_new(reg,
				      &(metric_desc){ .name = name, .help = help, .unit = "seconds" },
				      task_seconds_buckets, ARRAY_SIZE(task_seconds_buckets), &f);
	return r < 0 ? r : metric_family_histogram(f, NULL, ret);
}

static int group_gauge(metrics_registry *reg, const char *name, const char *help,
		       metric_family **ret)
{
	return metrics_gauge_new(reg,
				 &(metric_desc){ .name = name,
						 .help = help,
						 .labels = METRIC_LABELS("group"),
						 .max_series = RTM_MAX_GROUPS + 1 },
				 ret);
}

static int rtm_build(rt_metrics *m)
{
	metrics_registry *reg = m->reg;
	metric_family *ended_f;
	int r;
	if ((r = counter(reg, "agentrt_tasks_submitted_total", "Tasks submitted.",
			 &m->submitted)) < 0 ||
	    (r = counter(reg, "agentrt_tasks_started_total",
			 "Tasks started (each try of a retried task counts).", &m->started)) < 0 ||
	    (r = metrics_counter_new(reg,
				     &(metric_desc){ .name = "agentrt_tasks_ended_total",
						     .help = "Tasks reported ended, by how they ended.",
						     .labels = METRIC_LABELS("reason") },
				     &ended_f)) < 0 ||
	    (r = counter(reg, "agentrt_tasks_failed_total",
			 "Tasks reported ended other than with exit code 0.", &m->failed)) < 0 ||
	    (r = histogram(reg, "agentrt_task_duration_seconds",
			   "Wall time of each try that started, from spawn to reap.",
			   &m->duration)) < 0 ||
	    (r = histogram(reg, "agentrt_task_queue_wait_seconds",
			   "Time from submission to a task's first start.", &m->queue_wait)) < 0 ||
	    (r = group_gauge(reg, "agentrt_tasks_running",
			     "Tasks running or stopping (frozen ones included), by group.",
			     &m->running_f)) < 0 ||
	    (r = group_gauge(reg, "agentrt_tasks_queued",
			     "Tasks queued, waiting for dependencies or to start, by group.",
			     &m->queued_f)) < 0 ||
	    (r = gauge(reg, "agentrt_tasks_frozen", "Running tasks frozen for urgent ones.",
		       &m->frozen)) < 0 ||
	    (r = gauge(reg, "agentrt_tasks_held", "Queued tasks waiting for their dependencies.",
		       &m->held)) < 0 ||
	    (r = gauge(reg, "agentrt_admission_paused",
		       "1 while admission is paused for memory pressure.", &m->paused)) < 0 ||
	    (r = counter(reg, "agentrt_task_retries_total", "Failed tries run again.",
			 &m->retries)) < 0 ||
	    (r = counter(reg, "agentrt_task_restarts_total",
			 "Runs started again by a restart policy.", &m->restarts)) < 0 ||
	    (r = metrics_gauge_new(reg,
				   &(metric_desc){ .name = "agentrt_breaker_state",
						   .help = "A kind's circuit breaker: 0 closed, 1 open, "
							   "2 half-open (kinds that have one).",
						   .labels = METRIC_LABELS("kind") },
				   &m->breaker_f)) < 0 ||
	    (r = counter(reg, "agentrt_oom_kills_total",
			 "OOM kills in task cgroups, as the tasks' results report them.",
			 &m->oom_kills)) < 0 ||
	    (r = metrics_counter_new(reg,
				     &(metric_desc){ .name = "agentrt_spawn_failures_total",
						     .help = "Tries that failed to start, by stage.",
						     .labels = METRIC_LABELS("stage") },
				     &m->spawn_failures_f)) < 0 ||
	    (r = counter(reg, "agentrt_preemptions_total", "Tasks frozen for urgent ones.",
			 &m->preemptions)) < 0 ||
	    (r = counter(reg, "agentrt_orphans_killed_total",
			 "Processes that outlived their task's leader and were killed.",
			 &m->orphans_killed)) < 0 ||
	    (r = counter(reg, "agentrt_output_pool_hits_total",
			 "Output buffers served from the free list.", &m->pool_hits)) < 0 ||
	    (r = counter(reg, "agentrt_output_pool_misses_total",
			 "Output buffers that had to be allocated.", &m->pool_misses)) < 0)
		return r;
	/* Every reason from the start, so that a rate over one is 0, not absent. */
	for (art_end e = ART_END_EXITED; e <= ART_END_LAST_; e++)
		if ((r = metric_family_counter(ended_f, METRIC_LABELS(art_end_name(e)),
					       &m->ended[e])) < 0)
			return r;
	return metrics_add_process_collector(reg);
}

int rtm_new(art_runtime *rt)
{
	rt_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int r = metrics_registry_new(NULL, &m->reg);
	if (r == 0)
		r = rtm_build(m);
	if (r < 0) {
		metrics_registry_free(m->reg);
		free(m);
		return r;
	}
	rt->metrics = m;
	return 0;
}

void rtm_free(art_runtime *rt)
{
	rt_metrics *m = rt->metrics;
	if (!m)
		return;
	metrics_registry_free(m->reg);
	free(m->last_group);
	free(m);
	rt->metrics = NULL;
}

void rtm_submitted(art_runtime *rt, size_t n)
{
	metric_counter_add(rt->metrics->submitted, (double)n);
}

/* The group's series in fam. Past the cap, RTM_OTHER_GROUP's, made as the
 * last regular one is, so that the cap's one spare slot is always its. */
static metric_gauge *group_series(metric_family *fam, const char *group)
{
	metric_gauge *g = NULL;
	if (metric_family_gauge(fam, METRIC_LABELS(group), &g) == 0 &&
	    metric_family_size(fam) < RTM_MAX_GROUPS)
		return g;
	metric_gauge *other = NULL;
	if (metric_family_gauge(fam, METRIC_LABELS(RTM_OTHER_GROUP), &other) < 0)
		return g;
	return g ? g : other;
}

/* Looks the task's group up once; a retry keeps it. */
static void task_group(rt_metrics *m, art_task *t)
{
	if (t->metrics.running)
		return;
	const char *group = t->spec->sched.group ? t->spec->sched.group : "default";
	if (!m->last_group || strcmp(m->last_group, group) != 0) {
		char *copy = strdup(group);
		if (!copy)
			return; /* uncounted per group; the totals still are */
		free(m->last_group);
		m->last_group = copy;
		m->last_running = group_series(m->running_f, group);
		m->last_queued = group_series(m->queued_f, group);
	}
	t->metrics.running = m->last_running;
	t->metrics.queued = m->last_queued;
}

static void move(art_task *t, int where)
{
	rtm_task *tm = &t->metrics;
	if (tm->where == where)
		return;
	metric_gauge *from = tm->where == RTM_QUEUED ? tm->queued
			     : tm->where == RTM_RUNNING ? tm->running
							 : NULL;
	metric_gauge *to = where == RTM_QUEUED ? tm->queued
			   : where == RTM_RUNNING ? tm->running
						  : NULL;
	if (from)
		metric_gauge_dec(from);
	if (to)
		metric_gauge_inc(to);
	tm->where = (unsigned char)where;
}

void rtm_task_queued(art_runtime *rt, art_task *t)
{
	task_group(rt->metrics, t);
	move(t, RTM_QUEUED);
}

void rtm_task_started(art_runtime *rt, art_task *t)
{
	rt_metrics *m = rt->metrics;
	const art_result *res = &t->result;
	metric_counter_inc(m->started);
	if (res->attempts == 1)
		metric_histogram_observe(m->queue_wait,
					 (double)(res->started_ns - res->queued_ns) / NSEC_PER_SEC);
	move(t, RTM_RUNNING);
}

/* What a try that ended tells, whether or not another follows. */
static void try_ended(rt_metrics *m, const art_task *t)
{
	const art_result *res = &t->result;
	if (res->started_ns)
		metric_histogram_observe(m->duration, (double)res->wall_ns / NSEC_PER_SEC);
	if (res->oom_kills)
		metric_counter_add(m->oom_kills, (double)res->oom_kills);
	if (res->end == ART_END_START_FAILED && res->start_stage <= ART_STAGE_SANDBOX) {
		metric_counter **c = &m->spawn_failures[res->start_stage];
		if (!*c)
			metric_family_counter(m->spawn_failures_f,
					      METRIC_LABELS(art_stage_name(res->start_stage)), c);
		if (*c)
			metric_counter_inc(*c);
	}
}

/* A retry or a restart: the counts come from the stats (rtm_sync). */
void rtm_task_retry(art_runtime *rt, art_task *t)
{
	try_ended(rt->metrics, t);
	move(t, RTM_QUEUED);
}

void rtm_breaker_state(art_runtime *rt, const char *kind, int state)
{
	metric_gauge *g = NULL;
	if (metric_family_gauge(rt->metrics->breaker_f, METRIC_LABELS(kind ? kind : "default"),
				&g) == 0 &&
	    g)
		metric_gauge_set(g, state);
}

void rtm_task_ended(art_runtime *rt, art_task *t)
{
	rt_metrics *m = rt->metrics;
	const art_result *res = &t->result;
	try_ended(m, t);
	if (res->end >= ART_END_EXITED && res->end <= ART_END_LAST_)
		metric_counter_inc(m->ended[res->end]);
	if (!art_result_ok(res))
		metric_counter_inc(m->failed);
	move(t, RTM_NONE);
}

void rtm_sync(art_runtime *rt)
{
	rt_metrics *m = rt->metrics;
	metric_gauge_set(m->frozen, rt->n_frozen);
	metric_gauge_set(m->held, rt->n_held);
	metric_gauge_set(m->paused, rt->stats.pressure ? 1 : 0);
	metric_counter_set(m->preemptions, (double)rt->stats.preemptions);
	metric_counter_set(m->retries, (double)rt->stats.retries);
	metric_counter_set(m->restarts, (double)rt->stats.restarts);
	metric_counter_set(m->orphans_killed, (double)rt->stats.orphans_killed);
	metric_counter_set(m->pool_hits, (double)rt->chunks.hits);
	metric_counter_set(m->pool_misses, (double)rt->chunks.misses);
}

int art_runtime_metrics(art_runtime *rt, int format, char **out, size_t *len)
{
	metrics_format fmt;
	switch (format) {
	case ART_METRICS_PROMETHEUS:
		fmt = METRICS_PROMETHEUS;
		break;
	case ART_METRICS_OPENMETRICS:
		fmt = METRICS_OPENMETRICS;
		break;
	default:
		return -EINVAL;
	}
	if (!rt || !out)
		return -EINVAL;
	_cleanup_textbuf_ textbuf text = { 0 };
	int r = metrics_expose(rt->metrics->reg, fmt, &text);
	if (r < 0)
		return r;
	if (!text.data && !(text.data = strdup("")))
		return -ENOMEM;
	if (len)
		*len = text.len;
	*out = steal_ptr(&text.data);
	return 0;
}
