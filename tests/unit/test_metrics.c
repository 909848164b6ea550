/* SPDX-License-Identifier: MIT */
/* The metrics layer: exact counts under concurrent updates, labels and the
 * series cap, names, summaries over a sliding window (on an injected clock),
 * the exact exposition text in both formats, and promtool's verdict. */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/time.h"
#include "metrics/metrics.h"
#include "tap.h"

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

static uint32_t rng(void)
{
	rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (uint32_t)(rng_state >> 33);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The injected clock: tests move it by hand. */
static int64_t fake_clock(void *userdata)
{
	return *(const int64_t *)userdata;
}

static metrics_registry *registry_with_clock(int64_t *now)
{
	metrics_registry *r = NULL;
	metrics_registry_options o = { .clock = fake_clock, .clock_userdata = now };
	CHECK_EQ_INT(metrics_registry_new(&o, &r), 0);
	return r;
}

/* Runs fn(arg) on n threads at once and waits for them. */
static void run_threads(int n, void *(*fn)(void *), void *arg)
{
	pthread_t t[16];
	CHECK(n <= 16);
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(pthread_create(&t[i], NULL, fn, arg), 0);
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(pthread_join(t[i], NULL), 0);
}

/* The value of the sample line that starts with series + " ", or NaN. */
static double sample_value(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NAN;
}

/* ------------------------------------------------------------ counters */

#define N_THREADS 4
#define N_INCS 1000000

static void *inc_counter(void *arg)
{
	for (int i = 0; i < N_INCS; i++)
		metric_counter_inc(arg);
	return NULL;
}

static void *add_halves(void *arg)
{
	for (int i = 0; i < N_INCS / 10; i++)
		CHECK_EQ_INT(metric_counter_add(arg, 0.5), 0);
	return NULL;
}

TEST(counter_exact_under_threads)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	metric_family *f;
	metric_counter *c, *h;
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_counter_new(r, &(metric_desc){ .name = "incs_total", .help = "x",
							     .labels = METRIC_LABELS("kind") },
					 &f),
		     0);
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("whole"), &c), 0);
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("halves"), &h), 0);

	run_threads(N_THREADS, inc_counter, c);
	CHECK(metric_counter_value(c) == (double)N_THREADS * N_INCS);

	/* Fractions take the CAS path; halves add up exactly. */
	run_threads(N_THREADS, add_halves, h);
	CHECK(metric_counter_value(h) == N_THREADS * (N_INCS / 10) * 0.5);

	/* Both parts together; whole amounts of a double go to the integer. */
	CHECK_EQ_INT(metric_counter_add(c, 3.0), 0);
	CHECK_EQ_INT(metric_counter_add(c, 0.25), 0);
	CHECK(metric_counter_value(c) == (double)N_THREADS * N_INCS + 3.25);
	CHECK_EQ_INT(metric_counter_add(c, -1), -EINVAL);
	CHECK_EQ_INT(metric_counter_add(c, NAN), -EINVAL);
	CHECK(metric_counter_value(c) == (double)N_THREADS * N_INCS + 3.25);
	CHECK_EQ_INT(metric_counter_add(c, 1e300), 0);
	CHECK(metric_counter_value(c) == 1e300);
}

TEST(counter_beyond_2_pow_53_stays_exact)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	_cleanup_textbuf_ textbuf out = { 0 };
	metric_family *f;
	metric_counter *c;
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_counter_new(r, &(metric_desc){ .name = "big", .help = "x" }, &f), 0);
	CHECK_EQ_INT(metric_family_counter(f, NULL, &c), 0);
	CHECK_EQ_INT(metric_counter_add(c, 0x1p53), 0);
	metric_counter_inc(c);
	CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), 0);
	CHECK(strstr(out.data, "\nbig_total 9007199254740993\n"));
}

/* ------------------------------------------------------------ gauges */

static void *gauge_up(void *arg)
{
	for (int i = 0; i < 200000; i++)
		metric_gauge_inc(arg);
	return NULL;
}

static void *gauge_up_down(void *arg)
{
	for (int i = 0; i < 200000; i++) {
		metric_gauge_inc(arg);
		metric_gauge_dec(arg);
	}
	return NULL;
}

TEST(gauge_set_inc_dec)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	metric_family *f;
	metric_gauge *g;
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_gauge_new(r, &(metric_desc){ .name = "depth", .help = "x" }, &f), 0);
	CHECK_EQ_INT(metric_family_gauge(f, NULL, &g), 0);
	CHECK(metric_gauge_value(g) == 0);
	metric_gauge_set(g, 5);
	metric_gauge_inc(g);
	metric_gauge_inc(g);
	metric_gauge_dec(g);
	CHECK(metric_gauge_value(g) == 6);
	metric_gauge_add(g, -8.5);
	CHECK(metric_gauge_value(g) == -2.5);
	metric_gauge_set(g, 0);

	run_threads(N_THREADS, gauge_up_down, g);
	CHECK(metric_gauge_value(g) == 0);
	run_threads(N_THREADS, gauge_up, g);
	CHECK(metric_gauge_value(g) == N_THREADS * 200000.0);
}

/* ------------------------------------------------------------ histograms */

static void *observe_four(void *arg)
{
	static const double v[] = { 0.25, 1.0, 2.5, 100 };
	for (int i = 0; i < 250000; i++)
		metric_histogram_observe(arg, v[i % 4]);
	return NULL;
}

TEST(histogram_buckets_and_sum_under_threads)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	metric_family *f;
	metric_histogram *h;
	static const double bounds[] = { 0.5, 1, 5 };
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "lat_seconds", .help = "x" },
					   bounds, 3, &f),
		     0);
	CHECK_EQ_INT(metric_family_histogram(f, NULL, &h), 0);
	run_threads(N_THREADS, observe_four, h);
	/* 1.0 goes to le="1": the bound is inclusive. */
	for (size_t i = 0; i < 4; i++)
		CHECK_EQ_INT(metric_histogram_bucket(h, i), N_THREADS * 250000 / 4);
	CHECK_EQ_INT(metric_histogram_bucket(h, 4), 0); /* no such bucket */
	CHECK_EQ_INT(metric_histogram_count(h), N_THREADS * 250000);
	CHECK(metric_histogram_sum(h) == N_THREADS * 250000 / 4 * (0.25 + 1.0 + 2.5 + 100));
}

