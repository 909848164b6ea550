/* SPDX-License-Identifier: MIT */
/*
 * Learnt workload classes. Each kind keeps exponential moving averages of
 * its finished tasks' CPU utilisation (cpu time / wall time) and peak
 * memory. Once warmed up (learn_warmup tasks) a kind is "cpu" (average
 * utilisation >= cpu_class_util), else "memory" (average peak >=
 * memory_class_fraction of the memory capacity), else "io"; and entries of
 * the kind that declared no request get the averages as requests: CPU =
 * the utilisation (an I/O-bound task asks ~10 millicores, so many run side
 * by side; a CPU-bound one ~1000), memory = the peak * memory_margin.
 * Averages rather than maxima: a kind's tasks vary, and admission errs on
 * neither side for long; the margin covers memory, where erring low hurts.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "base/macros.h"
#include "sched/sched_private.h"

static const char *const workload_names[] = {
	[SCHED_WORKLOAD_UNKNOWN] = "unknown",
	[SCHED_WORKLOAD_CPU] = "cpu",
	[SCHED_WORKLOAD_MEMORY] = "memory",
	[SCHED_WORKLOAD_IO] = "io",
};

const char *sched_workload_to_string(sched_workload w)
{
	return (unsigned)w < ARRAY_SIZE(workload_names) ? workload_names[w] : NULL;
}

void sched_learn(const sched_config *c, struct sched_kind *k, const sched_usage *u)
{
	/* A task that ran for no time says nothing about utilisation. */
	if (!u || u->wall_ns <= 0 || u->cpu_ns < 0 || u->peak_memory < 0)
		return;
	double util = (double)u->cpu_ns / (double)u->wall_ns;
	double peak = (double)u->peak_memory;
	if (!k->samples) {
		k->util = util;
		k->peak = peak;
	} else {
		k->util += c->learn_alpha * (util - k->util);
		k->peak += c->learn_alpha * (peak - k->peak);
	}
	if (k->samples < UINT_MAX)
		k->samples++;
}

static bool warmed(const sched_config *c, const struct sched_kind *k)
{
	return k->samples && k->samples >= c->learn_warmup;
}

/* Averages are bounded by what a task can report, but keep the
 * conversion defined whatever they are. */
static int64_t to_i64(double v)
{
	if (!(v > 0))
		return 0;
	if (v >= (double)(INT64_MAX / 2))
		return INT64_MAX / 2;
	return (int64_t)(v + 0.5);
}

static int64_t learnt_cpu(const struct sched_kind *k)
{
	/* At least a millicore: a request of 0 would let a kind start
	 * without bound under a CPU capacity. */
	return MAX(to_i64(k->util * 1000), INT64_C(1));
}

static int64_t learnt_memory(const sched_config *c, const struct sched_kind *k)
{
	return to_i64(k->peak * c->memory_margin);
}

static sched_workload workload_of(const sched_config *c, const struct sched_kind *k)
{
	if (!warmed(c, k))
		return SCHED_WORKLOAD_UNKNOWN;
	if (k->util >= c->cpu_class_util)
		return SCHED_WORKLOAD_CPU;
	double threshold = c->memory_capacity ? c->memory_class_fraction * (double)c->memory_capacity :
						(double)c->memory_class_bytes;
	if (k->peak >= threshold)
		return SCHED_WORKLOAD_MEMORY;
	return SCHED_WORKLOAD_IO;
}

void sched_learn_requests(const sched_config *c, const struct sched_kind *k, sched_entry *e)
{
	bool w = warmed(c, k);

	if (e->cpu_request != SCHED_UNSET) {
		e->cpu_milli = e->cpu_request;
		e->cpu_source = SCHED_REQ_DECLARED;
	} else if (w) {
		e->cpu_milli = learnt_cpu(k);
		e->cpu_source = SCHED_REQ_LEARNT;
	} else {
		e->cpu_milli = c->default_cpu;
		e->cpu_source = SCHED_REQ_DEFAULT;
	}

	if (e->memory_request != SCHED_UNSET) {
		e->memory = e->memory_request;
		e->memory_source = SCHED_REQ_DECLARED;
	} else if (w) {
		e->memory = learnt_memory(c, k);
		e->memory_source = SCHED_REQ_LEARNT;
	} else {
		e->memory = c->default_memory;
		e->memory_source = SCHED_REQ_DEFAULT;
	}
}

int sched_kind_learnt(const sched *s, const char *kind, sched_learnt *ret)
{
	const sched_name *n = sched_table_find(&s->kinds, kind ?: SCHED_DEFAULT_ID);
	if (!n)
		return -ENOENT;
	const struct sched_kind *k = container_of(n, struct sched_kind, name);
	const sched_config *c = &s->cfg;
	bool w = warmed(c, k);
	*ret = (sched_learnt){
		.workload = workload_of(c, k),
		.samples = k->samples,
		.cpu_util = k->util,
		.peak_memory = k->peak,
		.cpu_milli = w ? learnt_cpu(k) : c->default_cpu,
		.memory = w ? learnt_memory(c, k) : c->default_memory,
		.source = w ? SCHED_REQ_LEARNT : SCHED_REQ_DEFAULT,
	};
	return 0;
}
