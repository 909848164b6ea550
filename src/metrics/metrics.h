/* SPDX-License-Identifier: MIT */
/*
 * Metrics: counters, gauges, histograms and summaries with labels, kept in a
 * registry that the caller owns (no global state), exposed as Prometheus
 * text 0.0.4 or OpenMetrics 1.0. docs/metrics.md has the details.
 *
 * Objects and ownership:
 *
 *   metrics_registry   owns its families; freed with metrics_registry_free().
 *   metric_family      a name, help, type, unit and a fixed list of label
 *                      names. Owned by the registry, lives as long as it.
 *   metric_counter,    one series (child) of a family: one set of label
 *   metric_gauge, ...  values. Owned by the family, lives as long as the
 *                      registry, so a pointer may be cached and used from
 *                      any thread without a lock. There is no removal.
 *
 * Threads: every function may be called from any thread. Looking a child up
 * takes the family's mutex; updating a child (inc, add, set, observe) is
 * lock-free and takes a few atomic instructions, so callers look children up
 * once and keep the pointer. Exposition copies the lists of families and
 * children under those mutexes and writes the text without a lock.
 *
 * Errors: functions return 0 or -errno, and leave output parameters
 * untouched on failure. -EINVAL: a bad name, label, bucket list or value
 * count; -EEXIST: the family name is taken; -E2BIG: the family already has
 * its maximum number of series (its cardinality cap).
 */
#ifndef ART_METRICS_METRICS_H
#define ART_METRICS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/macros.h"
#include "metrics/textbuf.h"

typedef struct metrics_registry metrics_registry;
typedef struct metric_family metric_family;
/* Children. Each type is its own so that a counter cannot be observed as a
 * histogram by mistake; all are views of one internal struct. */
typedef struct metric_counter metric_counter;
typedef struct metric_gauge metric_gauge;
typedef struct metric_histogram metric_histogram;
typedef struct metric_summary metric_summary;

typedef enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
	METRIC_SUMMARY,
} metric_type;

/* ------------------------------------------------------------ registry */

/* The series cap of a family that sets none and whose registry sets none. */
#define METRICS_DEFAULT_MAX_SERIES 1000

enum {
	/* Add the standard process_* metrics of the calling process, read from
	 * /proc/self at each exposition (metrics_add_process_collector). */
	METRICS_PROCESS = 1u << 0,
};

/* A monotonic clock in nanoseconds; summaries use it to place observations
 * in their time window. Tests inject their own. */
typedef int64_t (*metrics_clock_fn)(void *userdata);

typedef struct metrics_registry_options {
	unsigned flags;         /* METRICS_PROCESS */
	size_t max_series;      /* default series cap per family; 0: the default above */
	metrics_clock_fn clock; /* NULL: CLOCK_MONOTONIC_COARSE (cheap; ms resolution) */
	void *clock_userdata;
} metrics_registry_options;

/* opts may be NULL for the defaults. */
int metrics_registry_new(const metrics_registry_options *opts, metrics_registry **ret);
/* Frees the registry, its families and children; returns NULL. No other
 * thread may use any of them any more. */
metrics_registry *metrics_registry_free(metrics_registry *r);
static inline void metrics_registry_freep(metrics_registry **r)
{
	if (*r)
		metrics_registry_free(*r);
}
#define _cleanup_metrics_registry_ _cleanup_(metrics_registry_freep)

/* The registry's clock, in nanoseconds. */
int64_t metrics_now(const metrics_registry *r);

/* A collector runs at the start of every exposition, without locks held,
 * to bring metrics kept elsewhere up to date (set gauges, counters). An
 * error fails the exposition. free_userdata (may be NULL) runs when the
 * registry is freed. */
typedef int (*metrics_collect_fn)(metrics_registry *r, void *userdata);
int metrics_add_collector(metrics_registry *r, metrics_collect_fn collect, void *userdata,
			  void (*free_userdata)(void *));

/* Registers process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_open_fds, process_max_fds and
 * process_start_time_seconds, updated from /proc/self when exposed. */
int metrics_add_process_collector(metrics_registry *r);

/* ------------------------------------------------------------ families */

typedef struct metric_desc {
	/* [a-zA-Z_][a-zA-Z0-9_]*, in base units (_seconds, _bytes). A counter
	 * may be named with or without its _total suffix: it is exposed as
	 * NAME_total either way, and its OpenMetrics family as NAME. No name
	 * (a counter's: without its _total) may end in _total, _created,
	 * _count, _sum or _bucket, the suffixes of samples. */
	const char *name;
	const char *help; /* UTF-8; NULL or "": no HELP line */
	/* NULL or "": none. Otherwise [a-zA-Z0-9_]+, and the name (without
	 * _total) must end in "_" unit, as OpenMetrics requires. */
	const char *unit;
	/* NULL-terminated label names, or NULL: [a-zA-Z_][a-zA-Z0-9_]*, not
	 * starting with "__", unique; "le" is reserved for histograms and
	 * "quantile" for summaries. At most METRICS_MAX_LABELS. */
	const char *const *labels;
	size_t max_series; /* cardinality cap; 0: the registry's */
} metric_desc;

#define METRICS_MAX_LABELS 16
#define METRICS_MAX_BUCKETS 1024

/* A family without labels gets its one series at once, so it is exposed
 * (as 0) before its first update. */
int metrics_counter_new(metrics_registry *r, const metric_desc *d, metric_family **ret);
int metrics_gauge_new(metrics_registry *r, const metric_desc *d, metric_family **ret);
/* bounds: the buckets' upper bounds (a bucket counts v <= bound), strictly
 * increasing, not NaN; a last +Inf may be given or not, it is always
 * added. NULL: the Prometheus defaults, .005 to 10 (seconds). */
