/* SPDX-License-Identifier: MIT */
/*
 * A task's lifecycle, as a table of transitions (docs/ARCHITECTURE.md):
 *
 *             START_OK  START_FAILED  EXITED  TIMEOUT   CANCEL    GRACE_END  VIOLATION
 *   QUEUED    RUNNING   DONE          -       -         DONE      -          -
 *   RUNNING   -         -             DONE    STOPPING  STOPPING  -          STOPPING*
 *   STOPPING  -         -             DONE    -         STOPPING  STOPPING   STOPPING*
 *   DONE      -         -             -       -         -         -          -
 *
 * "-" means the event is ignored in that state. Entering STOPPING sends
 * SIGTERM to the task's process group and arms the grace timer; GRACE_END
 * (or a second CANCEL) sends SIGKILL. VIOLATION (a denied system call, the
 * output limit) sends SIGKILL at once (*): no grace for a task that broke
 * its sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"
#include "base/time.h"
#include "core/internal.h"
#include "os/pidfd.h"
#include "os/spawn.h"

extern char **environ;

typedef void (*task_action)(art_task *t);

static void act_started(art_task *t);
static void act_start_failed(art_task *t);
static void act_exited(art_task *t);
static void act_stop_timeout(art_task *t);
static void act_stop_cancel(art_task *t);
static void act_cancel_queued(art_task *t);
static void act_kill(art_task *t);
static void act_violation(art_task *t);

static const struct transition {
	art_task_state next;
	task_action action; /* NULL with next == current: ignored */
} transitions[ART_TASK_DONE + 1][EV__COUNT] = {
	[ART_TASK_QUEUED] = {
		[EV_START_OK] = { ART_TASK_RUNNING, act_started },
		[EV_START_FAILED] = { ART_TASK_DONE, act_start_failed },
		[EV_EXITED] = { ART_TASK_QUEUED, NULL },
		[EV_TIMEOUT] = { ART_TASK_QUEUED, NULL },
		[EV_CANCEL] = { ART_TASK_DONE, act_cancel_queued },
		[EV_GRACE_END] = { ART_TASK_QUEUED, NULL },
		[EV_VIOLATION] = { ART_TASK_QUEUED, NULL },
	},
	[ART_TASK_RUNNING] = {
		[EV_START_OK] = { ART_TASK_RUNNING, NULL },
		[EV_START_FAILED] = { ART_TASK_RUNNING, NULL },
		[EV_EXITED] = { ART_TASK_DONE, act_exited },
		[EV_TIMEOUT] = { ART_TASK_STOPPING, act_stop_timeout },
		[EV_CANCEL] = { ART_TASK_STOPPING, act_stop_cancel },
		[EV_GRACE_END] = { ART_TASK_RUNNING, NULL },
		[EV_VIOLATION] = { ART_TASK_STOPPING, act_violation },
	},
	[ART_TASK_STOPPING] = {
		[EV_START_OK] = { ART_TASK_STOPPING, NULL },
		[EV_START_FAILED] = { ART_TASK_STOPPING, NULL },
		[EV_EXITED] = { ART_TASK_DONE, act_exited },
		[EV_TIMEOUT] = { ART_TASK_STOPPING, NULL },
		[EV_CANCEL] = { ART_TASK_STOPPING, act_kill },
		[EV_GRACE_END] = { ART_TASK_STOPPING, act_kill },
		[EV_VIOLATION] = { ART_TASK_STOPPING, act_violation },
	},
	[ART_TASK_DONE] = {
		[EV_START_OK] = { ART_TASK_DONE, NULL },
		[EV_START_FAILED] = { ART_TASK_DONE, NULL },
		[EV_EXITED] = { ART_TASK_DONE, NULL },
		[EV_TIMEOUT] = { ART_TASK_DONE, NULL },
		[EV_CANCEL] = { ART_TASK_DONE, NULL },
		[EV_GRACE_END] = { ART_TASK_DONE, NULL },
		[EV_VIOLATION] = { ART_TASK_DONE, NULL },
	},
};

void task_dispatch(art_task *t, task_event ev)
{
	const struct transition *tr = &transitions[t->state][ev];
	if (!tr->action)
		return;
	t->state = tr->next;
	/* DONE is announced once the end is final (a retry is not one). */
	if (tr->next != ART_TASK_DONE)
		event_state(t, art_task_state_name(tr->next));
	tr->action(t);
}