TEST(histogram_bucket_edges)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	metric_family *f;
	metric_histogram *h;
	double bounds[20];
	CHECK_EQ_INT(metrics_linear_buckets(1, 1, 20, bounds), 0); /* 1..20 */
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "v", .help = "x" }, bounds,
					   20, &f),
		     0);
	CHECK_EQ_INT(metric_family_histogram(f, NULL, &h), 0);
	for (int i = 0; i <= 21; i++)
		metric_histogram_observe(h, i); /* 0 and 1 -> le=1, ..., 21 -> +Inf */
	metric_histogram_observe(h, -INFINITY);
	metric_histogram_observe(h, INFINITY);
	CHECK_EQ_INT(metric_histogram_bucket(h, 0), 3);
	for (size_t i = 1; i < 20; i++)
		CHECK_EQ_INT(metric_histogram_bucket(h, i), 1);
	CHECK_EQ_INT(metric_histogram_bucket(h, 20), 2);
	metric_histogram_observe(h, NAN);
	CHECK_EQ_INT(metric_histogram_bucket(h, 20), 3);
	CHECK(isnan(metric_histogram_sum(h)));
}

TEST(bucket_helpers)
{
	double b[4];
	CHECK_EQ_INT(metrics_exponential_buckets(0.001, 10, 4, b), 0);
	CHECK(b[0] == 0.001 && b[3] > 0.99 && b[3] < 1.01);
	CHECK_EQ_INT(metrics_linear_buckets(-1, 0.5, 4, b), 0);
	CHECK(b[0] == -1 && b[1] == -0.5 && b[2] == 0 && b[3] == 0.5);
	CHECK_EQ_INT(metrics_exponential_buckets(0, 2, 4, b), -EINVAL);
	CHECK_EQ_INT(metrics_exponential_buckets(1, 1, 4, b), -EINVAL);
	CHECK_EQ_INT(metrics_exponential_buckets(1, 2, 0, b), -EINVAL);
	CHECK_EQ_INT(metrics_linear_buckets(1, 0, 4, b), -EINVAL);
	CHECK_EQ_INT(metrics_exponential_buckets(1e300, 1e10, 4, b), -EINVAL);
}

/* ------------------------------------------------------------ labels */

TEST(label_lookup_and_cardinality_cap)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	metric_family *f, *g;
	metric_counter *a, *b, *c, *d, *x = (metric_counter *)&x;
	metric_gauge *gg = NULL;
	CHECK_EQ_INT(metrics_registry_new(&(metrics_registry_options){ .max_series = 3 }, &r), 0);
	CHECK_EQ_INT(metrics_counter_new(r, &(metric_desc){ .name = "req_total", .help = "x",
							     .labels = METRIC_LABELS("m", "code") },
					 &f),
		     0);
	CHECK_EQ_INT(metric_family_size(f), 0);
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("GET", "200"), &a), 0);
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("GET", "200"), &b), 0);
	CHECK(a == b);
	/* The separator keeps ("GE", "T200") apart from ("GET", "200"). */
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("GE", "T200"), &c), 0);
	CHECK(c != a);
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("", ""), &d), 0);
	CHECK(d != a && d != c);
	CHECK_EQ_INT(metric_family_size(f), 3);

	/* The cap (the registry's default here): existing series still work. */
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("PUT", "200"), &x), -E2BIG);
	CHECK(x == (metric_counter *)&x);
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("GE", "T200"), &x), 0);
	CHECK(x == c);
	CHECK_EQ_INT(metric_family_size(f), 3);

	/* Wrong counts, the wrong type, bad UTF-8. */
	x = NULL;
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("GET"), &x), -EINVAL);
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("GET", "200", "x"), &x), -EINVAL);
	CHECK_EQ_INT(metric_family_counter(f, NULL, &x), -EINVAL);
	CHECK_EQ_INT(metric_family_gauge(f, METRIC_LABELS("GET", "200"), &gg), -EINVAL);
	CHECK(x == NULL && gg == NULL);

	/* A family's own cap beats the registry's. */
	CHECK_EQ_INT(metrics_gauge_new(r, &(metric_desc){ .name = "g", .help = "x",
							   .labels = METRIC_LABELS("k"),
							   .max_series = 100 },
				       &g),
		     0);
	char v[16];
	for (int i = 0; i < 100; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		CHECK_EQ_INT(metric_family_gauge(g, METRIC_LABELS(v), &gg), 0);
		metric_gauge_set(gg, i);
	}
	CHECK_EQ_INT(metric_family_gauge(g, METRIC_LABELS("v100"), &gg), -E2BIG);
	for (int i = 0; i < 100; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		CHECK_EQ_INT(metric_family_gauge(g, METRIC_LABELS(v), &gg), 0);
		CHECK(metric_gauge_value(gg) == i);
	}
	CHECK_EQ_INT(metric_family_gauge(g, METRIC_LABELS("\xc3\x28"), &gg), -EINVAL);
	CHECK_EQ_INT(metric_family_gauge(g, METRIC_LABELS("caf\xc3\xa9"), &gg), -E2BIG);
}

struct lookup_race {
	metric_family *f;
	metric_counter *seen[N_THREADS][50];
	int next;
	pthread_mutex_t mu;
};

/* Every thread creates the same 50 series and increments each. */
static void *lookup_and_inc(void *arg)
{
	struct lookup_race *lr = arg;
	pthread_mutex_lock(&lr->mu);
	int me = lr->next++;
	pthread_mutex_unlock(&lr->mu);
	char v[16];
	for (int round = 0; round < 100; round++)
		for (int i = 0; i < 50; i++) {
			snprintf(v, sizeof(v), "s%d", i);
			metric_counter *c;
			CHECK_EQ_INT(metric_family_counter(lr->f, METRIC_LABELS(v), &c), 0);
			metric_counter_inc(c);
			lr->seen[me][i] = c;
		}
	return NULL;
}

TEST(concurrent_lookup_creates_each_series_once)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	static struct lookup_race lr = { .mu = PTHREAD_MUTEX_INITIALIZER };
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_counter_new(r, &(metric_desc){ .name = "s", .help = "x",
							     .labels = METRIC_LABELS("k") },
					 &lr.f),
		     0);
	run_threads(N_THREADS, lookup_and_inc, &lr);
	CHECK_EQ_INT(metric_family_size(lr.f), 50);
	for (int i = 0; i < 50; i++) {
		for (int t = 1; t < N_THREADS; t++)
			CHECK(lr.seen[t][i] == lr.seen[0][i]);
		CHECK(metric_counter_value(lr.seen[0][i]) == N_THREADS * 100);
	}
}

/* ------------------------------------------------------------ names */

