/* SPDX-License-Identifier: MIT */
/*
 * Exposition: Prometheus text format 0.0.4 and OpenMetrics 1.0 text.
 *
 * The two differ in the names of counters (0.0.4 names the family after its
 * sample, NAME_total; OpenMetrics names it NAME and adds "# UNIT"), in the
 * escaping of HELP (0.0.4 escapes backslash and newline only; OpenMetrics
 * also the double quote), in the spelling of le and quantile values
 * (OpenMetrics wants canonical numbers: "1.0", not "1"), and in the
 * "# EOF" that ends an OpenMetrics exposition.
 */
#include "metrics/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const char *metrics_content_type(metrics_format fmt)
{
	return fmt == METRICS_OPENMETRICS ?
		       "application/openmetrics-text; version=1.0.0; charset=utf-8" :
		       "text/plain; version=0.0.4; charset=utf-8";
}

/* The shortest text that reads back as the same double (as Go's 'g', -1
 * does), with infinities and NaN spelled as Prometheus parses them. With
 * canonical, a whole number gets ".0". */
static void format_double(char buf[static 32], double v, bool canonical)
{
	if (isnan(v)) {
		strcpy(buf, "NaN");
		return;
	}
	if (isinf(v)) {
		strcpy(buf, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* 15 significant digits print every double that 15 or fewer digits
	 * identify (DBL_DIG); 17 always read back. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (canonical && !strpbrk(buf, ".e"))
		strcat(buf, ".0");
}

static void put_escaped(textbuf *b, const char *s, bool quote)
{
	const char *run = s;
	for (; *s; s++) {
		const char *esc;
		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && quote)
			esc = "\\\"";
		else
			continue;
		textbuf_put(b, run, (size_t)(s - run));
		textbuf_puts(b, esc);
		run = s + 1;
	}
	textbuf_put(b, run, (size_t)(s - run));
}

/* NAME<suffix>{labels[,extra="value"]} and a space. */
static void put_series(textbuf *b, const struct metric_family *f, const struct metric *m,
		       const char *suffix, const char *extra, const char *extra_value)
{
	textbuf_puts(b, f->name);
	textbuf_puts(b, suffix);
	if (f->n_labels == 0 && !extra) {
		textbuf_putc(b, ' ');
		return;
	}
	textbuf_putc(b, '{');
	for (size_t i = 0; i < f->n_labels; i++) {
		if (i > 0)
			textbuf_putc(b, ',');
		textbuf_puts(b, f->labels[i]);
		textbuf_put(b, "=\"", 2);
		put_escaped(b, m->values[i], true);
		textbuf_putc(b, '"');
	}
	if (extra) {
		if (f->n_labels > 0)
			textbuf_putc(b, ',');
		/* le and quantile values are numbers: nothing to escape. */
		textbuf_printf(b, "%s=\"%s\"", extra, extra_value);
	}
	textbuf_put(b, "} ", 2);
}

static void put_double(textbuf *b, double v)
{
	char buf[32];
	format_double(buf, v, false);
	textbuf_puts(b, buf);
	textbuf_putc(b, '\n');
}

static void put_u64(textbuf *b, uint64_t v)
{
	textbuf_printf(b, "%" PRIu64 "\n", v);
}

static void put_histogram(textbuf *b, const struct metric_family *f, struct metric *m, bool om)
{
	char le[32];
	uint64_t cum = 0;
	for (size_t i = 0; i <= f->n_bounds; i++) {
		cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
		if (i < f->n_bounds)
			format_double(le, f->bounds[i], om);
		else
			strcpy(le, "+Inf");
		put_series(b, f, m, "_bucket", "le", le);
		put_u64(b, cum);
	}
	/* OpenMetrics: with a negative bucket the sum is no counter any more
	 * and must go. */
	if (!(om && f->n_bounds > 0 && f->bounds[0] < 0)) {
		put_series(b, f, m, "_sum", NULL, NULL);
		put_double(b, atomic_load_double(&m->histogram.sum));
	}
	put_series(b, f, m, "_count", NULL, NULL);
	put_u64(b, cum);
}

static void put_summary(textbuf *b, const struct metric_family *f, struct metric *m, bool om,
			int64_t now)
{
	double v[METRICS_MAX_QUANTILES];
	char q[32];
	size_t n = MIN(f->n_quantiles, (size_t)METRICS_MAX_QUANTILES);
	summary_quantiles(m->summary, f->quantiles, n, now, v);
	for (size_t i = 0; i < n; i++) {
		format_double(q, f->quantiles[i], om);
		put_series(b, f, m, "", "quantile", q);
		put_double(b, v[i]);
	}
	put_series(b, f, m, "_sum", NULL, NULL);
	put_double(b, metric_summary_sum((metric_summary *)m));
	put_series(b, f, m, "_count", NULL, NULL);
	put_u64(b, metric_summary_count((metric_summary *)m));
}

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
	[METRIC_SUMMARY] = "summary",
};