int task_new(art_runtime *rt, const art_spec *spec, void *userdata, art_task **out)
{
	if (!spec->argv.n)
		return -EINVAL;
	art_task *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	int r = art_spec_clone(spec, &t->spec);
	if (r < 0) {
		free(t);
		return r;
	}
	atomic_init(&t->refs, 1);
	t->rt = rt;
	t->userdata = userdata;
	t->state = ART_TASK_QUEUED;
	t->pidfd = -1;
	t->stdin_fd = -1;
	list_init(&t->link);
	list_init(&t->dep_link);
	loop_watch_init(&t->pid_watch);
	loop_timer_init(&t->timer);
	output_init(&t->out[0]);
	output_init(&t->out[1]);
	t->result.exit_code = -1;
	t->result.queued_ns = mono_ns();
	iso_init(t);
	/* A session's queue exists from the submission: lines may be sent
	 * while the task waits. */
	r = session_new(t);
	if (r == 0 && (r = supervision_task_new(t)) < 0)
		session_free(t);
	if (r < 0) {
		art_spec_free(t->spec);
		free(t);
		return r;
	}
	*out = t;
	return 0;
}

void task_free(art_task *t)
{
	session_free(t);
	output_release(t->rt, &t->out[0]);
	output_release(t->rt, &t->out[1]);
	iso_release(t);
	safe_close(t->pidfd);
	safe_close(t->stdin_fd);
	schedule_task_free(t);
	health_free(t);
	supervision_task_free(t);
	art_spec_free(t->spec);
	free(t);
}

/* ------------------------------------------------------------ signals */

/* now + delay, saturating: a timeout of "forever" must not wrap around. */
static int64_t deadline_after(int64_t now, int64_t delay)
{
	return delay > INT64_MAX - now ? INT64_MAX : now + delay;
}

/* Signals the whole process group. The group's id is the leader's pid,
 * which stays reserved while the leader is unreaped: we only get here
 * before reaping it, so the number cannot name someone else's group. A
 * leader that left its group is signalled through its pidfd as well. */
static void signal_task(art_task *t, int sig)
{
	if (t->pidfd < 0)
		return;
	if (t->stopped)
		task_wake_for_signal(t, mono_ns());
	if (getpgid(t->pid) != t->pid)
		pidfd_signal(t->pidfd, sig);
	kill(-t->pid, sig);
}

static void on_grace_end(loop *l, loop_timer *timer)
{
	(void)l;
	task_dispatch(container_of(timer, art_task, timer), EV_GRACE_END);
}

static void on_timeout(loop *l, loop_timer *timer)
{
	(void)l;
	task_dispatch(container_of(timer, art_task, timer), EV_TIMEOUT);
}

static void act_kill(art_task *t)
{
	loop_timer_disarm(t->rt->loop, &t->timer);
	signal_task(t, SIGKILL);
}

static void act_violation(art_task *t)
{
	act_kill(t);
}

/* what: VIOLATION_SECCOMP or the art_limit that was passed. The first
 * violation is the one reported. */
void task_violation(art_task *t, int what)
{
	if (t->violation == -1)
		t->violation = what;
	task_dispatch(t, EV_VIOLATION);
}

static void begin_stop(art_task *t, art_end reason)
{
	t->stop_reason = reason;
	if (t->spec->grace_ns == 0) {
		act_kill(t);
		return;
	}
	signal_task(t, SIGTERM);
	if (loop_timer_arm(t->rt->loop, &t->timer, deadline_after(mono_ns(), t->spec->grace_ns),
			   on_grace_end) < 0)
		act_kill(t);
}

static void act_stop_timeout(art_task *t)
{
	t->rt->stats.timeouts++;
	begin_stop(t, ART_END_TIMEOUT);
}

static void act_stop_cancel(art_task *t)
{
	/* Supervision stops an unhealthy or silent task through here too. */
	art_end why = t->kill_reason ? t->kill_reason : ART_END_CANCELLED;
	if (why == ART_END_CANCELLED)
		t->rt->stats.cancelled++;
	begin_stop(t, why);
}

static void act_cancel_queued(art_task *t)
{
	t->rt->stats.cancelled++;
	t->rt->n_queued--;
	list_remove(&t->link);
	t->result.end = ART_END_CANCELLED;
	runtime_task_done(t->rt, t);
}