static int counter(metrics_registry *r, const char *name, const char *unit,
		   const char *const *labels)
{
	metric_family *f = (metric_family *)&f;
	int k = metrics_counter_new(
		r, &(metric_desc){ .name = name, .help = "x", .unit = unit, .labels = labels }, &f);
	CHECK(k == 0 || f == (metric_family *)&f); /* untouched on failure */
	return k;
}

static int gauge(metrics_registry *r, const char *name, const char *unit,
		 const char *const *labels)
{
	metric_family *f;
	return metrics_gauge_new(
		r, &(metric_desc){ .name = name, .help = "x", .unit = unit, .labels = labels }, &f);
}

TEST(invalid_names_rejected)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	metric_family *f;
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);

	static const char *const bad[] = { "", "1abc", "a-b", "a b", "a:b", "é", "a.b", "_total" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ_INT(counter(r, bad[i], NULL, NULL), -EINVAL);
		CHECK_EQ_INT(gauge(r, bad[i], NULL, NULL), -EINVAL);
	}
	CHECK_EQ_INT(counter(r, NULL, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(metrics_counter_new(r, NULL, &f), -EINVAL);

	/* The suffixes that samples use. */
	CHECK_EQ_INT(gauge(r, "x_total", NULL, NULL), -EINVAL);
	CHECK_EQ_INT(gauge(r, "x_count", NULL, NULL), -EINVAL);
	CHECK_EQ_INT(gauge(r, "x_sum", NULL, NULL), -EINVAL);
	CHECK_EQ_INT(gauge(r, "x_bucket", NULL, NULL), -EINVAL);
	CHECK_EQ_INT(gauge(r, "x_created", NULL, NULL), -EINVAL);
	CHECK_EQ_INT(counter(r, "x_created_total", NULL, NULL), -EINVAL);
	CHECK_EQ_INT(counter(r, "x_total_total", NULL, NULL), -EINVAL);

	/* Labels. */
	CHECK_EQ_INT(gauge(r, "g", NULL, METRIC_LABELS("__reserved")), -EINVAL);
	CHECK_EQ_INT(gauge(r, "g", NULL, METRIC_LABELS("1a")), -EINVAL);
	CHECK_EQ_INT(gauge(r, "g", NULL, METRIC_LABELS("a-b")), -EINVAL);
	CHECK_EQ_INT(gauge(r, "g", NULL, METRIC_LABELS("")), -EINVAL);
	CHECK_EQ_INT(gauge(r, "g", NULL, METRIC_LABELS("a", "b", "a")), -EINVAL);
	CHECK_EQ_INT(gauge(r, "g", NULL,
			   METRIC_LABELS("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
					 "l", "m", "n", "o", "p", "q")),
		     -EINVAL);
	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "h", .help = "x",
							       .labels = METRIC_LABELS("le") },
					   NULL, 0, &f),
		     -EINVAL);
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "s", .help = "x",
							     .labels = METRIC_LABELS("quantile") },
					 NULL, &f),
		     -EINVAL);

	/* Units: the name must end in _<unit>. */
	CHECK_EQ_INT(gauge(r, "size_bytes", "seconds", NULL), -EINVAL);
	CHECK_EQ_INT(gauge(r, "bytes", "bytes", NULL), -EINVAL);
	CHECK_EQ_INT(gauge(r, "size_bytes", "by-tes", NULL), -EINVAL);
	CHECK_EQ_INT(counter(r, "read_bytes", "read_bytes", NULL), -EINVAL);
	CHECK_EQ_INT(counter(r, "read_bytes_total", "bytes", NULL), 0);

	/* Help must be UTF-8. */
	CHECK_EQ_INT(metrics_gauge_new(r, &(metric_desc){ .name = "u", .help = "\xff" }, &f),
		     -EINVAL);

	/* Buckets and quantiles. */
	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "h", .help = "x" },
					   (const double[]){ 1, 1 }, 2, &f),
		     -EINVAL);
	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "h", .help = "x" },
					   (const double[]){ 2, 1 }, 2, &f),
		     -EINVAL);
	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "h", .help = "x" },
					   (const double[]){ NAN }, 1, &f),
		     -EINVAL);
	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "h", .help = "x" },
					   (const double[]){ -INFINITY, 1 }, 2, &f),
		     -EINVAL);
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "s", .help = "x" },
					 &(metric_summary_options){
						 .quantiles = (const double[]){ 0.5, 1.5 },
						 .n_quantiles = 2 },
					 &f),
		     -EINVAL);
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "s", .help = "x" },
					 &(metric_summary_options){
						 .quantiles = (const double[]){ 0.5, 0.5 },
						 .n_quantiles = 2 },
					 &f),
		     -EINVAL);
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "s", .help = "x" },
					 &(metric_summary_options){ .age_buckets = 61 }, &f),
		     -EINVAL);

	/* Names are unique across types, a counter by its name without _total. */
	CHECK_EQ_INT(counter(r, "jobs_total", NULL, NULL), 0);
	CHECK_EQ_INT(counter(r, "jobs", NULL, NULL), -EEXIST);
	CHECK_EQ_INT(gauge(r, "jobs", NULL, NULL), -EEXIST);
	CHECK_EQ_INT(gauge(r, "ok_name:", NULL, NULL), -EINVAL);
	CHECK_EQ_INT(gauge(r, "Mixed_Case_9", NULL, METRIC_LABELS("_a", "B9")), 0);
}

/* ------------------------------------------------------------ summaries */

/* The nearest-rank quantile of sorted values: the smallest with at least
 * q * n values at or below it. */
static double nearest_rank(const double *sorted, size_t n, double q)
{
	double x = q * (double)n;
	size_t k = (size_t)x;
	k += (double)k < x;
	k = k < 1 ? 1 : k > n ? n : k;
	return sorted[k - 1];
}

/* The documented bound: 2^-7 of the value. */
static void check_quantile(double got, double want)
{
	if (fabs(got - want) > fabs(want) / 128) {
		fprintf(stderr, "# quantile %.17g, want %.17g\n", got, want);
		CHECK(fabs(got - want) <= fabs(want) / 128);
	}
}

