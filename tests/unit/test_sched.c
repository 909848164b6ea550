/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's decision core (src/sched/sched.h), on simulated time:
 * every test drives the clock itself, so each run decides the same way.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"
#include "sched/sched.h"
#include "tap.h"

#define SEC(x) ((int64_t)(x) * NSEC_PER_SEC)
#define MSEC(x) ((int64_t)(x) * NSEC_PER_MSEC)
#define GIB (INT64_C(1) << 30)
#define MIB (INT64_C(1) << 20)

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

static uint32_t rng(void)
{
	rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (uint32_t)(rng_state >> 33);
}

static sched *mk(const sched_config *c)
{
	sched *s = NULL;
	CHECK_EQ_INT(sched_new(c, &s), 0);
	CHECK(s);
	return s;
}

static sched_entry *mk_entries(size_t n)
{
	sched_entry *v = calloc(n, sizeof(*v));
	CHECK(v);
	for (size_t i = 0; i < n; i++)
		sched_entry_init(&v[i]);
	return v;
}

static void enq(sched *s, sched_entry *e, const char *group, const char *kind, int64_t now)
{
	CHECK_EQ_INT(sched_enqueue(s, e, group, kind, now), 0);
	CHECK_EQ_INT(e->state, SCHED_QUEUED);
}

static double absd(double x)
{
	return x < 0 ? -x : x;
}

/* ------------------------------------------------------------ priority */

