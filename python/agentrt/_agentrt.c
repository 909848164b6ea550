/* SPDX-License-Identifier: MIT */
/*
 * agentrt._agentrt - the CPython binding of libagentrt (include/agentrt.h).
 *
 * One art_runtime per Core object, driven by a pthread of its own (the
 * "loop thread") that this module creates: it calls art_runtime_run() and,
 * when the Core is closed, art_runtime_free(), so the thread that started
 * the tasks outlives them (PR_SET_PDEATHSIG is tied to it, agentrt.h).
 *
 * The loop thread never touches Python. Its callbacks (on_exit, on_output,
 * on_message, on_event) copy what they need into plain C records under one
 * mutex per runtime and signal:
 *  - a condition variable per task, on which Python threads wait with the
 *    GIL released (Handle.wait, Handle.read, Handle.recv, Handle.reply);
 *  - a Notifier's eventfd, for asyncio: the event loop watches it with
 *    add_reader and drains the serial numbers of the tasks that moved;
 *  - with Runtime(on_event=...), a condition variable per runtime on which
 *    the package's event thread waits (EventQueue.get).
 *
 * The library's [loop thread] calls that Python needs are made on the loop
 * thread: art_task_close_stdin of a session through a mailbox (an eventfd
 * watched with art_runtime_watch_fd), and the write end of a "pipe" stdin
 * is taken over in the "started" event (stdin_handover).
 *
 * Locks: core.mu guards every rec of that core; a notifier's mu guards its
 * queue. Order: core.mu, then notifier.mu. Nothing is called into the
 * library while core.mu is held, and the loop thread never waits for the
 * GIL, so Python threads may hold the GIL while they call the library's
 * [any thread] functions.
 *
 * Lifetime: a rec (one per task) holds a reference to its art_task only
 * until the task ends (dropped in on_exit), so no art_task outlives its
 * runtime. A rec and its core are reference counted C structs: a Handle
 * may outlive the Core object that made it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <agentrt.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static PyObject *Error;
static PyObject *SpecError;
static PyObject *RuntimeClosed;
static PyObject *SessionClosed;
static PyObject *SessionQueueFull;
static unsigned long main_thread_ident;
static atomic_uint_fast64_t next_serial = 1;

#define NSEC_PER_SEC 1000000000LL
/* A wait on the main thread wakes this often to run signal handlers
 * (KeyboardInterrupt); other threads wait without waking. */
#define SIGNAL_CHECK_NS (100 * 1000000LL)
#define STREAM_LIMIT_DEFAULT ((size_t)1 << 20)
/* Events kept for Runtime(on_event=...) and not yet delivered; beyond, new
 * ones are dropped (counted in stats()["events_dropped"]): a callback that
 * cannot keep up must not grow memory without bound. */
#define EVENT_QUEUE_MAX 65536
/* Messages handed to Python per Handle.recv call. */
#define RECV_BATCH_MAX 256
/* Lines sent with the GIL held below this size: art_task_send only copies
 * under a mutex that the loop holds briefly, and releasing the GIL would
 * cost more than the copy. */
#define SEND_NOGIL_MIN 65536

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static void cond_init_mono(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *dup_bytes(const char *data, size_t len)
{
	char *p = malloc(len ? len : 1);
	if (p && len)
		memcpy(p, data, len);
	return p;
}

/* ------------------------------------------------------------ structs */

typedef struct rec rec;

/* One line of a session task's stdout (config.on_message), copied: the
 * struct, the line and its id are one allocation. */
typedef struct msg {
	struct msg *next;
	size_t len;
	bool is_json;
	char *id; /* into the allocation, or NULL */
	char line[]; /* len + 1, NUL-terminated */
} msg;

/* A request waiting for the message with its id (Handle.expect): the
 * loop thread hands such a message to it instead of the queue, so that
 * callers of request() and a reader of messages() never take each
 * other's messages. */
typedef struct reqw {
	struct reqw *next;
	msg *reply; /* once it came */
	char id[];
} reqw;

/* One event line for Runtime(on_event=...). */
typedef struct evline {
	struct evline *next;
	char text[];
} evline;

typedef struct notifier {
	atomic_int refs;
	pthread_mutex_t mu;
	int efd;
	rec **q; /* each holds a reference */
	size_t n, cap;
} notifier;

/* A [loop thread] call a Python thread asked for (see on_mailbox). */
typedef enum { MB_CLOSE_STDIN, MB_EXPLAIN } mbox_op;
typedef struct mbox_item {
	art_task *task; /* a reference of the mailbox's */
	mbox_op op;
} mbox_item;

typedef struct core {
	atomic_int refs;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* loop thread: stop requested; closers: joined */
	art_runtime *rt;
	pthread_t thread;
	bool thread_started;
	/* Set with the GIL held; read with the GIL held. Once set, nothing
	 * calls into rt any more except the loop thread. */
	bool closing;
	bool abandoned; /* a forked child's copy: no loop thread */
	/* Under mu. */
	bool stop_requested;
	bool loop_exited;
	int loop_result;
	bool joined;
	/* Copies of the config's strings, which the runtime keeps pointers to. */
	char *cgroup_parent;
	char *workspace_dir;
	/* The mailbox: tasks whose session input Python threads closed, for
	 * art_task_close_stdin, which only the loop thread may call. Watched
	 * on the loop (on_mailbox); under mu, each entry holds a reference. */
	int mbox_fd;
	mbox_item *mbox;
	size_t mbox_n, mbox_cap;
	/* Runtime(on_event=...): event lines copied on the loop thread, for
	 * the package's event thread (EventQueue.get). keep_events is set
	 * before the loop thread starts; the rest is under mu. */
	bool keep_events;
	pthread_cond_t ev_cond;
	evline *ev_head, *ev_tail;
	size_t ev_n;
	uint64_t ev_dropped;
	bool ev_final; /* the runtime is freed: no event will come */
} core;

typedef enum phase {
	PH_QUEUED = 0,
	PH_HELD,
	PH_RUNNING,
	PH_STOPPING,
	PH_FROZEN,
	PH_DONE,
} phase;

static const char *const phase_names[] = { "queued", "held", "running", "stopping", "frozen",
					   "done" };

typedef struct sbuf {
	char *data;
	size_t off, len, cap;
	uint64_t dropped;
} sbuf;

/* A copy of an art_result that owns its pointers. */
typedef struct rres {
	art_result r; /* tails, skip_reason, workspace_dir, changes point into the fields below */
	char *stdout_tail, *stderr_tail, *skip_reason, *workspace_dir;
	art_change *changes;
	char *message;
	char *diagnostic;
	char *waited; /* art_task_explain at the end: why it waited to start */
	int exit_status;
	int ok;
} rres;

struct rec {
	atomic_int refs;
	core *c;
	uint64_t serial;
	char *id;
	/* Everything below is under c->mu. */
	art_task *task; /* until the task ends; our own reference */
	pthread_cond_t cond;
	bool done;
	phase ph;
	int pid;
	unsigned attempt;
	int64_t submitted_ns, started_ns, ended_ns;
	uint64_t out_bytes[2];
	size_t stream_limit; /* 0: live output is not kept */
	sbuf buf[2];
	char *sample; /* the last "sample" event, JSON */
	rres res;
	notifier *nt;
	bool nt_pending;
	/* Sessions: `session` is the spec's, constant. Messages not yet read
	 * (at most stream_limit bytes of lines, else the oldest are dropped)
	 * and the requests waiting for theirs. */
	bool session;
	msg *mq_head, *mq_tail;
	size_t mq_bytes;
	uint64_t mq_dropped;
	reqw *reqs;
	/* stdin "pipe": our duplicate of the write end, taken over at each
	 * start (stdin_handover); -1 before, and once closed. A writer marks
	 * it busy and, if it was replaced or closed meanwhile, closes it
	 * itself, so that no descriptor is closed under a write. */
	int stdin_fd;
	bool stdin_busy;
	bool stdin_closed; /* close_stdin(), the Handle gone, or the end: no more writes */
	int stdin_err;     /* the hand-over failed (errno) */
	/* Handle.explain: the loop's last answer, and how many it gave. */
	char *explained;
	uint64_t explain_answers;
};

/* ------------------------------------------------------------ notifier */

static notifier *notifier_new(void)
{
	notifier *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->efd < 0) {
		free(n);
		return NULL;
	}
	atomic_init(&n->refs, 1);
	pthread_mutex_init(&n->mu, NULL);
	return n;
}

static void rec_unref(rec *r);

static void notifier_unref(notifier *n)
{
	if (!n || atomic_fetch_sub(&n->refs, 1) != 1)
		return;
	for (size_t i = 0; i < n->n; i++)
		rec_unref(n->q[i]);
	free(n->q);
	close(n->efd);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

/* With r->c->mu held: tells r's notifier that r moved, once until drained. */
static void notify_locked(rec *r)
{
	notifier *n = r->nt;
	if (!n || r->nt_pending)
		return;
	pthread_mutex_lock(&n->mu);
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 64;
		rec **q = realloc(n->q, cap * sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&n->mu);
			return; /* out of memory: the waiter is not woken */
		}
		n->q = q;
		n->cap = cap;
	}
	atomic_fetch_add(&r->refs, 1);
	n->q[n->n++] = r;
	pthread_mutex_unlock(&n->mu);
	r->nt_pending = true;
	uint64_t one = 1;
	ssize_t w = write(n->efd, &one, sizeof(one));
	(void)w; /* EAGAIN only when the counter is full: it is readable anyway */
}

/* ------------------------------------------------------------ core, rec */

static void core_unref(core *c)
{
	if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	/* The mailbox is empty: loop_main drained it before freeing the runtime. */
	free(c->mbox);
	if (c->mbox_fd >= 0)
		close(c->mbox_fd);
	for (evline *e = c->ev_head, *next; e; e = next) {
		next = e->next;
		free(e);
	}
	pthread_cond_destroy(&c->ev_cond);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cond);
	free(c->cgroup_parent);
	free(c->workspace_dir);
	free(c);
}

static void rres_free(rres *x)
{
	free(x->stdout_tail);
	free(x->stderr_tail);
	free(x->skip_reason);
	free(x->workspace_dir);
	if (x->changes) {
		for (size_t i = 0; i < x->r.n_changes; i++) {
			free((char *)x->changes[i].path);
			free((char *)x->changes[i].kind);
		}
		free(x->changes);
	}
	free(x->message);
	free(x->diagnostic);
	free(x->waited);
}

static void rec_unref(rec *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	/* No art_task is left here: on_exit dropped it, or submit never made one. */
	notifier_unref(r->nt);
	free(r->buf[0].data);
	free(r->buf[1].data);
	for (msg *m = r->mq_head, *next; m; m = next) {
		next = m->next;
		free(m);
	}
	for (reqw *w = r->reqs, *next; w; w = next) {
		next = w->next;
		free(w->reply);
		free(w);
	}
	if (r->stdin_fd >= 0)
		close(r->stdin_fd); /* on_exit closes it; a failed submit never had one */
	free(r->sample);
	free(r->explained);
	rres_free(&r->res);
	free(r->id);
	pthread_cond_destroy(&r->cond);
	core_unref(r->c);
	free(r);
}

/* ------------------------------------------------------------ callbacks (loop thread) */

