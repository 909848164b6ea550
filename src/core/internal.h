/* SPDX-License-Identifier: MIT */
/*
 * The runtime and its tasks. Everything here belongs to the loop thread,
 * except what the `mu`-protected inbox holds and the atomic requests.
 */
#ifndef ART_CORE_INTERNAL_H
#define ART_CORE_INTERNAL_H

#include <agentrt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "base/intset.h"
#include "base/jsonw.h"
#include "base/list.h"
#include "base/pool.h"
#include "core/taskspec.h"
#include "os/loop.h"
#include "os/spawn.h"
#include "sandbox/cgroup.h"
#include "sched/depgraph.h"
#include "sched/sched.h"
#include "supervise/breaker.h"
#include "supervise/restart.h"
#include "sandbox/seccomp.h"
#include "sandbox/workspace.h"

/* Captured output is kept in a chain of pooled chunks, trimmed to the cap
 * as it grows, and made contiguous once when the task ends. */
#define OUT_CHUNK_SIZE 4096
typedef struct out_chunk {
	struct out_chunk *next;
	size_t len;
	char data[OUT_CHUNK_SIZE - 2 * sizeof(size_t)];
} out_chunk;

typedef struct task_output {
	int fd; /* read end of the pipe; -1 once closed */
	loop_watch watch;
	out_chunk *head, *last;
	size_t kept; /* bytes in the chain */
	size_t cap;
	uint64_t bytes;
	bool truncated;
	char *tail; /* contiguous tail, made at the end */
	size_t tail_len;
} task_output;

typedef enum task_dep_state {
	TASK_DEP_READY = 0,
	TASK_DEP_WAITING,
	TASK_DEP_SKIPPED,
} task_dep_state;

/* Requests to the loop from other threads (schedule.c). */
typedef enum ctl_op {
	CTL_GROUP_WEIGHT,
	CTL_GROUP_MAX,
	CTL_GROUP_RATE,
	CTL_KIND_MAX,
	CTL_KIND_RATE,
	CTL_CANCEL_GROUP,
	CTL_BREAKER,
} ctl_op;

typedef struct ctl_req {
	list_node link;
	ctl_op op;
	uint64_t after; /* submissions made before it (applied after those) */
	unsigned n;
	double rate;
	struct breaker_config breaker; /* CTL_BREAKER */
	bool any_kind;                 /* CTL_BREAKER: the default */
	char name[];
} ctl_req;

/* rt_metrics.c: where a task is counted in the per-group gauges. */
struct metric_gauge;
typedef struct rtm_task {
	struct metric_gauge *running, *queued; /* its group's series; NULL until drained */
	unsigned char where;                   /* none, queued or running */
} rtm_task;
typedef struct rt_metrics rt_metrics;

/* Events of the task state machine (see task.c and docs/ARCHITECTURE.md). */
typedef enum task_event {
	EV_START_OK,
	EV_START_FAILED,
	EV_EXITED,
	EV_TIMEOUT,
	EV_CANCEL,
	EV_GRACE_END,
	EV_VIOLATION, /* a denied system call or the output limit: killed at once */
	EV__COUNT,
} task_event;

struct art_task {
	atomic_uint refs;
	art_runtime *rt;
	art_spec *spec;
	void *userdata;
	art_task_state state;
	art_end stop_reason; /* ART_END_TIMEOUT or ART_END_CANCELLED while stopping */
	list_node link; /* rt->inbox, rt->queued or rt->running */
	pid_t pid;
	int pidfd;
	loop_watch pid_watch;
	loop_timer timer; /* the timeout, then the grace */
	int stdin_fd;     /* ART_STDIN_PIPE: our write end */
	task_output out[2];
	art_result result;

	/* Isolation (isolation.c). */
	cg_task *cg;
	int report_fd;          /* ART_SANDBOX_FULL: messages from the init */
	loop_watch report_watch; /* for EXITED, which comes before the init's end */
	bool report_exited;     /* EXITED came: report_status is the task's */
	int report_status;
	struct teardown *teardown; /* between iso_exited_early and iso_exited */
	int seccomp_fd;         /* the seccomp listener */
	loop_watch seccomp_watch;
	int violation;          /* -1, or ART_LIMIT_OUTPUT / VIOLATION_SECCOMP */
	int seccomp_nr;
	ws_dirs ws;
	ws_change *changes;
	size_t n_changes;
	art_change *result_changes;
	cg_usage usage;
	bool has_usage;
	struct warm_sandbox *warm; /* a prepared sandbox, between iso_prepare and iso_spawn */

