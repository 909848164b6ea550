/* SPDX-License-Identifier: MIT */
/*
 * Sessions (docs/sessions.md): a long-running task spoken to in JSON lines.
 *
 * Writing: any thread queues lines with art_task_send() into the task's
 * `pend` buffer under the session's mutex and, when the queue was idle,
 * puts the task on rt->session_kicks (under rt->mu) and wakes the loop.
 * The loop swaps `pend` for its own `wbuf` and writes from that without
 * the lock, into a nonblocking pipe: what does not fit waits for EPOLLOUT,
 * so a task that reads slowly never blocks the loop.
 *
 * Reading: stdout is captured as usual (output.c); each chunk read also
 * comes here and is cut into lines, each checked by base/jsonscan and
 * handed to config.on_message.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/jsonscan.h"
#include "base/macros.h"
#include "core/internal.h"

/* Writes per wakeup, as for reads (output.c): a fast reader of a large
 * queue must not keep the loop from other tasks. */
#define FLUSH_WRITES_MAX 16

struct task_session {
	art_task *task;
	pthread_mutex_t mu;
	/* Under mu: lines queued and not yet taken by the loop. */
	char *pend;
	size_t pend_len, pend_cap;
	size_t queued;   /* bytes accepted and not yet written (pend and wbuf) */
	bool closing;    /* art_task_close_stdin: EOF once the queue is written */
	bool ended;      /* this try's channel is gone: sends fail */
	bool kicked;     /* on rt->session_kicks */
	list_node kick_link;

	/* Loop thread only. */
	char *wbuf; /* being written: wbuf[w_off..w_len) */
	size_t w_len, w_off, w_cap;
	loop_watch watch; /* EPOLLOUT on t->stdin_fd while bytes wait */
	char *line;       /* a stdout line still without its newline */
	size_t line_len, line_cap;
	bool split;       /* part of this line was handed on already (too long) */
	bool skip_line;   /* out of memory: the rest of this line is dropped */
	char *id;         /* the decoded "id" of the line being delivered */
	size_t id_cap;
	uint64_t sent, received;
};

/* ------------------------------------------------------------ spec */

int art_spec_set_session(art_spec *spec, int session)
{
	spec->session = session != 0;
	return 0;
}

int art_spec_session(const art_spec *spec)
{
	return spec->session;
}

/* ------------------------------------------------------------ life */

int session_new(art_task *t)
{
	if (!t->spec->session)
		return 0;
	task_session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->task = t;
	pthread_mutex_init(&s->mu, NULL);
	list_init(&s->kick_link);
	loop_watch_init(&s->watch);
	t->session = s;
	return 0;
}

void session_free(art_task *t)
{
	task_session *s = t->session;
	if (!s)
		return;
	/* The task may outlive its runtime: touch the loop only while watched. */
	if (s->watch.fd >= 0)
		loop_watch_del(t->rt->loop, &s->watch);
	pthread_mutex_destroy(&s->mu);
	free(s->pend);
	free(s->wbuf);
	free(s->line);
	free(s->id);
	free(s);
	t->session = NULL;
}

/* ------------------------------------------------------------ writing */

static bool on_loop_thread(const art_runtime *rt)
{
	return rt->in_loop && pthread_equal(rt->loop_thread, pthread_self());
}

static int grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = MAX(*cap * 2, MAX(need, (size_t)4096));
	char *p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

int art_task_send(art_task *t, const char *line, size_t len)
{
	task_session *s = t->session;
	if (!s || (!line && len))
		return -EINVAL;
	size_t body = len && line[len - 1] == '\n' ? len - 1 : len;
	if (body && memchr(line, '\n', body))
		return -EINVAL;
	size_t add = body + 1;
	bool kick = false;
	int r = 0;

	pthread_mutex_lock(&s->mu);
	if (s->closing || s->ended)
		r = -EPIPE;
	else if (add > ART_SESSION_QUEUE_MAX - s->queued)
		r = -ENOBUFS;
	else if ((r = grow(&s->pend, &s->pend_cap, s->pend_len + add)) == 0) {
		if (body)
			memcpy(s->pend + s->pend_len, line, body);
		s->pend[s->pend_len + body] = '\n';
		s->pend_len += add;
		s->queued += add;
		kick = !s->kicked;
		s->kicked = true;
	}
	pthread_mutex_unlock(&s->mu);
	if (!kick)
		return r;

	/* The kick list holds a reference: the sender may drop its own. */
	art_runtime *rt = t->rt;
	art_task_ref(t);
	pthread_mutex_lock(&rt->mu);
	list_add_tail(&rt->session_kicks, &s->kick_link);
	pthread_mutex_unlock(&rt->mu);
	/* On the loop thread the kicks are drained at the end of the step. */
	if (!on_loop_thread(rt))
		loop_wake(rt->loop);
	return 0;
}

