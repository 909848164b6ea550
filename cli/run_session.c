/* SPDX-License-Identifier: MIT */
/*
 * agentrt run --session: the terminal spoken through as a JSON-lines
 * channel (docs/sessions.md). A reader thread takes agentrt's stdin line
 * by line, checks each is a JSON object and sends it (art_task_send); at
 * end of file it tells the loop through an eventfd, and the loop closes
 * the task's input. The loop prints each line of the task's stdout as it
 * comes (on_message).
 *
 * A thread rather than a watch on the loop: stdin may be a regular file,
 * which epoll refuses. It polls a second eventfd so that it can be told to
 * stop while stdin stays open (a terminal), before the runtime is freed.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cli.h"

struct cli_session {
	art_runtime *rt;
	art_task *task;
	int eof_fd;  /* reader -> loop: stdin ended */
	int stop_fd; /* main -> reader: stop now */
	atomic_bool stop;
	pthread_t thread;
	bool started;
	bool stdout_broken; /* loop thread */
	char *line;
	size_t line_len, line_cap;
	bool line_too_long;
	unsigned long lineno;
};

void cli_session_on_message(art_runtime *rt, art_task *task, const char *line, size_t len,
			    int is_json, const char *id, void *userdata)
{
	(void)rt;
	(void)is_json;
	(void)id;
	cli_session *s = userdata;
	if (s->stdout_broken)
		return;
	/* JSON or not, each line is printed as it comes: the task's output
	 * passes through, one whole line at a time. */
	if (fwrite(line, 1, len, stdout) != len || putchar('\n') == EOF || fflush(stdout) == EOF) {
		/* No one reads us: as a task would be killed by SIGPIPE. */
		s->stdout_broken = true;
		cli_error("stdout: %s; stopping the task", strerror(errno));
		art_task_cancel(task);
	}
}

/* Sends one line; false when no more can be sent. */
static bool send_line(cli_session *s, const char *line, size_t len)
{
	s->lineno++;
	size_t start = 0;
	while (start < len && strchr(" \t\r", line[start]))
		start++;
	if (start == len)
		return true; /* a blank line says nothing */
	json_error_t jerr;
	json_t *v = json_loadb(line, len, 0, &jerr);
	if (!v || !json_is_object(v)) {
		cli_error("stdin line %lu: not sent: %s", s->lineno,
			  v ? "not a JSON object" : jerr.text);
		json_decref(v);
		return true;
	}
	json_decref(v);
	for (;;) {
		int r = art_task_send(s->task, line, len);
		if (r == -ENOBUFS && !atomic_load(&s->stop)) {
			usleep(1000); /* the task reads slower than we do */
			continue;
		}
		if (r == -EPIPE) {
			cli_error("stdin line %lu: not sent: the task no longer reads its input",
				  s->lineno);
			return false;
		}
		if (r < 0)
			cli_error("stdin line %lu: not sent: %s", s->lineno, strerror(-r));
		return true;
	}
}

static bool take_bytes(cli_session *s, const char *data, size_t len)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		if (!s->line_too_long) {
			if (s->line_len + n > ART_SESSION_LINE_MAX) {
				s->line_too_long = true;
			} else {
				if (s->line_len + n > s->line_cap) {
					size_t cap = s->line_cap ? s->line_cap : 4096;
					while (cap < s->line_len + n)
						cap *= 2;
					char *p = realloc(s->line, cap);
					if (!p) {
						cli_error("out of memory");
						return false;
					}
					s->line = p;
					s->line_cap = cap;
				}
				memcpy(s->line + s->line_len, data, n);
				s->line_len += n;
			}
		}
		if (!nl)
			return true;
		bool more = true;
		if (s->line_too_long)
			cli_error("stdin line %lu: not sent: longer than %u bytes", ++s->lineno,
				  ART_SESSION_LINE_MAX);
		else
			more = send_line(s, s->line, s->line_len);
		s->line_len = 0;
		s->line_too_long = false;
		if (!more)
			return false;
		data = nl + 1;
		len -= n + 1;
	}
	return true;
}

static void *reader(void *arg)
{
	cli_session *s = arg;
	char buf[65536];
	struct pollfd pfd[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = s->stop_fd, .events = POLLIN },
	};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			return NULL;
		if (!pfd[0].revents)
			continue;
		ssize_t n = pfd[0].revents & POLLNVAL ? 0 : read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			/* The last line may lack its newline. */
			if ((s->line_len || s->line_too_long) && !take_bytes(s, "\n", 1))
				return NULL;
			break;
		}
		if (!take_bytes(s, buf, (size_t)n))
			return NULL;
	}
	uint64_t one = 1;
	if (write(s->eof_fd, &one, sizeof(one)) < 0)
		cli_error("eventfd: %s", strerror(errno));
	return NULL;
}

static void on_stdin_eof(art_runtime *rt, int fd, uint32_t events, void *userdata)
{
	(void)events;
	cli_session *s = userdata;
	uint64_t v;
	if (read(fd, &v, sizeof(v)) < 0 && errno == EAGAIN)
		return;
	art_runtime_unwatch_fd(rt, fd);
	/* Every line read was sent: the task gets them, then end of file. */
	art_task_close_stdin(s->task);
}

int cli_session_new(cli_session **out)
{
	cli_session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->eof_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->eof_fd < 0 || s->stop_fd < 0) {
		int r = -errno;
		cli_session_free(s);
		return r;
	}
	/* We write stdout ourselves now: a reader that goes away is an
	 * error to report, not a signal that kills us. Tasks start with
	 * every disposition reset. */
	signal(SIGPIPE, SIG_IGN);
	*out = s;
	return 0;
}

int cli_session_start(cli_session *s, art_runtime *rt, art_task *task)
{
	s->task = task;
	int r = art_runtime_watch_fd(rt, s->eof_fd, EPOLLIN, on_stdin_eof, s);
	if (r < 0)
		return r;
	s->rt = rt;
	r = -pthread_create(&s->thread, NULL, reader, s);
	if (r < 0)
		return r;
	s->started = true;
	return 0;
}

void cli_session_free(cli_session *s)
{
	if (!s)
		return;
	if (s->started) {
		uint64_t one = 1;
		atomic_store(&s->stop, true);
		if (write(s->stop_fd, &one, sizeof(one)) < 0)
			cli_error("eventfd: %s", strerror(errno));
		pthread_join(s->thread, NULL);
	}
	/* After the loop has run: this thread is the loop's. */
	if (s->rt && s->eof_fd >= 0)
		art_runtime_unwatch_fd(s->rt, s->eof_fd);
	if (s->eof_fd >= 0)
		close(s->eof_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	free(s->line);
	free(s);
}