TEST(test_priority_order)
{
	static const struct {
		sched_class cls;
		int order;
	} spec[] = {
		{ SCHED_LOW, 0 },      { SCHED_NORMAL, 0 },   { SCHED_HIGH, 1 },
		{ SCHED_HIGH, 5 },     { SCHED_NORMAL, 0 },   { SCHED_EMERGENCY, 0 },
		{ SCHED_CRITICAL, 0 }, { SCHED_NORMAL, -3 },
	};
	static const int expect[] = { 5, 6, 3, 2, 1, 4, 7, 0 };
	sched_config c;
	sched_config_init(&c);
	c.max_running = 1;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(ARRAY_SIZE(spec));

	for (size_t i = 0; i < ARRAY_SIZE(spec); i++) {
		e[i].cls = spec[i].cls;
		e[i].order = spec[i].order;
		enq(s, &e[i], "g", "k", 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(expect); i++) {
		int64_t retry = 0;
		sched_entry *p = sched_next(s, 0, NULL);
		CHECK(p == &e[expect[i]]);
		CHECK_EQ_INT(p->state, SCHED_RUNNING);
		/* The slot is taken: nothing else, and no timer to arm. */
		CHECK(sched_next(s, 0, &retry) == NULL);
		CHECK_EQ_INT(retry, INT64_MAX);
		sched_finished(s, p, 0, NULL);
		CHECK_EQ_INT(p->state, SCHED_ENTRY_IDLE);
	}
	CHECK(sched_next(s, 0, NULL) == NULL);
	sched_free(s);
	free(e);
}

/* One flow, random classes, orders, times and cancels: entries come out
 * in (key, higher order, submission) order, whatever was removed from the
 * middle of the heap. */
TEST(test_heap_order_with_cancels)
{
	enum { N = 5000 };
	sched *s = mk(NULL);
	sched_entry *e = mk_entries(N);
	int64_t now = 0;
	size_t queued = 0;

	for (size_t i = 0; i < N; i++) {
		e[i].cls = (sched_class)(rng() % _SCHED_CLASS_MAX);
		e[i].order = (int)(rng() % 5) - 2;
		now += (int64_t)(rng() % 3) * SEC(1); /* many equal times */
		enq(s, &e[i], "g", "k", now);
		queued++;
		if (rng() % 3 == 0) {
			sched_entry *x = &e[rng() % (i + 1)];
			if (x->state == SCHED_QUEUED) {
				sched_remove(s, x, now);
				queued--;
			}
		}
	}
	CHECK_EQ_INT(sched_set_max_running(s, 1, now), 0);
	const sched_entry *prev = NULL;
	size_t popped = 0;
	for (sched_entry *x; (x = sched_next(s, now, NULL)); prev = x, popped++) {
		if (prev)
			CHECK(prev->key < x->key ||
			      (prev->key == x->key &&
			       (prev->order > x->order ||
				(prev->order == x->order && prev->seq < x->seq))));
		sched_finished(s, x, now, NULL);
	}
	CHECK_EQ_INT(popped, queued);
	sched_free(s);
	free(e);
}

/* The virtual deadline: a HIGH task goes before a NORMAL one queued less
 * than one aging step before it, and after one queued more than that. */
TEST(test_priority_against_time)
{
	sched_config c;
	sched_config_init(&c);
	c.max_running = 1;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(5);

	enq(s, &e[0], "g", "k", 0); /* the blocker */
	CHECK(sched_next(s, 0, NULL) == &e[0]);
	enq(s, &e[1], "g", "k", 0); /* NORMAL at 0: key 30 s */
	e[2].cls = SCHED_HIGH;
	enq(s, &e[2], "g", "k", SEC(5)); /* key 25 s */
	e[3].cls = SCHED_HIGH;
	enq(s, &e[3], "g", "k", SEC(15)); /* key 35 s */
	sched_finished(s, &e[0], SEC(20), NULL);
	sched_entry *order[3];
	for (int i = 0; i < 3; i++) {
		order[i] = sched_next(s, SEC(20), NULL);
		CHECK(order[i]);
		sched_finished(s, order[i], SEC(20), NULL);
	}
	CHECK(order[0] == &e[2]);
	CHECK(order[1] == &e[1]);
	CHECK(order[2] == &e[3]);
	sched_free(s);
	free(e);
}

/* With an order window, `order` decides within a burst of submissions
 * that did not arrive in the same nanosecond. */
TEST(test_order_window)
{
	sched_config c;
	sched_config_init(&c);
	c.max_running = 1;
	c.order_window_ns = SEC(1);
	sched *s = mk(&c);
	sched_entry *e = mk_entries(4);

	enq(s, &e[0], "g", "k", 0);
	CHECK(sched_next(s, 0, NULL) == &e[0]);
	enq(s, &e[1], "g", "k", MSEC(100));
	e[2].order = 9;
	enq(s, &e[2], "g", "k", MSEC(900));
	e[3].order = 9; /* the next window: after e[1] */
	enq(s, &e[3], "g", "k", MSEC(1100));
	sched_finished(s, &e[0], SEC(2), NULL);
	CHECK(sched_next(s, SEC(2), NULL) == &e[2]);
	sched_finished(s, &e[2], SEC(2), NULL);
	CHECK(sched_next(s, SEC(2), NULL) == &e[1]);
	sched_finished(s, &e[1], SEC(2), NULL);
	CHECK(sched_next(s, SEC(2), NULL) == &e[3]);
	sched_free(s);
	free(e);
}

TEST(test_effective_class)
{
	sched *s = mk(NULL); /* aging step 10 s */
	sched_entry e;
	sched_entry_init(&e);
	sched_class c;

	e.cls = SCHED_LOW;
	CHECK_EQ_INT(sched_class_from_string("critical", &c), 0);
	CHECK_EQ_INT(c, SCHED_CRITICAL);
	CHECK_EQ_INT(sched_class_from_string("urgent", &c), -EINVAL);
	CHECK_EQ_STR(sched_class_to_string(SCHED_EMERGENCY), "emergency");

	enq(s, &e, NULL, NULL, SEC(100));
	CHECK_EQ_STR(sched_entry_group(&e), "default");
	CHECK_EQ_INT(sched_effective_class(s, &e, SEC(100)), SCHED_LOW);
	CHECK_EQ_INT(sched_effective_class(s, &e, SEC(110) - 1), SCHED_LOW);
	CHECK_EQ_INT(sched_effective_class(s, &e, SEC(110)), SCHED_NORMAL);
	CHECK_EQ_INT(sched_effective_class(s, &e, SEC(125)), SCHED_HIGH);
	CHECK_EQ_INT(sched_effective_class(s, &e, SEC(139)), SCHED_CRITICAL);
	CHECK_EQ_INT(sched_effective_class(s, &e, SEC(140)), SCHED_EMERGENCY);
	CHECK_EQ_INT(sched_effective_class(s, &e, SEC(10000)), SCHED_EMERGENCY);
	/* Running: the declared class. */
	CHECK(sched_next(s, SEC(200), NULL) == &e);
	CHECK_EQ_INT(sched_effective_class(s, &e, SEC(200)), SCHED_LOW);
	sched_free(s);
}

/* ------------------------------------------------------------ aging */

/*
 * One slot; an EMERGENCY task of 1 s is submitted every second from t=0
 * (group "eg"), so the slot is never free; a LOW task comes at 0.5 s. The
 * bound: nothing submitted more than (EMERGENCY - LOW) * 10 s = 40 s
 * after it starts before it, so it starts at 41 s (the task submitted at
 * 40 s goes first, and ends at 41 s).
 */
static void aging_run(const char *low_group)
{
	enum { N = 120 };
	sched_config c;
	sched_config_init(&c);
	c.max_running = 1;
	sched *s = mk(&c);
	sched_entry *em = mk_entries(N);
	sched_entry low;
	sched_entry_init(&low);
	low.cls = SCHED_LOW;
	const int64_t low_at = MSEC(500), bound = low_at + 4 * c.aging_step_ns;
	sched_entry *running = NULL;
	int64_t end = 0;

	for (int64_t t = 0; t < SEC(N); t += MSEC(500)) {
		if (running && end == t) {
			sched_finished(s, running, t, NULL);
			running = NULL;
		}
		if (t % SEC(1) == 0) {
			sched_entry *e = &em[t / SEC(1)];
			e->cls = SCHED_EMERGENCY;
			enq(s, e, "eg", "k", t);
		}
		if (t == low_at)
			enq(s, &low, low_group, "k", t);
		if (!running) {
			running = sched_next(s, t, NULL);
			CHECK(running);
			end = t + SEC(1);
			if (running != &low && low.state == SCHED_QUEUED)
				CHECK(running->enqueued_at <= bound);
		}
	}
	CHECK(low.started);
	CHECK_EQ_INT(low.started_at, SEC(41));
	CHECK(low.started_at <= bound + SEC(1));
	sched_free(s);
	free(em);
}

TEST(test_aging_bound_same_group)
{
	aging_run("eg");
}

TEST(test_aging_bound_other_group)
{
	aging_run("lg");
}

/* ------------------------------------------------------------ fair share */

/*
 * Groups a (weight 3) and b (weight 1), both always backlogged, 4 slots,
 * tasks of random length (0.1 to 2 s) from a fixed seed, 3000 simulated
 * seconds: running time splits 3:1 within 5%.
 */
TEST(test_fair_share_3_to_1)
{
	enum { SLOTS = 4, POOL = 20000, BACKLOG = 8 };
	const int64_t T = SEC(3000);
	sched_config c;
	sched_config_init(&c);
	c.max_running = SLOTS;
	sched *s = mk(&c);
	sched_entry *pool = mk_entries(POOL);
	int64_t *dur = calloc(POOL, sizeof(*dur));
	int *grp = calloc(POOL, sizeof(*grp));
	const char *names[2] = { "a", "b" };
	sched_entry *run[SLOTS] = { 0 };
	int64_t end[SLOTS] = { 0 }, got[2] = { 0, 0 };
	size_t used = 0;
	int64_t now = 0;

	CHECK(dur && grp);
	CHECK_EQ_INT(sched_group_set_weight(s, "a", 3, 0), 0);
	CHECK_EQ_INT(sched_group_set_weight(s, "b", 1, 0), 0);
	CHECK_EQ_INT(sched_group_set_weight(s, "b", 0, 0), -EINVAL);

#define SUBMIT(g)                                                              \
	do {                                                                   \
		CHECK(used < POOL);                                            \
		grp[used] = (g);                                               \
		dur[used] = MSEC(100) + (int64_t)(rng() % 1901) * NSEC_PER_MSEC; \
		enq(s, &pool[used], names[g], "k", now);                       \
		used++;                                                        \
	} while (0)

	for (int g = 0; g < 2; g++)
		for (int i = 0; i < BACKLOG; i++)
			SUBMIT(g);
	for (;;) {
		/* Fill the free slots, keeping both groups backlogged. */
		for (int i = 0; i < SLOTS; i++) {
			if (run[i])
				continue;
			sched_entry *e = sched_next(s, now, NULL);
			CHECK(e);
			size_t idx = (size_t)(e - pool);
			run[i] = e;
			end[i] = now + dur[idx];
			SUBMIT(grp[idx]);
		}
		CHECK(sched_next(s, now, NULL) == NULL);
		int first = 0;
		for (int i = 1; i < SLOTS; i++)
			if (end[i] < end[first])
				first = i;
		if (end[first] >= T)
			break;
		now = end[first];
		size_t idx = (size_t)(run[first] - pool);
		got[grp[idx]] += now - run[first]->started_at;
		sched_finished(s, run[first], now, NULL);
		run[first] = NULL;
	}
	/* Count the tasks still running up to T. */
	for (int i = 0; i < SLOTS; i++)
		got[grp[run[i] - pool]] += T - run[i]->started_at;
	double ratio = (double)got[0] / (double)got[1];
	fprintf(stderr, "# a %.1fs b %.1fs ratio %.3f, %zu tasks\n", (double)got[0] / 1e9,
		(double)got[1] / 1e9, ratio, used);
	CHECK(absd(ratio - 3.0) <= 0.05 * 3.0);
	/* Both ran at their share, so their virtual times are close: within
	 * the longest task. */
	CHECK(absd((double)(sched_group_vtime(s, "a", T) - sched_group_vtime(s, "b", T))) <=
	      (double)SEC(2));
#undef SUBMIT
	sched_free(s);
	free(pool);
	free(dur);
	free(grp);
}

/* A group that was idle does not come back with credit: after group a ran
 * alone for 100 s, b arriving with a backlog does not take the slot for
 * 100 s, they alternate. (Aging is slowed down so that it does not decide
 * instead: a's tasks have waited for 100 s.) */
TEST(test_idle_group_banks_no_credit)
{
	enum { N = 200 };
	sched_config c;
	sched_config_init(&c);
	c.max_running = 1;
	c.aging_step_ns = SEC(1000);
	sched *s = mk(&c);
	sched_entry *a = mk_entries(N), *b = mk_entries(N);
	int starts_a = 0, starts_b = 0;
	sched_entry *cur = NULL;

	CHECK_EQ_INT(sched_group_set_weight(s, "a", 1, 0), 0);
	for (int i = 0; i < N; i++)
		enq(s, &a[i], "a", "k", 0);
	for (int64_t t = 0; t < SEC(120); t += SEC(1)) {
		if (cur)
			sched_finished(s, cur, t, NULL);
		if (t == SEC(100))
			for (int i = 0; i < N; i++)
				enq(s, &b[i], "b", "k", t);
		cur = sched_next(s, t, NULL);
		CHECK(cur);
		if (t >= SEC(100)) {
			if (cur >= a && cur < a + N)
				starts_a++;
			else
				starts_b++;
		}
	}
	CHECK(starts_a >= 9 && starts_a <= 11);
	CHECK(starts_b >= 9 && starts_b <= 11);
	sched_free(s);
	free(a);
	free(b);
}

/* A weight changed while tasks run: the time so far is charged at the old
 * weight, the rest at the new one. */
TEST(test_weight_change_while_running)
{
	sched *s = mk(NULL);
	sched_entry e;
	sched_entry_init(&e);

	enq(s, &e, "a", "k", 0);
	CHECK(sched_next(s, 0, NULL) == &e);
	CHECK_EQ_INT(sched_group_vtime(s, "a", SEC(10)), SEC(10));
	CHECK_EQ_INT(sched_group_set_weight(s, "a", 2, SEC(10)), 0);
	CHECK_EQ_INT(sched_group_vtime(s, "a", SEC(20)), SEC(15));
	sched_finished(s, &e, SEC(20), NULL);
	CHECK_EQ_INT(sched_group_vtime(s, "a", SEC(30)), SEC(15));
	CHECK_EQ_INT(e.run_ns, SEC(20));
	sched_free(s);
}

/* Many groups: the table grows, and groups without settings are forgotten
 * once their work is done. */
TEST(test_many_groups)
{
	enum { N = 3000 };
	sched *s = mk(NULL);
	sched_entry *e = mk_entries(N);
	char id[32];
	sched_stats st;

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "user-%d", i);
		enq(s, &e[i], id, i % 2 ? "odd" : "even", i);
	}
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.groups, N);
	CHECK_EQ_INT(st.flows, N);
	CHECK_EQ_INT(sched_group_set_max_running(s, "user-7", 1, N), 0);
	for (int i = 0; i < N; i++) {
		sched_entry *x = sched_next(s, N, NULL);
		CHECK(x);
		sched_finished(s, x, N + 1, NULL);
	}
	CHECK(sched_next(s, N + 1, NULL) == NULL);
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.groups, 1); /* user-7 has a setting */
	CHECK_EQ_INT(st.kinds, 2);
	CHECK_EQ_INT(st.flows, 0);
	sched_free(s);
	free(e);
}

