/* SPDX-License-Identifier: MIT */
/*
 * The event stream and per-task samples through the public API: the order
 * of a task's events, their fields, output events, retries, held tasks,
 * samples of a busy task (count, spacing, CPU, memory), the peaks in the
 * result and the record; and the jsonw writer behind the events.
 */
#include <agentrt.h>

#include <jansson.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/jsonw.h"
#include "base/time.h"
#include "tap.h"

/* The test binary doubles as a busy task: run with ART_TEST_SPIN_MS set,
 * it keeps one CPU busy that long and exits 0 before any test runs. */
__attribute__((constructor)) static void maybe_spin(void)
{
	const char *ms = getenv("ART_TEST_SPIN_MS");
	if (!ms)
		return;
	int64_t end = mono_ns() + atoll(ms) * NSEC_PER_MSEC;
	volatile uint64_t x = 0;
	while (mono_ns() < end)
		for (int i = 0; i < 10000; i++)
			x += (uint64_t)i;
	_exit(0);
}

/* ------------------------------------------------------------ helpers */

typedef struct events {
	json_t *v[4096];
	size_t n;
	art_result res;
	int exits;
	char *record; /* art_result_to_json of the last result */
} events;

static void on_event(art_runtime *rt, art_task *task, const char *line, void *ud)
{
	(void)rt;
	events *ev = ud;
	json_error_t e;
	CHECK(strchr(line, '\n') == NULL);
	json_t *o = json_loads(line, 0, &e);
	if (!o)
		fprintf(stderr, "# not JSON: %s (%s)\n", line, e.text);
	CHECK(o != NULL && json_is_object(o));
	/* The task named is the task passed. */
	json_t *id = json_object_get(o, "id");
	const char *want = art_task_id(task);
	CHECK(want ? json_is_string(id) && strcmp(json_string_value(id), want) == 0
		   : json_is_null(id));
	CHECK(ev->n < sizeof(ev->v) / sizeof(ev->v[0]));
	ev->v[ev->n++] = o;
}

static void on_exit_(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)rt;
	events *ev = ud;
	ev->exits++;
	ev->res = *res;
	free(ev->record);
	CHECK_EQ_INT(art_result_to_json(art_task_spec(task), res, res->attempts, &ev->record), 0);
}

static art_runtime *new_rt(events *ev, int64_t interval, unsigned flags)
{
	art_runtime_config cfg = {
		.flags = ART_RT_KILL_ORPHANS,
		.on_exit = on_exit_,
		.on_event = on_event,
		.event_flags = flags,
		.sample_interval_ns = interval,
		.userdata = ev,
	};
	art_runtime *rt = NULL;
	art_error err = { 0 };
	if (art_runtime_new(&cfg, &rt, &err) < 0) {
		fprintf(stderr, "# art_runtime_new: %s\n", err.msg);
		exit(1);
	}
	return rt;
}

static art_spec *spec_of(const char *id, const char *const *argv)
{
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	if (id)
		CHECK_EQ_INT(art_spec_set_id(s, id), 0);
	return s;
}

static void submit(art_runtime *rt, art_spec *s)
{
	art_error err = { 0 };
	if (art_runtime_submit(rt, s, NULL, NULL, &err) < 0) {
		fprintf(stderr, "# submit: %s\n", err.msg);
		exit(1);
	}
	art_spec_free(s);
}

static void run_all(art_runtime *rt)
{
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *name(events *ev, size_t i)
{
	return str(ev->v[i], "event");
}

/* The event names of task `id`, space-separated, "state" events written
 * as "from>to". */
static char *sequence(events *ev, const char *id)
{
	static char buf[8192];
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < ev->n; i++) {
		const char *eid = str(ev->v[i], "id");
		if (id && (!eid || strcmp(eid, id) != 0))
			continue;
		const char *n = name(ev, i);
		if (strcmp(n, "state") == 0)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s>%s", len ? " " : "",
						str(ev->v[i], "from"), str(ev->v[i], "to"));
		else
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? " " : "", n);
	}
	return buf;
}