/* Used when the runtime shuts down: no grace. */
void task_kill_now(art_task *t)
{
	if (t->state == ART_TASK_RUNNING || t->state == ART_TASK_STOPPING) {
		if (t->state == ART_TASK_RUNNING) {
			t->stop_reason = ART_END_CANCELLED;
			t->rt->stats.cancelled++;
		}
		t->state = ART_TASK_STOPPING;
		event_state(t, "stopping");
		act_kill(t);
	}
}

/* ------------------------------------------------------------ preemption */

/* Stops or restarts the task's processes as `frozen || paused` says. */
static void apply_stop(art_task *t, int64_t now)
{
	bool want = t->frozen || t->paused;
	if (want == t->stopped || (want && t->pidfd < 0))
		return;
	t->stopped = want;
	if (want) {
		t->frozen_since = now;
		/* Stopped time is not run time: the timeout waits too. */
		t->timeout_left = -1;
		if (t->state == ART_TASK_RUNNING && heap_node_queued(&t->timer.node)) {
			t->timeout_left = MAX(t->timer.node.key - now, INT64_C(0));
			loop_timer_disarm(t->rt->loop, &t->timer);
		}
		/* The freezer stops the whole tree at once, whatever its
		 * process groups; SIGSTOP reaches the task's group only. */
		t->frozen_by_signal = !t->cg || cg_task_freeze(t->cg, true) < 0;
		if (t->frozen_by_signal)
			kill(-t->pid, SIGSTOP);
		return;
	}
	t->result.frozen_ns += now - t->frozen_since;
	if (t->pidfd < 0)
		return; /* ended while stopped: nothing left to wake */
	if (t->frozen_by_signal)
		kill(-t->pid, SIGCONT);
	else
		cg_task_freeze(t->cg, false);
	if (t->timeout_left >= 0 && t->state == ART_TASK_RUNNING &&
	    loop_timer_arm(t->rt->loop, &t->timer, deadline_after(now, t->timeout_left),
			   on_timeout) < 0)
		task_dispatch(t, EV_TIMEOUT);
	t->timeout_left = -1;
}

void task_freeze(art_task *t, int64_t now)
{
	if (t->frozen || t->pidfd < 0)
		return;
	t->frozen = true;
	t->rt->n_frozen++;
	apply_stop(t, now);
}

void task_thaw(art_task *t, int64_t now)
{
	if (!t->frozen)
		return;
	t->frozen = false;
	t->rt->n_frozen--;
	apply_stop(t, now);
}

void task_pause(art_task *t, int64_t now, bool paused)
{
	if (t->state != ART_TASK_RUNNING)
		return; /* a stopping task is on its way out; a queued one has nothing to stop */
	t->paused = paused;
	apply_stop(t, now);
}

void task_wake_for_signal(art_task *t, int64_t now)
{
	t->paused = false;
	if (t->frozen)
		task_thaw(t, now);
	else
		apply_stop(t, now);
}

/* ------------------------------------------------------------ retry */

void task_reset_for_retry(art_task *t)
{
	art_runtime *rt = t->rt;
	loop_timer_disarm(rt->loop, &t->timer);
	for (int i = 0; i < 2; i++) {
		output_release(rt, &t->out[i]);
		output_init(&t->out[i]);
	}
	/* The changes of a failed try are not the task's: only the last
	 * try's workspace is kept. */
	t->result.workspace_dir = NULL;
	iso_release(t);
	t->changes = NULL;
	t->n_changes = 0;
	t->result_changes = NULL;
	t->report_exited = false;
	t->teardown = NULL;
	t->has_usage = false;
	memset(&t->usage, 0, sizeof(t->usage));
	iso_init(t);
	session_retry(t);
	t->stdin_fd = safe_close(t->stdin_fd);
	t->pidfd = safe_close(t->pidfd);
	t->pid = 0;
	t->stop_reason = ART_END_NONE;
	t->kill_reason = ART_END_NONE;
	art_result keep = t->result;
	t->result = (art_result){
		.exit_code = -1,
		.queued_ns = keep.queued_ns,
		.attempts = keep.attempts,
		.frozen_ns = keep.frozen_ns,
		.restarts = keep.restarts,
	};
}

/* ------------------------------------------------------------ exit */