/* ------------------------------------------------------------ rates */

/* Tasks that end at once, unlimited slots: only the buckets pace them.
 * 100 simulated seconds at 10/s (burst 5) and 4/s (burst 2). */
TEST(test_rate_limits)
{
	enum { NG = 3000, NK = 1000 };
	sched *s = mk(NULL);
	sched_entry *g = mk_entries(NG), *k = mk_entries(NK);
	int count_g = 0, count_k = 0;
	int64_t now = 0;
	const int64_t T = SEC(100);

	CHECK_EQ_INT(sched_group_set_rate(s, "g", 10, 5, 0), 0);
	CHECK_EQ_INT(sched_kind_set_rate(s, "slow", 4, 2, 0), 0);
	CHECK_EQ_INT(sched_group_set_rate(s, "g", -1, 5, 0), -EINVAL);
	CHECK_EQ_INT(sched_kind_set_rate(s, "slow", 4, 0, 0), -EINVAL);
	for (int i = 0; i < NG; i++)
		enq(s, &g[i], "g", "k", 0);
	for (int i = 0; i < NK; i++)
		enq(s, &k[i], "h", "slow", 0);
	while (now < T) {
		int64_t retry = 0;
		sched_entry *e = sched_next(s, now, &retry);
		if (e) {
			if (e >= g && e < g + NG)
				count_g++;
			else
				count_k++;
			sched_finished(s, e, now, NULL);
			continue;
		}
		CHECK(retry > now);
		CHECK(retry != INT64_MAX);
		now = retry;
	}
	fprintf(stderr, "# group 10/s: %d starts, kind 4/s: %d starts in 100 s\n", count_g, count_k);
	CHECK(absd(count_g - 1005.0) <= 0.05 * 1005);
	CHECK(absd(count_k - 402.0) <= 0.05 * 402);

	/* Lifting a limit at run time: the rest goes at once. */
	CHECK_EQ_INT(sched_kind_set_rate(s, "slow", 0, 0, now), 0);
	int lifted = 0;
	for (sched_entry *e; (e = sched_next(s, now, NULL));)
		lifted += e >= k && e < k + NK;
	sched_counts cnt;
	sched_kind_counts(s, "slow", &cnt);
	CHECK_EQ_INT(cnt.queued, 0);
	CHECK_EQ_INT(cnt.running, lifted);
	CHECK_EQ_INT(lifted, NK - count_k);
	sched_free(s);
	free(g);
	free(k);
}

