/* SPDX-License-Identifier: MIT */
/*
 * Scheduling through the public API, on a real runtime with real
 * processes: priority classes and `order`, aging, dependencies and their
 * errors, cancelling a group, admission by requests (declared and learnt),
 * preemption, retries, rate limits and art_task_explain(). The decision
 * core alone, on simulated time, is tested in test_sched.c; these tests
 * check that the runtime feeds it and acts on its answers.
 *
 * Timing assertions are tolerant (the tests run on small, shared
 * machines): they check orders and overlaps where they can, and absolute
 * times only with wide margins.
 */
#include <agentrt.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.h"
#include "tap.h"

#define MS NSEC_PER_MSEC
#define SEC NSEC_PER_SEC

/* The busy loop of dash runs about 600k iterations a second on the
 * project's machine; each count below is a CPU time, not a wall time. */
#define BUSY(n) "i=0; while [ $i -lt " #n " ]; do i=$((i+1)); done"

/* ------------------------------------------------------------ helpers */

/* What on_exit saw for one task. */
typedef struct rec {
	const char *name; /* for messages */
	int calls;
	art_result res;
	char *skip_reason; /* copied: the result's own dies with the task */
	int64_t exit_ns;   /* when on_exit ran */
	int pid_from_output; /* the first number the task printed */
	int seq;           /* the order in which on_exit ran */
} rec;

/* One test at a time runs in its process: the hooks live here. */
static struct {
	int ended;
	/* Called after a task's record is filled (may be NULL). */
	void (*on_end)(art_runtime *rt, art_task *task, rec *r);
} ctx;

/* Copies stay reachable from here, so that a leak checker (make
 * check-valgrind, check-asan) reports the library's leaks, not the tests'
 * copies that live on in stack records until the test process ends. */
static void **kept;
static size_t n_kept, cap_kept;

static char *keep_str(const char *s)
{
	char *p = strdup(s);
	CHECK(p != NULL);
	if (n_kept == cap_kept) {
		cap_kept = cap_kept ? 2 * cap_kept : 64;
		kept = realloc(kept, cap_kept * sizeof(*kept));
		CHECK(kept != NULL);
	}
	kept[n_kept++] = p;
	return p;
}

static void rec_on_exit(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)ud;
	rec *r = art_task_userdata(task);
	CHECK(r != NULL);
	r->calls++;
	r->res = *res;
	r->res.stdout_tail = NULL;
	r->res.stderr_tail = NULL;
	r->res.changes = NULL;
	r->res.workspace_dir = NULL;
	r->skip_reason = res->skip_reason ? keep_str(res->skip_reason) : NULL;
	r->res.skip_reason = r->skip_reason;
	r->exit_ns = mono_ns();
	r->seq = ++ctx.ended;
	if (ctx.on_end)
		ctx.on_end(rt, task, r);
}

static void rec_on_output(art_runtime *rt, art_task *task, int stream, const char *data,
			  size_t len, void *ud)
{
	(void)rt;
	(void)ud;
	rec *r = art_task_userdata(task);
	if (!r || stream != ART_STREAM_STDOUT || r->pid_from_output || !len)
		return;
	char num[16];
	size_t n = len < sizeof(num) - 1 ? len : sizeof(num) - 1;
	memcpy(num, data, n);
	num[n] = 0;
	r->pid_from_output = atoi(num);
}

static art_runtime_config cfg_default(void)
{
	return (art_runtime_config){ .on_exit = rec_on_exit, .on_output = rec_on_output };
}

static art_runtime *new_rt(const art_runtime_config *cfg)
{
	art_runtime *rt = NULL;
	art_error err;
	art_error_clear(&err);
	int r = art_runtime_new(cfg, &rt, &err);
	if (r < 0) {
		fprintf(stderr, "# art_runtime_new: %d %s\n", r, err.msg);
		exit(1);
	}
	CHECK(rt != NULL);
	return rt;
}

static art_spec *argv_spec(const char *const *argv)
{
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	return s;
}

static art_spec *sh_spec(const char *script)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	return argv_spec(argv);
}

static art_spec *sleep_spec(const char *secs)
{
	const char *argv[] = { "sleep", secs, NULL };
	return argv_spec(argv);
}

static art_spec *true_spec(void)
{
	const char *argv[] = { "true", NULL };
	return argv_spec(argv);
}

static art_spec *with_id(art_spec *s, const char *id)
{
	CHECK_EQ_INT(art_spec_set_id(s, id), 0);
	return s;
}

static art_spec *with_prio(art_spec *s, art_priority p, int order)
{
	CHECK_EQ_INT(art_spec_set_priority(s, p, order), 0);
	return s;
}

static art_spec *with_dep(art_spec *s, const char *id, art_dep_condition cond)
{
	CHECK_EQ_INT(art_spec_add_dependency(s, id, cond), 0);
	return s;
}

static art_spec *with_group(art_spec *s, const char *group)
{
	CHECK_EQ_INT(art_spec_set_group(s, group), 0);
	return s;
}

static art_spec *with_kind(art_spec *s, const char *kind)
{
	CHECK_EQ_INT(art_spec_set_kind(s, kind), 0);
	return s;
}

static art_spec *with_requests(art_spec *s, int64_t cpu, int64_t mem)
{
	CHECK_EQ_INT(art_spec_set_requests(s, cpu, mem), 0);
	return s;
}

/* Submits and frees the spec (the runtime keeps its own copy). */
static void submit(art_runtime *rt, art_spec *spec, rec *r, art_task **out)
{
	art_error err;
	art_error_clear(&err);
	int e = art_runtime_submit(rt, spec, r, out, &err);
	if (e < 0) {
		fprintf(stderr, "# art_runtime_submit: %d %s\n", e, err.msg);
		exit(1);
	}
	art_spec_free(spec);
}

