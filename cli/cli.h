/* SPDX-License-Identifier: MIT */
/* What the command files share: one file per command, each a thin client
 * of libagentrt (crun's layout). */
#ifndef AGENTRT_CLI_H
#define AGENTRT_CLI_H

#include <agentrt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit codes of agentrt itself, as timeout(1) and systemd-run use them. */
#define EXIT_AGENTRT_FAILED 125
#define EXIT_USAGE_BATCH 2

int cmd_run(int argc, char **argv);
int cmd_batch(int argc, char **argv);

extern bool cli_quiet;
extern unsigned cli_errors; /* messages printed so far */

/* One line on stderr, "agentrt: ...". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* After getopt_long returned '?' (with opterr = 0): one line saying why. */
void cli_bad_option(const char *cmd, int argc, char **argv);

int cli_parse_duration(const char *opt, const char *text, int64_t *ns);
int cli_parse_size(const char *opt, const char *text, uint64_t *bytes);
int cli_parse_uint(const char *opt, const char *text, uint64_t *out);

/* Raises our own soft RLIMIT_NOFILE to the hard limit (many tasks mean many
 * pidfds and pipes) and returns the original soft limit, which tasks get. */
uint64_t cli_raise_nofile(void);

/* Blocks the signals agentrt handles itself in every thread (call before
 * starting threads) and returns a signalfd for them. */
int cli_signalfd(sigset_t *set);

/* The line a start failure deserves: "/nope: No such file or directory (exec)". */
void cli_describe_start_failure(const art_spec *spec, const art_result *res, char *buf,
				size_t len);

/* agentrt run --session (run_session.c): stdin sent line by line as JSON
 * messages, the task's lines printed as they come. new before
 * art_runtime_new (its on_message and userdata go into the config); start
 * once the task is submitted; free after art_runtime_run returned and
 * before art_runtime_free. */
typedef struct cli_session cli_session;
int cli_session_new(cli_session **out);
void cli_session_on_message(art_runtime *rt, art_task *task, const char *line, size_t len,
			    int is_json, const char *id, void *userdata);
int cli_session_start(cli_session *s, art_runtime *rt, art_task *task);
void cli_session_free(cli_session *s);

/* Isolation options (sandbox_opts.c), shared by run and batch. */
enum {
	OPT_SANDBOX = 1000,
	OPT_NETWORK,
	OPT_HOSTNAME,
	OPT_ROOTFS,
	OPT_BIND,
	OPT_RO_BIND,
	OPT_TMPFS,
	OPT_TMP_SIZE,
	OPT_SECCOMP,
	OPT_SECCOMP_ALLOW,
	OPT_SECCOMP_DENY,
	OPT_ALLOW_USERNS,
	OPT_CAP,
	OPT_MEMORY,
	OPT_MEMORY_HIGH,
	OPT_SWAP,
	OPT_CPUS,
	OPT_CPU_WEIGHT,
	OPT_PIDS,
	OPT_IO_WEIGHT,
	OPT_ADDRESS_SPACE,
	OPT_OUTPUT_LIMIT,
	OPT_WORKSPACE,
	OPT_WORKSPACE_CHANGES,
	/* runtime-wide */
	OPT_CGROUP_PARENT,
	OPT_REQUIRE_LIMITS,
	OPT_WORKSPACE_DIR,
	/* scheduling (sched_opts.c) */
	OPT_ADMISSION,
	OPT_NO_ADMISSION,
	OPT_CAPACITY_CPUS,
	OPT_CAPACITY_MEMORY,
	OPT_PRESSURE_LIMIT,
	OPT_AGING,
	OPT_PREEMPT,
	OPT_GROUP_WEIGHT,
	OPT_GROUP_MAX,
	OPT_GROUP_RATE,
	OPT_KIND_MAX,
	OPT_KIND_RATE,
	OPT_DEP_HISTORY,
	OPT_BREAKER,
	OPT_ON,
	/* supervision (supervise_opts.c) */
	OPT_RESTART,
	OPT_MAX_RESTARTS,
	OPT_RESTART_WINDOW,
	OPT_BACKOFF,
	OPT_SUCCESS_EXIT,
	OPT_HEALTH_CMD,
	OPT_HEALTH_INTERVAL,
	OPT_HEALTH_TIMEOUT,
	OPT_HEALTH_RETRIES,
	OPT_WATCHDOG,
	OPT_NOTIFY,
};

