/* SPDX-License-Identifier: MIT */
/*
 * The runtime through the public API: how tasks end, start failures, PATH,
 * output capture, stdin, environment, limits, timeouts, cancellation,
 * concurrency, threads, descriptor hygiene, orphans and the host's own
 * children, user watches, statistics. Each TEST runs in its own process
 * (tap.c), so a runtime's subreaper flag or a host child cannot leak from
 * one test into the next.
 */
#include <agentrt.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/time.h"
#include "tap.h"

#define MS NSEC_PER_MSEC
#define SEC NSEC_PER_SEC

/* ------------------------------------------------------------ helpers */

/* What on_exit saw for one task. The tails are copied (NUL-terminated),
 * since the result's own pointers die with the task. */
typedef struct rec {
	int calls;
	art_result res;
	char *out, *err;
	size_t out_len, err_len;
	art_task_state state;  /* art_task_state_get() inside on_exit */
	bool result_matches;   /* art_task_result() == the result passed */
	pthread_t thread;
	int64_t exit_ns;       /* when on_exit ran */
	/* Filled by on_output (rec_on_output). */
	uint64_t seen[3];
	int pid_from_output;   /* the first number the task printed */
	char *seen_out;        /* every stdout byte, in order */
	size_t seen_out_len, seen_out_cap;
} rec;

/* Every buffer the helpers hand out stays reachable from here, so that a
 * leak checker (make check-valgrind) reports the library's leaks, not the
 * tests' copies that live on in stack records until the test process ends. */
static void **kept;
static size_t n_kept, cap_kept;

static void *keep(void *p)
{
	CHECK(p != NULL);
	if (n_kept == cap_kept) {
		cap_kept = cap_kept ? 2 * cap_kept : 256;
		kept = realloc(kept, cap_kept * sizeof(*kept));
		CHECK(kept != NULL);
	}
	kept[n_kept++] = p;
	return p;
}

static char *dup_bytes(const char *p, size_t n)
{
	char *s = keep(malloc(n + 1));
	if (n)
		memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static void rec_on_exit(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)rt;
	(void)ud;
	rec *r = art_task_userdata(task);
	CHECK(r != NULL);
	r->calls++;
	r->res = *res;
	r->out = dup_bytes(res->stdout_tail, res->stdout_tail_len);
	r->err = dup_bytes(res->stderr_tail, res->stderr_tail_len);
	r->out_len = res->stdout_tail_len;
	r->err_len = res->stderr_tail_len;
	r->res.stdout_tail = r->out;
	r->res.stderr_tail = r->err;
	r->state = art_task_state_get(task);
	r->result_matches = art_task_result(task) == res;
	r->thread = pthread_self();
	r->exit_ns = mono_ns();
}

static void rec_on_output(art_runtime *rt, art_task *task, int stream, const char *data,
			  size_t len, void *ud)
{
	(void)rt;
	(void)ud;
	rec *r = art_task_userdata(task);
	CHECK(stream == ART_STREAM_STDOUT || stream == ART_STREAM_STDERR);
	CHECK(len > 0);
	r->seen[stream] += len;
	if (stream != ART_STREAM_STDOUT)
		return;
	if (r->seen_out_len + len > r->seen_out_cap) {
		size_t cap = (r->seen_out_len + len) * 2;
		char *grown = keep(malloc(cap));
		if (r->seen_out_len)
			memcpy(grown, r->seen_out, r->seen_out_len);
		free(r->seen_out);
		r->seen_out = grown;
		r->seen_out_cap = cap;
	}
	memcpy(r->seen_out + r->seen_out_len, data, len);
	r->seen_out_len += len;
	if (!r->pid_from_output && data[0] >= '1' && data[0] <= '9') {
		char num[16];
		size_t n = len < sizeof(num) - 1 ? len : sizeof(num) - 1;
		memcpy(num, data, n);
		num[n] = 0;
		r->pid_from_output = atoi(num);
	}
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

static art_spec *spec_v(const char *arg0, va_list ap)
{
	const char *argv[64];
	size_t n = 0;
	argv[n++] = arg0;
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 63)
		argv[n++] = a;
	argv[n] = NULL;
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	return s;
}

__attribute__((sentinel)) static art_spec *new_spec(const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	art_spec *s = spec_v(arg0, ap);
	va_end(ap);
	return s;
}

static art_spec *sh_spec(const char *script)
{
	return new_spec("sh", "-c", script, NULL);
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

static void run_to_end(art_runtime *rt)
{
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
}

/* One task on a fresh runtime, to its end. */
static void run1_cfg(const art_runtime_config *cfg, art_spec *spec, rec *r)
{
	art_runtime *rt = new_rt(cfg);
	submit(rt, spec, r, NULL);
	run_to_end(rt);
	CHECK_EQ_INT(r->calls, 1);
	CHECK(r->result_matches);
	CHECK(r->state == ART_TASK_DONE);
	art_runtime_free(rt);
	CHECK_EQ_INT(r->calls, 1);
}

static void run1(art_spec *spec, rec *r)
{
	art_runtime_config cfg = cfg_default();
	run1_cfg(&cfg, spec, r);
}

/* Steps until pred(arg) holds; fails after `ms`. */
static void step_until(art_runtime *rt, bool (*pred)(void *), void *arg, int ms)
{
	int64_t end = mono_ns() + ms * MS;
	while (!pred(arg)) {
		CHECK(mono_ns() < end);
		CHECK(art_runtime_step(rt, 20) >= 0);
	}
}

static bool task_running(void *arg)
{
	return art_task_state_get(arg) == ART_TASK_RUNNING;
}

static bool task_done(void *arg)
{
	return art_task_state_get(arg) == ART_TASK_DONE;
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

/* tap.c ends a passing test with _exit(), which skips atexit handlers:
 * tests call rm_tmpdir() at their end; atexit covers a failed CHECK. */
static const char *make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/art-unit-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	atexit(rm_tmpdir);
	return tmpdir;
}

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;
	CHECK(asprintf(&p, "%s/%s", dir, name) > 0);
	return keep(p);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	CHECK(fd >= 0);
	CHECK_EQ_INT(write(fd, data, len), (ssize_t)len);
	CHECK_EQ_INT(fchmod(fd, mode), 0);
	close(fd);
}

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	CHECK(buf != NULL);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			CHECK(buf != NULL);
		}
		ssize_t k = read(fd, buf + n, cap - n);
		CHECK(k >= 0);
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return keep(buf);
}

