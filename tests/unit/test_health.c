/* SPDX-License-Identifier: MIT */
/*
 * A task's health through the public API (docs/supervision.md): the notify
 * channel ($AGENTRT_NOTIFY_FD: READY=1, STATUS=, WATCHDOG=1), the watchdog,
 * the exec probe, and what they make of the task's end.
 */
#include <agentrt.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.h"
#include "tap.h"

#define MS NSEC_PER_MSEC
#define SEC NSEC_PER_SEC

/* ------------------------------------------------------------ helpers */

typedef struct rec {
	int calls;
	art_result res;
	char out[4096]; /* the stdout tail, NUL-terminated */
	int64_t exit_ns;
} rec;

static void rec_on_exit(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)rt;
	(void)ud;
	rec *r = art_task_userdata(task);
	CHECK(r != NULL);
	r->calls++;
	r->res = *res;
	size_t n = res->stdout_tail_len < sizeof(r->out) - 1 ? res->stdout_tail_len
							    : sizeof(r->out) - 1;
	if (n)
		memcpy(r->out, res->stdout_tail, n);
	r->out[n] = 0;
	r->res.stdout_tail = NULL;
	r->res.stderr_tail = NULL;
	r->exit_ns = mono_ns();
}

static art_runtime *new_rt(void)
{
	art_runtime_config cfg = { .on_exit = rec_on_exit };
	art_runtime *rt = NULL;
	art_error err;
	art_error_clear(&err);
	int r = art_runtime_new(&cfg, &rt, &err);
	if (r < 0) {
		fprintf(stderr, "# art_runtime_new: %d %s\n", r, err.msg);
		exit(1);
	}
	return rt;
}

static art_spec *sh_spec(const char *script)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	return s;
}

/* With want_task, the caller holds a reference to the task. */
static art_task *submit(art_runtime *rt, art_spec *spec, rec *r, bool want_task)
{
	art_error err;
	art_error_clear(&err);
	art_task *t = NULL;
	int e = art_runtime_submit(rt, spec, r, want_task ? &t : NULL, &err);
	if (e < 0) {
		fprintf(stderr, "# art_runtime_submit: %d %s\n", e, err.msg);
		exit(1);
	}
	art_spec_free(spec);
	return t;
}

/* One task on a fresh runtime, to its end; returns its wall time. */
static int64_t run1(art_spec *spec, rec *r)
{
	art_runtime *rt = new_rt();
	int64_t start = mono_ns();
	submit(rt, spec, r, false);
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
	art_runtime_free(rt);
	CHECK_EQ_INT(r->calls, 1);
	return r->exit_ns - start;
}

static void fail_end(const rec *r, art_end want)
{
	if (r->res.end != want)
		fprintf(stderr, "# end %s, wanted %s (exit %d, signal %d, restarts %u)\n",
			art_end_name(r->res.end), art_end_name(want), r->res.exit_code,
			r->res.term_signal, r->res.restarts);
	CHECK(r->res.end == want);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/agentrt-health-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
}

/* ------------------------------------------------------------ notify */

TEST(notify_ready_and_status)
{
	art_spec *s = sh_spec("echo READY=1 >&$AGENTRT_NOTIFY_FD; "
			      "echo STATUS=serving >&$AGENTRT_NOTIFY_FD; sleep 0.2");
	CHECK_EQ_INT(art_spec_set_notify(s, 1), 0);
	rec r = { 0 };
	run1(s, &r);
	fail_end(&r, ART_END_EXITED);
	CHECK_EQ_INT(r.res.exit_code, 0);
	CHECK_EQ_INT(r.res.ready, 1);
	CHECK_EQ_STR(r.res.status_text, "serving");
}

/* A task that says when it is ready and never does is not ready. */
TEST(notify_without_ready)
{
	art_spec *s = sh_spec("echo STATUS=starting >&$AGENTRT_NOTIFY_FD; sleep 0.1");
	CHECK_EQ_INT(art_spec_set_notify(s, 1), 0);
	rec r = { 0 };
	run1(s, &r);
	fail_end(&r, ART_END_EXITED);
	CHECK_EQ_INT(r.res.ready, 0);
	CHECK_EQ_STR(r.res.status_text, "starting");
}

