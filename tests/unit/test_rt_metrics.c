/* SPDX-License-Identifier: MIT */
/*
 * The runtime's metrics through art_runtime_metrics: exact counter values
 * after tasks that exit 0, exit 1, time out and fail to exec; retries;
 * the per-group gauges while tasks run, and their series cap; promtool's
 * verdict on the text; expositions from another thread while tasks run
 * (run it under ASan: make check-asan).
 */
#include <agentrt.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/time.h"
#include "tap.h"

/* ------------------------------------------------------------ helpers */

static art_runtime *new_rt(unsigned max_running)
{
	art_runtime *rt = NULL;
	art_error err = { 0 };
	art_runtime_config cfg = { .max_running = max_running };
	int r = art_runtime_new(&cfg, &rt, &err);
	if (r < 0) {
		fprintf(stderr, "# art_runtime_new: %d %s\n", r, err.msg);
		exit(1);
	}
	return rt;
}

/* Submits argv (NULL-terminated) with a group (NULL: none), a timeout (0:
 * none) and retries. */
static void submit(art_runtime *rt, const char *const *argv, const char *group,
		   int64_t timeout_ns, unsigned retries)
{
	art_spec *s = NULL;
	art_error err = { 0 };
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	if (group)
		CHECK_EQ_INT(art_spec_set_group(s, group), 0);
	if (timeout_ns) {
		CHECK_EQ_INT(art_spec_set_timeout(s, timeout_ns), 0);
		CHECK_EQ_INT(art_spec_set_grace(s, 0), 0);
	}
	if (retries)
		CHECK_EQ_INT(art_spec_set_retries(s, retries), 0);
	int r = art_runtime_submit(rt, s, NULL, NULL, &err);
	if (r < 0) {
		fprintf(stderr, "# art_runtime_submit: %d %s\n", r, err.msg);
		exit(1);
	}
	art_spec_free(s);
}

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void run_to_end(art_runtime *rt)
{
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
}

static char *expose(art_runtime *rt, int format)
{
	char *text = NULL;
	size_t len = 0;
	CHECK_EQ_INT(art_runtime_metrics(rt, format, &text, &len), 0);
	CHECK(text != NULL);
	CHECK_EQ_INT(strlen(text), len);
	return text;
}

/* The line of text that starts with "series " (a whole line), or fails. */
static void has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == 0))
			return;
	fprintf(stderr, "# no line \"%s\" in:\n%s", line, text);
	exit(1);
}

/* The value of the sample line that starts with "series ", or fails. */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	fprintf(stderr, "# no sample %s in:\n%s", series, text);
	exit(1);
}

static size_t count_prefix(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += strncmp(p, prefix, len) == 0;
	return n;
}

/* ------------------------------------------------------------ promtool */

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