/* The state letter from /proc/PID/stat; 0 when there is no such process. */
static char proc_state(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
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

static bool proc_running(pid_t pid)
{
	char s = proc_state(pid);
	return s != 0 && s != 'Z' && s != 'X';
}

/* Waits up to ms for pid to stop running (gone or a zombie). */
static bool wait_not_running(pid_t pid, int ms)
{
	int64_t end = mono_ns() + ms * MS;
	while (proc_running(pid)) {
		if (mono_ns() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* Waits up to ms for pid to be gone altogether (reaped). */
static bool wait_gone(pid_t pid, int ms)
{
	int64_t end = mono_ns() + ms * MS;
	while (proc_state(pid) != 0) {
		if (mono_ns() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* make check-valgrind: valgrind refuses setrlimit(RLIMIT_NOFILE) beyond its
 * own reserve and does not know pidfd_open (syscall 434 in 3.19), so the
 * tests of those two are skipped under it. */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "vgpreload");
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p;) {
		const char *nl = strchrnul(p, '\n');
		if ((size_t)(nl - p) == n && strncmp(p, line, n) == 0)
			return true;
		p = *nl ? nl + 1 : nl;
	}
	return false;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

static void print_result(const char *what, const rec *r)
{
	fprintf(stderr,
		"# %s: end=%s exit=%d sig=%d errno=%d stage=%s wall=%lldms out=[%s] err=[%s]\n",
		what, art_end_name(r->res.end), r->res.exit_code, r->res.term_signal,
		r->res.start_errno, art_stage_name(r->res.start_stage),
		(long long)(r->res.wall_ns / MS), r->out ? r->out : "", r->err ? r->err : "");
}

#define CHECK_END(r, want)                                      \
	do {                                                    \
		if ((r)->res.end != (want))                     \
			print_result(#r, (r));                  \
		CHECK_EQ_INT((r)->res.end, (want));             \
	} while (0)

/* ------------------------------------------------------------ how tasks end */

TEST(exit_code_and_signal)
{
	rec a = { 0 }, b = { 0 }, c = { 0 };
	int64_t t0 = mono_ns();
	run1(sh_spec("exit 7"), &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_INT(a.res.exit_code, 7);
	CHECK_EQ_INT(a.res.term_signal, 0);
	CHECK_EQ_INT(art_result_exit_status(&a.res), 7);
	CHECK_EQ_INT(art_result_ok(&a.res), 0);
	CHECK(a.res.pid > 0);
	CHECK(a.res.queued_ns >= t0);
	CHECK(a.res.started_ns >= a.res.queued_ns);
	CHECK(a.res.wall_ns > 0 && a.res.wall_ns < 5 * SEC);
	CHECK(a.res.started_ns + a.res.wall_ns <= a.exit_ns);
	CHECK(pthread_equal(a.thread, pthread_self()));
	CHECK_EQ_INT(a.res.start_stage, ART_STAGE_NONE);

	run1(sh_spec("kill -9 $$"), &b);
	CHECK_END(&b, ART_END_SIGNALED);
	CHECK_EQ_INT(b.res.term_signal, SIGKILL);
	CHECK_EQ_INT(b.res.exit_code, -1);
	CHECK_EQ_INT(art_result_exit_status(&b.res), 128 + SIGKILL);
	CHECK_EQ_INT(art_result_ok(&b.res), 0);

	run1(new_spec("true", NULL), &c);
	CHECK_END(&c, ART_END_EXITED);
	CHECK_EQ_INT(c.res.exit_code, 0);
	CHECK_EQ_INT(art_result_ok(&c.res), 1);
	CHECK_EQ_INT(art_result_exit_status(&c.res), 0);
	CHECK(c.res.max_rss_bytes > 0);

	/* The signal a task sends itself, other than KILL. */
	rec d = { 0 };
	run1(sh_spec("kill -USR1 $$; sleep 5"), &d);
	CHECK_END(&d, ART_END_SIGNALED);
	CHECK_EQ_INT(d.res.term_signal, SIGUSR1);
	CHECK_EQ_INT(art_result_exit_status(&d.res), 128 + SIGUSR1);
}

TEST(result_exit_status_and_names)
{
	art_result r = { .exit_code = -1 };
	CHECK_EQ_INT(art_result_exit_status(&r), 125); /* not ended */
	r.end = ART_END_EXITED;
	r.exit_code = 3;
	CHECK_EQ_INT(art_result_exit_status(&r), 3);
	r.end = ART_END_TIMEOUT;
	r.term_signal = SIGTERM;
	CHECK_EQ_INT(art_result_exit_status(&r), 124);
	r.end = ART_END_CANCELLED;
	CHECK_EQ_INT(art_result_exit_status(&r), 128 + SIGTERM);
	r.term_signal = 0;
	CHECK_EQ_INT(art_result_exit_status(&r), 130);
	r.end = ART_END_START_FAILED;
	r.start_stage = ART_STAGE_EXEC;
	r.start_errno = ENOENT;
	CHECK_EQ_INT(art_result_exit_status(&r), 127);
	r.start_errno = EACCES;
	CHECK_EQ_INT(art_result_exit_status(&r), 126);
	r.start_errno = ENOEXEC;
	CHECK_EQ_INT(art_result_exit_status(&r), 126);
	r.start_errno = ENOMEM;
	CHECK_EQ_INT(art_result_exit_status(&r), 125);
	r.start_stage = ART_STAGE_CHDIR;
	r.start_errno = ENOENT;
	CHECK_EQ_INT(art_result_exit_status(&r), 125);
	CHECK_EQ_INT(art_result_ok(&r), 0);

	CHECK_EQ_STR(art_end_name(ART_END_EXITED), "exited");
	CHECK_EQ_STR(art_end_name(ART_END_TIMEOUT), "timeout");
	CHECK_EQ_STR(art_end_name(ART_END_START_FAILED), "start_failed");
	CHECK_EQ_STR(art_stage_name(ART_STAGE_EXEC), "exec");
	CHECK_EQ_STR(art_stage_name(ART_STAGE_CHDIR), "chdir");
	CHECK_EQ_STR(art_stage_name(ART_STAGE_PREPARE), "prepare");
}

TEST(task_state_names)
{
	const char *names[4];
	art_task_state states[4] = { ART_TASK_QUEUED, ART_TASK_RUNNING, ART_TASK_STOPPING,
				     ART_TASK_DONE };
	for (int i = 0; i < 4; i++) {
		names[i] = art_task_state_name(states[i]);
		CHECK(names[i] != NULL && names[i][0] != 0);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(names[i], names[j]) != 0);
	}
}

/* ------------------------------------------------------------ start failures */

TEST(start_fails_missing_binary)
{
	rec a = { 0 }, b = { 0 };
	run1(new_spec("/nonexistent/agentrt-no-such-binary", NULL), &a);
	CHECK_END(&a, ART_END_START_FAILED);
	CHECK_EQ_INT(a.res.start_errno, ENOENT);
	CHECK_EQ_INT(a.res.start_stage, ART_STAGE_EXEC);
	CHECK_EQ_INT(a.res.started_ns, 0);
	CHECK_EQ_INT(a.res.pid, 0);
	CHECK_EQ_INT(a.res.exit_code, -1);
	CHECK_EQ_INT(art_result_exit_status(&a.res), 127);

	/* Through the PATH search. */
	run1(new_spec("agentrt-no-such-tool-xyz", NULL), &b);
	CHECK_END(&b, ART_END_START_FAILED);
	CHECK_EQ_INT(b.res.start_errno, ENOENT);
	CHECK_EQ_INT(b.res.start_stage, ART_STAGE_EXEC);
}

TEST(start_fails_not_executable)
{
	const char *dir = make_tmpdir();
	char *file = path_in(dir, "noexec.sh");
	write_file(file, "#!/bin/sh\necho hi\n", 18, 0644);
	rec a = { 0 };
	run1(new_spec(file, NULL), &a);
	CHECK_END(&a, ART_END_START_FAILED);
	CHECK_EQ_INT(a.res.start_errno, EACCES);
	CHECK_EQ_INT(a.res.start_stage, ART_STAGE_EXEC);
	CHECK_EQ_INT(art_result_exit_status(&a.res), 126);

	/* Executable, but no binary and no "#!": ENOEXEC (no sh fallback). */
	char *text = path_in(dir, "text");
	write_file(text, "echo hi\n", 8, 0755);
	rec c = { 0 };
	run1(new_spec(text, NULL), &c);
	CHECK_END(&c, ART_END_START_FAILED);
	CHECK_EQ_INT(c.res.start_errno, ENOEXEC);
	CHECK_EQ_INT(c.res.start_stage, ART_STAGE_EXEC);
	CHECK_EQ_INT(art_result_exit_status(&c.res), 126);

	/* A directory is no program either. */
	rec b = { 0 };
	run1(new_spec(dir, NULL), &b);
	CHECK_END(&b, ART_END_START_FAILED);
	CHECK_EQ_INT(b.res.start_errno, EACCES);
	CHECK_EQ_INT(b.res.start_stage, ART_STAGE_EXEC);
	rm_tmpdir();
}

TEST(start_fails_bad_cwd)
{
	rec a = { 0 }, b = { 0 };
	art_spec *s = new_spec("true", NULL);
	CHECK_EQ_INT(art_spec_set_cwd(s, "/nonexistent/agentrt-dir"), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_START_FAILED);
	CHECK_EQ_INT(a.res.start_errno, ENOENT);
	CHECK_EQ_INT(a.res.start_stage, ART_STAGE_CHDIR);
	CHECK_EQ_INT(art_result_exit_status(&a.res), 125);

	s = new_spec("true", NULL);
	CHECK_EQ_INT(art_spec_set_cwd(s, "/dev/null"), 0);
	run1(s, &b);
	CHECK_END(&b, ART_END_START_FAILED);
	CHECK_EQ_INT(b.res.start_errno, ENOTDIR);
	CHECK_EQ_INT(b.res.start_stage, ART_STAGE_CHDIR);

	/* A good cwd is where the task runs. */
	rec c = { 0 };
	s = new_spec("pwd", NULL);
	CHECK_EQ_INT(art_spec_set_cwd(s, "/proc"), 0);
	run1(s, &c);
	CHECK_END(&c, ART_END_EXITED);
	CHECK_EQ_STR(c.out, "/proc\n");
}

/* Opening the task's stdio fails in the runtime, before the clone: the
 * stage names the stream. */
TEST(start_fails_opening_stdio)
{
	rec a = { 0 }, b = { 0 }, c = { 0 };
	art_spec *s = new_spec("cat", NULL);
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_FILE, NULL, 0, "/nonexistent/stdin-file"), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_START_FAILED);
	CHECK_EQ_INT(a.res.start_errno, ENOENT);
	CHECK_EQ_INT(a.res.start_stage, ART_STAGE_STDIN);
	CHECK_EQ_STR(art_stage_name(a.res.start_stage), "stdin");
	CHECK_EQ_INT(a.res.pid, 0);
	CHECK_EQ_INT(a.res.started_ns, 0);
	CHECK_EQ_INT(art_result_exit_status(&a.res), 125);

	/* An output file that cannot be created, after stdin (a pipe) and
	 * stdout (captured) were opened: nothing of them may leak. */
	int base = fd_count_open();
	s = new_spec("true", NULL);
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_PIPE, NULL, 0, NULL), 0);
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDERR, ART_OUTPUT_FILE, 0,
					 "/nonexistent/dir/err.txt", 0),
		     0);
	run1(s, &b);
	CHECK_END(&b, ART_END_START_FAILED);
	CHECK_EQ_INT(b.res.start_errno, ENOENT);
	CHECK_EQ_INT(b.res.start_stage, ART_STAGE_STDERR);
	CHECK_EQ_STR(art_stage_name(b.res.start_stage), "stderr");
	CHECK_EQ_INT(fd_count_open(), base);

	/* stdout into a directory. */
	s = new_spec("true", NULL);
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_FILE, 0, "/proc", 0), 0);
	run1(s, &c);
	CHECK_END(&c, ART_END_START_FAILED);
	CHECK_EQ_INT(c.res.start_errno, EISDIR);
	CHECK_EQ_INT(c.res.start_stage, ART_STAGE_STDOUT);
	CHECK_EQ_STR(art_stage_name(c.res.start_stage), "stdout");
	CHECK_EQ_INT(fd_count_open(), base);
}

/* ------------------------------------------------------------ PATH */

TEST(path_search_uses_task_env)
{
	const char *dir = make_tmpdir();
	char *d1 = path_in(dir, "d1"), *d2 = path_in(dir, "d2");
	CHECK_EQ_INT(mkdir(d1, 0755), 0);
	CHECK_EQ_INT(mkdir(d2, 0755), 0);
	char *tool2 = path_in(d2, "mytool"), *tool1 = path_in(d1, "mytool");
	const char *script = "#!/bin/sh\necho mytool \"$@\"\n";
	write_file(tool2, script, strlen(script), 0755);
	write_file(tool1, script, strlen(script), 0644); /* not executable */

	/* Found only through the task's PATH, not the runtime's. */
	rec a = { 0 };
	art_spec *s = new_spec("mytool", "a1", "a 2", NULL);
	CHECK_EQ_INT(art_spec_env_set(s, "PATH", d2), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_STR(a.out, "mytool a1 a 2\n");

	/* execvp's rule: a candidate without permission is remembered, the
	 * search goes on, and a later one that runs wins. */
	char *both = NULL;
	CHECK(asprintf(&both, "/nonexistent:%s:%s", d1, d2) > 0);
	keep(both);
	rec b = { 0 };
	s = new_spec("mytool", "b", NULL);
	CHECK_EQ_INT(art_spec_env_set(s, "PATH", both), 0);
	run1(s, &b);
	CHECK_END(&b, ART_END_EXITED);
	CHECK_EQ_STR(b.out, "mytool b\n");

	/* Only the non-executable one: EACCES, not ENOENT. */
	char *only1 = NULL;
	CHECK(asprintf(&only1, "/nonexistent:%s", d1) > 0);
	keep(only1);
	rec c = { 0 };
	s = new_spec("mytool", NULL);
	CHECK_EQ_INT(art_spec_env_set(s, "PATH", only1), 0);
	run1(s, &c);
	CHECK_END(&c, ART_END_START_FAILED);
	CHECK_EQ_INT(c.res.start_errno, EACCES);
	CHECK_EQ_INT(c.res.start_stage, ART_STAGE_EXEC);

	/* The runtime's PATH finds sh; the task's PATH does not. */
	rec d = { 0 };
	s = new_spec("sh", "-c", "exit 0", NULL);
	CHECK_EQ_INT(art_spec_env_set(s, "PATH", d2), 0);
	run1(s, &d);
	CHECK_END(&d, ART_END_START_FAILED);
	CHECK_EQ_INT(d.res.start_errno, ENOENT);

	/* The same with a cleared environment and a set PATH. */
	rec e = { 0 };
	s = new_spec("mytool", "e", NULL);
	CHECK_EQ_INT(art_spec_set_env_mode(s, ART_ENV_CLEAR), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "PATH", d2), 0);
	run1(s, &e);
	CHECK_END(&e, ART_END_EXITED);
	CHECK_EQ_STR(e.out, "mytool e\n");
	rm_tmpdir();
}