/* Lines split across writes are put together; a line past 4 KiB, unknown
 * assignments and a last line without its newline are ignored; the last
 * STATUS= wins and is truncated to the field. */
TEST(notify_lines)
{
	art_spec *s = sh_spec(
		"fd=$AGENTRT_NOTIFY_FD; "
		"printf 'STAT' >&$fd; sleep 0.05; printf 'US=one\\nBOGUS=1\\nREADY=0\\n' >&$fd; "
		"long=$(head -c 5000 /dev/zero | tr '\\0' x); "
		"printf 'STATUS=%s\\n' \"$long\" >&$fd; "
		"printf 'STATUS=%s\\n' \"$(head -c 300 /dev/zero | tr '\\0' y)\" >&$fd; "
		"printf 'STATUS=two\\nREADY=1\\nSTATUS=half' >&$fd; sleep 0.1");
	CHECK_EQ_INT(art_spec_set_notify(s, 1), 0);
	rec r = { 0 };
	run1(s, &r);
	fail_end(&r, ART_END_EXITED);
	CHECK_EQ_INT(r.res.exit_code, 0);
	CHECK_EQ_INT(r.res.ready, 1);
	CHECK_EQ_STR(r.res.status_text, "two");

	s = sh_spec("printf 'STATUS=%s\\n' \"$(head -c 300 /dev/zero | tr '\\0' y)\" "
		    ">&$AGENTRT_NOTIFY_FD");
	CHECK_EQ_INT(art_spec_set_notify(s, 1), 0);
	rec r2 = { 0 };
	run1(s, &r2);
	CHECK_EQ_INT(strlen(r2.res.status_text), sizeof(r2.res.status_text) - 1);
	CHECK(strspn(r2.res.status_text, "y") == sizeof(r2.res.status_text) - 1);
}

/* Lines written just before the exit still reach the result. */
TEST(notify_read_at_exit)
{
	art_spec *s = sh_spec("echo STATUS=bye >&$AGENTRT_NOTIFY_FD");
	CHECK_EQ_INT(art_spec_set_notify(s, 1), 0);
	rec r = { 0 };
	run1(s, &r);
	fail_end(&r, ART_END_EXITED);
	CHECK_EQ_STR(r.res.status_text, "bye");
}

TEST(no_notify_no_variable)
{
	unsetenv("AGENTRT_NOTIFY_FD");
	art_spec *s = sh_spec("test -z \"${AGENTRT_NOTIFY_FD+x}\"");
	rec r = { 0 };
	run1(s, &r);
	fail_end(&r, ART_END_EXITED);
	CHECK_EQ_INT(r.res.exit_code, 0);
	CHECK_EQ_INT(r.res.ready, 1);

	/* A probe alone opens no channel either. */
	const char *probe[] = { "true", NULL };
	s = sh_spec("test -z \"${AGENTRT_NOTIFY_FD+x}\"");
	CHECK_EQ_INT(art_spec_set_health(s, probe, 0, 0, 0), 0);
	rec r2 = { 0 };
	run1(s, &r2);
	fail_end(&r2, ART_END_EXITED);
	CHECK_EQ_INT(r2.res.exit_code, 0);
}

/* The variable is the runtime's: neither the host's nor the spec's wins. */
TEST(notify_variable_is_ours)
{
	setenv("AGENTRT_NOTIFY_FD", "99", 1);
	art_spec *s = sh_spec("echo \"fd=$AGENTRT_NOTIFY_FD\"; echo STATUS=ok >&$AGENTRT_NOTIFY_FD");
	CHECK_EQ_INT(art_spec_env_set(s, "AGENTRT_NOTIFY_FD", "98"), 0);
	CHECK_EQ_INT(art_spec_set_notify(s, 1), 0);
	rec r = { 0 };
	run1(s, &r);
	fail_end(&r, ART_END_EXITED);
	CHECK_EQ_INT(r.res.exit_code, 0);
	CHECK(strstr(r.out, "fd=99") == NULL && strstr(r.out, "fd=98") == NULL);
	CHECK_EQ_STR(r.res.status_text, "ok");
	unsetenv("AGENTRT_NOTIFY_FD");
}

