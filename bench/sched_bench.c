/* SPDX-License-Identifier: MIT */
/*
 * The cost of the scheduler's decisions (src/sched) with 10^2, 10^4 and
 * 10^6 tasks queued over 4 groups (weights 1..4) and 3 kinds, so 12 flows,
 * random classes and orders, a simulated clock. For each size:
 *
 *   enqueue         filling the queue from empty to n (the mean over sizes
 *                   0..n), and re-enqueueing in the steady state;
 *   next+finished   sched_next() and sched_finished() (with usage, so the
 *                   kind's averages are updated) with n tasks queued: the
 *                   queue is kept between n - n/10 and n by alternating
 *                   timed chunks of next+finished and of re-enqueueing.
 *
 * Prints a Markdown table of ns per operation, the best of 3 runs. The
 * costs should grow no faster than log n (the heaps), plus cache misses
 * once the entries no longer fit in the caches.
 *
 * Build (after `make`) and run:
 *
 *   mkdir -p build/bench && cc -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -Isrc \
 *       bench/sched_bench.c build/libagentrt.a -ljansson -lseccomp -lpthread -lm \
 *       -o build/bench/sched_bench && build/bench/sched_bench
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "sched/sched.h"

#define RUNS 3
#define STEADY_OPS 1000000 /* next+finished pairs timed per run */

static const char *const groups[] = { "alice", "bob", "carol", "dave" };
static const char *const kinds[] = { "build", "test", "fetch" };

static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

static uint32_t rng(void)
{
	rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (uint32_t)(rng_state >> 33);
}

typedef struct result {
	double fill_ns, enqueue_ns, next_ns;
} result;

static void die(const char *what, int r)
{
	fprintf(stderr, "sched_bench: %s: %s\n", what, strerror(-r));
	exit(1);
}

static void enqueue_one(sched *s, sched_entry *e, size_t i, int64_t now)
{
	int r = sched_enqueue(s, e, groups[i % 4], kinds[(i / 4) % 3], now);
	if (r < 0)
		die("sched_enqueue", r);
}

static result run(size_t n)
{
	sched_config cfg;
	sched_config_init(&cfg);
	cfg.max_running = 64;
	cfg.cpu_capacity = 64000;
	sched *s;
	int r = sched_new(&cfg, &s);
	if (r < 0)
		die("sched_new", r);
	for (int g = 0; g < 4; g++)
		if ((r = sched_group_set_weight(s, groups[g], (unsigned)g + 1, 0)) < 0)
			die("sched_group_set_weight", r);

	sched_entry *e = calloc(n, sizeof(*e));
	size_t chunk = n / 10 ? n / 10 : 1;
	if (chunk > 1000)
		chunk = 1000;
	sched_entry **taken = calloc(chunk, sizeof(*taken));
	if (!e || !taken)
		die("calloc", -ENOMEM);
	for (size_t i = 0; i < n; i++) {
		sched_entry_init(&e[i]);
		e[i].cls = (sched_class)(rng() % _SCHED_CLASS_MAX);
		e[i].order = (int)(rng() % 4);
		e[i].cpu_request = 100 + rng() % 900;
	}

	/* The clock advances 1 us per operation: aging and virtual times
	 * move as they would. */
	int64_t now = 0;
	result res = { 0 };

	int64_t t0 = mono_ns();
	for (size_t i = 0; i < n; i++)
		enqueue_one(s, &e[i], i, now += 1000);
	res.fill_ns = (double)(mono_ns() - t0) / (double)n;

	int64_t next_ns = 0, enq_ns = 0;
	size_t next_ops = 0, enq_ops = 0;
	sched_usage u = { .wall_ns = 1000000, .cpu_ns = 300000, .peak_memory = 1 << 20 };
	while (next_ops < STEADY_OPS) {
		t0 = mono_ns();
		for (size_t j = 0; j < chunk; j++) {
			sched_entry *x = sched_next(s, now += 1000, NULL);
			if (!x) {
				fprintf(stderr, "sched_bench: nothing to start\n");
				exit(1);
			}
			sched_finished(s, x, now += 1000, &u);
			taken[j] = x;
		}
		next_ns += mono_ns() - t0;
		next_ops += chunk;

		t0 = mono_ns();
		for (size_t j = 0; j < chunk; j++)
			enqueue_one(s, taken[j], (size_t)(taken[j] - e), now += 1000);
		enq_ns += mono_ns() - t0;
		enq_ops += chunk;
	}
	res.next_ns = (double)next_ns / (double)next_ops;
	res.enqueue_ns = (double)enq_ns / (double)enq_ops;

	sched_free(s);
	free(e);
	free(taken);
	return res;
}

int main(void)
{
	static const size_t sizes[] = { 100, 10000, 1000000 };

	printf("| tasks queued | enqueue, filling (ns) | enqueue, steady (ns) | next+finished (ns) |\n");
	printf("|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		result best = { 0 };
		for (int k = 0; k < RUNS; k++) {
			result r = run(sizes[i]);
			if (!k || r.fill_ns < best.fill_ns)
				best.fill_ns = r.fill_ns;
			if (!k || r.enqueue_ns < best.enqueue_ns)
				best.enqueue_ns = r.enqueue_ns;
			if (!k || r.next_ns < best.next_ns)
				best.next_ns = r.next_ns;
		}
		printf("| %zu | %.0f | %.0f | %.0f |\n", sizes[i], best.fill_ns, best.enqueue_ns,
		       best.next_ns);
		fflush(stdout);
	}
	return 0;
}