/* An empty PATH entry means the current directory (execvp). Run under ASan
 * this also checks the candidate buffer built for such an entry. */
TEST(path_empty_entry_is_cwd)
{
	const char *dir = make_tmpdir();
	char *tool = path_in(dir, "mytool");
	const char *script = "#!/bin/sh\necho here\n";
	write_file(tool, script, strlen(script), 0755);
	const char *paths[] = { "/nonexistent:", ":/nonexistent", "/nonexistent::/x", "" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		rec a = { 0 };
		art_spec *s = new_spec("mytool", NULL);
		CHECK_EQ_INT(art_spec_env_set(s, "PATH", paths[i]), 0);
		CHECK_EQ_INT(art_spec_set_cwd(s, dir), 0);
		run1(s, &a);
		if (a.res.end != ART_END_EXITED)
			fprintf(stderr, "# PATH=\"%s\"\n", paths[i]);
		CHECK_END(&a, ART_END_EXITED);
		CHECK_EQ_STR(a.out, "here\n");
	}
	rm_tmpdir();
}

/* ------------------------------------------------------------ output */

TEST(capture_stdout_and_stderr_apart)
{
	rec a = { 0 };
	run1(sh_spec("echo out; echo err >&2; printf abc; printf xy >&2"), &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_STR(a.out, "out\nabc");
	CHECK_EQ_STR(a.err, "err\nxy");
	CHECK_EQ_INT(a.res.stdout_bytes, 7);
	CHECK_EQ_INT(a.res.stderr_bytes, 6);
	CHECK_EQ_INT(a.res.stdout_tail_len, 7);
	CHECK_EQ_INT(a.res.stderr_tail_len, 6);
	CHECK_EQ_INT(a.res.stdout_truncated, 0);
	CHECK_EQ_INT(a.res.stderr_truncated, 0);
	/* on_output saw the same bytes. */
	CHECK_EQ_INT(a.seen[ART_STREAM_STDOUT], 7);
	CHECK_EQ_INT(a.seen[ART_STREAM_STDERR], 6);

	/* No output at all. */
	rec b = { 0 };
	run1(new_spec("true", NULL), &b);
	CHECK_EQ_INT(b.res.stdout_bytes, 0);
	CHECK_EQ_INT(b.res.stdout_tail_len, 0);
	CHECK_EQ_INT(b.res.stdout_truncated, 0);
}

TEST(capture_keeps_the_tail)
{
	rec a = { 0 };
	/* 99990 'a' then "0123456789": 100000 bytes. */
	art_spec *s = sh_spec("head -c 99990 /dev/zero | tr '\\000' a; printf 0123456789");
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_CAPTURE, 1000, NULL, 0), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_INT(a.res.stdout_bytes, 100000);
	CHECK_EQ_INT(a.res.stdout_tail_len, 1000);
	CHECK_EQ_INT(a.res.stdout_truncated, 1);
	CHECK(memcmp(a.out + 990, "0123456789", 10) == 0);
	for (int i = 0; i < 990; i++)
		CHECK(a.out[i] == 'a');
	CHECK_EQ_INT(a.seen[ART_STREAM_STDOUT], 100000);

	/* A cap that is not a multiple of anything, and a larger stream. */
	rec b = { 0 };
	s = sh_spec("i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done");
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_CAPTURE, 5003, NULL, 0), 0);
	run1(s, &b);
	CHECK_END(&b, ART_END_EXITED);
	CHECK_EQ_INT(b.res.stdout_tail_len, 5003);
	CHECK_EQ_INT(b.res.stdout_truncated, 1);
	CHECK(b.res.stdout_bytes > 5003);
	CHECK_EQ_INT(b.seen_out_len, b.res.stdout_bytes);
	/* The tail is exactly the end of what on_output saw. */
	CHECK(memcmp(b.out, b.seen_out + b.seen_out_len - 5003, 5003) == 0);
	CHECK(memcmp(b.out + 5003 - 10, "line-2999\n", 10) == 0);
}

/* A stream that is longer than the cap, written in one go (one read):
 * the result must say it was truncated. */
TEST(capture_truncated_flag_on_single_write)
{
	rec a = { 0 };
	art_spec *s = new_spec("printf", "0123456789abcdef", NULL);
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_CAPTURE, 10, NULL, 0), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_INT(a.res.stdout_bytes, 16);
	CHECK_EQ_INT(a.res.stdout_tail_len, 10);
	CHECK_EQ_STR(a.out, "6789abcdef");
	CHECK_EQ_INT(a.res.stdout_truncated, 1);
}

TEST(capture_exactly_the_cap_is_not_truncated)
{
	rec a = { 0 };
	art_spec *s = new_spec("printf", "0123456789", NULL);
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_CAPTURE, 10, NULL, 0), 0);
	run1(s, &a);
	CHECK_EQ_INT(a.res.stdout_bytes, 10);
	CHECK_EQ_STR(a.out, "0123456789");
	CHECK_EQ_INT(a.res.stdout_truncated, 0);
}

TEST(capture_cap_zero_streams_everything)
{
	rec a = { 0 };
	art_spec *s = sh_spec("head -c 99990 /dev/zero | tr '\\000' a; printf 0123456789");
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_CAPTURE, 0, NULL, 0), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_INT(a.res.stdout_bytes, 100000);
	CHECK_EQ_INT(a.res.stdout_tail_len, 0);
	CHECK_EQ_INT(a.res.stdout_truncated, 1);
	CHECK_EQ_INT(a.seen[ART_STREAM_STDOUT], 100000);
	CHECK_EQ_INT(a.seen_out_len, 100000);
	for (int i = 0; i < 99990; i++)
		if (a.seen_out[i] != 'a') {
			fprintf(stderr, "# byte %d is %d\n", i, a.seen_out[i]);
			CHECK(0);
		}
	CHECK(memcmp(a.seen_out + 99990, "0123456789", 10) == 0);
}

TEST(output_discard)
{
	rec a = { 0 };
	art_spec *s = sh_spec("echo hidden; echo shown >&2");
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_DISCARD, 0, NULL, 0), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_INT(a.res.exit_code, 0); /* writing to /dev/null works */
	CHECK_EQ_INT(a.res.stdout_bytes, 0);
	CHECK_EQ_INT(a.res.stdout_tail_len, 0);
	CHECK_EQ_INT(a.seen[ART_STREAM_STDOUT], 0);
	CHECK_EQ_STR(a.err, "shown\n");
}

TEST(output_file_and_append)
{
	const char *dir = make_tmpdir();
	char *out = path_in(dir, "out.txt"), *err = path_in(dir, "err.txt");
	rec a = { 0 }, b = { 0 }, c = { 0 };

	art_spec *s = sh_spec("echo one; echo e1 >&2");
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_FILE, 0, out, 0), 0);
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDERR, ART_OUTPUT_FILE, 0, err, 0), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_INT(a.res.stdout_bytes, 0);
	CHECK_EQ_STR(read_file(out, NULL), "one\n");
	CHECK_EQ_STR(read_file(err, NULL), "e1\n");
	struct stat st;
	CHECK_EQ_INT(stat(out, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0644);

	s = sh_spec("echo two; echo e2 >&2");
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_FILE, 0, out, 1), 0);
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDERR, ART_OUTPUT_FILE, 0, err, 1), 0);
	run1(s, &b);
	CHECK_EQ_STR(read_file(out, NULL), "one\ntwo\n");
	CHECK_EQ_STR(read_file(err, NULL), "e1\ne2\n");

	/* Without append, the file is truncated. */
	s = sh_spec("echo three");
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_FILE, 0, out, 0), 0);
	run1(s, &c);
	CHECK_EQ_STR(read_file(out, NULL), "three\n");

	/* Both streams into one file in append mode: nothing is lost. */
	rec d = { 0 };
	char *both = path_in(dir, "both.txt");
	s = sh_spec("echo A; echo B >&2; echo C");
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_FILE, 0, both, 1), 0);
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDERR, ART_OUTPUT_FILE, 0, both, 1), 0);
	run1(s, &d);
	CHECK_EQ_STR(read_file(both, NULL), "A\nB\nC\n");
	rm_tmpdir();
}

/* ------------------------------------------------------------ stdin */

TEST(stdin_bytes_large_roundtrip)
{
	enum { N = 1024 * 1024 };
	char *data = malloc(N);
	CHECK(data != NULL);
	for (size_t i = 0; i < N; i++)
		data[i] = (char)(i * 31 + (i >> 8));
	rec a = { 0 };
	art_spec *s = new_spec("cat", NULL);
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_BYTES, data, N, NULL), 0);
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_CAPTURE, 2 * N, NULL, 0),
		     0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_INT(a.res.exit_code, 0);
	CHECK_EQ_INT(a.res.stdout_bytes, N);
	CHECK_EQ_INT(a.res.stdout_tail_len, N);
	CHECK_EQ_INT(a.res.stdout_truncated, 0);
	CHECK(memcmp(a.out, data, N) == 0);
	free(data);

	/* Zero bytes: EOF at once. */
	rec b = { 0 };
	s = sh_spec("wc -c");
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_BYTES, NULL, 0, NULL), 0);
	run1(s, &b);
	CHECK_END(&b, ART_END_EXITED);
	CHECK_EQ_INT(atoi(b.out), 0);

	/* A task that does not read its stdin still ends normally. */
	rec c = { 0 };
	static char big[256 * 1024];
	s = new_spec("true", NULL);
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_BYTES, big, sizeof(big), NULL), 0);
	run1(s, &c);
	CHECK_END(&c, ART_END_EXITED);
	CHECK_EQ_INT(c.res.exit_code, 0);
}

TEST(stdin_file_and_null)
{
	const char *dir = make_tmpdir();
	char *in = path_in(dir, "in.txt");
	write_file(in, "from a file\nline 2\n", 19, 0600);
	rec a = { 0 };
	art_spec *s = new_spec("cat", NULL);
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_FILE, NULL, 0, in), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_STR(a.out, "from a file\nline 2\n");

	/* NULL: /dev/null, read 0 bytes. Also the default. */
	rec b = { 0 }, c = { 0 };
	s = sh_spec("wc -c");
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_NULL, NULL, 0, NULL), 0);
	run1(s, &b);
	CHECK_END(&b, ART_END_EXITED);
	CHECK(b.out[0] >= '0' && b.out[0] <= '9');
	CHECK_EQ_INT(atoi(b.out), 0);
	run1(sh_spec("wc -c; test -c /dev/stdin && readlink /proc/self/fd/0"), &c);
	CHECK_EQ_INT(atoi(c.out), 0);
	CHECK(strstr(c.out, "/dev/null") != NULL);
	rm_tmpdir();
}