/* Takes what senders queued into wbuf, once wbuf is written. */
static bool take_pending(task_session *s)
{
	pthread_mutex_lock(&s->mu);
	bool got = s->pend_len > 0;
	if (got) {
		char *b = s->wbuf;
		size_t cap = s->w_cap;
		s->wbuf = s->pend;
		s->w_cap = s->pend_cap;
		s->w_len = s->pend_len;
		s->w_off = 0;
		/* A burst's buffer is not kept for the rest of the session. */
		if (cap > (1u << 20)) {
			free(b);
			b = NULL;
			cap = 0;
		}
		s->pend = b;
		s->pend_cap = cap;
		s->pend_len = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return got;
}

static void drop_queue(task_session *s)
{
	pthread_mutex_lock(&s->mu);
	s->pend_len = 0;
	s->queued = 0;
	pthread_mutex_unlock(&s->mu);
	s->w_len = s->w_off = 0;
}

/* Closes this try's end of the pipe. */
static void close_pipe(art_task *t)
{
	task_session *s = t->session;
	if (s->watch.fd >= 0)
		loop_watch_del(t->rt->loop, &s->watch);
	t->stdin_fd = safe_close(t->stdin_fd);
}

/* The reader is gone, or the try ended: nothing more can be written. */
static void channel_gone(art_task *t)
{
	task_session *s = t->session;
	pthread_mutex_lock(&s->mu);
	s->ended = true;
	pthread_mutex_unlock(&s->mu);
	drop_queue(s);
	close_pipe(t);
}

/*
 * A write to a pipe whose reader is gone raises SIGPIPE, which would kill
 * a host that does not ignore it. The signal is blocked on this thread
 * around the writes, and one that they raised is taken back. SIGPIPE for a
 * write is sent to the writing thread, so no other thread sees it.
 */
typedef struct sigpipe_guard {
	sigset_t set, old;
	bool was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
	sigset_t pending;
	sigemptyset(&g->set);
	sigaddset(&g->set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &g->set, &g->old);
	g->was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
}

static void sigpipe_restore(sigpipe_guard *g, bool raised)
{
	if (raised && !g->was_pending) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&g->set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static void on_stdin_writable(loop *l, loop_watch *w, uint32_t events);

static void session_flush(art_task *t)
{
	task_session *s = t->session;
	/* Not started yet (the start writes what waits), or over. */
	if (t->stdin_fd < 0)
		return;
	int err = 0;
	sigpipe_guard g;
	sigpipe_block(&g);
	for (int i = 0; i < FLUSH_WRITES_MAX; i++) {
		if (s->w_off == s->w_len && !take_pending(s))
			break;
		const char *from = s->wbuf + s->w_off;
		ssize_t n = write(t->stdin_fd, from, s->w_len - s->w_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				err = errno;
			break;
		}
		for (const char *p = from, *end = from + n; (p = memchr(p, '\n', (size_t)(end - p)));
		     p++)
			s->sent++;
		s->w_off += (size_t)n;
		pthread_mutex_lock(&s->mu);
		s->queued -= (size_t)n;
		pthread_mutex_unlock(&s->mu);
	}
	sigpipe_restore(&g, err == EPIPE);
	if (err) {
		channel_gone(t);
		return;
	}
	pthread_mutex_lock(&s->mu);
	bool waiting = s->queued > 0, closing = s->closing;
	pthread_mutex_unlock(&s->mu);
	if (waiting) {
		if (s->watch.fd < 0 &&
		    loop_watch_add(t->rt->loop, &s->watch, t->stdin_fd, EPOLLOUT,
				   on_stdin_writable) < 0)
			channel_gone(t); /* we would never learn when to write again */
		return;
	}
	if (s->watch.fd >= 0)
		loop_watch_del(t->rt->loop, &s->watch);
	if (closing)
		t->stdin_fd = safe_close(t->stdin_fd); /* EOF, after every line */
}

static void on_stdin_writable(loop *l, loop_watch *w, uint32_t events)
{
	(void)l;
	(void)events;
	session_flush(container_of(w, task_session, watch)->task);
}

int session_open_stdin(art_task *t, int *child_fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* Only our end is nonblocking: the task reads as from any pipe. */
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;
		safe_close(p[0]);
		safe_close(p[1]);
		return r;
	}
	t->stdin_fd = p[1];
	*child_fd = p[0];
	/* What was sent while the task waited goes into the pipe now. */
	session_flush(t);
	return 0;
}

void session_close_stdin(art_task *t)
{
	task_session *s = t->session;
	pthread_mutex_lock(&s->mu);
	s->closing = true;
	pthread_mutex_unlock(&s->mu);
	session_flush(t);
}

void session_drain(art_runtime *rt)
{
	list_node kicks;
	list_init(&kicks);
	pthread_mutex_lock(&rt->mu);
	if (!list_empty(&rt->session_kicks)) {
		kicks = rt->session_kicks;
		kicks.next->prev = &kicks;
		kicks.prev->next = &kicks;
		list_init(&rt->session_kicks);
	}
	pthread_mutex_unlock(&rt->mu);
	list_node *n;
	while ((n = list_pop_front(&kicks))) {
		task_session *s = container_of(n, task_session, kick_link);
		art_task *t = s->task;
		/* Cleared before the flush: a line queued meanwhile kicks again. */
		pthread_mutex_lock(&s->mu);
		s->kicked = false;
		pthread_mutex_unlock(&s->mu);
		session_flush(t);
		art_task_unref(t);
	}
}

void session_runtime_free(art_runtime *rt)
{
	list_node *n;
	while ((n = list_pop_front(&rt->session_kicks))) {
		task_session *s = container_of(n, task_session, kick_link);
		s->kicked = false;
		art_task_unref(s->task);
	}
}

/* ------------------------------------------------------------ reading */

/* The id as the callback gets it: a string decoded, an integer as written. */
static const char *id_text(task_session *s, const json_id *id)
{
	if (id->kind == JSON_ID_NONE || grow(&s->id, &s->id_cap, id->len + 1) < 0)
		return NULL;
	if (id->kind == JSON_ID_INTEGER) {
		memcpy(s->id, id->p, id->len);
		s->id[id->len] = 0;
		return s->id;
	}
	long n = json_string_decode(id->p, id->len, s->id);
	if (n < 0)
		return NULL;
	s->id[n] = 0;
	return s->id;
}

/* line[len] must be writable: it becomes the terminator. */
static void deliver(art_task *t, char *line, size_t len, bool whole)
{
	task_session *s = t->session;
	art_runtime *rt = t->rt;
	json_id id;
	bool is_json = whole && json_object_scan(line, len, &id);
	if (is_json)
		s->received++;
	if (!rt->cfg.on_message)
		return;
	line[len] = 0;
	rt->cfg.on_message(rt, t, line, len, is_json, is_json ? id_text(s, &id) : NULL,
			   rt->cfg.userdata);
}

/* Appends to the pending line; a line that outgrows the bound is handed
 * on in pieces, as plain output. */
static void buffer_line(art_task *t, const char *data, size_t len)
{
	task_session *s = t->session;
	while (len && !s->skip_line) {
		size_t take = MIN(len, ART_SESSION_LINE_MAX - s->line_len);
		if (grow(&s->line, &s->line_cap, s->line_len + take + 1) < 0) {
			s->skip_line = true;
			s->line_len = 0;
			return;
		}
		memcpy(s->line + s->line_len, data, take);
		s->line_len += take;
		data += take;
		len -= take;
		if (s->line_len == ART_SESSION_LINE_MAX) {
			deliver(t, s->line, s->line_len, false);
			s->line_len = 0;
			s->split = true;
		}
	}
}

void session_input(art_task *t, char *data, size_t len)
{
	task_session *s = t->session;
	if (!s)
		return;
	while (len) {
		char *nl = memchr(data, '\n', len);
		if (!nl) {
			buffer_line(t, data, len);
			return;
		}
		size_t n = (size_t)(nl - data);
		if (s->skip_line) {
			/* dropped */
		} else if (s->line_len || s->split) {
			buffer_line(t, data, n);
			/* The last piece of a split line, if any is left, is a piece too. */
			if (!s->skip_line && s->line_len)
				deliver(t, s->line, s->line_len, !s->split);
		} else {
			/* Whole in the read buffer: no copy, the newline becomes
			 * the terminator. */
			deliver(t, data, n, true);
		}
		s->line_len = 0;
		s->split = s->skip_line = false;
		data = nl + 1;
		len -= n + 1;
	}
}

void session_input_end(art_task *t)
{
	task_session *s = t->session;
	if (!s)
		return;
	if (s->line_len && !s->skip_line)
		deliver(t, s->line, s->line_len, !s->split);
	s->line_len = 0;
	s->split = s->skip_line = false;
}

/* ------------------------------------------------------------ ends */

void session_end(art_task *t)
{
	if (!t->session)
		return;
	session_input_end(t);
	channel_gone(t);
}

void session_retry(art_task *t)
{
	task_session *s = t->session;
	if (!s)
		return;
	session_input_end(t);
	/* Lines queued for the try that ended are not the next one's. */
	drop_queue(s);
	close_pipe(t);
	pthread_mutex_lock(&s->mu);
	s->ended = false;
	pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------ public */

int art_task_session_stats(const art_task *t, uint64_t *sent, uint64_t *received)
{
	const task_session *s = t->session;
	if (!s)
		return -EINVAL;
	if (sent)
		*sent = s->sent;
	if (received)
		*received = s->received;
	return 0;
}
