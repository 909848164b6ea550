/* SPDX-License-Identifier: MIT */
/*
 * The cost of recording one observation in the metrics layer: counter inc,
 * gauge set, histogram observe (10 buckets), summary observe, and, for
 * comparison, looking a child up by its label values. Each is run on one
 * thread, on two threads updating the same series, and on two threads with
 * a series each. Prints a Markdown table of ns per operation per thread
 * (the best of 3 runs).
 *
 * Build (after `make`) and run:
 *
 *   mkdir -p build/bench && cc -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -Isrc \
 *       bench/metrics_bench.c build/libagentrt.a -ljansson -lseccomp -lpthread \
 *       -o build/bench/metrics_bench && build/bench/metrics_bench
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "metrics/metrics.h"

enum op { OP_COUNTER, OP_GAUGE, OP_HISTOGRAM, OP_SUMMARY, OP_LOOKUP, N_OPS };

static const struct {
	const char *name;
	size_t iters;
} ops[N_OPS] = {
	[OP_COUNTER] = { "counter inc", 20000000 },
	[OP_GAUGE] = { "gauge set", 20000000 },
	[OP_HISTOGRAM] = { "histogram observe (10 buckets)", 10000000 },
	[OP_SUMMARY] = { "summary observe (5 sub-windows)", 10000000 },
	[OP_LOOKUP] = { "child lookup, 2 labels (mutex + hash)", 2000000 },
};

/* Observed values: spread over the buckets and many summary octaves. */
#define N_VALUES 1024
static double values[N_VALUES];

struct series {
	metric_counter *counter;
	metric_gauge *gauge;
	metric_histogram *histogram;
	metric_summary *summary;
	const char *label; /* the lookup's first label value */
};

struct worker {
	enum op op;
	struct series *s;
	metric_family *lookup_family;
	size_t iters;
	pthread_barrier_t *start;
	int64_t t0, t1;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct series *s = w->s;
	pthread_barrier_wait(w->start);
	w->t0 = mono_ns();
	switch (w->op) {
	case OP_COUNTER:
		for (size_t i = 0; i < w->iters; i++)
			metric_counter_inc(s->counter);
		break;
	case OP_GAUGE:
		for (size_t i = 0; i < w->iters; i++)
			metric_gauge_set(s->gauge, values[i % N_VALUES]);
		break;
	case OP_HISTOGRAM:
		for (size_t i = 0; i < w->iters; i++)
			metric_histogram_observe(s->histogram, values[i % N_VALUES]);
		break;
	case OP_SUMMARY:
		for (size_t i = 0; i < w->iters; i++)
			metric_summary_observe(s->summary, values[i % N_VALUES]);
		break;
	case OP_LOOKUP:
		for (size_t i = 0; i < w->iters; i++) {
			metric_counter *c;
			if (metric_family_counter(w->lookup_family,
						  METRIC_LABELS(s->label, "200"), &c) < 0)
				abort();
		}
		break;
	default:
		break;
	}
	w->t1 = mono_ns();
	return NULL;
}

/* ns per operation per thread, for n threads on series[0..n) (all on the
 * first when shared). */
static double run(enum op op, int n, bool shared, struct series *series, metric_family *lf)
{
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)n);
	struct worker w[2];
	pthread_t t[2];
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){ .op = op, .s = &series[shared ? 0 : i], .lookup_family = lf,
					.iters = ops[op].iters, .start = &start };
		if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
			abort();
	}
	int64_t t0 = INT64_MAX, t1 = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		t0 = MIN(t0, w[i].t0);
		t1 = MAX(t1, w[i].t1);
	}
	pthread_barrier_destroy(&start);
	return (double)(t1 - t0) / (double)ops[op].iters;
}

static double best_of_3(enum op op, int n, bool shared, struct series *series, metric_family *lf)
{
	double best = 1e18;
	for (int i = 0; i < 3; i++) {
		double ns = run(op, n, shared, series, lf);
		best = ns < best ? ns : best;
	}
	return best;
}