	/* Scheduling (schedule.c). A QUEUED task is on rt->queued, and in the
	 * scheduler (se.state QUEUED) once its dependencies are met. */
	sched_entry se;
	depgraph_node *node; /* NULL: no id and no dependencies */
	task_dep_state dep;  /* written by depgraph callbacks */
	char *skip_reason;
	bool drained;        /* the loop has taken it from the inbox */
	bool held;           /* drained, waiting for its dependencies */
	list_node dep_link;  /* rt->dep_changed */
	int64_t ready_ns;    /* when its dependencies were met (in the scheduler) */
	/* Supervision (supervision.c, health.c). */
	struct supervisor *sup;     /* NULL: no restart policy, probe or notify */
	loop_timer backoff_timer;   /* a restart due after its backoff */
	uint64_t breaker_ticket;    /* a half-open breaker's trial, else 0 */
	struct task_health *health; /* probe, notify channel, watchdog (health.c) */
	int notify_child_fd;        /* the channel's write end for the child, or -1 */
	art_end kill_reason;        /* ART_END_UNHEALTHY / _WATCHDOG while stopping for it */

	bool frozen;           /* for an urgent task (preemption) */
	bool paused;           /* by art_task_pause */
	bool stopped;          /* its processes are frozen or SIGSTOPped now */
	bool frozen_by_signal; /* SIGSTOP, not the cgroup freezer */
	int64_t frozen_since;
	int64_t timeout_left; /* frozen: what was left of the timeout */

	/* Monitoring and events (sample.c, events.c). */
	int64_t sample_ns;     /* when the last sample was taken (first: the start) */
	int64_t sample_cpu_ns; /* the CPU time read then */
	const char *ev_state;  /* the state the last "state" event named */

	rtm_task metrics; /* rt_metrics.c */
	struct task_session *session; /* session.c; NULL unless spec.session */
};

#define VIOLATION_SECCOMP (-2)

typedef struct orphan {
	list_node link;
	loop_watch watch; /* on the pidfd */
	pid_t pid;
	art_runtime *rt;
} orphan;

typedef struct fd_watch {
	list_node link;
	loop_watch watch;
	art_fd_fn fn;
	void *userdata;
	art_runtime *rt;
} fd_watch;

/* A request about one task from another thread. */
typedef enum task_req_op {
	TASK_REQ_CANCEL,
	TASK_REQ_PAUSE,
	TASK_REQ_RESUME,
} task_req_op;

typedef struct cancel_req {
	list_node link;
	art_task *task; /* holds a reference */
	task_req_op op;
} cancel_req;

/* art_task_stats_get from another thread: answered by the loop. */
typedef struct stats_req {
	list_node link;
	art_task *task;
	art_task_stats *out;
	bool done;
} stats_req;

/* art_task_set_limit from another thread: answered by the loop. */
typedef struct limit_req {
	list_node link;
	art_task *task;
	art_limit limit;
	uint64_t value;
	art_error err;
	int result;
	bool done;
} limit_req;

struct art_runtime {
	art_runtime_config cfg;
	loop *loop;
	pthread_t loop_thread;
	bool in_loop;

	/* Filled by any thread under mu, drained by the loop. */
	pthread_mutex_t mu;
	list_node inbox;   /* submitted tasks */
	list_node cancels; /* cancel_req */
	list_node ctls;    /* ctl_req */
	list_node stat_reqs; /* stats_req, answered under mu */
	list_node limit_reqs; /* limit_req, answered under mu */
	list_node session_kicks; /* session.c: tasks with lines queued by art_task_send */
	pthread_cond_t stats_done; /* a stats_req or limit_req was answered */
	atomic_bool req_cancel_all, req_finish, req_stop;
	atomic_uint req_max_running; /* 0: no change requested */
	atomic_uint req_warm;        /* REQ_WARM_NONE: no change requested */

	list_node queued;  /* QUEUED tasks: waiting for dependencies or in the scheduler */
	list_node running; /* RUNNING and STOPPING tasks (frozen ones too) */
	list_node orphans;
	list_node watches;
	intset child_pids; /* leaders and orphans we reap: everything else is swept */

	unsigned max_running;
	unsigned n_running, n_queued;
	art_runtime_stats stats;

	int devnull;
	pid_t pid;                /* ours, fixed for the runtime's life */
	struct rlimit own_nofile; /* our RLIMIT_NOFILE when the runtime was made */
	void *spawn_stack;
	pool chunks;
	char *scratch; /* one read of output lands here first */
	size_t scratch_size;
	list_node graveyard; /* tasks done this iteration, unref'd after it */
	list_node dead_watches;
	list_node ended; /* leaders reaped, waiting for the orphan sweep */