TEST(stdin_pipe)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 }, b = { 0 };
	art_task *t = NULL, *u = NULL;
	art_spec *s = new_spec("cat", NULL);
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_PIPE, NULL, 0, NULL), 0);
	submit(rt, s, &a, &t);
	submit(rt, new_spec("true", NULL), &b, &u);
	CHECK(t != NULL);
	CHECK_EQ_INT(art_task_state_get(t), ART_TASK_QUEUED);
	CHECK(art_task_result(t) == NULL);
	step_until(rt, task_running, t, 5000);
	int fd = art_task_stdin_fd(t);
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ_INT(write(fd, "hello ", 6), 6);
	/* Let cat echo the first part while we still hold the pipe. */
	for (int i = 0; i < 10; i++)
		art_runtime_step(rt, 10);
	CHECK_EQ_INT(art_task_state_get(t), ART_TASK_RUNNING);
	CHECK_EQ_INT(write(fd, "pipe\n", 5), 5);
	art_task_close_stdin(t);
	CHECK_EQ_INT(art_task_stdin_fd(t), -1);
	art_task_close_stdin(t); /* twice: nothing */
	run_to_end(rt);
	CHECK_EQ_INT(a.calls, 1);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_STR(a.out, "hello pipe\n");
	CHECK(art_task_result(t) != NULL);
	CHECK_EQ_INT(art_task_result(t)->stdout_bytes, 11);
	CHECK_EQ_INT(art_task_state_get(t), ART_TASK_DONE);
	/* Not a pipe task: -1. */
	CHECK_EQ_INT(art_task_stdin_fd(u), -1);
	art_task_unref(t);
	art_task_unref(u);
	art_runtime_free(rt);

	/* A pipe that is never written: the runtime closes it when the task
	 * ends (here, cat gets EOF only when its reader is cancelled). */
	int base = fd_count_open();
	rt = new_rt(&cfg);
	rec c = { 0 };
	s = new_spec("cat", NULL);
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_PIPE, NULL, 0, NULL), 0);
	CHECK_EQ_INT(art_spec_set_timeout(s, 100 * MS), 0);
	submit(rt, s, &c, NULL);
	run_to_end(rt);
	CHECK_END(&c, ART_END_TIMEOUT);
	art_runtime_free(rt);
	CHECK_EQ_INT(fd_count_open(), base);
}

/* ------------------------------------------------------------ environment */

TEST(env_inherit_set_unset_last_wins)
{
	setenv("ART_T_A", "host-a", 1);
	setenv("ART_T_B", "host-b", 1);
	setenv("ART_T_KEEP", "kept", 1);
	setenv("ART_T_D", "host-d", 1);
	rec a = { 0 };
	art_spec *s = new_spec("env", NULL);
	CHECK_EQ_INT(art_spec_env_set(s, "ART_T_A", "x"), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "ART_T_A", "y"), 0); /* the last wins */
	CHECK_EQ_INT(art_spec_env_set(s, "ART_T_B", NULL), 0); /* unset */
	CHECK_EQ_INT(art_spec_env_set(s, "ART_T_C", "c=with=equals"), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "ART_T_D", "d"), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "ART_T_D", NULL), 0); /* set, then unset */
	CHECK_EQ_INT(art_spec_env_set(s, "ART_T_E", NULL), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "ART_T_E", "e"), 0); /* unset, then set */
	CHECK_EQ_INT(art_spec_env_set(s, "ART_T", "prefix-of-others"), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "", "x"), -EINVAL);
	CHECK_EQ_INT(art_spec_env_set(s, "A=B", "x"), -EINVAL);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK(has_line(a.out, "ART_T_A=y"));
	CHECK(!has_line(a.out, "ART_T_A=x"));
	CHECK(!has_line(a.out, "ART_T_A=host-a"));
	CHECK(strstr(a.out, "ART_T_B=") == NULL);
	CHECK(has_line(a.out, "ART_T_C=c=with=equals"));
	CHECK(strstr(a.out, "ART_T_D=") == NULL);
	CHECK(has_line(a.out, "ART_T_E=e"));
	CHECK(has_line(a.out, "ART_T_KEEP=kept"));
	CHECK(has_line(a.out, "ART_T=prefix-of-others"));
	CHECK(strstr(a.out, "\nPATH=") != NULL || strncmp(a.out, "PATH=", 5) == 0);
	/* Each name once. */
	const char *p = strstr(a.out, "ART_T_A=");
	CHECK(p && !strstr(p + 1, "ART_T_A="));

	/* The host's environment is unchanged by all this. */
	CHECK_EQ_STR(getenv("ART_T_A"), "host-a");
	CHECK_EQ_STR(getenv("ART_T_B"), "host-b");

	/* Plain INHERIT, nothing set: the host's environment as it is. */
	rec b = { 0 };
	run1(new_spec("env", NULL), &b);
	CHECK(has_line(b.out, "ART_T_A=host-a"));
	CHECK(has_line(b.out, "ART_T_B=host-b"));
}

TEST(env_clear_and_allow)
{
	setenv("ART_ALLOW_ONE", "1", 1);
	setenv("ART_ALLOW_TWO", "2", 1);
	setenv("ART_DENY", "3", 1);
	setenv("ART_EXACT", "4", 1);
	setenv("ART_EXACTLY", "5", 1);
	setenv("ART_ALLOW_GONE", "6", 1);

	/* CLEAR: only what is set; PATH is not there, so "env" is found
	 * through the default search path. */
	rec a = { 0 };
	art_spec *s = new_spec("env", NULL);
	CHECK_EQ_INT(art_spec_set_env_mode(s, ART_ENV_CLEAR), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "FOO", "1"), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "BAR", "two words"), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "GONE", NULL), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_INT(count_lines(a.out), 2);
	CHECK(has_line(a.out, "FOO=1"));
	CHECK(has_line(a.out, "BAR=two words"));

	/* CLEAR with nothing set: an empty environment. */
	rec b = { 0 };
	s = new_spec("/usr/bin/env", NULL);
	CHECK_EQ_INT(art_spec_set_env_mode(s, ART_ENV_CLEAR), 0);
	run1(s, &b);
	CHECK_END(&b, ART_END_EXITED);
	CHECK_EQ_STR(b.out, "");

	/* ALLOW: a prefix pattern and an exact name, then set values. */
	rec c = { 0 };
	s = new_spec("env", NULL);
	CHECK_EQ_INT(art_spec_set_env_mode(s, ART_ENV_ALLOW), 0);
	CHECK_EQ_INT(art_spec_env_allow(s, "ART_ALLOW_*"), 0);
	CHECK_EQ_INT(art_spec_env_allow(s, "ART_EXACT"), 0);
	CHECK_EQ_INT(art_spec_env_allow(s, "PATH"), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "ART_ALLOW_TWO", "override"), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "ART_ALLOW_GONE", NULL), 0);
	CHECK_EQ_INT(art_spec_env_set(s, "NEWVAR", "n"), 0);
	CHECK_EQ_INT(art_spec_env_allow(s, "BAD=NAME"), -EINVAL);
	run1(s, &c);
	CHECK_END(&c, ART_END_EXITED);
	CHECK(has_line(c.out, "ART_ALLOW_ONE=1"));
	CHECK(has_line(c.out, "ART_ALLOW_TWO=override"));
	CHECK(!has_line(c.out, "ART_ALLOW_TWO=2"));
	CHECK(strstr(c.out, "ART_ALLOW_GONE") == NULL);
	CHECK(has_line(c.out, "ART_EXACT=4"));
	CHECK(strstr(c.out, "ART_EXACTLY") == NULL);
	CHECK(strstr(c.out, "ART_DENY") == NULL);
	CHECK(has_line(c.out, "NEWVAR=n"));
	/* ONE, TWO, EXACT, NEWVAR, and PATH if the host has one. */
	size_t want = 4 + (getenv("PATH") != NULL);
	CHECK_EQ_INT(count_lines(c.out), want);
}

/* ------------------------------------------------------------ limits */

TEST(rlimit_nofile)
{
	if (under_valgrind())
		SKIP("valgrind refuses setrlimit(RLIMIT_NOFILE)");
	rec a = { 0 };
	art_spec *s = sh_spec("ulimit -n; ulimit -Hn");
	CHECK_EQ_INT(art_spec_set_limit(s, ART_LIMIT_NOFILE, 10), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_STR(a.out, "10\n10\n");

	/* task_nofile_default: the soft limit of tasks without their own. */
	struct rlimit rl;
	CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur <= 100)
		SKIP("RLIMIT_NOFILE too low to test task_nofile_default");
	art_runtime_config cfg = cfg_default();
	cfg.task_nofile_default = 100;
	rec b = { 0 };
	run1_cfg(&cfg, sh_spec("ulimit -n"), &b);
	CHECK_EQ_STR(b.out, "100\n");
	/* An explicit limit beats the default. */
	rec c = { 0 };
	s = sh_spec("ulimit -n");
	CHECK_EQ_INT(art_spec_set_limit(s, ART_LIMIT_NOFILE, 20), 0);
	run1_cfg(&cfg, s, &c);
	CHECK_EQ_STR(c.out, "20\n");
	/* The host's own limit is untouched. */
	struct rlimit now;
	CHECK_EQ_INT(getrlimit(RLIMIT_NOFILE, &now), 0);
	CHECK_EQ_INT(now.rlim_cur, rl.rlim_cur);
}

TEST(rlimit_cpu_time)
{
	const char *dir = make_tmpdir();
	rec a = { 0 };
	art_spec *s = sh_spec("while :; do :; done");
	CHECK_EQ_INT(art_spec_set_limit(s, ART_LIMIT_CPU_TIME, 1), 0);
	CHECK_EQ_INT(art_spec_set_limit(s, ART_LIMIT_CORE, 0), 0);
	CHECK_EQ_INT(art_spec_set_cwd(s, dir), 0);
	CHECK_EQ_INT(art_spec_set_timeout(s, 15 * SEC), 0); /* a safety net */
	run1(s, &a);
	/* Killed by the kernel for its CPU time, and reported as such. */
	CHECK_END(&a, ART_END_LIMIT);
	CHECK_EQ_INT(a.res.limit, ART_LIMIT_CPU_TIME);
	CHECK(a.res.term_signal == SIGXCPU || a.res.term_signal == SIGKILL);
	CHECK(a.res.wall_ns < 6 * SEC);
	/* It really burnt about a second of CPU. */
	CHECK(a.res.user_ns + a.res.system_ns >= 800 * MS);
	CHECK(a.res.user_ns + a.res.system_ns < 4 * SEC);
	rm_tmpdir();
}