/* Submits n specs as one batch and frees them. */
static void submit_batch(art_runtime *rt, art_spec **specs, rec **recs, size_t n,
			 art_task **out)
{
	art_error err;
	art_error_clear(&err);
	int e = art_runtime_submit_batch(rt, (const art_spec *const *)specs, n,
					 (void *const *)recs, out, &err);
	if (e < 0) {
		fprintf(stderr, "# art_runtime_submit_batch: %d %s\n", e, err.msg);
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		art_spec_free(specs[i]);
}

static void run_to_end(art_runtime *rt)
{
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
}

/* Steps until pred(arg) holds; fails after `ms`. */
static void step_until(art_runtime *rt, bool (*pred)(void *), void *arg, int ms)
{
	int64_t end = mono_ns() + ms * MS;
	while (!pred(arg)) {
		CHECK(mono_ns() < end);
		CHECK(art_runtime_step(rt, 10) >= 0);
	}
}

/* Steps for `ms` whatever happens. */
static void step_for(art_runtime *rt, int ms)
{
	int64_t end = mono_ns() + ms * MS;
	while (mono_ns() < end)
		CHECK(art_runtime_step(rt, 5) >= 0);
}

static bool task_running(void *arg)
{
	return art_task_state_get(arg) == ART_TASK_RUNNING;
}

static bool rec_done(void *arg)
{
	return ((rec *)arg)->calls > 0;
}

static bool pid_seen(void *arg)
{
	return ((rec *)arg)->pid_from_output > 0;
}

static void print_rec(const rec *r)
{
	fprintf(stderr,
		"# %s: calls=%d end=%s exit=%d sig=%d attempts=%u queued=%lld started=+%lldms "
		"wall=%lldms cpu=%lldms frozen=%lldms skip=[%s]\n",
		r->name ? r->name : "?", r->calls, art_end_name(r->res.end), r->res.exit_code,
		r->res.term_signal, r->res.attempts, (long long)(r->res.queued_ns / MS),
		(long long)(r->res.started_ns ? (r->res.started_ns - r->res.queued_ns) / MS : -1),
		(long long)(r->res.wall_ns / MS),
		(long long)((r->res.user_ns + r->res.system_ns) / MS),
		(long long)(r->res.frozen_ns / MS),
		r->skip_reason ? r->skip_reason : "");
}

#define CHECK_END(r, want)                                      \
	do {                                                    \
		if ((r)->res.end != (want))                     \
			print_rec(r);                           \
		CHECK_EQ_INT((r)->res.end, (want));             \
	} while (0)

#define CHECK_OK(r)                                                                  \
	do {                                                                         \
		if ((r)->calls != 1 || (r)->res.end != ART_END_EXITED ||             \
		    (r)->res.exit_code != 0)                                         \
			print_rec(r);                                                \
		CHECK_EQ_INT((r)->calls, 1);                                         \
		CHECK_EQ_INT((r)->res.end, ART_END_EXITED);                          \
		CHECK_EQ_INT((r)->res.exit_code, 0);                                 \
	} while (0)

static int64_t end_of(const rec *r)
{
	return r->res.started_ns + r->res.wall_ns;
}

/* The most tasks of rs[0..n) that ran at one moment, from their start
 * times and wall times. An end and a start at the same instant do not
 * overlap. */
static int max_overlap(rec *const *rs, size_t n)
{
	int best = 0;
	for (size_t i = 0; i < n; i++) {
		if (!rs[i]->res.started_ns)
			continue;
		int64_t t = rs[i]->res.started_ns;
		int alive = 0;
		for (size_t j = 0; j < n; j++)
			if (rs[j]->res.started_ns && rs[j]->res.started_ns <= t && t < end_of(rs[j]))
				alive++;
		if (alive > best)
			best = alive;
	}
	return best;
}

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/art-sched-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	CHECK_EQ_INT(chmod(tmpdir, 0755), 0);
	atexit(rm_tmpdir);
	return tmpdir;
}

/* utime + stime of a process, in clock ticks; -1 if it is gone. */
static long long proc_cpu_ticks(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	/* After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt
	 * cminflt majflt cmajflt utime(14) stime(15). */
	long long utime = 0, stime = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime,
		   &stime) != 2)
		return -1;
	return utime + stime;
}

/* The state letter from /proc/PID/stat; 0 when there is no such process. */
static char proc_state(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* ------------------------------------------------------------ priority */

TEST(priority_classes_start_in_order)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	rec blocker = { .name = "blocker" };
	art_task *bt = NULL;
	submit(rt, sleep_spec("0.3"), &blocker, &bt);
	step_until(rt, task_running, bt, 2000);
	art_task_unref(bt);

	/* Submitted from the lowest class up, so that submission order and
	 * class order disagree everywhere. */
	static const char *const names[] = { "low", "normal", "high", "critical", "emergency" };
	rec r[5] = { 0 };
	for (int p = ART_PRIORITY_LOW; p <= ART_PRIORITY_EMERGENCY; p++) {
		r[p].name = names[p];
		submit(rt, with_prio(true_spec(), (art_priority)p, 0), &r[p], NULL);
	}
	run_to_end(rt);
	CHECK_OK(&blocker);
	for (int p = 0; p < 5; p++) {
		CHECK_OK(&r[p]);
		/* Each waited for the blocker. */
		CHECK(r[p].res.started_ns >= end_of(&blocker));
	}
	/* emergency, critical, high, normal, low. */
	for (int p = ART_PRIORITY_EMERGENCY; p > ART_PRIORITY_LOW; p--) {
		if (!(r[p].res.started_ns < r[p - 1].res.started_ns)) {
			print_rec(&r[p]);
			print_rec(&r[p - 1]);
		}
		CHECK(r[p].res.started_ns < r[p - 1].res.started_ns);
		CHECK(r[p].seq < r[p - 1].seq);
	}
	art_runtime_free(rt);
}

TEST(order_within_a_class)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	rec blocker = { .name = "blocker" };
	art_task *bt = NULL;
	submit(rt, sleep_spec("0.2"), &blocker, &bt);
	step_until(rt, task_running, bt, 2000);
	art_task_unref(bt);

	/* Two high tasks submitted together while the slot is taken: the
	 * higher order goes first although it was submitted second. */
	rec h1 = { .name = "high order 1" }, h5 = { .name = "high order 5" };
	submit(rt, with_prio(true_spec(), ART_PRIORITY_HIGH, 1), &h1, NULL);
	submit(rt, with_prio(true_spec(), ART_PRIORITY_HIGH, 5), &h5, NULL);
	run_to_end(rt);
	CHECK_OK(&h1);
	CHECK_OK(&h5);
	CHECK(h1.res.started_ns >= end_of(&blocker));
	CHECK(h5.res.started_ns >= end_of(&blocker));
	if (!(h5.res.started_ns < h1.res.started_ns)) {
		print_rec(&h5);
		print_rec(&h1);
	}
	CHECK(h5.res.started_ns < h1.res.started_ns);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ aging */

#define AGING_STEP (100 * MS)
#define AGING_POOL 256

static struct {
	rec high[AGING_POOL];
	int n_high;
	int64_t stream_end;
} aging;

static void submit_high(art_runtime *rt)
{
	CHECK(aging.n_high < AGING_POOL);
	rec *r = &aging.high[aging.n_high++];
	r->name = "high";
	submit(rt, with_prio(sleep_spec("0.04"), ART_PRIORITY_HIGH, 0), r, NULL);
}

static void aging_on_end(art_runtime *rt, art_task *task, rec *r)
{
	(void)task;
	(void)r;
	if (mono_ns() < aging.stream_end)
		submit_high(rt);
}