/* `promtool check metrics` on text: 0 when it parses and lints clean. */
static int promtool_check(const char *text)
{
	char dir[] = "/tmp/agentrt-rtm-XXXXXX";
	CHECK(mkdtemp(dir));
	char path[64], log[64], cmd[256];
	snprintf(path, sizeof(path), "%s/in.prom", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	FILE *f = fopen(path, "we");
	CHECK(f);
	CHECK_EQ_INT(fputs(text, f) >= 0, 1);
	CHECK_EQ_INT(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' > '%s' 2>&1", path, log);
	int status = system(cmd);
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	if (rc != 0) {
		fprintf(stderr, "# promtool exited %d\n", rc);
		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' '%s' >&2", log);
		CHECK(system(cmd) >= 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ_INT(system(cmd), 0);
	return rc;
}

/* ------------------------------------------------------------ tests */

/* One task of each end: exit 0, exit 1, a timeout, an exec failure. */
static art_runtime *four_ends(void)
{
	art_runtime *rt = new_rt(4);
	submit(rt, ARGV("true"), NULL, 0, 0);
	submit(rt, ARGV("sh", "-c", "exit 1"), NULL, 0, 0);
	submit(rt, ARGV("sleep", "10"), NULL, 100 * NSEC_PER_MSEC, 0);
	submit(rt, ARGV("/nonexistent/agentrt-test"), NULL, 0, 0);
	run_to_end(rt);
	return rt;
}

TEST(counters_after_four_ends)
{
	art_runtime *rt = four_ends();
	char *text = expose(rt, ART_METRICS_PROMETHEUS);
	has_line(text, "agentrt_tasks_submitted_total 4");
	has_line(text, "agentrt_tasks_started_total 3");
	has_line(text, "agentrt_tasks_ended_total{reason=\"exited\"} 2");
	has_line(text, "agentrt_tasks_ended_total{reason=\"timeout\"} 1");
	has_line(text, "agentrt_tasks_ended_total{reason=\"start_failed\"} 1");
	has_line(text, "agentrt_tasks_ended_total{reason=\"cancelled\"} 0");
	has_line(text, "agentrt_tasks_ended_total{reason=\"skipped\"} 0");
	has_line(text, "agentrt_tasks_failed_total 3");
	has_line(text, "agentrt_spawn_failures_total{stage=\"exec\"} 1");
	has_line(text, "agentrt_task_retries_total 0");
	has_line(text, "agentrt_oom_kills_total 0");
	has_line(text, "agentrt_task_duration_seconds_count 3");
	has_line(text, "agentrt_task_queue_wait_seconds_count 3");
	/* The timeout's try lasted more than 100 ms, the others less than 10 s
	 * (however slow the machine, or valgrind). */
	CHECK(value_of(text, "agentrt_task_duration_seconds_bucket{le=\"0.1\"}") <= 2);
	has_line(text, "agentrt_task_duration_seconds_bucket{le=\"10\"} 3");
	has_line(text, "agentrt_task_duration_seconds_bucket{le=\"+Inf\"} 3");
	has_line(text, "agentrt_tasks_running{group=\"default\"} 0");
	has_line(text, "agentrt_tasks_queued{group=\"default\"} 0");
	has_line(text, "agentrt_tasks_frozen 0");
	has_line(text, "agentrt_tasks_held 0");
	has_line(text, "agentrt_admission_paused 0");
	has_line(text, "agentrt_preemptions_total 0");
	has_line(text, "agentrt_orphans_killed_total 0");
	CHECK(strstr(text, "\nagentrt_output_pool_hits_total "));
	CHECK(strstr(text, "\nagentrt_output_pool_misses_total "));
	CHECK(strstr(text, "\nprocess_resident_memory_bytes "));
	CHECK(strstr(text, "\nprocess_open_fds "));
	/* No task id as a label, ever. */
	CHECK(!strstr(text, "id=\""));
	free(text);
	art_runtime_free(rt);
}

TEST(openmetrics_format)
{
	art_runtime *rt = four_ends();
	char *text = expose(rt, ART_METRICS_OPENMETRICS);
	has_line(text, "# TYPE agentrt_tasks_ended counter");
	has_line(text, "agentrt_tasks_ended_total{reason=\"timeout\"} 1");
	has_line(text, "# UNIT agentrt_task_duration_seconds seconds");
	has_line(text, "agentrt_task_duration_seconds_bucket{le=\"+Inf\"} 3");
	CHECK(value_of(text, "agentrt_task_duration_seconds_bucket{le=\"0.05\"}") <= 2);
	size_t len = strlen(text);
	CHECK(len > 6 && strcmp(text + len - 6, "# EOF\n") == 0);
	free(text);
	char *out = NULL;
	CHECK_EQ_INT(art_runtime_metrics(rt, 2, &out, NULL), -EINVAL);
	CHECK(out == NULL);
	art_runtime_free(rt);
}

TEST(promtool_accepts_the_runtime_metrics)
{
	if (!have_promtool())
		SKIP("promtool not installed (Debian package prometheus)");
	art_runtime *rt = four_ends();
	char *text = expose(rt, ART_METRICS_PROMETHEUS);
	int rc = promtool_check(text);
	if (rc)
		fprintf(stderr, "%s", text);
	CHECK_EQ_INT(rc, 0);
	free(text);
	art_runtime_free(rt);
}

TEST(retries_are_counted_per_try)
{
	art_runtime *rt = new_rt(2);
	submit(rt, ARGV("sh", "-c", "exit 3"), NULL, 0, 2);
	submit(rt, ARGV("/nonexistent/agentrt-test"), NULL, 0, 1);
	run_to_end(rt);
	char *text = expose(rt, ART_METRICS_PROMETHEUS);
	has_line(text, "agentrt_tasks_submitted_total 2");
	has_line(text, "agentrt_task_retries_total 3");
	has_line(text, "agentrt_tasks_started_total 3");
	has_line(text, "agentrt_spawn_failures_total{stage=\"exec\"} 2");
	has_line(text, "agentrt_tasks_ended_total{reason=\"exited\"} 1");
	has_line(text, "agentrt_tasks_ended_total{reason=\"start_failed\"} 1");
	has_line(text, "agentrt_tasks_failed_total 2");
	has_line(text, "agentrt_task_duration_seconds_count 3");
	/* The wait is to the first start only. */
	has_line(text, "agentrt_task_queue_wait_seconds_count 1");
	has_line(text, "agentrt_tasks_queued{group=\"default\"} 0");
	free(text);
	art_runtime_free(rt);
}

/* Steps the loop until n tasks run (or 10 s pass). */
static void step_until_running(art_runtime *rt, unsigned n)
{
	int64_t end = mono_ns() + 10 * NSEC_PER_SEC;
	art_runtime_stats st;
	do {
		CHECK(art_runtime_step(rt, 10) >= 0);
		art_runtime_stats_get(rt, &st);
	} while (st.running < n && mono_ns() < end);
	CHECK_EQ_INT(st.running, n);
}

TEST(group_gauges_follow_the_tasks)
{
	art_runtime *rt = new_rt(3);
	submit(rt, ARGV("sleep", "30"), "a", 0, 0);
	submit(rt, ARGV("sleep", "30"), "a", 0, 0);
	submit(rt, ARGV("sleep", "30"), "b", 0, 0);
	submit(rt, ARGV("sleep", "30"), "b", 0, 0);
	step_until_running(rt, 3);
	char *text = expose(rt, ART_METRICS_PROMETHEUS);
	/* Fair share: one of each first, then either. */
	CHECK(strstr(text, "agentrt_tasks_running{group=\"a\"} 2\n") ||
	      strstr(text, "agentrt_tasks_running{group=\"b\"} 2\n"));
	CHECK(strstr(text, "agentrt_tasks_queued{group=\"a\"} 1\n") ||
	      strstr(text, "agentrt_tasks_queued{group=\"b\"} 1\n"));
	has_line(text, "agentrt_tasks_started_total 3");
	free(text);
	art_runtime_cancel_all(rt);
	run_to_end(rt);
	text = expose(rt, ART_METRICS_PROMETHEUS);
	has_line(text, "agentrt_tasks_running{group=\"a\"} 0");
	has_line(text, "agentrt_tasks_running{group=\"b\"} 0");
	has_line(text, "agentrt_tasks_queued{group=\"a\"} 0");
	has_line(text, "agentrt_tasks_queued{group=\"b\"} 0");
	has_line(text, "agentrt_tasks_ended_total{reason=\"cancelled\"} 4");
	free(text);
	art_runtime_free(rt);
}

/* Dependencies: a held task is queued and held until its dependency ends. */
TEST(held_tasks)
{
	art_runtime *rt = new_rt(2);
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, ARGV("sleep", "30")), 0);
	CHECK_EQ_INT(art_spec_set_id(s, "first"), 0);
	CHECK_EQ_INT(art_runtime_submit(rt, s, NULL, NULL, NULL), 0);
	art_spec_free(s);
	s = NULL;
	const char *json = "{\"cmd\":[\"true\"],\"depends_on\":[\"first\"]}";
	CHECK_EQ_INT(art_spec_from_json(json, strlen(json), &s, NULL), 0);
	CHECK_EQ_INT(art_runtime_submit(rt, s, NULL, NULL, NULL), 0);
	art_spec_free(s);
	step_until_running(rt, 1);
	char *text = expose(rt, ART_METRICS_PROMETHEUS);
	has_line(text, "agentrt_tasks_held 1");
	has_line(text, "agentrt_tasks_queued{group=\"default\"} 1");
	has_line(text, "agentrt_tasks_running{group=\"default\"} 1");
	free(text);
	art_runtime_cancel_all(rt);
	run_to_end(rt);
	text = expose(rt, ART_METRICS_PROMETHEUS);
	has_line(text, "agentrt_tasks_held 0");
	has_line(text, "agentrt_tasks_queued{group=\"default\"} 0");
	free(text);
	art_runtime_free(rt);
}

/* Groups past the cap are counted together, and the series stay bounded. */
TEST(group_series_are_capped)
{
	art_runtime *rt = new_rt(16);
	for (int i = 0; i < 200; i++) {
		char group[32];
		snprintf(group, sizeof(group), "g%d", i);
		submit(rt, ARGV("true"), group, 0, 0);
	}
	run_to_end(rt);
	char *text = expose(rt, ART_METRICS_PROMETHEUS);
	CHECK_EQ_INT(count_prefix(text, "agentrt_tasks_running{"), 129);
	CHECK_EQ_INT(count_prefix(text, "agentrt_tasks_queued{"), 129);
	has_line(text, "agentrt_tasks_running{group=\"g0\"} 0");
	has_line(text, "agentrt_tasks_running{group=\"g127\"} 0");
	has_line(text, "agentrt_tasks_running{group=\"_other\"} 0");
	CHECK(!strstr(text, "group=\"g128\""));
	has_line(text, "agentrt_tasks_ended_total{reason=\"exited\"} 200");
	free(text);
	art_runtime_free(rt);
}

typedef struct scraper {
	art_runtime *rt;
	atomic_bool stop;
	unsigned n;
} scraper;

static void *scrape_main(void *arg)
{
	scraper *s = arg;
	while (!atomic_load(&s->stop)) {
		char *text = NULL;
		int fmt = s->n % 2 ? ART_METRICS_OPENMETRICS : ART_METRICS_PROMETHEUS;
		if (art_runtime_metrics(s->rt, fmt, &text, NULL) < 0 || !strstr(text, "agentrt_"))
			abort();
		free(text);
		s->n++;
	}
	return NULL;
}

TEST(exposition_from_another_thread)
{
	art_runtime *rt = new_rt(16);
	scraper s = { .rt = rt };
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		CHECK_EQ_INT(pthread_create(&th[i], NULL, scrape_main, &s), 0);
	for (int i = 0; i < 300; i++) {
		char group[16];
		snprintf(group, sizeof(group), "g%d", i % 7);
		if (i % 3 == 0)
			submit(rt, ARGV("sh", "-c", "echo out; exit 1"), group, 0, 1);
		else
			submit(rt, ARGV("true"), group, 0, 0);
	}
	run_to_end(rt);
	atomic_store(&s.stop, true);
	for (int i = 0; i < 2; i++)
		CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
	CHECK(s.n > 0);
	char *text = expose(rt, ART_METRICS_PROMETHEUS);
	has_line(text, "agentrt_tasks_submitted_total 300");
	has_line(text, "agentrt_tasks_ended_total{reason=\"exited\"} 300");
	has_line(text, "agentrt_tasks_failed_total 100");
	has_line(text, "agentrt_task_retries_total 100");
	has_line(text, "agentrt_tasks_started_total 400");
	for (int i = 0; i < 7; i++) {
		char line[64];
		snprintf(line, sizeof(line), "agentrt_tasks_running{group=\"g%d\"} 0", i);
		has_line(text, line);
	}
	free(text);
	art_runtime_free(rt);
}