static void free_events(events *ev)
{
	for (size_t i = 0; i < ev->n; i++)
		json_decref(ev->v[i]);
	free(ev->record);
}

static double num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	CHECK(json_is_number(v));
	return json_number_value(v);
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ events */

TEST(events_of_one_task_in_order)
{
	static events ev;
	art_runtime *rt = new_rt(&ev, 0, ART_EVENTS_OUTPUT);
	double before = wall_now();
	const char *argv[] = { "sh", "-c", "printf 'hi\\n'; printf 'e\\377r' >&2; exit 3", NULL };
	art_spec *s = spec_of("t1", argv);
	CHECK_EQ_INT(art_spec_set_group(s, "crew"), 0);
	CHECK_EQ_INT(art_spec_set_kind(s, "build"), 0);
	CHECK_EQ_INT(art_spec_set_priority(s, ART_PRIORITY_HIGH, 0), 0);
	submit(rt, s);
	run_all(rt);
	art_runtime_free(rt);
	double after = wall_now();

	/* Output chunks may come in any number and order between the streams;
	 * everything else is fixed. */
	char seq[8192], *o = seq;
	const char *all = sequence(&ev, "t1");
	for (const char *p = all; *p;) {
		const char *sp = strchrnul(p, ' ');
		if (strncmp(p, "output", 6) != 0 || (sp - p) != 6) {
			o += sprintf(o, "%s%.*s", o == seq ? "" : " ", (int)(sp - p), p);
		}
		p = *sp ? sp + 1 : sp;
	}
	CHECK_EQ_STR(seq, "queued queued>running started running>done exited");

	json_t *q = ev.v[0];
	CHECK_EQ_STR(str(q, "group"), "crew");
	CHECK_EQ_STR(str(q, "kind"), "build");
	CHECK_EQ_STR(str(q, "priority"), "high");
	double prev = 0;
	bool saw_out = false, saw_err = false;
	for (size_t i = 0; i < ev.n; i++) {
		double ts = num(ev.v[i], "ts");
		CHECK(ts >= before - 0.001 && ts <= after + 0.001);
		CHECK(ts >= prev);
		prev = ts;
		if (strcmp(name(&ev, i), "started") == 0) {
			CHECK(num(ev.v[i], "pid") > 0);
			CHECK_EQ_INT(num(ev.v[i], "attempt"), 1);
		}
		if (strcmp(name(&ev, i), "output") == 0) {
			const char *stream = str(ev.v[i], "stream");
			const char *data = str(ev.v[i], "data");
			CHECK(stream && data);
			if (strcmp(stream, "stdout") == 0) {
				CHECK_EQ_STR(data, "hi\n");
				saw_out = true;
			} else {
				CHECK_EQ_STR(stream, "stderr");
				/* The byte 0xff is not UTF-8: U+FFFD instead. */
				CHECK_EQ_STR(data, "e\xef\xbf\xbdr");
				saw_err = true;
			}
		}
	}
	CHECK(saw_out && saw_err);
	json_t *x = ev.v[ev.n - 1];
	CHECK_EQ_STR(name(&ev, ev.n - 1), "exited");
	CHECK_EQ_STR(str(x, "status"), "exited");
	CHECK_EQ_INT(num(x, "exit_code"), 3);
	CHECK(json_is_null(json_object_get(x, "signal")));
	CHECK(json_is_false(json_object_get(x, "ok")));
	CHECK(num(x, "wall_s") > 0 && num(x, "wall_s") < 10);
	/* No sampling: no peaks, in the event or the result or the record. */
	CHECK(json_object_get(x, "peak_rss_bytes") == NULL);
	CHECK_EQ_INT(ev.res.samples, 0);
	CHECK(strstr(ev.record, "peak_") == NULL);
	CHECK_EQ_INT(ev.exits, 1);
	free_events(&ev);
}

TEST(output_events_only_when_asked)
{
	static events ev;
	art_runtime *rt = new_rt(&ev, 0, 0);
	const char *argv[] = { "echo", "hello", NULL };
	submit(rt, spec_of(NULL, argv));
	run_all(rt);
	art_runtime_free(rt);
	/* No id: null in every event. */
	CHECK_EQ_STR(sequence(&ev, NULL), "queued queued>running started running>done exited");
	CHECK(json_is_null(json_object_get(ev.v[0], "id")));
	free_events(&ev);
}

