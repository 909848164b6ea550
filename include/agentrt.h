/* SPDX-License-Identifier: MIT */
/*
 * agentrt.h - the public interface of libagentrt.
 *
 * libagentrt runs many concurrent tasks (processes) under limits, tracks each
 * by pidfd, and reports how each ended and what it used.
 *
 * Conventions:
 *  - Every function that can fail returns 0 (or a non-negative value where
 *    documented) on success and a negative errno on failure. When an
 *    art_error is passed, it receives the code and a message with context.
 *    Output parameters are untouched on failure.
 *  - The library never prints, never exits and keeps no global state.
 *  - Objects are opaque. Ownership is stated at each function.
 *
 * Threads: one art_runtime owns one event loop, driven by whichever thread
 * calls art_runtime_run() (the "loop thread"). Tasks are started from it
 * with PR_SET_PDEATHSIG, which Linux ties to the starting *thread*: the
 * thread that drives the loop must outlive the tasks it started, or they
 * are killed when it exits (use one long-lived thread per runtime). Functions marked
 * [any thread] may be called from any thread at any time; they hand their
 * work to the loop through a queue and an eventfd. All callbacks run on the
 * loop thread.
 */
#ifndef AGENTRT_H
#define AGENTRT_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ART_PUBLIC __attribute__((visibility("default")))
#else
#define ART_PUBLIC
#endif

#define ART_VERSION_MAJOR 0
#define ART_VERSION_MINOR 1
#define ART_VERSION_PATCH 0
#define ART_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- errors */

#define ART_ERROR_MSG_MAX 512

/* A plain struct so that callers can keep one on the stack. `code` is the
 * negative errno that the failing call returned; `msg` reads like
 * "limits.memory: \"12Q\" is not a size". */
typedef struct art_error {
	int code;
	char msg[ART_ERROR_MSG_MAX];
} art_error;