static void record_exit(art_task *t, const siginfo_t *si, const struct rusage *ru)
{
	art_result *res = &t->result;
	if (si->si_code == CLD_EXITED)
		res->exit_code = si->si_status;
	else
		res->term_signal = si->si_status;
	if (t->stop_reason)
		res->end = t->stop_reason;
	else
		res->end = si->si_code == CLD_EXITED ? ART_END_EXITED : ART_END_SIGNALED;
	res->wall_ns = mono_ns() - res->started_ns;
	res->user_ns = timeval_ns(ru->ru_utime.tv_sec, ru->ru_utime.tv_usec);
	res->system_ns = timeval_ns(ru->ru_stime.tv_sec, ru->ru_stime.tv_usec);
	res->max_rss_bytes = (uint64_t)ru->ru_maxrss * 1024;
}

static void act_exited(art_task *t)
{
	art_runtime *rt = t->rt;
	/* Nothing the task started outlives it: its group goes down with the
	 * leader, before the leader is reaped (see signal_task). */
	kill(-t->pid, SIGKILL);
	siginfo_t si;
	struct rusage ru;
	memset(&ru, 0, sizeof(ru));
	loop_watch_del(rt->loop, &t->pid_watch);
	if (iso_exited_early(t, &si)) {
		/* A sandbox's init, exiting: reaped in the background. */
	} else {
		if (pidfd_reap(t->pidfd, &si, &ru) < 0) {
			/* Someone else reaped our child (a host calling
			 * waitpid(-1)): the status is lost. */
			memset(&si, 0, sizeof(si));
			si.si_code = CLD_KILLED;
			si.si_status = SIGKILL;
		}
		intset_del(&rt->child_pids, t->pid);
	}
	t->pidfd = safe_close(t->pidfd);
	loop_timer_disarm(rt->loop, &t->timer);
	health_stopped(t);
	iso_exited(t, &si);
	record_exit(t, &si, &ru);
	iso_classify(t);

	for (int s = ART_STREAM_STDOUT; s <= ART_STREAM_STDERR; s++)
		output_drain(rt, t, s);
	list_remove(&t->link);
	rt->n_running--;
	/* With orphan killing, the task is reported after the sweep that
	 * follows this batch of events (runtime_flush_ended). */
	if (rt->cfg.flags & ART_RT_KILL_ORPHANS)
		list_add_tail(&rt->ended, &t->link);
	else
		runtime_task_done(rt, t);
}

static void on_pidfd_ready(loop *l, loop_watch *w, uint32_t events)
{
	(void)l;
	(void)events;
	task_dispatch(container_of(w, art_task, pid_watch), EV_EXITED);
}

void task_reap_blocking(art_task *t)
{
	if (t->pidfd >= 0)
		task_dispatch(t, EV_EXITED);
}

/* ------------------------------------------------------------ start */

static void act_started(art_task *t)
{
	art_runtime *rt = t->rt;
	rt->stats.started++;
	rt->n_running++;
	list_add_tail(&rt->running, &t->link);
	rtm_task_started(rt, t);
	event_started(t);
	sample_task_started(t);
	supervision_started(t);
}

static void act_start_failed(art_task *t)
{
	t->rt->stats.start_failures++;
	t->result.end = ART_END_START_FAILED;
	runtime_task_done(t->rt, t);
}

/* The runtime's /dev/null (already above 2) is lent to the child as it is:
 * no dup and no close per task. */
#define BORROW_DEVNULL (-2)

typedef struct start_ctx {
	int child_fd[3];
	char **envp;
	char **paths;
	size_t n_paths;
	char notify_env[32]; /* AGENTRT_NOTIFY_FD=n, pointed to by envp */
} start_ctx;

static void start_ctx_done(start_ctx *c)
{
	for (int i = 0; i < 3; i++)
		if (c->child_fd[i] != BORROW_DEVNULL)
			safe_close(c->child_fd[i]);
	if (c->envp != environ)
		free(c->envp);
	for (size_t i = 0; i < c->n_paths; i++)
		free(c->paths[i]);
	free(c->paths);
}

static bool env_allowed(const art_spec *s, const char *entry)
{
	size_t nlen = strcspn(entry, "=");
	for (size_t i = 0; i < s->env_allow.n; i++) {
		const char *pat = s->env_allow.v[i];
		size_t plen = strlen(pat);
		if (plen && pat[plen - 1] == '*') {
			if (nlen >= plen - 1 && strncmp(entry, pat, plen - 1) == 0)
				return true;
		} else if (plen == nlen && strncmp(entry, pat, nlen) == 0)
			return true;
	}
	return false;
}