TEST(summary_quantiles_within_documented_error)
{
	int64_t now = 0;
	_cleanup_metrics_registry_ metrics_registry *r = registry_with_clock(&now);
	metric_family *f;
	metric_summary *s;
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "v", .help = "x" }, NULL, &f),
		     0);
	CHECK_EQ_INT(metric_family_summary(f, NULL, &s), 0);
	CHECK(isnan(metric_summary_quantile_at(s, 0.5, now)));

	/* 1..10000 in a shuffled order. */
	enum { N = 10000 };
	static double v[N];
	for (int i = 0; i < N; i++)
		v[i] = i + 1;
	for (int i = N - 1; i > 0; i--) {
		int j = (int)(rng() % (uint32_t)(i + 1));
		double t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
	for (int i = 0; i < N; i++)
		metric_summary_observe(s, v[i]);
	check_quantile(metric_summary_quantile_at(s, 0.5, now), 5000);
	check_quantile(metric_summary_quantile_at(s, 0.9, now), 9000);
	check_quantile(metric_summary_quantile_at(s, 0.99, now), 9900);
	check_quantile(metric_summary_quantile_at(s, 0, now), 1);
	check_quantile(metric_summary_quantile_at(s, 1, now), 10000);
	CHECK(isnan(metric_summary_quantile_at(s, 1.5, now)));
	CHECK_EQ_INT(metric_summary_count(s), N);
	CHECK(metric_summary_sum(s) == (double)N * (N + 1) / 2);
}

TEST(summary_quantiles_of_mixed_signs_and_magnitudes)
{
	int64_t now = 5 * NSEC_PER_SEC;
	_cleanup_metrics_registry_ metrics_registry *r = registry_with_clock(&now);
	metric_family *f;
	metric_summary *s;
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "v", .help = "x" }, NULL, &f),
		     0);
	CHECK_EQ_INT(metric_family_summary(f, NULL, &s), 0);

	/* Magnitudes from 1e-9 to 1e11, both signs, some zeros. (No pow: the
	 * build links no libm.) */
	enum { N = 20000 };
	static double v[N];
	for (int i = 0; i < N; i++) {
		double mag = 1e-9 * (1 + 9.0 * rng() / 4294967296.0);
		for (uint32_t k = rng() % 20; k > 0; k--)
			mag *= 10;
		v[i] = i % 10 == 0 ? 0 : (i % 3 == 0 ? -mag : mag);
		metric_summary_observe(s, v[i]);
	}
	qsort(v, N, sizeof(double), cmp_double);
	for (int i = 0; i <= 100; i++) {
		double q = i / 100.0;
		check_quantile(metric_summary_quantile_at(s, q, now), nearest_rank(v, N, q));
	}
	/* Outside the octaves: below 2^-48 counts as 0, above 2^48 as Inf. */
	metric_summary_observe(s, NAN); /* in _count, not in the quantiles */
	for (int i = 0; i < N; i++)
		metric_summary_observe(s, 1e300);
	CHECK(metric_summary_quantile_at(s, 1, now) == INFINITY);
	CHECK(metric_summary_quantile_at(s, 0.75, now) == INFINITY);
	CHECK_EQ_INT(metric_summary_count(s), 2 * N + 1);
	CHECK(isnan(metric_summary_sum(s)));
}

TEST(summary_window_slides)
{
	/* 10 s in 5 sub-windows of 2 s. */
	int64_t now = 0;
	_cleanup_metrics_registry_ metrics_registry *r = registry_with_clock(&now);
	metric_family *f;
	metric_summary *s;
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "v", .help = "x" },
					 &(metric_summary_options){ .max_age_ns = 10 * NSEC_PER_SEC,
								    .age_buckets = 5 },
					 &f),
		     0);
	CHECK_EQ_INT(metric_family_summary(f, NULL, &s), 0);

	now = 500 * NSEC_PER_MSEC; /* slot 0 */
	for (int i = 0; i < 100; i++)
		metric_summary_observe(s, 1);
	now = 5 * NSEC_PER_SEC; /* slot 2 */
	for (int i = 0; i < 100; i++)
		metric_summary_observe(s, 1000);

	check_quantile(metric_summary_quantile_at(s, 0, now), 1);
	check_quantile(metric_summary_quantile_at(s, 0.5, now), 1);
	check_quantile(metric_summary_quantile_at(s, 0.51, now), 1000);
	/* Slot 0 is in the window until slot 5 begins, at 10 s. */
	check_quantile(metric_summary_quantile_at(s, 0, 9999 * NSEC_PER_MSEC), 1);
	check_quantile(metric_summary_quantile_at(s, 0, 10 * NSEC_PER_SEC), 1000);
	check_quantile(metric_summary_quantile_at(s, 0.5, 10 * NSEC_PER_SEC), 1000);
	/* Slot 2 leaves at 14 s: an empty window. */
	check_quantile(metric_summary_quantile_at(s, 1, 13999 * NSEC_PER_MSEC), 1000);
	CHECK(isnan(metric_summary_quantile_at(s, 0.5, 14 * NSEC_PER_SEC)));

	/* Observing at 10.5 s reuses slot 0's sub-window (cleared first). */
	now = 10500 * NSEC_PER_MSEC;
	metric_summary_observe(s, 7);
	check_quantile(metric_summary_quantile_at(s, 0, now), 7);
	check_quantile(metric_summary_quantile_at(s, 1, now), 1000);
	CHECK_EQ_INT(metric_summary_count(s), 201);

	/* The exposition reads the registry's clock. */
	_cleanup_textbuf_ textbuf out = { 0 };
	now = 100 * NSEC_PER_SEC;
	CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), 0);
	CHECK(strstr(out.data, "v{quantile=\"0.5\"} NaN\n"));
	CHECK(strstr(out.data, "v_count 201\n"));
	CHECK(strstr(out.data, "v_sum 100107\n"));
	/* Callers whose clocks disagree: an observation a little behind goes
	 * to its own sub-window; one whose sub-window has moved on to a later
	 * slot (10 s later: a whole window) has left the window already. */
	metric_summary_observe_at(s, 3, now);
	metric_summary_observe_at(s, 5, now - NSEC_PER_SEC);
	metric_summary_observe_at(s, 1e6, now - 10 * NSEC_PER_SEC);
	check_quantile(metric_summary_quantile_at(s, 0, now), 3);
	check_quantile(metric_summary_quantile_at(s, 1, now), 5);
	CHECK_EQ_INT(metric_summary_count(s), 204);
}

struct observe_arg {
	metric_summary *s;
	int64_t now;
};

static void *observe_summary(void *arg)
{
	struct observe_arg *a = arg;
	for (int i = 1; i <= 250000; i++)
		metric_summary_observe_at(a->s, i % 1000 + 1, a->now + i * 100);
	return NULL;
}