/* ------------------------------------------------------------ caps */

TEST(test_caps)
{
	sched_config c;
	sched_config_init(&c);
	c.max_running = 3;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(12);
	static const char *const groups[] = { "g", "g", "h", "h" };
	static const char *const kinds[] = { "k1", "k2", "k1", "k2" };
	sched_counts cnt;
	sched_stats st;

	CHECK_EQ_INT(sched_group_set_max_running(s, "g", 2, 0), 0);
	CHECK_EQ_INT(sched_kind_set_max_running(s, "k1", 1, 0), 0);
	for (int i = 0; i < 12; i++)
		enq(s, &e[i], groups[i / 3], kinds[i / 3], 0);
	int started = 0;
	while (sched_next(s, 0, NULL))
		started++;
	CHECK_EQ_INT(started, 3);
	sched_group_counts(s, "g", &cnt);
	CHECK(cnt.running <= 2);
	CHECK_EQ_INT(cnt.queued + cnt.running, 6);
	sched_kind_counts(s, "k1", &cnt);
	CHECK_EQ_INT(cnt.running, 1);
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.counts.running, 3);
	CHECK_EQ_INT(st.counts.queued, 9);
	CHECK_EQ_INT(st.groups, 2);
	CHECK_EQ_INT(st.kinds, 2);
	CHECK_EQ_INT(st.flows, 4);

	/* Raising the global cap: the group and kind caps still hold. */
	CHECK_EQ_INT(sched_set_max_running(s, 0, 0), 0);
	while (sched_next(s, 0, NULL))
		started++;
	sched_group_counts(s, "g", &cnt);
	CHECK_EQ_INT(cnt.running, 2);
	sched_kind_counts(s, "k1", &cnt);
	CHECK_EQ_INT(cnt.running, 1);
	sched_group_counts(s, "h", &cnt);
	CHECK_EQ_INT(cnt.running, 3); /* its 3 k2 tasks; its k1 waits for the kind */
	sched_group_counts(s, "nope", &cnt);
	CHECK_EQ_INT(cnt.queued + cnt.running + cnt.frozen, 0);
	sched_free(s);
	free(e);
}

/* A head held back by its kind's cap does not hold back its group's tasks
 * of other kinds, even younger ones. */
TEST(test_kind_cap_blocks_only_its_flow)
{
	sched *s = mk(NULL);
	sched_entry *e = mk_entries(3);
	int64_t retry;

	CHECK_EQ_INT(sched_kind_set_max_running(s, "k1", 1, 0), 0);
	enq(s, &e[0], "g", "k1", 0);
	enq(s, &e[1], "g", "k1", 0);
	CHECK(sched_next(s, 0, NULL) == &e[0]);
	CHECK(sched_next(s, 0, &retry) == NULL);
	CHECK_EQ_INT(retry, INT64_MAX);
	enq(s, &e[2], "g", "k2", SEC(1));
	CHECK(sched_next(s, SEC(1), NULL) == &e[2]);
	CHECK_EQ_INT(sched_kind_set_max_running(s, "k1", 2, SEC(2)), 0);
	CHECK(sched_next(s, SEC(2), NULL) == &e[1]);
	sched_free(s);
	free(e);
}

/* ------------------------------------------------------------ admission */

TEST(test_admission_by_requests)
{
	sched_config c;
	sched_config_init(&c);
	c.cpu_capacity = 2000;
	c.memory_capacity = 4 * GIB;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(5);
	sched_stats st;

	for (int i = 0; i < 3; i++) {
		e[i].cpu_request = 1000;
		e[i].memory_request = 0;
		enq(s, &e[i], "g", i == 2 ? "k2" : "k", 0);
	}
	CHECK(sched_next(s, 0, NULL) == &e[0]);
	CHECK(sched_next(s, 0, NULL) == &e[1]);
	CHECK(sched_next(s, 0, NULL) == NULL);
	CHECK_EQ_INT(e[0].cpu_source, SCHED_REQ_DECLARED);
	sched_finished(s, &e[0], SEC(1), NULL);
	CHECK(sched_next(s, SEC(1), NULL) == &e[2]);

	/* Memory: 3 GiB fits, 2 more do not. */
	e[3].cpu_request = 0;
	e[3].memory_request = 3 * GIB;
	e[4].cpu_request = 0;
	e[4].memory_request = 2 * GIB;
	enq(s, &e[3], "g", "m", SEC(2));
	enq(s, &e[4], "g", "m2", SEC(2));
	CHECK(sched_next(s, SEC(2), NULL) == &e[3]);
	CHECK(sched_next(s, SEC(2), NULL) == NULL);
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.cpu_used, 2000);
	CHECK_EQ_INT(st.memory_used, 3 * GIB);
	sched_wait w;
	CHECK_EQ_INT(sched_entry_wait(s, &e[4], SEC(3), &w), 0);
	CHECK_EQ_INT(w.ns[SCHED_WAIT_MEMORY], SEC(1));
	sched_finished(s, &e[3], SEC(3), NULL);
	CHECK(sched_next(s, SEC(3), NULL) == &e[4]);
	sched_free(s);
	free(e);
}

/* A task that asks for more than there is starts when nothing else holds
 * that resource, and holds all of it while it runs. */