TEST(aging_lets_a_low_task_through_a_stream)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 1;
	cfg.aging_step_ns = AGING_STEP;
	art_runtime *rt = new_rt(&cfg);
	aging.stream_end = INT64_MAX;
	ctx.on_end = aging_on_end;
	/* A backlog of high tasks, one running... */
	for (int i = 0; i < 3; i++)
		submit_high(rt);
	step_until(rt, rec_done, &aging.high[0], 2000);
	/* ...then the low one, while every end brings another high one. */
	rec low = { .name = "low" };
	submit(rt, with_prio(true_spec(), ART_PRIORITY_LOW, 0), &low, NULL);
	aging.stream_end = mono_ns() + 1500 * MS;
	run_to_end(rt);
	ctx.on_end = NULL;

	CHECK_OK(&low);
	int after = 0;
	for (int i = 0; i < aging.n_high; i++) {
		rec *h = &aging.high[i];
		CHECK_OK(h);
		if (h->res.started_ns > low.res.started_ns) {
			after++;
			continue;
		}
		/* The guarantee: nothing of its group submitted more than
		 * (EMERGENCY - LOW) * step after it passes it. A HIGH task's
		 * key is its submission + 2 steps against the low one's 4, so
		 * only those submitted within 2 steps of it may pass. */
		if (h->res.queued_ns > low.res.queued_ns + 2 * AGING_STEP + 50 * MS) {
			print_rec(&low);
			print_rec(h);
		}
		CHECK(h->res.queued_ns <= low.res.queued_ns + 2 * AGING_STEP + 50 * MS);
	}
	/* It did wait for the priority of the others (about two steps)... */
	CHECK(low.res.started_ns - low.res.queued_ns >= 2 * AGING_STEP - 50 * MS);
	/* ...but not for the stream to end: high tasks started after it. */
	CHECK(low.res.started_ns < aging.stream_end);
	CHECK(after >= 5);
	CHECK(low.res.started_ns - low.res.queued_ns < 1200 * MS);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ dependencies */

TEST(dependencies_conditions_and_skips)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec a = { .name = "a" }, b = { .name = "b" }, bad = { .name = "bad" };
	rec c = { .name = "c" }, d = { .name = "d" }, e = { .name = "e" }, f = { .name = "f" };
	/* Dependents before what they depend on: forward references within
	 * a batch are allowed. */
	art_spec *specs[] = {
		with_dep(with_id(true_spec(), "b"), "a", ART_DEP_OK),
		with_dep(with_id(true_spec(), "f"), "c", ART_DEP_OK),
		with_id(sleep_spec("0.1"), "a"),
		with_dep(with_id(true_spec(), "c"), "bad", ART_DEP_OK),
		with_id(sh_spec("sleep 0.1; exit 1"), "bad"),
		with_dep(with_id(true_spec(), "d"), "bad", ART_DEP_FAILED),
		with_dep(with_id(true_spec(), "e"), "bad", ART_DEP_ANY),
	};
	rec *recs[] = { &b, &f, &a, &c, &bad, &d, &e };
	art_task *tasks[7] = { 0 };
	submit_batch(rt, specs, recs, 7, tasks);
	run_to_end(rt);

	CHECK_OK(&a);
	CHECK_OK(&b);
	CHECK(b.res.started_ns >= end_of(&a));
	CHECK_EQ_INT(b.res.attempts, 1);

	CHECK_EQ_INT(bad.calls, 1);
	CHECK_END(&bad, ART_END_EXITED);
	CHECK_EQ_INT(bad.res.exit_code, 1);

	CHECK_EQ_INT(c.calls, 1);
	CHECK_END(&c, ART_END_SKIPPED);
	CHECK_EQ_INT(c.res.started_ns, 0);
	CHECK_EQ_INT(c.res.attempts, 0);
	CHECK_EQ_INT(c.res.pid, 0);
	CHECK_EQ_STR(c.skip_reason, "dependency \"bad\" failed (exit 1)");
	CHECK(c.exit_ns >= end_of(&bad));

	CHECK_OK(&d);
	CHECK(d.res.started_ns >= end_of(&bad));
	CHECK_OK(&e);
	CHECK(e.res.started_ns >= end_of(&bad));

	CHECK_EQ_INT(f.calls, 1);
	CHECK_END(&f, ART_END_SKIPPED);
	CHECK_EQ_STR(f.skip_reason,
		     "dependency \"c\" skipped: dependency \"bad\" failed (exit 1)");
	CHECK(f.seq > c.seq);

	/* Skipped tasks never started; the task objects agree. */
	for (int i = 0; i < 7; i++) {
		const art_result *res = art_task_result(tasks[i]);
		CHECK(res != NULL);
		CHECK_EQ_INT(res->end, recs[i]->res.end);
		art_task_unref(tasks[i]);
	}
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.submitted, 7);
	CHECK_EQ_INT(st.started, 5);
	CHECK_EQ_INT(st.skipped, 2);
	CHECK_EQ_INT(st.ended, 7);
	CHECK_EQ_INT(st.held, 0);
	art_runtime_free(rt);
}

TEST(dependency_on_an_ended_task)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec ok = { .name = "ok" }, bad = { .name = "bad" };
	submit(rt, with_id(true_spec(), "ok"), &ok, NULL);
	submit(rt, with_id(sh_spec("exit 3"), "bad"), &bad, NULL);
	run_to_end(rt);
	CHECK_OK(&ok);
	CHECK_EQ_INT(bad.res.exit_code, 3);
	/* Later submissions may name them: judged at once. */
	rec after_ok = { .name = "after ok" }, after_bad = { .name = "after bad" };
	rec on_fail = { .name = "on fail" };
	submit(rt, with_dep(true_spec(), "ok", ART_DEP_OK), &after_ok, NULL);
	submit(rt, with_dep(true_spec(), "bad", ART_DEP_OK), &after_bad, NULL);
	submit(rt, with_dep(true_spec(), "bad", ART_DEP_FAILED), &on_fail, NULL);
	run_to_end(rt);
	CHECK_OK(&after_ok);
	CHECK_OK(&on_fail);
	CHECK_END(&after_bad, ART_END_SKIPPED);
	CHECK_EQ_STR(after_bad.skip_reason, "dependency \"bad\" failed (exit 3)");
	art_runtime_free(rt);
}