TEST(events_of_a_retry_and_a_cancel)
{
	static events ev;
	art_runtime *rt = new_rt(&ev, 0, 0);
	const char *f[] = { "false", NULL };
	art_spec *s = spec_of("r", f);
	CHECK_EQ_INT(art_spec_set_retries(s, 1), 0);
	submit(rt, s);
	run_all(rt);
	CHECK_EQ_STR(sequence(&ev, "r"), "queued queued>running started retry running>queued "
					 "queued>running started running>done exited");
	for (size_t i = 0, n = 0; i < ev.n; i++) {
		if (strcmp(name(&ev, i), "retry") == 0) {
			CHECK_EQ_INT(num(ev.v[i], "attempt"), 2);
			CHECK_EQ_STR(str(ev.v[i], "after"), "exited");
		}
		if (strcmp(name(&ev, i), "started") == 0)
			CHECK_EQ_INT(num(ev.v[i], "attempt"), ++n);
	}
	CHECK_EQ_INT(num(ev.v[ev.n - 1], "attempts"), 2);
	art_runtime_free(rt);
	free_events(&ev);
}

TEST(events_of_a_held_task_and_a_skip)
{
	static events ev;
	art_runtime *rt = new_rt(&ev, 0, 0);
	const char *t[] = { "true", NULL }, *f[] = { "false", NULL };
	art_spec *a = spec_of("a", t), *b = spec_of("b", t), *c = spec_of("c", f),
		 *d = spec_of("d", t);
	CHECK_EQ_INT(art_spec_add_dependency(b, "a", ART_DEP_OK), 0);
	CHECK_EQ_INT(art_spec_add_dependency(d, "c", ART_DEP_OK), 0);
	const art_spec *specs[] = { a, b, c, d };
	art_error err = { 0 };
	CHECK_EQ_INT(art_runtime_submit_batch(rt, specs, 4, NULL, NULL, &err), 0);
	for (int i = 0; i < 4; i++)
		art_spec_free((art_spec *)specs[i]);
	run_all(rt);
	CHECK_EQ_STR(sequence(&ev, "b"), "queued queued>held held>queued queued>running started "
					 "running>done exited");
	CHECK_EQ_STR(sequence(&ev, "d"), "queued queued>held held>done exited");
	for (size_t i = 0; i < ev.n; i++)
		if (strcmp(str(ev.v[i], "id"), "d") == 0 && strcmp(name(&ev, i), "exited") == 0) {
			CHECK_EQ_STR(str(ev.v[i], "status"), "skipped");
			CHECK(json_is_null(json_object_get(ev.v[i], "exit_code")));
		}
	art_runtime_free(rt);
	free_events(&ev);
}

TEST(events_of_a_timeout)
{
	static events ev;
	art_runtime *rt = new_rt(&ev, 0, 0);
	const char *argv[] = { "sleep", "10", NULL };
	art_spec *s = spec_of("slow", argv);
	CHECK_EQ_INT(art_spec_set_timeout(s, 100 * NSEC_PER_MSEC), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 0), 0);
	submit(rt, s);
	run_all(rt);
	CHECK_EQ_STR(sequence(&ev, "slow"), "queued queued>running started running>stopping "
					    "stopping>done exited");
	json_t *x = ev.v[ev.n - 1];
	CHECK_EQ_STR(str(x, "status"), "timeout");
	CHECK_EQ_STR(str(x, "signal"), "SIGKILL");
	CHECK_EQ_INT(num(x, "exit_status"), 124);
	art_runtime_free(rt);
	free_events(&ev);
}

/* ------------------------------------------------------------ samples */

static art_spec *spin_spec(const char *id, int ms)
{
	char self[PATH_MAX], val[32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0);
	self[n] = 0;
	const char *argv[] = { self, NULL };
	art_spec *s = spec_of(id, argv);
	snprintf(val, sizeof(val), "%d", ms);
	CHECK_EQ_INT(art_spec_env_set(s, "ART_TEST_SPIN_MS", val), 0);
	return s;
}