static void sbuf_append(sbuf *b, const char *data, size_t len, size_t limit)
{
	size_t kept = b->len - b->off;
	if (len >= limit) {
		b->dropped += kept + (len - limit);
		data += len - limit;
		len = limit;
		b->off = b->len = 0;
	} else if (kept + len > limit) {
		size_t drop = kept + len - limit;
		b->off += drop;
		b->dropped += drop;
	}
	if (b->off && b->len + len > b->cap) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p) {
			b->dropped += len;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

static void on_output_cb(art_runtime *rt, art_task *task, int stream, const char *data,
			 size_t len, void *userdata)
{
	(void)rt;
	core *c = userdata;
	rec *r = art_task_userdata(task);
	if (!r || (stream != ART_STREAM_STDOUT && stream != ART_STREAM_STDERR))
		return;
	pthread_mutex_lock(&c->mu);
	r->out_bytes[stream - 1] += len;
	/* A session's stdout comes as messages (on_message_cb): not twice. */
	if (r->stream_limit && len && !(r->session && stream == ART_STREAM_STDOUT)) {
		sbuf_append(&r->buf[stream - 1], data, len, r->stream_limit);
		pthread_cond_broadcast(&r->cond);
		notify_locked(r);
	}
	pthread_mutex_unlock(&c->mu);
}

/* With c->mu held: appends m to the unread messages, dropping the oldest
 * beyond the stream limit (the newest is kept whole even if it alone is
 * larger: a message cannot be cut). */
static void mq_push_locked(rec *r, msg *m)
{
	while (r->mq_head && r->mq_bytes + m->len + 1 > r->stream_limit) {
		msg *old = r->mq_head;
		r->mq_head = old->next;
		if (!r->mq_head)
			r->mq_tail = NULL;
		r->mq_bytes -= old->len + 1;
		r->mq_dropped++;
		free(old);
	}
	m->next = NULL;
	if (r->mq_tail)
		r->mq_tail->next = m;
	else
		r->mq_head = m;
	r->mq_tail = m;
	r->mq_bytes += m->len + 1;
}

static reqw *reqw_find_locked(const rec *r, const char *id)
{
	for (reqw *w = r->reqs; w; w = w->next)
		if (!strcmp(w->id, id))
			return w;
	return NULL;
}

/* A line of a session's stdout: to the request waiting for its id, else
 * to the queue (when live output is kept). The lookup is a list walk:
 * there are as many entries as requests in flight, one per thread in
 * request() (an asyncio program with thousands in flight pays a walk
 * per message with an id). */
static void on_message_cb(art_runtime *rt, art_task *task, const char *line, size_t len,
			  int is_json, const char *id, void *userdata)
{
	(void)rt;
	core *c = userdata;
	rec *r = art_task_userdata(task);
	if (!r)
		return;
	size_t id_len = id ? strlen(id) : 0;
	msg *m = malloc(sizeof(*m) + len + 1 + (id ? id_len + 1 : 0));
	if (m) {
		memcpy(m->line, line, len);
		m->line[len] = 0;
		m->len = len;
		m->is_json = is_json != 0;
		m->id = NULL;
		if (id) {
			m->id = m->line + len + 1;
			memcpy(m->id, id, id_len + 1);
		}
	}
	pthread_mutex_lock(&c->mu);
	if (!m) {
		r->mq_dropped++; /* out of memory: lost, but counted */
	} else {
		reqw *w = m->id ? reqw_find_locked(r, m->id) : NULL;
		if (w && !w->reply) {
			w->reply = m;
			m = NULL;
		} else if (r->stream_limit) {
			mq_push_locked(r, m);
			m = NULL;
		}
		pthread_cond_broadcast(&r->cond);
		notify_locked(r);
	}
	pthread_mutex_unlock(&c->mu);
	free(m); /* neither awaited nor kept (spawned with stream=False) */
}

/* With c->mu held: closes our stdin for writing (close_stdin, the task's
 * end) and returns the descriptor for the caller to close once unlocked,
 * or -1 when there is none or a writer still uses it (the writer closes
 * it: it sees that stdin_fd changed). */
static int stdin_detach_locked(rec *r)
{
	int fd = r->stdin_busy ? -1 : r->stdin_fd;
	r->stdin_fd = -1;
	r->stdin_closed = true;
	pthread_cond_broadcast(&r->cond);
	return fd;
}

/*
 * A "pipe" stdin's write end belongs to the runtime and may be used on the
 * loop thread only (art_task_stdin_fd). At each start, on the loop thread,
 * we take a duplicate of it and close the runtime's copy: ours is then the
 * only writer, so Python threads write to it without the loop, and closing
 * it is the task's end of file. Ours is nonblocking (the task reads from
 * another file description): a writer waits in poll(), which lets it give
 * up at a timeout and run signal handlers.
 */
static void stdin_handover(core *c, rec *r, art_task *task)
{
	int fd = art_task_stdin_fd(task);
	if (fd < 0)
		return;
	int err = 0;
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0) {
		err = errno;
	} else if (fcntl(dup, F_SETFL, O_NONBLOCK) < 0) {
		err = errno;
		close(dup);
		dup = -1;
	}
	/* Also when the duplicate failed: the task reads end of file rather
	 * than waiting for a writer that will never come. */
	art_task_close_stdin(task);
	int old;
	pthread_mutex_lock(&c->mu);
	if (r->stdin_closed) {
		old = dup; /* closed before the start: end of file at once */
	} else {
		/* A retry's new pipe replaces the last try's, whose reader is gone. */
		old = r->stdin_busy ? -1 : r->stdin_fd;
		r->stdin_fd = dup;
		if (dup < 0) {
			r->stdin_closed = true;
			r->stdin_err = err;
		}
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&c->mu);
	if (old >= 0)
		close(old);
}

/* With Runtime(on_event=...): a copy of the line for the event thread. */
static void event_keep(core *c, const char *line)
{
	size_t len = strlen(line);
	evline *e = malloc(sizeof(*e) + len + 1);
	if (e) {
		memcpy(e->text, line, len + 1);
		e->next = NULL;
	}
	pthread_mutex_lock(&c->mu);
	if (!e || c->ev_n >= EVENT_QUEUE_MAX) {
		c->ev_dropped++;
	} else {
		if (c->ev_tail)
			c->ev_tail->next = e;
		else
			c->ev_head = e;
		c->ev_tail = e;
		c->ev_n++;
		if (c->ev_n == 1) /* a reader waits only while the queue is empty */
			pthread_cond_broadcast(&c->ev_cond);
		e = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	free(e);
}

/* The value after `key` (which includes the opening quote, if any) in one
 * event line; the line's keys start with '"' after ',' or '{', and string
 * values cannot hold an unescaped quote, so `,"key":` is unambiguous. */
static const char *ev_find(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	return p ? p + strlen(key) : NULL;
}

static void on_event_cb(art_runtime *rt, art_task *task, const char *line, void *userdata)
{
	(void)rt;
	core *c = userdata;
	rec *r = art_task_userdata(task);
	if (c->keep_events)
		event_keep(c, line);
	const char *ev = ev_find(line, ",\"event\":\"");
	if (!r || !ev)
		return;
	if (!strncmp(ev, "started\"", 8)) {
		const char *pid = ev_find(ev, ",\"pid\":");
		const char *att = ev_find(ev, ",\"attempt\":");
		pthread_mutex_lock(&c->mu);
		if (pid)
			r->pid = (int)strtol(pid, NULL, 10);
		if (att)
			r->attempt = (unsigned)strtoul(att, NULL, 10);
		r->started_ns = mono_ns();
		pthread_mutex_unlock(&c->mu);
		stdin_handover(c, r, task);
	} else if (!strncmp(ev, "state\"", 6)) {
		const char *to = ev_find(ev, ",\"to\":\"");
		if (!to)
			return;
		phase ph = PH_QUEUED;
		for (int i = 0; i < (int)(sizeof(phase_names) / sizeof(*phase_names)); i++) {
			size_t n = strlen(phase_names[i]);
			if (!strncmp(to, phase_names[i], n) && to[n] == '"') {
				ph = (phase)i;
				break;
			}
		}
		pthread_mutex_lock(&c->mu);
		if (!r->done)
			r->ph = ph;
		pthread_mutex_unlock(&c->mu);
	} else if (!strncmp(ev, "sample\"", 7)) {
		char *copy = strdup(line);
		pthread_mutex_lock(&c->mu);
		free(r->sample);
		r->sample = copy;
		pthread_mutex_unlock(&c->mu);
	}
}

static void rres_fill(rres *x, art_runtime *rt, const art_result *res)
{
	memset(x, 0, sizeof(*x));
	x->r = *res;
	x->r.stdout_tail = x->stdout_tail = dup_bytes(res->stdout_tail, res->stdout_tail_len);
	x->r.stderr_tail = x->stderr_tail = dup_bytes(res->stderr_tail, res->stderr_tail_len);
	if (!x->stdout_tail)
		x->r.stdout_tail_len = 0;
	if (!x->stderr_tail)
		x->r.stderr_tail_len = 0;
	x->r.skip_reason = x->skip_reason = dup_or_null(res->skip_reason);
	x->r.workspace_dir = x->workspace_dir = dup_or_null(res->workspace_dir);
	x->r.changes = NULL;
	x->r.n_changes = 0;
	if (res->n_changes && res->changes) {
		x->changes = calloc(res->n_changes, sizeof(*x->changes));
		if (x->changes) {
			for (size_t i = 0; i < res->n_changes; i++) {
				x->changes[i].path = dup_or_null(res->changes[i].path);
				x->changes[i].kind = dup_or_null(res->changes[i].kind);
			}
			x->r.changes = x->changes;
			x->r.n_changes = res->n_changes;
		}
	}
	char buf[1024];
	x->message = dup_or_null(art_result_message(res, buf, sizeof(buf)));
	if (res->unenforced)
		x->diagnostic = dup_or_null(art_runtime_limits_diagnostic(rt));
	x->exit_status = art_result_exit_status(res);
	x->ok = art_result_ok(res);
}

/* On the loop thread (on_exit): art_task_explain is for it alone. */
static void rres_explain(rres *x, const art_task *task)
{
	char buf[512];
	if (art_task_explain(task, buf, sizeof(buf)) == 0)
		x->waited = dup_or_null(buf);
}

static void on_exit_cb(art_runtime *rt, art_task *task, const art_result *res, void *userdata)
{
	core *c = userdata;
	rec *r = art_task_userdata(task);
	if (!r)
		return;
	rres x;
	rres_fill(&x, rt, res);
	rres_explain(&x, task);
	pthread_mutex_lock(&c->mu);
	r->res = x;
	r->done = true;
	r->ph = PH_DONE;
	r->ended_ns = mono_ns();
	if (!r->pid)
		r->pid = res->pid;
	art_task *t = r->task;
	r->task = NULL;
	int stdin_fd = stdin_detach_locked(r);
	pthread_cond_broadcast(&r->cond);
	notify_locked(r);
	pthread_mutex_unlock(&c->mu);
	if (stdin_fd >= 0)
		close(stdin_fd);
	if (t)
		art_task_unref(t);
	rec_unref(r); /* the loop's reference, taken at submit */
}

/* ------------------------------------------------------------ the mailbox */

/* With the GIL held and the core not closing (so the loop thread drains
 * the mailbox before it frees the runtime, see loop_main): asks the loop
 * thread to close t's session input. Takes over the reference t. */
static int mailbox_post(core *c, art_task *t, mbox_op op)
{
	pthread_mutex_lock(&c->mu);
	if (c->mbox_n == c->mbox_cap) {
		size_t cap = c->mbox_cap ? c->mbox_cap * 2 : 16;
		mbox_item *q = realloc(c->mbox, cap * sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&c->mu);
			return -ENOMEM;
		}
		c->mbox = q;
		c->mbox_cap = cap;
	}
	c->mbox[c->mbox_n++] = (mbox_item){ t, op };
	pthread_mutex_unlock(&c->mu);
	uint64_t one = 1;
	ssize_t w = write(c->mbox_fd, &one, sizeof(one));
	(void)w; /* EAGAIN only when the counter is full: it is readable anyway */
	return 0;
}

static mbox_item *mailbox_take(core *c, size_t *n)
{
	pthread_mutex_lock(&c->mu);
	mbox_item *q = c->mbox;
	*n = c->mbox_n;
	c->mbox = NULL;
	c->mbox_n = c->mbox_cap = 0;
	pthread_mutex_unlock(&c->mu);
	return q;
}

/* On the loop thread: Handle.explain's answer, for the threads waiting. */
static void explain_answer(core *c, art_task *t)
{
	rec *r = art_task_userdata(t);
	if (!r)
		return;
	char buf[512];
	char *text = art_task_explain(t, buf, sizeof(buf)) == 0 ? strdup(buf) : NULL;
	pthread_mutex_lock(&c->mu);
	free(r->explained);
	r->explained = text;
	r->explain_answers++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&c->mu);
}

/* On the loop thread: the [loop thread] calls asked for. */
static void on_mailbox(art_runtime *rt, int fd, uint32_t events, void *userdata)
{
	(void)rt;
	(void)events;
	core *c = userdata;
	uint64_t v;
	ssize_t rd = read(fd, &v, sizeof(v));
	(void)rd;
	size_t n;
	mbox_item *q = mailbox_take(c, &n);
	for (size_t i = 0; i < n; i++) {
		art_task *t = q[i].task;
		if (q[i].op == MB_EXPLAIN) {
			explain_answer(c, t);
		} else {
			/* Lines already sent are written first, then end of
			 * file; no effect on a task that has ended. */
			art_task_close_stdin(t);
		}
		art_task_unref(t);
	}
	free(q);
}

/* ------------------------------------------------------------ the loop thread */

