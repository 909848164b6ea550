/* SPDX-License-Identifier: MIT */
/* The base layer: heap, intset, pool, strv, art_error, descriptor helpers. */
#include <agentrt.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/heap.h"
#include "base/intset.h"
#include "base/pool.h"
#include "base/strv.h"
#include "tap.h"

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t rng_state = UINT64_C(0x853c49e6748fea9b);

static uint32_t rng(void)
{
	rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
	return (uint32_t)(rng_state >> 33);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Every node's key is >= its parent's, and every index is right. */
static void check_heap(const heap *h)
{
	for (size_t i = 0; i < h->n; i++) {
		CHECK_EQ_INT(h->nodes[i]->index, i);
		if (i > 0)
			CHECK(h->nodes[(i - 1) / 2]->key <= h->nodes[i]->key);
	}
}

/* ------------------------------------------------------------ heap */

TEST(heap_pops_in_key_order)
{
	enum { N = 5000 };
	static heap_node nodes[N];
	static int64_t keys[N];
	heap h = { 0 };

	CHECK(heap_top(&h) == NULL);
	CHECK(heap_pop(&h) == NULL);
	for (size_t i = 0; i < N; i++) {
		heap_node_init(&nodes[i]);
		CHECK(!heap_node_queued(&nodes[i]));
		/* Many duplicates, some negative keys. */
		keys[i] = (int64_t)(rng() % 1000) - 200;
		nodes[i].key = keys[i];
		CHECK_EQ_INT(heap_push(&h, &nodes[i]), 0);
		CHECK(heap_node_queued(&nodes[i]));
	}
	CHECK_EQ_INT(h.n, N);
	check_heap(&h);
	qsort(keys, N, sizeof(keys[0]), cmp_i64);
	for (size_t i = 0; i < N; i++) {
		heap_node *top = heap_top(&h);
		heap_node *n = heap_pop(&h);
		CHECK(n != NULL);
		CHECK(n == top);
		CHECK_EQ_INT(n->key, keys[i]);
		CHECK(!heap_node_queued(n));
	}
	CHECK_EQ_INT(h.n, 0);
	CHECK(heap_pop(&h) == NULL);
	heap_free(&h);
	CHECK(h.nodes == NULL);
	CHECK_EQ_INT(h.cap, 0);
}

TEST(heap_remove_from_the_middle)
{
	enum { N = 1000 };
	static heap_node nodes[N];
	static int64_t keys[N];
	static int removed[N];
	heap h = { 0 };

	for (size_t i = 0; i < N; i++) {
		heap_node_init(&nodes[i]);
		nodes[i].key = (int64_t)(rng() % 100000);
		CHECK_EQ_INT(heap_push(&h, &nodes[i]), 0);
	}
	/* Remove every third node, wherever it sits in the array. */
	size_t kept = 0;
	for (size_t i = 0; i < N; i++) {
		if (i % 3 == 0) {
			heap_remove(&h, &nodes[i]);
			CHECK(!heap_node_queued(&nodes[i]));
			removed[i] = 1;
			check_heap(&h);
		}
	}
	/* Removing again (not queued) changes nothing. */
	size_t n_before = h.n;
	heap_remove(&h, &nodes[0]);
	CHECK_EQ_INT(h.n, n_before);
	for (size_t i = 0; i < N; i++)
		if (!removed[i])
			keys[kept++] = nodes[i].key;
	CHECK_EQ_INT(h.n, kept);
	qsort(keys, kept, sizeof(keys[0]), cmp_i64);
	for (size_t i = 0; i < kept; i++) {
		heap_node *n = heap_pop(&h);
		CHECK(n != NULL);
		CHECK_EQ_INT(n->key, keys[i]);
		CHECK(!removed[n - nodes]);
	}
	CHECK(heap_pop(&h) == NULL);
	heap_free(&h);
}

TEST(heap_rekey_by_remove_and_push)
{
	enum { N = 500 };
	static heap_node nodes[N];
	static int64_t keys[N];
	heap h = { 0 };

	for (size_t i = 0; i < N; i++) {
		heap_node_init(&nodes[i]);
		nodes[i].key = (int64_t)(rng() % 10000);
		CHECK_EQ_INT(heap_push(&h, &nodes[i]), 0);
	}
	/* Move keys both ways, as loop_timer_arm does for a re-armed timer. */
	for (int round = 0; round < 2000; round++) {
		heap_node *n = &nodes[rng() % N];
		heap_remove(&h, n);
		n->key = (int64_t)(rng() % 20000) - 5000;
		CHECK_EQ_INT(heap_push(&h, n), 0);
		check_heap(&h);
	}
	/* The smallest key now is at the top. */
	int64_t min = INT64_MAX;
	for (size_t i = 0; i < N; i++) {
		keys[i] = nodes[i].key;
		if (keys[i] < min)
			min = keys[i];
	}
	CHECK_EQ_INT(heap_top(&h)->key, min);
	qsort(keys, N, sizeof(keys[0]), cmp_i64);
	for (size_t i = 0; i < N; i++)
		CHECK_EQ_INT(heap_pop(&h)->key, keys[i]);
	CHECK_EQ_INT(h.n, 0);
	heap_free(&h);
}

TEST(heap_remove_last_and_only)
{
	heap h = { 0 };
	heap_node a, b;
	heap_node_init(&a);
	heap_node_init(&b);
	a.key = 5;
	b.key = 1;
	CHECK_EQ_INT(heap_push(&h, &a), 0);
	heap_remove(&h, &a);
	CHECK_EQ_INT(h.n, 0);
	CHECK(heap_top(&h) == NULL);
	CHECK_EQ_INT(heap_push(&h, &a), 0);
	CHECK_EQ_INT(heap_push(&h, &b), 0);
	CHECK(heap_top(&h) == &b);
	heap_remove(&h, &a); /* the last element of the array */
	CHECK(heap_top(&h) == &b);
	CHECK_EQ_INT(b.index, 0);
	CHECK_EQ_INT(h.n, 1);
	/* A node that claims an index but belongs to no heap is left alone. */
	heap_node stray = { .key = 0, .index = 0 };
	heap_remove(&h, &stray);
	CHECK_EQ_INT(h.n, 1);
	CHECK(heap_top(&h) == &b);
	heap_free(&h);
}

/* ------------------------------------------------------------ intset */

TEST(intset_add_has_del)
{
	intset s = { 0 };
	CHECK(!intset_has(&s, 1));
	intset_del(&s, 1); /* on an empty set: nothing */
	CHECK_EQ_INT(intset_add(&s, 42), 0);
	CHECK_EQ_INT(intset_add(&s, 7), 0);
	CHECK_EQ_INT(s.n, 2);
	CHECK(intset_has(&s, 42));
	CHECK(intset_has(&s, 7));
	CHECK(!intset_has(&s, 8));
	/* Adding twice keeps one member. */
	CHECK_EQ_INT(intset_add(&s, 42), 0);
	CHECK_EQ_INT(s.n, 2);
	intset_del(&s, 42);
	CHECK(!intset_has(&s, 42));
	CHECK(intset_has(&s, 7));
	CHECK_EQ_INT(s.n, 1);
	intset_del(&s, 42); /* not a member any more */
	CHECK_EQ_INT(s.n, 1);
	/* Zero and negative numbers are no members: 0 and -1 mark slots. */
	CHECK_EQ_INT(intset_add(&s, 0), -EINVAL);
	CHECK_EQ_INT(intset_add(&s, -1), -EINVAL);
	CHECK_EQ_INT(intset_add(&s, -5), -EINVAL);
	CHECK(!intset_has(&s, 0));
	CHECK(!intset_has(&s, -1));
	intset_del(&s, -1);
	CHECK_EQ_INT(s.n, 1);
	CHECK(intset_has(&s, 7));
	intset_free(&s);
	CHECK(s.slots == NULL);
	CHECK_EQ_INT(s.n, 0);
	CHECK(!intset_has(&s, 7));
}

TEST(intset_grows_past_thousands)
{
	enum { N = 20000 };
	intset s = { 0 };
	for (int k = 1; k <= N; k++)
		CHECK_EQ_INT(intset_add(&s, k * 7 + 3), 0);
	CHECK_EQ_INT(s.n, N);
	CHECK(s.cap >= (size_t)N * 4 / 3);
	CHECK((s.cap & (s.cap - 1)) == 0);
	for (int k = 1; k <= N; k++) {
		CHECK(intset_has(&s, k * 7 + 3));
		CHECK(!intset_has(&s, k * 7 + 4));
	}
	/* Delete the odd ones, then check all. */
	for (int k = 1; k <= N; k += 2)
		intset_del(&s, k * 7 + 3);
	CHECK_EQ_INT(s.n, N / 2);
	for (int k = 1; k <= N; k++)
		CHECK(intset_has(&s, k * 7 + 3) == (k % 2 == 0));
	/* Large pids too. */
	CHECK_EQ_INT(intset_add(&s, 4194304), 0);
	CHECK_EQ_INT(intset_add(&s, 2147483647), 0);
	CHECK(intset_has(&s, 4194304));
	CHECK(intset_has(&s, 2147483647));
	intset_free(&s);
}

/* Pids come and go all day: the table must not fill up with tombstones
 * (find() would then loop forever) nor grow without bound. */
TEST(intset_tombstones_are_reused)
{
	intset s = { 0 };
	CHECK_EQ_INT(intset_add(&s, 1), 0);
	size_t cap0 = s.cap;
	/* At most 10 members at a time, 100000 different keys over time. */
	for (int k = 2; k <= 100000; k++) {
		CHECK_EQ_INT(intset_add(&s, k), 0);
		if (k > 10)
			intset_del(&s, k - 10);
		CHECK(s.used < s.cap); /* an empty slot always remains */
		CHECK(s.used >= s.n);
	}
	CHECK_EQ_INT(s.n, 10);
	CHECK(s.cap <= cap0 * 2);
	for (int k = 99991; k <= 100000; k++)
		CHECK(intset_has(&s, k));
	CHECK(!intset_has(&s, 99990));
	CHECK(!intset_has(&s, 50000));
	CHECK(!intset_has(&s, 12345));

	/* Delete and re-add the same key: it takes a tombstone, not a new slot. */
	intset t = { 0 };
	CHECK_EQ_INT(intset_add(&t, 5), 0);
	size_t used = t.used;
	for (int i = 0; i < 1000; i++) {
		intset_del(&t, 5);
		CHECK(!intset_has(&t, 5));
		CHECK_EQ_INT(intset_add(&t, 5), 0);
		CHECK(intset_has(&t, 5));
	}
	CHECK_EQ_INT(t.used, used);
	CHECK_EQ_INT(t.n, 1);
	intset_free(&t);
	intset_free(&s);
}

/* Mirrors slot_of in intset.c, to pick keys that land on one slot. */
static size_t home_slot(int key, size_t cap)
{
	return (size_t)(((uint64_t)(unsigned)key * UINT64_C(0x9E3779B97F4A7C15)) >> 32) &
	       (cap - 1);
}

TEST(intset_colliding_keys)
{
	intset s = { 0 };
	CHECK_EQ_INT(intset_add(&s, 1), 0);
	size_t cap = s.cap;
	CHECK(cap >= 8);
	/* Keys that share one home slot: a probe chain. */
	int keys[8], n = 0;
	size_t want = home_slot(1000, cap);
	for (int k = 1000; n < 8 && k < 10000000; k++)
		if (home_slot(k, cap) == want)
			keys[n++] = k;
	CHECK_EQ_INT(n, 8);
	for (int i = 0; i < n; i++)
		CHECK_EQ_INT(intset_add(&s, keys[i]), 0);
	CHECK_EQ_INT(s.cap, cap); /* no growth: the chain is what is tested */
	for (int i = 0; i < n; i++)
		CHECK(intset_has(&s, keys[i]));
	/* Remove from the middle of the chain: the ones after stay found. */
	intset_del(&s, keys[2]);
	intset_del(&s, keys[5]);
	for (int i = 0; i < n; i++)
		CHECK(intset_has(&s, keys[i]) == (i != 2 && i != 5));
	/* A key already present past a tombstone is not added twice. */
	CHECK_EQ_INT(intset_add(&s, keys[7]), 0);
	CHECK_EQ_INT(s.n, 1 + 6);
	intset_del(&s, keys[7]);
	CHECK(!intset_has(&s, keys[7]));
	CHECK_EQ_INT(intset_add(&s, keys[2]), 0);
	CHECK(intset_has(&s, keys[2]));
	CHECK(intset_has(&s, keys[6]));
	CHECK_EQ_INT(s.n, 1 + 6);
	intset_free(&s);
}

/* ------------------------------------------------------------ pool */

TEST(pool_reuses_buffers)
{
	pool p;
	pool_init(&p, 100, 4);
	CHECK_EQ_INT(p.size, 100);
	void *a = pool_get(&p);
	void *b = pool_get(&p);
	CHECK(a && b && a != b);
	CHECK_EQ_INT(p.misses, 2);
	CHECK_EQ_INT(p.hits, 0);
	CHECK_EQ_INT(p.n_out, 2);
	memset(a, 0xaa, 100);
	memset(b, 0xbb, 100);
	pool_put(&p, a);
	CHECK_EQ_INT(p.n_free, 1);
	CHECK_EQ_INT(p.n_out, 1);
	void *c = pool_get(&p);
	CHECK(c == a); /* the free list hands back what was put */
	CHECK_EQ_INT(p.hits, 1);
	CHECK_EQ_INT(p.misses, 2);
	CHECK_EQ_INT(p.n_free, 0);
	pool_put(&p, b);
	pool_put(&p, c);
	CHECK_EQ_INT(p.n_free, 2);
	CHECK_EQ_INT(p.n_out, 0);
	/* LIFO: the last put comes first. */
	CHECK(pool_get(&p) == c);
	CHECK(pool_get(&p) == b);
	CHECK_EQ_INT(p.hits, 3);
	void *d = pool_get(&p);
	CHECK(d != NULL && d != b && d != c);
	CHECK_EQ_INT(p.misses, 3);
	pool_put(&p, b);
	pool_put(&p, c);
	pool_put(&p, d);
	pool_put(&p, NULL); /* ignored */
	CHECK_EQ_INT(p.n_free, 3);
	CHECK_EQ_INT(p.n_out, 0);
	pool_destroy(&p);
	CHECK_EQ_INT(p.n_free, 0);
	CHECK(p.free_list == NULL);
}

TEST(pool_max_free_respected)
{
	enum { N = 20 };
	pool p;
	void *bufs[N];
	pool_init(&p, 64, 5);
	for (int i = 0; i < N; i++) {
		bufs[i] = pool_get(&p);
		CHECK(bufs[i] != NULL);
	}
	CHECK_EQ_INT(p.misses, N);
	CHECK_EQ_INT(p.n_out, N);
	for (int i = 0; i < N; i++)
		pool_put(&p, bufs[i]);
	CHECK_EQ_INT(p.n_free, 5);
	CHECK_EQ_INT(p.n_out, 0);
	for (int i = 0; i < N; i++)
		bufs[i] = pool_get(&p);
	CHECK_EQ_INT(p.hits, 5);
	CHECK_EQ_INT(p.misses, N + N - 5);
	for (int i = 0; i < N; i++)
		pool_put(&p, bufs[i]);
	pool_destroy(&p);

	/* max_free 0 keeps nothing; a tiny size still holds the link. */
	pool_init(&p, 1, 0);
	CHECK(p.size >= sizeof(void *));
	void *x = pool_get(&p);
	pool_put(&p, x);
	CHECK_EQ_INT(p.n_free, 0);
	x = pool_get(&p);
	CHECK_EQ_INT(p.hits, 0);
	CHECK_EQ_INT(p.misses, 2);
	pool_put(&p, x);
	pool_destroy(&p);
}

/* ------------------------------------------------------------ strv */

TEST(strv_push_remove_copy)
{
	strv sv = { 0 };
	CHECK(sv.v == NULL);
	char name[16];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		CHECK_EQ_INT(strv_push(&sv, name), 0);
		CHECK_EQ_INT(sv.n, i + 1);
		CHECK(sv.v[sv.n] == NULL); /* always NULL-terminated */
		CHECK(sv.cap > sv.n);
	}
	CHECK_EQ_STR(sv.v[0], "s0");
	CHECK_EQ_STR(sv.v[99], "s99");

	/* Order is kept; the terminator moves with it. */
	strv_remove(&sv, 0);
	CHECK_EQ_INT(sv.n, 99);
	CHECK_EQ_STR(sv.v[0], "s1");
	strv_remove(&sv, 50); /* "s51" */
	CHECK_EQ_INT(sv.n, 98);
	CHECK_EQ_STR(sv.v[49], "s50");
	CHECK_EQ_STR(sv.v[50], "s52");
	strv_remove(&sv, sv.n - 1); /* "s99" */
	CHECK_EQ_INT(sv.n, 97);
	CHECK_EQ_STR(sv.v[96], "s98");
	CHECK(sv.v[97] == NULL);
	strv_remove(&sv, 97); /* out of range: nothing */
	strv_remove(&sv, 1000);
	CHECK_EQ_INT(sv.n, 97);

	/* A copy owns its own strings and replaces what dst held. */
	strv cp = { 0 };
	CHECK_EQ_INT(strv_push(&cp, "old"), 0);
	CHECK_EQ_INT(strv_copy(&cp, &sv), 0);
	CHECK_EQ_INT(cp.n, 97);
	CHECK(cp.v[97] == NULL);
	for (size_t i = 0; i < sv.n; i++) {
		CHECK_EQ_STR(cp.v[i], sv.v[i]);
		CHECK(cp.v[i] != sv.v[i]);
	}
	strv_clear(&sv);
	CHECK(sv.v == NULL);
	CHECK_EQ_INT(sv.n, 0);
	CHECK_EQ_STR(cp.v[0], "s1"); /* still valid after the source is gone */

	/* Copying an empty vector empties dst. */
	CHECK_EQ_INT(strv_copy(&cp, &sv), 0);
	CHECK_EQ_INT(cp.n, 0);
	strv_clear(&cp);

	/* push_take takes the string; NULL means the strdup failed. */
	strv t = { 0 };
	char *s = strdup("taken");
	CHECK_EQ_INT(strv_push_take(&t, s), 0);
	CHECK(t.v[0] == s);
	CHECK_EQ_INT(strv_push_take(&t, NULL), -ENOMEM);
	CHECK_EQ_INT(t.n, 1);
	strv_remove(&t, 0);
	CHECK_EQ_INT(t.n, 0);
	CHECK(t.v[0] == NULL);
	CHECK_EQ_INT(strv_push(&t, "again"), 0);
	CHECK_EQ_STR(t.v[0], "again");
	strv_clear(&t);
}