static void check(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "metrics_bench: %s: %s\n", what, strerror(-r));
		exit(1);
	}
}

int main(void)
{
	/* Log-uniform over 1 us .. 100 s: every bucket of the histogram and
	 * about 27 octaves of the summary get hit. */
	uint64_t x = 88172645463325252u;
	for (int i = 0; i < N_VALUES; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		double v = 1e-6;
		for (uint64_t k = x % 8; k > 0; k--)
			v *= 10;
		values[i] = v * (1 + (double)(x >> 11) / 9007199254740992.0 * 9);
	}

	metrics_registry *r;
	metric_family *fc, *fg, *fh, *fs, *fl;
	check(metrics_registry_new(NULL, &r), "registry");
	const char *const *labels = METRIC_LABELS("worker");
	check(metrics_counter_new(r, &(metric_desc){ .name = "c_total", .labels = labels }, &fc),
	      "counter");
	check(metrics_gauge_new(r, &(metric_desc){ .name = "g", .labels = labels }, &fg), "gauge");
	double bounds[10];
	check(metrics_exponential_buckets(1e-5, 4, 10, bounds), "buckets");
	check(metrics_histogram_new(r, &(metric_desc){ .name = "h_seconds", .labels = labels },
				    bounds, 10, &fh),
	      "histogram");
	check(metrics_summary_new(r, &(metric_desc){ .name = "s_seconds", .labels = labels }, NULL,
				  &fs),
	      "summary");
	check(metrics_counter_new(r, &(metric_desc){ .name = "l_total",
						      .labels = METRIC_LABELS("method", "code") },
				  &fl),
	      "lookup family");

	struct series series[2] = { { .label = "GET" }, { .label = "POST" } };
	for (int i = 0; i < 2; i++) {
		const char *const *v = METRIC_LABELS(i ? "1" : "0");
		metric_counter *c;
		check(metric_family_counter(fc, v, &series[i].counter), "child");
		check(metric_family_gauge(fg, v, &series[i].gauge), "child");
		check(metric_family_histogram(fh, v, &series[i].histogram), "child");
		check(metric_family_summary(fs, v, &series[i].summary), "child");
		check(metric_family_counter(fl, METRIC_LABELS(series[i].label, "200"), &c),
		      "child");
	}
	/* Some neighbours in the lookup's table. */
	for (int i = 0; i < 50; i++) {
		char m[16];
		metric_counter *c;
		snprintf(m, sizeof(m), "M%d", i);
		check(metric_family_counter(fl, METRIC_LABELS(m, "200"), &c), "child");
	}

	/* Wake the CPUs up (frequency, a VM's vCPUs) before measuring. */
	int64_t until = mono_ns() + 300 * NSEC_PER_MSEC;
	while (mono_ns() < until)
		run(OP_GAUGE, 2, false, series, fl);

	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	printf("ns per operation per thread, best of 3 (%ld CPUs online)\n\n", cpus);
	printf("| operation | 1 thread | 2 threads, one series | 2 threads, a series each |\n");
	printf("|---|---:|---:|---:|\n");
	for (int op = 0; op < N_OPS; op++) {
		double one = best_of_3(op, 1, true, series, fl);
		double shared = best_of_3(op, 2, true, series, fl);
		double own = best_of_3(op, 2, false, series, fl);
		printf("| %s | %.1f | %.1f | %.1f |\n", ops[op].name, one, shared, own);
		fflush(stdout);
	}

	/* The work was done: the counts are exact. */
	uint64_t want = 3 * (1 + 2 + 2) * ops[OP_COUNTER].iters;
	double got = metric_counter_value(series[0].counter) +
		     metric_counter_value(series[1].counter);
	if (got != (double)want) {
		fprintf(stderr, "metrics_bench: counted %.0f, want %llu\n", got,
			(unsigned long long)want);
		return 1;
	}
	metrics_registry_free(r);
	return 0;
}