TEST(dependency_history_is_bounded)
{
	art_runtime_config cfg = cfg_default();
	cfg.dep_history = 2;
	art_runtime *rt = new_rt(&cfg);
	rec r[3] = { 0 };
	submit(rt, with_id(true_spec(), "h1"), &r[0], NULL);
	run_to_end(rt);
	submit(rt, with_id(true_spec(), "h2"), &r[1], NULL);
	run_to_end(rt);
	submit(rt, with_id(true_spec(), "h3"), &r[2], NULL);
	run_to_end(rt);
	/* h1 is forgotten: as if it never existed. */
	art_error err;
	art_error_clear(&err);
	art_spec *s1 = with_id(with_dep(true_spec(), "h1", ART_DEP_OK), "late");
	rec late = { .name = "late" };
	CHECK_EQ_INT(art_runtime_submit(rt, s1, &late, NULL, &err), -EINVAL);
	CHECK_EQ_STR(err.msg, "task \"late\": depends_on \"h1\": no such task");
	art_spec_free(s1);
	/* h2 and h3 are remembered. */
	rec d2 = { .name = "d2" }, again = { .name = "h1 again" };
	submit(rt, with_dep(with_dep(true_spec(), "h2", ART_DEP_OK), "h3", ART_DEP_OK), &d2, NULL);
	/* The id h1 is free again. */
	submit(rt, with_id(true_spec(), "h1"), &again, NULL);
	run_to_end(rt);
	CHECK_OK(&d2);
	CHECK_OK(&again);
	CHECK_EQ_INT(late.calls, 0);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ errors */

TEST(batch_errors_refuse_the_whole_batch)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	art_error err;
	rec r[8] = { 0 };
	rec *recs[2];

	/* An unknown id. The valid task in the same batch is refused too. */
	art_spec *s1[] = {
		with_id(true_spec(), "v"),
		with_dep(with_id(true_spec(), "x"), "nope", ART_DEP_OK),
	};
	recs[0] = &r[0];
	recs[1] = &r[1];
	art_error_clear(&err);
	art_task *out[2] = { NULL, NULL };
	CHECK_EQ_INT(art_runtime_submit_batch(rt, (const art_spec *const *)s1, 2,
					      (void *const *)recs, out, &err),
		     -EINVAL);
	CHECK_EQ_INT(err.code, -EINVAL);
	CHECK_EQ_STR(err.msg, "task \"x\": depends_on \"nope\": no such task");
	CHECK(out[0] == NULL && out[1] == NULL);

	/* A cycle. */
	art_spec *s2[] = {
		with_dep(with_id(true_spec(), "ca"), "cb", ART_DEP_OK),
		with_dep(with_id(true_spec(), "cb"), "ca", ART_DEP_ANY),
	};
	recs[0] = &r[2];
	recs[1] = &r[3];
	art_error_clear(&err);
	CHECK_EQ_INT(art_runtime_submit_batch(rt, (const art_spec *const *)s2, 2,
					      (void *const *)recs, NULL, &err),
		     -EINVAL);
	CHECK_EQ_INT(err.code, -EINVAL);
	CHECK(strncmp(err.msg, "dependency cycle: ", 18) == 0);
	CHECK(strcmp(err.msg, "dependency cycle: ca -> cb -> ca") == 0 ||
	      strcmp(err.msg, "dependency cycle: cb -> ca -> cb") == 0);

	/* A task that depends on itself is a cycle too. */
	art_spec *self = with_dep(with_id(true_spec(), "me"), "me", ART_DEP_ANY);
	art_error_clear(&err);
	CHECK_EQ_INT(art_runtime_submit(rt, self, &r[4], NULL, &err), -EINVAL);
	CHECK_EQ_STR(err.msg, "dependency cycle: me -> me");
	art_spec_free(self);

	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.submitted, 0);

	/* Nothing of the refused batches was kept: their ids are free. */
	rec v = { .name = "v" }, x = { .name = "x" };
	art_spec *s3[] = { with_id(sh_spec("sleep 0.1"), "v"),
			   with_dep(with_id(true_spec(), "x"), "v", ART_DEP_OK) };
	rec *recs3[] = { &v, &x };
	submit_batch(rt, s3, recs3, 2, NULL);

	/* A duplicate of a task that is known: queued... */
	art_spec *dup = with_id(true_spec(), "v");
	art_error_clear(&err);
	int e = art_runtime_submit(rt, dup, &r[5], NULL, &err);
	CHECK(e < 0);
	CHECK_EQ_INT(err.code, e);
	CHECK(strstr(err.msg, "duplicate") != NULL);
	CHECK(strstr(err.msg, "\"v\"") != NULL);
	/* ...inside a batch... */
	art_spec *s4[] = { with_id(true_spec(), "w"), with_id(true_spec(), "w") };
	recs[0] = &r[6];
	recs[1] = &r[7];
	art_error_clear(&err);
	e = art_runtime_submit_batch(rt, (const art_spec *const *)s4, 2, (void *const *)recs,
				     NULL, &err);
	CHECK(e < 0);
	CHECK(strstr(err.msg, "duplicate") != NULL);
	run_to_end(rt);
	CHECK_OK(&v);
	CHECK_OK(&x);
	CHECK(x.res.started_ns >= end_of(&v));
	/* ...or ended (it is remembered for later dependents). */
	art_error_clear(&err);
	e = art_runtime_submit(rt, dup, &r[5], NULL, &err);
	CHECK(e < 0);
	CHECK(strstr(err.msg, "duplicate") != NULL);
	art_spec_free(dup);
	run_to_end(rt);

	for (int i = 0; i < 8; i++)
		CHECK_EQ_INT(r[i].calls, 0);
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.submitted, 2);
	CHECK_EQ_INT(st.started, 2);
	CHECK_EQ_INT(st.ended, 2);
	for (int i = 0; i < 2; i++) {
		art_spec_free(s1[i]);
		art_spec_free(s2[i]);
		art_spec_free(s4[i]);
	}
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ cancel a group */