/* children: a copy of the family's list (see snapshot_children). */
static void put_family(textbuf *b, const struct metric_family *f, struct metric *const *children,
		       size_t n_children, bool om, int64_t now)
{
	if (n_children == 0)
		return;
	/* 0.0.4 names a counter's family after its sample. */
	const char *meta = !om && f->type == METRIC_COUNTER ? "_total" : "";
	if (f->help) {
		textbuf_printf(b, "# HELP %s%s ", f->name, meta);
		put_escaped(b, f->help, om);
		textbuf_putc(b, '\n');
	}
	textbuf_printf(b, "# TYPE %s%s %s\n", f->name, meta, type_names[f->type]);
	if (om && f->unit)
		textbuf_printf(b, "# UNIT %s %s\n", f->name, f->unit);

	for (size_t i = 0; i < n_children; i++) {
		struct metric *m = children[i];
		switch (f->type) {
		case METRIC_COUNTER: {
			uint64_t n, extra;
			n = atomic_load_explicit(&m->counter.n, memory_order_relaxed);
			extra = atomic_load_explicit(&m->counter.extra, memory_order_relaxed);
			put_series(b, f, m, "_total", NULL, NULL);
			/* Whole counts exactly, beyond the 2^53 of a double. */
			if (extra == 0)
				put_u64(b, n);
			else
				put_double(b, (double)n + bits_double(extra));
			break;
		}
		case METRIC_GAUGE:
			put_series(b, f, m, "", NULL, NULL);
			put_double(b, atomic_load_double(&m->gauge));
			break;
		case METRIC_HISTOGRAM:
			put_histogram(b, f, m, om);
			break;
		case METRIC_SUMMARY:
			put_summary(b, f, m, om, now);
			break;
		}
	}
}

/* Collectors run without the registry's lock, so that they may update
 * metrics (and look children up) freely: call them on a copy of the list. */
static int run_collectors(metrics_registry *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->n_collectors;
	_cleanup_free_ struct collector *c = n ? malloc(n * sizeof(*c)) : NULL;
	if (c)
		memcpy(c, r->collectors, n * sizeof(*c));
	pthread_mutex_unlock(&r->lock);
	if (n && !c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int k = c[i].collect(r, c[i].userdata);
		if (k < 0)
			return k;
	}
	return 0;
}

/* Families and children are never removed, so copies of their lists stay
 * valid: they are taken under the mutexes, and the text is written without
 * any, so a slow exposition (summaries) delays no lookup or registration. */
static int snapshot_families(metrics_registry *r, struct metric_family ***ret, size_t *n)
{
	pthread_mutex_lock(&r->lock);
	*n = r->n_families;
	*ret = *n ? malloc(*n * sizeof(**ret)) : NULL;
	if (*ret)
		memcpy(*ret, r->families, *n * sizeof(**ret));
	pthread_mutex_unlock(&r->lock);
	return *n && !*ret ? -ENOMEM : 0;
}

/* Into *scratch, which grows as needed and is reused across families. */
static int snapshot_children(struct metric_family *f, struct metric ***scratch, size_t *cap,
			     size_t *n)
{
	int k = 0;
	pthread_mutex_lock(&f->lock);
	*n = f->n_children;
	if (*n > *cap) {
		struct metric **v = realloc(*scratch, *n * sizeof(*v));
		if (v) {
			*scratch = v;
			*cap = *n;
		} else {
			k = -ENOMEM;
		}
	}
	if (k == 0 && *n > 0)
		memcpy(*scratch, f->children, *n * sizeof(**scratch));
	pthread_mutex_unlock(&f->lock);
	return k;
}

int metrics_expose(metrics_registry *r, metrics_format fmt, textbuf *out)
{
	if (!r || !out || (fmt != METRICS_PROMETHEUS && fmt != METRICS_OPENMETRICS))
		return -EINVAL;
	if (textbuf_error(out))
		return textbuf_error(out);
	size_t len0 = out->len;
	bool om = fmt == METRICS_OPENMETRICS;

	int k = run_collectors(r);
	if (k < 0)
		return k;
	_cleanup_free_ struct metric_family **families = NULL;
	_cleanup_free_ struct metric **children = NULL;
	size_t n_families, n_children, cap = 0;
	k = snapshot_families(r, &families, &n_families);
	if (k < 0)
		return k;

	/* printf's %g and strtod follow LC_NUMERIC, which a host (a Python
	 * program, say) may have set to a locale with a decimal comma. */
	locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c == (locale_t)0)
		return -errno;
	locale_t old = uselocale(c);

	int64_t now = metrics_now(r);
	textbuf_put(out, "", 0); /* text, even when empty */
	for (size_t i = 0; i < n_families && k == 0; i++) {
		k = snapshot_children(families[i], &children, &cap, &n_children);
		if (k == 0)
			put_family(out, families[i], children, n_children, om, now);
	}
	if (om)
		textbuf_puts(out, "# EOF\n");

	uselocale(old);
	freelocale(c);

	if (k == 0)
		k = textbuf_error(out);
	if (k < 0) {
		textbuf_truncate(out, len0);
		return k;
	}
	return 0;
}