TEST(summary_under_threads)
{
	int64_t now = 0;
	_cleanup_metrics_registry_ metrics_registry *r = registry_with_clock(&now);
	metric_family *f;
	metric_summary *s;
	/* 1 s sub-windows; the threads' 25 ms all fall in the first two. */
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "v", .help = "x" },
					 &(metric_summary_options){ .max_age_ns = 5 * NSEC_PER_SEC,
								    .age_buckets = 5 },
					 &f),
		     0);
	CHECK_EQ_INT(metric_family_summary(f, NULL, &s), 0);
	struct observe_arg a = { s, 990 * NSEC_PER_MSEC };
	run_threads(N_THREADS, observe_summary, &a);
	CHECK_EQ_INT(metric_summary_count(s), N_THREADS * 250000);
	CHECK(metric_summary_sum(s) == N_THREADS * 250.0 * (1000 * 1001 / 2));
	int64_t t = 2 * NSEC_PER_SEC;
	check_quantile(metric_summary_quantile_at(s, 0, t), 1);
	check_quantile(metric_summary_quantile_at(s, 0.5, t), 500);
	check_quantile(metric_summary_quantile_at(s, 1, t), 1000);
}

struct stress {
	metrics_registry *r;
	metric_family *counters, *summaries;
	_Atomic int writers;
	_Atomic int expositions;
};

/* Creates series, counts, and observes into summaries whose 100 ms
 * sub-windows turn over every 100 observations. */
static void *stress_writer(void *arg)
{
	struct stress *st = arg;
	char v[16];
	while (atomic_load(&st->expositions) == 0)
		; /* so that the two overlap */
	for (int i = 0; i < 20000; i++) {
		metric_counter *c;
		metric_summary *s;
		snprintf(v, sizeof(v), "k%d", i % 20);
		CHECK_EQ_INT(metric_family_counter(st->counters, METRIC_LABELS(v), &c), 0);
		metric_counter_inc(c);
		CHECK_EQ_INT(metric_family_summary(st->summaries, METRIC_LABELS(v + 1), &s), 0);
		metric_summary_observe_at(s, i, (int64_t)i * NSEC_PER_MSEC);
	}
	atomic_fetch_sub(&st->writers, 1);
	return NULL;
}

static void *stress_exposer(void *arg)
{
	struct stress *st = arg;
	_cleanup_textbuf_ textbuf out = { 0 };
	while (atomic_load(&st->writers) > 0 || atomic_load(&st->expositions) < 3) {
		textbuf_truncate(&out, 0);
		CHECK_EQ_INT(metrics_expose(st->r, METRICS_OPENMETRICS, &out), 0);
		CHECK(strstr(out.data, "# EOF\n"));
		atomic_fetch_add(&st->expositions, 1);
	}
	return NULL;
}

TEST(exposition_while_other_threads_update)
{
	static struct stress st;
	static int64_t now = 0;
	st.r = registry_with_clock(&now);
	st.writers = N_THREADS;
	CHECK_EQ_INT(metrics_counter_new(st.r, &(metric_desc){ .name = "c", .help = "x",
								.labels = METRIC_LABELS("k") },
					 &st.counters),
		     0);
	metric_summary_options window = { .max_age_ns = 500 * NSEC_PER_MSEC };
	CHECK_EQ_INT(metrics_summary_new(st.r, &(metric_desc){ .name = "s", .help = "x",
								.labels = METRIC_LABELS("k") },
					 &window, &st.summaries),
		     0);
	pthread_t t[N_THREADS + 1];
	for (int i = 0; i < N_THREADS; i++)
		CHECK_EQ_INT(pthread_create(&t[i], NULL, stress_writer, &st), 0);
	CHECK_EQ_INT(pthread_create(&t[N_THREADS], NULL, stress_exposer, &st), 0);
	for (int i = 0; i <= N_THREADS; i++)
		CHECK_EQ_INT(pthread_join(t[i], NULL), 0);

	CHECK_EQ_INT(metric_family_size(st.counters), 20);
	for (int i = 0; i < 20; i++) {
		char v[16];
		metric_counter *c;
		metric_summary *s;
		snprintf(v, sizeof(v), "k%d", i);
		CHECK_EQ_INT(metric_family_counter(st.counters, METRIC_LABELS(v), &c), 0);
		CHECK(metric_counter_value(c) == N_THREADS * 1000);
		CHECK_EQ_INT(metric_family_summary(st.summaries, METRIC_LABELS(v + 1), &s), 0);
		CHECK_EQ_INT(metric_summary_count(s), N_THREADS * 1000);
		/* The window is not empty. Which values it holds is loose here:
		 * the threads' clocks are seconds apart, and a thread stalled
		 * over a whole turn of the ring (only 500 fake ms, a few us of
		 * real time) adds an old value to a new sub-window. */
		int64_t end = 19999 * NSEC_PER_MSEC;
		CHECK(metric_summary_quantile_at(s, 0, end) <= 19999);
		CHECK(metric_summary_quantile_at(s, 1, end) <= 19999 * (1 + 1.0 / 128));
	}
	metrics_registry_free(st.r);
}

/* ------------------------------------------------------------ timer */

TEST(timer_observes_seconds)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	metric_family *fh, *fs;
	metric_histogram *h;
	metric_summary *s;
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "t_seconds", .help = "x" },
					   NULL, 0, &fh),
		     0);
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "u_seconds", .help = "x" },
					 NULL, &fs),
		     0);
	CHECK_EQ_INT(metric_family_histogram(fh, NULL, &h), 0);
	CHECK_EQ_INT(metric_family_summary(fs, NULL, &s), 0);
	{
		_cleanup_metric_timer_ metric_timer t = metric_timer_histogram(h);
		t.start_ns -= 1500 * NSEC_PER_MSEC; /* as if it began 1.5 s ago */
	}
	CHECK_EQ_INT(metric_histogram_count(h), 1);
	CHECK(metric_histogram_sum(h) >= 1.5 && metric_histogram_sum(h) < 2.5);
	CHECK_EQ_INT(metric_histogram_bucket(h, 8), 1); /* le="2.5" of the defaults */

	metric_timer t = metric_timer_summary(s);
	double secs = metric_timer_observe(&t);
	CHECK(secs >= 0 && secs < 1);
	CHECK(metric_timer_observe(&t) == 0); /* once */
	CHECK_EQ_INT(metric_summary_count(s), 1);
	CHECK(metric_summary_sum(s) == secs);
}

/* ------------------------------------------------------------ exposition */