static void *loop_main(void *arg)
{
	core *c = arg;
	int r = art_runtime_run(c->rt);
	pthread_mutex_lock(&c->mu);
	c->loop_result = r;
	c->loop_exited = true;
	/* The loop only returns early if it failed: then wait for close(),
	 * which is the only place that frees. */
	while (!c->stop_requested)
		pthread_cond_wait(&c->cond, &c->mu);
	pthread_mutex_unlock(&c->mu);
	/* Nothing is posted once close() began: the references the mailbox
	 * still holds go now, while the runtime lives (no art_task outlives it). */
	size_t n;
	mbox_item *q = mailbox_take(c, &n);
	for (size_t i = 0; i < n; i++)
		art_task_unref(q[i].task);
	free(q);
	/* Kills and reaps everything, on this thread, calling on_exit for every
	 * task still there. */
	art_runtime_free(c->rt);
	/* Its last events are queued: the event thread may end once it has
	 * delivered them. */
	pthread_mutex_lock(&c->mu);
	c->ev_final = true;
	pthread_cond_broadcast(&c->ev_cond);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* ------------------------------------------------------------ errors */

static PyObject *raise_art(PyObject *type, int code, const art_error *err, const char *what)
{
	if (err && err->msg[0])
		PyErr_SetString(type, err->msg);
	else
		PyErr_Format(type, "%s: %s", what, strerror(code < 0 ? -code : code));
	return NULL;
}

/* The library's spec from JSON, or NULL with SpecError naming the field. */
static art_spec *parse_spec(const char *json, Py_ssize_t len)
{
	art_error err = { 0 };
	art_spec *spec = NULL;
	int r = art_spec_from_json(json, (size_t)len, &spec, &err);
	if (r < 0) {
		raise_art(r == -ENOMEM ? PyExc_MemoryError : SpecError, r, &err, "invalid spec");
		return NULL;
	}
	return spec;
}

/* ------------------------------------------------------------ Notifier */

typedef struct {
	PyObject_HEAD
	notifier *n;
} NotifierObject;

static PyTypeObject Notifier_Type;

static int Notifier_init(NotifierObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { NULL };
	if (!PyArg_ParseTupleAndKeywords(args, kwds, ":Notifier", kwlist))
		return -1;
	if (self->n)
		return 0;
	self->n = notifier_new();
	if (!self->n) {
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	return 0;
}

static void Notifier_dealloc(NotifierObject *self)
{
	notifier_unref(self->n);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Notifier_fileno(NotifierObject *self, PyObject *unused)
{
	(void)unused;
	return PyLong_FromLong(self->n->efd);
}

static PyObject *Notifier_drain(NotifierObject *self, PyObject *unused)
{
	(void)unused;
	notifier *n = self->n;
	uint64_t v;
	ssize_t rd = read(n->efd, &v, sizeof(v));
	(void)rd;
	pthread_mutex_lock(&n->mu);
	rec **q = n->q;
	size_t cnt = n->n;
	n->q = NULL;
	n->n = n->cap = 0;
	pthread_mutex_unlock(&n->mu);
	PyObject *list = PyList_New((Py_ssize_t)cnt);
	for (size_t i = 0; i < cnt; i++) {
		rec *r = q[i];
		pthread_mutex_lock(&r->c->mu);
		r->nt_pending = false;
		pthread_mutex_unlock(&r->c->mu);
		if (list)
			PyList_SET_ITEM(list, (Py_ssize_t)i, PyLong_FromUnsignedLongLong(r->serial));
		rec_unref(r);
	}
	free(q);
	if (list) {
		for (Py_ssize_t i = 0; i < (Py_ssize_t)cnt; i++)
			if (!PyList_GET_ITEM(list, i)) {
				Py_DECREF(list);
				return NULL;
			}
	}
	return list;
}

static PyMethodDef Notifier_methods[] = {
	{ "fileno", (PyCFunction)Notifier_fileno, METH_NOARGS,
	  "The eventfd that becomes readable when a watched task moves." },
	{ "drain", (PyCFunction)Notifier_drain, METH_NOARGS,
	  "Resets the eventfd and returns the serials of the tasks that moved." },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject Notifier_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agentrt._agentrt.Notifier",
	.tp_basicsize = sizeof(NotifierObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Wakes an event loop (add_reader on fileno()) when watched tasks move.",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)Notifier_init,
	.tp_dealloc = (destructor)Notifier_dealloc,
	.tp_methods = Notifier_methods,
};

/* ------------------------------------------------------------ Handle */

typedef struct {
	PyObject_HEAD
	rec *r;
} HandleObject;

static PyTypeObject Handle_Type;

/* With the GIL held: closes the task's input for writing. A "pipe": our
 * descriptor (the only writer, stdin_handover) is closed, or, before the
 * start, the runtime's is closed at the start. A session: the loop thread
 * closes it after the lines already sent (mailbox). Returns 1 if it was
 * open, 0 if not, -ENOMEM. */
static int rec_close_stdin(rec *r)
{
	core *c = r->c;
	pthread_mutex_lock(&c->mu);
	bool was_open = !r->stdin_closed && !r->done;
	int fd = stdin_detach_locked(r);
	art_task *t = NULL;
	/* See Handle_cancel: the runtime lives while the GIL is held and the
	 * core is not closing; the reference goes to the mailbox. */
	if (r->session && was_open && !c->closing && r->task) {
		t = r->task;
		art_task_ref(t);
	}
	pthread_mutex_unlock(&c->mu);
	if (fd >= 0)
		close(fd);
	if (t && mailbox_post(c, t, MB_CLOSE_STDIN) < 0) {
		art_task_unref(t);
		return -ENOMEM;
	}
	return was_open;
}

static void Handle_dealloc(HandleObject *self)
{
	/* As for a file object: no one can write to the task any more, so it
	 * reads end of file. */
	if (self->r)
		rec_close_stdin(self->r);
	rec_unref(self->r);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static bool is_main_thread(void)
{
	return PyThread_get_thread_ident() == main_thread_ident;
}

/* Parses a timeout: None (or a negative number) is forever. */
static int parse_timeout(PyObject *obj, int64_t *deadline)
{
	if (!obj || obj == Py_None) {
		*deadline = INT64_MAX;
		return 0;
	}
	double s = PyFloat_AsDouble(obj);
	if (s == -1.0 && PyErr_Occurred())
		return -1;
	if (s != s) {
		PyErr_SetString(PyExc_ValueError, "timeout must be a number");
		return -1;
	}
	if (s < 0)
		s = 0;
	if (s > 1e9)
		*deadline = INT64_MAX;
	else
		*deadline = mono_ns() + (int64_t)(s * 1e9);
	return 0;
}

typedef bool (*ready_fn)(const rec *r, intptr_t arg);

static bool ready_done(const rec *r, intptr_t arg)
{
	(void)arg;
	return r->done;
}

static bool ready_stream(const rec *r, intptr_t stream)
{
	const sbuf *b = &r->buf[stream];
	return r->done || b->len > b->off;
}

/* Waits with the GIL released until ready() or the deadline. On the main
 * thread it wakes every SIGNAL_CHECK_NS to run signal handlers. Returns 1
 * when ready, 0 at the deadline, -1 with an exception set. */
static int rec_wait(rec *r, ready_fn ready, intptr_t arg, int64_t deadline)
{
	core *c = r->c;
	bool interruptible = is_main_thread();
	for (;;) {
		int got;
		Py_BEGIN_ALLOW_THREADS
		pthread_mutex_lock(&c->mu);
		int64_t slice_end = interruptible ? mono_ns() + SIGNAL_CHECK_NS : INT64_MAX;
		int64_t until = deadline < slice_end ? deadline : slice_end;
		while (!ready(r, arg)) {
			if (until == INT64_MAX) {
				pthread_cond_wait(&r->cond, &c->mu);
				continue;
			}
			struct timespec ts = { .tv_sec = until / NSEC_PER_SEC,
					       .tv_nsec = until % NSEC_PER_SEC };
			if (pthread_cond_timedwait(&r->cond, &c->mu, &ts) == ETIMEDOUT)
				break;
		}
		got = ready(r, arg);
		pthread_mutex_unlock(&c->mu);
		Py_END_ALLOW_THREADS
		if (got)
			return 1;
		if (deadline != INT64_MAX && mono_ns() >= deadline)
			return 0;
		if (interruptible && PyErr_CheckSignals() < 0)
			return -1;
	}
}

static PyObject *Handle_wait(HandleObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "timeout", NULL };
	PyObject *timeout = Py_None;
	int64_t deadline;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:wait", kwlist, &timeout))
		return NULL;
	if (parse_timeout(timeout, &deadline) < 0)
		return NULL;
	int r = rec_wait(self->r, ready_done, 0, deadline);
	if (r < 0)
		return NULL;
	return PyBool_FromLong(r);
}

static PyObject *Handle_done(HandleObject *self, PyObject *unused)
{
	(void)unused;
	core *c = self->r->c;
	pthread_mutex_lock(&c->mu);
	bool d = self->r->done;
	pthread_mutex_unlock(&c->mu);
	return PyBool_FromLong(d);
}

static PyObject *Handle_cancel(HandleObject *self, PyObject *unused)
{
	(void)unused;
	rec *r = self->r;
	core *c = r->c;
	/* With the GIL held and the core not closing, the runtime cannot be
	 * freed before we return (only close() frees, and it needs the GIL to
	 * start). The extra reference keeps the task if it ends meanwhile. */
	if (c->closing)
		Py_RETURN_FALSE;
	pthread_mutex_lock(&c->mu);
	art_task *t = r->task;
	if (t)
		art_task_ref(t);
	pthread_mutex_unlock(&c->mu);
	if (!t)
		Py_RETURN_FALSE;
	art_task_cancel(t);
	art_task_unref(t);
	Py_RETURN_TRUE;
}

/* The task with a reference of ours, or NULL once it has ended (or the
 * core is closing): see Handle_cancel. */
static art_task *handle_task(HandleObject *self)
{
	rec *r = self->r;
	core *c = r->c;
	if (c->closing)
		return NULL;
	pthread_mutex_lock(&c->mu);
	art_task *t = r->task;
	if (t)
		art_task_ref(t);
	pthread_mutex_unlock(&c->mu);
	return t;
}

static PyObject *handle_pause(HandleObject *self, bool pause)
{
	art_task *t = handle_task(self);
	if (!t)
		Py_RETURN_FALSE;
	int r = pause ? art_task_pause(t) : art_task_resume(t);
	art_task_unref(t);
	if (r < 0) {
		errno = -r;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	Py_RETURN_TRUE;
}

static PyObject *Handle_pause(HandleObject *self, PyObject *unused)
{
	(void)unused;
	return handle_pause(self, true);
}

static PyObject *Handle_resume(HandleObject *self, PyObject *unused)
{
	(void)unused;
	return handle_pause(self, false);
}

/* set_limit(name, value) -> bool: art_task_set_limit (GIL released: the
 * loop answers); False once the task has ended. name as in the spec's
 * limits; value in the library's unit (bytes, thousandths of a CPU, ...),
 * 2**64 - 1 for none. */
static PyObject *Handle_set_limit(HandleObject *self, PyObject *args)
{
	const char *name;
	unsigned long long value;
	if (!PyArg_ParseTuple(args, "sK:set_limit", &name, &value))
		return NULL;
	int limit = 0;
	while (limit < ART_LIMIT__COUNT && strcmp(art_limit_name((art_limit)limit), name) != 0)
		limit++;
	if (limit == ART_LIMIT__COUNT)
		return PyErr_Format(PyExc_ValueError, "set_limit: no limit named %s", name);
	art_task *t = handle_task(self);
	if (!t)
		Py_RETURN_FALSE;
	art_error err = { 0 };
	int r;
	Py_BEGIN_ALLOW_THREADS
	r = art_task_set_limit(t, (art_limit)limit, value, &err);
	Py_END_ALLOW_THREADS
	art_task_unref(t);
	if (r == -ESRCH)
		Py_RETURN_FALSE;
	if (r < 0)
		return raise_art(r == -EINVAL ? PyExc_ValueError : Error, r, &err, "set_limit");
	Py_RETURN_TRUE;
}

/* live() -> dict | None: art_task_stats_get, read now (GIL released: the
 * loop answers); None once the task has ended. */
static PyObject *Handle_live(HandleObject *self, PyObject *unused)
{
	(void)unused;
	art_task *t = handle_task(self);
	if (!t)
		Py_RETURN_NONE;
	art_task_stats st;
	int r;
	Py_BEGIN_ALLOW_THREADS
	r = art_task_stats_get(t, &st);
	Py_END_ALLOW_THREADS
	art_task_unref(t);
	if (r < 0) {
		errno = -r;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	return Py_BuildValue("{s:s,s:O,s:O,s:i,s:I,s:d,s:d,s:K,s:I,s:d}", "state",
			     art_task_state_name(st.state), "paused", st.paused ? Py_True : Py_False,
			     "frozen", st.frozen ? Py_True : Py_False, "pid", st.pid, "attempts",
			     st.attempts, "uptime_s", (double)st.uptime_ns / 1e9, "cpu_s",
			     (double)st.cpu_ns / 1e9, "rss_bytes", (unsigned long long)st.rss_bytes,
			     "procs", st.procs, "stopped_s", (double)st.stopped_ns / 1e9);
}

static bool ready_explained(const rec *r, intptr_t want)
{
	return r->explain_answers >= (uint64_t)want;
}

/* explain(timeout=1.0) -> str | None: why the task waits (or waited)
 * before it starts, as the scheduler sees it now (art_task_explain, which
 * only the loop thread may call: asked through the mailbox). None once the
 * task has ended (its Result has it as `waited`), or if the loop did not
 * answer within the timeout. */
static PyObject *Handle_explain(HandleObject *self, PyObject *args)
{
	double timeout = 1.0;
	if (!PyArg_ParseTuple(args, "|d:explain", &timeout))
		return NULL;
	rec *r = self->r;
	core *c = r->c;
	art_task *t = NULL;
	uint64_t want = 0;
	pthread_mutex_lock(&c->mu);
	/* As in Handle_cancel: while the GIL is held and the core is not
	 * closing, the runtime lives; the reference goes to the mailbox. */
	if (!c->closing && r->task) {
		t = r->task;
		art_task_ref(t);
		want = r->explain_answers + 1;
	}
	pthread_mutex_unlock(&c->mu);
	if (!t)
		Py_RETURN_NONE;
	if (mailbox_post(c, t, MB_EXPLAIN) < 0) {
		art_task_unref(t);
		return PyErr_NoMemory();
	}
	int got = rec_wait(r, ready_explained, (intptr_t)want, mono_ns() + (int64_t)(timeout * 1e9));
	if (got < 0)
		return NULL;
	if (!got)
		Py_RETURN_NONE;
	pthread_mutex_lock(&c->mu);
	PyObject *text = r->explained ? PyUnicode_FromString(r->explained) : NULL;
	pthread_mutex_unlock(&c->mu);
	if (!text && !PyErr_Occurred())
		Py_RETURN_NONE;
	return text;
}

/* read(stream, block=True, timeout=None, max=65536) -> bytes | None:
 * the next chunk of live output; b"" at the end (the task is done and
 * everything was read); None when nothing came before the timeout (or at
 * once without block). */
static PyObject *Handle_read(HandleObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "stream", "block", "timeout", "max", NULL };
	int stream, block = 1;
	PyObject *timeout = Py_None;
	Py_ssize_t max = 65536;
	int64_t deadline;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "i|pOn:read", kwlist, &stream, &block,
					 &timeout, &max))
		return NULL;
	if (stream != ART_STREAM_STDOUT && stream != ART_STREAM_STDERR) {
		PyErr_SetString(PyExc_ValueError, "stream must be 1 (stdout) or 2 (stderr)");
		return NULL;
	}
	if (max <= 0)
		max = 65536;
	rec *r = self->r;
	if (!r->stream_limit) {
		PyErr_SetString(Error, "live output is off for this task (spawned with stream=False)");
		return NULL;
	}
	if (r->session && stream == ART_STREAM_STDOUT) {
		PyErr_SetString(Error, "a session's stdout comes as messages: use Task.messages()");
		return NULL;
	}
	if (block) {
		if (parse_timeout(timeout, &deadline) < 0)
			return NULL;
		int w = rec_wait(r, ready_stream, stream - 1, deadline);
		if (w < 0)
			return NULL;
	}
	core *c = r->c;
	pthread_mutex_lock(&c->mu);
	sbuf *b = &r->buf[stream - 1];
	size_t avail = b->len - b->off;
	if (!avail) {
		bool done = r->done;
		pthread_mutex_unlock(&c->mu);
		if (done)
			return PyBytes_FromStringAndSize("", 0);
		Py_RETURN_NONE;
	}
	size_t n = avail < (size_t)max ? avail : (size_t)max;
	PyObject *out = PyBytes_FromStringAndSize(b->data + b->off, (Py_ssize_t)n);
	if (out) {
		b->off += n;
		if (b->off == b->len)
			b->off = b->len = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return out;
}

static PyObject *Handle_dropped(HandleObject *self, PyObject *args)
{
	int stream;
	if (!PyArg_ParseTuple(args, "i:dropped", &stream))
		return NULL;
	if (stream != ART_STREAM_STDOUT && stream != ART_STREAM_STDERR) {
		PyErr_SetString(PyExc_ValueError, "stream must be 1 (stdout) or 2 (stderr)");
		return NULL;
	}
	core *c = self->r->c;
	pthread_mutex_lock(&c->mu);
	uint64_t d = self->r->buf[stream - 1].dropped;
	pthread_mutex_unlock(&c->mu);
	return PyLong_FromUnsignedLongLong(d);
}

/* watch(notifier) -> bool: from now on, the notifier hears when the task
 * ends or (with live output) writes; returns whether it has already ended. */
static PyObject *Handle_watch(HandleObject *self, PyObject *arg)
{
	if (!PyObject_TypeCheck(arg, &Notifier_Type)) {
		PyErr_SetString(PyExc_TypeError, "watch() needs a Notifier");
		return NULL;
	}
	notifier *n = ((NotifierObject *)arg)->n;
	rec *r = self->r;
	core *c = r->c;
	notifier *old = NULL;
	pthread_mutex_lock(&c->mu);
	if (r->nt != n) {
		/* The last event loop to watch a task is the one woken. */
		old = r->nt;
		atomic_fetch_add(&n->refs, 1);
		r->nt = n;
		r->nt_pending = false;
	}
	bool done = r->done;
	pthread_mutex_unlock(&c->mu);
	notifier_unref(old);
	return PyBool_FromLong(done);
}

static PyObject *num_or_none_ll(long long v, bool present)
{
	if (!present)
		Py_RETURN_NONE;
	return PyLong_FromLongLong(v);
}

static int set_item(PyObject *d, const char *key, PyObject *v)
{
	if (!v)
		return -1;
	int r = PyDict_SetItemString(d, key, v);
	Py_DECREF(v);
	return r;
}

static PyObject *str_or_none(const char *s)
{
	if (!s)
		Py_RETURN_NONE;
	return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

/* ------------------------------------------------------------ Handle: sessions, stdin */

/* SessionClosed, saying why the task's input is closed. */
static PyObject *raise_closed(rec *r, const char *verb)
{
	core *c = r->c;
	pthread_mutex_lock(&c->mu);
	bool done = r->done, closed = r->stdin_closed;
	int err = r->stdin_err;
	pthread_mutex_unlock(&c->mu);
	char why[160];
	if (done || c->closing)
		snprintf(why, sizeof(why), "it has ended");
	else if (err)
		snprintf(why, sizeof(why), "its stdin pipe could not be taken over: %s",
			 strerror(err));
	else if (closed)
		snprintf(why, sizeof(why), "its stdin was closed (close_stdin())");
	else
		snprintf(why, sizeof(why), "it stopped reading its stdin");
	if (r->id)
		PyErr_Format(SessionClosed, "cannot %s task '%s': %s", verb, r->id, why);
	else
		PyErr_Format(SessionClosed, "cannot %s the task: %s", verb, why);
	return NULL;
}

static int need_session(rec *r)
{
	if (r->session)
		return 0;
	PyErr_SetString(Error, "not a session task: spawn it with session=True");
	return -1;
}

/* send(line: bytes) -> None: queues one line for a session's stdin
 * (art_task_send; a newline is added unless it ends with one). Never
 * blocks. The GIL stays held: art_task_send only copies under a mutex,
 * and the GIL is what keeps close() from freeing the runtime meanwhile
 * (see Handle_cancel). */
static PyObject *Handle_send(HandleObject *self, PyObject *arg)
{
	rec *r = self->r;
	core *c = r->c;
	if (need_session(r) < 0)
		return NULL;
	Py_buffer buf;
	if (PyObject_GetBuffer(arg, &buf, PyBUF_SIMPLE) < 0)
		return NULL;
	art_task *t = NULL;
	if (!c->closing) {
		pthread_mutex_lock(&c->mu);
		/* Once close_stdin() returned, nothing more is accepted, though
		 * the loop thread may not have closed the channel yet. */
		if (!r->stdin_closed && r->task) {
			t = r->task;
			art_task_ref(t);
		}
		pthread_mutex_unlock(&c->mu);
	}
	if (!t) {
		PyBuffer_Release(&buf);
		return raise_closed(r, "send to");
	}
	int rc = art_task_send(t, buf.buf, (size_t)buf.len);
	art_task_unref(t);
	PyBuffer_Release(&buf);
	switch (rc) {
	case 0:
		Py_RETURN_NONE;
	case -EPIPE:
		return raise_closed(r, "send to");
	case -ENOBUFS:
		PyErr_Format(SessionQueueFull,
			     "cannot send to %s%s%s: %u MiB of lines wait to be written; try again "
			     "once it has read some",
			     r->id ? "task '" : "the task", r->id ? r->id : "", r->id ? "'" : "",
			     ART_SESSION_QUEUE_MAX >> 20);
		return NULL;
	case -EINVAL:
		PyErr_SetString(PyExc_ValueError, "a line sent to a session cannot contain a newline");
		return NULL;
	case -ENOMEM:
		return PyErr_NoMemory();
	default:
		errno = -rc;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
}

static bool ready_msg(const rec *r, intptr_t arg)
{
	(void)arg;
	return r->done || r->mq_head;
}

/* (text: str, is_json: bool, id: str | None) */
static PyObject *msg_tuple(const msg *m)
{
	PyObject *text = PyUnicode_DecodeUTF8(m->line, (Py_ssize_t)m->len, "replace");
	if (!text)
		return NULL;
	return Py_BuildValue("(NON)", text, m->is_json ? Py_True : Py_False, str_or_none(m->id));
}

/* recv(block=True, timeout=None, max=256) -> list | None: the next
 * messages of a session, as msg_tuple()s; [] at the end (the task is done
 * and every message was read); None when none came before the timeout
 * (or at once without block). */
static PyObject *Handle_recv(HandleObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "block", "timeout", "max", NULL };
	int block = 1;
	PyObject *timeout = Py_None;
	Py_ssize_t max = RECV_BATCH_MAX;
	int64_t deadline;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|pOn:recv", kwlist, &block, &timeout, &max))
		return NULL;
	rec *r = self->r;
	if (need_session(r) < 0)
		return NULL;
	if (!r->stream_limit) {
		PyErr_SetString(Error, "messages are not kept for this task (spawned with "
				       "stream=False); request() still gets its answers");
		return NULL;
	}
	if (max <= 0)
		max = RECV_BATCH_MAX;
	if (block) {
		if (parse_timeout(timeout, &deadline) < 0)
			return NULL;
		if (rec_wait(r, ready_msg, 0, deadline) < 0)
			return NULL;
	}
	core *c = r->c;
	pthread_mutex_lock(&c->mu);
	msg *head = r->mq_head, *last = NULL;
	Py_ssize_t n = 0;
	for (msg *m = head; m && n < max; m = m->next) {
		last = m;
		r->mq_bytes -= m->len + 1;
		n++;
	}
	if (last) {
		r->mq_head = last->next;
		if (!r->mq_head)
			r->mq_tail = NULL;
		last->next = NULL;
	}
	bool done = r->done;
	pthread_mutex_unlock(&c->mu);
	if (!n) {
		if (done)
			return PyList_New(0);
		Py_RETURN_NONE;
	}
	PyObject *list = PyList_New(n);
	Py_ssize_t i = 0;
	for (msg *m = head, *next; m; m = next, i++) {
		next = m->next;
		PyObject *item = list ? msg_tuple(m) : NULL;
		if (list && !item)
			Py_CLEAR(list);
		if (list)
			PyList_SET_ITEM(list, i, item);
		free(m);
	}
	return list;
}

/* expect(id: str) -> None: the message with this id (the answer to a
 * request about to be sent) will go to reply(id), not to recv(). */
static PyObject *Handle_expect(HandleObject *self, PyObject *arg)
{
	rec *r = self->r;
	if (need_session(r) < 0)
		return NULL;
	Py_ssize_t len;
	const char *id = PyUnicode_AsUTF8AndSize(arg, &len);
	if (!id)
		return NULL;
	if ((size_t)len != strlen(id)) {
		PyErr_SetString(PyExc_ValueError, "a request id cannot contain NUL");
		return NULL;
	}
	reqw *w = malloc(sizeof(*w) + (size_t)len + 1);
	if (!w)
		return PyErr_NoMemory();
	memcpy(w->id, id, (size_t)len + 1);
	w->reply = NULL;
	core *c = r->c;
	pthread_mutex_lock(&c->mu);
	bool dup = reqw_find_locked(r, id) != NULL;
	if (!dup) {
		w->next = r->reqs;
		r->reqs = w;
	}
	pthread_mutex_unlock(&c->mu);
	if (dup) {
		free(w);
		PyErr_Format(PyExc_ValueError, "a request with id %R is already waiting", arg);
		return NULL;
	}
	Py_RETURN_NONE;
}

static bool ready_reply(const rec *r, intptr_t id)
{
	const reqw *w = reqw_find_locked(r, (const char *)id);
	return r->done || !w || w->reply;
}

/* reply(id, block=True, timeout=None) -> tuple | None | False: the
 * answer to expect(id), as a msg_tuple(); None when it has not come
 * before the timeout (the request still waits: unexpect() gives it up);
 * False when the task ended without it. */
static PyObject *Handle_reply(HandleObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "id", "block", "timeout", NULL };
	const char *id;
	int block = 1;
	PyObject *timeout = Py_None;
	int64_t deadline;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "s|pO:reply", kwlist, &id, &block, &timeout))
		return NULL;
	rec *r = self->r;
	if (block) {
		if (parse_timeout(timeout, &deadline) < 0)
			return NULL;
		if (rec_wait(r, ready_reply, (intptr_t)id, deadline) < 0)
			return NULL;
	}
	core *c = r->c;
	pthread_mutex_lock(&c->mu);
	reqw **pp = &r->reqs;
	while (*pp && strcmp((*pp)->id, id))
		pp = &(*pp)->next;
	reqw *w = *pp;
	msg *m = NULL;
	bool done = r->done, found = w != NULL;
	if (w && (w->reply || done)) {
		m = w->reply;
		*pp = w->next;
	} else {
		w = NULL; /* still waiting, or not there */
	}
	pthread_mutex_unlock(&c->mu);
	free(w);
	if (m) {
		PyObject *t = msg_tuple(m);
		free(m);
		return t;
	}
	if (!found) {
		PyErr_Format(Error, "no request with id '%s' is waiting", id);
		return NULL;
	}
	if (done)
		Py_RETURN_FALSE;
	Py_RETURN_NONE;
}

/* unexpect(id) -> None: gives up a request; an answer that came
 * meanwhile goes to recv() like any message. */
static PyObject *Handle_unexpect(HandleObject *self, PyObject *arg)
{
	const char *id = PyUnicode_AsUTF8(arg);
	if (!id)
		return NULL;
	rec *r = self->r;
	core *c = r->c;
	pthread_mutex_lock(&c->mu);
	reqw **pp = &r->reqs;
	while (*pp && strcmp((*pp)->id, id))
		pp = &(*pp)->next;
	reqw *w = *pp;
	msg *m = NULL;
	if (w) {
		*pp = w->next;
		m = w->reply;
		if (m && r->stream_limit) {
			mq_push_locked(r, m);
			m = NULL;
			pthread_cond_broadcast(&r->cond);
			notify_locked(r);
		}
	}
	pthread_mutex_unlock(&c->mu);
	free(m);
	free(w);
	Py_RETURN_NONE;
}

/*
 * A write to a pipe whose reader is gone raises SIGPIPE. Python ignores
 * it, but a host may have set it back to the default, which would kill
 * the process: as the library does for sessions (src/core/session.c), the
 * signal is blocked on this thread around the writes and one they raised
 * is taken back (SIGPIPE for a write goes to the writing thread).
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

/* Without the GIL: writes p[*off..len) into the nonblocking fd as the
 * pipe takes it, until all is written, `until`, a signal (EINTR) or an
 * error, whose errno it returns. */
static int write_until(int fd, const char *p, size_t len, size_t *off, int64_t until)
{
	int err = 0;
	sigpipe_guard g;
	sigpipe_block(&g);
	while (*off < len) {
		ssize_t n = write(fd, p + *off, len - *off);
		if (n > 0) {
			*off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			break; /* the caller runs signal handlers */
		if (n < 0 && errno != EAGAIN) {
			err = errno;
			break;
		}
		int64_t now = mono_ns();
		if (now >= until)
			break;
		int64_t ms = until == INT64_MAX ? -1 : (until - now + 999999) / 1000000;
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		if (poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms) < 0) {
			if (errno != EINTR)
				err = errno;
			break;
		}
		/* POLLERR (no reader): the next write says EPIPE. */
	}
	sigpipe_restore(&g, err == EPIPE);
	return err;
}

static bool ready_stdin(const rec *r, intptr_t arg)
{
	(void)arg;
	return r->done || r->stdin_closed || (r->stdin_fd >= 0 && !r->stdin_busy);
}

/* write_stdin(data, timeout=None) -> int: writes to a "pipe" stdin,
 * waiting (GIL released) for the task to start, for another writer to
 * finish, and for the task to read. Returns the bytes written: all of
 * them, unless the timeout passed first. One call's bytes are never
 * interleaved with another's. */
static PyObject *Handle_write_stdin(HandleObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "data", "timeout", NULL };
	Py_buffer buf;
	PyObject *timeout = Py_None;
	int64_t deadline;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*|O:write_stdin", kwlist, &buf, &timeout))
		return NULL;
	rec *r = self->r;
	core *c = r->c;
	if (parse_timeout(timeout, &deadline) < 0) {
		PyBuffer_Release(&buf);
		return NULL;
	}
	int got = rec_wait(r, ready_stdin, 0, deadline);
	if (got <= 0) {
		PyBuffer_Release(&buf);
		return got < 0 ? NULL : PyLong_FromLong(0);
	}
	pthread_mutex_lock(&c->mu);
	int fd = r->stdin_closed || r->done ? -1 : r->stdin_fd;
	if (fd >= 0)
		r->stdin_busy = true;
	pthread_mutex_unlock(&c->mu);
	if (fd < 0) {
		PyBuffer_Release(&buf);
		return raise_closed(r, "write to");
	}
	const char *p = buf.buf;
	size_t len = (size_t)buf.len, off = 0;
	bool interruptible = is_main_thread(), interrupted = false;
	int err = 0;
	while (off < len) {
		int64_t slice_end = interruptible ? mono_ns() + SIGNAL_CHECK_NS : INT64_MAX;
		int64_t until = deadline < slice_end ? deadline : slice_end;
		Py_BEGIN_ALLOW_THREADS
		err = write_until(fd, p, len, &off, until);
		Py_END_ALLOW_THREADS
		if (err || off == len)
			break;
		if (deadline != INT64_MAX && mono_ns() >= deadline)
			break;
		if (interruptible && PyErr_CheckSignals() < 0) {
			interrupted = true;
			break;
		}
	}
	pthread_mutex_lock(&c->mu);
	r->stdin_busy = false;
	/* Closed (close_stdin, the end) or replaced (a retry) while we wrote:
	 * the descriptor was left to us. */
	bool left_to_us = r->stdin_fd != fd;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&c->mu);
	if (left_to_us)
		close(fd);
	PyBuffer_Release(&buf);
	if (interrupted)
		return NULL;
	if (err == EPIPE)
		return raise_closed(r, "write to");
	if (err) {
		errno = err;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	return PyLong_FromSize_t(off);
}

/* close_stdin() -> bool: ends the task's input (rec_close_stdin); False
 * if it was closed already or the task has ended. */
static PyObject *Handle_close_stdin(HandleObject *self, PyObject *unused)
{
	(void)unused;
	int r = rec_close_stdin(self->r);
	if (r < 0)
		return PyErr_NoMemory();
	return PyBool_FromLong(r);
}

/* The result as a dict of plain values, or None before the end. */
static PyObject *Handle_result(HandleObject *self, PyObject *unused)
{
	(void)unused;
	rec *r = self->r;
	core *c = r->c;
	pthread_mutex_lock(&c->mu);
	bool done = r->done;
	pthread_mutex_unlock(&c->mu);
	if (!done)
		Py_RETURN_NONE;
	/* Once done, r->res never changes: read it without the lock. */
	const rres *x = &r->res;
	const art_result *a = &x->r;
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	bool started = a->started_ns != 0;
	PyObject *unenforced = PyTuple_New(0);
	for (int i = 0; unenforced && i < ART_LIMIT__COUNT; i++) {
		if (!(a->unenforced & (1u << i)))
			continue;
		PyObject *name = str_or_none(art_limit_name((art_limit)i));
		Py_ssize_t n = PyTuple_GET_SIZE(unenforced);
		if (!name || _PyTuple_Resize(&unenforced, n + 1) < 0) {
			Py_XDECREF(name);
			Py_CLEAR(unenforced);
			break;
		}
		PyTuple_SET_ITEM(unenforced, n, name);
	}
	PyObject *changes = PyTuple_New((Py_ssize_t)a->n_changes);
	for (size_t i = 0; changes && i < a->n_changes; i++) {
		PyObject *pair = Py_BuildValue("(NN)", str_or_none(a->changes[i].path),
					       str_or_none(a->changes[i].kind));
		if (!pair) {
			Py_CLEAR(changes);
			break;
		}
		PyTuple_SET_ITEM(changes, (Py_ssize_t)i, pair);
	}
	if (!unenforced || !changes) {
		Py_XDECREF(unenforced);
		Py_XDECREF(changes);
		Py_DECREF(d);
		return NULL;
	}
	int bad = 0;
	bad |= set_item(d, "id", str_or_none(r->id));
	bad |= set_item(d, "status", str_or_none(art_end_name(a->end)));
	bad |= set_item(d, "exit_code", num_or_none_ll(a->exit_code, a->end == ART_END_EXITED ||
							   (a->end == ART_END_GAVE_UP && a->term_signal <= 0)));
	bad |= set_item(d, "signal", num_or_none_ll(a->term_signal, a->term_signal > 0));
	bad |= set_item(d, "exit_status", PyLong_FromLong(x->exit_status));
	bad |= set_item(d, "pid", PyLong_FromLong(a->pid));
	bad |= set_item(d, "wall_s", PyFloat_FromDouble((double)a->wall_ns / 1e9));
	if (started)
		bad |= set_item(d, "queue_s",
				PyFloat_FromDouble((double)(a->started_ns - a->queued_ns) / 1e9));
	else
		bad |= set_item(d, "queue_s", Py_NewRef(Py_None));
	bad |= set_item(d, "user_s", PyFloat_FromDouble((double)a->user_ns / 1e9));
	bad |= set_item(d, "system_s", PyFloat_FromDouble((double)a->system_ns / 1e9));
	bad |= set_item(d, "max_rss_bytes", PyLong_FromUnsignedLongLong(a->max_rss_bytes));
	bad |= set_item(d, "stdout", PyBytes_FromStringAndSize(a->stdout_tail ? a->stdout_tail : "",
							       (Py_ssize_t)a->stdout_tail_len));
	bad |= set_item(d, "stderr", PyBytes_FromStringAndSize(a->stderr_tail ? a->stderr_tail : "",
							       (Py_ssize_t)a->stderr_tail_len));
	bad |= set_item(d, "stdout_bytes", PyLong_FromUnsignedLongLong(a->stdout_bytes));
	bad |= set_item(d, "stderr_bytes", PyLong_FromUnsignedLongLong(a->stderr_bytes));
	bad |= set_item(d, "stdout_truncated", PyBool_FromLong(a->stdout_truncated));
	bad |= set_item(d, "stderr_truncated", PyBool_FromLong(a->stderr_truncated));
	bad |= set_item(d, "orphans_killed", PyLong_FromLong(a->orphans_killed));
	bad |= set_item(d, "attempts", PyLong_FromUnsignedLong(a->attempts));
	bad |= set_item(d, "skip_reason", str_or_none(a->skip_reason));
	bad |= set_item(d, "message", str_or_none(x->message));
	bad |= set_item(d, "start_errno",
			num_or_none_ll(a->start_errno, a->end == ART_END_START_FAILED));
	bad |= set_item(d, "start_stage",
			a->end == ART_END_START_FAILED ? str_or_none(art_stage_name(a->start_stage))
						       : Py_NewRef(Py_None));
	bad |= set_item(d, "start_detail", str_or_none(a->start_detail[0] ? a->start_detail : NULL));
	bad |= set_item(d, "sandbox",
			str_or_none(a->level == ART_SANDBOX_FULL     ? "sandbox"
				    : a->level == ART_SANDBOX_LIMITS ? "limits"
								     : "none"));
	bad |= set_item(d, "syscall",
			str_or_none(a->end == ART_END_SECCOMP && a->seccomp_syscall[0]
					    ? a->seccomp_syscall
					    : NULL));
	bad |= set_item(d, "limit",
			str_or_none(a->end == ART_END_LIMIT ? art_limit_name(a->limit) : NULL));
	bad |= set_item(d, "unenforced", unenforced);
	bad |= set_item(d, "limits_diagnostic", str_or_none(x->diagnostic));
	bad |= set_item(d, "waited", str_or_none(x->waited));
	bad |= set_item(d, "usage_from_cgroup", PyBool_FromLong(a->usage_from_cgroup));
	bad |= set_item(d, "oom_kills", PyLong_FromUnsignedLongLong(a->oom_kills));
	bad |= set_item(d, "pids_peak", PyLong_FromUnsignedLongLong(a->pids_peak));
	bad |= set_item(d, "workspace_dir", str_or_none(a->workspace_dir));
	bad |= set_item(d, "changes", changes);
	bad |= set_item(d, "frozen_s", PyFloat_FromDouble((double)a->frozen_ns / 1e9));
	bad |= set_item(d, "samples", PyLong_FromUnsignedLong(a->samples));
	bad |= set_item(d, "peak_rss_bytes", PyLong_FromUnsignedLongLong(a->peak_rss_bytes));
	bad |= set_item(d, "peak_procs", PyLong_FromUnsignedLong(a->peak_procs));
	bad |= set_item(d, "peak_cpu_pct", PyFloat_FromDouble(a->peak_cpu_pct));
	bad |= set_item(d, "io_read_bytes", PyLong_FromUnsignedLongLong(a->io_read_bytes));
	bad |= set_item(d, "io_write_bytes", PyLong_FromUnsignedLongLong(a->io_write_bytes));
	bad |= set_item(d, "restarts", PyLong_FromUnsignedLong(a->restarts));
	bad |= set_item(d, "ready", PyBool_FromLong(a->ready));
	bad |= set_item(d, "status_text", str_or_none(a->status_text[0] ? a->status_text : NULL));
	if (bad) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

/* What is known while the task runs. */
static PyObject *Handle_info(HandleObject *self, PyObject *unused)
{
	(void)unused;
	rec *r = self->r;
	core *c = r->c;
	pthread_mutex_lock(&c->mu);
	phase ph = r->ph;
	int pid = r->pid;
	unsigned attempt = r->attempt;
	int64_t sub = r->submitted_ns, st = r->started_ns, end = r->ended_ns;
	uint64_t ob = r->out_bytes[0], eb = r->out_bytes[1];
	uint64_t d0 = r->buf[0].dropped, d1 = r->buf[1].dropped;
	char *sample = r->sample ? strdup(r->sample) : NULL;
	pthread_mutex_unlock(&c->mu);
	int64_t now = end ? end : mono_ns();
	PyObject *elapsed = st ? PyFloat_FromDouble((double)(now - st) / 1e9) : Py_NewRef(Py_None);
	PyObject *queued = PyFloat_FromDouble((double)((st ? st : now) - sub) / 1e9);
	PyObject *res = Py_BuildValue(
		"{s:s,s:i,s:I,s:N,s:N,s:K,s:K,s:K,s:K,s:N}", "phase", phase_names[ph], "pid", pid,
		"attempt", attempt, "elapsed_s", elapsed, "queued_s", queued, "stdout_bytes",
		(unsigned long long)ob, "stderr_bytes", (unsigned long long)eb, "stdout_dropped",
		(unsigned long long)d0, "stderr_dropped", (unsigned long long)d1, "sample",
		str_or_none(sample));
	free(sample);
	return res;
}

static PyObject *Handle_get_serial(HandleObject *self, void *closure)
{
	(void)closure;
	return PyLong_FromUnsignedLongLong(self->r->serial);
}

static PyObject *Handle_get_id(HandleObject *self, void *closure)
{
	(void)closure;
	return str_or_none(self->r->id);
}

static PyObject *Handle_get_pid(HandleObject *self, void *closure)
{
	(void)closure;
	core *c = self->r->c;
	pthread_mutex_lock(&c->mu);
	int pid = self->r->pid;
	pthread_mutex_unlock(&c->mu);
	if (!pid)
		Py_RETURN_NONE;
	return PyLong_FromLong(pid);
}

static PyObject *Handle_get_phase(HandleObject *self, void *closure)
{
	(void)closure;
	core *c = self->r->c;
	pthread_mutex_lock(&c->mu);
	phase ph = self->r->ph;
	pthread_mutex_unlock(&c->mu);
	return PyUnicode_FromString(phase_names[ph]);
}

static PyObject *Handle_get_streaming(HandleObject *self, void *closure)
{
	(void)closure;
	return PyBool_FromLong(self->r->stream_limit != 0);
}

static PyObject *Handle_get_session(HandleObject *self, void *closure)
{
	(void)closure;
	return PyBool_FromLong(self->r->session);
}

static PyObject *Handle_get_messages_dropped(HandleObject *self, void *closure)
{
	(void)closure;
	core *c = self->r->c;
	pthread_mutex_lock(&c->mu);
	uint64_t d = self->r->mq_dropped;
	pthread_mutex_unlock(&c->mu);
	return PyLong_FromUnsignedLongLong(d);
}

static PyMethodDef Handle_methods[] = {
	{ "wait", (PyCFunction)(void (*)(void))Handle_wait, METH_VARARGS | METH_KEYWORDS,
	  "wait(timeout=None) -> bool: waits (GIL released) until the task ends." },
	{ "done", (PyCFunction)Handle_done, METH_NOARGS, "Whether the task has ended." },
	{ "cancel", (PyCFunction)Handle_cancel, METH_NOARGS,
	  "Stops the task (SIGTERM to its group, SIGKILL after its grace); False if already done." },
	{ "explain", (PyCFunction)Handle_explain, METH_VARARGS,
	  "explain(timeout=1.0) -> str | None: why the task waits to start (art_task_explain)" },
	{ "set_limit", (PyCFunction)Handle_set_limit, METH_VARARGS,
	  "set_limit(name, value) -> bool: changes a cgroup limit of the running task" },
	{ "pause", (PyCFunction)Handle_pause, METH_NOARGS,
	  "Stops a running task where it is (freezer or SIGSTOP); False if it has ended." },
	{ "resume", (PyCFunction)Handle_resume, METH_NOARGS,
	  "Lets a paused task go on; False if it has ended." },
	{ "live", (PyCFunction)Handle_live, METH_NOARGS,
	  "live() -> dict | None: state and usage read now; None once ended." },
	{ "read", (PyCFunction)(void (*)(void))Handle_read, METH_VARARGS | METH_KEYWORDS,
	  "read(stream, block=True, timeout=None, max=65536) -> bytes | None" },
	{ "dropped", (PyCFunction)Handle_dropped, METH_VARARGS,
	  "dropped(stream) -> int: live output bytes dropped for the buffer's limit." },
	{ "watch", (PyCFunction)Handle_watch, METH_O,
	  "watch(notifier) -> bool: the notifier hears of this task; returns done()." },
	{ "result", (PyCFunction)Handle_result, METH_NOARGS,
	  "The result as a dict, or None while the task runs." },
	{ "info", (PyCFunction)Handle_info, METH_NOARGS, "What is known while the task runs." },
	{ "send", (PyCFunction)Handle_send, METH_O,
	  "send(line: bytes) -> None: queues one line for a session's stdin." },
	{ "recv", (PyCFunction)(void (*)(void))Handle_recv, METH_VARARGS | METH_KEYWORDS,
	  "recv(block=True, timeout=None, max=256) -> list | None: the next messages; [] at "
	  "the end." },
	{ "expect", (PyCFunction)Handle_expect, METH_O,
	  "expect(id) -> None: the message with this id goes to reply(id)." },
	{ "reply", (PyCFunction)(void (*)(void))Handle_reply, METH_VARARGS | METH_KEYWORDS,
	  "reply(id, block=True, timeout=None) -> tuple | None | False" },
	{ "unexpect", (PyCFunction)Handle_unexpect, METH_O,
	  "unexpect(id) -> None: gives up a request." },
	{ "write_stdin", (PyCFunction)(void (*)(void))Handle_write_stdin,
	  METH_VARARGS | METH_KEYWORDS,
	  "write_stdin(data, timeout=None) -> int: writes to a \"pipe\" stdin." },
	{ "close_stdin", (PyCFunction)Handle_close_stdin, METH_NOARGS,
	  "close_stdin() -> bool: ends the task's input." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef Handle_getset[] = {
	{ "serial", (getter)Handle_get_serial, NULL, "A number unique in this process.", NULL },
	{ "id", (getter)Handle_get_id, NULL, "The spec's id, or None.", NULL },
	{ "pid", (getter)Handle_get_pid, NULL, "The leader's pid once started, else None.", NULL },
	{ "phase", (getter)Handle_get_phase, NULL,
	  "queued, held, running, stopping, frozen or done.", NULL },
	{ "streaming", (getter)Handle_get_streaming, NULL, "Whether live output is kept.", NULL },
	{ "session", (getter)Handle_get_session, NULL, "Whether it is a session task.", NULL },
	{ "messages_dropped", (getter)Handle_get_messages_dropped, NULL,
	  "Messages dropped for the stream limit (or memory).", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject Handle_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agentrt._agentrt.Handle",
	.tp_basicsize = sizeof(HandleObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "One submitted task (made by Core.submit).",
	.tp_dealloc = (destructor)Handle_dealloc,
	.tp_methods = Handle_methods,
	.tp_getset = Handle_getset,
};

/* ------------------------------------------------------------ EventQueue */

/* The events of a runtime made with {"events": True}, for the package's
 * event thread. It holds the core, not the Core object, so that a Runtime
 * dropped without close() is still closed by its deallocation. */
typedef struct {
	PyObject_HEAD
	core *c;
} EventQueueObject;

static PyTypeObject EventQueue_Type;

static void EventQueue_dealloc(EventQueueObject *self)
{
	core_unref(self->c);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* get(timeout=None) -> list[str] | None: the event lines queued so far,
 * in order, waiting (GIL released) until there is one; [] at the timeout;
 * None once the runtime is freed and every line was taken. */
static PyObject *EventQueue_get(EventQueueObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "timeout", NULL };
	PyObject *timeout = Py_None;
	int64_t deadline;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:get", kwlist, &timeout))
		return NULL;
	if (parse_timeout(timeout, &deadline) < 0)
		return NULL;
	core *c = self->c;
	bool interruptible = is_main_thread(), final = false;
	evline *head = NULL;
	for (;;) {
		Py_BEGIN_ALLOW_THREADS
		pthread_mutex_lock(&c->mu);
		int64_t slice_end = interruptible ? mono_ns() + SIGNAL_CHECK_NS : INT64_MAX;
		int64_t until = deadline < slice_end ? deadline : slice_end;
		while (!c->ev_head && !c->ev_final) {
			if (until == INT64_MAX) {
				pthread_cond_wait(&c->ev_cond, &c->mu);
				continue;
			}
			struct timespec ts = { .tv_sec = until / NSEC_PER_SEC,
					       .tv_nsec = until % NSEC_PER_SEC };
			if (pthread_cond_timedwait(&c->ev_cond, &c->mu, &ts) == ETIMEDOUT)
				break;
		}
		head = c->ev_head;
		c->ev_head = c->ev_tail = NULL;
		c->ev_n = 0;
		final = c->ev_final;
		pthread_mutex_unlock(&c->mu);
		Py_END_ALLOW_THREADS
		if (head || final)
			break;
		if (deadline != INT64_MAX && mono_ns() >= deadline)
			break;
		if (interruptible && PyErr_CheckSignals() < 0)
			return NULL;
	}
	if (!head) {
		if (final)
			Py_RETURN_NONE;
		return PyList_New(0);
	}
	PyObject *list = PyList_New(0);
	for (evline *e = head, *next; e; e = next) {
		next = e->next;
		if (list) {
			PyObject *s = PyUnicode_DecodeUTF8(e->text, (Py_ssize_t)strlen(e->text),
							   "replace");
			if (!s || PyList_Append(list, s) < 0)
				Py_CLEAR(list);
			Py_XDECREF(s);
		}
		free(e);
	}
	return list;
}

static PyMethodDef EventQueue_methods[] = {
	{ "get", (PyCFunction)(void (*)(void))EventQueue_get, METH_VARARGS | METH_KEYWORDS,
	  "get(timeout=None) -> list[str] | None: the next event lines; None at the end." },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject EventQueue_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agentrt._agentrt.EventQueue",
	.tp_basicsize = sizeof(EventQueueObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A runtime's event lines (made by Core.event_queue).",
	.tp_dealloc = (destructor)EventQueue_dealloc,
	.tp_methods = EventQueue_methods,
};

/* ------------------------------------------------------------ Core */

typedef struct {
	PyObject_HEAD
	core *c;
} CoreObject;

static PyTypeObject Core_Type;

static int get_u64(PyObject *cfg, const char *key, uint64_t *out)
{
	PyObject *v = PyDict_GetItemString(cfg, key); /* borrowed */
	if (!v || v == Py_None)
		return 0;
	unsigned long long x = PyLong_AsUnsignedLongLong(v);
	if (x == (unsigned long long)-1 && PyErr_Occurred()) {
		PyErr_Format(PyExc_ValueError, "%s: must be an integer >= 0", key);
		return -1;
	}
	*out = x;
	return 0;
}

static int get_i64(PyObject *cfg, const char *key, int64_t *out)
{
	uint64_t v = 0;
	if (get_u64(cfg, key, &v) < 0)
		return -1;
	if (v > (uint64_t)INT64_MAX) {
		PyErr_Format(PyExc_ValueError, "%s: too large", key);
		return -1;
	}
	if (v)
		*out = (int64_t)v;
	return 0;
}

static int get_uint(PyObject *cfg, const char *key, unsigned *out)
{
	uint64_t v = 0;
	if (get_u64(cfg, key, &v) < 0)
		return -1;
	if (v > UINT32_MAX) {
		PyErr_Format(PyExc_ValueError, "%s: too large", key);
		return -1;
	}
	if (v)
		*out = (unsigned)v;
	return 0;
}

static int get_str(PyObject *cfg, const char *key, char **out)
{
	PyObject *v = PyDict_GetItemString(cfg, key);
	if (!v || v == Py_None)
		return 0;
	const char *s = PyUnicode_AsUTF8(v);
	if (!s)
		return -1;
	*out = strdup(s);
	if (!*out) {
		PyErr_NoMemory();
		return -1;
	}
	return 0;
}

/* Core(config: dict) */
static int Core_init(CoreObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "config", NULL };
	PyObject *cfg;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!:Core", kwlist, &PyDict_Type, &cfg))
		return -1;
	if (self->c) {
		PyErr_SetString(PyExc_RuntimeError, "Core.__init__ called twice");
		return -1;
	}
	core *c = calloc(1, sizeof(*c));
	if (!c) {
		PyErr_NoMemory();
		return -1;
	}
	atomic_init(&c->refs, 1);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cond, NULL);
	cond_init_mono(&c->ev_cond);
	c->mbox_fd = -1;
	PyObject *events = PyDict_GetItemString(cfg, "events"); /* borrowed */
	int keep = events ? PyObject_IsTrue(events) : 0;
	if (keep < 0) {
		core_unref(c);
		return -1;
	}
	c->keep_events = keep;

	art_runtime_config conf = { 0 };
	if (get_uint(cfg, "max_running", &conf.max_running) < 0 ||
	    get_uint(cfg, "flags", &conf.flags) < 0 ||
	    get_u64(cfg, "task_nofile_default", &conf.task_nofile_default) < 0 ||
	    get_str(cfg, "cgroup_parent", &c->cgroup_parent) < 0 ||
	    get_str(cfg, "workspace_dir", &c->workspace_dir) < 0 ||
	    get_uint(cfg, "warm_sandboxes", &conf.warm_sandboxes) < 0 ||
	    get_i64(cfg, "cpu_capacity", &conf.cpu_capacity) < 0 ||
	    get_i64(cfg, "memory_capacity", &conf.memory_capacity) < 0 ||
	    get_i64(cfg, "aging_step_ns", &conf.aging_step_ns) < 0 ||
	    get_uint(cfg, "pressure_psi_pct", &conf.pressure_psi_pct) < 0 ||
	    get_uint(cfg, "pressure_min_available_permille",
		     &conf.pressure_min_available_permille) < 0 ||
	    get_uint(cfg, "dep_history", &conf.dep_history) < 0 ||
	    get_i64(cfg, "sample_interval_ns", &conf.sample_interval_ns) < 0) {
		core_unref(c);
		return -1;
	}
	conf.cgroup_parent = c->cgroup_parent;
	conf.workspace_dir = c->workspace_dir;
	conf.on_exit = on_exit_cb;
	conf.on_output = on_output_cb;
	conf.on_message = on_message_cb;
	conf.on_event = on_event_cb;
	conf.userdata = c;

	art_error err = { 0 };
	int r = art_runtime_new(&conf, &c->rt, &err);
	if (r < 0) {
		core_unref(c);
		raise_art(Error, r, &err, "cannot create the runtime");
		return -1;
	}
	/* The mailbox is watched now: art_runtime_watch_fd may be called only
	 * from the loop thread or before art_runtime_run. */
	c->mbox_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = c->mbox_fd < 0 ? -errno
			   : art_runtime_watch_fd(c->rt, c->mbox_fd, EPOLLIN, on_mailbox, c);
	if (r < 0) {
		art_runtime_free(c->rt);
		core_unref(c);
		errno = -r;
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	/* The loop thread takes no signal: they go to Python's threads. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&c->thread, NULL, loop_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		art_runtime_free(c->rt);
		core_unref(c);
		errno = r;
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	c->thread_started = true;
	self->c = c;
	return 0;
}

/* Stops the loop, frees the runtime on the loop thread (which kills and
 * reaps every task) and joins it. Called with the GIL held; releases it
 * while it waits. Idempotent; a second caller waits for the first. */
static void core_close(core *c)
{
	if (c->closing) {
		if (c->abandoned)
			return;
		Py_BEGIN_ALLOW_THREADS
		pthread_mutex_lock(&c->mu);
		while (!c->joined)
			pthread_cond_wait(&c->cond, &c->mu);
		pthread_mutex_unlock(&c->mu);
		Py_END_ALLOW_THREADS
		return;
	}
	c->closing = true;
	Py_BEGIN_ALLOW_THREADS
	/* Stop first: the loop thread frees rt as soon as it sees
	 * stop_requested (at once if its loop already returned on an error). */
	art_runtime_stop(c->rt);
	pthread_mutex_lock(&c->mu);
	c->stop_requested = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_mutex_lock(&c->mu);
	c->rt = NULL;
	c->joined = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mu);
	Py_END_ALLOW_THREADS
}

static void Core_dealloc(CoreObject *self)
{
	if (self->c) {
		core_close(self->c);
		core_unref(self->c);
	}
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static int core_usable(core *c)
{
	if (!c) {
		PyErr_SetString(PyExc_RuntimeError, "Core not initialised");
		return -1;
	}
	if (c->closing) {
		PyErr_SetString(RuntimeClosed, "the runtime is closed");
		return -1;
	}
	pthread_mutex_lock(&c->mu);
	bool exited = c->loop_exited;
	int r = c->loop_result;
	pthread_mutex_unlock(&c->mu);
	if (exited) {
		PyErr_Format(Error, "the runtime's event loop failed: %s", strerror(r < 0 ? -r : EIO));
		return -1;
	}
	return 0;
}

/* submit(spec_json: bytes, stream_limit: int = 0) -> Handle */
/* A new Handle and its rec for spec: held by the Handle and, once
 * submitted, by the loop (dropped in on_exit). */
static HandleObject *handle_for(core *c, const art_spec *spec, Py_ssize_t stream_limit)
{
	HandleObject *h = PyObject_New(HandleObject, &Handle_Type);
	if (!h)
		return NULL;
	h->r = NULL;
	rec *rc = calloc(1, sizeof(*rc));
	if (!rc) {
		Py_DECREF(h);
		PyErr_NoMemory();
		return NULL;
	}
	atomic_init(&rc->refs, 2);
	atomic_fetch_add(&c->refs, 1);
	rc->c = c;
	rc->serial = atomic_fetch_add(&next_serial, 1);
	rc->id = dup_or_null(art_spec_id(spec));
	cond_init_mono(&rc->cond);
	rc->ph = PH_QUEUED;
	rc->submitted_ns = mono_ns();
	rc->stream_limit = stream_limit > 0 ? (size_t)stream_limit : 0;
	rc->session = art_spec_session(spec) != 0;
	rc->stdin_fd = -1;
	h->r = rc;
	return h;
}

/* The submit was refused: the loop will never call back for h's rec. */
static void handle_refused(HandleObject *h)
{
	atomic_fetch_sub(&h->r->refs, 1);
	Py_DECREF(h);
}

/* The submit was taken: keep t, unless the task has already ended. */
static void handle_keep(core *c, HandleObject *h, art_task *t)
{
	rec *rc = h->r;
	pthread_mutex_lock(&c->mu);
	bool done = rc->done;
	if (!done)
		rc->task = t;
	pthread_mutex_unlock(&c->mu);
	if (done)
		art_task_unref(t);
}

static PyObject *raise_submit(int r, const art_error *err)
{
	if (r == -EINVAL)
		return raise_art(SpecError, r, err, "cannot submit");
	if (r == -ENOMEM)
		return PyErr_NoMemory();
	return raise_art(Error, r, err, "cannot submit");
}

/* The spec of one entry, with a command (SpecError otherwise). */
static art_spec *parse_runnable_spec(const char *json, Py_ssize_t len)
{
	art_spec *spec = parse_spec(json, len);
	if (spec && (!art_spec_argv(spec) || !art_spec_argv(spec)[0])) {
		art_spec_free(spec);
		PyErr_SetString(SpecError, "cmd: required field is missing");
		return NULL;
	}
	return spec;
}

static PyObject *Core_submit(CoreObject *self, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "spec_json", "stream_limit", NULL };
	const char *json;
	Py_ssize_t len, stream_limit = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "y#|n:submit", kwlist, &json, &len,
					 &stream_limit))
		return NULL;
	core *c = self->c;
	if (core_usable(c) < 0)
		return NULL;
	art_spec *spec = parse_runnable_spec(json, len);
	if (!spec)
		return NULL;
	HandleObject *h = handle_for(c, spec, stream_limit);
	if (!h) {
		art_spec_free(spec);
		return NULL;
	}
	art_task *t = NULL;
	art_error err = { 0 };
	int r = art_runtime_submit(c->rt, spec, h->r, &t, &err);
	art_spec_free(spec);
	if (r < 0) {
		handle_refused(h);
		return raise_submit(r, &err);
	}
	handle_keep(c, h, t);
	return (PyObject *)h;
}

/* submit_batch([(spec_json, stream_limit), ...]) -> [Handle, ...]:
 * art_runtime_submit_batch, all taken or none (their dependencies may name
 * each other in any order; an unknown id or a cycle is a SpecError). */
static PyObject *Core_submit_batch(CoreObject *self, PyObject *arg)
{
	core *c = self->c;
	if (core_usable(c) < 0)
		return NULL;
	PyObject *seq = PySequence_Fast(arg, "submit_batch: a list of (spec_json, stream_limit)");
	if (!seq)
		return NULL;
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	art_spec **specs = calloc((size_t)n + 1, sizeof(*specs));
	HandleObject **hs = calloc((size_t)n + 1, sizeof(*hs));
	void **uds = calloc((size_t)n + 1, sizeof(*uds));
	art_task **ts = calloc((size_t)n + 1, sizeof(*ts));
	PyObject *out = NULL;
	Py_ssize_t made = 0;
	if (!specs || !hs || !uds || !ts) {
		PyErr_NoMemory();
		goto done;
	}
	for (; made < n; made++) {
		const char *json;
		Py_ssize_t len, stream_limit;
		if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, made), "y#n:submit_batch", &json,
				      &len, &stream_limit))
			goto done;
		specs[made] = parse_runnable_spec(json, len);
		if (!specs[made])
			goto done;
		hs[made] = handle_for(c, specs[made], stream_limit);
		if (!hs[made])
			goto done;
		uds[made] = hs[made]->r;
	}
	art_error err = { 0 };
	int r = art_runtime_submit_batch(c->rt, (const art_spec *const *)specs, (size_t)n, uds, ts,
					 &err);
	if (r < 0) {
		raise_submit(r, &err);
		goto done;
	}
	out = PyList_New(n);
	for (Py_ssize_t i = 0; i < n; i++) {
		handle_keep(c, hs[i], ts[i]);
		if (out)
			PyList_SET_ITEM(out, i, (PyObject *)hs[i]);
		else
			Py_DECREF(hs[i]); /* no list: the tasks run, unreachable from here */
		hs[i] = NULL;
	}
done:
	for (Py_ssize_t i = 0; i <= made && i < n; i++) {
		if (specs && specs[i])
			art_spec_free(specs[i]);
		if (hs && hs[i])
			handle_refused(hs[i]);
	}
	free(specs);
	free(hs);
	free(uds);
	free(ts);
	Py_DECREF(seq);
	return out;
}

static PyObject *Core_close(CoreObject *self, PyObject *unused)
{
	(void)unused;
	if (self->c)
		core_close(self->c);
	Py_RETURN_NONE;
}

/* In a child made by fork(): this copy of the runtime has no loop thread;
 * forget it without touching anything. */
static PyObject *Core_abandon(CoreObject *self, PyObject *unused)
{
	(void)unused;
	core *c = self->c;
	if (c && !c->closing) {
		c->closing = true;
		c->abandoned = true;
		c->joined = true;
	}
	Py_RETURN_NONE;
}

static PyObject *Core_cancel_all(CoreObject *self, PyObject *unused)
{
	(void)unused;
	if (core_usable(self->c) < 0)
		return NULL;
	art_runtime_cancel_all(self->c->rt);
	Py_RETURN_NONE;
}

static PyObject *Core_set_max_running(CoreObject *self, PyObject *arg)
{
	unsigned long n = PyLong_AsUnsignedLong(arg);
	if (n == (unsigned long)-1 && PyErr_Occurred())
		return NULL;
	if (core_usable(self->c) < 0)
		return NULL;
	art_runtime_set_max_running(self->c->rt, (unsigned)n);
	Py_RETURN_NONE;
}

static PyObject *Core_set_warm_sandboxes(CoreObject *self, PyObject *arg)
{
	unsigned long n = PyLong_AsUnsignedLong(arg);
	if (n == (unsigned long)-1 && PyErr_Occurred())
		return NULL;
	if (core_usable(self->c) < 0)
		return NULL;
	art_runtime_set_warm_sandboxes(self->c->rt, (unsigned)n);
	Py_RETURN_NONE;
}

static PyObject *check_rc(int r, const char *what)
{
	if (r == -EINVAL) {
		PyErr_Format(PyExc_ValueError, "%s: invalid value", what);
		return NULL;
	}
	if (r < 0) {
		errno = -r;
		return PyErr_SetFromErrno(PyExc_OSError);
	}
	Py_RETURN_NONE;
}

/* control(what, name, a=0, b=0.0, c=0): the per-group and per-kind knobs. */
static PyObject *Core_control(CoreObject *self, PyObject *args)
{
	const char *what, *name;
	unsigned long long n = 0;
	double rate = 0;
	unsigned int burst = 0;
	if (!PyArg_ParseTuple(args, "ss|KdI:control", &what, &name, &n, &rate, &burst))
		return NULL;
	if (core_usable(self->c) < 0)
		return NULL;
	art_runtime *rt = self->c->rt;
	if (n > UINT32_MAX) {
		PyErr_Format(PyExc_ValueError, "%s: too large", what);
		return NULL;
	}
	if (!strcmp(what, "group_weight"))
		return check_rc(art_runtime_group_weight(rt, name, (unsigned)n), what);
	if (!strcmp(what, "group_max_running"))
		return check_rc(art_runtime_group_max_running(rt, name, (unsigned)n), what);
	if (!strcmp(what, "group_rate"))
		return check_rc(art_runtime_group_rate(rt, name, rate, burst), what);
	if (!strcmp(what, "kind_max_running"))
		return check_rc(art_runtime_kind_max_running(rt, name, (unsigned)n), what);
	if (!strcmp(what, "kind_rate"))
		return check_rc(art_runtime_kind_rate(rt, name, rate, burst), what);
	if (!strcmp(what, "cancel_group"))
		return check_rc(art_runtime_cancel_group(rt, name), what);
	PyErr_Format(PyExc_ValueError, "unknown control %s", what);
	return NULL;
}

static PyObject *Core_stats(CoreObject *self, PyObject *unused)
{
	(void)unused;
	if (core_usable(self->c) < 0)
		return NULL;
	art_runtime_stats s;
	/* Approximate off the loop thread (agentrt.h): counters read racily. */
	art_runtime_stats_get(self->c->rt, &s);
	core *c = self->c;
	pthread_mutex_lock(&c->mu);
	uint64_t ev_dropped = c->ev_dropped;
	pthread_mutex_unlock(&c->mu);
	PyObject *d = Py_BuildValue(
		"{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:I,s:I,s:K,s:K,s:K,s:K,s:I,s:K,s:K,s:K,s:I,s:I,s:O}",
		"submitted", (unsigned long long)s.submitted, "started",
		(unsigned long long)s.started, "ended", (unsigned long long)s.ended,
		"start_failures", (unsigned long long)s.start_failures, "cancelled",
		(unsigned long long)s.cancelled, "timeouts", (unsigned long long)s.timeouts,
		"orphans_killed", (unsigned long long)s.orphans_killed, "running", s.running,
		"queued", s.queued, "pool_hits", (unsigned long long)s.pool_hits, "pool_misses",
		(unsigned long long)s.pool_misses, "pool_bytes", (unsigned long long)s.pool_bytes,
		"warm_starts", (unsigned long long)s.warm_starts, "warm_ready", s.warm_ready,
		"skipped", (unsigned long long)s.skipped, "retries", (unsigned long long)s.retries,
		"preemptions", (unsigned long long)s.preemptions, "frozen", s.frozen, "held",
		s.held, "pressure", s.pressure ? Py_True : Py_False);
	if (d && set_item(d, "events_dropped", PyLong_FromUnsignedLongLong(ev_dropped)) < 0)
		Py_CLEAR(d);
	return d;
}

/* event_queue() -> EventQueue, for a runtime made with {"events": True}. */
static PyObject *Core_event_queue(CoreObject *self, PyObject *unused)
{
	(void)unused;
	core *c = self->c;
	if (core_usable(c) < 0)
		return NULL;
	if (!c->keep_events) {
		PyErr_SetString(PyExc_RuntimeError, "the runtime was made without events");
		return NULL;
	}
	EventQueueObject *q = PyObject_New(EventQueueObject, &EventQueue_Type);
	if (!q)
		return NULL;
	atomic_fetch_add(&c->refs, 1);
	q->c = c;
	return (PyObject *)q;
}

static PyObject *Core_metrics(CoreObject *self, PyObject *args)
{
	int format = ART_METRICS_PROMETHEUS;
	if (!PyArg_ParseTuple(args, "|i:metrics", &format))
		return NULL;
	if (core_usable(self->c) < 0)
		return NULL;
	char *text = NULL;
	size_t len = 0;
	int r = art_runtime_metrics(self->c->rt, format, &text, &len);
	if (r < 0)
		return check_rc(r, "metrics");
	PyObject *s = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "replace");
	free(text);
	return s;
}

