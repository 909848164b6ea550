/* SPDX-License-Identifier: MIT */
/*
 * Summary quantiles over a sliding time window.
 *
 * The window (max_age) is a ring of n sub-windows, each covering one time
 * slot of max_age / n. An observation at time t goes to the sub-window of
 * slot t / slot_ns; a query at time now merges the sub-windows whose slot
 * is one of the last n, so an observation counts for between
 * max_age * (n - 1) / n and max_age after it was made, then leaves.
 *
 * Each sub-window is a log-linear histogram read straight from the bits of
 * the double: the exponent picks an octave [2^e, 2^(e+1)), the top 6 bits
 * of the mantissa one of 64 equal sub-buckets in it. A bucket [lo, hi) has
 * (hi - lo) <= lo / 64, and a quantile is reported as the middle of the
 * bucket that holds the observation of its rank, so it is within
 * (hi - lo) / 2 <= |x| / 128 of that observation x: a relative error of at
 * most 2^-7 = 0.78125%. Ranks are exact (counts are integers).
 *
 * Octaves cover |v| in [2^-48, 2^48) (3.6e-15 to 2.8e14), for each sign.
 * Smaller magnitudes, zero included, share one bucket reported as 0; larger
 * ones (and infinities) one per sign, reported as +Inf or -Inf. NaN is left
 * out of the quantiles.
 *
 * Counts are never cleared, so that they also make the all-time _count
 * without an add of its own: a sub-window holds, besides its counts, their
 * values as its slot began (its base), and what it holds in the window is
 * the difference. An observation costs the clock, one acquire load of the
 * sub-window's slot, one relaxed add to a bucket and a CAS loop on the sum.
 * The first observation of a new slot takes the bases of the sub-window it
 * reuses under a mutex: once per slot, not per observation.
 *
 * Memory: the counts and bases of an octave for all n sub-windows (2 * n *
 * 64 counters) are allocated on its first observation, lock-free (calloc,
 * then a compare-and-swap; the loser frees its copy), and kept until the
 * summary is freed. Latencies from 1 us to 1 min touch about 26 octaves.
 */
#include "metrics/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#define SUB_BITS 6
#define N_SUB (1u << SUB_BITS)
#define EXP_MIN (-48)
#define EXP_MAX 48
#define N_OCT ((unsigned)(EXP_MAX - EXP_MIN))
#define SLOT_EMPTY INT64_MIN

#define RELAXED memory_order_relaxed

/* The buckets outside the octaves. */
enum { EDGE_ZERO, EDGE_POS, EDGE_NEG, N_EDGES };

struct window {
	_Atomic int64_t slot; /* the time slot whose observations it holds */
	_Atomic uint64_t edge[N_EDGES]; /* |v| < 2^EXP_MIN; |v| >= 2^EXP_MAX by sign */
	_Atomic uint64_t edge_base[N_EDGES];
};

struct summary {
	/* Written by every observation: a cache line of its own. */
	_Alignas(METRIC_ALIGN) _Atomic uint64_t sum; /* a double */

	/* Read by every observation, written rarely. */
	_Alignas(METRIC_ALIGN) _Atomic int64_t last_slot; /* spares most a division */
	int64_t slot_ns;
	unsigned n;
	metrics_clock_fn clock;
	void *clock_userdata;
	pthread_mutex_t rotate;
	/* In _count only: NaN, and observations that missed the window. */
	_Atomic uint64_t uncounted;
	/* [sign][octave] -> counts [n][N_SUB], then bases [n][N_SUB]; NULL
	 * until used. */
	_Atomic(_Atomic uint64_t *) chunk[2][N_OCT];

	struct window win[];
};

/* Acquire: a chunk's zeroed counters are seen before its pointer. */
static _Atomic uint64_t *chunk_of(struct summary *s, unsigned neg, unsigned o)
{
	return atomic_load_explicit(&s->chunk[neg][o], memory_order_acquire);
}

static _Atomic uint64_t *count_at(_Atomic uint64_t *c, unsigned w, unsigned sub)
{
	return &c[w * N_SUB + sub];
}