TEST(test_admission_oversized)
{
	sched_config c;
	sched_config_init(&c);
	c.cpu_capacity = 2000;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(4);
	sched_stats st;

	e[0].cpu_request = 500;
	enq(s, &e[0], "g", "small", 0);
	CHECK(sched_next(s, 0, NULL) == &e[0]);
	e[1].cpu_request = 5000;
	enq(s, &e[1], "g", "huge", 0);
	CHECK(sched_next(s, 0, NULL) == NULL);
	sched_finished(s, &e[0], SEC(1), NULL);
	CHECK(sched_next(s, SEC(1), NULL) == &e[1]);
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.cpu_used, 2000);
	CHECK_EQ_INT(e[1].cpu_milli, 5000);
	e[2].cpu_request = 100;
	enq(s, &e[2], "g", "small", SEC(1));
	CHECK(sched_next(s, SEC(1), NULL) == NULL);
	e[3].cpu_request = 0; /* needs no CPU: may run beside it */
	enq(s, &e[3], "g", "zero", SEC(1));
	CHECK(sched_next(s, SEC(1), NULL) == &e[3]);
	sched_finished(s, &e[1], SEC(2), NULL);
	CHECK(sched_next(s, SEC(2), NULL) == &e[2]);
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.cpu_used, 100);
	sched_free(s);
	free(e);
}

/*
 * Backfilling, then a reservation: a big head B (2000 of 2000) is passed
 * by a small task at 1 s; at 11 s it has waited past the reservation time
 * (one aging step), so a small task that fits waits, while an EMERGENCY
 * one (ranked before B) still goes.
 */
static void reservation_run(int64_t reservation_ns, bool expect_reserve)
{
	sched_config c;
	sched_config_init(&c);
	c.cpu_capacity = 2000;
	c.reservation_ns = reservation_ns;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(5);
	sched_entry *A = &e[0], *B = &e[1], *C = &e[2], *D = &e[3], *E = &e[4];
	sched_wait w;

	A->cpu_request = 1000;
	enq(s, A, "g", "a", 0);
	CHECK(sched_next(s, 0, NULL) == A);
	B->cpu_request = 2000;
	enq(s, B, "g", "big", 0);
	CHECK(sched_next(s, 0, NULL) == NULL);
	C->cpu_request = 500;
	enq(s, C, "g", "small", SEC(1));
	CHECK(sched_next(s, SEC(1), NULL) == C); /* backfilled */
	D->cpu_request = 500;
	enq(s, D, "g", "small", SEC(11));
	E->cpu_request = 0;
	E->cls = SCHED_EMERGENCY;
	enq(s, E, "g", "urgent", SEC(11));
	CHECK(sched_next(s, SEC(11), NULL) == E);
	if (!expect_reserve) {
		CHECK(sched_next(s, SEC(11), NULL) == D);
		goto out;
	}
	CHECK(sched_next(s, SEC(11), NULL) == NULL); /* D fits, but B reserved */
	sched_finished(s, A, SEC(12), NULL);
	sched_finished(s, C, SEC(12), NULL);
	CHECK(sched_next(s, SEC(12), NULL) == B);
	CHECK(sched_next(s, SEC(12), NULL) == NULL);
	sched_finished(s, B, SEC(20), NULL);
	CHECK(sched_next(s, SEC(20), NULL) == D);
	CHECK_EQ_INT(sched_entry_wait(s, D, SEC(30), &w), 0);
	CHECK_EQ_INT(w.total_ns, SEC(9));
	CHECK_EQ_INT(w.ns[SCHED_WAIT_RESERVED], SEC(1));
	CHECK_EQ_INT(w.ns[SCHED_WAIT_CPU], SEC(8));
	CHECK_EQ_INT(w.ns[SCHED_WAIT_ORDER], 0);
	CHECK_EQ_INT(sched_entry_wait(s, B, SEC(30), &w), 0);
	CHECK_EQ_INT(w.ns[SCHED_WAIT_CPU], SEC(12));
out:
	sched_free(s);
	free(e);
}

TEST(test_backfill_then_reservation)
{
	reservation_run(0, true);
}

TEST(test_backfill_without_reservation)
{
	reservation_run(-1, false);
}