static PyObject *Core_get_closed(CoreObject *self, void *closure)
{
	(void)closure;
	return PyBool_FromLong(!self->c || self->c->closing);
}

static PyMethodDef Core_methods[] = {
	{ "submit_batch", (PyCFunction)Core_submit_batch, METH_O,
	  "submit_batch([(spec_json, stream_limit), ...]) -> [Handle]: all or none" },
	{ "submit", (PyCFunction)(void (*)(void))Core_submit, METH_VARARGS | METH_KEYWORDS,
	  "submit(spec_json: bytes, stream_limit: int = 0) -> Handle" },
	{ "close", (PyCFunction)Core_close, METH_NOARGS,
	  "Kills every task, reaps everything, stops and joins the loop thread." },
	{ "abandon", (PyCFunction)Core_abandon, METH_NOARGS,
	  "In a forked child: forgets this runtime without touching it." },
	{ "cancel_all", (PyCFunction)Core_cancel_all, METH_NOARGS, "Cancels every task." },
	{ "set_max_running", (PyCFunction)Core_set_max_running, METH_O, NULL },
	{ "set_warm_sandboxes", (PyCFunction)Core_set_warm_sandboxes, METH_O, NULL },
	{ "control", (PyCFunction)Core_control, METH_VARARGS, NULL },
	{ "stats", (PyCFunction)Core_stats, METH_NOARGS, "The runtime's counters (approximate)." },
	{ "metrics", (PyCFunction)Core_metrics, METH_VARARGS, "metrics(format=0) -> str" },
	{ "event_queue", (PyCFunction)Core_event_queue, METH_NOARGS,
	  "event_queue() -> EventQueue: the event lines (a runtime made with events)." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef Core_getset[] = {
	{ "closed", (getter)Core_get_closed, NULL, "Whether close() was called.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject Core_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "agentrt._agentrt.Core",
	.tp_basicsize = sizeof(CoreObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "One art_runtime and the thread that drives its loop.",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)Core_init,
	.tp_dealloc = (destructor)Core_dealloc,
	.tp_methods = Core_methods,
	.tp_getset = Core_getset,
};

/* ------------------------------------------------------------ module */

/* check_spec(json: bytes): SpecError naming the field if the library
 * would refuse the spec, without submitting it. */
static PyObject *mod_check_spec(PyObject *m, PyObject *arg)
{
	(void)m;
	char *json;
	Py_ssize_t len;
	if (PyBytes_AsStringAndSize(arg, &json, &len) < 0)
		return NULL;
	art_spec *spec = parse_spec(json, len);
	if (!spec)
		return NULL;
	art_spec_free(spec);
	Py_RETURN_NONE;
}

static PyObject *mod_parse_size(PyObject *m, PyObject *arg)
{
	(void)m;
	const char *s = PyUnicode_AsUTF8(arg);
	if (!s)
		return NULL;
	uint64_t v;
	if (art_parse_size(s, &v) < 0) {
		PyErr_Format(PyExc_ValueError, "%R is not a size", arg);
		return NULL;
	}
	return PyLong_FromUnsignedLongLong(v);
}

static PyObject *mod_parse_duration(PyObject *m, PyObject *arg)
{
	(void)m;
	const char *s = PyUnicode_AsUTF8(arg);
	if (!s)
		return NULL;
	int64_t v;
	if (art_parse_duration(s, &v) < 0) {
		PyErr_Format(PyExc_ValueError, "%R is not a duration", arg);
		return NULL;
	}
	return PyLong_FromLongLong(v);
}

static PyMethodDef module_methods[] = {
	{ "check_spec", mod_check_spec, METH_O, "check_spec(json): SpecError if refused" },
	{ "parse_size", mod_parse_size, METH_O, "parse_size('512M') -> bytes" },
	{ "parse_duration", mod_parse_duration, METH_O, "parse_duration('1.5s') -> nanoseconds" },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "agentrt._agentrt",
	.m_doc = "The CPython binding of libagentrt; use the agentrt package.",
	.m_size = -1,
	.m_methods = module_methods,
};

static int add_type(PyObject *m, PyTypeObject *type, const char *name)
{
	if (PyType_Ready(type) < 0)
		return -1;
	Py_INCREF(type);
	if (PyModule_AddObject(m, name, (PyObject *)type) < 0) {
		Py_DECREF(type);
		return -1;
	}
	return 0;
}

static PyObject *new_exception(PyObject *m, const char *name, const char *doc, PyObject *bases)
{
	char full[64];
	snprintf(full, sizeof(full), "agentrt.%s", name);
	PyObject *e = PyErr_NewExceptionWithDoc(full, doc, bases, NULL);
	if (!e)
		return NULL;
	Py_INCREF(e);
	if (PyModule_AddObject(m, name, e) < 0) {
		Py_DECREF(e);
		Py_DECREF(e);
		return NULL;
	}
	return e;
}

PyMODINIT_FUNC PyInit__agentrt(void);
PyMODINIT_FUNC PyInit__agentrt(void)
{
	PyObject *m = PyModule_Create(&module_def);
	if (!m)
		return NULL;
	PyObject *threading = PyImport_ImportModule("threading");
	PyObject *mt = threading ? PyObject_CallMethod(threading, "main_thread", NULL) : NULL;
	PyObject *ident = mt ? PyObject_GetAttrString(mt, "ident") : NULL;
	Py_XDECREF(threading);
	Py_XDECREF(mt);
	if (!ident)
		goto fail;
	main_thread_ident = PyLong_AsUnsignedLong(ident);
	Py_DECREF(ident);
	if (PyErr_Occurred())
		goto fail;

	Error = new_exception(m, "Error", "The root of agentrt's errors.", NULL);
	if (!Error)
		goto fail;
	PyObject *bases = PyTuple_Pack(2, Error, PyExc_ValueError);
	SpecError = bases ? new_exception(m, "SpecError",
					  "A task spec is invalid; the message names the field.",
					  bases)
			  : NULL;
	Py_XDECREF(bases);
	if (!SpecError)
		goto fail;
	bases = PyTuple_Pack(2, Error, PyExc_RuntimeError);
	RuntimeClosed = bases ? new_exception(m, "RuntimeClosed", "The runtime was closed.", bases)
			      : NULL;
	Py_XDECREF(bases);
	if (!RuntimeClosed)
		goto fail;
	bases = PyTuple_Pack(2, Error, PyExc_BrokenPipeError);
	SessionClosed = bases ? new_exception(m, "SessionClosed",
					      "The task's input is closed: it ended, stopped "
					      "reading its stdin, or close_stdin() was called.",
					      bases)
			      : NULL;
	Py_XDECREF(bases);
	if (!SessionClosed)
		goto fail;
	bases = PyTuple_Pack(2, Error, PyExc_BlockingIOError);
	SessionQueueFull = bases ? new_exception(m, "SessionQueueFull",
						 "A session's send queue is full (16 MiB not yet "
						 "written): try again once the task has read some.",
						 bases)
				 : NULL;
	Py_XDECREF(bases);
	if (!SessionQueueFull)
		goto fail;
	if (add_type(m, &Core_Type, "Core") < 0 || add_type(m, &Handle_Type, "Handle") < 0 ||
	    add_type(m, &Notifier_Type, "Notifier") < 0 ||
	    add_type(m, &EventQueue_Type, "EventQueue") < 0)
		goto fail;
	if (PyModule_AddStringConstant(m, "LIB_VERSION", ART_VERSION_STRING) < 0 ||
	    PyModule_AddIntConstant(m, "RT_KILL_ORPHANS", ART_RT_KILL_ORPHANS) < 0 ||
	    PyModule_AddIntConstant(m, "RT_REQUIRE_LIMITS", ART_RT_REQUIRE_LIMITS) < 0 ||
	    PyModule_AddIntConstant(m, "RT_ADMISSION", ART_RT_ADMISSION) < 0 ||
	    PyModule_AddIntConstant(m, "RT_PREEMPT", ART_RT_PREEMPT) < 0 ||
	    PyModule_AddIntConstant(m, "STREAM_LIMIT_DEFAULT", (long)STREAM_LIMIT_DEFAULT) < 0 ||
	    PyModule_AddIntConstant(m, "METRICS_PROMETHEUS", ART_METRICS_PROMETHEUS) < 0 ||
	    PyModule_AddIntConstant(m, "METRICS_OPENMETRICS", ART_METRICS_OPENMETRICS) < 0)
		goto fail;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