TEST(cancel_group_with_dependents)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 16;
	art_runtime *rt = new_rt(&cfg);
	CHECK_EQ_INT(art_runtime_group_max_running(rt, "g", 1), 0);
	rec g1 = { .name = "g1" }, g2 = { .name = "g2" }, dep = { .name = "dep" };
	rec dep2 = { .name = "dep of dep" }, held = { .name = "held g" };
	rec any = { .name = "any" }, onfail = { .name = "onfail" };
	rec other = { .name = "other" };
	art_task *t1 = NULL;
	/* g1 runs, g2 waits for the group's cap. */
	submit(rt, with_group(with_id(sleep_spec("5"), "g1"), "g"), &g1, &t1);
	submit(rt, with_group(with_id(sleep_spec("5"), "g2"), "g"), &g2, NULL);
	/* In another group: needs g2 to succeed, and in turn is needed. */
	submit(rt, with_group(with_id(with_dep(true_spec(), "g2", ART_DEP_OK), "dep"), "other"),
	       &dep, NULL);
	submit(rt, with_group(with_dep(true_spec(), "dep", ART_DEP_OK), "other"), &dep2, NULL);
	/* Needs only that g2 ends, or that g1 fails: these run. */
	submit(rt, with_group(with_dep(true_spec(), "g2", ART_DEP_ANY), "other"), &any, NULL);
	submit(rt, with_group(with_dep(true_spec(), "g1", ART_DEP_FAILED), "other"), &onfail,
	       NULL);
	/* Unrelated; and a g task held by a dependency on it. */
	submit(rt, with_group(with_id(sh_spec("sleep 0.5"), "other"), "other"), &other, NULL);
	submit(rt, with_group(with_dep(true_spec(), "other", ART_DEP_OK), "g"), &held, NULL);
	step_until(rt, task_running, t1, 2000);
	step_for(rt, 100);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.running, 2);
	CHECK_EQ_INT(st.held, 5);
	CHECK_EQ_INT(st.ended, 0);

	int64_t t0 = mono_ns();
	CHECK_EQ_INT(art_runtime_cancel_group(rt, "g"), 0);
	run_to_end(rt);
	CHECK_EQ_INT(g1.calls, 1);
	CHECK_END(&g1, ART_END_CANCELLED);
	CHECK_EQ_INT(g1.res.term_signal, SIGTERM);
	CHECK(g1.exit_ns - t0 < 1000 * MS);
	rec *cancelled_queued[] = { &g2, &dep, &dep2, &held };
	for (size_t i = 0; i < 4; i++) {
		rec *r = cancelled_queued[i];
		CHECK_EQ_INT(r->calls, 1);
		CHECK_END(r, ART_END_CANCELLED);
		CHECK_EQ_INT(r->res.started_ns, 0);
		CHECK(r->exit_ns - t0 < 1000 * MS);
	}
	/* Dependents that did not need success ran once the g tasks ended. */
	CHECK_OK(&any);
	CHECK(any.res.started_ns >= g2.exit_ns);
	CHECK_OK(&onfail);
	CHECK(onfail.res.started_ns >= g1.exit_ns);
	/* The unrelated task of another group ran to its end. */
	CHECK_OK(&other);
	CHECK(other.res.wall_ns >= 450 * MS);
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.cancelled, 5);
	CHECK_EQ_INT(st.skipped, 0);
	CHECK_EQ_INT(st.held, 0);
	CHECK_EQ_INT(st.ended, 8);
	art_task_unref(t1);
	art_runtime_free(rt);
}

/* A cancel applies to what was submitted before it, not to what comes
 * after: a job restarted in the same group runs. */
TEST(cancel_group_then_submit_again)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec old = { .name = "old" }, fresh = { .name = "fresh" };
	art_task *ot = NULL;
	submit(rt, with_group(sleep_spec("5"), "job"), &old, &ot);
	step_until(rt, task_running, ot, 2000);
	/* Both requests reach the loop at its next iteration. */
	CHECK_EQ_INT(art_runtime_cancel_group(rt, "job"), 0);
	submit(rt, with_group(true_spec(), "job"), &fresh, NULL);
	run_to_end(rt);
	CHECK_END(&old, ART_END_CANCELLED);
	CHECK_OK(&fresh);
	art_task_unref(ot);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ admission */

TEST(admission_by_cpu_requests)
{
	art_runtime_config cfg = cfg_default();
	cfg.flags = ART_RT_ADMISSION;
	cfg.cpu_capacity = 2000;
	cfg.max_running = 64;
	art_runtime *rt = new_rt(&cfg);

	/* A CPU each, two CPUs: two at a time. */
	rec big[6] = { 0 };
	rec *bigp[6];
	int64_t t0 = mono_ns();
	for (int i = 0; i < 6; i++) {
		big[i].name = "cpu 1000";
		bigp[i] = &big[i];
		submit(rt, with_requests(sleep_spec("0.3"), 1000, -1), &big[i], NULL);
	}
	run_to_end(rt);
	int64_t took = mono_ns() - t0;
	for (int i = 0; i < 6; i++)
		CHECK_OK(&big[i]);
	int ov = max_overlap(bigp, 6);
	if (ov != 2)
		for (int i = 0; i < 6; i++)
			print_rec(&big[i]);
	CHECK_EQ_INT(ov, 2);
	CHECK(took >= 850 * MS);

	/* A tenth of a CPU each: all at once. */
	rec small[6] = { 0 };
	rec *smallp[6];
	t0 = mono_ns();
	for (int i = 0; i < 6; i++) {
		small[i].name = "cpu 100";
		smallp[i] = &small[i];
		submit(rt, with_requests(sleep_spec("0.3"), 100, -1), &small[i], NULL);
	}
	run_to_end(rt);
	took = mono_ns() - t0;
	for (int i = 0; i < 6; i++)
		CHECK_OK(&small[i]);
	ov = max_overlap(smallp, 6);
	if (ov != 6)
		for (int i = 0; i < 6; i++)
			print_rec(&small[i]);
	CHECK_EQ_INT(ov, 6);
	CHECK(took < 850 * MS);
	art_runtime_free(rt);
}