/* ------------------------------------------------------------ art_error */

TEST(error_set_and_prefix)
{
	art_error err;
	memset(&err, 'x', sizeof(err));
	CHECK_EQ_INT(art_error_set(&err, -ENOENT, "%s: %d", "file", 3), -ENOENT);
	CHECK_EQ_INT(err.code, -ENOENT);
	CHECK_EQ_STR(err.msg, "file: 3");
	art_error_prefix(&err, "line %d: ", 4);
	CHECK_EQ_STR(err.msg, "line 4: file: 3");
	art_error_prefix(&err, "%s", "spec.json: ");
	CHECK_EQ_STR(err.msg, "spec.json: line 4: file: 3");
	CHECK_EQ_INT(err.code, -ENOENT); /* the prefix keeps the code */
	art_error_prefix(&err, "%s", ""); /* nothing to add */
	CHECK_EQ_STR(err.msg, "spec.json: line 4: file: 3");
	/* The prefix may quote the message itself. */
	art_error_set(&err, -EINVAL, "abc");
	art_error_prefix(&err, "[%s] ", err.msg);
	CHECK_EQ_STR(err.msg, "[abc] abc");

	/* NULL errors are fine everywhere. */
	CHECK_EQ_INT(art_error_set(NULL, -EIO, "x"), -EIO);
	art_error_prefix(NULL, "y");
	art_error_clear(NULL);

	art_error_clear(&err);
	CHECK_EQ_INT(err.code, 0);
	CHECK_EQ_STR(err.msg, "");
	art_error_prefix(&err, "ctx: ");
	CHECK_EQ_STR(err.msg, "ctx: ");
}

