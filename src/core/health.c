/* SPDX-License-Identifier: MIT */
/*
 * A task's health (docs/supervision.md): the notify channel, the watchdog
 * and the exec probe. What they learn goes to the restart supervisor as
 * READY, WATCHDOG_MISSED or UNHEALTHY (supervision_event); what it does
 * about them is supervision.c's business.
 *
 * The notify channel is a pipe whose write end the task inherits, named in
 * $AGENTRT_NOTIFY_FD. One assignment per line, as in sd_notify's
 * datagrams: READY=1, WATCHDOG=1, STATUS=text; anything else is ignored.
 * A pipe, not a datagram socket: `echo READY=1 >&$AGENTRT_NOTIFY_FD` works
 * from any shell, and the task's descendants can write to it as well.
 *
 * The probe is the runtime's child, not the task's, and runs on the host
 * (also for a sandboxed task): its own session, the runtime's environment,
 * stdio on /dev/null, no cgroup, no rlimits. It runs in the task's working
 * directory (a sandbox's: in ours), so that relative paths in it mean what
 * they mean to the task. The first runs one interval after the start, the
 * next one interval after the previous one ended (Docker's HEALTHCHECK
 * rule), so at most one runs at a time.
 *
 * A task that is frozen (preemption) or paused cannot answer: while it is
 * stopped the watchdog waits and a probe's failure does not count.
 *
 * Lifetime: the struct is made by the first health_prepare and lives until
 * the task is freed, because its watches may still be in the loop's current
 * batch when the run ends (docs/ARCHITECTURE.md); health_stopped releases
 * what it holds, and the next run's health_prepare reuses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"
#include "base/strv.h"
#include "base/time.h"
#include "core/internal.h"
#include "os/pidfd.h"
#include "os/spawn.h"

extern char **environ;

typedef struct task_health task_health;

/* A longer line is dropped whole: it is not one of ours. */
#define NOTIFY_LINE_MAX 4096
/* Reads per wakeup; the watch is level-triggered, the rest comes next. */
#define NOTIFY_READS_MAX 16

struct task_health {
	art_task *t;
	bool active; /* between health_started and health_stopped */

	/* Notify channel. */
	int notify_fd; /* our read end, nonblocking; -1 */
	loop_watch notify_watch;
	char line[NOTIFY_LINE_MAX];
	size_t line_len;
	bool line_junk; /* the line under way went past the cap */
	bool ready_sent;

	/* Watchdog. */
	loop_timer watchdog;
	int64_t wd_frozen_ns; /* t->result.frozen_ns when it was armed */

	/* Exec probe. */
	loop_timer probe_timer; /* the next probe, or the running one's timeout */
	strv probe_paths;       /* the PATH candidates, resolved once */
	int probe_pidfd;        /* -1: none running */
	pid_t probe_pid;
	loop_watch probe_watch;
	bool probe_timed_out;
	int64_t probe_frozen_ns; /* t->result.frozen_ns when it started */
	unsigned failures;       /* in a row */
};

static void health_release(task_health *h);

static bool wants_notify(const spec_supervise *sp)
{
	return sp->notify || sp->watchdog_ns > 0;
}

static int64_t deadline_after(int64_t now, int64_t delay)
{
	return delay > INT64_MAX - now ? INT64_MAX : now + delay;
}

/* Whether the task can act on what we learn: running, not on its way out. */
static bool task_live(const art_task *t)
{
	return t->state == ART_TASK_RUNNING;
}