	/* Isolation, set up when a task first needs it. */
	cg_root *cg;
	bool cg_tried;
	sc_cache *seccomp;
	void *notif_buf;
	size_t notif_size;
	uint64_t serial; /* names task cgroups and workspaces */
	list_node warm;      /* prepared sandboxes (warm.c) */
	list_node teardowns; /* inits of ended sandboxes, still exiting */
	list_node dead_warm; /* dropped ones, freed after the iteration */
	unsigned n_warm;
	/* Scheduling (schedule.c). */
	sched *sched;
	pthread_mutex_t graph_mu; /* the dependency graph: submitters and the loop */
	depgraph *graph;
	depgraph_node **history; /* ended nodes, oldest first, forgotten beyond DEP_HISTORY */
	size_t history_head, history_len;
	uint64_t internal_ids;
	list_node dep_changed; /* drained tasks whose dependencies were decided */
	loop_timer sched_timer; /* a rate limit's next token, or the next pressure check */
	int64_t pressure_checked;
	bool admission, preempt;
	struct breaker_set *breakers; /* NULL until a breaker is configured */
	uint64_t rng;                 /* the backoff's jitter (supervision.c) */
	bool no_retries; /* shutting down */
	unsigned n_frozen, n_held;
	uint64_t drained; /* submissions taken from the inbox */
	uid_t sandbox_uid; /* the sandbox's root as the host sees it */
	gid_t sandbox_gid;
	int last_cap;
	/* Monitoring and events (sample.c, events.c). */
	loop_timer sample_timer; /* one tick samples every running task */
	int64_t sample_due;      /* the tick the timer is armed for */
	int64_t ns_per_tick;     /* /proc's clock ticks */
	uint64_t page_size;
	jsonw ev;                /* every event is formatted here */
	rt_metrics *metrics; /* rt_metrics.c; made with the runtime, fixed */
};

#define REQ_WARM_NONE UINT32_MAX

/* task.c */
int task_new(art_runtime *rt, const art_spec *spec, void *userdata, art_task **out);
void task_dispatch(art_task *t, task_event ev);
void task_start(art_task *t);
void task_kill_now(art_task *t);
void task_reap_blocking(art_task *t);
void task_free(art_task *t);

void task_violation(art_task *t, int what);
/* Preemption: stops a running task where it is (cgroup freezer, else
 * SIGSTOP of its group), its timeout suspended; and back. */
void task_freeze(art_task *t, int64_t now);
/* Also for a task about to be signalled or to end: a frozen one would
 * not act on the signal. The scheduler is not told (nor needs to be). */
void task_thaw(art_task *t, int64_t now);
/* art_task_pause / art_task_resume, on the loop thread. A paused task
 * keeps its slot; preemption and pausing stop it for their own reasons and
 * it runs again when neither holds. */
void task_pause(art_task *t, int64_t now, bool paused);
/* Before a signal: running again, whoever stopped it. */
void task_wake_for_signal(art_task *t, int64_t now);

/* control.c */
void control_apply(art_runtime *rt, cancel_req *c);
void control_answer_stats(art_runtime *rt, list_node *reqs);
void control_answer_limits(art_runtime *rt, list_node *reqs);
void control_stats(art_task *t, art_task_stats *out);
/* Back to QUEUED for another try: what the last one held is released. */
void task_reset_for_retry(art_task *t);

/* isolation.c */
void iso_init(art_task *t);
/* Creates the cgroup (LIMITS and up) and fills result.unenforced. */
int iso_prepare(art_task *t, art_stage *stage);
/* For LIMITS: the cgroup.procs descriptors the child joins. */
int iso_cgroup_fds(art_task *t, int *fds, int max);
/* ART_SANDBOX_FULL: builds the view and starts the sandbox. */
int iso_spawn(art_task *t, const spawn_params *base, spawn_failure *fail);
/* The task has ended and its init is exiting: takes the init's pidfd
 * (and, after iso_exited, the cgroup) for a teardown in the background
 * and fills si. false when the leader must be reaped as usual. */
bool iso_exited_early(art_task *t, siginfo_t *si);
/* After the leader was reaped (or iso_exited_early): the task's own
 * status, cgroup usage, the end reason, the workspace's fate. */
