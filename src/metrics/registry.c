/* SPDX-License-Identifier: MIT */
/* The registry, its families and their children: creation, validation,
 * lookup by label values under the family's mutex. */
#include "metrics/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "base/time.h"

/* Coarse: a summary reads the clock at every observation, and its
 * sub-windows last seconds or minutes, so a few ms of resolution is plenty
 * and the read costs a few ns instead of twenty. */
static int64_t default_clock(_unused_ void *userdata)
{
	return now_ns(CLOCK_MONOTONIC_COARSE);
}

int metrics_registry_new(const metrics_registry_options *opts, metrics_registry **ret)
{
	metrics_registry_options o = opts ? *opts : (metrics_registry_options){ 0 };
	if (o.flags & ~(unsigned)METRICS_PROCESS)
		return -EINVAL;

	_cleanup_metrics_registry_ metrics_registry *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	r->max_series = o.max_series ? o.max_series : METRICS_DEFAULT_MAX_SERIES;
	r->clock = o.clock ? o.clock : default_clock;
	r->clock_userdata = o.clock ? o.clock_userdata : NULL;
	if (o.flags & METRICS_PROCESS) {
		int k = metrics_add_process_collector(r);
		if (k < 0)
			return k;
	}
	*ret = steal_ptr(&r);
	return 0;
}

metrics_registry *metrics_registry_free(metrics_registry *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_families; i++)
		family_free(r->families[i]);
	free(r->families);
	for (size_t i = 0; i < r->n_collectors; i++)
		if (r->collectors[i].free_userdata)
			r->collectors[i].free_userdata(r->collectors[i].userdata);
	free(r->collectors);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return NULL;
}

int64_t metrics_now(const metrics_registry *r)
{
	return r->clock(r->clock_userdata);
}

int metrics_add_collector(metrics_registry *r, metrics_collect_fn collect, void *userdata,
			  void (*free_userdata)(void *))
{
	if (!r || !collect)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	struct collector *c = realloc(r->collectors, (r->n_collectors + 1) * sizeof(*c));
	if (c) {
		r->collectors = c;
		c[r->n_collectors++] = (struct collector){ collect, userdata, free_userdata };
	}
	pthread_mutex_unlock(&r->lock);
	return c ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------ children */

static void metric_free(struct metric *m)
{
	if (!m)
		return;
	if (m->family->type == METRIC_SUMMARY)
		summary_free(m->summary);
	free(m->values);
	free(m);
}

static void metric_freep(struct metric **m)
{
	metric_free(*m);
}

static int child_new(struct metric_family *f, const char *const *values, uint64_t hash,
		     struct metric **ret)
{
	size_t size = sizeof(struct metric);
	if (f->type == METRIC_HISTOGRAM)
		size += (f->n_bounds + 1) * sizeof(_Atomic uint64_t);
	size = (size + METRIC_ALIGN - 1) & ~(size_t)(METRIC_ALIGN - 1);

	_cleanup_(metric_freep) struct metric *m = aligned_alloc(METRIC_ALIGN, size);
	if (!m)
		return -ENOMEM;
	memset(m, 0, size);
	m->family = f;
	m->hash = hash;
	if (f->n_labels > 0) {
		/* The pointers, then the strings, in one block. */
		size_t bytes = f->n_labels * sizeof(char *);
		for (size_t i = 0; i < f->n_labels; i++)
			bytes += strlen(values[i]) + 1;
		m->values = malloc(bytes);
		if (!m->values)
			return -ENOMEM;
		char *p = (char *)(m->values + f->n_labels);
		for (size_t i = 0; i < f->n_labels; i++) {
			m->values[i] = p;
			p = stpcpy(p, values[i]) + 1;
		}
	}
	if (f->type == METRIC_HISTOGRAM) {
		m->histogram.bounds = f->bounds;
		m->histogram.n_bounds = f->n_bounds;
	} else if (f->type == METRIC_SUMMARY) {
		int r = summary_new(f->age_buckets, f->max_age_ns, f->registry->clock,
				    f->registry->clock_userdata, &m->summary);
		if (r < 0)
			return r;
	}
	*ret = steal_ptr(&m);
	return 0;
}

/* FNV-1a over the values, each followed by 0xff, a byte that UTF-8 never
 * contains: ("a", "bc") and ("ab", "c") hash apart. */
static uint64_t hash_values(const char *const *values, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < n; i++) {
		for (const unsigned char *p = (const unsigned char *)values[i]; *p; p++)
			h = (h ^ *p) * UINT64_C(0x100000001b3);
		h = (h ^ 0xff) * UINT64_C(0x100000001b3);
	}
	return h;
}