TEST(admission_by_memory_requests)
{
	art_runtime_config cfg = cfg_default();
	cfg.flags = ART_RT_ADMISSION;
	cfg.memory_capacity = INT64_C(1) << 30;
	cfg.max_running = 64;
	art_runtime *rt = new_rt(&cfg);
	rec r[3] = { 0 };
	rec *rp[3];
	for (int i = 0; i < 3; i++) {
		r[i].name = "600M";
		rp[i] = &r[i];
		submit(rt, with_requests(sleep_spec("0.2"), 10, INT64_C(600) << 20), &r[i], NULL);
	}
	/* Beside them, small ones of another kind (another flow) fit: a
	 * blocked head does not hold back other flows (backfilling). */
	rec s[2] = { 0 };
	for (int i = 0; i < 2; i++) {
		s[i].name = "100M";
		submit(rt, with_kind(with_requests(sleep_spec("0.2"), 10, INT64_C(100) << 20), "small"),
		       &s[i], NULL);
	}
	run_to_end(rt);
	for (int i = 0; i < 3; i++)
		CHECK_OK(&r[i]);
	for (int i = 0; i < 2; i++)
		CHECK_OK(&s[i]);
	int ov = max_overlap(rp, 3);
	if (ov != 1)
		for (int i = 0; i < 3; i++)
			print_rec(&r[i]);
	CHECK_EQ_INT(ov, 1);
	/* The small ones ran beside the first big one. */
	for (int i = 0; i < 2; i++)
		CHECK(s[i].res.started_ns < end_of(&r[0]));
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ learnt classes */

/* Submits n tasks of a kind (no requests declared) and runs them to
 * their end. */
static void run_kind(art_runtime *rt, const char *kind, const char *script, rec *r, rec **rp,
		     int n, const char *name)
{
	for (int i = 0; i < n; i++) {
		r[i].name = name;
		rp[i] = &r[i];
		submit(rt, with_kind(sh_spec(script), kind), &r[i], NULL);
	}
	run_to_end(rt);
	for (int i = 0; i < n; i++)
		CHECK_OK(&r[i]);
}

TEST(learnt_io_kind_runs_many_at_once)
{
	art_runtime_config cfg = cfg_default();
	cfg.flags = ART_RT_ADMISSION;
	cfg.cpu_capacity = 1000;
	cfg.max_running = 64;
	art_runtime *rt = new_rt(&cfg);
	/* Before warm-up, an unknown kind is taken to need a whole CPU. */
	rec first[3] = { 0 }, later[8] = { 0 };
	rec *fp[3], *lp[8];
	run_kind(rt, "fetch", "sleep 0.2", first, fp, 3, "fetch (warm-up)");
	int ov = max_overlap(fp, 3);
	if (ov != 1)
		for (int i = 0; i < 3; i++)
			print_rec(&first[i]);
	CHECK_EQ_INT(ov, 1);
	/* Three finished: learnt as I/O-bound, it asks for next to nothing. */
	run_kind(rt, "fetch", "sleep 0.2", later, lp, 8, "fetch (learnt)");
	ov = max_overlap(lp, 8);
	if (ov < 4)
		for (int i = 0; i < 8; i++)
			print_rec(&later[i]);
	CHECK(ov >= 4);
	art_runtime_free(rt);
}

TEST(learnt_cpu_kind_stays_one_per_cpu)
{
	art_runtime_config cfg = cfg_default();
	cfg.flags = ART_RT_ADMISSION;
	cfg.cpu_capacity = 1000;
	cfg.max_running = 64;
	art_runtime *rt = new_rt(&cfg);
	rec first[3] = { 0 }, later[4] = { 0 };
	rec *fp[3], *lp[4];
	run_kind(rt, "crunch", BUSY(120000), first, fp, 3, "crunch (warm-up)");
	CHECK_EQ_INT(max_overlap(fp, 3), 1);
	for (int i = 0; i < 3; i++)
		CHECK(first[i].res.user_ns + first[i].res.system_ns >= 50 * MS);
	run_kind(rt, "crunch", BUSY(120000), later, lp, 4, "crunch (learnt)");
	int ov = max_overlap(lp, 4);
	if (ov != 1)
		for (int i = 0; i < 4; i++)
			print_rec(&later[i]);
	CHECK_EQ_INT(ov, 1);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ preemption */

static void preempt_case(bool cgroup)
{
	art_runtime_config cfg = cfg_default();
	cfg.flags = ART_RT_ADMISSION | ART_RT_PREEMPT;
	cfg.cpu_capacity = 1000;
	cfg.max_running = 64;
	art_runtime *rt = new_rt(&cfg);

	/* About 0.25 s of CPU; its timeout (1.3 s) is shorter than its run
	 * plus the time it is frozen (1.2 s): frozen time must not count. */
	rec low = { .name = "low" }, urgent = { .name = "urgent" };
	art_spec *ls = with_requests(with_prio(sh_spec("echo $$; " BUSY(150000)),
					       ART_PRIORITY_LOW, 0),
				     1000, -1);
	CHECK_EQ_INT(art_spec_set_timeout(ls, 1300 * MS), 0);
	if (cgroup)
		CHECK_EQ_INT(art_spec_set_sandbox(ls, ART_SANDBOX_LIMITS), 0);
	submit(rt, ls, &low, NULL);
	step_until(rt, pid_seen, &low, 2000);
	if (cgroup && art_runtime_limits_diagnostic(rt))
		SKIP("no usable cgroup tree");
	int pid = low.pid_from_output;
	step_for(rt, 50);
	CHECK(proc_cpu_ticks(pid) >= 0);

	art_task *ut = NULL;
	int64_t t_submit = mono_ns();
	submit(rt, with_requests(with_prio(sleep_spec("1.2"), ART_PRIORITY_EMERGENCY, 0), 1000,
				 -1),
	       &urgent, &ut);
	step_until(rt, task_running, ut, 1000);
	CHECK(mono_ns() - t_submit < 100 * MS);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.frozen, 1);
	CHECK_EQ_INT(st.preemptions, 1);
	CHECK_EQ_INT(st.running, 2);

	/* While frozen it uses no CPU. */
	step_for(rt, 50);
	long long c0 = proc_cpu_ticks(pid);
	step_for(rt, 300);
	long long c1 = proc_cpu_ticks(pid);
	CHECK(c0 >= 0 && c1 >= 0);
	long tck = sysconf(_SC_CLK_TCK);
	if ((c1 - c0) * 1000 / tck > 10)
		fprintf(stderr, "# frozen task used %lld ticks in 300 ms\n", c1 - c0);
	CHECK((c1 - c0) * 1000 / tck <= 10);
	CHECK_EQ_INT(urgent.calls, 0);
	CHECK_EQ_INT(low.calls, 0);

	run_to_end(rt);
	CHECK_OK(&urgent);
	CHECK(urgent.res.started_ns - urgent.res.queued_ns < 100 * MS);
	CHECK_EQ_INT(urgent.res.frozen_ns, 0);
	/* The low one resumed after the urgent one and finished. */
	CHECK_OK(&low);
	CHECK(low.res.started_ns < urgent.res.started_ns);
	CHECK(low.exit_ns > urgent.exit_ns);
	CHECK(low.res.frozen_ns >= 1100 * MS);
	CHECK(low.res.frozen_ns <= low.res.wall_ns);
	CHECK(low.res.wall_ns > 1350 * MS);
	CHECK_EQ_INT(low.res.attempts, 1);
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.frozen, 0);
	CHECK_EQ_INT(st.timeouts, 0);
	art_task_unref(ut);
	art_runtime_free(rt);
}

TEST(preemption_freezes_a_low_task)
{
	preempt_case(false);
}

TEST(preemption_with_the_cgroup_freezer)
{
	if (geteuid() != 0)
		SKIP("cgroups need root here");
	preempt_case(true);
}

/* Without admission, a slot is what an urgent task lacks: max_running 1.
 * A HIGH task does not preempt; a CRITICAL one does. */