static _Atomic uint64_t *base_at(const struct summary *s, _Atomic uint64_t *c, unsigned w,
				 unsigned sub)
{
	return &c[(s->n + w) * N_SUB + sub];
}

int summary_new(unsigned age_buckets, int64_t max_age_ns, metrics_clock_fn clock,
		void *clock_userdata, struct summary **ret)
{
	if (age_buckets == 0 || age_buckets > METRICS_MAX_AGE_BUCKETS ||
	    max_age_ns / age_buckets < 1)
		return -EINVAL;
	size_t size = sizeof(struct summary) + age_buckets * sizeof(struct window);
	size = (size + METRIC_ALIGN - 1) & ~(size_t)(METRIC_ALIGN - 1);
	struct summary *s = aligned_alloc(METRIC_ALIGN, size);
	if (!s)
		return -ENOMEM;
	memset(s, 0, size);
	s->slot_ns = max_age_ns / age_buckets;
	s->n = age_buckets;
	s->clock = clock;
	s->clock_userdata = clock_userdata;
	pthread_mutex_init(&s->rotate, NULL);
	for (unsigned w = 0; w < age_buckets; w++)
		atomic_init(&s->win[w].slot, SLOT_EMPTY);
	*ret = s;
	return 0;
}

void summary_free(struct summary *s)
{
	if (!s)
		return;
	for (unsigned neg = 0; neg < 2; neg++)
		for (unsigned o = 0; o < N_OCT; o++)
			free((void *)atomic_load_explicit(&s->chunk[neg][o], RELAXED));
	pthread_mutex_destroy(&s->rotate);
	free(s);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t slot_of(struct summary *s, int64_t now)
{
	/* Most observations fall in the slot the last one did: check it with
	 * a multiplication rather than divide. A stale or racing last_slot is
	 * harmless, it only sends a caller down the division. */
	int64_t c = atomic_load_explicit(&s->last_slot, RELAXED);
	int64_t d = now - c * s->slot_ns;
	if (_likely_(d >= 0 && d < s->slot_ns))
		return c;
	int64_t slot = floor_div(now, s->slot_ns);
	atomic_store_explicit(&s->last_slot, slot, RELAXED);
	return slot;
}

static unsigned window_of(const struct summary *s, int64_t slot)
{
	int64_t w = slot % (int64_t)s->n;
	return (unsigned)(w < 0 ? w + s->n : w);
}

/* What a count holds in the window: its value less its base. The base is
 * loaded first, with acquire, so that the count read after it is at least
 * as new as the value the base was taken from. */
static uint64_t in_window(_Atomic uint64_t *count, _Atomic uint64_t *base)
{
	uint64_t b = atomic_load_explicit(base, memory_order_acquire);
	uint64_t c = atomic_load_explicit(count, RELAXED);
	return c > b ? c - b : 0;
}

static void take_base(_Atomic uint64_t *count, _Atomic uint64_t *base)
{
	atomic_store_explicit(base, atomic_load_explicit(count, RELAXED), memory_order_release);
}

/* Sub-window w starts holding slot: what it counted so far becomes its
 * base, and then the slot is stored (release), so that a reader that sees
 * the new slot sees the new bases. An observer that loaded the old slot
 * just before may add after the bases were taken: its observation counts in
 * the new slot, which needs a thread stalled over a whole turn of the ring.
 * Returns whether w now holds slot: false when another thread has moved it
 * to a later one, which is then n or more slots after ours. */
static bool rotate(struct summary *s, unsigned w, int64_t slot)
{
	pthread_mutex_lock(&s->rotate);
	struct window *win = &s->win[w];
	int64_t held = atomic_load_explicit(&win->slot, RELAXED);
	if (held < slot) {
		for (unsigned e = 0; e < N_EDGES; e++)
			take_base(&win->edge[e], &win->edge_base[e]);
		for (unsigned neg = 0; neg < 2; neg++)
			for (unsigned o = 0; o < N_OCT; o++) {
				_Atomic uint64_t *c = chunk_of(s, neg, o);
				if (c)
					for (unsigned i = 0; i < N_SUB; i++)
						take_base(count_at(c, w, i), base_at(s, c, w, i));
			}
		atomic_store_explicit(&win->slot, slot, memory_order_release);
		held = slot;
	}
	pthread_mutex_unlock(&s->rotate);
	return held == slot;
}

static _Atomic uint64_t *chunk_get(struct summary *s, unsigned neg, unsigned o)
{
	_Atomic uint64_t *c = chunk_of(s, neg, o);
	if (_likely_(c != NULL))
		return c;
	c = calloc((size_t)2 * s->n * N_SUB, sizeof(*c));
	if (!c)
		return NULL;
	_Atomic uint64_t *expected = NULL;
	if (!atomic_compare_exchange_strong_explicit(&s->chunk[neg][o], &expected, c,
						     memory_order_acq_rel, memory_order_acquire)) {
		free((void *)c);
		c = expected;
	}
	return c;
}

static void summary_observe(struct summary *s, double v, int64_t now)
{
	atomic_add_double(&s->sum, v);
	if (_unlikely_(isnan(v)))
		goto uncounted;

	int64_t slot = slot_of(s, now);
	unsigned w = window_of(s, slot);
	/* The sub-window holds an older slot: it starts over for ours. It
	 * holds a later one (a caller whose now is a window behind
	 * another's): the observation has left the window already. */
	if (_unlikely_(atomic_load_explicit(&s->win[w].slot, memory_order_acquire) != slot) &&
	    !rotate(s, w, slot))
		goto uncounted;

	uint64_t bits = double_bits(v);
	unsigned neg = (unsigned)(bits >> 63);
	int e = (int)((bits >> 52) & 0x7ff) - 1023;
	_Atomic uint64_t *p;
	if (e < EXP_MIN) {
		p = &s->win[w].edge[EDGE_ZERO];
	} else if (e >= EXP_MAX) {
		p = &s->win[w].edge[neg ? EDGE_NEG : EDGE_POS];
	} else {
		_Atomic uint64_t *c = chunk_get(s, neg, (unsigned)(e - EXP_MIN));
		if (_unlikely_(!c))
			goto uncounted; /* out of memory */
		p = count_at(c, w, (unsigned)(bits >> (52 - SUB_BITS)) & (N_SUB - 1));
	}
	atomic_fetch_add_explicit(p, 1, RELAXED);
	return;

uncounted:
	atomic_fetch_add_explicit(&s->uncounted, 1, RELAXED);
}

/* ------------------------------------------------------------ queries */

/* Walks the merged buckets of the live sub-windows in increasing order of
 * value; each quantile whose rank the running count reaches takes the
 * bucket's middle. */
struct walk {
	const unsigned *live;
	size_t n_live;
	uint64_t cum;
	const uint64_t *ranks;
	double *out;
	size_t n, i;
	double last;
};

static void visit(struct walk *k, uint64_t c, double rep)
{
	if (!c)
		return;
	k->cum += c;
	k->last = rep;
	while (k->i < k->n && k->cum >= k->ranks[k->i])
		k->out[k->i++] = rep;
}

/* The count of an octave's sub-bucket, and of an edge bucket, over the
 * live sub-windows. */
static uint64_t merged(const struct walk *k, struct summary *s, _Atomic uint64_t *c,
		       unsigned sub)
{
	uint64_t n = 0;
	for (size_t i = 0; i < k->n_live; i++)
		n += in_window(count_at(c, k->live[i], sub), base_at(s, c, k->live[i], sub));
	return n;
}

static uint64_t merged_edge(const struct walk *k, struct summary *s, unsigned e)
{
	uint64_t n = 0;
	for (size_t i = 0; i < k->n_live; i++) {
		struct window *w = &s->win[k->live[i]];
		n += in_window(&w->edge[e], &w->edge_base[e]);
	}
	return n;
}

/* 2^e * (1 + (sub + 0.5) / 64), built from its bits: the sub-bucket's
 * mantissa bits and the half below them. */
static double bucket_middle(unsigned neg, unsigned o, unsigned sub)
{
	uint64_t exp = (uint64_t)((int)o + EXP_MIN + 1023);
	uint64_t mant = ((uint64_t)sub << (52 - SUB_BITS)) | (UINT64_C(1) << (51 - SUB_BITS));
	return bits_double((uint64_t)neg << 63 | exp << 52 | mant);
}

static void walk_octaves(struct summary *s, struct walk *k, unsigned neg)
{
	for (unsigned i = 0; i < N_OCT; i++) {
		unsigned o = neg ? N_OCT - 1 - i : i; /* the largest negatives first */
		_Atomic uint64_t *c = chunk_of(s, neg, o);
		if (!c)
			continue;
		for (unsigned j = 0; j < N_SUB; j++) {
			unsigned sub = neg ? N_SUB - 1 - j : j;
			uint64_t n = merged(k, s, c, sub);
			if (n)
				visit(k, n, bucket_middle(neg, o, sub));
		}
	}
}

static void walk(struct summary *s, struct walk *k)
{
	visit(k, merged_edge(k, s, EDGE_NEG), -INFINITY);
	walk_octaves(s, k, 1);
	visit(k, merged_edge(k, s, EDGE_ZERO), 0.0);
	walk_octaves(s, k, 0);
	visit(k, merged_edge(k, s, EDGE_POS), INFINITY);
}

void summary_quantiles(struct summary *s, const double *qs, size_t n, int64_t now_ns,
		       double *out)
{
	int64_t cur = floor_div(now_ns, s->slot_ns);
	unsigned live[METRICS_MAX_AGE_BUCKETS];
	struct walk k = { .live = live };
	for (unsigned w = 0; w < s->n; w++) {
		int64_t slot = atomic_load_explicit(&s->win[w].slot, memory_order_acquire);
		if (slot != SLOT_EMPTY && slot > cur - (int64_t)s->n)
			live[k.n_live++] = w;
	}

	/* Twice: the total first, then the ranks. */
	walk(s, &k);
	uint64_t total = k.cum;
	uint64_t ranks[n ? n : 1];
	for (size_t i = 0; i < n; i++) {
		/* The nearest rank, ceil(q * total), within [1, total]. */
		double x = qs[i] * (double)total;
		uint64_t r = (uint64_t)x;
		r += (double)r < x;
		ranks[i] = r < 1 ? 1 : r > total ? total : r;
	}
	k = (struct walk){ .live = live, .n_live = k.n_live, .ranks = ranks, .out = out, .n = n,
			   .last = NAN };
	if (total > 0)
		walk(s, &k);
	/* An empty window, or one whose oldest sub-window moved on to a new
	 * slot between the two walks: what was seen last, or NaN. */
	for (size_t i = k.i; i < n; i++)
		out[i] = k.last;
}

/* ------------------------------------------------------------ the API */

void metric_summary_observe(metric_summary *sm, double v)
{
	struct summary *s = metric_of(sm)->summary;
	summary_observe(s, v, s->clock(s->clock_userdata));
}

void metric_summary_observe_at(metric_summary *sm, double v, int64_t now_ns)
{
	summary_observe(metric_of(sm)->summary, v, now_ns);
}

double metric_summary_quantile_at(metric_summary *sm, double q, int64_t now_ns)
{
	if (!(q >= 0 && q <= 1))
		return NAN;
	double out;
	summary_quantiles(metric_of(sm)->summary, &q, 1, now_ns, &out);
	return out;
}

/* Every count ever made, in or out of the window: they only grow, so two
 * readings in a row never go down, as a counter must not. */
uint64_t metric_summary_count(const metric_summary *sm)
{
	struct summary *s = metric_of(sm)->summary;
	uint64_t n = atomic_load_explicit(&s->uncounted, RELAXED);
	for (unsigned w = 0; w < s->n; w++)
		for (unsigned e = 0; e < N_EDGES; e++)
			n += atomic_load_explicit(&s->win[w].edge[e], RELAXED);
	for (unsigned neg = 0; neg < 2; neg++)
		for (unsigned o = 0; o < N_OCT; o++) {
			_Atomic uint64_t *c = chunk_of(s, neg, o);
			if (c)
				for (size_t i = 0; i < (size_t)s->n * N_SUB; i++)
					n += atomic_load_explicit(&c[i], RELAXED);
		}
	return n;
}

double metric_summary_sum(const metric_summary *sm)
{
	return atomic_load_double(&metric_of(sm)->summary->sum);
}