static struct metric *index_find(const struct metric_family *f, const char *const *values,
				 uint64_t hash)
{
	if (!f->index)
		return NULL;
	size_t mask = f->index_cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		uint32_t slot = f->index[i];
		if (!slot)
			return NULL;
		struct metric *m = f->children[slot - 1];
		if (m->hash != hash)
			continue;
		size_t k = 0;
		while (k < f->n_labels && strcmp(m->values[k], values[k]) == 0)
			k++;
		if (k == f->n_labels)
			return m;
	}
}

static void index_put(uint32_t *index, size_t cap, uint64_t hash, uint32_t slot)
{
	size_t i = hash & (cap - 1);
	while (index[i])
		i = (i + 1) & (cap - 1);
	index[i] = slot;
}

/* Room for one more child in the array and the index. */
static int children_reserve(struct metric_family *f)
{
	if (f->n_children == f->cap_children) {
		size_t cap = f->cap_children ? f->cap_children * 2 : 4;
		struct metric **c = realloc(f->children, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		f->children = c;
		f->cap_children = cap;
	}
	if (f->n_labels > 0 && (f->n_children + 1) * 2 > f->index_cap) {
		size_t cap = f->index_cap ? f->index_cap * 2 : 16;
		uint32_t *index = calloc(cap, sizeof(*index));
		if (!index)
			return -ENOMEM;
		for (size_t i = 0; i < f->n_children; i++)
			index_put(index, cap, f->children[i]->hash, (uint32_t)i + 1);
		free(f->index);
		f->index = index;
		f->index_cap = cap;
	}
	return 0;
}

/* Called with f->lock held (or before f is shared). */
static int child_add(struct metric_family *f, const char *const *values, uint64_t hash,
		     struct metric **ret)
{
	for (size_t i = 0; i < f->n_labels; i++)
		if (!utf8_valid(values[i]))
			return -EINVAL;
	if (f->n_children >= f->max_series || f->n_children >= UINT32_MAX - 1)
		return -E2BIG;
	int r = children_reserve(f);
	if (r < 0)
		return r;
	struct metric *m;
	r = child_new(f, values, hash, &m);
	if (r < 0)
		return r;
	f->children[f->n_children++] = m;
	if (f->n_labels > 0)
		index_put(f->index, f->index_cap, hash, (uint32_t)f->n_children);
	*ret = m;
	return 0;
}

static int family_child(metric_family *f, metric_type type, const char *const *values,
			struct metric **ret)
{
	if (!f || f->type != type)
		return -EINVAL;
	if (f->n_labels == 0) {
		if (values && values[0])
			return -EINVAL;
		/* Made at registration and never changed: no lock. */
		*ret = f->only;
		return 0;
	}
	if (!values)
		return -EINVAL;
	size_t n = 0;
	while (n <= f->n_labels && values[n])
		n++;
	if (n != f->n_labels)
		return -EINVAL;

	uint64_t hash = hash_values(values, n);
	pthread_mutex_lock(&f->lock);
	struct metric *m = index_find(f, values, hash);
	int r = m ? 0 : child_add(f, values, hash, &m);
	pthread_mutex_unlock(&f->lock);
	if (r < 0)
		return r;
	*ret = m;
	return 0;
}

int metric_family_counter(metric_family *f, const char *const *values, metric_counter **ret)
{
	struct metric *m;
	int r = family_child(f, METRIC_COUNTER, values, &m);
	if (r >= 0)
		*ret = (metric_counter *)m;
	return r;
}

int metric_family_gauge(metric_family *f, const char *const *values, metric_gauge **ret)
{
	struct metric *m;
	int r = family_child(f, METRIC_GAUGE, values, &m);
	if (r >= 0)
		*ret = (metric_gauge *)m;
	return r;
}

int metric_family_histogram(metric_family *f, const char *const *values, metric_histogram **ret)
{
	struct metric *m;
	int r = family_child(f, METRIC_HISTOGRAM, values, &m);
	if (r >= 0)
		*ret = (metric_histogram *)m;
	return r;
}

int metric_family_summary(metric_family *f, const char *const *values, metric_summary **ret)
{
	struct metric *m;
	int r = family_child(f, METRIC_SUMMARY, values, &m);
	if (r >= 0)
		*ret = (metric_summary *)m;
	return r;
}

metric_type metric_family_type(const metric_family *f)
{
	return f->type;
}

size_t metric_family_size(metric_family *f)
{
	pthread_mutex_lock(&f->lock);
	size_t n = f->n_children;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* ------------------------------------------------------------ families */

void family_free(struct metric_family *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_children; i++)
		metric_free(f->children[i]);
	free(f->children);
	free(f->index);
	for (size_t i = 0; i < f->n_labels; i++)
		free(f->labels[i]);
	free(f->labels);
	free(f->name);
	free(f->help);
	free(f->unit);
	free(f->bounds);
	free(f->quantiles);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static void family_freep(struct metric_family **f)
{
	family_free(*f);
}

/* The suffixes that the samples of histograms, summaries and counters
 * use: a family named so would collide with another's samples. */
static const char *const reserved_suffixes[] = {
	"_total", "_created", "_count", "_sum", "_bucket",
};

int family_alloc(metric_type type, const metric_desc *d, struct metric_family **ret)
{
	if (!d || !metric_name_valid(d->name))
		return -EINVAL;

	_cleanup_(family_freep) struct metric_family *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->type = type;
	f->max_series = d->max_series;

	size_t len = strlen(d->name);
	if (type == METRIC_COUNTER && has_suffix(d->name, "_total"))
		len -= strlen("_total");
	f->name = strndup(d->name, len);
	if (!f->name)
		return -ENOMEM;
	if (!metric_name_valid(f->name))
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(reserved_suffixes); i++)
		if (has_suffix(f->name, reserved_suffixes[i]))
			return -EINVAL;

	if (d->help && d->help[0]) {
		if (!utf8_valid(d->help))
			return -EINVAL;
		f->help = strdup(d->help);
		if (!f->help)
			return -ENOMEM;
	}

	if (d->unit && d->unit[0]) {
		/* OpenMetrics: the family's name ends in its unit. */
		size_t u = strlen(d->unit);
		if (!unit_valid(d->unit) || len < u + 2 || f->name[len - u - 1] != '_' ||
		    strcmp(f->name + len - u, d->unit) != 0)
			return -EINVAL;
		f->unit = strdup(d->unit);
		if (!f->unit)
			return -ENOMEM;
	}

	size_t n = 0;
	if (d->labels)
		while (n <= METRICS_MAX_LABELS && d->labels[n])
			n++;
	if (n > METRICS_MAX_LABELS)
		return -EINVAL;
	f->labels = calloc(n + 1, sizeof(char *));
	if (!f->labels)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *l = d->labels[i];
		if (!label_name_valid(l) || (type == METRIC_HISTOGRAM && strcmp(l, "le") == 0) ||
		    (type == METRIC_SUMMARY && strcmp(l, "quantile") == 0))
			return -EINVAL;
		for (size_t k = 0; k < i; k++)
			if (strcmp(f->labels[k], l) == 0)
				return -EINVAL;
		f->labels[i] = strdup(l);
		if (!f->labels[i])
			return -ENOMEM;
		f->n_labels = i + 1;
	}

	*ret = steal_ptr(&f);
	return 0;
}