TEST(error_truncation_is_safe)
{
	char big[3 * ART_ERROR_MSG_MAX];
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;

	art_error err;
	art_error_set(&err, -E2BIG, "%s", big);
	CHECK_EQ_INT(strlen(err.msg), ART_ERROR_MSG_MAX - 1);

	/* A prefix onto a full message: the prefix wins, the end is cut. */
	art_error_prefix(&err, "ctx: ");
	CHECK_EQ_INT(strlen(err.msg), ART_ERROR_MSG_MAX - 1);
	CHECK(strncmp(err.msg, "ctx: mmm", 8) == 0);
	CHECK(err.msg[ART_ERROR_MSG_MAX - 2] == 'm');

	/* A prefix longer than the whole message. */
	art_error_set(&err, -E2BIG, "tail");
	art_error_prefix(&err, "%s", big);
	CHECK_EQ_INT(strlen(err.msg), ART_ERROR_MSG_MAX - 1);
	CHECK(err.msg[0] == 'm' && err.msg[ART_ERROR_MSG_MAX - 2] == 'm');

	/* Exactly filling: prefix + message == MSG_MAX - 1 keeps all. */
	char half[ART_ERROR_MSG_MAX];
	memset(half, 'a', 300);
	half[300] = 0;
	art_error_set(&err, -E2BIG, "%s", half);
	char pre[ART_ERROR_MSG_MAX];
	memset(pre, 'p', ART_ERROR_MSG_MAX - 1 - 300);
	pre[ART_ERROR_MSG_MAX - 1 - 300] = 0;
	art_error_prefix(&err, "%s", pre);
	CHECK_EQ_INT(strlen(err.msg), ART_ERROR_MSG_MAX - 1);
	CHECK(err.msg[0] == 'p');
	CHECK(err.msg[ART_ERROR_MSG_MAX - 1 - 300 - 1] == 'p');
	CHECK(err.msg[ART_ERROR_MSG_MAX - 1 - 300] == 'a');
	CHECK(err.msg[ART_ERROR_MSG_MAX - 2] == 'a');

	/* One more byte of prefix: one byte of the message goes. */
	art_error_set(&err, -E2BIG, "%s", half);
	art_error_prefix(&err, "%sq", pre);
	CHECK_EQ_INT(strlen(err.msg), ART_ERROR_MSG_MAX - 1);
	CHECK(err.msg[ART_ERROR_MSG_MAX - 1 - 300] == 'q');
	CHECK(err.msg[ART_ERROR_MSG_MAX - 2] == 'a');

	/* A message not NUL-terminated (garbage in the struct) stays bounded. */
	memset(err.msg, 'g', sizeof(err.msg));
	art_error_prefix(&err, "x: ");
	CHECK_EQ_INT(strlen(err.msg), ART_ERROR_MSG_MAX - 1);
	CHECK(strncmp(err.msg, "x: ggg", 6) == 0);
}