/* The set of numbers `ls /proc/$$/fd` printed: the shell's descriptors. */
static unsigned long fd_bits(const char *out)
{
	unsigned long bits = 0;
	for (const char *p = out; *p;) {
		char *end;
		long n = strtol(p, &end, 10);
		if (end == p) {
			p++;
			continue;
		}
		if (n >= 0 && n < 64)
			bits |= 1UL << n;
		p = end;
	}
	return bits;
}

TEST(notify_fd_is_the_only_extra)
{
	const char *script = "ls /proc/$$/fd; readlink /proc/$$/fd/3; echo \"fd=$AGENTRT_NOTIFY_FD\"";
	rec plain = { 0 }, with = { 0 };
	run1(sh_spec(script), &plain);
	art_spec *s = sh_spec(script);
	CHECK_EQ_INT(art_spec_set_notify(s, 1), 0);
	run1(s, &with);
	CHECK_EQ_INT(plain.res.exit_code, 0);
	CHECK_EQ_INT(with.res.exit_code, 0);
	const char *fdp = strstr(with.out, "fd=");
	CHECK(fdp != NULL);
	int fd = atoi(fdp + 3);
	CHECK(fd >= 3 && fd < 64);
	*strstr(plain.out, "fd=") = 0;
	*(char *)fdp = 0;
	unsigned long a = fd_bits(plain.out), b = fd_bits(with.out);
	if (b != (a | (1UL << fd)) || (a & (1UL << fd)))
		fprintf(stderr, "# without: %s\n# with: %s (fd %d)\n", plain.out, with.out, fd);
	CHECK_EQ_INT(fd, 3);
	CHECK(a == 0x7); /* 0, 1, 2 */
	CHECK(b == 0xf);
	CHECK(strstr(with.out, "pipe:") != NULL);
}

TEST(notify_refused_in_full_sandbox)
{
	art_spec *s = sh_spec("true");
	CHECK_EQ_INT(art_spec_set_sandbox(s, ART_SANDBOX_FULL), 0);
	CHECK_EQ_INT(art_spec_set_watchdog(s, 1 * SEC), 0);
	rec r = { 0 };
	run1(s, &r);
	fail_end(&r, ART_END_START_FAILED);
	CHECK_EQ_INT(r.res.start_errno, EOPNOTSUPP);
	CHECK(r.res.start_stage == ART_STAGE_SANDBOX);
	CHECK(strstr(r.res.start_detail, "not supported") != NULL);
}

/* ------------------------------------------------------------ watchdog */

#define PING_THEN_HANG                                                                     \
	"i=0; while [ $i -lt 10 ]; do echo WATCHDOG=1 >&$AGENTRT_NOTIFY_FD; sleep 0.1; " \
	"i=$((i+1)); done; exec sleep 10"

TEST(watchdog_missed)
{
	art_spec *s = sh_spec(PING_THEN_HANG);
	CHECK_EQ_INT(art_spec_set_watchdog(s, 300 * MS), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 100 * MS), 0);
	rec r = { 0 };
	int64_t wall = run1(s, &r);
	fail_end(&r, ART_END_WATCHDOG);
	/* Alive while it pinged, stopped soon after it stopped. */
	CHECK(wall >= 1000 * MS);
	CHECK(wall < 1600 * MS);
	CHECK_EQ_INT(r.res.restarts, 0);
}

TEST(watchdog_restart_then_give_up)
{
	art_spec *s = sh_spec(PING_THEN_HANG);
	CHECK_EQ_INT(art_spec_set_watchdog(s, 300 * MS), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 100 * MS), 0);
	CHECK_EQ_INT(art_spec_set_restart(s, "on-failure", 1, 60 * SEC), 0);
	CHECK_EQ_INT(art_spec_set_backoff(s, "fixed:0s", 0), 0);
	rec r = { 0 };
	int64_t wall = run1(s, &r);
	fail_end(&r, ART_END_GAVE_UP);
	CHECK_EQ_INT(r.res.restarts, 1);
	CHECK(wall >= 2000 * MS);
	CHECK(wall < 3200 * MS);
}