TEST(rlimit_file_size)
{
	const char *dir = make_tmpdir();
	char *big = path_in(dir, "big");
	rec a = { 0 };
	art_spec *s = new_spec("head", "-c", "100000", "/dev/zero", NULL);
	CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_FILE, 0, big, 0), 0);
	CHECK_EQ_INT(art_spec_set_limit(s, ART_LIMIT_FILE_SIZE, 1000), 0);
	CHECK_EQ_INT(art_spec_set_limit(s, ART_LIMIT_CORE, 0), 0);
	CHECK_EQ_INT(art_spec_set_cwd(s, dir), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_LIMIT);
	CHECK_EQ_INT(a.res.limit, ART_LIMIT_FILE_SIZE);
	CHECK_EQ_INT(a.res.term_signal, SIGXFSZ);
	struct stat st;
	CHECK_EQ_INT(stat(big, &st), 0);
	CHECK_EQ_INT(st.st_size, 1000);
	rm_tmpdir();
}

/* ------------------------------------------------------------ timeouts */

TEST(timeout_sends_term)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 };
	art_spec *s = new_spec("sleep", "10", NULL);
	CHECK_EQ_INT(art_spec_set_timeout(s, 200 * MS), 0);
	int64_t t0 = mono_ns();
	submit(rt, s, &a, NULL);
	run_to_end(rt);
	int64_t took = mono_ns() - t0;
	CHECK_END(&a, ART_END_TIMEOUT);
	CHECK_EQ_INT(a.res.term_signal, SIGTERM);
	CHECK_EQ_INT(a.res.exit_code, -1);
	CHECK(a.res.wall_ns >= 190 * MS);
	CHECK(a.res.wall_ns < 2 * SEC);
	CHECK(took < 2 * SEC);
	CHECK_EQ_INT(art_result_exit_status(&a.res), 124);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.timeouts, 1);
	CHECK_EQ_INT(st.cancelled, 0);
	art_runtime_free(rt);
}

TEST(timeout_grace_then_kill)
{
	rec a = { 0 };
	/* The shell itself ignores TERM and never forks: only KILL ends it. */
	art_spec *s = sh_spec("trap '' TERM; while :; do :; done");
	CHECK_EQ_INT(art_spec_set_timeout(s, 200 * MS), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 300 * MS), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_TIMEOUT);
	CHECK_EQ_INT(a.res.term_signal, SIGKILL);
	CHECK(a.res.wall_ns >= 490 * MS);
	CHECK(a.res.wall_ns < 3 * SEC);
	CHECK_EQ_INT(art_result_exit_status(&a.res), 124);

	/* Grace 0: KILL at once. */
	rec b = { 0 };
	s = sh_spec("trap '' TERM; while :; do :; done");
	CHECK_EQ_INT(art_spec_set_timeout(s, 200 * MS), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 0), 0);
	run1(s, &b);
	CHECK_END(&b, ART_END_TIMEOUT);
	CHECK_EQ_INT(b.res.term_signal, SIGKILL);
	CHECK(b.res.wall_ns >= 190 * MS);
	CHECK(b.res.wall_ns < 450 * MS);

	/* A task that handles TERM and exits on its own keeps its code, but
	 * still ended by timeout. */
	rec c = { 0 };
	s = sh_spec("trap 'exit 9' TERM; while :; do :; done");
	CHECK_EQ_INT(art_spec_set_timeout(s, 200 * MS), 0);
	run1(s, &c);
	CHECK_END(&c, ART_END_TIMEOUT);
	CHECK_EQ_INT(c.res.exit_code, 9);
	CHECK(c.res.wall_ns < 2 * SEC);
}

/* A timeout as long as an int64 holds means "never" in practice; it must not
 * wrap around into a deadline in the past. */
TEST(huge_timeout_does_not_fire)
{
	rec a = { 0 }, b = { 0 };
	art_spec *s = new_spec("sleep", "0.2", NULL);
	CHECK_EQ_INT(art_spec_set_timeout(s, INT64_MAX), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_INT(a.res.exit_code, 0);
	/* The largest duration art_parse_duration accepts, likewise. */
	int64_t ns = 0;
	CHECK_EQ_INT(art_parse_duration("106751d", &ns), 0);
	s = new_spec("sleep", "0.2", NULL);
	CHECK_EQ_INT(art_spec_set_timeout(s, ns), 0);
	run1(s, &b);
	CHECK_END(&b, ART_END_EXITED);
}

/* The timeout counts from the start of the process, not from submit. */
TEST(timeout_counts_from_start)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 }, b = { 0 };
	submit(rt, new_spec("sleep", "0.5", NULL), &a, NULL);
	art_spec *s = new_spec("sleep", "0.1", NULL);
	CHECK_EQ_INT(art_spec_set_timeout(s, 400 * MS), 0);
	submit(rt, s, &b, NULL);
	run_to_end(rt);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_END(&b, ART_END_EXITED);
	CHECK_EQ_INT(b.res.exit_code, 0);
	CHECK(b.res.started_ns - b.res.queued_ns >= 450 * MS);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ cancel */

TEST(cancel_queued_and_running)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 }, b = { 0 };
	art_task *ta = NULL, *tb = NULL;
	submit(rt, new_spec("sleep", "10", NULL), &a, &ta);
	submit(rt, new_spec("true", NULL), &b, &tb);
	art_task_cancel(tb);
	step_until(rt, task_done, tb, 5000);
	CHECK_EQ_INT(b.calls, 1);
	CHECK_END(&b, ART_END_CANCELLED);
	CHECK_EQ_INT(b.res.started_ns, 0);
	CHECK_EQ_INT(b.res.pid, 0);
	CHECK_EQ_INT(b.res.wall_ns, 0);
	CHECK_EQ_INT(b.res.term_signal, 0);
	CHECK_EQ_INT(art_result_exit_status(&b.res), 130);
	step_until(rt, task_running, ta, 5000);
	CHECK_EQ_INT(a.calls, 0);

	/* Cancelling a task that is done does nothing. */
	art_task_cancel(tb);
	art_runtime_step(rt, 10);
	CHECK_EQ_INT(b.calls, 1);

	int64_t t0 = mono_ns();
	art_task_cancel(ta);
	run_to_end(rt);
	CHECK_EQ_INT(a.calls, 1);
	CHECK_END(&a, ART_END_CANCELLED);
	CHECK_EQ_INT(a.res.term_signal, SIGTERM);
	CHECK(a.res.started_ns > 0);
	CHECK(mono_ns() - t0 < 2 * SEC);
	CHECK_EQ_INT(art_result_exit_status(&a.res), 128 + SIGTERM);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.cancelled, 2);
	CHECK_EQ_INT(st.started, 1);
	CHECK_EQ_INT(st.ended, 2);
	art_task_unref(ta);
	art_task_unref(tb);
	art_runtime_free(rt);
}

static bool pid_known(void *arg)
{
	return ((rec *)arg)->pid_from_output != 0;
}

/* A second cancel while stopping skips the rest of the grace. */
TEST(cancel_twice_kills)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 };
	art_task *t = NULL;
	art_spec *s = sh_spec("trap '' TERM; echo $$; while :; do :; done");
	CHECK_EQ_INT(art_spec_set_grace(s, 30 * SEC), 0);
	submit(rt, s, &a, &t);
	/* Its pid on stdout: the trap is in place. */
	step_until(rt, pid_known, &a, 5000);
	art_task_cancel(t);
	for (int i = 0; i < 10; i++)
		art_runtime_step(rt, 10);
	CHECK_EQ_INT(art_task_state_get(t), ART_TASK_STOPPING);
	CHECK_EQ_INT(a.calls, 0);
	int64_t t0 = mono_ns();
	art_task_cancel(t);
	run_to_end(rt);
	CHECK(mono_ns() - t0 < 2 * SEC);
	CHECK_END(&a, ART_END_CANCELLED);
	CHECK_EQ_INT(a.res.term_signal, SIGKILL);
	art_task_unref(t);
	art_runtime_free(rt);
}

TEST(cancel_all)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 2;
	art_runtime *rt = new_rt(&cfg);
	rec r[5] = { 0 };
	art_task *first = NULL;
	for (int i = 0; i < 5; i++)
		submit(rt, new_spec("sleep", "10", NULL), &r[i], i == 1 ? &first : NULL);
	step_until(rt, task_running, first, 5000);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.running, 2);
	CHECK_EQ_INT(st.queued, 3);
	int64_t t0 = mono_ns();
	art_runtime_cancel_all(rt);
	run_to_end(rt);
	CHECK(mono_ns() - t0 < 3 * SEC);
	int started = 0;
	for (int i = 0; i < 5; i++) {
		CHECK_EQ_INT(r[i].calls, 1);
		CHECK_END(&r[i], ART_END_CANCELLED);
		if (r[i].res.started_ns) {
			started++;
			CHECK_EQ_INT(r[i].res.term_signal, SIGTERM);
		} else {
			CHECK_EQ_INT(r[i].res.term_signal, 0);
		}
	}
	CHECK_EQ_INT(started, 2);
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.cancelled, 5);
	CHECK_EQ_INT(st.ended, 5);
	CHECK_EQ_INT(st.started, 2);
	CHECK_EQ_INT(st.running, 0);
	CHECK_EQ_INT(st.queued, 0);
	art_task_unref(first);
	art_runtime_free(rt);
}

typedef struct cancel_ctx {
	art_task *task;
	art_runtime *rt;
	int delay_ms;
	int what; /* 0: cancel the task, 1: cancel all, 2: stop */
} cancel_ctx;

static void *cancel_thread(void *arg)
{
	cancel_ctx *c = arg;
	usleep((useconds_t)c->delay_ms * 1000);
	if (c->what == 0)
		art_task_cancel(c->task);
	else if (c->what == 1)
		art_runtime_cancel_all(c->rt);
	else
		art_runtime_stop(c->rt);
	return NULL;
}