void iso_exited(art_task *t, siginfo_t *si);
/* Then, once the result has the basics: cgroup usage, the end reason. */
void iso_classify(art_task *t);
void iso_release(art_task *t);
void iso_runtime_free(art_runtime *rt);
/* Reaps the inits still exiting (blocking; they have been killed). */
void iso_teardowns_free(art_runtime *rt);
/* Changes a cgroup limit of a running task (art_task_set_limit). */
int iso_set_limit(art_task *t, art_limit limit, uint64_t value, art_error *err);
/* The task cgroup for s's limits; *out NULL when cgroups are unusable. */
int iso_make_cgroup(art_runtime *rt, const art_spec *s, cg_task **out, art_error *err);
/* Everything a sandbox for sb needs; plan owns what p->mounts points to. */
struct view_plan;
struct isolate_params;
int iso_sandbox_params(art_runtime *rt, const spec_sandbox *sb, const ws_dirs *ws, cg_task *cg,
		       const spawn_params *base, struct view_plan *plan, struct isolate_params *p,
		       art_stage *stage, art_error *err);

/* warm.c: sandboxes prepared ahead (config.warm_sandboxes). */
typedef struct warm_sandbox warm_sandbox;
struct isolate_proc;
struct isolate_failure;
bool warm_eligible(const art_runtime *rt, const art_spec *s);
/* After a task like s started: prepares sandboxes for the next ones. */
void warm_refill(art_runtime *rt, const art_spec *s);
/* A prepared sandbox for s, out of the pool (ready or still setting up). */
warm_sandbox *warm_take(art_runtime *rt, const art_spec *s);
cg_task *warm_take_cgroup(warm_sandbox *w);
/* Runs the task (spec s) in w and frees w: 0 with *out, -EAGAIN when w
 * could not be used (start the task cold), or the task's start failure.
 * Prepares the next sandbox while the task execs. */
int warm_launch(art_runtime *rt, warm_sandbox *w, const art_spec *s, const spawn_params *task,
		struct isolate_proc *out, struct isolate_failure *fail);
void warm_free(warm_sandbox *w);
void warm_free_all(art_runtime *rt);
/* Drops every prepared sandbox (from the loop, events may be pending). */
void warm_drop_all(art_runtime *rt);
/* Frees the ones dropped during the loop's last batch. */
void warm_bury(art_runtime *rt);

/* output.c */
void output_init(task_output *o);
int output_open(art_runtime *rt, art_task *t, int stream, int *child_fd);
void output_drain(art_runtime *rt, art_task *t, int stream);
void output_finish(art_runtime *rt, task_output *o);
void output_release(art_runtime *rt, task_output *o);

/* schedule.c */
int schedule_init(art_runtime *rt);
void schedule_free(art_runtime *rt);
/* Stages and commits the tasks' dependencies as one batch. */
int schedule_submit(art_runtime *rt, art_task **tasks, size_t n, art_error *err);
/* A task taken from the inbox. */
void schedule_drained(art_runtime *rt, art_task *t, int64_t now);
/* Starts what may start: thaws, starts, preempts; arms the timer. */
void schedule_start(art_runtime *rt);
/* Back to QUEUED for another run (restart, retry), not yet in the
 * scheduler; then into it. */
void schedule_requeue(art_runtime *rt, art_task *t);
void schedule_enqueue_now(art_runtime *rt, art_task *t);
/* The task ends (before on_exit): the scheduler and the graph learn it.
 * false: it runs again (a retry) and is not reported. */
bool schedule_task_end(art_runtime *rt, art_task *t);
void schedule_ctl(art_runtime *rt, ctl_req *c);
void schedule_set_max_running(art_runtime *rt, unsigned n);
/* A frozen task about to be signalled: thawed first, or the signal waits. */
void schedule_unfreeze(art_task *t);
void schedule_task_free(art_task *t);

/* rt_metrics.c: the runtime's metrics (docs/metrics.md). The loop thread
 * calls these, except rtm_submitted (any thread); art_runtime_metrics
 * exposes them from any thread. */
int rtm_new(art_runtime *rt);
void rtm_free(art_runtime *rt);
void rtm_submitted(art_runtime *rt, size_t n);
/* Drained from the inbox. */
void rtm_task_queued(art_runtime *rt, art_task *t);
void rtm_task_started(art_runtime *rt, art_task *t);
/* A try ended and another follows (before the result is reset). */
void rtm_task_retry(art_runtime *rt, art_task *t);
/* The task is reported (its result is final). */
void rtm_task_ended(art_runtime *rt, art_task *t);
/* At the end of each iteration: mirrors what the loop keeps in plain fields. */
void rtm_sync(art_runtime *rt);
/* A kind's breaker changed state (0 closed, 1 open, 2 half-open). */
void rtm_breaker_state(art_runtime *rt, const char *kind, int state);