/* A small registry of every type, with an injected clock. */
static metrics_registry *small_registry(int64_t *now)
{
	metrics_registry *r = registry_with_clock(now);
	metric_family *f;
	metric_counter *c;
	metric_gauge *g;
	metric_histogram *h;
	metric_summary *s;

	const char *const *labels = METRIC_LABELS("method", "code");
	CHECK_EQ_INT(metrics_counter_new(r, &(metric_desc){ .name = "http_requests_total",
							     .help = "Requests handled.",
							     .labels = labels },
					 &f),
		     0);
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("GET", "200"), &c), 0);
	for (int i = 0; i < 3; i++)
		metric_counter_inc(c);
	CHECK_EQ_INT(metric_family_counter(f, METRIC_LABELS("POST", "500"), &c), 0);
	CHECK_EQ_INT(metric_counter_add(c, 2), 0);

	CHECK_EQ_INT(metrics_counter_new(r, &(metric_desc){ .name = "read_bytes",
							     .help = "Bytes read.",
							     .unit = "bytes" },
					 &f),
		     0);
	CHECK_EQ_INT(metric_family_counter(f, NULL, &c), 0);
	CHECK_EQ_INT(metric_counter_add(c, 1.5), 0);

	CHECK_EQ_INT(metrics_gauge_new(r, &(metric_desc){ .name = "queue_depth",
							   .help = "Tasks waiting." },
				       &f),
		     0);
	CHECK_EQ_INT(metric_family_gauge(f, NULL, &g), 0);
	metric_gauge_set(g, 7);

	/* A family with labels and no series yet is not exposed. */
	CHECK_EQ_INT(metrics_gauge_new(r, &(metric_desc){ .name = "unused",
							   .help = "Never set.",
							   .labels = METRIC_LABELS("x") },
				       &f),
		     0);

	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "task_duration_seconds",
							       .help = "Task run time.",
							       .unit = "seconds",
							       .labels = METRIC_LABELS("kind") },
					   (const double[]){ 0.5, 1, 10, INFINITY }, 4, &f),
		     0);
	CHECK_EQ_INT(metric_family_histogram(f, METRIC_LABELS("build"), &h), 0);
	metric_histogram_observe(h, 0.25);
	metric_histogram_observe(h, 0.5);
	metric_histogram_observe(h, 4);
	metric_histogram_observe(h, 32);

	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "payload_bytes",
							     .help = "Payload sizes.",
							     .unit = "bytes" },
					 &(metric_summary_options){
						 .quantiles = (const double[]){ 0.9, 0.5 },
						 .n_quantiles = 2,
						 .max_age_ns = 60 * NSEC_PER_SEC,
						 .age_buckets = 3 },
					 &f),
		     0);
	CHECK_EQ_INT(metric_family_summary(f, NULL, &s), 0);
	for (int i = 1; i <= 10; i++)
		metric_summary_observe(s, i);
	return r;
}

/* 5 and 9 are reported as the middles of their buckets: 4 * (1 + 16.5/64)
 * and 8 * (1 + 8.5/64). */
static const char expected_prometheus[] =
	"# HELP http_requests_total Requests handled.\n"
	"# TYPE http_requests_total counter\n"
	"http_requests_total{method=\"GET\",code=\"200\"} 3\n"
	"http_requests_total{method=\"POST\",code=\"500\"} 2\n"
	"# HELP read_bytes_total Bytes read.\n"
	"# TYPE read_bytes_total counter\n"
	"read_bytes_total 1.5\n"
	"# HELP queue_depth Tasks waiting.\n"
	"# TYPE queue_depth gauge\n"
	"queue_depth 7\n"
	"# HELP task_duration_seconds Task run time.\n"
	"# TYPE task_duration_seconds histogram\n"
	"task_duration_seconds_bucket{kind=\"build\",le=\"0.5\"} 2\n"
	"task_duration_seconds_bucket{kind=\"build\",le=\"1\"} 2\n"
	"task_duration_seconds_bucket{kind=\"build\",le=\"10\"} 3\n"
	"task_duration_seconds_bucket{kind=\"build\",le=\"+Inf\"} 4\n"
	"task_duration_seconds_sum{kind=\"build\"} 36.75\n"
	"task_duration_seconds_count{kind=\"build\"} 4\n"
	"# HELP payload_bytes Payload sizes.\n"
	"# TYPE payload_bytes summary\n"
	"payload_bytes{quantile=\"0.5\"} 5.03125\n"
	"payload_bytes{quantile=\"0.9\"} 9.0625\n"
	"payload_bytes_sum 55\n"
	"payload_bytes_count 10\n";

static const char expected_openmetrics[] =
	"# HELP http_requests Requests handled.\n"
	"# TYPE http_requests counter\n"
	"http_requests_total{method=\"GET\",code=\"200\"} 3\n"
	"http_requests_total{method=\"POST\",code=\"500\"} 2\n"
	"# HELP read_bytes Bytes read.\n"
	"# TYPE read_bytes counter\n"
	"# UNIT read_bytes bytes\n"
	"read_bytes_total 1.5\n"
	"# HELP queue_depth Tasks waiting.\n"
	"# TYPE queue_depth gauge\n"
	"queue_depth 7\n"
	"# HELP task_duration_seconds Task run time.\n"
	"# TYPE task_duration_seconds histogram\n"
	"# UNIT task_duration_seconds seconds\n"
	"task_duration_seconds_bucket{kind=\"build\",le=\"0.5\"} 2\n"
	"task_duration_seconds_bucket{kind=\"build\",le=\"1.0\"} 2\n"
	"task_duration_seconds_bucket{kind=\"build\",le=\"10.0\"} 3\n"
	"task_duration_seconds_bucket{kind=\"build\",le=\"+Inf\"} 4\n"
	"task_duration_seconds_sum{kind=\"build\"} 36.75\n"
	"task_duration_seconds_count{kind=\"build\"} 4\n"
	"# HELP payload_bytes Payload sizes.\n"
	"# TYPE payload_bytes summary\n"
	"# UNIT payload_bytes bytes\n"
	"payload_bytes{quantile=\"0.5\"} 5.03125\n"
	"payload_bytes{quantile=\"0.9\"} 9.0625\n"
	"payload_bytes_sum 55\n"
	"payload_bytes_count 10\n"
	"# EOF\n";

TEST(exposition_exact_text)
{
	int64_t now = 1000 * NSEC_PER_SEC;
	_cleanup_metrics_registry_ metrics_registry *r = small_registry(&now);
	_cleanup_textbuf_ textbuf out = { 0 };
	CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), 0);
	CHECK_EQ_STR(out.data, expected_prometheus);
	/* Appends: a buffer is reused by truncating it. */
	textbuf_truncate(&out, 0);
	CHECK_EQ_INT(metrics_expose(r, METRICS_OPENMETRICS, &out), 0);
	CHECK_EQ_STR(out.data, expected_openmetrics);
	CHECK_EQ_STR(metrics_content_type(METRICS_PROMETHEUS),
		     "text/plain; version=0.0.4; charset=utf-8");
	CHECK_EQ_STR(metrics_content_type(METRICS_OPENMETRICS),
		     "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

TEST(exposition_of_an_empty_registry)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	_cleanup_textbuf_ textbuf out = { 0 };
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), 0);
	CHECK_EQ_STR(out.data, "");
	CHECK_EQ_INT(metrics_expose(r, METRICS_OPENMETRICS, &out), 0);
	CHECK_EQ_STR(out.data, "# EOF\n");
	CHECK_EQ_INT(metrics_expose(r, 7, &out), -EINVAL);
}

