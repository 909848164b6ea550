/* SPDX-License-Identifier: MIT */
/* What the files of the metrics layer share: the objects behind the opaque
 * types of metrics.h, and helpers for doubles kept in atomic words. */
#ifndef ART_METRICS_INTERNAL_H
#define ART_METRICS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "metrics/metrics.h"

/* Children are aligned and padded to two cache lines, so that two series
 * updated by two threads never share a line, nor the pair of lines that
 * Intel's adjacent-line prefetcher fetches together. */
#define METRIC_ALIGN 128

struct summary;

/* One series. The public child types are pointers to this. */
struct metric {
	struct metric_family *family;
	char **values; /* family->n_labels label values, in one allocation */
	uint64_t hash; /* of the label values */
	union {
		struct {
			_Atomic uint64_t n;     /* the whole increments */
			_Atomic uint64_t extra; /* a double: the rest */
		} counter;
		_Atomic uint64_t gauge; /* a double */
		struct {
			const double *bounds; /* the family's, copied for one load less */
			size_t n_bounds;
			_Atomic uint64_t sum; /* a double */
		} histogram;
		struct summary *summary;
	};
	/* Histograms: n_bounds + 1 counts, not cumulative; the last is +Inf.
	 * The count of observations is their sum, so _count always equals the
	 * +Inf bucket in an exposition. */
	_Atomic uint64_t buckets[];
};

struct metric_family {
	metrics_registry *registry;
	metric_type type;
	char *name; /* the base name: a counter's without _total */
	char *help; /* NULL: none */
	char *unit; /* NULL: none */
	char **labels;
	size_t n_labels;
	size_t max_series;

	double *bounds; /* histogram: finite upper bounds, increasing */
	size_t n_bounds;
	double *quantiles; /* summary: increasing */
	size_t n_quantiles;
	int64_t max_age_ns;
	unsigned age_buckets;

	struct metric *only; /* the one child of a family without labels */

	pthread_mutex_t lock; /* children, n_children, index */
	struct metric **children; /* in creation order */
	size_t n_children, cap_children;
	/* Open addressing over the label values' hash: each slot holds a
	 * child's position + 1, or 0 when empty. A power of two, at most half
	 * full. */
	uint32_t *index;
	size_t index_cap;
};

struct collector {
	metrics_collect_fn collect;
	void *userdata;
	void (*free_userdata)(void *);
};

struct metrics_registry {
	pthread_mutex_t lock; /* families, collectors */
	struct metric_family **families;
	size_t n_families, cap_families;
	struct collector *collectors;
	size_t n_collectors;
	size_t max_series;
	metrics_clock_fn clock;
	void *clock_userdata;
};

static inline struct metric *metric_of(const void *child)
{
	return (struct metric *)child;
}

static inline uint64_t double_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

static inline double bits_double(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

static inline double atomic_load_double(const _Atomic uint64_t *p)
{
	return bits_double(atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed));
}

/* No hardware adds doubles atomically: compare and swap the bits. */
static inline void atomic_add_double(_Atomic uint64_t *p, double v)
{
	uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(p, &old, double_bits(bits_double(old) + v),
						      memory_order_relaxed, memory_order_relaxed))
		;
}

/* names.c */
bool metric_name_valid(const char *s);
bool label_name_valid(const char *s);
bool unit_valid(const char *s);
bool utf8_valid(const char *s);
bool has_suffix(const char *s, const char *suffix);

/* registry.c: family creation in two steps, so that a collector registers
 * several families at once or none. */
int family_alloc(metric_type type, const metric_desc *d, struct metric_family **ret);
void family_free(struct metric_family *f);
/* Registers families (which take their first child if they have no labels);
 * on success the registry owns them, on failure the caller still does. */
int registry_add_families(metrics_registry *r, struct metric_family **f, size_t n);

/* summary.c: quantiles over a sliding window. */
int summary_new(unsigned age_buckets, int64_t max_age_ns, metrics_clock_fn clock,
		void *clock_userdata, struct summary **ret);
void summary_free(struct summary *s);
/* qs increasing; out receives n values (NaN for an empty window). */
void summary_quantiles(struct summary *s, const double *qs, size_t n, int64_t now_ns,
		       double *out);

#endif