/* ------------------------------------------------------------ probe */

TEST(probe_unhealthy_after_file_goes)
{
	make_tmpdir();
	char file[128], test_cmd[160];
	snprintf(file, sizeof(file), "%s/ok", tmpdir);
	snprintf(test_cmd, sizeof(test_cmd), "test -f %s", file);
	FILE *f = fopen(file, "w");
	CHECK(f != NULL);
	fclose(f);

	art_spec *s = sh_spec("exec sleep 30");
	const char *probe[] = { "sh", "-c", test_cmd, NULL };
	CHECK_EQ_INT(art_spec_set_health(s, probe, 100 * MS, 1 * SEC, 2), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 100 * MS), 0);
	rec r = { 0 };
	art_runtime *rt = new_rt();
	art_task *t = submit(rt, s, &r, true);
	int64_t start = mono_ns(), removed = 0;
	while (art_task_state_get(t) != ART_TASK_DONE) {
		int64_t now = mono_ns();
		CHECK(now - start < 5 * SEC);
		if (!removed && now - start >= 500 * MS) {
			CHECK(art_task_state_get(t) == ART_TASK_RUNNING);
			CHECK_EQ_INT(unlink(file), 0);
			removed = mono_ns();
		}
		CHECK(art_runtime_step(rt, 10) >= 0);
	}
	CHECK(removed != 0);
	CHECK_EQ_INT(r.calls, 1);
	fail_end(&r, ART_END_UNHEALTHY);
	CHECK_EQ_INT(r.res.ready, 1);
	CHECK(r.exit_ns - removed < 1 * SEC);
	art_task_unref(t);
	art_runtime_free(rt);
	rmdir(tmpdir);
}

/* A probe that hangs past its timeout is killed and fails. */
TEST(probe_timeout_is_failure)
{
	art_spec *s = sh_spec("exec sleep 30");
	const char *probe[] = { "sleep", "10", NULL };
	CHECK_EQ_INT(art_spec_set_health(s, probe, 100 * MS, 100 * MS, 2), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 100 * MS), 0);
	rec r = { 0 };
	int64_t wall = run1(s, &r);
	fail_end(&r, ART_END_UNHEALTHY);
	CHECK_EQ_INT(r.res.ready, 0);
	/* Two rounds of 100 ms waiting and 100 ms probing, then the grace. */
	CHECK(wall >= 400 * MS);
	CHECK(wall < 1500 * MS);
}

/* A probe that cannot run does not pass. */
TEST(probe_exec_failure_is_failure)
{
	art_spec *s = sh_spec("exec sleep 30");
	const char *probe[] = { "/nonexistent/agentrt-probe", NULL };
	CHECK_EQ_INT(art_spec_set_health(s, probe, 50 * MS, 0, 3), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 100 * MS), 0);
	rec r = { 0 };
	int64_t wall = run1(s, &r);
	fail_end(&r, ART_END_UNHEALTHY);
	CHECK(wall < 1500 * MS);
}

/* A passing probe makes the task ready, and the task ends as it ends. */
TEST(probe_pass_ready)
{
	art_spec *s = sh_spec("sleep 0.4; exit 3");
	const char *probe[] = { "true", NULL };
	CHECK_EQ_INT(art_spec_set_health(s, probe, 50 * MS, 0, 0), 0);
	rec r = { 0 };
	run1(s, &r);
	fail_end(&r, ART_END_EXITED);
	CHECK_EQ_INT(r.res.exit_code, 3);
	CHECK_EQ_INT(r.res.ready, 1);
}