TEST(escaping_of_label_values_and_help)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	_cleanup_textbuf_ textbuf out = { 0 };
	metric_family *f;
	metric_gauge *g;
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_gauge_new(r, &(metric_desc){ .name = "paths",
							   .help = "A \\ \"path\"\nper line.",
							   .labels = METRIC_LABELS("path", "u") },
				       &f),
		     0);
	const char *const *values = METRIC_LABELS("C:\\dir \"x\"\nnext", "caf\xc3\xa9");
	CHECK_EQ_INT(metric_family_gauge(f, values, &g), 0);
	metric_gauge_set(g, 1);
	CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), 0);
	CHECK_EQ_STR(out.data, "# HELP paths A \\\\ \"path\"\\nper line.\n"
			       "# TYPE paths gauge\n"
			       "paths{path=\"C:\\\\dir \\\"x\\\"\\nnext\",u=\"caf\xc3\xa9\"} 1\n");
	textbuf_truncate(&out, 0);
	CHECK_EQ_INT(metrics_expose(r, METRICS_OPENMETRICS, &out), 0);
	CHECK_EQ_STR(out.data, "# HELP paths A \\\\ \\\"path\\\"\\nper line.\n"
			       "# TYPE paths gauge\n"
			       "paths{path=\"C:\\\\dir \\\"x\\\"\\nnext\",u=\"caf\xc3\xa9\"} 1\n"
			       "# EOF\n");
}

TEST(float_formatting)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" },
		{ NAN, "NaN" },
		{ 0.1, "0.1" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 1e-9, "1e-09" },
		{ 1e21, "1e+21" },
		{ -2.5, "-2.5" },
		{ 123456789012345.0, "123456789012345" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_metrics_registry_ metrics_registry *r = NULL;
		_cleanup_textbuf_ textbuf out = { 0 };
		metric_family *f;
		metric_gauge *g;
		char want[128];
		CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
		CHECK_EQ_INT(metrics_gauge_new(r, &(metric_desc){ .name = "g" }, &f), 0);
		CHECK_EQ_INT(metric_family_gauge(f, NULL, &g), 0);
		metric_gauge_set(g, cases[i].v);
		CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), 0);
		snprintf(want, sizeof(want), "# TYPE g gauge\ng %s\n", cases[i].text);
		CHECK_EQ_STR(out.data, want);
	}
}

TEST(float_formatting_ignores_the_hosts_locale)
{
	/* A locale with a decimal comma, where the system has one. */
	static const char *const locales[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
					       "fr_FR.utf8", "nl_NL.UTF-8" };
	const char *set = NULL;
	for (size_t i = 0; i < sizeof(locales) / sizeof(locales[0]) && !set; i++)
		set = setlocale(LC_NUMERIC, locales[i]);
	if (!set || strcmp(localeconv()->decimal_point, ",") != 0)
		SKIP("no locale with a decimal comma installed");
	CHECK_EQ_STR(setlocale(LC_NUMERIC, NULL), set);
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	_cleanup_textbuf_ textbuf out = { 0 };
	metric_family *f;
	metric_gauge *g;
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_gauge_new(r, &(metric_desc){ .name = "g" }, &f), 0);
	CHECK_EQ_INT(metric_family_gauge(f, NULL, &g), 0);
	metric_gauge_set(g, 2.5);
	CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), 0);
	CHECK_EQ_STR(out.data, "# TYPE g gauge\ng 2.5\n");
}

TEST(openmetrics_histogram_with_negative_buckets_has_no_sum)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	_cleanup_textbuf_ textbuf out = { 0 };
	metric_family *f;
	metric_histogram *h;
	CHECK_EQ_INT(metrics_registry_new(NULL, &r), 0);
	CHECK_EQ_INT(metrics_histogram_new(r, &(metric_desc){ .name = "drift_seconds" },
					   (const double[]){ -1, 0, 1 }, 3, &f),
		     0);
	CHECK_EQ_INT(metric_family_histogram(f, NULL, &h), 0);
	metric_histogram_observe(h, -0.5);
	CHECK_EQ_INT(metrics_expose(r, METRICS_OPENMETRICS, &out), 0);
	CHECK_EQ_STR(out.data, "# TYPE drift_seconds histogram\n"
			       "drift_seconds_bucket{le=\"-1.0\"} 0\n"
			       "drift_seconds_bucket{le=\"0.0\"} 1\n"
			       "drift_seconds_bucket{le=\"1.0\"} 1\n"
			       "drift_seconds_bucket{le=\"+Inf\"} 1\n"
			       "drift_seconds_count 1\n"
			       "# EOF\n");
}

static int failing_collector(_unused_ metrics_registry *r, void *userdata)
{
	(*(int *)userdata)++;
	return -EIO;
}

TEST(failed_exposition_leaves_the_buffer_as_it_was)
{
	int64_t now = 0;
	_cleanup_metrics_registry_ metrics_registry *r = small_registry(&now);
	_cleanup_textbuf_ textbuf out = { 0 };
	static int calls;
	textbuf_puts(&out, "before\n");
	CHECK_EQ_INT(metrics_add_collector(r, failing_collector, &calls, NULL), 0);
	CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), -EIO);
	CHECK_EQ_INT(calls, 1);
	CHECK_EQ_STR(out.data, "before\n");
	CHECK_EQ_INT(out.len, 7);
}

/* ------------------------------------------------------------ process */