static void check_busy_samples(events *ev, const char *id, bool from_cgroup)
{
	size_t n = 0;
	double prev_ts = 0, sum_pct = 0;
	int above = 0;
	for (size_t i = 0; i < ev->n; i++) {
		if (strcmp(name(ev, i), "sample") != 0 || strcmp(str(ev->v[i], "id"), id) != 0)
			continue;
		json_t *s = ev->v[i];
		double ts = num(s, "ts"), pct = num(s, "cpu_pct");
		if (n) {
			double gap = ts - prev_ts;
			if (gap < 0.05 || gap > 0.15)
				fprintf(stderr, "# samples %zu and %zu are %.3f s apart\n", n - 1, n, gap);
			CHECK(gap >= 0.05 && gap <= 0.15);
		}
		prev_ts = ts;
		CHECK(pct >= 0 && pct < 400);
		CHECK(num(s, "rss_bytes") > 0);
		CHECK(num(s, "procs") >= 1);
		sum_pct += pct;
		above += pct > 50;
		n++;
	}
	/* What the task got in the end: less than one CPU when the machine is
	 * busy with other work. */
	const art_result *r = &ev->res;
	double got = 100.0 * (double)(r->user_ns + r->system_ns) / (double)r->wall_ns;
	double mean = n ? sum_pct / (double)n : 0;
	fprintf(stderr, "# %s: %zu samples, mean cpu %.1f%% (the task got %.1f%%), %d above 50%%%s\n",
		id, n, mean, got, above, from_cgroup ? " (cgroup)" : "");
	CHECK(n >= 6 && n <= 14);
	CHECK_EQ_INT(r->samples, n);
	/* Busy throughout: the samples read about one CPU, as much as the
	 * task got over its life. */
	CHECK(mean > got - 25 && mean < got + 25);
	if (got > 75) {
		CHECK(mean > 50);
		CHECK(r->peak_cpu_pct > 50);
	}
	CHECK(ev->res.peak_rss_bytes > 0);
	CHECK(ev->res.peak_procs >= 1);
}

TEST(samples_of_a_busy_task)
{
	static events ev;
	art_runtime *rt = new_rt(&ev, 100 * NSEC_PER_MSEC, 0);
	submit(rt, spin_spec("busy", 1000));
	run_all(rt);
	CHECK_EQ_INT(ev.res.end, ART_END_EXITED);
	CHECK_EQ_INT(ev.res.exit_code, 0);
	check_busy_samples(&ev, "busy", false);
	CHECK_EQ_STR(sequence(&ev, "busy") + strlen(sequence(&ev, "busy")) - 19,
		     "running>done exited");
	/* The first events and the last: samples come between started and
	 * the end. */
	CHECK(strncmp(sequence(&ev, "busy"), "queued queued>running started sample", 36) == 0);
	/* The exited event and the record carry the peaks. */
	json_t *x = ev.v[ev.n - 1];
	CHECK(num(x, "peak_rss_bytes") > 0);
	CHECK(fabs(num(x, "peak_cpu_pct") - ev.res.peak_cpu_pct) < 0.06);
	json_t *rec = json_loads(ev.record, 0, NULL);
	CHECK(rec != NULL);
	CHECK(num(rec, "peak_rss_bytes") > 0);
	CHECK(num(rec, "peak_procs") >= 1);
	CHECK(fabs(num(rec, "peak_cpu_pct") - ev.res.peak_cpu_pct) < 0.06);
	json_decref(rec);
	art_runtime_free(rt);
	free_events(&ev);
}

TEST(samples_of_a_task_in_a_cgroup)
{
	static events ev;
	art_runtime *rt = new_rt(&ev, 100 * NSEC_PER_MSEC, 0);
	art_spec *s = spin_spec("cg", 1000);
	CHECK_EQ_INT(art_spec_set_limit(s, ART_LIMIT_MEMORY, 512ull << 20), 0);
	submit(rt, s);
	run_all(rt);
	if (!ev.res.usage_from_cgroup) {
		art_runtime_free(rt);
		SKIP("no usable cgroup here");
	}
	CHECK_EQ_INT(ev.res.exit_code, 0);
	check_busy_samples(&ev, "cg", true);
	art_runtime_free(rt);
	free_events(&ev);
}

