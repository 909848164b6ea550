/* SPDX-License-Identifier: MIT */
/* The in-memory task spec behind the opaque art_spec. */
#ifndef ART_CORE_TASKSPEC_H
#define ART_CORE_TASKSPEC_H

#include <agentrt.h>
#include <stdbool.h>

#include "base/strv.h"
#include "supervise/restart.h"

typedef struct spec_bind {
	char *source;
	char *target;
	bool rw;
} spec_bind;

typedef struct spec_tmpfs {
	char *target;
	uint64_t size;
} spec_tmpfs;

/* Isolation settings (docs/sandbox.md). */
typedef struct spec_sandbox {
	art_sandbox_level level;
	bool level_set;
	bool network_host;
	char *hostname;
	char *rootfs;
	spec_bind *binds;
	size_t n_binds;
	spec_tmpfs *tmpfs;
	size_t n_tmpfs;
	uint64_t tmp_size;
	char *ws_base;
	char *ws_target;
	art_workspace_changes ws_changes;
	char *seccomp; /* NULL: "default" */
	strv sc_allow;
	strv sc_deny;
	bool allow_userns;
	uint64_t keep_caps;
} spec_sandbox;

/* Scheduling (docs/scheduling.md). Requests are SCHED_UNSET-like: -1. */
typedef struct spec_dep {
	char *id;
	art_dep_condition cond;
} spec_dep;

typedef struct spec_sched {
	art_priority priority;
	int order;
	char *group; /* NULL: "default" */
	char *kind;  /* NULL: "default" */
	spec_dep *deps;
	size_t n_deps;
	int64_t cpu_request;    /* millicores, -1: not declared */
	int64_t memory_request; /* bytes, -1: not declared */
	unsigned retries;
} spec_sched;

/* Supervision (docs/supervision.md). */
typedef struct spec_supervise {
	bool set;            /* a restart policy was given */
	supervise_config cfg;
	strv health_cmd;     /* the exec probe; empty: none */
	int64_t health_interval_ns;
	int64_t health_timeout_ns;
	unsigned health_failures;
	int64_t watchdog_ns; /* 0: none; implies notify */
	bool notify;         /* $AGENTRT_NOTIFY_FD */
} spec_supervise;

typedef struct spec_output {
	art_output_mode mode;
	size_t cap;
	char *path;
	bool append;
} spec_output;

struct art_spec {
	char *id;
	strv argv;
	art_env_mode env_mode;
	strv env_allow;
	strv env_set; /* "NAME=VALUE", or "NAME" alone to unset */
	char *cwd;
	art_stdin_mode stdin_mode;
	char *stdin_data;
	size_t stdin_len;
	char *stdin_path;
	spec_output out[2]; /* [0] stdout, [1] stderr */
	int64_t timeout_ns;
	int64_t grace_ns;
	uint64_t limits[ART_LIMIT__COUNT];
	uint32_t limits_set; /* bit per art_limit */
	spec_sandbox sb;
	spec_sched sched;
	spec_supervise sup;
	strv label_keys;
	strv label_values;
	bool session; /* session.c */
};

#define SPEC_GRACE_DEFAULT_NS (5 * INT64_C(1000000000))


/* The level a task runs at: the one set, or LIMITS when a cgroup limit is set. */
art_sandbox_level spec_effective_level(const art_spec *s);
/* 0 if value is in range for limit, -EINVAL otherwise. */
int spec_check_limit(art_limit limit, uint64_t value);
/* Bits of art_limit that need a cgroup. */
#define SPEC_CGROUP_LIMITS                                                              \
	((1u << ART_LIMIT_MEMORY) | (1u << ART_LIMIT_MEMORY_HIGH) | (1u << ART_LIMIT_SWAP) | \
	 (1u << ART_LIMIT_CPU) | (1u << ART_LIMIT_CPU_WEIGHT) | (1u << ART_LIMIT_PIDS) |    \
	 (1u << ART_LIMIT_IO_WEIGHT))
void spec_supervise_init(spec_supervise *sp);
void spec_supervise_free(spec_supervise *sp);
int spec_supervise_copy(spec_supervise *dst, const spec_supervise *src);
void spec_sched_init(spec_sched *sc);
void spec_sched_free(spec_sched *sc);
int spec_sched_copy(spec_sched *dst, const spec_sched *src);
void spec_sandbox_free(spec_sandbox *sb);
int spec_sandbox_copy(spec_sandbox *dst, const spec_sandbox *src);
/* Whether two tasks would get the same sandbox (level aside). */
bool spec_sandbox_equal(const spec_sandbox *a, const spec_sandbox *b);

#endif