static bool env_overridden(const art_spec *s, const char *entry)
{
	size_t nlen = strcspn(entry, "=");
	for (size_t i = 0; i < s->env_set.n; i++) {
		const char *e = s->env_set.v[i];
		if (strncmp(e, entry, nlen) == 0 && (e[nlen] == '=' || e[nlen] == 0))
			return true;
	}
	return false;
}

/* Whether two "NAME=..." entries name the same variable; b may be NULL. */
static bool env_same_name(const char *a, const char *b)
{
	if (!b)
		return false;
	size_t nlen = strcspn(b, "=");
	return strncmp(a, b, nlen) == 0 && (a[nlen] == '=' || a[nlen] == 0);
}

/* What a sandboxed task inherits when its spec says nothing: enough for
 * programs to find each other and print text, nothing that names a
 * credential, a socket or the host's layout. */
static const char *const sandbox_env_allow[] = {
	"PATH", "LANG", "LANGUAGE", "LC_", "TERM", "TZ", "COLORTERM", "NO_COLOR",
};

static bool sandbox_env_allowed(const char *entry)
{
	size_t nlen = strcspn(entry, "=");
	for (size_t i = 0; i < ARRAY_SIZE(sandbox_env_allow); i++) {
		const char *a = sandbox_env_allow[i];
		size_t alen = strlen(a);
		if (a[alen - 1] == '_' ? strncmp(entry, a, alen) == 0
				       : (alen == nlen && strncmp(entry, a, nlen) == 0))
			return true;
	}
	return false;
}

/* Builds the environment as an array of borrowed pointers: into the host's
 * environ, into the spec and to `extra`, which all outlive the spawn.
 * extra (NULL: none) is a "NAME=VALUE" of the runtime's, over any other. */
static int build_env(const art_spec *s, const char *extra, char ***out)
{
	bool scrub = spec_effective_level(s) == ART_SANDBOX_FULL && s->env_mode == ART_ENV_INHERIT;
	if (s->env_mode == ART_ENV_INHERIT && !s->env_set.n && !scrub && !extra) {
		*out = environ;
		return 0;
	}
	size_t n_host = 0;
	if (s->env_mode != ART_ENV_CLEAR)
		for (char **e = environ; e && *e; e++)
			n_host++;
	char **envp = malloc((n_host + s->env_set.n + 3) * sizeof(char *));
	if (!envp)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < n_host; i++) {
		char *e = environ[i];
		if (s->env_mode == ART_ENV_ALLOW && !env_allowed(s, e))
			continue;
		if (scrub && !sandbox_env_allowed(e))
			continue;
		if (!env_overridden(s, e) && !env_same_name(e, extra))
			envp[n++] = e;
	}
	if (scrub && !env_overridden(s, "HOME="))
		envp[n++] = (char *)"HOME=/root";
	for (size_t i = 0; i < s->env_set.n; i++)
		if (strchr(s->env_set.v[i], '=') && !env_same_name(s->env_set.v[i], extra))
			envp[n++] = s->env_set.v[i];
	if (extra)
		envp[n++] = (char *)extra;
	envp[n] = NULL;
	*out = envp;
	return 0;
}

static const char *env_lookup(char **envp, const char *name)
{
	size_t nlen = strlen(name);
	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, name, nlen) == 0 && (*e)[nlen] == '=')
			return *e + nlen + 1;
	return NULL;
}

/* The candidates execvp would try, resolved before the clone because the
 * child may not allocate. PATH comes from the task's own environment. */
static int build_exec_paths(start_ctx *c, const char *file)
{
	if (strchr(file, '/')) {
		c->paths = calloc(2, sizeof(char *));
		if (!c->paths || !(c->paths[0] = strdup(file)))
			return -ENOMEM;
		c->n_paths = 1;
		return 0;
	}
	const char *path = env_lookup(c->envp, "PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	size_t n_dirs = 1;
	for (const char *p = path; *p; p++)
		n_dirs += *p == ':';
	c->paths = calloc(n_dirs + 1, sizeof(char *));
	if (!c->paths)
		return -ENOMEM;
	size_t flen = strlen(file);
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		char *cand = malloc(MAX(dlen, 1) + flen + 2);
		if (!cand)
			return -ENOMEM;
		/* An empty entry means the current directory, as in execvp. */
		if (dlen)
			memcpy(cand, p, dlen);
		else
			cand[dlen++] = '.';
		cand[dlen] = '/';
		memcpy(cand + dlen + 1, file, flen + 1);
		c->paths[c->n_paths++] = cand;
		if (!*end)
			break;
		p = end;
	}
	return 0;
}