TEST(cancel_from_another_thread)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 }, b = { 0 };
	art_task *t = NULL;
	submit(rt, new_spec("sleep", "10", NULL), &a, &t);
	submit(rt, new_spec("sleep", "0.05", NULL), &b, NULL);
	cancel_ctx c = { .task = t, .rt = rt, .delay_ms = 200, .what = 0 };
	pthread_t th;
	CHECK_EQ_INT(pthread_create(&th, NULL, cancel_thread, &c), 0);
	int64_t t0 = mono_ns();
	run_to_end(rt);
	int64_t took = mono_ns() - t0;
	CHECK_EQ_INT(pthread_join(th, NULL), 0);
	CHECK_END(&a, ART_END_CANCELLED);
	CHECK_EQ_INT(a.res.term_signal, SIGTERM);
	CHECK(took >= 150 * MS);
	CHECK(took < 3 * SEC);
	CHECK(pthread_equal(a.thread, pthread_self()));
	CHECK_END(&b, ART_END_EXITED);
	art_task_unref(t);

	/* cancel_all from another thread. */
	rec d[3] = { 0 };
	for (int i = 0; i < 3; i++)
		submit(rt, new_spec("sleep", "10", NULL), &d[i], NULL);
	c = (cancel_ctx){ .rt = rt, .delay_ms = 150, .what = 1 };
	CHECK_EQ_INT(pthread_create(&th, NULL, cancel_thread, &c), 0);
	t0 = mono_ns();
	CHECK_EQ_INT(art_runtime_run(rt), 0); /* finish is still requested */
	CHECK_EQ_INT(pthread_join(th, NULL), 0);
	CHECK(mono_ns() - t0 < 3 * SEC);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(d[i].calls, 1);
		CHECK_END(&d[i], ART_END_CANCELLED);
	}
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ free while running */

static bool pids_known(void *arg)
{
	rec *r = arg;
	for (int i = 0; i < 3; i++)
		if (!r[i].pid_from_output)
			return false;
	return true;
}

TEST(free_with_running_tasks_reaps_them)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 3;
	art_runtime *rt = new_rt(&cfg);
	rec r[3] = { 0 }, q = { 0 };
	for (int i = 0; i < 3; i++) {
		art_spec *s = sh_spec("echo $$; exec sleep 100");
		CHECK_EQ_INT(art_spec_set_grace(s, 60 * SEC), 0); /* free must not wait for it */
		submit(rt, s, &r[i], NULL);
	}
	submit(rt, new_spec("sleep", "100", NULL), &q, NULL); /* stays queued */
	step_until(rt, pids_known, r, 5000);
	for (int i = 0; i < 3; i++)
		CHECK(proc_running(r[i].pid_from_output));
	int64_t t0 = mono_ns();
	art_runtime_free(rt);
	CHECK(mono_ns() - t0 < 3 * SEC);
	for (int i = 0; i < 3; i++) {
		/* Our children, reaped by free: gone, not zombies. */
		CHECK_EQ_INT(proc_state(r[i].pid_from_output), 0);
		CHECK_EQ_INT(r[i].calls, 1);
		CHECK_END(&r[i], ART_END_CANCELLED);
		CHECK_EQ_INT(r[i].res.term_signal, SIGKILL);
		CHECK_EQ_INT(r[i].res.pid, r[i].pid_from_output);
	}
	CHECK_EQ_INT(q.calls, 1);
	CHECK_END(&q, ART_END_CANCELLED);
	CHECK_EQ_INT(q.res.started_ns, 0);
	/* No child of ours is left at all. */
	errno = 0;
	CHECK_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
	CHECK_EQ_INT(errno, ECHILD);
}

TEST(stop_from_another_thread)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 };
	art_task *t = NULL;
	submit(rt, new_spec("sleep", "10", NULL), &a, &t);
	cancel_ctx c = { .rt = rt, .delay_ms = 150, .what = 2 };
	pthread_t th;
	CHECK_EQ_INT(pthread_create(&th, NULL, cancel_thread, &c), 0);
	int64_t t0 = mono_ns();
	CHECK_EQ_INT(art_runtime_run(rt), 0); /* no finish: only stop returns */
	CHECK(mono_ns() - t0 >= 100 * MS);
	CHECK(mono_ns() - t0 < 3 * SEC);
	CHECK_EQ_INT(pthread_join(th, NULL), 0);
	/* The task keeps running. */
	CHECK_EQ_INT(art_task_state_get(t), ART_TASK_RUNNING);
	CHECK_EQ_INT(a.calls, 0);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.running, 1);
	art_task_unref(t);
	art_runtime_free(rt);
	CHECK_EQ_INT(a.calls, 1);
	CHECK_END(&a, ART_END_CANCELLED);
	CHECK_EQ_INT(proc_state(a.res.pid), 0);
}

/* A task reference may outlive the runtime (art_task_unref is [any thread]
 * and nothing says it must come first). Under ASan this checks that the
 * last unref does not touch the freed runtime. */
TEST(task_ref_outlives_runtime)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 };
	art_task *t = NULL;
	submit(rt, sh_spec("echo kept"), &a, &t);
	run_to_end(rt);
	art_runtime_free(rt);
	CHECK(art_task_result(t) != NULL);
	CHECK_EQ_INT(art_task_result(t)->end, ART_END_EXITED);
	CHECK_EQ_INT(art_task_result(t)->stdout_tail_len, 5);
	CHECK(memcmp(art_task_result(t)->stdout_tail, "kept\n", 5) == 0);
	art_task_unref(t);
}

/* agentrt.h: tasks are started with PR_SET_PDEATHSIG, which the kernel
 * ties to the starting thread. A task started while one thread drove the
 * loop is killed when that thread exits (documented), and the runtime
 * still reports it properly from the thread that takes over. */
typedef struct stepper {
	art_runtime *rt;
	art_task *task;
	int ok;
} stepper;

static void *stepper_main(void *arg)
{
	stepper *st = arg;
	int64_t end = mono_ns() + 5 * SEC;
	while (art_task_state_get(st->task) != ART_TASK_RUNNING && mono_ns() < end)
		art_runtime_step(st->rt, 20);
	st->ok = art_task_state_get(st->task) == ART_TASK_RUNNING;
	return NULL;
}

TEST(tasks_die_with_their_starting_thread)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 };
	art_task *t = NULL;
	submit(rt, new_spec("sleep", "30", NULL), &a, &t);
	stepper st = { .rt = rt, .task = t };
	pthread_t th;
	CHECK_EQ_INT(pthread_create(&th, NULL, stepper_main, &st), 0);
	CHECK_EQ_INT(pthread_join(th, NULL), 0);
	CHECK(st.ok);
	/* The thread that spawned the task has exited; this one goes on. */
	run_to_end(rt);
	CHECK_END(&a, ART_END_SIGNALED);
	CHECK_EQ_INT(a.res.term_signal, SIGKILL);
	CHECK(a.res.wall_ns < 10 * SEC);
	art_task_unref(t);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ concurrency */

typedef struct ticker {
	unsigned max_running, max_seen;
	unsigned samples;
} ticker;

static void on_tick(art_runtime *rt, int fd, uint32_t events, void *ud)
{
	ticker *tk = ud;
	CHECK(events & EPOLLIN);
	uint64_t n;
	CHECK_EQ_INT(read(fd, &n, sizeof(n)), sizeof(n));
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	tk->samples++;
	if (st.running > tk->max_seen)
		tk->max_seen = st.running;
	CHECK(st.running <= tk->max_running);
}

TEST(max_running_respected)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 3;
	art_runtime *rt = new_rt(&cfg);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	CHECK(tfd >= 0);
	struct itimerspec its = { .it_interval = { 0, 10 * 1000 * 1000 },
				  .it_value = { 0, 10 * 1000 * 1000 } };
	CHECK_EQ_INT(timerfd_settime(tfd, 0, &its, NULL), 0);
	ticker tk = { .max_running = 3 };
	CHECK_EQ_INT(art_runtime_watch_fd(rt, tfd, EPOLLIN, on_tick, &tk), 0);
	rec r[9] = { 0 };
	int64_t t0 = mono_ns();
	for (int i = 0; i < 9; i++)
		submit(rt, new_spec("sleep", "0.3", NULL), &r[i], NULL);
	run_to_end(rt);
	int64_t took = mono_ns() - t0;
	/* Three rounds of 0.3 s. */
	CHECK(took >= 850 * MS);
	CHECK(took < 2500 * MS);
	CHECK(tk.samples >= 20);
	CHECK_EQ_INT(tk.max_seen, 3);
	/* From the results: at each start, at most 3 tasks were alive. */
	for (int i = 0; i < 9; i++) {
		CHECK_END(&r[i], ART_END_EXITED);
		int alive = 0;
		for (int j = 0; j < 9; j++)
			if (r[j].res.started_ns <= r[i].res.started_ns &&
			    r[i].res.started_ns < r[j].res.started_ns + r[j].res.wall_ns)
				alive++;
		CHECK(alive <= 3);
	}
	/* Tasks start in submit order. */
	for (int i = 1; i < 9; i++)
		CHECK(r[i].res.started_ns >= r[i - 1].res.started_ns);
	CHECK_EQ_INT(art_runtime_unwatch_fd(rt, tfd), 0);
	art_runtime_free(rt);
	close(tfd);
}

TEST(set_max_running_changes_the_limit)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	rec r[6] = { 0 };
	for (int i = 0; i < 6; i++)
		submit(rt, new_spec("sleep", "0.3", NULL), &r[i], NULL);
	art_runtime_set_max_running(rt, 6);
	int64_t t0 = mono_ns();
	run_to_end(rt);
	CHECK(mono_ns() - t0 < 900 * MS); /* not six rounds */
	for (int i = 0; i < 6; i++)
		CHECK_END(&r[i], ART_END_EXITED);
	art_runtime_free(rt);
}

#define N_THREADS 8
#define PER_THREAD 125

typedef struct submit_ctx {
	art_runtime *rt;
	const art_spec *spec;
	atomic_int *counts;
	atomic_int *done;
	pthread_barrier_t *barrier;
	int idx;
	int errors;
} submit_ctx;

static void count_exit(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)rt;
	(void)ud;
	atomic_int *c = art_task_userdata(task);
	atomic_fetch_add(c, 1);
	if (res->end != ART_END_EXITED || res->exit_code != 0)
		atomic_fetch_add(c, 1000); /* shows up as a wrong count */
}

static void *submit_thread(void *arg)
{
	submit_ctx *c = arg;
	pthread_barrier_wait(c->barrier);
	for (int i = 0; i < PER_THREAD; i++) {
		art_error err;
		if (art_runtime_submit(c->rt, c->spec, &c->counts[c->idx * PER_THREAD + i], NULL,
				       &err) < 0)
			c->errors++;
		if (i % 16 == 0)
			sched_yield();
	}
	if (atomic_fetch_add(c->done, 1) == N_THREADS - 1)
		art_runtime_finish(c->rt);
	return NULL;
}

