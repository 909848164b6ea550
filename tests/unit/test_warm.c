/* SPDX-License-Identifier: MIT */
/*
 * Sandboxes prepared ahead (config.warm_sandboxes) and the end of a
 * sandboxed task reported before its namespaces are torn down. The
 * prepared path must be indistinguishable from a cold start: the same
 * argv, environment, cwd, stdio and exit status, the same start failures,
 * and no process left behind.
 */
#include <agentrt.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

typedef struct rec {
	int calls;
	art_result res;
	char out[256];
} rec;

static void on_exit_cb(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)rt;
	(void)ud;
	rec *r = art_task_userdata(task);
	r->calls++;
	r->res = *res;
	size_t n = res->stdout_tail_len < sizeof(r->out) - 1 ? res->stdout_tail_len
							     : sizeof(r->out) - 1;
	memcpy(r->out, res->stdout_tail ? res->stdout_tail : "", n);
	r->out[n] = 0;
}

static art_runtime *new_rt(unsigned warm)
{
	art_runtime_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_running = 1;
	cfg.warm_sandboxes = warm;
	cfg.on_exit = on_exit_cb;
	art_runtime *rt = NULL;
	art_error err;
	if (art_runtime_new(&cfg, &rt, &err) < 0) {
		printf("# art_runtime_new: %s\n", err.msg);
		exit(1);
	}
	return rt;
}

static art_spec *sandboxed(const char *const *argv)
{
	art_spec *s;
	CHECK(art_spec_new(&s) == 0);
	CHECK(art_spec_set_argv(s, argv) == 0);
	CHECK(art_spec_set_sandbox(s, ART_SANDBOX_FULL) == 0);
	CHECK(art_spec_set_stdin(s, ART_STDIN_NULL, NULL, 0, NULL) == 0);
	return s;
}

/* Runs one task to its end. */
static void run(art_runtime *rt, const art_spec *s, rec *r)
{
	memset(r, 0, sizeof(*r));
	art_error err;
	if (art_runtime_submit(rt, s, r, NULL, &err) < 0) {
		printf("# submit: %s\n", err.msg);
		exit(1);
	}
	while (!r->calls)
		if (art_runtime_step(rt, 5000) < 0)
			exit(1);
}

static uint64_t warm_starts(art_runtime *rt)
{
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	return st.warm_starts;
}