static int open_stdin(art_task *t, int *child_fd)
{
	const art_spec *s = t->spec;
	if (t->session)
		return session_open_stdin(t, child_fd);
	switch (s->stdin_mode) {
	case ART_STDIN_NULL:
		*child_fd = BORROW_DEVNULL;
		return 0;
	case ART_STDIN_INHERIT:
		*child_fd = -1;
		return 0;
	case ART_STDIN_FILE:
		*child_fd = open(s->stdin_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		return *child_fd < 0 ? -errno : 0;
	case ART_STDIN_BYTES: {
		/* A memfd, not a pipe: no writer to keep alive on the loop, no
		 * SIGPIPE for the host when the task does not read, any size. */
		_cleanup_close_ int fd = memfd_create("agentrt-stdin", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		for (size_t off = 0; off < s->stdin_len;) {
			ssize_t n = write(fd, s->stdin_data + off, s->stdin_len - off);
			if (n < 0 && errno != EINTR)
				return -errno;
			if (n > 0)
				off += (size_t)n;
		}
		if (lseek(fd, 0, SEEK_SET) < 0)
			return -errno;
		*child_fd = take_fd(&fd);
		return 0;
	}
	case ART_STDIN_PIPE: {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		t->stdin_fd = p[1];
		*child_fd = p[0];
		return 0;
	}
	}
	return -EINVAL;
}

static int open_output(art_task *t, int stream, int *child_fd)
{
	const spec_output *o = &t->spec->out[stream - 1];
	/* A session reads stdout line by line, wherever the spec sent it. */
	if (t->session && stream == ART_STREAM_STDOUT)
		return output_open(t->rt, t, stream, child_fd);
	switch (o->mode) {
	case ART_OUTPUT_CAPTURE:
		return output_open(t->rt, t, stream, child_fd);
	case ART_OUTPUT_DISCARD:
		*child_fd = BORROW_DEVNULL;
		return 0;
	case ART_OUTPUT_INHERIT:
		*child_fd = -1;
		return 0;
	case ART_OUTPUT_FILE:
		*child_fd = open(o->path,
				 O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
					 (o->append ? O_APPEND : O_TRUNC),
				 0644);
		return *child_fd < 0 ? -errno : 0;
	}
	return -EINVAL;
}

static const int rlimit_resource[ART_LIMIT__COUNT] = {
	[ART_LIMIT_ADDRESS_SPACE] = RLIMIT_AS, [ART_LIMIT_CPU_TIME] = RLIMIT_CPU,
	[ART_LIMIT_NOFILE] = RLIMIT_NOFILE,    [ART_LIMIT_NPROC] = RLIMIT_NPROC,
	[ART_LIMIT_FILE_SIZE] = RLIMIT_FSIZE,  [ART_LIMIT_CORE] = RLIMIT_CORE,
};

static size_t build_rlimits(const art_task *t, spawn_rlimit *out)
{
	const art_spec *s = t->spec;
	size_t n = 0;
	for (int i = 0; i <= ART_LIMIT_CORE; i++) {
		if (!(s->limits_set & (1u << i)))
			continue;
		rlim_t v = (rlim_t)s->limits[i];
		/* CPU: a soft limit sends SIGXCPU, the hard one a second later
		 * SIGKILL, so a task that handles SIGXCPU still ends. */
		rlim_t hard = i == ART_LIMIT_CPU_TIME ? v + 1 : v;
		out[n++] = (spawn_rlimit){ rlimit_resource[i], { v, hard } };
	}
	const struct rlimit *own = &t->rt->own_nofile;
	uint64_t nofile = t->rt->cfg.task_nofile_default;
	if (nofile && nofile < own->rlim_cur && !(s->limits_set & (1u << ART_LIMIT_NOFILE)))
		out[n++] = (spawn_rlimit){ RLIMIT_NOFILE, { nofile, own->rlim_max } };
	return n;
}

static int stdio_fd(const art_runtime *rt, int fd)
{
	return fd == BORROW_DEVNULL ? rt->devnull : fd;
}

static void fail_start(art_task *t, int err, art_stage stage)
{
	health_stopped(t);
	t->result.start_errno = err;
	t->result.start_stage = stage;
	task_dispatch(t, EV_START_FAILED);
}

void task_start(art_task *t)
{
	art_runtime *rt = t->rt;
	t->result.attempts++;
	_cleanup_(start_ctx_done) start_ctx c = { .child_fd = { -1, -1, -1 } };
	static const art_stage open_stage[3] = { ART_STAGE_STDIN, ART_STAGE_STDOUT,
						 ART_STAGE_STDERR };
	for (int i = 0; i < 3; i++) {
		int r = i == 0 ? open_stdin(t, &c.child_fd[0]) : open_output(t, i, &c.child_fd[i]);
		if (r == 0 && c.child_fd[i] >= 0 &&
		    (c.child_fd[i] = fd_move_above(c.child_fd[i], 3)) < 0)
			r = c.child_fd[i];
		if (r < 0) {
			fail_start(t, -r, open_stage[i]);
			return;
		}
	}
	/* The notify channel's end is named in the environment. */
	int r = health_prepare(t);
	if (r < 0) {
		fail_start(t, -r, r == -EOPNOTSUPP ? ART_STAGE_SANDBOX : ART_STAGE_PREPARE);
		return;
	}
	if (t->notify_child_fd >= 0)
		snprintf(c.notify_env, sizeof(c.notify_env), "AGENTRT_NOTIFY_FD=%d", SPAWN_KEEP_FD);
	r = build_env(t->spec, c.notify_env[0] ? c.notify_env : NULL, &c.envp);
	if (r == 0)
		r = build_exec_paths(&c, t->spec->argv.v[0]);
	if (r < 0) {
		fail_start(t, -r, ART_STAGE_PREPARE);
		return;
	}

	art_stage stage = ART_STAGE_CGROUP;
	r = iso_prepare(t, &stage);
	if (r < 0) {
		fail_start(t, -r, stage);
		return;
	}
	int cg_fds[8];
	int n_cg = iso_cgroup_fds(t, cg_fds, 8);
	if (n_cg < 0) {
		fail_start(t, -n_cg, ART_STAGE_CGROUP);
		return;
	}

	spawn_rlimit rlimits[ART_LIMIT__COUNT + 1];
	spawn_params p = {
		.exec_paths = (const char *const *)c.paths,
		.argv = t->spec->argv.v,
		.envp = c.envp,
		.cwd = t->spec->cwd,
		.stdio = { stdio_fd(rt, c.child_fd[0]), stdio_fd(rt, c.child_fd[1]),
			   stdio_fd(rt, c.child_fd[2]) },
		.rlimits = rlimits,
		.n_rlimits = build_rlimits(t, rlimits),
		.subreaper = (rt->cfg.flags & ART_RT_KILL_ORPHANS) != 0,
		.parent_pid = rt->pid,
		.stack = rt->spawn_stack,
		.stack_size = SPAWN_STACK_SIZE,
		.cgroup_fds = cg_fds,
		.n_cgroup_fds = n_cg,
		.keep_fd = t->notify_child_fd,
	};
	spawn_failure fail;
	int64_t started = mono_ns();
	if (t->result.level == ART_SANDBOX_FULL)
		r = iso_spawn(t, &p, &fail);
	else
		r = os_spawn(&p, &t->pid, &t->pidfd, &fail);
	/* The task has its copy of the channel's end, or never will. */
	t->notify_child_fd = safe_close(t->notify_child_fd);
	if (r < 0) {
		fail_start(t, fail.err, fail.stage);
		return;
	}
	t->result.started_ns = started;
	t->result.pid = t->pid;
	intset_add(&rt->child_pids, t->pid);
	r = loop_watch_add(rt->loop, &t->pid_watch, t->pidfd, EPOLLIN, on_pidfd_ready);
	task_dispatch(t, EV_START_OK);
	if (r < 0) {
		/* Without a watch we would never learn that it ended. */
		task_kill_now(t);
		task_reap_blocking(t);
		return;
	}
	health_started(t);
	if (t->spec->timeout_ns > 0 &&
	    loop_timer_arm(rt->loop, &t->timer, deadline_after(started, t->spec->timeout_ns),
			   on_timeout) < 0) {
		task_kill_now(t);
		task_reap_blocking(t);
	}
}