TEST(submit_from_many_threads)
{
	art_runtime_config cfg = { .on_exit = count_exit, .max_running = 8 };
	art_runtime *rt = new_rt(&cfg);
	art_spec *spec = new_spec("/bin/true", NULL);
	static atomic_int counts[N_THREADS * PER_THREAD];
	atomic_int done = 0;
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, N_THREADS);
	submit_ctx ctx[N_THREADS];
	pthread_t th[N_THREADS];
	for (int i = 0; i < N_THREADS; i++) {
		ctx[i] = (submit_ctx){ .rt = rt, .spec = spec, .counts = counts, .done = &done,
				       .barrier = &barrier, .idx = i };
		CHECK_EQ_INT(pthread_create(&th[i], NULL, submit_thread, &ctx[i]), 0);
	}
	CHECK_EQ_INT(art_runtime_run(rt), 0);
	for (int i = 0; i < N_THREADS; i++) {
		CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
		CHECK_EQ_INT(ctx[i].errors, 0);
	}
	for (int i = 0; i < N_THREADS * PER_THREAD; i++)
		if (atomic_load(&counts[i]) != 1) {
			fprintf(stderr, "# task %d: on_exit count %d\n", i, atomic_load(&counts[i]));
			CHECK(0);
		}
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.submitted, N_THREADS * PER_THREAD);
	CHECK_EQ_INT(st.started, N_THREADS * PER_THREAD);
	CHECK_EQ_INT(st.ended, N_THREADS * PER_THREAD);
	CHECK_EQ_INT(st.running, 0);
	CHECK_EQ_INT(st.queued, 0);
	art_runtime_free(rt);
	art_spec_free(spec);
	pthread_barrier_destroy(&barrier);
}

/* Tasks submitted from inside on_exit (a retry loop) run too. */
static void chain_exit(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)res;
	int *n = ud;
	(void)task;
	if (++*n < 20) {
		art_spec *s = new_spec("true", NULL);
		CHECK_EQ_INT(art_runtime_submit(rt, s, NULL, NULL, NULL), 0);
		art_spec_free(s);
	}
}

TEST(submit_from_on_exit)
{
	int n = 0;
	art_runtime_config cfg = { .on_exit = chain_exit, .userdata = &n };
	art_runtime *rt = new_rt(&cfg);
	art_spec *s = new_spec("true", NULL);
	CHECK_EQ_INT(art_runtime_submit(rt, s, NULL, NULL, NULL), 0);
	art_spec_free(s);
	run_to_end(rt);
	CHECK_EQ_INT(n, 20);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ descriptors */

TEST(no_fd_leaks_over_many_tasks)
{
	int base = fd_count_open();
	CHECK(base > 0);
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 4;
	art_runtime *rt = new_rt(&cfg);
	rec *r = keep(calloc(500, sizeof(rec)));
	for (int i = 0; i < 500; i++) {
		art_spec *s;
		switch (i % 10) {
		case 3:
			s = new_spec("/nonexistent/binary", NULL);
			break;
		case 5:
			s = new_spec("true", NULL);
			CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_PIPE, NULL, 0, NULL), 0);
			break;
		case 7:
			s = new_spec("cat", NULL);
			CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_BYTES, "xyz\n", 4, NULL), 0);
			break;
		case 9:
			s = sh_spec("echo out; echo err >&2");
			CHECK_EQ_INT(art_spec_set_output(s, ART_STREAM_STDERR, ART_OUTPUT_DISCARD, 0,
							 NULL, 0),
				     0);
			break;
		default:
			s = sh_spec("echo out; echo err >&2");
			break;
		}
		submit(rt, s, &r[i], NULL);
	}
	run_to_end(rt);
	/* The runtime's own descriptors only; none per task. */
	CHECK(fd_count_open() - base <= 8);
	int during = fd_count_open();
	for (int i = 0; i < 500; i++) {
		CHECK_EQ_INT(r[i].calls, 1);
		switch (i % 10) {
		case 3:
			CHECK_END(&r[i], ART_END_START_FAILED);
			break;
		case 5:
			CHECK_END(&r[i], ART_END_EXITED);
			break;
		case 7:
			CHECK_EQ_STR(r[i].out, "xyz\n");
			break;
		case 9:
			CHECK_EQ_STR(r[i].out, "out\n");
			CHECK_EQ_STR(r[i].err, "");
			break;
		default:
			CHECK_EQ_STR(r[i].out, "out\n");
			CHECK_EQ_STR(r[i].err, "err\n");
		}
	}
	/* A second batch on the same runtime keeps the count. */
	for (int i = 0; i < 50; i++)
		submit(rt, sh_spec("echo again"), &r[i], NULL);
	run_to_end(rt);
	CHECK_EQ_INT(fd_count_open(), during);
	art_runtime_free(rt);
	CHECK_EQ_INT(fd_count_open(), base);
}

/* The host's descriptors, inheritable or not, never reach a task. */
TEST(host_fds_not_inherited)
{
	int fd = open("/dev/null", O_RDONLY); /* no O_CLOEXEC */
	CHECK(fd >= 0);
	CHECK_EQ_INT(dup2(fd, 57), 57);
	rec a = { 0 };
	run1(new_spec("ls", "/proc/self/fd", NULL), &a);
	CHECK_END(&a, ART_END_EXITED);
	/* 0, 1, 2, and ls's own directory descriptor. */
	CHECK(has_line(a.out, "0"));
	CHECK(has_line(a.out, "1"));
	CHECK(has_line(a.out, "2"));
	CHECK(!has_line(a.out, "57"));
	if (count_lines(a.out) > 4)
		fprintf(stderr, "# fds: %s\n", a.out);
	CHECK(count_lines(a.out) <= 4);
	close(fd);
	close(57);
}

/* A host with closed stdio: the runtime's pipes may land on 0..2 and must
 * still end up on the right numbers in the task. */