TEST(preemption_for_a_slot)
{
	art_runtime_config cfg = cfg_default();
	cfg.flags = ART_RT_PREEMPT;
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	rec low = { .name = "low" }, high = { .name = "high" }, crit = { .name = "critical" };
	submit(rt, with_prio(sh_spec("echo $$; " BUSY(200000)), ART_PRIORITY_LOW, 0), &low, NULL);
	step_until(rt, pid_seen, &low, 2000);
	art_task *ht = NULL, *ct = NULL;
	submit(rt, with_prio(true_spec(), ART_PRIORITY_HIGH, 0), &high, &ht);
	step_for(rt, 100);
	CHECK(art_task_state_get(ht) == ART_TASK_QUEUED);
	submit(rt, with_prio(sleep_spec("0.3"), ART_PRIORITY_CRITICAL, 0), &crit, &ct);
	step_until(rt, task_running, ct, 1000);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.frozen, 1);
	CHECK_EQ_INT(st.preemptions, 1);
	/* Stopped while frozen (a signal takes a moment to land). */
	char state = 0;
	for (int i = 0; i < 50 && state != 'T' && state != 't'; i++) {
		if (i)
			usleep(2000);
		state = proc_state(low.pid_from_output);
	}
	if (state != 'T' && state != 't')
		fprintf(stderr, "# frozen task's state: %c\n", state ? state : '-');
	CHECK(state == 'T' || state == 't');
	run_to_end(rt);
	CHECK_OK(&low);
	CHECK_OK(&high);
	CHECK_OK(&crit);
	CHECK(crit.res.started_ns - crit.res.queued_ns < 100 * MS);
	CHECK(low.res.frozen_ns >= 250 * MS);
	/* The frozen one resumes before the high one that waited: it holds
	 * the slot it had. */
	CHECK(low.exit_ns > crit.exit_ns);
	CHECK(high.res.started_ns >= end_of(&low));
	art_task_unref(ht);
	art_task_unref(ct);
	art_runtime_free(rt);
}

/* What a kind learns is its utilisation while it runs: time spent
 * frozen for an urgent task is not time it ran, and must not make a
 * CPU-bound kind look idle. Three CPU-bound tasks (~0.1 s of CPU each),
 * one at a time on one CPU's capacity, are each frozen for 0.4 s; then
 * four more of the kind must not run more than two at once (learnt from
 * run time: ~1000 millicores each, so one at a time, two on a loaded
 * machine; learnt from wall time: ~200, so all four). */
TEST(learning_ignores_frozen_time)
{
	art_runtime_config cfg = cfg_default();
	cfg.flags = ART_RT_ADMISSION | ART_RT_PREEMPT;
	cfg.cpu_capacity = 1000;
	cfg.max_running = 64;
	art_runtime *rt = new_rt(&cfg);
	rec warm[3] = { 0 }, urgent[3] = { 0 };
	for (int i = 0; i < 3; i++) {
		warm[i].name = "crunch (warm-up)";
		urgent[i].name = "urgent";
		submit(rt, with_prio(with_kind(sh_spec("echo $$; " BUSY(60000)), "crunch"),
				     ART_PRIORITY_LOW, 0),
		       &warm[i], NULL);
		step_until(rt, pid_seen, &warm[i], 2000);
		art_task *ut = NULL;
		submit(rt, with_requests(with_prio(sleep_spec("0.4"), ART_PRIORITY_EMERGENCY, 0),
					 1000, -1),
		       &urgent[i], &ut);
		step_until(rt, task_running, ut, 1000);
		art_runtime_stats st;
		art_runtime_stats_get(rt, &st);
		CHECK_EQ_INT(st.frozen, 1);
		run_to_end(rt);
		art_task_unref(ut);
		CHECK_OK(&urgent[i]);
		CHECK_OK(&warm[i]);
		CHECK(warm[i].res.frozen_ns >= 350 * MS);
	}

	rec later[4] = { 0 };
	rec *lp[4];
	run_kind(rt, "crunch", BUSY(60000), later, lp, 4, "crunch (learnt)");
	int ov = max_overlap(lp, 4);
	if (ov > 2) {
		for (int i = 0; i < 3; i++)
			print_rec(&warm[i]);
		for (int i = 0; i < 4; i++)
			print_rec(&later[i]);
	}
	CHECK(ov <= 2);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ retries */

TEST(retries_until_success_and_dependents_wait)
{
	const char *dir = make_tmpdir();
	char script[512];
	snprintf(script, sizeof(script),
		 "n=$(cat %s/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s/count; "
		 "sleep 0.05; [ $n -ge 3 ]",
		 dir, dir);
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec ok = { .name = "third time lucky" }, never = { .name = "never" };
	rec dep = { .name = "dependent" };
	art_spec *s = with_id(sh_spec(script), "flaky");
	CHECK_EQ_INT(art_spec_set_retries(s, 5), 0);
	CHECK_EQ_INT(art_spec_retries(s), 5);
	art_spec *n = sh_spec("exit 1");
	CHECK_EQ_INT(art_spec_set_retries(n, 2), 0);
	art_spec *specs[] = { with_dep(true_spec(), "flaky", ART_DEP_OK), s, n };
	rec *recs[] = { &dep, &ok, &never };
	submit_batch(rt, specs, recs, 3, NULL);
	run_to_end(rt);

	CHECK_OK(&ok);
	CHECK_EQ_INT(ok.res.attempts, 3);
	CHECK_EQ_INT(never.calls, 1);
	CHECK_END(&never, ART_END_EXITED);
	CHECK_EQ_INT(never.res.exit_code, 1);
	CHECK_EQ_INT(never.res.attempts, 3);
	/* The dependent waited for the last try, which succeeded. */
	CHECK_OK(&dep);
	CHECK(dep.res.started_ns >= end_of(&ok));
	CHECK(ok.res.started_ns - ok.res.queued_ns >= 90 * MS); /* two tries before */
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.retries, 4);
	CHECK_EQ_INT(st.ended, 3);
	art_runtime_free(rt);
	rm_tmpdir();
}

TEST(retries_not_for_cancelled_or_skipped)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec bad = { .name = "bad" }, skipped = { .name = "skipped" }, cancelled = { .name = "c" };
	art_spec *b = with_id(sh_spec("exit 2"), "bad");
	art_spec *sk = with_dep(true_spec(), "bad", ART_DEP_OK);
	CHECK_EQ_INT(art_spec_set_retries(sk, 3), 0);
	art_spec *specs[] = { b, sk };
	rec *recs[] = { &bad, &skipped };
	submit_batch(rt, specs, recs, 2, NULL);
	art_spec *cs = sleep_spec("5");
	CHECK_EQ_INT(art_spec_set_retries(cs, 3), 0);
	art_task *ct = NULL;
	submit(rt, cs, &cancelled, &ct);
	step_until(rt, task_running, ct, 2000);
	art_task_cancel(ct);
	run_to_end(rt);
	CHECK_END(&skipped, ART_END_SKIPPED);
	CHECK_EQ_INT(skipped.calls, 1);
	CHECK_EQ_INT(skipped.res.attempts, 0);
	CHECK_END(&cancelled, ART_END_CANCELLED);
	CHECK_EQ_INT(cancelled.calls, 1);
	CHECK_EQ_INT(cancelled.res.attempts, 1);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.retries, 0);
	art_task_unref(ct);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ rates */