/* ------------------------------------------------------------ fd helpers */

static int is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

TEST(fd_move_above_moves_and_closes)
{
	int p[2];
	CHECK_EQ_INT(pipe(p), 0);
	/* Free 0..2's neighbours are unknown: move above a number well past
	 * anything open. */
	int base = fd_count_open();
	CHECK(base > 0);
	int moved = fd_move_above(p[0], 100);
	CHECK(moved >= 100);
	CHECK(!is_open(p[0])); /* the original is closed */
	CHECK(is_open(moved));
	CHECK(fcntl(moved, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ_INT(fd_count_open(), base);

	/* Still the same pipe. */
	CHECK_EQ_INT(write(p[1], "z", 1), 1);
	char c = 0;
	CHECK_EQ_INT(read(moved, &c, 1), 1);
	CHECK(c == 'z');

	/* Already high enough: returned as is. */
	CHECK_EQ_INT(fd_move_above(moved, 50), moved);
	CHECK(is_open(moved));

	/* A bad descriptor: -EBADF. */
	CHECK_EQ_INT(fd_move_above(-1, 3), -EBADF);
	CHECK_EQ_INT(fd_move_above(999, 1000), -EBADF);

	close(moved);
	close(p[1]);
	CHECK_EQ_INT(fd_count_open(), base - 2);
}

TEST(fd_set_nonblock_toggles)
{
	int p[2];
	CHECK_EQ_INT(pipe(p), 0);
	CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	CHECK_EQ_INT(fd_set_nonblock(p[0], 1), 0);
	CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	char c;
	errno = 0;
	CHECK_EQ_INT(read(p[0], &c, 1), -1);
	CHECK_EQ_INT(errno, EAGAIN);
	CHECK_EQ_INT(fd_set_nonblock(p[0], 1), 0); /* already on */
	CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	CHECK_EQ_INT(fd_set_nonblock(p[0], 0), 0);
	CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	CHECK_EQ_INT(fd_set_nonblock(-1, 1), -EBADF);
	close(p[0]);
	close(p[1]);
}

TEST(fd_count_open_counts)
{
	int base = fd_count_open();
	CHECK(base >= 0);
	int fds[10];
	for (int i = 0; i < 10; i++) {
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		CHECK(fds[i] >= 0);
		CHECK_EQ_INT(fd_count_open(), base + i + 1);
	}
	for (int i = 0; i < 10; i++)
		close(fds[i]);
	CHECK_EQ_INT(fd_count_open(), base);

	/* safe_close keeps errno and returns -1; take_fd leaves -1 behind. */
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	errno = 1234;
	int other = take_fd(&fd);
	CHECK_EQ_INT(fd, -1);
	CHECK(other >= 0);
	CHECK_EQ_INT(safe_close(other), -1);
	CHECK_EQ_INT(errno, 1234);
	CHECK(!is_open(other));
	CHECK_EQ_INT(safe_close(-1), -1);
	CHECK_EQ_INT(fd_count_open(), base);
}