int health_prepare(art_task *t)
{
	const spec_supervise *sp = &t->spec->sup;
	bool notify = wants_notify(sp);
	if (!notify && !sp->health_cmd.n)
		return 0;
	/* The sandbox's init would have to pass the descriptor on to the task
	 * through its LAUNCH message and its own close_range: not done yet.
	 * The probe runs on the host and works at every level. */
	if (notify && spec_effective_level(t->spec) == ART_SANDBOX_FULL) {
		snprintf(t->result.start_detail, sizeof(t->result.start_detail), "%s",
			 "notify and watchdog are not supported with sandbox full yet");
		return -EOPNOTSUPP;
	}
	task_health *h = t->health;
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		h->notify_fd = -1;
		h->probe_pidfd = -1;
		loop_watch_init(&h->notify_watch);
		loop_watch_init(&h->probe_watch);
		loop_timer_init(&h->watchdog);
		loop_timer_init(&h->probe_timer);
		h->t = t;
		t->health = h;
	} else
		health_release(h); /* a run that was never stopped: not expected */
	if (!notify)
		return 0;

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	_cleanup_close_ int rd = p[0], wr = p[1];
	/* Only our end is nonblocking: a task that writes faster than we read
	 * waits, as it would on any pipe. */
	int r = fd_set_nonblock(rd, 1);
	if (r < 0)
		return r;
	/* Above 2, so that the child's dup2 onto 0..2 never clobbers it. */
	int child = fd_move_above(take_fd(&wr), 3);
	if (child < 0)
		return child;
	h->notify_fd = take_fd(&rd);
	t->notify_child_fd = child;
	return 0;
}

/* ------------------------------------------------------------ watchdog */

static void on_watchdog(loop *l, loop_timer *timer)
{
	task_health *h = container_of(timer, task_health, watchdog);
	art_task *t = h->t;
	if (!h->active || !task_live(t))
		return;
	/* A stopped task could not ping: it gets a whole period once it runs. */
	if (t->stopped || t->result.frozen_ns != h->wd_frozen_ns) {
		h->wd_frozen_ns = t->result.frozen_ns;
		loop_timer_arm(l, &h->watchdog, deadline_after(mono_ns(), t->spec->sup.watchdog_ns),
			       on_watchdog);
		return;
	}
	supervision_event(t, SUPERVISE_EV_WATCHDOG_MISSED);
}

static void watchdog_arm(task_health *h, int64_t from)
{
	art_task *t = h->t;
	if (t->spec->sup.watchdog_ns <= 0)
		return;
	h->wd_frozen_ns = t->result.frozen_ns;
	/* Only a failed heap allocation: the watchdog is then not enforced. */
	loop_timer_arm(t->rt->loop, &h->watchdog, deadline_after(from, t->spec->sup.watchdog_ns),
		       on_watchdog);
}

/* ------------------------------------------------------------ notify */

static void set_ready(task_health *h, bool tell)
{
	art_task *t = h->t;
	t->result.ready = 1;
	if (!tell || h->ready_sent)
		return;
	h->ready_sent = true;
	supervision_event(t, SUPERVISE_EV_READY);
}

/* One line, NUL-terminated. `live`: the run goes on and the supervisor
 * is told; else (the final read at the end) only the result is filled.
 * Returns false when the run was stopped under us (by the supervisor). */
static bool notify_line(task_health *h, char *line, size_t len, bool live)
{
	art_task *t = h->t;
	if (len && line[len - 1] == '\r')
		line[--len] = 0;
	if (strcmp(line, "READY=1") == 0) {
		set_ready(h, live && task_live(t));
	} else if (strcmp(line, "WATCHDOG=1") == 0) {
		if (live && task_live(t))
			watchdog_arm(h, mono_ns());
	} else if (strncmp(line, "STATUS=", 7) == 0) {
		snprintf(t->result.status_text, sizeof(t->result.status_text), "%s", line + 7);
	}
	return h->active || !live;
}

/* Cuts data into lines; a partial one waits in h->line for the rest. */
static bool notify_input(task_health *h, const char *data, size_t len, bool live)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		if (!h->line_junk && h->line_len + take < NOTIFY_LINE_MAX) {
			memcpy(h->line + h->line_len, data, take);
			h->line_len += take;
		} else {
			h->line_junk = true;
		}
		if (!nl)
			return true;
		bool junk = h->line_junk;
		size_t line_len = h->line_len;
		h->line_len = 0;
		h->line_junk = false;
		data += take + 1;
		len -= take + 1;
		if (junk)
			continue;
		h->line[line_len] = 0;
		if (!notify_line(h, h->line, line_len, live))
			return false;
	}
	return true;
}

/* Reads what is there. false: end of file or an error (the channel is
 * done), or the run was stopped while a line was handled. */