TEST(kind_rate_limits_starts)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 4;
	art_runtime *rt = new_rt(&cfg);
	CHECK_EQ_INT(art_runtime_kind_rate(rt, "k", 10, 1), 0);
	CHECK_EQ_INT(art_runtime_kind_rate(rt, "k", -1, 1), -EINVAL);
	CHECK_EQ_INT(art_runtime_kind_rate(rt, "k", 10, 0), -EINVAL);
	rec r[11] = { 0 }, free_kind = { .name = "other kind" };
	for (int i = 0; i < 11; i++) {
		r[i].name = "k";
		submit(rt, with_kind(true_spec(), "k"), &r[i], NULL);
	}
	submit(rt, true_spec(), &free_kind, NULL);
	int64_t t0 = mono_ns();
	run_to_end(rt);
	int64_t first = INT64_MAX, last = 0;
	int64_t starts[11];
	for (int i = 0; i < 11; i++) {
		CHECK_OK(&r[i]);
		starts[i] = r[i].res.started_ns;
		if (starts[i] < first)
			first = starts[i];
		if (starts[i] > last)
			last = starts[i];
	}
	CHECK(last - first >= 900 * MS);
	CHECK(last - first < 2000 * MS);
	/* In submission order, and with a burst of 1, no two starts closer
	 * than about a period. */
	for (int i = 1; i < 11; i++)
		CHECK(starts[i] - starts[i - 1] >= 80 * MS);
	/* Another kind is not held by this kind's rate. */
	CHECK_OK(&free_kind);
	CHECK(free_kind.res.started_ns - t0 < 300 * MS);
	art_runtime_free(rt);
}

TEST(kind_cap_holds_only_its_kind)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 16;
	art_runtime *rt = new_rt(&cfg);
	CHECK_EQ_INT(art_runtime_kind_max_running(rt, "k", 2), 0);
	rec r[6] = { 0 }, o[4] = { 0 };
	rec *rp[6], *op[4];
	for (int i = 0; i < 6; i++) {
		r[i].name = "k";
		rp[i] = &r[i];
		submit(rt, with_kind(sleep_spec("0.2"), "k"), &r[i], NULL);
	}
	for (int i = 0; i < 4; i++) {
		o[i].name = "other";
		op[i] = &o[i];
		submit(rt, with_kind(sleep_spec("0.2"), "other"), &o[i], NULL);
	}
	run_to_end(rt);
	for (int i = 0; i < 6; i++)
		CHECK_OK(&r[i]);
	for (int i = 0; i < 4; i++)
		CHECK_OK(&o[i]);
	CHECK_EQ_INT(max_overlap(rp, 6), 2);
	CHECK_EQ_INT(max_overlap(op, 4), 4);
	art_runtime_free(rt);
}

/* Two backlogged groups of weights 3 and 1 sharing one slot, with tasks
 * of equal length: three starts of the heavier for each of the other. */
TEST(group_weights_share_the_slots)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	CHECK_EQ_INT(art_runtime_group_weight(rt, "heavy", 3), 0);
	CHECK_EQ_INT(art_runtime_group_weight(rt, "heavy", 0), -EINVAL);
	rec h[12] = { 0 }, l[12] = { 0 };
	for (int i = 0; i < 12; i++) {
		h[i].name = "heavy";
		l[i].name = "light";
		submit(rt, with_group(sleep_spec("0.04"), "light"), &l[i], NULL);
		submit(rt, with_group(sleep_spec("0.04"), "heavy"), &h[i], NULL);
	}
	run_to_end(rt);
	/* Of the first 12 starts (while both groups are backlogged), count
	 * the heavy group's: 9 ideally; 6 without weights. */
	int heavy = 0;
	for (int i = 0; i < 12; i++) {
		CHECK_OK(&h[i]);
		CHECK_OK(&l[i]);
		if (h[i].seq <= 12)
			heavy++;
	}
	if (heavy < 8 || heavy > 10)
		fprintf(stderr, "# heavy group had %d of the first 12 starts\n", heavy);
	CHECK(heavy >= 8 && heavy <= 10);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ explain */

/* The task's explanation starts with `prefix`, contains `has` and not
 * `lacks` (each may be NULL); printed when it does not. */
static void check_explain(art_task *t, const char *prefix, const char *has, const char *lacks)
{
	char buf[256];
	CHECK_EQ_INT(art_task_explain(t, buf, sizeof(buf)), 0);
	bool ok = (!prefix || strncmp(buf, prefix, strlen(prefix)) == 0) &&
		  (!has || strstr(buf, has)) && (!lacks || !strstr(buf, lacks));
	if (!ok)
		fprintf(stderr, "# explain %s: \"%s\"\n", art_task_id(t) ? art_task_id(t) : "-",
			buf);
	CHECK(ok);
}

TEST(explain_says_why_a_task_waited)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 8;
	art_runtime *rt = new_rt(&cfg);
	CHECK_EQ_INT(art_runtime_group_max_running(rt, "capped", 1), 0);
	rec r[5] = { 0 };
	art_task *t[5] = { 0 };
	submit(rt, with_group(with_id(sleep_spec("0.3"), "c1"), "capped"), &r[0], &t[0]);
	submit(rt, with_group(with_id(true_spec(), "c2"), "capped"), &r[1], &t[1]);
	submit(rt, with_id(sleep_spec("0.3"), "d0"), &r[2], &t[2]);
	submit(rt, with_dep(with_id(true_spec(), "d1"), "d0", ART_DEP_OK), &r[3], &t[3]);
	submit(rt, with_id(true_spec(), "alone"), &r[4], &t[4]);
	step_for(rt, 150);
	/* While queued, so far. */
	check_explain(t[1], "waited ", ": group cap ", NULL);
	run_to_end(rt);
	for (int i = 0; i < 5; i++)
		CHECK_OK(&r[i]);

	check_explain(t[1], "waited ", ": group cap ", "dependencies");
	check_explain(t[3], "waited ", ": dependencies ", "group cap");
	check_explain(t[4], "did not wait", NULL, NULL);
	check_explain(t[0], "did not wait", NULL, NULL);
	/* Too small a buffer. */
	char small[8];
	CHECK_EQ_INT(art_task_explain(t[1], small, sizeof(small)), -ENOBUFS);
	for (int i = 0; i < 5; i++)
		art_task_unref(t[i]);
	art_runtime_free(rt);
}

/* The time between a submission and the loop's next look (a host that
 * submits a job's tasks, then calls art_runtime_run) is not a wait for
 * dependencies when the task has none. */
TEST(explain_does_not_blame_missing_dependencies)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec plain = { .name = "plain" }, named = { .name = "named" };
	art_task *tp = NULL, *tn = NULL;
	submit(rt, true_spec(), &plain, &tp);
	submit(rt, with_id(true_spec(), "named"), &named, &tn);
	usleep(100 * 1000);
	run_to_end(rt);
	CHECK_OK(&plain);
	CHECK_OK(&named);
	check_explain(tp, NULL, NULL, "dependencies");
	check_explain(tn, NULL, NULL, "dependencies");
	art_task_unref(tp);
	art_task_unref(tn);
	art_runtime_free(rt);
}