TEST(samples_count_the_processes_of_a_tree)
{
	static events ev;
	art_runtime *rt = new_rt(&ev, 50 * NSEC_PER_MSEC, 0);
	/* sh, and three sleeps below it (one in a subshell of its own). */
	const char *argv[] = { "sh", "-c", "sleep 0.6 & sleep 0.6 & (sleep 0.6; :) & wait", NULL };
	submit(rt, spec_of("tree", argv));
	run_all(rt);
	CHECK(ev.res.samples >= 3);
	fprintf(stderr, "# peak_procs %u, peak_rss %llu\n", ev.res.peak_procs,
		(unsigned long long)ev.res.peak_rss_bytes);
	CHECK(ev.res.peak_procs >= 5 && ev.res.peak_procs <= 6);
	art_runtime_free(rt);
	free_events(&ev);
}

TEST(no_sample_for_a_short_task)
{
	static events ev;
	art_runtime *rt = new_rt(&ev, 10 * NSEC_PER_SEC, 0);
	const char *argv[] = { "true", NULL };
	submit(rt, spec_of("short", argv));
	run_all(rt);
	CHECK_EQ_INT(ev.res.samples, 0);
	CHECK(strstr(ev.record, "peak_") == NULL);
	/* Nothing runs: the runtime is idle, no tick keeps it up. */
	CHECK_EQ_STR(sequence(&ev, NULL), "queued queued>running started running>done exited");
	art_runtime_free(rt);
	free_events(&ev);
}

/* ------------------------------------------------------------ jsonw */

TEST(jsonw_writes_one_line_objects)
{
	jsonw w = { 0 };
	for (int round = 0; round < 2; round++) {
		jsonw_begin(&w);
		jsonw_str(&w, "s", "a\"b\\c\n\t\x01/\xc3\xa9");
		jsonw_strn(&w, "bad", "x\xff\xc3", 3);
		jsonw_str(&w, "null", NULL);
		jsonw_int(&w, "neg", -42);
		jsonw_uint(&w, "big", UINT64_MAX);
		jsonw_bool(&w, "t", true);
		jsonw_fixed(&w, "f", 1234567, 6);
		jsonw_fixed(&w, "g", -5, 1);
		jsonw_fixed(&w, "h", INT64_MIN, 9);
		jsonw_obj_begin(&w, "o");
		jsonw_int(&w, "x", 1);
		jsonw_obj_end(&w);
		jsonw_obj_begin(&w, "e");
		jsonw_obj_end(&w);
		jsonw_null(&w, "z");
		CHECK_EQ_STR(jsonw_end(&w),
			     "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001/\xc3\xa9\",\"bad\":\"x\xef\xbf\xbd\xef\xbf\xbd\","
			     "\"null\":null,\"neg\":-42,\"big\":18446744073709551615,\"t\":true,"
			     "\"f\":1.234567,\"g\":-0.5,\"h\":-9223372036.854775808,\"o\":{\"x\":1},"
			     "\"e\":{},\"z\":null}");
	}
	/* A large string grows the buffer. */
	char *big = malloc(100000);
	CHECK(big != NULL);
	memset(big, 'a', 99999);
	big[99999] = 0;
	jsonw_begin(&w);
	jsonw_str(&w, "k", big);
	const char *line = jsonw_end(&w);
	CHECK(line && strlen(line) == 99999 + 8);
	free(big);
	jsonw_free(&w);
}

TEST(jsonw_ignores_the_locale)
{
	if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8"))
		SKIP("no locale with a decimal comma");
	jsonw w = { 0 };
	jsonw_begin(&w);
	jsonw_fixed(&w, "ts", 1700000000123456, 6);
	CHECK_EQ_STR(jsonw_end(&w), "{\"ts\":1700000000.123456}");
	jsonw_free(&w);
}