/* Sets err (if not NULL) and returns code, for `return art_error_set(...)`. */
ART_PUBLIC int art_error_set(art_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepends context, e.g. "line 4: ", to an error's message. */
ART_PUBLIC void art_error_prefix(art_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
ART_PUBLIC void art_error_clear(art_error *err);

/* ------------------------------------------------------------- units */

/* "512M", "1.5G", "4096", "64k" (powers of 1024; a trailing "B"/"iB" is
 * accepted). Returns -EINVAL if text is not a size, -ERANGE on overflow. */
ART_PUBLIC int art_parse_size(const char *text, uint64_t *out);
/* "30s", "250ms", "1.5m", "2h", "100us", "10ns"; a bare number is seconds.
 * Result in nanoseconds. */
ART_PUBLIC int art_parse_duration(const char *text, int64_t *out_ns);

/* ------------------------------------------------------------- task spec */

typedef struct art_spec art_spec;

typedef enum art_env_mode {
	ART_ENV_INHERIT = 0, /* the runtime's environment, then the set values */
	ART_ENV_CLEAR,       /* only the set values */
	ART_ENV_ALLOW,       /* only inherited names on the allow-list, then set values */
} art_env_mode;

typedef enum art_stdin_mode {
	ART_STDIN_NULL = 0, /* /dev/null */
	ART_STDIN_INHERIT,  /* the runtime's own stdin */
	ART_STDIN_BYTES,    /* a given buffer, then EOF */
	ART_STDIN_FILE,     /* a file opened read-only */
	ART_STDIN_PIPE,     /* a pipe whose write end the caller gets (art_task_stdin_fd) */
} art_stdin_mode;

typedef enum art_output_mode {
	ART_OUTPUT_CAPTURE = 0, /* a pipe; the last `cap` bytes kept; on_output called */
	ART_OUTPUT_DISCARD,     /* /dev/null */
	ART_OUTPUT_INHERIT,     /* the runtime's own descriptor */
	ART_OUTPUT_FILE,        /* a file (created, truncated unless append) */
} art_output_mode;

typedef enum art_limit {
	/* rlimits, applied to the task's first process and inherited */
	ART_LIMIT_ADDRESS_SPACE = 0, /* RLIMIT_AS, bytes */
	ART_LIMIT_CPU_TIME,          /* RLIMIT_CPU, seconds (rounded up) */
	ART_LIMIT_NOFILE,            /* RLIMIT_NOFILE */
	ART_LIMIT_NPROC,             /* RLIMIT_NPROC (per user, as the kernel counts it) */
	ART_LIMIT_FILE_SIZE,         /* RLIMIT_FSIZE, bytes */
	ART_LIMIT_CORE,              /* RLIMIT_CORE, bytes */
	/* cgroup limits, for the task's whole tree (they need a cgroup: setting
	 * one makes the task's level at least ART_SANDBOX_LIMITS) */
	ART_LIMIT_MEMORY,      /* bytes: memory.max / memory.limit_in_bytes */
	ART_LIMIT_MEMORY_HIGH, /* bytes: throttling above it (v1: the soft limit) */
	ART_LIMIT_SWAP,        /* bytes of swap on top of memory */
	ART_LIMIT_CPU,         /* thousandths of a CPU: 1500 = 1.5 CPUs */
	ART_LIMIT_CPU_WEIGHT,  /* 1..10000, default 100 */
	ART_LIMIT_PIDS,        /* processes and threads */
	ART_LIMIT_IO_WEIGHT,   /* 1..10000, default 100, where the kernel offers it */
	/* enforced by the runtime */
	ART_LIMIT_OUTPUT,      /* bytes of captured stdout + stderr; the task is killed beyond */
	ART_LIMIT__COUNT,
} art_limit;

/* "memory", "cpu_time", "pids", ...: the spec's names. */
ART_PUBLIC const char *art_limit_name(art_limit limit);

typedef enum art_sandbox_level {
	ART_SANDBOX_NONE = 0, /* the runtime's own view of the system; rlimits only */
	ART_SANDBOX_LIMITS,   /* plus a cgroup per task */
	ART_SANDBOX_FULL,     /* plus namespaces, a filesystem view, seccomp, no
			       * capabilities, a scrubbed environment (docs/sandbox.md) */
} art_sandbox_level;

typedef enum art_workspace_changes {
	ART_WORKSPACE_DISCARD = 0, /* the task's changes are thrown away */
	ART_WORKSPACE_KEEP,        /* kept as a directory (the overlay's upper layer) */
	ART_WORKSPACE_LIST,        /* listed in the result, then thrown away */
} art_workspace_changes;

#define ART_STREAM_STDOUT 1
#define ART_STREAM_STDERR 2

/* The default cap on captured output per stream. */
#define ART_OUTPUT_CAP_DEFAULT (64u * 1024u)

/* A spec describes one task. The runtime copies what it needs at submit, so
 * a spec may be changed or freed after art_runtime_submit() returns. */
ART_PUBLIC int art_spec_new(art_spec **out);
ART_PUBLIC void art_spec_free(art_spec *spec);
ART_PUBLIC int art_spec_clone(const art_spec *spec, art_spec **out);

ART_PUBLIC int art_spec_set_id(art_spec *spec, const char *id);
ART_PUBLIC const char *art_spec_id(const art_spec *spec);
/* argv is NULL-terminated; argv[0] is looked up in PATH when it has no '/'. */
ART_PUBLIC int art_spec_set_argv(art_spec *spec, const char *const *argv);
ART_PUBLIC int art_spec_set_env_mode(art_spec *spec, art_env_mode mode);
/* Adds a name to the allow-list (ART_ENV_ALLOW). A trailing '*' matches a prefix. */
ART_PUBLIC int art_spec_env_allow(art_spec *spec, const char *name);
/* Sets NAME=VALUE in the task's environment; value NULL unsets NAME. */
ART_PUBLIC int art_spec_env_set(art_spec *spec, const char *name, const char *value);
ART_PUBLIC int art_spec_set_cwd(art_spec *spec, const char *path);
/* data/len for ART_STDIN_BYTES (copied), path for ART_STDIN_FILE. */
ART_PUBLIC int art_spec_set_stdin(art_spec *spec, art_stdin_mode mode,
				  const void *data, size_t len, const char *path);
/* stream is ART_STREAM_STDOUT or ART_STREAM_STDERR. cap applies to
 * ART_OUTPUT_CAPTURE (0 keeps nothing; on_output still sees every chunk);
 * path and append apply to ART_OUTPUT_FILE. */
ART_PUBLIC int art_spec_set_output(art_spec *spec, int stream, art_output_mode mode,
				   size_t cap, const char *path, int append);
/* 0 means none. The timeout counts from the start of the process. */
ART_PUBLIC int art_spec_set_timeout(art_spec *spec, int64_t ns);
/* Time between SIGTERM and SIGKILL when the task is stopped. Default 5s. */
ART_PUBLIC int art_spec_set_grace(art_spec *spec, int64_t ns);
ART_PUBLIC int art_spec_set_limit(art_spec *spec, art_limit limit, uint64_t value);
ART_PUBLIC int art_spec_set_label(art_spec *spec, const char *key, const char *value);

/* Isolation (docs/sandbox.md). Without a level, a task runs at
 * ART_SANDBOX_NONE, or ART_SANDBOX_LIMITS if it sets a cgroup limit. The
 * view, network, seccomp and capability settings apply at ART_SANDBOX_FULL. */
ART_PUBLIC int art_spec_set_sandbox(art_spec *spec, art_sandbox_level level);
ART_PUBLIC art_sandbox_level art_spec_sandbox(const art_spec *spec);
/* 1: share the host's network; 0 (default): a namespace with only loopback. */
ART_PUBLIC int art_spec_set_network_host(art_spec *spec, int host);
ART_PUBLIC int art_spec_set_hostname(art_spec *spec, const char *hostname);
/* A directory to use as the root instead of the host's (read-only). */
ART_PUBLIC int art_spec_set_rootfs(art_spec *spec, const char *path);
/* Makes host path `source` visible at `target` (absolute, inside);
 * read-only unless writable. Always nosuid and nodev. */
ART_PUBLIC int art_spec_add_bind(art_spec *spec, const char *source, const char *target,
				 int writable);
/* A tmpfs at target; size 0: 64 MiB. */
ART_PUBLIC int art_spec_add_tmpfs(art_spec *spec, const char *target, uint64_t size);
/* The size of the private /tmp (default 64 MiB). */
ART_PUBLIC int art_spec_set_tmp_size(art_spec *spec, uint64_t size);
/* A copy-on-write clone of host directory `base` at `target` (NULL:
 * "/workspace"), which also becomes the default working directory. */
ART_PUBLIC int art_spec_set_workspace(art_spec *spec, const char *base, const char *target,
				      art_workspace_changes changes);
/* "default" (also when never set), "strict" or "none". */
ART_PUBLIC int art_spec_set_seccomp(art_spec *spec, const char *profile);
/* System calls taken off the profile's deny list, or added to it. */
ART_PUBLIC int art_spec_seccomp_allow(art_spec *spec, const char *syscall);
ART_PUBLIC int art_spec_seccomp_deny(art_spec *spec, const char *syscall);
/* Lets the task make user namespaces of its own (denied by default). */
ART_PUBLIC int art_spec_set_allow_userns(art_spec *spec, int allow);
/* Keeps one capability ("net_bind_service", "CAP_NET_RAW"); all others
 * are dropped. -EINVAL for an unknown name. */
ART_PUBLIC int art_spec_add_cap(art_spec *spec, const char *name);
/* Scheduling (docs/scheduling.md). */
typedef enum art_priority {
	ART_PRIORITY_LOW = 0,
	ART_PRIORITY_NORMAL, /* the default */
	ART_PRIORITY_HIGH,
	ART_PRIORITY_CRITICAL,
	ART_PRIORITY_EMERGENCY,
} art_priority;

ART_PUBLIC const char *art_priority_name(art_priority priority); /* "low", ... */
ART_PUBLIC int art_priority_from_name(const char *name, art_priority *out);
/* The class, and the order within it (higher first; default 0). A task
 * that waits rises one class per aging step (config.aging_step_ns). */
ART_PUBLIC int art_spec_set_priority(art_spec *spec, art_priority priority, int order);
ART_PUBLIC art_priority art_spec_priority(const art_spec *spec, int *order);
/* Fair share, caps and rates apply per group (a tenant, a crew, an agent)
 * and per kind ("fetch", "build": caps, rates and learnt requests). NULL:
 * "default". 1..128 printable bytes. */
ART_PUBLIC int art_spec_set_group(art_spec *spec, const char *group);
ART_PUBLIC const char *art_spec_group(const art_spec *spec);
ART_PUBLIC int art_spec_set_kind(art_spec *spec, const char *kind);
ART_PUBLIC const char *art_spec_kind(const art_spec *spec);

typedef enum art_dep_condition {
	ART_DEP_OK = 0, /* the dependency must succeed (the default) */
	ART_DEP_ANY,    /* it must end, however */
	ART_DEP_FAILED, /* it must fail or be cancelled */
} art_dep_condition;

/* The task starts only once the task with this id has ended as required;
 * when that can no longer happen, it ends as ART_END_SKIPPED. The id must
 * name a task submitted before, or in the same art_runtime_submit_batch. */
ART_PUBLIC int art_spec_add_dependency(art_spec *spec, const char *id, art_dep_condition cond);
ART_PUBLIC size_t art_spec_dependency_count(const art_spec *spec);
ART_PUBLIC int art_spec_dependency_at(const art_spec *spec, size_t i, const char **id,
				      art_dep_condition *cond);
/* What the task needs while it runs, for admission: thousandths of a CPU
 * and bytes; -1 leaves one undeclared (then it is learnt per kind). */
ART_PUBLIC int art_spec_set_requests(art_spec *spec, int64_t cpu_milli, int64_t memory_bytes);
/* Runs a task that failed (not cancelled, not skipped) up to this many
 * more times before it is reported; dependents wait for the last try. */
ART_PUBLIC int art_spec_set_retries(art_spec *spec, unsigned retries);
ART_PUBLIC unsigned art_spec_retries(const art_spec *spec);
/* Sessions (docs/sessions.md): 1 makes the task a long-running peer spoken
 * to in JSON lines. Its stdin is a pipe the runtime writes (art_task_send)
 * and its stdout is read line by line (config.on_message), whatever the
 * spec's stdin and stdout settings say. */
ART_PUBLIC int art_spec_set_session(art_spec *spec, int session);
ART_PUBLIC int art_spec_session(const art_spec *spec);

/* Supervision (docs/supervision.md). policy "never" (default),
 * "on-failure" or "always"; at most max_restarts restarts within window_ns
 * (0 keeps the default 10 min; max_restarts 0: no limit), beyond which the
 * task ends as ART_END_GAVE_UP. A stop by request never restarts. */
ART_PUBLIC int art_spec_set_restart(art_spec *spec, const char *policy, unsigned max_restarts,
				    int64_t window_ns);
/* "fixed:5s", "linear:1s:30s", "exponential:1s:60s" (the default); the
 * jitter (0..1, default 0.1) only shortens a delay. */
ART_PUBLIC int art_spec_set_backoff(art_spec *spec, const char *backoff, double jitter);
/* A run that stayed up this long resets the backoff (default 10 min; 0: never). */
ART_PUBLIC int art_spec_set_restart_reset(art_spec *spec, int64_t ns);
/* An exit code (0..255) that counts as success besides 0. */
ART_PUBLIC int art_spec_add_success_exit_code(art_spec *spec, int code);
/* An exec probe run every interval (default 10 s) with a timeout (5 s); the
 * task is unhealthy after `failures` (3) failures in a row, and is then
 * stopped (and restarted under its policy). The first passing probe makes
 * it ready. 0 keeps a default. */
ART_PUBLIC int art_spec_set_health(art_spec *spec, const char *const *argv, int64_t interval_ns,
				   int64_t timeout_ns, unsigned failures);
/* The task writes "READY=1", "WATCHDOG=1", "STATUS=..." lines to the
 * descriptor named in $AGENTRT_NOTIFY_FD. With a watchdog, a task that
 * sends no WATCHDOG=1 for that long is stopped as failed. */
ART_PUBLIC int art_spec_set_notify(art_spec *spec, int on);
ART_PUBLIC int art_spec_set_watchdog(art_spec *spec, int64_t ns);

/* Read access, used by front ends that report on a spec. */
ART_PUBLIC size_t art_spec_label_count(const art_spec *spec);
ART_PUBLIC int art_spec_label_at(const art_spec *spec, size_t i, const char **key,
				 const char **value);
ART_PUBLIC const char *const *art_spec_argv(const art_spec *spec);
ART_PUBLIC const char *art_spec_cwd(const art_spec *spec);
ART_PUBLIC int64_t art_spec_timeout(const art_spec *spec); /* 0: none */
ART_PUBLIC const char *art_spec_stdin_path(const art_spec *spec);
ART_PUBLIC const char *art_spec_output_path(const art_spec *spec, int stream);

/* ------------------------------------------------------------- results */

typedef enum art_end {
	ART_END_NONE = 0,     /* not ended yet */
	ART_END_EXITED,       /* exit_code is set */
	ART_END_SIGNALED,     /* term_signal is set */
	ART_END_TIMEOUT,      /* the timeout passed; the task was stopped */
	ART_END_CANCELLED,    /* cancelled by request (before or after it started) */
	ART_END_START_FAILED, /* start_errno and start_stage are set */
	ART_END_OOM_KILLED,   /* the kernel's OOM killer ended it (its cgroup's memory limit) */
	ART_END_SECCOMP,      /* it made a denied system call: seccomp_syscall names it */
	ART_END_LIMIT,        /* it hit `limit`: cpu_time, pids, file_size or output */
	ART_END_SKIPPED,      /* never started: a dependency ended the wrong way (skip_reason) */
	ART_END_GAVE_UP,      /* its restart policy gave up: too many restarts in the window;
			       * exit_code/term_signal are the last run's */
	ART_END_CIRCUIT_OPEN, /* never started: its kind's circuit breaker is open */
	ART_END_UNHEALTHY,    /* stopped: its health probe failed (and it was not restarted) */
	ART_END_WATCHDOG,     /* stopped: it stopped sending WATCHDOG=1 */
} art_end;

/* Where a start failed. */
typedef enum art_stage {
	ART_STAGE_NONE = 0,
	ART_STAGE_PREPARE, /* in the runtime, before the clone: opening files, pipes */
	ART_STAGE_CLONE,
	ART_STAGE_SETSID,
	ART_STAGE_STDIO,
	ART_STAGE_RLIMIT,
	ART_STAGE_PRCTL,
	ART_STAGE_CHDIR,
	ART_STAGE_SIGNALS,
	ART_STAGE_EXEC,
	ART_STAGE_STDIN,  /* opening the stdin file (or memfd, pipe) */
	ART_STAGE_STDOUT, /* opening the stdout file or pipe */
	ART_STAGE_STDERR,
	ART_STAGE_CGROUP,    /* creating the task's cgroup or joining it */
	ART_STAGE_USERNS,    /* the uid/gid maps, switching to the inside ids */
	ART_STAGE_NAMESPACE, /* creating a namespace */
	ART_STAGE_HOSTNAME,
	ART_STAGE_NETWORK,   /* bringing up loopback */
	ART_STAGE_MOUNT,     /* building the filesystem view (start_detail names the mount) */
	ART_STAGE_PIVOT,     /* switching to the new root */
	ART_STAGE_CAPS,      /* dropping capabilities */
	ART_STAGE_SECCOMP,   /* installing the filter */
	ART_STAGE_WORKSPACE, /* preparing the workspace's directories */
	ART_STAGE_SANDBOX,   /* the sandbox's settings (a missing bind source, ...) */
} art_stage;

typedef struct art_change {
	const char *path; /* relative to the workspace */
	const char *kind; /* "added", "modified", "deleted", "replaced" */
} art_change;

typedef struct art_result {
	art_end end;
	int exit_code;   /* ART_END_EXITED; -1 otherwise */
	int term_signal; /* the signal that ended the process, if any (also for timeout/cancel) */
	int start_errno; /* ART_END_START_FAILED */
	art_stage start_stage;
	int pid;             /* informational only; 0 if it never started */
	int64_t queued_ns;   /* CLOCK_MONOTONIC at submit */
	int64_t started_ns;  /* CLOCK_MONOTONIC at spawn, 0 if never started */
	int64_t wall_ns;     /* spawn to reap */
	int64_t user_ns;     /* CPU time of the task and the children it waited for */
	int64_t system_ns;
	uint64_t max_rss_bytes;
	uint64_t stdout_bytes; /* bytes read from the task (capture mode) */
	uint64_t stderr_bytes;
	/* The last bytes of each captured stream (at most the cap); valid while
	 * the task object lives. Not NUL-terminated. */
	const char *stdout_tail;
	size_t stdout_tail_len;
	const char *stderr_tail;
	size_t stderr_tail_len;
	int stdout_truncated; /* more was written than the tail holds */
	int stderr_truncated;
	int orphans_killed;   /* processes that outlived the task's leader and were killed */

	art_sandbox_level level; /* the level it ran at */
	/* ART_END_SECCOMP: the denied call ("ptrace"); ART_END_LIMIT: which
	 * limit (art_limit). */
	char seccomp_syscall[32];
	art_limit limit;
	/* Bit (1 << art_limit) for each limit the spec set that was not
	 * enforced (no usable cgroup tree; art_runtime_limits_diagnostic says
	 * why). */
	uint32_t unenforced;
	/* From the task's cgroup, when it had one (usage_from_cgroup): then
	 * user_ns, system_ns and max_rss_bytes cover the whole tree. */
	int usage_from_cgroup;
	uint64_t oom_kills;
	uint64_t pids_peak;
	/* A detail of a start failure: the mount or path concerned. */
	char start_detail[ART_ERROR_MSG_MAX];
	/* ART_WORKSPACE_KEEP: where the changes are (the overlay's upper
	 * directory); ART_WORKSPACE_LIST: what changed. Valid while the task
	 * object lives. */
	const char *workspace_dir;
	const art_change *changes;
	size_t n_changes;

	/* Scheduling. */
	unsigned attempts;       /* times started (retries + 1); 0 if never */
	int64_t frozen_ns;       /* time spent frozen for an urgent task (preemption) */
	/* ART_END_SKIPPED: "dependency \"build\" failed (exit 1)". Valid
	 * while the task object lives. */
	const char *skip_reason;

	/* Monitoring (config.sample_interval_ns), of the last try: what the
	 * samples saw, from the task's cgroup when it has one, else from /proc
	 * (the leader and its descendants). All 0 when no sample was taken
	 * (sampling off, or the task ended before the first tick). */
	unsigned samples;        /* samples taken */
	uint64_t peak_rss_bytes; /* the most memory of the whole tree: with a
				  * cgroup, what is charged to it (what
				  * limits.memory counts, page cache included);
				  * else each process's RSS, summed */
	unsigned peak_procs;     /* the most processes at once */
	double peak_cpu_pct;     /* the highest CPU use over an interval; 100 is
				  * one CPU kept busy, 250 two and a half */
	/* Storage I/O (read_bytes/write_bytes of /proc/PID/io, the cgroup's
	 * io.stat or blkio counters) as of the last sample; 0 where it was
	 * unreadable. */
	uint64_t io_read_bytes, io_write_bytes;

	/* Supervision. */
	unsigned restarts;     /* times its restart policy started it again */
	int ready;             /* it became ready (READY=1, a passing probe, or no readiness check) */
	char status_text[128]; /* the last STATUS= it sent */
} art_result;

ART_PUBLIC const char *art_end_name(art_end end);     /* "exited", "timeout", ... */
ART_PUBLIC const char *art_stage_name(art_stage stage); /* "exec", "chdir", ... */
/* The exit status a timeout(1)-like front end should return: the exit code;
 * 128+N for signal N; 124 on timeout; 126 not executable; 127 not found;
 * 125 for other start failures; when cancelled, 128+N for the signal that
 * ended it, or 130 if none did. */
ART_PUBLIC int art_result_exit_status(const art_result *result);
/* A sentence for the ends that need one (oom_killed, seccomp, limit, a
 * start failure): "killed: system call ptrace is not allowed (seccomp)".
 * Returns buf, or NULL when there is nothing to say. */
ART_PUBLIC const char *art_result_message(const art_result *result, char *buf, size_t len);
/* 1 when the task exited with code 0. */
ART_PUBLIC int art_result_ok(const art_result *result);

/* ------------------------------------------------------------- runtime */

typedef struct art_runtime art_runtime;
typedef struct art_task art_task;

typedef void (*art_exit_fn)(art_runtime *rt, art_task *task, const art_result *result,
			    void *userdata);
typedef void (*art_output_fn)(art_runtime *rt, art_task *task, int stream,
			      const char *data, size_t len, void *userdata);
typedef void (*art_fd_fn)(art_runtime *rt, int fd, uint32_t events, void *userdata);
/* A line of a session task's stdout, without its newline; line[len] is 0,
 * and the line is valid during the call only. is_json: the line is one
 * well-formed JSON object; then id is its top-level "id" when that is a
 * string (decoded) or an integer (as written: "42"), else NULL. Other
 * lines come with is_json 0 and id NULL. A line longer than
 * ART_SESSION_LINE_MAX comes in pieces, each with is_json 0. */
typedef void (*art_message_fn)(art_runtime *rt, art_task *task, const char *line, size_t len,
			       int is_json, const char *id, void *userdata);
/* One event of a task (docs/metrics.md, "Events") as one JSON object on one
 * line, without the newline: {"ts":1700000000.123456,"event":"started",
 * "id":"build","pid":4242,"attempt":1}. json_line is valid during the call
 * only. The events of a task come in the order they happened. */
typedef void (*art_event_fn)(art_runtime *rt, art_task *task, const char *json_line,
			     void *userdata);

/* config.event_flags: "output" events too (each chunk of captured output;
 * they can be many). */
#define ART_EVENTS_OUTPUT (1u << 0)

#define ART_RT_KILL_ORPHANS (1u << 0)
/* A task whose limits cannot all be enforced fails to start (stage
 * "cgroup") instead of running with rlimits only. */
#define ART_RT_REQUIRE_LIMITS (1u << 1)
/* Admission by requests (declared, else learnt per kind): a task starts
 * only when what it needs fits the CPU and memory capacity that is free,
 * and none starts while memory is under pressure (docs/scheduling.md). */
#define ART_RT_ADMISSION (1u << 2)
/* An emergency or critical task that cannot start may freeze running low
 * ones (cgroup freezer, else SIGSTOP of the process group) until capacity
 * returns. */
#define ART_RT_PREEMPT (1u << 3)

typedef struct art_runtime_config {
	/* Tasks running at once; 0 means the number of online CPUs. */
	unsigned max_running;
	/* ART_RT_KILL_ORPHANS: this process has no children of its own besides
	 * the runtime's tasks (a CLI, a daemon). The runtime then becomes a
	 * child subreaper, each task's leader too, and whatever a task leaves
	 * behind (double-forked, setsid, daemonized processes) is killed and
	 * reaped when the task ends. Without it, only the task's process group
	 * is killed, and the runtime never touches a child it did not start,
	 * so it can live inside a host that reaps its own children. */
	unsigned flags;
	/* The RLIMIT_NOFILE soft limit tasks start with when their spec sets
	 * none; 0 keeps the runtime's own. A host that raised its own limit
	 * passes the original so tasks are not surprised by it. */
	uint64_t task_nofile_default;
	/* Where task cgroups go: NULL, a child "agentrt.<pid>" of the runtime's
	 * own cgroup; else that directory's child (v2: an absolute cgroup2
	 * path; v1: a path relative to each hierarchy's root). */
	const char *cgroup_parent;
	/* Where workspace upper layers are made; NULL: /tmp/agentrt-<uid>. */
	const char *workspace_dir;
	/* Sandboxes (ART_SANDBOX_FULL, without a workspace) kept prepared
	 * ahead for each sandbox configuration recently started: namespaces,
	 * filesystem view and cgroup are set up while nothing waits for them,
	 * and the next such task only sends its command. Each serves one
	 * task. One goes unused after 30 s. 0: none (each start builds its
	 * own sandbox). */
	unsigned warm_sandboxes;
	/* Scheduling (docs/scheduling.md). Capacity for admission:
	 * thousandths of a CPU and bytes; 0: the online CPUs, and the memory
	 * available when the runtime is made. */
	int64_t cpu_capacity;
	int64_t memory_capacity;
	/* A waiting task rises one priority class per step; 0: 10 s. */
	int64_t aging_step_ns;
	/* Admission pauses while the memory PSI "some avg10" is above this
	 * (percent; 0: 40), or where there is no PSI, while MemAvailable is
	 * below this fraction of MemTotal in thousandths (0: 50 = 5%). */
	unsigned pressure_psi_pct;
	unsigned pressure_min_available_permille;
	/* Ended tasks whose ids later tasks may still name in depends_on
	 * (about 200 bytes each); older ones are forgotten. 0: 65536. */
	unsigned dep_history;
	art_exit_fn on_exit;     /* when a task ends (always called once per task) */
	art_output_fn on_output; /* each chunk of captured output, as it arrives */
	/* Each line of a session task's stdout (on_output sees the bytes too). */
	art_message_fn on_message;
	/* Every running task is sampled at this interval (one timer for all):
	 * CPU, memory, processes, I/O; peaks go into the result and each
	 * sample is a "sample" event. 0: no sampling. */
	int64_t sample_interval_ns;
	art_event_fn on_event; /* the event stream; NULL: none */
	unsigned event_flags;  /* ART_EVENTS_* */
	void *userdata;
} art_runtime_config;

typedef struct art_runtime_stats {
	uint64_t submitted;
	uint64_t started;
	uint64_t ended;
	uint64_t start_failures;
	uint64_t cancelled;
	uint64_t timeouts;
	uint64_t orphans_killed;
	unsigned running;
	unsigned queued;
	uint64_t pool_hits;   /* output buffers served from the free list */
	uint64_t pool_misses; /* output buffers that had to be allocated */
	uint64_t pool_bytes;  /* bytes held by the pool, in use or free */
	uint64_t warm_starts; /* tasks started in a sandbox prepared ahead */
	unsigned warm_ready;  /* prepared sandboxes waiting (some may still be setting up) */
	uint64_t skipped;     /* tasks skipped for their dependencies */
	uint64_t retries;     /* failed tries run again */
	uint64_t restarts;    /* runs started again by a restart policy */
	uint64_t circuit_open; /* tasks turned away by an open breaker */
	uint64_t preemptions; /* tasks frozen for urgent ones */
	unsigned frozen;      /* tasks frozen now */
	unsigned held;        /* tasks waiting for dependencies */
	int pressure;         /* admission paused for memory pressure now */
} art_runtime_stats;

ART_PUBLIC int art_runtime_new(const art_runtime_config *config, art_runtime **out,
			       art_error *err);
/* Stops everything: every task is killed (SIGKILL to its process group),
 * every process reaped; returns when none is left. Not from a callback. */
ART_PUBLIC void art_runtime_free(art_runtime *rt);

/* [any thread] Queues a task. On success, *out (if not NULL) holds a
 * reference that the caller releases with art_task_unref(). `userdata` is
 * returned by art_task_userdata(). */
ART_PUBLIC int art_runtime_submit(art_runtime *rt, const art_spec *spec, void *userdata,
				  art_task **out, art_error *err);
/* Drives the loop on the calling thread until art_runtime_stop() or, when
 * art_runtime_finish() was called, until no task is queued or running.
 * Returns 0, or a negative errno if the loop itself failed. */
ART_PUBLIC int art_runtime_run(art_runtime *rt);
/* Runs one iteration, waiting at most timeout_ms (-1: until something
 * happens). Returns 1 while there is work, 0 when idle. For hosts that
 * embed the runtime in their own loop (see art_runtime_fd). */
ART_PUBLIC int art_runtime_step(art_runtime *rt, int timeout_ms);
/* A descriptor that becomes readable when art_runtime_step has work. */
ART_PUBLIC int art_runtime_fd(const art_runtime *rt);
/* [any thread] Makes art_runtime_run return once nothing is queued or running. */
ART_PUBLIC void art_runtime_finish(art_runtime *rt);
/* [any thread] Makes art_runtime_run return soon; tasks keep running. */
ART_PUBLIC void art_runtime_stop(art_runtime *rt);
/* [any thread] Queues several tasks at once: their dependencies may name
 * each other in any order, and they are accepted or refused together
 * (an unknown id or a cycle: -EINVAL, nothing queued, err names them:
 * `task "deploy": depends_on "buidl": no such task`, `dependency cycle:
 * a -> b -> a`). userdata and out (each may be NULL) have n entries. */
ART_PUBLIC int art_runtime_submit_batch(art_runtime *rt, const art_spec *const *specs, size_t n,
					void *const *userdata, art_task **out, art_error *err);
/* [any thread] Cancels every queued and running task. */
ART_PUBLIC void art_runtime_cancel_all(art_runtime *rt);
/* [any thread] Changes the number of tasks run at once (0: CPUs). */
ART_PUBLIC void art_runtime_set_max_running(art_runtime *rt, unsigned max_running);
/* [any thread] Changes config.warm_sandboxes; the sandboxes prepared so
 * far are dropped. */
ART_PUBLIC void art_runtime_set_warm_sandboxes(art_runtime *rt, unsigned n);
/* [any thread] Per group: the weight of its fair share (>= 1, default 1),
 * a cap on its running tasks (0: none), a rate of starts per second with
 * a burst (rate 0: none). Per kind: a cap and a rate. -EINVAL for a bad
 * value, -ENOMEM. Take effect at the loop's next iteration. */
ART_PUBLIC int art_runtime_group_weight(art_runtime *rt, const char *group, unsigned weight);
ART_PUBLIC int art_runtime_group_max_running(art_runtime *rt, const char *group, unsigned n);
ART_PUBLIC int art_runtime_group_rate(art_runtime *rt, const char *group, double per_second,
				      unsigned burst);
ART_PUBLIC int art_runtime_kind_max_running(art_runtime *rt, const char *kind, unsigned n);
ART_PUBLIC int art_runtime_kind_rate(art_runtime *rt, const char *kind, double per_second,
				     unsigned burst);
/* [any thread] A circuit breaker for tasks of `kind` (NULL: every kind
 * that has none of its own): over the last `window` runs of the kind, once
 * at least min_runs ended, a failure rate at or above `threshold` (0..1]
 * opens it; while open, new tasks of the kind end at once as
 * ART_END_CIRCUIT_OPEN; after open_ns, `trials` tasks are let through,
 * and it closes if they all succeed, else opens again. window 0 turns it
 * off. No breaker unless one is set. -EINVAL for a bad value. */
ART_PUBLIC int art_runtime_set_breaker(art_runtime *rt, const char *kind, unsigned window,
				       unsigned min_runs, double threshold, int64_t open_ns,
				       unsigned trials);
/* [any thread] Cancels a group's queued and running tasks and every task
 * that needs one of them to succeed (they end as cancelled). */
ART_PUBLIC int art_runtime_cancel_group(art_runtime *rt, const char *group);
/* [loop thread] Consistent on the loop thread; approximate elsewhere. */
ART_PUBLIC void art_runtime_stats_get(art_runtime *rt, art_runtime_stats *out);

/* Formats of art_runtime_metrics: Prometheus text 0.0.4 (Content-Type
 * "text/plain; version=0.0.4; charset=utf-8") and OpenMetrics 1.0
 * ("application/openmetrics-text; version=1.0.0; charset=utf-8"). */
#define ART_METRICS_PROMETHEUS 0
#define ART_METRICS_OPENMETRICS 1
/* [any thread] The runtime's metrics (docs/metrics.md) and the process_*
 * metrics of this process, as text in a format above: *out is malloc'd,
 * NUL-terminated, freed by the caller; *len (if len is not NULL) is its
 * length. Safe while the loop runs, until art_runtime_free. -EINVAL for
 * an unknown format, -ENOMEM, or the error of reading /proc. */
ART_PUBLIC int art_runtime_metrics(art_runtime *rt, int format, char **out, size_t *len);
/* [loop thread] Why cgroup limits are not (or not all) enforced, e.g.
 * "cgroup v1: /sys/fs/cgroup/memory/...: Permission denied"; NULL when they
 * are, or before a task needed them. */
ART_PUBLIC const char *art_runtime_limits_diagnostic(art_runtime *rt);

/* Watches a descriptor of the caller's (a signalfd, a timerfd, a socket)
 * on the runtime's loop. events are EPOLLIN/EPOLLOUT bits. The runtime does
 * not own fd. Call from the loop thread or before art_runtime_run. */
ART_PUBLIC int art_runtime_watch_fd(art_runtime *rt, int fd, uint32_t events, art_fd_fn fn,
				    void *userdata);
ART_PUBLIC int art_runtime_unwatch_fd(art_runtime *rt, int fd);

/* ------------------------------------------------------------- tasks */

typedef enum art_task_state {
	ART_TASK_QUEUED = 0,
	ART_TASK_RUNNING,
	ART_TASK_STOPPING, /* SIGTERM sent; SIGKILL when the grace ends */
	ART_TASK_DONE,
} art_task_state;

ART_PUBLIC const char *art_task_state_name(art_task_state state);

/* [any thread] */
ART_PUBLIC void art_task_ref(art_task *task);
ART_PUBLIC void art_task_unref(art_task *task);
/* [any thread] Stops a task: a queued one ends at once, a running one gets
 * SIGTERM, then SIGKILL after its grace. It ends as ART_END_CANCELLED. */
ART_PUBLIC void art_task_cancel(art_task *task);
ART_PUBLIC const char *art_task_id(const art_task *task);
ART_PUBLIC void *art_task_userdata(const art_task *task);
/* [loop thread] */
ART_PUBLIC art_task_state art_task_state_get(const art_task *task);
ART_PUBLIC const art_spec *art_task_spec(const art_task *task);
/* [loop thread] The result once the task is done, else NULL. */
ART_PUBLIC const art_result *art_task_result(const art_task *task);
/* [loop thread] The write end of an ART_STDIN_PIPE task's stdin, or -1
 * (also for a session: the runtime writes it). The runtime owns it;
 * art_task_close_stdin() closes it. */
ART_PUBLIC int art_task_stdin_fd(const art_task *task);
/* For a session, the end of the channel: the lines already sent are
 * written first, then the task reads end of file. */
ART_PUBLIC void art_task_close_stdin(art_task *task);

/* Sessions: bytes queued for one task and not yet written, at most; the
 * longest stdout line delivered whole. */
#define ART_SESSION_QUEUE_MAX (16u << 20)
#define ART_SESSION_LINE_MAX (16u << 20)
/* [any thread] Queues one line for a session task's stdin; a newline is
 * added unless the line ends with one. It is written by the loop thread
 * as the pipe takes it, never blocking, even before the task starts; the
 * runtime does not check that it is JSON. -EINVAL: not a session task, or
 * a newline inside the line; -EPIPE: the channel is closed (the task
 * ended, stopped reading, or art_task_close_stdin); -ENOBUFS: the queue
 * would pass ART_SESSION_QUEUE_MAX (try again once it drained); -ENOMEM. */
ART_PUBLIC int art_task_send(art_task *task, const char *line, size_t len);
/* [loop thread] Lines written to the task's stdin and JSON lines read
 * from its stdout so far. -EINVAL: not a session task. */
ART_PUBLIC int art_task_session_stats(const art_task *task, uint64_t *sent, uint64_t *received);
/* [any thread] Stops a running task where it is (its cgroup's freezer,
 * else SIGSTOP of its process group) and lets it go on. A paused task
 * keeps its slot; its timeout does not run meanwhile; the time is in the
 * result's frozen_ns. Stopping (cancel, timeout) resumes it first. No
 * effect on a task that is not running. -ENOMEM. */
ART_PUBLIC int art_task_pause(art_task *task);
ART_PUBLIC int art_task_resume(art_task *task);

typedef struct art_task_stats {
	art_task_state state;
	int paused;         /* by art_task_pause */
	int frozen;         /* for an urgent task (preemption) */
	int pid;            /* 0 before it started */
	unsigned attempts;  /* tries started so far */
	int64_t uptime_ns;  /* since the current try started; 0 when not running */
	int64_t cpu_ns;     /* CPU time of the task's processes now alive, and
			     * of those they reaped (its cgroup's, where it has one) */
	uint64_t rss_bytes; /* memory in use now (cgroup: includes page cache) */
	unsigned procs;     /* processes now */
	int64_t stopped_ns; /* paused or frozen so far */
} art_task_stats;

/* [any thread] A running task's state and live usage, read now. From a
 * thread other than the loop's it asks the loop and waits for the answer:
 * -ETIMEDOUT when no thread drives the loop within 1 s. */
ART_PUBLIC int art_task_stats_get(art_task *task, art_task_stats *out);
/* [any thread] Changes a cgroup limit of a running task (memory,
 * memory_high, swap, cpu, cpu_weight, pids, io_weight) until its run ends;
 * a restart starts again from the spec. UINT64_MAX is no limit (for cpu:
 * no quota). As at the start, a memory limit comes with no swap unless
 * the spec set swap. -ESRCH: not running;
 * -EOPNOTSUPP: the task has no cgroup (sandbox level none, no cgroups
 * here) or the controller is missing; -EINVAL: not a cgroup limit, or out
 * of range; -ETIMEDOUT when no thread drives the loop within 1 s; the
 * kernel's refusal otherwise (cgroup v1: -EBUSY for memory below what the
 * task uses). */
ART_PUBLIC int art_task_set_limit(art_task *task, art_limit limit, uint64_t value,
				  art_error *err);
/* [loop thread] Why the task waited before it started (or, while queued,
 * so far), largest reasons first: "waited 1.20s: dependencies 0.70s,
 * group cap 0.40s, priority 0.10s", or "did not wait". -ENOBUFS when it
 * does not fit. */
ART_PUBLIC int art_task_explain(const art_task *task, char *buf, size_t size);

/* ------------------------------------------------------------- JSON spec */

/* Parses one JSON task object (docs/spec.md) into a new spec. Errors name
 * the field: `limits.memory: "12Q" is not a size`. */
ART_PUBLIC int art_spec_from_json(const char *text, size_t len, art_spec **out,
				  art_error *err);
/* Formats a task's result as one JSON object without a newline (the record
 * described in docs/spec.md); spec supplies the id and labels. *out is
 * malloc'd and freed by the caller. `attempts` is how many times the task
 * was started (retries); it is recorded when > 1. */
ART_PUBLIC int art_result_to_json(const art_spec *spec, const art_result *result,
				  unsigned attempts, char **out);

#ifdef __cplusplus
}
#endif

#endif /* AGENTRT_H */
