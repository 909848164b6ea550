/* SPDX-License-Identifier: MIT */
/* Capturing a task's stdout/stderr: a pipe per stream, read on the loop,
 * the tail kept within the cap in pooled chunks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"
#include "core/internal.h"

void output_init(task_output *o)
{
	*o = (task_output){ .fd = -1 };
	loop_watch_init(&o->watch);
}

static void drop_head(art_runtime *rt, task_output *o)
{
	out_chunk *c = o->head;
	o->head = c->next;
	if (!o->head)
		o->last = NULL;
	o->kept -= c->len;
	pool_put(&rt->chunks, c);
}

/* Keeps the last `cap` bytes of data: whole chunks that fall out of the
 * window go back to the pool. */
static void keep_tail(art_runtime *rt, task_output *o, const char *data, size_t len)
{
	if (len > o->cap) {
		o->truncated = true;
		data += len - o->cap;
		len = o->cap;
	}
	while (len) {
		out_chunk *c = o->last;
		if (!c || c->len == sizeof(c->data)) {
			c = pool_get(&rt->chunks);
			if (!c) {
				o->truncated = true; /* out of memory: keep what we have */
				return;
			}
			c->next = NULL;
			c->len = 0;
			if (o->last)
				o->last->next = c;
			else
				o->head = c;
			o->last = c;
		}
		size_t n = MIN(len, sizeof(c->data) - c->len);
		memcpy(c->data + c->len, data, n);
		c->len += n;
		o->kept += n;
		data += n;
		len -= n;
		while (o->head && o->kept - o->head->len >= o->cap) {
			drop_head(rt, o);
			o->truncated = true;
		}
	}
}

static void close_output(art_runtime *rt, task_output *o)
{
	/* Explicit EPOLL_CTL_DEL: close() alone does not take the pipe out
	 * of epoll while a child being spawned still holds a copy of our
	 * descriptors (a vfork parent resumes before the child's
	 * close-on-exec runs). Also called when the task is freed, possibly
	 * after the runtime: touch the runtime only while still watched. */
	if (o->watch.fd >= 0)
		loop_watch_del(rt->loop, &o->watch);
	o->fd = safe_close(o->fd);
}

typedef enum read_status { READ_MORE, READ_AGAIN, READ_END } read_status;

static read_status read_once(art_runtime *rt, art_task *t, int stream)
{
	task_output *o = &t->out[stream - 1];
	ssize_t n = read(o->fd, rt->scratch, rt->scratch_size);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? READ_AGAIN : READ_END;
	if (n == 0) {
		if (stream == ART_STREAM_STDOUT)
			session_input_end(t);
		return READ_END;
	}
	o->bytes += (uint64_t)n;
	if (o->cap)
		keep_tail(rt, o, rt->scratch, (size_t)n);
	else
		o->truncated = true;
	if (rt->cfg.on_output)
		rt->cfg.on_output(rt, t, stream, rt->scratch, (size_t)n, rt->cfg.userdata);
	if (rt->cfg.event_flags & ART_EVENTS_OUTPUT)
		event_output(t, stream, rt->scratch, (size_t)n);
	/* Last: it turns the newlines in scratch into terminators. */
	if (stream == ART_STREAM_STDOUT && t->session)
		session_input(t, rt->scratch, (size_t)n);
	if ((t->spec->limits_set & (1u << ART_LIMIT_OUTPUT)) &&
	    t->out[0].bytes + t->out[1].bytes > t->spec->limits[ART_LIMIT_OUTPUT]) {
		/* Past the limit: stop reading, the task is killed. */
		task_violation(t, ART_LIMIT_OUTPUT);
		return READ_END;
	}
	return (size_t)n == rt->scratch_size ? READ_MORE : READ_AGAIN;
}

/* A few reads per wakeup: a flooding task cannot starve the others, and
 * level-triggered epoll brings us back for the rest. */
static void read_ready(art_task *t, int stream)
{
	for (int i = 0; i < 4; i++) {
		read_status st = read_once(t->rt, t, stream);
		if (st == READ_END) {
			close_output(t->rt, &t->out[stream - 1]);
			return;
		}
		if (st == READ_AGAIN)
			return;
	}
}

static void on_stdout_ready(loop *l, loop_watch *w, uint32_t events)
{
	(void)l;
	(void)events;
	read_ready(container_of(w, art_task, out[0].watch), ART_STREAM_STDOUT);
}

static void on_stderr_ready(loop *l, loop_watch *w, uint32_t events)
{
	(void)l;
	(void)events;
	read_ready(container_of(w, art_task, out[1].watch), ART_STREAM_STDERR);
}

int output_open(art_runtime *rt, art_task *t, int stream, int *child_fd)
{
	task_output *o = &t->out[stream - 1];
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* A fresh pipe's flags are known: one fcntl instead of get + set. */
	int r = fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
	if (r == 0)
		r = loop_watch_add(rt->loop, &o->watch, p[0], EPOLLIN,
				   stream == ART_STREAM_STDOUT ? on_stdout_ready : on_stderr_ready);
	if (r < 0) {
		safe_close(p[0]);
		safe_close(p[1]);
		return r;
	}
	o->fd = p[0];
	o->cap = t->spec->out[stream - 1].cap;
	*child_fd = p[1];
	return 0;
}

/* After the task's processes are gone: take whatever is still buffered in
 * the pipe. A writer that outlived the task (and was not killed) must not
 * keep the task from ending, so this never waits. */
void output_drain(art_runtime *rt, art_task *t, int stream)
{
	task_output *o = &t->out[stream - 1];
	while (o->fd >= 0) {
		read_status st = read_once(rt, t, stream);
		if (st != READ_MORE)
			close_output(rt, o);
	}
}

/* Makes the kept tail contiguous for the result and returns the chunks. */
void output_finish(art_runtime *rt, task_output *o)
{
	close_output(rt, o);
	size_t len = MIN(o->kept, o->cap);
	if (o->kept > o->cap)
		o->truncated = true;
	if (len && (o->tail = malloc(len))) {
		size_t skip = o->kept - len, at = 0;
		for (out_chunk *c = o->head; c; c = c->next) {
			size_t from = MIN(skip, c->len);
			skip -= from;
			memcpy(o->tail + at, c->data + from, c->len - from);
			at += c->len - from;
		}
		o->tail_len = len;
	}
	while (o->head)
		drop_head(rt, o);
}

void output_release(art_runtime *rt, task_output *o)
{
	close_output(rt, o);
	while (o->head)
		drop_head(rt, o);
	free(o->tail);
	o->tail = NULL;
	o->tail_len = 0;
}