TEST(host_with_closed_stdio)
{
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	rec a = { 0 };
	art_spec *s = sh_spec("cat; echo to-err >&2");
	CHECK_EQ_INT(art_spec_set_stdin(s, ART_STDIN_BYTES, "in-bytes\n", 9, NULL), 0);
	run1(s, &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_STR(a.out, "in-bytes\n");
	CHECK_EQ_STR(a.err, "to-err\n");
}

/* Signal dispositions and the mask of the host do not reach a task. */
TEST(task_signals_start_default)
{
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	CHECK_EQ_INT(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	rec a = { 0 };
	run1(new_spec("grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL), &a);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_EQ_STR(a.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");

	/* TERM is not ignored in the task: a timeout ends it with TERM. */
	rec b = { 0 };
	art_spec *s = new_spec("sleep", "10", NULL);
	CHECK_EQ_INT(art_spec_set_timeout(s, 100 * MS), 0);
	CHECK_EQ_INT(art_spec_set_grace(s, 10 * SEC), 0);
	run1(s, &b);
	CHECK_END(&b, ART_END_TIMEOUT);
	CHECK_EQ_INT(b.res.term_signal, SIGTERM);
	CHECK(b.res.wall_ns < 2 * SEC);
}

/* ------------------------------------------------------------ orphans */

/* A child in a session of its own, out of reach of the group kill; the
 * leader prints its pid and waits until setsid(1) has surely run. */
#define SETSID_SLEEP "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!; sleep 0.3; exit 0"

TEST(kill_orphans_leaves_nothing)
{
	if (under_valgrind())
		SKIP("valgrind does not know pidfd_open");
	art_runtime_config cfg = cfg_default();
	cfg.flags = ART_RT_KILL_ORPHANS;
	/* One at a time, so that each leftover is counted on its own task:
	 * with several leaders ending together, the first sweep takes every
	 * orphan already handed to the runtime, whichever task it came from. */
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	int on = -1;
	CHECK_EQ_INT(prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0), 0);
	CHECK_EQ_INT(on, 1);
	rec a = { 0 }, b = { 0 }, c = { 0 };
	/* A background child in the task's group. */
	submit(rt, sh_spec("sleep 1000 & echo $!; exit 0"), &a, NULL);
	/* One in a session of its own. */
	submit(rt, sh_spec(SETSID_SLEEP), &b, NULL);
	/* A double fork in a new session, the classic daemon. */
	submit(rt, sh_spec("(setsid sh -c 'sleep 1000 & echo $!' </dev/null 2>&1 &); sleep 0.3; exit 0"),
	       &c, NULL);
	run_to_end(rt);
	CHECK_END(&a, ART_END_EXITED);
	CHECK_END(&b, ART_END_EXITED);
	CHECK_END(&c, ART_END_EXITED);
	int pa = atoi(a.out), pb = atoi(b.out), pc = atoi(c.out);
	CHECK(pa > 0 && pb > 0 && pc > 0);
	/* Whatever outlived a leader was killed when the task ended. */
	CHECK(b.res.orphans_killed >= 1);
	CHECK(c.res.orphans_killed >= 1);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK(st.orphans_killed >= 2);
	CHECK(!proc_running(pa));
	CHECK(!proc_running(pb));
	CHECK(!proc_running(pc));
	art_runtime_free(rt);
	/* Reaped, not left as zombies: they were our children. */
	CHECK(wait_gone(pa, 2000));
	CHECK(wait_gone(pb, 2000));
	CHECK(wait_gone(pc, 2000));
	CHECK_EQ_INT(prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0), 0);
	CHECK_EQ_INT(on, 0);
	errno = 0;
	CHECK_EQ_INT(waitpid(-1, NULL, WNOHANG), -1);
	CHECK_EQ_INT(errno, ECHILD);
}

/* Makes pidfd_open fail with EMFILE in this process (and its tasks), as it
 * does for a host near its descriptor limit. */
static bool fail_pidfd_open(void)
{
#if defined(__x86_64__)
	const uint32_t arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	const uint32_t arch = AUDIT_ARCH_AARCH64;
#else
	return false;
#endif
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pidfd_open, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EMFILE & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return false;
	errno = 0;
	return syscall(SYS_pidfd_open, getpid(), 0) < 0 && errno == EMFILE;
}

/* ART_RT_KILL_ORPHANS when no pidfd can be opened for an orphan: it is our
 * own child, so its pid is safe to signal until we reap it, and it must
 * not be left running. */
TEST(orphan_killed_without_pidfd)
{
	if (under_valgrind())
		SKIP("valgrind does not know pidfd_open");
	if (!fail_pidfd_open())
		SKIP("cannot install a seccomp filter");
	art_runtime_config cfg = cfg_default();
	cfg.flags = ART_RT_KILL_ORPHANS;
	art_runtime *rt = new_rt(&cfg);
	rec a = { 0 };
	submit(rt, sh_spec(SETSID_SLEEP), &a, NULL);
	run_to_end(rt);
	art_runtime_free(rt);
	CHECK_END(&a, ART_END_EXITED);
	int pid = atoi(a.out);
	CHECK(pid > 0);
	bool stopped = wait_not_running(pid, 1000);
	if (!stopped) {
		fprintf(stderr, "# the orphan %d is still running (state %c), orphans_killed %d\n",
			pid, proc_state(pid), a.res.orphans_killed);
		/* It is in a session of its own: the harness would not get it. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	CHECK(stopped);
	CHECK(a.res.orphans_killed >= 1);
}

/* Without ART_RT_KILL_ORPHANS the task's process group still goes down
 * with it. */
TEST(group_killed_without_flag)
{
	rec a = { 0 };
	run1(sh_spec("sleep 1000 & echo $!; exit 0"), &a);
	CHECK_END(&a, ART_END_EXITED);
	int pid = atoi(a.out);
	CHECK(pid > 0);
	CHECK(wait_not_running(pid, 2000));
	CHECK_EQ_INT(a.res.orphans_killed, 0);
}

/* Without ART_RT_KILL_ORPHANS the runtime must never reap or signal a
 * child the host started itself. */
TEST(host_children_untouched)
{
	pid_t slow = fork();
	CHECK(slow >= 0);
	if (slow == 0) {
		usleep(700 * 1000);
		_exit(42);
	}
	pid_t quick = fork();
	CHECK(quick >= 0);
	if (quick == 0)
		_exit(43);
	pid_t hang = fork();
	CHECK(hang >= 0);
	if (hang == 0) {
		for (;;)
			pause();
	}
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 2;
	art_runtime *rt = new_rt(&cfg);
	rec r[6] = { 0 };
	for (int i = 0; i < 5; i++)
		submit(rt, new_spec("sleep", "0.3", NULL), &r[i], NULL);
	submit(rt, sh_spec("sleep 1000 & exit 0"), &r[5], NULL);
	run_to_end(rt);
	for (int i = 0; i < 6; i++)
		CHECK_END(&r[i], ART_END_EXITED);
	/* The quick one is a zombie that nobody collected. */
	CHECK_EQ_INT(proc_state(quick), 'Z');
	CHECK(proc_running(hang));
	art_runtime_free(rt);
	CHECK(proc_running(hang));
	int st = 0;
	CHECK_EQ_INT(waitpid(slow, &st, 0), slow);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 42);
	CHECK_EQ_INT(waitpid(quick, &st, 0), quick);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 43);
	kill(hang, SIGKILL);
	CHECK_EQ_INT(waitpid(hang, &st, 0), hang);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* ------------------------------------------------------------ watches */

typedef struct watch_ctx {
	int calls;
	uint32_t events;
	uint64_t value;
	pthread_t thread;
	bool unwatch;
} watch_ctx;

static void on_event(art_runtime *rt, int fd, uint32_t events, void *ud)
{
	watch_ctx *w = ud;
	w->calls++;
	w->events = events;
	w->thread = pthread_self();
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		w->value += v;
	if (w->unwatch)
		CHECK_EQ_INT(art_runtime_unwatch_fd(rt, fd), 0);
	art_runtime_stop(rt);
}

typedef struct poke_ctx {
	int fd;
	int delay_ms;
} poke_ctx;

static void *poke_thread(void *arg)
{
	poke_ctx *p = arg;
	usleep((useconds_t)p->delay_ms * 1000);
	uint64_t one = 1;
	CHECK_EQ_INT(write(p->fd, &one, sizeof(one)), sizeof(one));
	return NULL;
}

TEST(watch_fd_runs_on_loop_thread)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK(efd >= 0);
	watch_ctx w = { 0 };
	CHECK_EQ_INT(art_runtime_watch_fd(rt, efd, EPOLLIN, on_event, &w), 0);
	/* Watching the same descriptor twice fails. */
	CHECK(art_runtime_watch_fd(rt, efd, EPOLLIN, on_event, &w) < 0);
	poke_ctx p = { .fd = efd, .delay_ms = 100 };
	pthread_t th;
	CHECK_EQ_INT(pthread_create(&th, NULL, poke_thread, &p), 0);
	int64_t t0 = mono_ns();
	CHECK_EQ_INT(art_runtime_run(rt), 0); /* until on_event stops it */
	CHECK(mono_ns() - t0 >= 80 * MS);
	CHECK_EQ_INT(pthread_join(th, NULL), 0);
	CHECK_EQ_INT(w.calls, 1);
	CHECK(w.events & EPOLLIN);
	CHECK_EQ_INT(w.value, 1);
	CHECK(pthread_equal(w.thread, pthread_self()));

	/* Unwatching from inside the callback: no more calls. */
	w = (watch_ctx){ .unwatch = true };
	uint64_t one = 1;
	CHECK_EQ_INT(write(efd, &one, sizeof(one)), sizeof(one));
	CHECK_EQ_INT(art_runtime_run(rt), 0);
	CHECK_EQ_INT(w.calls, 1);
	CHECK_EQ_INT(write(efd, &one, sizeof(one)), sizeof(one));
	for (int i = 0; i < 5; i++)
		art_runtime_step(rt, 10);
	CHECK_EQ_INT(w.calls, 1);
	CHECK_EQ_INT(art_runtime_unwatch_fd(rt, efd), -ENOENT);

	/* A pipe with a task running beside it. */
	int pp[2];
	CHECK_EQ_INT(pipe2(pp, O_CLOEXEC | O_NONBLOCK), 0);
	watch_ctx w2 = { 0 };
	CHECK_EQ_INT(art_runtime_watch_fd(rt, pp[0], EPOLLIN, on_event, &w2), 0);
	rec a = { 0 };
	submit(rt, new_spec("sleep", "0.05", NULL), &a, NULL);
	CHECK_EQ_INT(write(pp[1], "12345678", 8), 8);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
	CHECK_EQ_INT(w2.calls, 1);
	CHECK(pthread_equal(w2.thread, pthread_self()));
	CHECK_EQ_INT(art_runtime_unwatch_fd(rt, pp[0]), 0);
	run_to_end(rt);
	CHECK_END(&a, ART_END_EXITED);
	art_runtime_free(rt);
	/* The runtime does not own watched descriptors. */
	CHECK(fcntl(efd, F_GETFD) >= 0);
	CHECK(fcntl(pp[0], F_GETFD) >= 0);
	close(efd);
	close(pp[0]);
	close(pp[1]);
}

/* ------------------------------------------------------------ stats */

TEST(stats_counters)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	rec r[4] = { 0 };
	art_task *t3 = NULL;
	submit(rt, new_spec("true", NULL), &r[0], NULL);
	submit(rt, new_spec("/nonexistent/x", NULL), &r[1], NULL);
	art_spec *s = new_spec("sleep", "10", NULL);
	CHECK_EQ_INT(art_spec_set_timeout(s, 100 * MS), 0);
	submit(rt, s, &r[2], NULL);
	submit(rt, new_spec("true", NULL), &r[3], &t3);
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.submitted, 4);
	CHECK_EQ_INT(st.started, 0);
	art_task_cancel(t3);
	run_to_end(rt);
	CHECK_END(&r[0], ART_END_EXITED);
	CHECK_END(&r[1], ART_END_START_FAILED);
	CHECK_END(&r[2], ART_END_TIMEOUT);
	CHECK_END(&r[3], ART_END_CANCELLED);
	art_runtime_stats_get(rt, &st);
	CHECK_EQ_INT(st.submitted, 4);
	CHECK_EQ_INT(st.started, 2);
	CHECK_EQ_INT(st.start_failures, 1);
	CHECK_EQ_INT(st.timeouts, 1);
	CHECK_EQ_INT(st.cancelled, 1);
	CHECK_EQ_INT(st.ended, 4);
	CHECK_EQ_INT(st.running, 0);
	CHECK_EQ_INT(st.queued, 0);
	CHECK_EQ_INT(st.orphans_killed, 0);
	art_task_unref(t3);
	art_runtime_free(rt);
}

TEST(stats_pool_reuse)
{
	art_runtime_config cfg = cfg_default();
	cfg.max_running = 1;
	art_runtime *rt = new_rt(&cfg);
	rec r[50] = { 0 };
	for (int i = 0; i < 50; i++)
		submit(rt, sh_spec("echo hello; echo world >&2"), &r[i], NULL);
	run_to_end(rt);
	for (int i = 0; i < 50; i++)
		CHECK_EQ_STR(r[i].out, "hello\n");
	art_runtime_stats st;
	art_runtime_stats_get(rt, &st);
	/* Two chunks per task, back in the pool at its end. */
	CHECK(st.pool_misses <= 4);
	CHECK(st.pool_hits >= 2 * 50 - 4);
	CHECK_EQ_INT(st.pool_hits + st.pool_misses, 100);
	CHECK(st.pool_bytes > 0);
	CHECK(st.pool_bytes <= st.pool_misses * 4096);
	art_runtime_free(rt);
}

TEST(step_reports_idle)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	CHECK(art_runtime_fd(rt) >= 0);
	CHECK_EQ_INT(art_runtime_step(rt, 0), 0);
	rec a = { 0 };
	art_task *t = NULL;
	submit(rt, new_spec("sleep", "0.1", NULL), &a, &t);
	CHECK_EQ_INT(art_runtime_step(rt, 0), 1);
	int64_t end = mono_ns() + 5 * SEC;
	int r;
	while ((r = art_runtime_step(rt, 50)) == 1)
		CHECK(mono_ns() < end);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(a.calls, 1);
	CHECK_END(&a, ART_END_EXITED);
	CHECK(art_task_result(t) != NULL);
	CHECK(art_task_result(t)->wall_ns >= 90 * MS);
	art_task_unref(t);
	art_runtime_free(rt);
}

/* The spec is copied at submit: changing or freeing it later changes
 * nothing for the task. */
TEST(spec_copied_at_submit)
{
	art_runtime_config cfg = cfg_default();
	art_runtime *rt = new_rt(&cfg);
	art_spec *s = new_spec("echo", "first", NULL);
	CHECK_EQ_INT(art_spec_set_id(s, "task-1"), 0);
	rec a = { 0 };
	art_task *t = NULL;
	CHECK_EQ_INT(art_runtime_submit(rt, s, &a, &t, NULL), 0);
	const char *argv2[] = { "echo", "second", NULL };
	CHECK_EQ_INT(art_spec_set_argv(s, argv2), 0);
	CHECK_EQ_INT(art_spec_set_id(s, "task-2"), 0);
	art_spec_free(s);
	CHECK_EQ_STR(art_task_id(t), "task-1");
	CHECK(art_task_userdata(t) == &a);
	run_to_end(rt);
	CHECK_EQ_STR(a.out, "first\n");
	CHECK_EQ_STR(art_spec_argv(art_task_spec(t))[1], "first");
	art_task_unref(t);

	/* A spec without argv is refused. */
	art_spec *empty = NULL;
	CHECK_EQ_INT(art_spec_new(&empty), 0);
	art_error err;
	art_error_clear(&err);
	CHECK_EQ_INT(art_runtime_submit(rt, empty, NULL, NULL, &err), -EINVAL);
	CHECK_EQ_INT(err.code, -EINVAL);
	CHECK(err.msg[0] != 0);
	art_spec_free(empty);
	art_runtime_free(rt);
}