static bool notify_read(task_health *h, bool live)
{
	char buf[4096];
	for (int i = 0; i < NOTIFY_READS_MAX; i++) {
		ssize_t n = read(h->notify_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		if (!notify_input(h, buf, (size_t)n, live))
			return false;
	}
	return true;
}

static void on_notify(loop *l, loop_watch *w, uint32_t events)
{
	(void)events;
	task_health *h = container_of(w, task_health, notify_watch);
	if (notify_read(h, true) || !h->active)
		return;
	/* Every writer is gone: a hangup would wake us forever. */
	loop_watch_del(l, &h->notify_watch);
	h->notify_fd = safe_close(h->notify_fd);
}

/* ------------------------------------------------------------ probe */

/* execvp's candidates for the probe, from the runtime's PATH: the child
 * may not allocate. */
static int probe_resolve(task_health *h, const char *file)
{
	if (h->probe_paths.n)
		return 0;
	if (strchr(file, '/'))
		return strv_push(&h->probe_paths, file);
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;;) {
		const char *end = strchrnul(p, ':');
		int dlen = (int)(end - p);
		char *cand;
		/* An empty entry is the current directory, as in execvp. */
		if (asprintf(&cand, "%.*s/%s", dlen ? dlen : 1, dlen ? p : ".", file) < 0) {
			strv_clear(&h->probe_paths);
			return -ENOMEM;
		}
		int r = strv_push_take(&h->probe_paths, cand);
		if (r < 0) {
			strv_clear(&h->probe_paths);
			return r;
		}
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static void probe_schedule(task_health *h, int64_t from);

/* Kills the probe's group (its leader unreaped, the group id is still
 * its) and reaps it. The caller has stopped watching it. */
static int probe_reap(task_health *h, siginfo_t *si)
{
	art_runtime *rt = h->t->rt;
	kill(-h->probe_pid, SIGKILL);
	int r = pidfd_reap(h->probe_pidfd, si, NULL);
	intset_del(&rt->child_pids, h->probe_pid);
	h->probe_pidfd = safe_close(h->probe_pidfd);
	h->probe_pid = 0;
	return r;
}

/* A probe's verdict. May end the run (through the supervisor): touches
 * nothing of h after that. */
static void probe_result(task_health *h, bool pass)
{
	art_task *t = h->t;
	if (!task_live(t))
		return;
	if (pass) {
		h->failures = 0;
		set_ready(h, true);
		return;
	}
	/* A stopped task could not answer: not its failure. */
	if (t->stopped || t->result.frozen_ns != h->probe_frozen_ns)
		return;
	if (++h->failures < t->spec->sup.health_failures)
		return;
	h->failures = 0;
	supervision_event(t, SUPERVISE_EV_UNHEALTHY);
}

static void on_probe_exit(loop *l, loop_watch *w, uint32_t events)
{
	(void)events;
	task_health *h = container_of(w, task_health, probe_watch);
	loop_watch_del(l, &h->probe_watch);
	loop_timer_disarm(l, &h->probe_timer);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	bool pass = probe_reap(h, &si) == 0 && !h->probe_timed_out && si.si_code == CLD_EXITED &&
		    si.si_status == 0;
	probe_schedule(h, mono_ns());
	probe_result(h, pass);
}

static void on_probe_timeout(loop *l, loop_timer *timer)
{
	(void)l;
	task_health *h = container_of(timer, task_health, probe_timer);
	if (h->probe_pidfd < 0)
		return;
	/* Counted when the pidfd says it is gone. */
	h->probe_timed_out = true;
	kill(-h->probe_pid, SIGKILL);
	pidfd_signal(h->probe_pidfd, SIGKILL);
}

static void on_probe_due(loop *l, loop_timer *timer)
{
	task_health *h = container_of(timer, task_health, probe_timer);
	art_task *t = h->t;
	art_runtime *rt = t->rt;
	const spec_supervise *sp = &t->spec->sup;
	if (!h->active || !task_live(t))
		return;
	int64_t now = mono_ns();
	if (t->stopped) {
		probe_schedule(h, now);
		return;
	}
	spawn_failure fail;
	int r = probe_resolve(h, sp->health_cmd.v[0]);
	if (r == 0) {
		spawn_params p = {
			.exec_paths = (const char *const *)h->probe_paths.v,
			.argv = sp->health_cmd.v,
			.envp = environ,
			/* A sandbox's cwd is a path in its view, not ours. */
			.cwd = t->result.level == ART_SANDBOX_FULL ? NULL : t->spec->cwd,
			.stdio = { rt->devnull, rt->devnull, rt->devnull },
			.parent_pid = rt->pid,
			/* The loop thread is suspended while the child uses it. */
			.stack = rt->spawn_stack,
			.stack_size = SPAWN_STACK_SIZE,
			.keep_fd = -1,
		};
		r = os_spawn(&p, &h->probe_pid, &h->probe_pidfd, &fail);
	}
	if (r < 0) {
		/* A probe that cannot run does not pass. */
		h->probe_frozen_ns = t->result.frozen_ns;
		probe_schedule(h, now);
		probe_result(h, false);
		return;
	}
	/* Ours to reap: the orphan sweep must leave it alone. */
	intset_add(&rt->child_pids, h->probe_pid);
	h->probe_timed_out = false;
	h->probe_frozen_ns = t->result.frozen_ns;
	if (loop_watch_add(l, &h->probe_watch, h->probe_pidfd, EPOLLIN, on_probe_exit) < 0 ||
	    loop_timer_arm(l, &h->probe_timer, deadline_after(now, sp->health_timeout_ns),
			   on_probe_timeout) < 0) {
		/* Without both we could not bound it: it is not run at all. */
		loop_watch_del(l, &h->probe_watch);
		probe_reap(h, NULL);
		probe_schedule(h, now);
		probe_result(h, false);
	}
}

static void probe_schedule(task_health *h, int64_t from)
{
	art_task *t = h->t;
	if (!h->active || !t->spec->sup.health_cmd.n)
		return;
	/* Only a failed heap allocation: no more probes in this run. */
	loop_timer_arm(t->rt->loop, &h->probe_timer,
		       deadline_after(from, t->spec->sup.health_interval_ns), on_probe_due);
}

/* ------------------------------------------------------------ start, stop */

void health_started(art_task *t)
{
	task_health *h = t->health;
	if (!h || h->active)
		return;
	h->active = true;
	h->ready_sent = false;
	h->failures = 0;
	h->line_len = 0;
	h->line_junk = false;
	int64_t start = t->result.started_ns ? t->result.started_ns : mono_ns();
	/* Without the watch nothing is read: the task's lines wait in the
	 * pipe (it blocks once the pipe is full), and a watchdog ends it. */
	if (h->notify_fd >= 0)
		loop_watch_add(t->rt->loop, &h->notify_watch, h->notify_fd, EPOLLIN, on_notify);
	watchdog_arm(h, start);
	probe_schedule(h, start);
}

/* Everything but the struct itself. */
static void health_release(task_health *h)
{
	art_task *t = h->t;
	loop *l = t->rt->loop;
	h->active = false;
	loop_timer_disarm(l, &h->watchdog);
	loop_timer_disarm(l, &h->probe_timer);
	if (h->probe_pidfd >= 0) {
		/* SIGKILLed: reaping it here blocks for no time worth a watch. */
		loop_watch_del(l, &h->probe_watch);
		pidfd_signal(h->probe_pidfd, SIGKILL);
		probe_reap(h, NULL);
	}
	if (h->notify_fd >= 0) {
		loop_watch_del(l, &h->notify_watch);
		h->notify_fd = safe_close(h->notify_fd);
	}
	t->notify_child_fd = safe_close(t->notify_child_fd);
	h->line_len = 0;
	h->line_junk = false;
}

void health_stopped(art_task *t)
{
	task_health *h = t->health;
	/* The child's end, made for a start that failed later. */
	t->notify_child_fd = safe_close(t->notify_child_fd);
	if (!h)
		return;
	/* Lines written just before the exit may not have been read yet: the
	 * last STATUS= (and READY=1) still belong in the result. The task's
	 * leftovers may hold the write end, so this never waits. */
	if (h->notify_fd >= 0) {
		h->active = false;
		notify_read(h, false);
	}
	health_release(h);
}

void health_free(art_task *t)
{
	task_health *h = t->health;
	if (!h)
		return;
	health_stopped(t);
	strv_clear(&h->probe_paths);
	free(h);
	t->health = NULL;
}