static struct metric_family *registry_find(const metrics_registry *r, const char *name)
{
	for (size_t i = 0; i < r->n_families; i++)
		if (strcmp(r->families[i]->name, name) == 0)
			return r->families[i];
	return NULL;
}

int registry_add_families(metrics_registry *r, struct metric_family **f, size_t n)
{
	if (!r)
		return -EINVAL;
	/* Outside the lock: a family without labels gets its one child. */
	for (size_t i = 0; i < n; i++) {
		f[i]->registry = r;
		if (f[i]->n_labels == 0 && !f[i]->only) {
			f[i]->max_series = 1;
			int k = child_add(f[i], NULL, 0, &f[i]->only);
			if (k < 0)
				return k;
		}
	}

	int k = 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < n && k == 0; i++) {
		if (registry_find(r, f[i]->name))
			k = -EEXIST;
		for (size_t j = 0; j < i && k == 0; j++)
			if (strcmp(f[j]->name, f[i]->name) == 0)
				k = -EEXIST;
	}
	if (k == 0 && r->n_families + n > r->cap_families) {
		size_t cap = MAX(r->cap_families * 2, r->n_families + n);
		struct metric_family **v = realloc(r->families, cap * sizeof(*v));
		if (v) {
			r->families = v;
			r->cap_families = cap;
		} else {
			k = -ENOMEM;
		}
	}
	if (k == 0)
		for (size_t i = 0; i < n; i++) {
			if (!f[i]->max_series)
				f[i]->max_series = r->max_series;
			r->families[r->n_families++] = f[i];
		}
	pthread_mutex_unlock(&r->lock);
	return k;
}

