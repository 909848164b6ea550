/* SPDX-License-Identifier: MIT */
/* Updating and reading counters, gauges and histograms: lock-free, relaxed
 * atomics. Relaxed is enough because no reader infers anything from the
 * order of two updates: an exposition may see a histogram's bucket before
 * its sum, and says so in docs/metrics.md. */
#include "metrics/internal.h"

#include <errno.h>
#include <math.h>

#include "base/time.h"

#define RELAXED memory_order_relaxed

void metric_counter_inc(metric_counter *c)
{
	atomic_fetch_add_explicit(&metric_of(c)->counter.n, 1, RELAXED);
}

int metric_counter_add(metric_counter *c, double v)
{
	struct metric *m = metric_of(c);
	if (!(v >= 0))
		return -EINVAL; /* negative or NaN */
	/* Whole amounts go to the integer, exactly and without a CAS loop. */
	if (v < 0x1p63 && v == (double)(uint64_t)v)
		atomic_fetch_add_explicit(&m->counter.n, (uint64_t)v, RELAXED);
	else
		atomic_add_double(&m->counter.extra, v);
	return 0;
}

void metric_counter_set(metric_counter *c, double v)
{
	struct metric *m = metric_of(c);
	/* Only the double moves once n is 0, so a reader never sees a mix. */
	atomic_store_explicit(&m->counter.n, 0, RELAXED);
	atomic_store_explicit(&m->counter.extra, double_bits(v), RELAXED);
}

double metric_counter_value(const metric_counter *c)
{
	struct metric *m = metric_of(c);
	return (double)atomic_load_explicit(&m->counter.n, RELAXED) +
	       atomic_load_double(&m->counter.extra);
}

void metric_gauge_set(metric_gauge *g, double v)
{
	atomic_store_explicit(&metric_of(g)->gauge, double_bits(v), RELAXED);
}

void metric_gauge_add(metric_gauge *g, double v)
{
	atomic_add_double(&metric_of(g)->gauge, v);
}

double metric_gauge_value(const metric_gauge *g)
{
	return atomic_load_double(&metric_of(g)->gauge);
}

void metric_histogram_observe(metric_histogram *h, double v)
{
	struct metric *m = metric_of(h);
	const double *b = m->histogram.bounds;
	/* The first bound >= v; none (v above all, or NaN): the +Inf bucket. */
	size_t lo = 0, hi = m->histogram.n_bounds;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v <= b[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	atomic_fetch_add_explicit(&m->buckets[lo], 1, RELAXED);
	atomic_add_double(&m->histogram.sum, v);
}

uint64_t metric_histogram_bucket(const metric_histogram *h, size_t i)
{
	struct metric *m = metric_of(h);
	if (i > m->histogram.n_bounds)
		return 0;
	return atomic_load_explicit(&m->buckets[i], RELAXED);
}

uint64_t metric_histogram_count(const metric_histogram *h)
{
	struct metric *m = metric_of(h);
	uint64_t n = 0;
	for (size_t i = 0; i <= m->histogram.n_bounds; i++)
		n += atomic_load_explicit(&m->buckets[i], RELAXED);
	return n;
}

double metric_histogram_sum(const metric_histogram *h)
{
	return atomic_load_double(&metric_of(h)->histogram.sum);
}

int metrics_linear_buckets(double start, double width, size_t n, double *out)
{
	if (n == 0 || !isfinite(start) || !(width > 0) || !isfinite(start + width * (double)n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = start + width * (double)i;
	return 0;
}

int metrics_exponential_buckets(double start, double factor, size_t n, double *out)
{
	if (n == 0 || !(start > 0) || !isfinite(start) || !(factor > 1) || !isfinite(factor))
		return -EINVAL;
	/* Checked first, so that out is untouched on failure. */
	double v = start;
	for (size_t i = 1; i < n; i++)
		if (!isfinite(v *= factor))
			return -EINVAL;
	v = start;
	for (size_t i = 0; i < n; i++, v *= factor)
		out[i] = v;
	return 0;
}

/* ------------------------------------------------------------ timer */

metric_timer metric_timer_histogram(metric_histogram *h)
{
	return (metric_timer){ .metric = h, .summary = false, .start_ns = mono_ns() };
}

metric_timer metric_timer_summary(metric_summary *s)
{
	return (metric_timer){ .metric = s, .summary = true, .start_ns = mono_ns() };
}

double metric_timer_observe(metric_timer *t)
{
	if (!t->metric)
		return 0;
	double secs = (double)(mono_ns() - t->start_ns) / (double)NSEC_PER_SEC;
	if (t->summary)
		metric_summary_observe(t->metric, secs);
	else
		metric_histogram_observe(t->metric, secs);
	t->metric = NULL;
	return secs;
}