/* Children of this process, from /proc (every thread's list). */
static int count_children(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[300], buf[4096];
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = 0;
		for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void require_sandbox(void)
{
	art_runtime *rt = new_rt(0);
	static const char *const argv[] = { "/bin/true", NULL };
	art_spec *s = sandboxed(argv);
	rec r;
	run(rt, s, &r);
	art_spec_free(s);
	art_runtime_free(rt);
	if (r.res.end != ART_END_EXITED)
		SKIP("no sandbox here (user namespaces unavailable?)");
}

TEST(prepared_sandbox_runs_the_same_task)
{
	require_sandbox();
	art_runtime *rt = new_rt(1);
	static const char *const argv[] = { "/bin/sh", "-c", "echo \"$FOO $1\"; pwd; exit 3",
					    "sh", "arg", NULL };
	art_spec *s = sandboxed(argv);
	CHECK(art_spec_env_set(s, "FOO", "bar") == 0);
	CHECK(art_spec_set_cwd(s, "/tmp") == 0);
	for (int i = 0; i < 4; i++) {
		rec r;
		run(rt, s, &r);
		CHECK_EQ_INT(r.res.end, ART_END_EXITED);
		CHECK_EQ_INT(r.res.exit_code, 3);
		CHECK_EQ_STR(r.out, "bar arg\n/tmp\n");
		CHECK_EQ_INT(r.res.level, ART_SANDBOX_FULL);
		/* The first start is cold; it prepares the next one's sandbox. */
		CHECK_EQ_INT((int)warm_starts(rt), i);
	}
	art_spec_free(s);
	art_runtime_free(rt);
	CHECK_EQ_INT(count_children(), 0);
}

TEST(prepared_sandbox_reports_exec_failure_once)
{
	require_sandbox();
	art_runtime *rt = new_rt(1);
	static const char *const ok[] = { "/bin/true", NULL };
	static const char *const missing[] = { "/nonexistent/tool", NULL };
	art_spec *a = sandboxed(ok), *b = sandboxed(missing);
	rec r;
	run(rt, a, &r);
	CHECK_EQ_INT(r.res.end, ART_END_EXITED);
	run(rt, b, &r); /* same sandbox configuration: the prepared one */
	CHECK_EQ_INT(r.res.end, ART_END_START_FAILED);
	CHECK_EQ_INT(r.res.start_stage, ART_STAGE_EXEC);
	CHECK_EQ_INT(r.res.start_errno, ENOENT);
	CHECK_EQ_INT((int)warm_starts(rt), 0);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT((int)st.start_failures, 1);
	art_spec_free(a);
	art_spec_free(b);
	art_runtime_free(rt);
	CHECK_EQ_INT(count_children(), 0);
}

TEST(prepared_sandbox_only_for_the_same_configuration)
{
	require_sandbox();
	art_runtime *rt = new_rt(1);
	static const char *const argv[] = { "/bin/hostname", NULL };
	art_spec *a = sandboxed(argv), *b = sandboxed(argv);
	CHECK(art_spec_set_hostname(b, "other") == 0);
	rec r;
	run(rt, a, &r);
	CHECK_EQ_STR(r.out, "agentrt\n");
	run(rt, b, &r); /* a different view: not the prepared one */
	CHECK_EQ_STR(r.out, "other\n");
	CHECK_EQ_INT((int)warm_starts(rt), 0);
	run(rt, a, &r);
	CHECK_EQ_STR(r.out, "agentrt\n");
	CHECK_EQ_INT((int)warm_starts(rt), 1);
	art_spec_free(a);
	art_spec_free(b);
	art_runtime_free(rt);
}

TEST(prepared_sandbox_timeout_and_fresh_state)
{
	require_sandbox();
	art_runtime *rt = new_rt(1);
	/* Each prepared sandbox serves one task: a file left in /tmp by one
	 * task is not there for the next. */
	static const char *const mark[] = { "/bin/sh", "-c",
					    "test -e /tmp/mark && echo seen; touch /tmp/mark", NULL };
	art_spec *s = sandboxed(mark);
	rec r;
	for (int i = 0; i < 3; i++) {
		run(rt, s, &r);
		CHECK_EQ_INT(r.res.end, ART_END_EXITED);
		CHECK_EQ_STR(r.out, "");
	}
	static const char *const sleeper[] = { "/bin/sleep", "10", NULL };
	art_spec *t = sandboxed(sleeper);
	CHECK(art_spec_set_timeout(t, 200 * 1000000LL) == 0);
	CHECK(art_spec_set_grace(t, 100 * 1000000LL) == 0);
	run(rt, t, &r);
	run(rt, t, &r); /* the prepared one */
	CHECK_EQ_INT(r.res.end, ART_END_TIMEOUT);
	CHECK((int)warm_starts(rt) >= 3);
	art_spec_free(s);
	art_spec_free(t);
	art_runtime_free(rt);
	CHECK_EQ_INT(count_children(), 0);
}

TEST(setting_to_zero_drops_prepared_sandboxes)
{
	require_sandbox();
	art_runtime *rt = new_rt(1);
	static const char *const argv[] = { "/bin/true", NULL };
	art_spec *s = sandboxed(argv);
	rec r;
	run(rt, s, &r);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT((int)st.warm_ready, 1);
	CHECK(count_children() >= 1);
	art_runtime_set_warm_sandboxes(rt, 0);
	art_runtime_step(rt, 0);
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT((int)st.warm_ready, 0);
	run(rt, s, &r);
	CHECK_EQ_INT(r.res.end, ART_END_EXITED);
	CHECK_EQ_INT((int)warm_starts(rt), 0);
	art_spec_free(s);
	art_runtime_free(rt);
	CHECK_EQ_INT(count_children(), 0);
}