#define CLI_SANDBOX_OPTIONS                                                   \
	{ "sandbox", required_argument, NULL, OPT_SANDBOX },                  \
	{ "network", required_argument, NULL, OPT_NETWORK },                  \
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },                \
	{ "rootfs", required_argument, NULL, OPT_ROOTFS },                    \
	{ "bind", required_argument, NULL, OPT_BIND },                        \
	{ "ro-bind", required_argument, NULL, OPT_RO_BIND },                  \
	{ "tmpfs", required_argument, NULL, OPT_TMPFS },                      \
	{ "tmp-size", required_argument, NULL, OPT_TMP_SIZE },                \
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },                  \
	{ "seccomp-allow", required_argument, NULL, OPT_SECCOMP_ALLOW },      \
	{ "seccomp-deny", required_argument, NULL, OPT_SECCOMP_DENY },        \
	{ "allow-userns", no_argument, NULL, OPT_ALLOW_USERNS },              \
	{ "cap", required_argument, NULL, OPT_CAP },                          \
	{ "memory", required_argument, NULL, OPT_MEMORY },                    \
	{ "memory-high", required_argument, NULL, OPT_MEMORY_HIGH },          \
	{ "swap", required_argument, NULL, OPT_SWAP },                        \
	{ "cpus", required_argument, NULL, OPT_CPUS },                        \
	{ "cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT },            \
	{ "pids", required_argument, NULL, OPT_PIDS },                        \
	{ "io-weight", required_argument, NULL, OPT_IO_WEIGHT },              \
	{ "address-space", required_argument, NULL, OPT_ADDRESS_SPACE },      \
	{ "output-limit", required_argument, NULL, OPT_OUTPUT_LIMIT },        \
	{ "workspace", required_argument, NULL, OPT_WORKSPACE },              \
	{ "workspace-changes", required_argument, NULL, OPT_WORKSPACE_CHANGES }

#define CLI_RUNTIME_OPTIONS                                                   \
	{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },      \
	{ "require-limits", no_argument, NULL, OPT_REQUIRE_LIMITS },          \
	{ "workspace-dir", required_argument, NULL, OPT_WORKSPACE_DIR }

#define CLI_SCHED_OPTIONS                                                     \
	{ "admission", no_argument, NULL, OPT_ADMISSION },                    \
	{ "no-admission", no_argument, NULL, OPT_NO_ADMISSION },              \
	{ "capacity-cpus", required_argument, NULL, OPT_CAPACITY_CPUS },      \
	{ "capacity-memory", required_argument, NULL, OPT_CAPACITY_MEMORY },  \
	{ "pressure-limit", required_argument, NULL, OPT_PRESSURE_LIMIT },    \
	{ "aging", required_argument, NULL, OPT_AGING },                      \
	{ "preempt", no_argument, NULL, OPT_PREEMPT },                        \
	{ "group-weight", required_argument, NULL, OPT_GROUP_WEIGHT },        \
	{ "group-max", required_argument, NULL, OPT_GROUP_MAX },              \
	{ "group-rate", required_argument, NULL, OPT_GROUP_RATE },            \
	{ "kind-max", required_argument, NULL, OPT_KIND_MAX },                \
	{ "kind-rate", required_argument, NULL, OPT_KIND_RATE },              \
	{ "dep-history", required_argument, NULL, OPT_DEP_HISTORY },          \
	{ "breaker", required_argument, NULL, OPT_BREAKER }

/* One --group-* or --kind-* setting, applied once the runtime exists. */
typedef struct cli_sched_setting {
	int opt;
	char *name;
	unsigned n; /* weight, cap or burst; --breaker: the window */
	double rate; /* --breaker: the threshold */
	unsigned min_runs; /* --breaker */
	int64_t open_ns;   /* --breaker */
} cli_sched_setting;

typedef struct cli_sched_opts {
	int admission; /* -1: decided by -j */
	double capacity_cpus;
	uint64_t capacity_memory;
	unsigned pressure_limit;
	int64_t aging_ns;
	bool preempt;
	unsigned dep_history;
	cli_sched_setting *settings;
	size_t n_settings;
} cli_sched_opts;

int cli_sched_option(cli_sched_opts *so, int opt, const char *arg);
/* jobs_given: -j was given (a fixed cap, so no admission unless asked). */
void cli_apply_sched_opts(const cli_sched_opts *so, bool jobs_given, art_runtime_config *cfg);
int cli_apply_sched_settings(const cli_sched_opts *so, art_runtime *rt);
void cli_sched_opts_free(cli_sched_opts *so);

#define CLI_SUPERVISE_OPTIONS                                                 \
	{ "restart", required_argument, NULL, OPT_RESTART },                  \
	{ "max-restarts", required_argument, NULL, OPT_MAX_RESTARTS },        \
	{ "restart-window", required_argument, NULL, OPT_RESTART_WINDOW },    \
	{ "backoff", required_argument, NULL, OPT_BACKOFF },                  \
	{ "success-exit-code", required_argument, NULL, OPT_SUCCESS_EXIT },   \
	{ "health-cmd", required_argument, NULL, OPT_HEALTH_CMD },            \
	{ "health-interval", required_argument, NULL, OPT_HEALTH_INTERVAL },  \
	{ "health-timeout", required_argument, NULL, OPT_HEALTH_TIMEOUT },    \
	{ "health-retries", required_argument, NULL, OPT_HEALTH_RETRIES },    \
	{ "watchdog", required_argument, NULL, OPT_WATCHDOG },                \
	{ "notify", no_argument, NULL, OPT_NOTIFY }

typedef struct cli_supervise_opts {
	const char *policy, *backoff, *health_cmd;
	unsigned max_restarts;
	bool max_restarts_set;
	int64_t window_ns, health_interval_ns, health_timeout_ns;
	unsigned health_failures;
} cli_supervise_opts;

/* -ENOENT when opt is not one of these; then, once every option is read,
 * cli_apply_supervise_opts. Both print their own errors. */
int cli_supervise_option(art_spec *spec, cli_supervise_opts *so, int opt, const char *arg);
int cli_apply_supervise_opts(art_spec *spec, const cli_supervise_opts *so);

/* --on EVENT=CMD (hooks.c). */
typedef struct cli_hook {
	const char *event; /* the event's name in the stream: "started", ... */
	const char *cmd;   /* borrowed from argv */
} cli_hook;

typedef struct cli_hooks {
	cli_hook *v;
	size_t n;
} cli_hooks;

int cli_hook_add(cli_hooks *h, const char *arg);
/* Once the runtime exists: their group, one hook at a time. */
int cli_hooks_setup(const cli_hooks *h, art_runtime *rt);
/* From config.on_event: submits the hooks for this event. */
void cli_hooks_fire(const cli_hooks *h, art_runtime *rt, art_task *task, const char *line);
/* A hook's own task (on_exit and the records skip it). */
bool cli_hook_task(const art_task *task);
void cli_hooks_free(cli_hooks *h);

typedef struct cli_runtime_opts {
	const char *cgroup_parent;
	const char *workspace_dir;
	bool require_limits;
} cli_runtime_opts;

/* Each returns -ENOENT when opt is not one of theirs. */
int cli_sandbox_option(art_spec *spec, int opt, const char *arg);
int cli_runtime_option(cli_runtime_opts *ro, int opt, const char *arg);
void cli_apply_runtime_opts(const cli_runtime_opts *ro, art_runtime_config *cfg);
void cli_report_unenforced(art_runtime *rt, const art_result *res, bool *said);

long cli_rss_kb(void);
int cli_fd_count(void);

/* SHA-256 of data (sha256.c); the hex form is NUL-terminated. */
void cli_sha256(const void *data, size_t len, unsigned char out[32]);
void cli_sha256_hex(const void *data, size_t len, char out[65]);

/* --audit FILE (audit.c): one JSON line per task, appended with one
 * write(2) each; with sync, fdatasync'ed too. Errors are kept, the first
 * is returned by cli_audit_close. */
typedef struct cli_audit cli_audit;
/* Opens path for appending (created 0600). */
int cli_audit_open(const char *path, bool sync, cli_audit **out);
int cli_audit_task(cli_audit *a, size_t line, const char *id, const char *sha256_hex,
		   const art_result *res);
/* A line that never became a task. */
int cli_audit_invalid(cli_audit *a, size_t line, const char *sha256_hex, const char *error);
/* Syncs and closes; the first error of any write, or 0. NULL is fine. */
int cli_audit_close(cli_audit *a);

/* --metrics-listen (metrics_http.c): GET /metrics on ADDRESS:PORT, served
 * from a thread of its own; prints the URL on stderr (port 0: the port
 * the kernel chose). Stop it before the runtime is freed. */
typedef struct cli_metrics_server cli_metrics_server;
int cli_metrics_listen(art_runtime *rt, const char *address, cli_metrics_server **out);
void cli_metrics_stop(cli_metrics_server *s);

#endif