/* sample.c: per-task samples every config.sample_interval_ns. */
/* The task has started: takes its baseline, makes sure the tick runs. */
void sample_task_started(art_task *t);
/* Stops the tick; frees the event buffer too. */
void sample_runtime_free(art_runtime *rt);

/* events.c: config.on_event, called on the loop thread. */
typedef struct task_sample task_sample;
/* What the task uses now (cgroup, else /proc), and its CPU time so far. */
void sample_read(art_task *t, task_sample *s, int64_t *cpu_ns);
struct task_sample {
	double cpu_pct;
	uint64_t rss_bytes;
	unsigned procs;
	bool have_io;
	uint64_t io_read_bytes, io_write_bytes;
};
static inline bool events_on(const art_runtime *rt)
{
	return rt->cfg.on_event != NULL;
}
void event_queued(art_task *t);
void event_started(art_task *t);
/* A "state" event from the state the last one named, unless it is `to`. */
void event_state(art_task *t, const char *to);
void event_output(art_task *t, int stream, const char *data, size_t len);
void event_sample(art_task *t, const task_sample *s);
void event_retry(art_task *t, art_end after);
void event_exited(art_task *t);

/* session.c: a task's JSON-lines channel (art_spec_set_session). Each
 * takes any task and does nothing for one without a session. */
typedef struct task_session task_session;
int session_new(art_task *t);
void session_free(art_task *t);
/* At the start: the stdin pipe, our end nonblocking; what was sent while
 * the task waited starts flowing. */
int session_open_stdin(art_task *t, int *child_fd);
/* Bytes read from the task's stdout, cut into lines for on_message; data
 * is changed (each newline becomes a NUL). */
void session_input(art_task *t, char *data, size_t len);
/* Stdout ended: a last line without a newline is delivered. */
void session_input_end(art_task *t);
/* The try ended: the channel is closed for good (the task is done), or
 * emptied for the next try (retry). */
void session_end(art_task *t);
void session_retry(art_task *t);
void session_close_stdin(art_task *t);
/* From drain_inbox: writes what other threads queued. */
void session_drain(art_runtime *rt);
void session_runtime_free(art_runtime *rt);

/* supervision.c: restart policies and breakers (src/supervise) driven
 * from the task's events. */
struct breaker_set;
int supervision_task_new(art_task *t);
void supervision_task_free(art_task *t);
/* The task's process started: STARTED, and READY when nothing else says. */
void supervision_started(art_task *t);
/* READY, UNHEALTHY or WATCHDOG_MISSED, from health.c. */
void supervision_event(art_task *t, supervise_event ev);
/* From schedule_task_end, after the scheduler's bookkeeping: false when the
 * task runs again (now or after its backoff) and is not to be reported. */
bool supervision_task_end(art_runtime *rt, art_task *t);
/* false: the kind's breaker is open, the new task is turned away. */
bool supervision_admit(art_runtime *rt, art_task *t);
/* Each run's outcome, for its kind's breaker. */
void supervision_record(art_runtime *rt, art_task *t);
int supervision_configure_breaker(art_runtime *rt, const char *kind, const breaker_config *cfg);

/* health.c: the notify channel ($AGENTRT_NOTIFY_FD), the watchdog and the
 * exec probe of a task whose spec asks for them. */
/* Before the spawn: the channel's pipe; t->notify_child_fd is the end the
 * child keeps (above 2 here; the child gets it as SPAWN_KEEP_FD, 3). A
 * sandbox (level full) with notify or watchdog: -EOPNOTSUPP, not yet. */
int health_prepare(art_task *t);
/* After the spawn: the channel's watch, the watchdog and probe timers. */
void health_started(art_task *t);
/* At the end of a run: everything above stopped and released (a probe
 * still running is killed and reaped). Safe to call more than once. */
void health_stopped(art_task *t);
/* From task_free: health_stopped and the memory. Not earlier: the loop may
 * still hold events for the watches inside it (docs/ARCHITECTURE.md). */
void health_free(art_task *t);

/* runtime.c */
void runtime_task_done(art_runtime *rt, art_task *t);
void runtime_sweep_orphans(art_runtime *rt, bool all_threads);
void runtime_flush_ended(art_runtime *rt);

#endif
