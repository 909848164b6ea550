/* SPDX-License-Identifier: MIT */
/*
 * Sessions (docs/sessions.md): the JSON-line scanner, then tasks spoken to
 * through art_task_send and on_message, with tests/fake_agent.py as the
 * agent: requests from several threads matched by id, plain lines, the
 * counters, end of input, the errors, a burst that must not block the
 * loop, a reader that goes away.
 */
#include <agentrt.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/jsonscan.h"
#include "base/time.h"
#include "tap.h"

#define MS NSEC_PER_MSEC

/* ------------------------------------------------------------ scanner */

static bool scan(const char *s)
{
	return json_object_scan(s, strlen(s), NULL);
}

TEST(scan_accepts_objects)
{
	CHECK(scan("{}"));
	CHECK(scan(" \t{ }\r\n"));
	CHECK(scan("{\"a\":1}"));
	CHECK(scan("{\"a\":[1,-2.5e+3,{\"b\":null},true,false,\"\"],\"c\":{}}"));
	CHECK(scan("{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"}"));
	CHECK(scan("{\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"));
	CHECK(scan("{\"a\":0,\"b\":-0,\"c\":0.5,\"d\":1E9,\"e\":[]}"));
	CHECK(scan("{\"a\" : [ 1 , 2 ] , \"b\" : { \"c\" : [ ] } }"));
}

TEST(scan_rejects_the_rest)
{
	static const char *const bad[] = {
		"", " ", "[]", "1", "\"s\"", "null", "{", "}", "{\"a\"}", "{\"a\":}",
		"{\"a\":1,}", "{,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}",
		"{\"a\":1e}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":\"\x01\"}", "{\"a\":\"\\q\"}",
		"{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"\xff\"}",
		"{\"a\":\"\xc0\xaf\"}", /* overlong */
		"{\"a\":\"\xed\xa0\x80\"}", /* a surrogate in UTF-8 */
		"{} {}", "{}x", "{\"a\":[1,]}", "{\"a\":[}", "{\"a\":1]", "{\"a\":[1}",
		"{1:2}", "{'a':1}", "{\"a\":\"unterminated}", "{\"a\":+1}", "{\"a\":NaN}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (scan(bad[i])) {
			fprintf(stderr, "# accepted: %s\n", bad[i]);
			CHECK(!"a bad line was accepted");
		}
	}
	/* A NUL inside is not JSON either. */
	CHECK(!json_object_scan("{\"a\":1}\0", 8, NULL));
	CHECK(!json_object_scan("{\"a\":\"\0\"}", 8, NULL));
}