static int family_register(metrics_registry *r, struct metric_family **f, metric_family **ret)
{
	int k = registry_add_families(r, f, 1);
	if (k < 0)
		return k;
	*ret = steal_ptr(f);
	return 0;
}

int metrics_counter_new(metrics_registry *r, const metric_desc *d, metric_family **ret)
{
	_cleanup_(family_freep) struct metric_family *f = NULL;
	int k = family_alloc(METRIC_COUNTER, d, &f);
	return k < 0 ? k : family_register(r, &f, ret);
}

int metrics_gauge_new(metrics_registry *r, const metric_desc *d, metric_family **ret)
{
	_cleanup_(family_freep) struct metric_family *f = NULL;
	int k = family_alloc(METRIC_GAUGE, d, &f);
	return k < 0 ? k : family_register(r, &f, ret);
}

/* The Go client's defaults, for request latencies in seconds. */
static const double default_bounds[] = { .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10 };

int metrics_histogram_new(metrics_registry *r, const metric_desc *d, const double *bounds,
			  size_t n_bounds, metric_family **ret)
{
	if (!bounds) {
		bounds = default_bounds;
		n_bounds = ARRAY_SIZE(default_bounds);
	}
	/* The +Inf bucket is always there; one given is dropped. */
	if (n_bounds > 0 && bounds[n_bounds - 1] == INFINITY)
		n_bounds--;
	if (n_bounds > METRICS_MAX_BUCKETS)
		return -EINVAL;
	for (size_t i = 0; i < n_bounds; i++)
		if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
			return -EINVAL;

	_cleanup_(family_freep) struct metric_family *f = NULL;
	int k = family_alloc(METRIC_HISTOGRAM, d, &f);
	if (k < 0)
		return k;
	/* One element at least, so that malloc(0) is never asked. */
	f->bounds = malloc(MAX(n_bounds, (size_t)1) * sizeof(double));
	if (!f->bounds)
		return -ENOMEM;
	if (n_bounds > 0)
		memcpy(f->bounds, bounds, n_bounds * sizeof(double));
	f->n_bounds = n_bounds;
	return family_register(r, &f, ret);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static const double default_quantiles[] = { 0.5, 0.9, 0.99 };

int metrics_summary_new(metrics_registry *r, const metric_desc *d,
			const metric_summary_options *opts, metric_family **ret)
{
	metric_summary_options o = opts ? *opts : (metric_summary_options){ 0 };
	if (!o.quantiles) {
		o.quantiles = default_quantiles;
		o.n_quantiles = ARRAY_SIZE(default_quantiles);
	}
	if (o.max_age_ns == 0)
		o.max_age_ns = 600 * NSEC_PER_SEC;
	if (o.age_buckets == 0)
		o.age_buckets = 5;
	if (o.n_quantiles > METRICS_MAX_QUANTILES || o.max_age_ns < 0 ||
	    o.age_buckets > METRICS_MAX_AGE_BUCKETS || o.max_age_ns / o.age_buckets < 1)
		return -EINVAL;
	double qs[METRICS_MAX_QUANTILES];
	for (size_t i = 0; i < o.n_quantiles; i++) {
		if (!(o.quantiles[i] >= 0 && o.quantiles[i] <= 1))
			return -EINVAL;
		qs[i] = o.quantiles[i];
	}
	qsort(qs, o.n_quantiles, sizeof(double), cmp_double);
	for (size_t i = 1; i < o.n_quantiles; i++)
		if (qs[i] == qs[i - 1])
			return -EINVAL;

	_cleanup_(family_freep) struct metric_family *f = NULL;
	int k = family_alloc(METRIC_SUMMARY, d, &f);
	if (k < 0)
		return k;
	f->quantiles = malloc(MAX(o.n_quantiles, (size_t)1) * sizeof(double));
	if (!f->quantiles)
		return -ENOMEM;
	if (o.n_quantiles > 0)
		memcpy(f->quantiles, qs, o.n_quantiles * sizeof(double));
	f->n_quantiles = o.n_quantiles;
	f->max_age_ns = o.max_age_ns;
	f->age_buckets = o.age_buckets;
	return family_register(r, &f, ret);
}