/* The probe runs in the task's working directory. */
TEST(probe_in_task_cwd)
{
	make_tmpdir();
	char file[128];
	snprintf(file, sizeof(file), "%s/here", tmpdir);
	FILE *f = fopen(file, "w");
	CHECK(f != NULL);
	fclose(f);
	art_spec *s = sh_spec("sleep 0.4");
	CHECK_EQ_INT(art_spec_set_cwd(s, tmpdir), 0);
	const char *probe[] = { "test", "-f", "here", NULL };
	CHECK_EQ_INT(art_spec_set_health(s, probe, 50 * MS, 0, 1), 0);
	rec r = { 0 };
	run1(s, &r);
	fail_end(&r, ART_END_EXITED);
	CHECK_EQ_INT(r.res.ready, 1);
	unlink(file);
	rmdir(tmpdir);
}

/* A task that ends while its probe hangs: the probe goes with it. */
TEST(probe_killed_with_task)
{
	art_spec *s = sh_spec("sleep 0.3");
	const char *probe[] = { "sh", "-c", "echo $$ > /dev/null; exec sleep 30", NULL };
	CHECK_EQ_INT(art_spec_set_health(s, probe, 100 * MS, 10 * SEC, 0), 0);
	rec r = { 0 };
	int64_t wall = run1(s, &r);
	fail_end(&r, ART_END_EXITED);
	CHECK(wall < 1 * SEC);
	/* Killed and reaped: this process has no children left. */
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	CHECK_EQ_STR(buf, "");
}

/* With ART_RT_KILL_ORPHANS, the sweep after another task's end leaves a
 * running probe alone: it is the runtime's child, not an orphan. */
TEST(probe_survives_orphan_sweep)
{
	art_runtime_config cfg = { .on_exit = rec_on_exit, .flags = ART_RT_KILL_ORPHANS };
	art_runtime *rt = NULL;
	art_error err;
	art_error_clear(&err);
	CHECK_EQ_INT(art_runtime_new(&cfg, &rt, &err), 0);
	art_spec *s = sh_spec("sleep 1.2");
	const char *probe[] = { "sleep", "0.3", NULL };
	CHECK_EQ_INT(art_spec_set_health(s, probe, 50 * MS, 2 * SEC, 1), 0);
	rec a = { 0 }, b = { 0 };
	submit(rt, s, &a, false);
	/* Ends while the first probe runs (50 ms .. 350 ms), and again later. */
	submit(rt, sh_spec("sleep 0.2"), &b, false);
	submit(rt, sh_spec("sleep 0.6"), &b, false);
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
	art_runtime_free(rt);
	CHECK_EQ_INT(b.calls, 2);
	fail_end(&a, ART_END_EXITED);
	CHECK_EQ_INT(a.res.exit_code, 0);
	CHECK_EQ_INT(a.res.ready, 1);
	CHECK_EQ_INT(a.res.orphans_killed, 0);
}

/* A paused task cannot ping: its watchdog waits until it runs again. */
TEST(watchdog_waits_while_paused)
{
	art_spec *s = sh_spec("i=0; while [ $i -lt 15 ]; do echo WATCHDOG=1 >&$AGENTRT_NOTIFY_FD; "
			      "sleep 0.05; i=$((i+1)); done");
	CHECK_EQ_INT(art_spec_set_watchdog(s, 200 * MS), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 100 * MS), 0);
	rec r = { 0 };
	art_runtime *rt = new_rt();
	art_task *t = submit(rt, s, &r, true);
	int64_t start = mono_ns();
	bool paused = false, resumed = false;
	while (art_task_state_get(t) != ART_TASK_DONE) {
		int64_t now = mono_ns();
		CHECK(now - start < 5 * SEC);
		if (!paused && now - start >= 300 * MS) {
			CHECK_EQ_INT(art_task_pause(t), 0);
			paused = true;
		}
		if (!resumed && now - start >= 1000 * MS) {
			CHECK_EQ_INT(art_task_resume(t), 0);
			resumed = true;
		}
		CHECK(art_runtime_step(rt, 10) >= 0);
	}
	CHECK(resumed);
	fail_end(&r, ART_END_EXITED);
	CHECK_EQ_INT(r.res.exit_code, 0);
	CHECK(r.res.frozen_ns >= 500 * MS);
	art_task_unref(t);
	art_runtime_free(rt);
}