int metrics_histogram_new(metrics_registry *r, const metric_desc *d, const double *bounds,
			  size_t n_bounds, metric_family **ret);

#define METRICS_MAX_QUANTILES 32
#define METRICS_MAX_AGE_BUCKETS 60

typedef struct metric_summary_options {
	/* In [0, 1], any order, no duplicates, at most METRICS_MAX_QUANTILES.
	 * NULL: 0.5, 0.9, 0.99. */
	const double *quantiles;
	size_t n_quantiles;
	int64_t max_age_ns; /* the window; 0: 10 minutes */
	/* Sub-windows in the ring, 1..METRICS_MAX_AGE_BUCKETS; 0: 5. More
	 * make the window slide more smoothly and cost memory. */
	unsigned age_buckets;
} metric_summary_options;

/* opts may be NULL for the defaults. */
int metrics_summary_new(metrics_registry *r, const metric_desc *d,
			const metric_summary_options *opts, metric_family **ret);

metric_type metric_family_type(const metric_family *f);
/* The series (child) with these label values, created on first use.
 * values is NULL-terminated and has one entry per label name (NULL for a
 * family without labels); values must be UTF-8. -EINVAL for a wrong count or
 * a family of another type, -E2BIG past the cap. */
int metric_family_counter(metric_family *f, const char *const *values, metric_counter **ret);
int metric_family_gauge(metric_family *f, const char *const *values, metric_gauge **ret);
int metric_family_histogram(metric_family *f, const char *const *values, metric_histogram **ret);
int metric_family_summary(metric_family *f, const char *const *values, metric_summary **ret);
/* The number of series the family has. */
size_t metric_family_size(metric_family *f);

/* METRIC_LABELS("GET", "200") is a NULL-terminated array of label values. */
#define METRIC_LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Bucket bounds: start, start + width, ... (n of them), and start,
 * start * factor, ... (start > 0, factor > 1). out holds n. */
int metrics_linear_buckets(double start, double width, size_t n, double *out);
int metrics_exponential_buckets(double start, double factor, size_t n, double *out);

/* ------------------------------------------------------------ updates
 * Lock-free; relaxed atomics: a reader sees each value whole, and the
 * series' values need no order among themselves. */

void metric_counter_inc(metric_counter *c);
/* v >= 0 (+Inf allowed); -EINVAL for a negative v or NaN. Whole numbers
 * below 2^63 are added exactly to an integer part, others to a double. */
int metric_counter_add(metric_counter *c, double v);
/* For collectors mirroring a counter kept elsewhere (CPU time): replaces
 * the value, which should not decrease. */
void metric_counter_set(metric_counter *c, double v);
double metric_counter_value(const metric_counter *c);

void metric_gauge_set(metric_gauge *g, double v);
void metric_gauge_add(metric_gauge *g, double v);
static inline void metric_gauge_inc(metric_gauge *g)
{
	metric_gauge_add(g, 1.0);
}
static inline void metric_gauge_dec(metric_gauge *g)
{
	metric_gauge_add(g, -1.0);
}
double metric_gauge_value(const metric_gauge *g);

/* NaN lands in the +Inf bucket and makes the sum NaN (as in the Go client). */
void metric_histogram_observe(metric_histogram *h, double v);
/* Bucket i's count, not cumulative (i == number of bounds: the +Inf
 * bucket); the count of all observations; their sum. */
uint64_t metric_histogram_bucket(const metric_histogram *h, size_t i);
uint64_t metric_histogram_count(const metric_histogram *h);
double metric_histogram_sum(const metric_histogram *h);

/* Observes v at the registry's clock, or at now_ns of the same clock.
 * NaN counts in _count and _sum, not in the quantiles. */
void metric_summary_observe(metric_summary *s, double v);
void metric_summary_observe_at(metric_summary *s, double v, int64_t now_ns);
/* The q-quantile (0 <= q <= 1) of the observations in the window ending at
 * now_ns; NaN when the window is empty. See docs/metrics.md for the error. */
double metric_summary_quantile_at(metric_summary *s, double q, int64_t now_ns);
/* All-time count and sum, as exposed in _count and _sum. */
uint64_t metric_summary_count(const metric_summary *s);
double metric_summary_sum(const metric_summary *s);

/* ------------------------------------------------------------ timer */

/* Measures a duration with CLOCK_MONOTONIC and observes it in seconds into
 * a histogram or a summary:
 *
 *   _cleanup_metric_timer_ metric_timer t = metric_timer_histogram(h);
 *
 * observes when t leaves scope, or earlier with metric_timer_observe(). */
typedef struct metric_timer {
	void *metric; /* the histogram or summary; NULL once observed */
	bool summary;
	int64_t start_ns;
} metric_timer;

metric_timer metric_timer_histogram(metric_histogram *h);
metric_timer metric_timer_summary(metric_summary *s);
/* Observes the seconds elapsed since the start, once; returns them (0 when
 * already observed). */
double metric_timer_observe(metric_timer *t);
static inline void metric_timer_observep(metric_timer *t)
{
	metric_timer_observe(t);
}
#define _cleanup_metric_timer_ _cleanup_(metric_timer_observep)

/* ------------------------------------------------------------ exposition */

typedef enum metrics_format {
	METRICS_PROMETHEUS,  /* text/plain; version=0.0.4 */
	METRICS_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
} metrics_format;

/* The Content-Type header for a format. */
const char *metrics_content_type(metrics_format fmt);

/* Runs the collectors, then appends every family with at least one series
 * to out, in registration order, series in creation order. On failure out
 * is as it was. */
int metrics_expose(metrics_registry *r, metrics_format fmt, textbuf *out);

#endif