TEST(scan_depth_is_bounded)
{
	/* The top object and 1023 arrays: the limit. One more is refused. */
	static char buf[2 * JSONSCAN_DEPTH_MAX + 16];
	size_t n = 0;
	buf[n++] = '{';
	memcpy(buf + n, "\"a\":", 4);
	n += 4;
	for (int i = 0; i < JSONSCAN_DEPTH_MAX - 1; i++)
		buf[n++] = '[';
	for (int i = 0; i < JSONSCAN_DEPTH_MAX - 1; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	CHECK(json_object_scan(buf, n, NULL));

	n = 0;
	buf[n++] = '{';
	memcpy(buf + n, "\"a\":", 4);
	n += 4;
	for (int i = 0; i < JSONSCAN_DEPTH_MAX; i++)
		buf[n++] = '[';
	for (int i = 0; i < JSONSCAN_DEPTH_MAX; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	CHECK(!json_object_scan(buf, n, NULL));
}

/* The top-level id as on_message would get it ("" for none). */
static const char *scan_id(const char *s, char *out)
{
	json_id id;
	CHECK(json_object_scan(s, strlen(s), &id));
	if (id.kind == JSON_ID_NONE)
		return "";
	if (id.kind == JSON_ID_INTEGER) {
		memcpy(out, id.p, id.len);
		out[id.len] = 0;
		return out;
	}
	long n = json_string_decode(id.p, id.len, out);
	if (n < 0)
		return "<nul>";
	CHECK((size_t)n <= id.len);
	out[n] = 0;
	return out;
}

TEST(scan_finds_the_id)
{
	char b[64];
	CHECK_EQ_STR(scan_id("{\"id\":5}", b), "5");
	CHECK_EQ_STR(scan_id("{\"id\":-12,\"x\":1}", b), "-12");
	CHECK_EQ_STR(scan_id("{\"a\":[1],\"id\":\"req-7\"}", b), "req-7");
	CHECK_EQ_STR(scan_id("{\"id\":\"x\\\"y\\n\"}", b), "x\"y\n");
	CHECK_EQ_STR(scan_id("{\"id\":\"\\u00e9\\ud83d\\ude00\"}", b), "\xc3\xa9\xf0\x9f\x98\x80");
	CHECK_EQ_STR(scan_id("{\"id\":\"\\ud800\"}", b), "\xef\xbf\xbd"); /* lone surrogate */
	CHECK_EQ_STR(scan_id("{\"id\":\"a\\u0000b\"}", b), "<nul>");
	CHECK_EQ_STR(scan_id("{\"\\u0069d\":7}", b), "7");
	CHECK_EQ_STR(scan_id("{\"id\":1.5}", b), "");
	CHECK_EQ_STR(scan_id("{\"id\":1e3}", b), "");
	CHECK_EQ_STR(scan_id("{\"id\":null}", b), "");
	CHECK_EQ_STR(scan_id("{\"id\":{\"id\":3}}", b), "");
	CHECK_EQ_STR(scan_id("{\"a\":{\"id\":3}}", b), "");
	CHECK_EQ_STR(scan_id("{\"a\":[{\"id\":3}]}", b), "");
	CHECK_EQ_STR(scan_id("{\"id\":1,\"id\":\"two\"}", b), "two");
	CHECK_EQ_STR(scan_id("{\"id\":1,\"id\":null}", b), "");
	CHECK_EQ_STR(scan_id("{\"idx\":1,\"i\":2}", b), "");
}

/* ------------------------------------------------------------ helpers */

static const char *python(void)
{
	return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* tests/fake_agent.py: from the checkout (make runs the tests there), else
 * next to the build tree (build/tests/test_session). */
static const char *agent_path(void)
{
	static char path[PATH_MAX];
	if (access("tests/fake_agent.py", R_OK) == 0)
		return "tests/fake_agent.py";
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(n > 0);
	exe[n] = 0;
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(exe, '/');
		CHECK(slash != NULL);
		*slash = 0;
	}
	if ((size_t)snprintf(path, sizeof(path), "%.*s/tests/fake_agent.py", PATH_MAX - 32, exe) >=
		    sizeof(path) ||
	    access(path, R_OK) != 0)
		SKIP("tests/fake_agent.py not found");
	return path;
}

/* A session spec for the fake agent; extra arguments end with NULL. */
static art_spec *agent_spec(const char *arg, ...)
{
	const char *argv[16] = { python(), agent_path() };
	size_t n = 2;
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a && n < 15; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	CHECK_EQ_INT(art_spec_set_session(s, 1), 0);
	CHECK_EQ_INT(art_spec_session(s), 1);
	return s;
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
	return rt;
}

static art_task *submit(art_runtime *rt, art_spec *spec, void *ud)
{
	art_task *t = NULL;
	art_error err;
	art_error_clear(&err);
	int r = art_runtime_submit(rt, spec, ud, &t, &err);
	if (r < 0) {
		fprintf(stderr, "# art_runtime_submit: %d %s\n", r, err.msg);
		exit(1);
	}
	art_spec_free(spec);
	return t;
}

static int send_str(art_task *t, const char *line)
{
	return art_task_send(t, line, strlen(line));
}

/* What the callbacks saw of one task. */
typedef struct sess {
	art_task *task;
	int answers[100];
	int answered;
	int json_lines, plain_lines, progress, ready, eof_handled;
	bool bye; /* the exit request was answered */
	char last_plain[128];
	char sink[256]; /* the sink's report */
	/* on_exit */
	int exited;
	art_result res;
	uint64_t sent, received;
	int64_t exit_ns;
	int send_after_close; /* art_task_send right after art_task_close_stdin */
} sess;

static void on_exit_rec(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)rt;
	(void)ud;
	sess *s = art_task_userdata(task);
	s->exited++;
	s->res = *res;
	s->res.stdout_tail = s->res.stderr_tail = NULL;
	s->exit_ns = mono_ns();
	if (art_spec_session(art_task_spec(task)))
		CHECK_EQ_INT(art_task_session_stats(task, &s->sent, &s->received), 0);
	else
		CHECK_EQ_INT(art_task_session_stats(task, &s->sent, &s->received), -EINVAL);
}

/* ------------------------------------------------------------ requests */

#define N_REQ 100
#define N_THREADS 4

static void on_message_req(art_runtime *rt, art_task *task, const char *line, size_t len,
			   int is_json, const char *id, void *ud)
{
	(void)rt;
	(void)ud;
	sess *s = art_task_userdata(task);
	CHECK(line[len] == 0 && strlen(line) == len);
	if (!is_json) {
		CHECK(id == NULL);
		s->plain_lines++;
		CHECK(strncmp(line, "log: handled ", 13) == 0);
		return;
	}
	s->json_lines++;
	if (!id) {
		if (strstr(line, "\"event\":\"progress\""))
			s->progress++;
		else if (strstr(line, "\"event\":\"ready\""))
			s->ready++;
		else
			CHECK(!"unexpected message without id");
		return;
	}
	if (strcmp(id, "exit-1") == 0) {
		CHECK_EQ_STR(line, "{\"id\":\"exit-1\",\"result\":\"bye\"}");
		s->bye = true;
		return;
	}
	char *end;
	long n = strtol(id, &end, 10);
	CHECK(*end == 0 && n >= 0 && n < N_REQ);
	char want[128];
	snprintf(want, sizeof(want), "{\"id\":%ld,\"result\":{\"n\":%ld,\"s\":\"x%ld\"}}", n, n, n);
	CHECK_EQ_STR(line, want);
	s->answers[n]++;
	if (++s->answered == N_REQ)
		CHECK_EQ_INT(send_str(task, "{\"id\":\"exit-1\",\"method\":\"exit\",\"params\":{\"code\":3}}"),
			     0);
}

typedef struct sender {
	art_task *task;
	int first, count;
} sender;

static void *send_requests(void *arg)
{
	sender *w = arg;
	char line[128];
	for (int i = w->first; i < w->first + w->count; i++) {
		/* Half of them with their newline, half without. */
		int n = snprintf(line, sizeof(line),
				 "{\"id\":%d,\"method\":\"echo\",\"params\":{\"n\":%d,\"s\":\"x%d\"}}%s",
				 i, i, i, i % 2 ? "\n" : "");
		CHECK_EQ_INT(art_task_send(w->task, line, (size_t)n), 0);
	}
	return NULL;
}

TEST(requests_from_threads_are_answered_once_each)
{
	art_runtime_config cfg = { .on_exit = on_exit_rec, .on_message = on_message_req };
	art_runtime *rt = new_rt(&cfg);
	sess s = { 0 };
	s.task = submit(rt, agent_spec(NULL), &s);
	CHECK_EQ_INT(art_task_stdin_fd(s.task), -1);

	/* The threads send while the task is queued, starting and running. */
	pthread_t th[N_THREADS];
	sender w[N_THREADS];
	for (int i = 0; i < N_THREADS; i++) {
		w[i] = (sender){ s.task, i * (N_REQ / N_THREADS), N_REQ / N_THREADS };
		CHECK_EQ_INT(pthread_create(&th[i], NULL, send_requests, &w[i]), 0);
	}
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
	for (int i = 0; i < N_THREADS; i++)
		CHECK_EQ_INT(pthread_join(th[i], NULL), 0);

	CHECK_EQ_INT(s.exited, 1);
	CHECK_EQ_INT(s.res.end, ART_END_EXITED);
	CHECK_EQ_INT(s.res.exit_code, 3);
	for (int i = 0; i < N_REQ; i++)
		CHECK_EQ_INT(s.answers[i], 1);
	CHECK(s.bye);
	CHECK_EQ_INT(s.ready, 1);
	CHECK_EQ_INT(s.progress, N_REQ / 10);
	CHECK_EQ_INT(s.plain_lines, N_REQ / 10); /* not delivered as JSON */
	CHECK_EQ_INT(s.json_lines, 1 + N_REQ + N_REQ / 10 + 1);
	CHECK_EQ_INT(s.sent, N_REQ + 1);
	CHECK_EQ_INT(s.received, (uint64_t)s.json_lines);
	/* on_output still saw every byte: the record counts them. */
	CHECK(s.res.stdout_bytes > (uint64_t)N_REQ * 30);

	/* The task ended: the channel is closed. */
	CHECK_EQ_INT(send_str(s.task, "{\"id\":1}"), -EPIPE);
	art_task_unref(s.task);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ end of input */

static void on_message_close(art_runtime *rt, art_task *task, const char *line, size_t len,
			     int is_json, const char *id, void *ud)
{
	(void)rt;
	(void)ud;
	(void)len;
	sess *s = art_task_userdata(task);
	if (!is_json) {
		CHECK(id == NULL);
		s->plain_lines++;
		snprintf(s->last_plain, sizeof(s->last_plain), "%s", line);
		return;
	}
	s->json_lines++;
	if (strstr(line, "\"event\":\"ready\"")) {
		/* From the loop thread: three requests, then end of input. The
		 * requests are written before the end of file. */
		CHECK_EQ_INT(send_str(task, "{\"id\":1,\"method\":\"echo\",\"params\":1}"), 0);
		CHECK_EQ_INT(send_str(task, "{\"id\":\"L\",\"method\":\"log\",\"params\":"
					    "{\"text\":\"{not json\"}}"),
			     0);
		CHECK_EQ_INT(send_str(task, "{\"id\":3,\"method\":\"nope\"}\n"), 0);
		art_task_close_stdin(task);
		s->send_after_close = send_str(task, "{\"id\":4}");
		s->ready++;
	} else if (strstr(line, "\"event\":\"eof\"")) {
		CHECK(id == NULL);
		CHECK_EQ_STR(line, "{\"event\":\"eof\",\"handled\":3}");
		s->eof_handled = 3;
	} else if (strstr(line, "\"event\":\"tail\"")) {
		/* The last line had no newline: it still comes, whole. */
		CHECK_EQ_STR(line, "{\"event\":\"tail\"}");
		s->bye = true;
	} else if (id) {
		s->answered++;
		if (strcmp(id, "3") == 0)
			CHECK(strstr(line, "\"error\"") != NULL);
		else if (strcmp(id, "L") == 0)
			CHECK_EQ_STR(s->last_plain, "{not json"); /* came first, as plain */
		else
			CHECK_EQ_STR(id, "1");
	}
}

TEST(close_stdin_writes_what_was_sent_then_eof)
{
	art_runtime_config cfg = { .on_exit = on_exit_rec, .on_message = on_message_close };
	art_runtime *rt = new_rt(&cfg);
	sess s = { 0 };
	s.task = submit(rt, agent_spec("--trailing", "{\"event\":\"tail\"}", NULL), &s);
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
	CHECK_EQ_INT(s.exited, 1);
	CHECK_EQ_INT(s.res.end, ART_END_EXITED);
	CHECK_EQ_INT(s.res.exit_code, 0);
	CHECK_EQ_INT(s.send_after_close, -EPIPE);
	CHECK_EQ_INT(s.answered, 3);
	CHECK_EQ_INT(s.eof_handled, 3);
	CHECK(s.bye);
	CHECK_EQ_INT(s.plain_lines, 1);
	CHECK_EQ_INT(s.sent, 3);
	CHECK_EQ_INT(s.received, 6); /* ready, 3 answers, eof, tail */
	art_task_unref(s.task);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ errors */

TEST(send_errors)
{
	art_runtime_config cfg = { .on_exit = on_exit_rec };
	art_runtime *rt = new_rt(&cfg);
	sess a = { 0 }, b = { 0 };

	art_spec *plain = NULL;
	CHECK_EQ_INT(art_spec_new(&plain), 0);
	CHECK_EQ_INT(art_spec_set_argv(plain, (const char *const[]){ "true", NULL }), 0);
	CHECK_EQ_INT(art_spec_session(plain), 0);
	a.task = submit(rt, plain, &a);
	CHECK_EQ_INT(send_str(a.task, "{}"), -EINVAL); /* not a session */
	uint64_t x;
	CHECK_EQ_INT(art_task_session_stats(a.task, &x, &x), -EINVAL);

	b.task = submit(rt, agent_spec(NULL), &b);
	CHECK_EQ_INT(send_str(b.task, "{\"a\":1}\n{\"b\":2}"), -EINVAL);
	CHECK_EQ_INT(send_str(b.task, "{\"a\":1}\n\n"), -EINVAL);
	CHECK_EQ_INT(send_str(b.task, "\n{}"), -EINVAL);
	CHECK_EQ_INT(art_task_send(b.task, NULL, 1), -EINVAL);
	CHECK_EQ_INT(send_str(b.task, "{\"id\":1}\n"), 0);
	CHECK_EQ_INT(send_str(b.task, ""), 0); /* an empty line is a line */
	CHECK_EQ_INT(art_task_session_stats(b.task, NULL, NULL), 0);

	/* The queue is bounded: lines pile up while the task waits. */
	size_t len = 1u << 20;
	char *big = malloc(len);
	CHECK(big != NULL);
	memset(big, 'x', len);
	size_t accepted = 0;
	int r;
	while ((r = art_task_send(b.task, big, len)) == 0)
		accepted += len + 1;
	CHECK_EQ_INT(r, -ENOBUFS);
	CHECK(accepted + len + 1 > ART_SESSION_QUEUE_MAX - 100);
	CHECK(accepted <= ART_SESSION_QUEUE_MAX);
	/* Smaller lines still fit into what is left. */
	CHECK_EQ_INT(send_str(b.task, "{}"), 0);
	free(big);

	/* Freed with everything queued: the tasks are cancelled. */
	art_runtime_free(rt);
	CHECK_EQ_INT(b.exited, 1);
	CHECK_EQ_INT(b.res.end, ART_END_CANCELLED);
	CHECK_EQ_INT(b.sent, 0);
	CHECK_EQ_INT(send_str(b.task, "{}"), -EPIPE);
	art_task_unref(a.task);
	art_task_unref(b.task);
}

TEST(spec_json_session)
{
	art_spec *s = NULL;
	art_error err;
	const char *j = "{\"cmd\":[\"agent\"],\"session\":true}";
	CHECK_EQ_INT(art_spec_from_json(j, strlen(j), &s, &err), 0);
	CHECK_EQ_INT(art_spec_session(s), 1);
	art_spec *c = NULL;
	CHECK_EQ_INT(art_spec_clone(s, &c), 0);
	CHECK_EQ_INT(art_spec_session(c), 1);
	art_spec_free(c);
	art_spec_free(s);
	s = NULL;
	j = "{\"cmd\":[\"agent\"],\"session\":false}";
	CHECK_EQ_INT(art_spec_from_json(j, strlen(j), &s, &err), 0);
	CHECK_EQ_INT(art_spec_session(s), 0);
	art_spec_free(s);
	s = NULL;
	j = "{\"cmd\":[\"agent\"],\"session\":\"yes\"}";
	CHECK_EQ_INT(art_spec_from_json(j, strlen(j), &s, &err), -EINVAL);
	CHECK(strstr(err.msg, "session") != NULL);
}

/* ------------------------------------------------------------ a burst */

#define BURST_LINES 100
#define BURST_LINE (100 * 1000)

typedef struct burst {
	art_task *task;
	int efd; /* written when every line is queued */
} burst;

static void *send_burst(void *arg)
{
	burst *b = arg;
	char *line = malloc(BURST_LINE + 1);
	CHECK(line != NULL);
	for (int i = 0; i < BURST_LINES; i++) {
		int n = snprintf(line, 32, "{\"i\":%d,\"pad\":\"", i);
		memset(line + n, 'p', BURST_LINE - n - 2);
		memcpy(line + BURST_LINE - 2, "\"}", 2);
		int r;
		while ((r = art_task_send(b->task, line, BURST_LINE)) == -ENOBUFS)
			usleep(1000);
		CHECK_EQ_INT(r, 0);
	}
	free(line);
	uint64_t one = 1;
	CHECK(write(b->efd, &one, sizeof(one)) == sizeof(one));
	return NULL;
}

/* On the loop: every line is queued, so the input may end. */
static void on_burst_queued(art_runtime *rt, int fd, uint32_t events, void *ud)
{
	(void)events;
	uint64_t v;
	CHECK(read(fd, &v, sizeof(v)) == sizeof(v));
	art_task_close_stdin(((burst *)ud)->task);
	art_runtime_unwatch_fd(rt, fd);
}

static void on_message_sink(art_runtime *rt, art_task *task, const char *line, size_t len,
			    int is_json, const char *id, void *ud)
{
	(void)rt;
	(void)ud;
	(void)len;
	(void)id;
	sess *s = art_task_userdata(task);
	if (is_json && strstr(line, "\"event\":\"sink\""))
		snprintf(s->sink, sizeof(s->sink), "%s", line);
}

TEST(burst_does_not_block_the_loop)
{
	art_runtime_config cfg = {
		.max_running = 4, .on_exit = on_exit_rec, .on_message = on_message_sink
	};
	art_runtime *rt = new_rt(&cfg);
	sess a = { 0 }, b = { 0 };
	/* The agent reads nothing for 1.5 s: the pipe is full long before. */
	a.task = submit(rt, agent_spec("--slow-start", "1.5", "--sink", NULL), &a);
	art_spec *timer = NULL;
	CHECK_EQ_INT(art_spec_new(&timer), 0);
	CHECK_EQ_INT(art_spec_set_argv(timer, (const char *const[]){ "sleep", "10", NULL }), 0);
	CHECK_EQ_INT(art_spec_set_timeout(timer, 300 * MS), 0);
	CHECK_EQ_INT(art_spec_set_grace(timer, 0), 0);
	int64_t t0 = mono_ns();
	b.task = submit(rt, timer, &b);

	burst bu = { a.task, eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	CHECK(bu.efd >= 0);
	CHECK_EQ_INT(art_runtime_watch_fd(rt, bu.efd, EPOLLIN, on_burst_queued, &bu), 0);
	pthread_t th;
	CHECK_EQ_INT(pthread_create(&th, NULL, send_burst, &bu), 0);
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
	CHECK_EQ_INT(pthread_join(th, NULL), 0);
	close(bu.efd);

	/* The other task's timeout fired on time while the burst waited. */
	CHECK_EQ_INT(b.res.end, ART_END_TIMEOUT);
	int64_t late_ms = (b.exit_ns - t0) / MS;
	fprintf(stderr, "# timeout reported after %lld ms\n", (long long)late_ms);
	CHECK(late_ms < 1200);
	/* And the burst arrived whole. */
	CHECK_EQ_INT(a.res.end, ART_END_EXITED);
	CHECK_EQ_INT(a.res.exit_code, 0);
	char want[128];
	snprintf(want, sizeof(want), "{\"event\":\"sink\",\"bytes\":%d,\"lines\":%d,\"json\":%d}",
		 BURST_LINES * (BURST_LINE + 1), BURST_LINES, BURST_LINES);
	CHECK_EQ_STR(a.sink, want);
	CHECK_EQ_INT(a.sent, BURST_LINES);
	CHECK(a.exit_ns > b.exit_ns);
	art_task_unref(a.task);
	art_task_unref(b.task);
	art_runtime_free(rt);
}

/* ------------------------------------------------------------ a reader that goes away */

static void on_message_gone(art_runtime *rt, art_task *task, const char *line, size_t len,
			    int is_json, const char *id, void *ud)
{
	(void)rt;
	(void)ud;
	(void)len;
	(void)id;
	sess *s = art_task_userdata(task);
	/* The agent closed its stdin 0.3 s ago and still runs: the loop has
	 * seen the pipe break. */
	if (is_json && strstr(line, "\"event\":\"exiting\"")) {
		CHECK(art_task_state_get(task) == ART_TASK_RUNNING);
		s->send_after_close = send_str(task, "{}");
	}
}

static void reader_gone(const char *const *args)
{
	/* The default action: a SIGPIPE that reached this process would end it. */
	signal(SIGPIPE, SIG_DFL);
	art_runtime_config cfg = { .on_exit = on_exit_rec, .on_message = on_message_gone };
	art_runtime *rt = new_rt(&cfg);
	sess s = { 0 };
	s.send_after_close = 1;
	s.task = submit(rt, agent_spec(args[0], args[1], NULL), &s);
	char line[4096];
	memset(line, 'z', sizeof(line));
	int queued = 0;
	for (; queued < 1000; queued++)
		CHECK_EQ_INT(art_task_send(s.task, line, sizeof(line)), 0);
	art_runtime_finish(rt);
	CHECK_EQ_INT(art_runtime_run(rt), 0);
	CHECK_EQ_INT(s.res.end, ART_END_EXITED);
	CHECK_EQ_INT(s.res.exit_code, 0);
	CHECK(s.sent < (uint64_t)queued);
	sigset_t pending;
	CHECK_EQ_INT(sigpending(&pending), 0);
	CHECK(!sigismember(&pending, SIGPIPE));
	CHECK_EQ_INT(art_task_send(s.task, "{}", 2), -EPIPE);
	if (strcmp(args[0], "--close-stdin") == 0)
		CHECK_EQ_INT(s.send_after_close, -EPIPE);
	art_task_unref(s.task);
	art_runtime_free(rt);
}

TEST(reader_gone_is_not_a_sigpipe)
{
	reader_gone((const char *const[]){ "--close-stdin", "0.3" });
}

TEST(task_gone_with_lines_queued)
{
	reader_gone((const char *const[]){ "--exit-now", "0" });
}