TEST(process_collector)
{
	_cleanup_metrics_registry_ metrics_registry *r = NULL;
	_cleanup_textbuf_ textbuf out = { 0 };
	CHECK_EQ_INT(metrics_registry_new(&(metrics_registry_options){ .flags = METRICS_PROCESS },
					  &r),
		     0);
	/* Burn a little CPU so that the counter moves. */
	volatile double x = 0;
	int64_t end = now_ns(CLOCK_PROCESS_CPUTIME_ID) + 30 * NSEC_PER_MSEC;
	while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < end)
		x += 1;

	CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), 0);
	int fds = fd_count_open();
	double v = sample_value(out.data, "process_open_fds");
	CHECK(v >= 3 && v <= fds + 1);
	struct rlimit rl;
	CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
	CHECK(sample_value(out.data, "process_max_fds") == (double)rl.rlim_cur);
	CHECK(sample_value(out.data, "process_resident_memory_bytes") > 100000);
	CHECK(sample_value(out.data, "process_virtual_memory_bytes") >
	      sample_value(out.data, "process_resident_memory_bytes"));
	v = sample_value(out.data, "process_cpu_seconds_total");
	CHECK(v >= 0.01 && v < 3600);
	/* This process started within the last minute: the test forked it. */
	double wall = (double)now_ns(CLOCK_REALTIME) / NSEC_PER_SEC;
	v = sample_value(out.data, "process_start_time_seconds");
	CHECK(v > wall - 60 && v < wall + 2);
	CHECK(strstr(out.data, "# TYPE process_cpu_seconds_total counter\n"));

	textbuf_truncate(&out, 0);
	CHECK_EQ_INT(metrics_expose(r, METRICS_OPENMETRICS, &out), 0);
	CHECK(strstr(out.data, "# TYPE process_cpu_seconds counter\n"
			       "# UNIT process_cpu_seconds seconds\n"));

	/* Twice: the names are taken, and nothing is left half done. */
	CHECK_EQ_INT(metrics_add_process_collector(r), -EEXIST);
	size_t len = out.len;
	textbuf_truncate(&out, 0);
	CHECK_EQ_INT(metrics_expose(r, METRICS_OPENMETRICS, &out), 0);
	CHECK(out.len > len - 20 && out.len < len + 20);
}

/* ------------------------------------------------------------ promtool */

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

/* A registry of everything, with awkward values, and the process metrics. */
static metrics_registry *full_registry(int64_t *now)
{
	metrics_registry *r = small_registry(now);
	metric_family *f;
	metric_gauge *g;
	metric_summary *s;
	CHECK_EQ_INT(metrics_add_process_collector(r), 0);
	const char *help = "With \\ and \"quotes\"\nand lines.";
	CHECK_EQ_INT(metrics_gauge_new(r, &(metric_desc){ .name = "odd_values", .help = help,
							   .labels = METRIC_LABELS("v") },
				       &f),
		     0);
	static const double values[] = { INFINITY, -INFINITY, NAN, 1e-300, -0.0, 1e300 };
	for (size_t i = 0; i < 6; i++) {
		char v[32];
		snprintf(v, sizeof(v), "a\\b\"c\nd %zu", i);
		CHECK_EQ_INT(metric_family_gauge(f, METRIC_LABELS(v), &g), 0);
		metric_gauge_set(g, values[i]);
	}
	/* A summary with an empty window: NaN quantiles. */
	CHECK_EQ_INT(metrics_summary_new(r, &(metric_desc){ .name = "idle_seconds",
							     .help = "Nothing lately." },
					 NULL, &f),
		     0);
	CHECK_EQ_INT(metric_family_summary(f, NULL, &s), 0);
	return r;
}

/* Runs promtool with args, the file as its standard input and its output
 * into log; returns its exit status. */
static int run_promtool(const char *const *args, const char *stdin_path, const char *log)
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int in = open(stdin_path, O_RDONLY | O_CLOEXEC);
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (in < 0 || out < 0 || dup2(in, STDIN_FILENO) < 0 ||
		    dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
			_exit(126);
		execvp("promtool", (char *const *)args);
		_exit(127);
	}
	int status;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* On failure: what promtool said, and the text it was given. */
static void report(int rc, const char *log, const char *text)
{
	if (rc == 0)
		return;
	fprintf(stderr, "# promtool exited %d\n", rc);
	FILE *f = fopen(log, "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "# %s", line);
	if (f)
		fclose(f);
	fprintf(stderr, "%s", text);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "we");
	CHECK(f);
	CHECK_EQ_INT(fwrite(data, 1, len, f), len);
	CHECK_EQ_INT(fclose(f), 0);
}

TEST(promtool_accepts_the_prometheus_text)
{
	if (!have_promtool())
		SKIP("promtool not installed (Debian package prometheus)");
	int64_t now = 0;
	_cleanup_metrics_registry_ metrics_registry *r = full_registry(&now);
	_cleanup_textbuf_ textbuf out = { 0 };
	CHECK_EQ_INT(metrics_expose(r, METRICS_PROMETHEUS, &out), 0);

	char dir[] = "/tmp/agentrt-metrics-XXXXXX";
	CHECK(mkdtemp(dir));
	char path[64], log[64], cmd[128];
	snprintf(path, sizeof(path), "%s/in.prom", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	write_file(path, out.data, out.len);
	/* check metrics parses and lints (help, _total, units): any finding
	 * exits non-zero. */
	int rc = run_promtool((const char *const[]){ "promtool", "check", "metrics", NULL }, path,
			      log);
	report(rc, log, out.data);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ_INT(system(cmd), 0);
	CHECK_EQ_INT(rc, 0);
}

TEST(promtool_parses_the_openmetrics_text)
{
	if (!have_promtool())
		SKIP("promtool not installed (Debian package prometheus)");
	int64_t now = 0;
	_cleanup_metrics_registry_ metrics_registry *r = full_registry(&now);
	_cleanup_textbuf_ textbuf out = { 0 };
	_cleanup_textbuf_ textbuf stamped = { 0 };
	CHECK_EQ_INT(metrics_expose(r, METRICS_OPENMETRICS, &out), 0);

	/* promtool reads OpenMetrics only to backfill blocks, and wants a
	 * timestamp on every sample: add one, then let its parser judge (a
	 * lenient one: exposition_exact_text pins the details). */
	for (char *line = out.data, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		CHECK(nl);
		textbuf_put(&stamped, line, (size_t)(nl - line));
		if (line[0] != '#')
			textbuf_puts(&stamped, " 1700000000");
		textbuf_putc(&stamped, '\n');
	}
	CHECK_EQ_INT(textbuf_error(&stamped), 0);

	char dir[] = "/tmp/agentrt-metrics-XXXXXX";
	CHECK(mkdtemp(dir));
	char path[64], blocks[64], log[64], cmd[128];
	snprintf(path, sizeof(path), "%s/in.om", dir);
	snprintf(blocks, sizeof(blocks), "%s/blocks", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	write_file(path, stamped.data, stamped.len);
	int rc = run_promtool((const char *const[]){ "promtool", "tsdb", "create-blocks-from",
						     "openmetrics", path, blocks, NULL },
			      "/dev/null", log);
	report(rc, log, stamped.data);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ_INT(system(cmd), 0);
	CHECK_EQ_INT(rc, 0);
}