TEST(test_pressure_blocks_all)
{
	sched *s = mk(NULL);
	sched_entry e;
	sched_entry_init(&e);
	char buf[128];
	int64_t retry;

	sched_set_pressure(s, true, 0);
	enq(s, &e, "g", "k", 0);
	CHECK(sched_next(s, SEC(1), &retry) == NULL);
	CHECK_EQ_INT(retry, INT64_MAX);
	sched_set_pressure(s, false, SEC(3));
	CHECK(sched_next(s, SEC(3), NULL) == &e);
	CHECK_EQ_INT(sched_explain(s, &e, SEC(3), buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "waited 3.00s: memory pressure 3.00s");
	sched_free(s);
}

/* ------------------------------------------------------------ learning */

static void finish_with(sched *s, const char *kind, int64_t now, double util, int64_t peak)
{
	sched_entry e;
	sched_entry_init(&e);
	e.cpu_request = 0;
	e.memory_request = 0;
	enq(s, &e, "learn", kind, now);
	CHECK(sched_next(s, now, NULL) == &e);
	sched_usage u = { .wall_ns = SEC(10), .cpu_ns = (int64_t)(util * 1e10), .peak_memory = peak };
	sched_finished(s, &e, now + SEC(10), &u);
}

TEST(test_learnt_classes)
{
	sched_config c;
	sched_config_init(&c);
	c.memory_capacity = 8 * GIB;
	sched *s = mk(&c);
	sched_learnt l;
	sched_entry e;

	CHECK_EQ_INT(sched_kind_learnt(s, "compile", &l), -ENOENT);
	for (int i = 0; i < 3; i++) {
		finish_with(s, "compile", SEC(20 * i), 0.9, 200 * MIB);
		finish_with(s, "fetch", SEC(20 * i), 0.01, 50 * MIB);
		finish_with(s, "load", SEC(20 * i), 0.2, 2 * GIB);
		CHECK_EQ_INT(sched_kind_learnt(s, "compile", &l), 0);
		CHECK_EQ_INT(l.samples, i + 1);
		if (i < 2) {
			/* Not warmed up: no class, the defaults. */
			CHECK_EQ_INT(l.workload, SCHED_WORKLOAD_UNKNOWN);
			CHECK_EQ_INT(l.source, SCHED_REQ_DEFAULT);
			sched_entry_init(&e);
			enq(s, &e, "x", "compile", 0);
			CHECK_EQ_INT(e.cpu_milli, c.default_cpu);
			CHECK_EQ_INT(e.memory, c.default_memory);
			CHECK_EQ_INT(e.cpu_source, SCHED_REQ_DEFAULT);
			sched_remove(s, &e, 0);
		}
	}
	CHECK_EQ_INT(l.workload, SCHED_WORKLOAD_CPU);
	CHECK_EQ_STR(sched_workload_to_string(l.workload), "cpu");
	CHECK_EQ_INT(l.cpu_milli, 900);
	CHECK_EQ_INT(sched_kind_learnt(s, "fetch", &l), 0);
	CHECK_EQ_INT(l.workload, SCHED_WORKLOAD_IO);
	CHECK_EQ_INT(l.cpu_milli, 10);
	CHECK_EQ_INT(l.memory, 60 * MIB);
	CHECK_EQ_INT(sched_kind_learnt(s, "load", &l), 0);
	CHECK_EQ_INT(l.workload, SCHED_WORKLOAD_MEMORY);
	CHECK_EQ_INT(l.memory, (int64_t)(2.4 * GIB + 0.5));

	/* Entries that declare nothing get the learnt requests, fixed at
	 * enqueue; declared ones keep theirs. */
	sched_entry_init(&e);
	enq(s, &e, "x", "fetch", SEC(100));
	CHECK_EQ_INT(e.cpu_milli, 10);
	CHECK_EQ_INT(e.memory, 60 * MIB);
	CHECK_EQ_INT(e.cpu_source, SCHED_REQ_LEARNT);
	CHECK_EQ_INT(e.memory_source, SCHED_REQ_LEARNT);
	sched_remove(s, &e, SEC(100));
	sched_entry_init(&e);
	e.cpu_request = 2000;
	enq(s, &e, "x", "fetch", SEC(100));
	CHECK_EQ_INT(e.cpu_milli, 2000);
	CHECK_EQ_INT(e.cpu_source, SCHED_REQ_DECLARED);
	CHECK_EQ_INT(e.memory_source, SCHED_REQ_LEARNT);
	sched_remove(s, &e, SEC(100));

	/* The average moves by alpha (0.3) toward each new sample. */
	finish_with(s, "compile", SEC(200), 0.0, 200 * MIB);
	CHECK_EQ_INT(sched_kind_learnt(s, "compile", &l), 0);
	CHECK(absd(l.cpu_util - 0.63) < 1e-9);
	CHECK_EQ_INT(l.workload, SCHED_WORKLOAD_CPU);
	finish_with(s, "compile", SEC(220), 0.0, 200 * MIB);
	CHECK_EQ_INT(sched_kind_learnt(s, "compile", &l), 0);
	CHECK(absd(l.cpu_util - 0.441) < 1e-9);
	CHECK_EQ_INT(l.workload, SCHED_WORKLOAD_IO);
	sched_free(s);
}

/* ------------------------------------------------------------ preemption */

TEST(test_preempt_for_a_slot_then_thaw)
{
	sched_config c;
	sched_config_init(&c);
	c.max_running = 2;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(4);
	sched_entry *L1 = &e[0], *L2 = &e[1], *C = &e[2], *N = &e[3];
	sched_entry *victims[4];
	size_t n = 99;
	sched_counts cnt;

	L1->cls = L2->cls = SCHED_LOW;
	enq(s, L1, "bg", "k", 0);
	CHECK(sched_next(s, 0, NULL) == L1);
	enq(s, L2, "bg", "k", SEC(1));
	CHECK(sched_next(s, SEC(1), NULL) == L2);
	/* Nothing to preempt for yet. */
	CHECK(sched_preempt_candidate(s, SEC(1)) == NULL);
	C->cls = SCHED_CRITICAL;
	enq(s, C, "fg", "k", SEC(2));
	N->cls = SCHED_NORMAL;
	enq(s, N, "fg", "k2", SEC(2));
	CHECK(sched_next(s, SEC(2), NULL) == NULL);
	CHECK(sched_preempt_candidate(s, SEC(2)) == C);
	CHECK_EQ_INT(sched_preempt(s, N, SEC(2), victims, 4, &n), -EINVAL);
	CHECK_EQ_INT(n, 99);
	CHECK_EQ_INT(sched_preempt(s, C, SEC(2), victims, 4, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK(victims[0] == L2); /* the newest */
	CHECK_EQ_INT(L2->state, SCHED_FROZEN);
	CHECK_EQ_INT(C->state, SCHED_RUNNING);
	sched_group_counts(s, "bg", &cnt);
	CHECK_EQ_INT(cnt.running, 1);
	CHECK_EQ_INT(cnt.frozen, 1);
	CHECK(sched_thaw(s, SEC(2)) == NULL); /* no slot */

	/* C ends: L2 comes back before N, which waits while L2 is frozen. */
	sched_finished(s, C, SEC(5), NULL);
	CHECK(sched_next(s, SEC(5), NULL) == NULL);
	CHECK(sched_thaw(s, SEC(5)) == L2);
	CHECK_EQ_INT(L2->state, SCHED_RUNNING);
	CHECK_EQ_INT(L2->frozen_ns, SEC(3));
	CHECK_EQ_INT(L2->run_ns, SEC(1));
	CHECK(sched_thaw(s, SEC(5)) == NULL);
	sched_finished(s, L1, SEC(6), NULL);
	CHECK(sched_next(s, SEC(6), NULL) == N);
	sched_finished(s, L2, SEC(7), NULL);
	CHECK_EQ_INT(L2->run_ns, SEC(3));
	sched_free(s);
	free(e);
}

TEST(test_preempt_for_resources)
{
	sched_config c;
	sched_config_init(&c);
	c.cpu_capacity = 2000;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(5);
	sched_entry *L1 = &e[0], *L2 = &e[1], *N = &e[2], *E = &e[3], *E2 = &e[4];
	sched_entry *victims[4] = { 0 };
	size_t n = 99;
	sched_stats st;

	L1->cls = L2->cls = SCHED_LOW;
	L1->cpu_request = L2->cpu_request = 1000;
	enq(s, L1, "bg", "k", 0);
	enq(s, L2, "bg", "k", 0);
	CHECK(sched_next(s, 0, NULL) == L1);
	CHECK(sched_next(s, 0, NULL) == L2);
	E->cls = SCHED_EMERGENCY;
	E->cpu_request = 1500;
	enq(s, E, "fg", "k", SEC(1));
	CHECK(sched_next(s, SEC(1), NULL) == NULL);
	CHECK(sched_preempt_candidate(s, SEC(1)) == E);
	/* It takes both. */
	CHECK_EQ_INT(sched_preempt(s, E, SEC(1), victims, 1, &n), -ENOBUFS);
	CHECK_EQ_INT(n, 99);
	CHECK(victims[0] == NULL);
	sched_set_pressure(s, true, SEC(1));
	CHECK_EQ_INT(sched_preempt(s, E, SEC(1), victims, 4, &n), -EBUSY);
	sched_set_pressure(s, false, SEC(1));
	CHECK_EQ_INT(sched_preempt(s, E, SEC(1), victims, 4, &n), 0);
	CHECK_EQ_INT(n, 2);
	CHECK(victims[0] == L2 && victims[1] == L1);
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.cpu_used, 1500);
	CHECK_EQ_INT(st.counts.frozen, 2);

	/* A NORMAL task is not a victim: not enough to free. */
	N->cpu_request = 1000;
	enq(s, N, "fg", "n", SEC(2));
	sched_finished(s, E, SEC(2), NULL);
	CHECK(sched_thaw(s, SEC(2)) == L2); /* frozen first, in freeze order */
	CHECK(sched_thaw(s, SEC(2)) == L1);
	CHECK(sched_thaw(s, SEC(2)) == NULL);
	sched_finished(s, L1, SEC(3), NULL);
	CHECK(sched_next(s, SEC(3), NULL) == N);
	E2->cls = SCHED_CRITICAL;
	E2->cpu_request = 1500;
	enq(s, E2, "fg", "k", SEC(3));
	CHECK(sched_preempt_candidate(s, SEC(3)) == E2);
	CHECK_EQ_INT(sched_preempt(s, E2, SEC(3), victims, 4, &n), -EAGAIN);
	CHECK_EQ_INT(L2->state, SCHED_RUNNING);
	sched_finished(s, N, SEC(4), NULL);
	CHECK_EQ_INT(sched_preempt(s, E2, SEC(4), victims, 4, &n), 0);
	CHECK_EQ_INT(n, 1);
	/* A frozen entry may also just end (killed while frozen). */
	sched_finished(s, L2, SEC(5), NULL);
	CHECK_EQ_INT(L2->state, SCHED_ENTRY_IDLE);
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.counts.frozen, 0);
	CHECK_EQ_INT(st.cpu_used, 1500);
	sched_free(s);
	free(e);
}

/* ------------------------------------------------------------ explain */

TEST(test_explain_global_cap)
{
	sched_config c;
	sched_config_init(&c);
	c.max_running = 1;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(2);
	char buf[128];
	sched_wait w;

	CHECK_EQ_INT(sched_entry_wait(s, &e[0], 0, &w), -EINVAL); /* never queued */
	enq(s, &e[0], "g", "k", 0);
	CHECK(sched_next(s, 0, NULL) == &e[0]);
	CHECK_EQ_INT(sched_explain(s, &e[0], 0, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "did not wait");
	enq(s, &e[1], "g", "k", 0);
	CHECK(sched_next(s, 0, NULL) == NULL);
	/* While queued: the figures so far. */
	CHECK_EQ_INT(sched_explain(s, &e[1], SEC(1), buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "waited 1.00s: global cap 1.00s");
	sched_finished(s, &e[0], SEC(2), NULL);
	CHECK(sched_next(s, SEC(2), NULL) == &e[1]);
	CHECK_EQ_INT(sched_explain(s, &e[1], SEC(9), buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "waited 2.00s: global cap 2.00s");
	/* Too small a buffer: -ENOBUFS, and the buffer untouched. */
	strcpy(buf, "untouched");
	CHECK_EQ_INT(sched_explain(s, &e[1], SEC(9), buf, 10), -ENOBUFS);
	CHECK_EQ_STR(buf, "untouched");
	sched_finished(s, &e[1], SEC(10), NULL);
	/* The outcome stays readable once the entry has ended. */
	CHECK_EQ_INT(sched_entry_wait(s, &e[1], SEC(11), &w), 0);
	CHECK_EQ_INT(w.total_ns, SEC(2));
	CHECK_EQ_INT(w.ns[SCHED_WAIT_GLOBAL_CAP], SEC(2));
	sched_free(s);
	free(e);
}

/*
 * Group g: cap 1, one token per 1.1 s. A runs from 0 to 0.8 s, so X waits
 * for the cap until 0.8 s, for the token until 1.1 s, and the caller looks
 * again only at 1.2 s.
 */
TEST(test_explain_reasons)
{
	sched *s = mk(NULL);
	sched_entry *e = mk_entries(2);
	sched_entry *A = &e[0], *X = &e[1];
	char buf[128];
	int64_t retry;
	sched_wait w;

	CHECK_EQ_INT(sched_group_set_max_running(s, "g", 1, 0), 0);
	CHECK_EQ_INT(sched_group_set_rate(s, "g", 1 / 1.1, 1, 0), 0);
	enq(s, A, "g", "k", 0);
	enq(s, X, "g", "k", 0);
	CHECK(sched_next(s, 0, NULL) == A);
	CHECK(sched_next(s, 0, &retry) == NULL);
	sched_finished(s, A, MSEC(800), NULL);
	CHECK(sched_next(s, MSEC(800), &retry) == NULL);
	CHECK_EQ_INT(retry, MSEC(1100));
	CHECK(sched_next(s, MSEC(1200), NULL) == X);
	CHECK_EQ_INT(sched_entry_wait(s, X, MSEC(1200), &w), 0);
	CHECK_EQ_INT(w.total_ns, MSEC(1200));
	CHECK_EQ_INT(w.ns[SCHED_WAIT_GROUP_CAP], MSEC(800));
	CHECK_EQ_INT(w.ns[SCHED_WAIT_GROUP_RATE], MSEC(300));
	CHECK_EQ_INT(w.ns[SCHED_WAIT_ORDER], MSEC(100));
	CHECK_EQ_INT(sched_explain(s, X, MSEC(1200), buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "waited 1.20s: group cap 0.80s, group rate 0.30s, priority 0.10s");
	CHECK_EQ_STR(sched_wait_reason_to_string(SCHED_WAIT_KIND_RATE), "kind rate");
	sched_free(s);
	free(e);
}

/* The reasons add up to the wait, for every entry of a busy random run. */
TEST(test_explain_sums_to_wait)
{
	enum { N = 2000 };
	sched_config c;
	sched_config_init(&c);
	c.max_running = 6;
	c.cpu_capacity = 4000;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(N);
	static const char *const groups[] = { "a", "b", "c" };
	static const char *const kinds[] = { "x", "y" };
	sched_entry *run[6] = { 0 };
	int64_t end[6] = { 0 };
	size_t next_sub = 0;
	int64_t now = 0;

	CHECK_EQ_INT(sched_group_set_max_running(s, "a", 2, 0), 0);
	CHECK_EQ_INT(sched_kind_set_rate(s, "y", 2, 3, 0), 0);
	while (now < SEC(600)) {
		for (int i = 0; i < 6; i++)
			if (run[i] && end[i] <= now) {
				sched_finished(s, run[i], now, NULL);
				run[i] = NULL;
			}
		if (next_sub < N && rng() % 2) {
			sched_entry *x = &e[next_sub++];
			x->cls = (sched_class)(rng() % _SCHED_CLASS_MAX);
			x->cpu_request = (int64_t)(rng() % 3) * 500;
			enq(s, x, groups[rng() % 3], kinds[rng() % 2], now);
		}
		if (rng() % 50 == 0)
			sched_set_pressure(s, rng() % 2, now);
		for (int i = 0; i < 6; i++) {
			if (run[i])
				continue;
			run[i] = sched_next(s, now, NULL);
			if (!run[i])
				break;
			end[i] = now + MSEC(200) + (int64_t)(rng() % 3000) * NSEC_PER_MSEC;
		}
		now += MSEC(100);
	}
	int started = 0;
	for (size_t i = 0; i < next_sub; i++) {
		sched_wait w;
		if (!e[i].started)
			continue;
		started++;
		CHECK_EQ_INT(sched_entry_wait(s, &e[i], now, &w), 0);
		int64_t sum = 0;
		for (int r = 0; r < _SCHED_WAIT_MAX; r++) {
			CHECK(w.ns[r] >= 0);
			sum += w.ns[r];
		}
		CHECK_EQ_INT(sum, w.total_ns);
	}
	CHECK(started > 100);
	sched_free(s);
	free(e);
}

/* ------------------------------------------------------------ cancel */

TEST(test_cancel_and_group_entries)
{
	sched_config c;
	sched_config_init(&c);
	c.max_running = 1;
	sched *s = mk(&c);
	sched_entry *e = mk_entries(6);
	sched_entry **v = NULL;
	size_t n = 0;
	sched_counts cnt;
	sched_stats st;

	for (int i = 0; i < 5; i++)
		enq(s, &e[i], "g", i % 2 ? "k1" : "k2", SEC(i));
	enq(s, &e[5], "h", "k1", SEC(5));
	CHECK(sched_next(s, SEC(5), NULL) == &e[0]);
	/* Cancelling the head of a flow: the next in line takes its place. */
	sched_remove(s, &e[2], SEC(6));
	CHECK_EQ_INT(e[2].state, SCHED_ENTRY_IDLE);
	sched_remove(s, &e[2], SEC(6)); /* again: nothing */
	sched_remove(s, &e[0], SEC(6)); /* running: not for sched_remove */
	CHECK_EQ_INT(e[0].state, SCHED_RUNNING);
	sched_group_counts(s, "g", &cnt);
	CHECK_EQ_INT(cnt.queued, 3);
	CHECK_EQ_INT(cnt.running, 1);
	CHECK_EQ_INT(sched_enqueue(s, &e[1], "g", "k1", SEC(6)), -EBUSY);

	/* Cancel the group: every entry, queued and running. */
	CHECK_EQ_INT(sched_group_entries(s, "g", &v, &n), 0);
	CHECK_EQ_INT(n, 4);
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK(v[i] >= e && v[i] < e + 6 && v[i] != &e[2] && v[i] != &e[5]);
		seen |= 1 << (v[i] - e);
		if (v[i]->state == SCHED_QUEUED)
			sched_remove(s, v[i], SEC(7));
		else
			sched_finished(s, v[i], SEC(7), NULL);
	}
	CHECK_EQ_INT(seen, 0x1b);
	free(v);
	sched_group_counts(s, "g", &cnt);
	CHECK_EQ_INT(cnt.queued + cnt.running, 0);
	/* g had no settings: it is forgotten; h remains. */
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.groups, 1);
	CHECK_EQ_INT(sched_group_entries(s, "g", &v, &n), 0);
	CHECK(v == NULL);
	CHECK_EQ_INT(n, 0);
	CHECK(sched_next(s, SEC(7), NULL) == &e[5]);

	/* A removed entry may be queued again. */
	enq(s, &e[2], "g", "k2", SEC(8));
	sched_finished(s, &e[5], SEC(8), NULL);
	CHECK(sched_next(s, SEC(8), NULL) == &e[2]);
	CHECK_EQ_INT(e[2].enqueued_at, SEC(8));
	sched_finished(s, &e[2], SEC(9), NULL);
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.counts.queued + st.counts.running, 0);
	CHECK_EQ_INT(st.flows, 0);
	CHECK_EQ_INT(st.groups, 0);
	sched_free(s);
	free(e);
}

TEST(test_bad_arguments)
{
	sched_config c;
	sched *s = NULL;
	sched_entry e;

	sched_config_init(&c);
	c.aging_step_ns = 0;
	CHECK_EQ_INT(sched_new(&c, &s), -EINVAL);
	CHECK(s == NULL);
	sched_config_init(&c);
	c.learn_alpha = 0;
	CHECK_EQ_INT(sched_new(&c, &s), -EINVAL);
	s = mk(NULL);
	sched_entry_init(&e);
	e.cls = (sched_class)7;
	CHECK_EQ_INT(sched_enqueue(s, &e, "g", "k", 0), -EINVAL);
	CHECK_EQ_INT(e.state, SCHED_ENTRY_IDLE);
	e.cls = SCHED_LOW;
	e.memory_request = -5;
	CHECK_EQ_INT(sched_enqueue(s, &e, "g", "k", 0), -EINVAL);
	CHECK_EQ_INT(sched_set_capacity(s, -1, 0, 0), -EINVAL);
	sched_stats st;
	sched_get_stats(s, &st);
	CHECK_EQ_INT(st.groups, 0); /* the failed enqueue left no group */
	sched_free(s);
	sched_free(NULL);
}
