/* SPDX-License-Identifier: MIT */
/*
 * Starting a task in a sandbox: new user, pid, mount, ipc, uts, cgroup and
 * (optionally) network namespaces, a filesystem view built from a mount
 * plan, capabilities dropped, no_new_privs, a seccomp filter.
 *
 * Process layout:
 *
 *   runtime ──clone3(namespaces)──▶ init (pid 1 inside) ──fork──▶ task (pid 2)
 *
 * Unlike os_spawn, this is not a vfork: the init never execs (it reaps
 * orphans inside and forwards signals to the task), so it runs on its own
 * copy of our memory. Between clone and exec both children use only
 * async-signal-safe system calls: everything they need (paths, the mount
 * plan, the seccomp program, maps) is prepared here beforehand.
 *
 * The runtime tracks the init by pidfd. SIGKILL to the init kills every
 * process of the namespace (the kernel does it), so a task cannot outlive
 * its sandbox. Messages come back on a SOCK_SEQPACKET socket: the seccomp
 * listener (SCM_RIGHTS), "started" once the task exec'd, a start failure
 * {errno, stage}, and at the end the task's own wait status.
 */
#ifndef ART_SANDBOX_ISOLATE_H
#define ART_SANDBOX_ISOLATE_H

#include <agentrt.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "os/spawn.h"
#include "sandbox/seccomp.h"

/* One step of building the root. Executed in order by the init. */
typedef enum mnt_kind {
	MNT_DIR = 0,  /* mkdir -p target */
	MNT_SYMLINK,  /* target -> source (the link's text) */
	MNT_BIND,     /* recursive bind of host path source onto target */
	MNT_TMPFS,    /* a tmpfs; source: options such as "size=64m,mode=1777" */
	MNT_PROC,     /* a procfs of the task's pid namespace */
	MNT_DEVPTS,   /* a private devpts instance */
	MNT_SYSFS,    /* a sysfs of the task's network namespace */
	MNT_OVERLAY,  /* lower = source, upper, work */
	MNT_READONLY, /* make the mount at target read-only (after filling it) */
} mnt_kind;

#define MNT_F_RO (1u << 0)       /* read-only */
#define MNT_F_FILE (1u << 1)     /* target is a file (the source is not a directory) */
#define MNT_F_OPTIONAL (1u << 2) /* skip when the source or target is missing */
#define MNT_F_NOEXEC (1u << 3)
#define MNT_F_DEV (1u << 4)      /* allow device nodes (the /dev binds); default nodev */
#define MNT_F_IDMAP (1u << 5)    /* overlay: the lower layer seen through the task's uid map */

typedef struct mnt_entry {
	mnt_kind kind;
	unsigned flags;
	const char *source;
	const char *target; /* absolute, inside the new root */
	const char *upper;  /* MNT_OVERLAY */
	const char *work;
	int index;          /* the spec's binds[i] / tmpfs[i], for messages; -1 none */
	int fd;             /* the init's: a detached mount prepared in phase 1 */
	int idmap_fd;       /* the init's: MNT_F_IDMAP's lower layer, from the runtime */
} mnt_entry;

typedef struct isolate_params {
	spawn_params base;        /* exec paths, argv, envp, cwd (inside), stdio, rlimits */
	bool new_net;             /* a network namespace with only loopback up */
	const char *hostname;     /* NULL: keep */
	char uid_map[64];         /* "0 1000 1\n" */
	char gid_map[64];
	bool deny_setgroups;      /* needed when we are not root */
	mnt_entry *mounts;        /* NULL: no new root (the host's, shared) */
	size_t n_mounts;
	const sc_program *seccomp; /* NULL: none */
	uint64_t keep_caps;        /* bit per capability kept */
	int last_cap;
	int cgroup_dir_fd;         /* v2: clone into it; -1: none (v1: base.cgroup_fds) */
	int64_t setup_timeout_ms;  /* how long the runtime waits for "started" */
	/* Prepared ahead: the init sets everything up, says READY and waits
	 * for isolate_launch to send what the task runs (base's exec paths,
	 * argv, envp, cwd, stdio and rlimits are not used before). */
	bool deferred;
} isolate_params;

/* The most a launch (exec paths, argv, environment, cwd, rlimits) may take;
 * a task with more starts without a prepared sandbox. */
#define ISOLATE_LAUNCH_MAX (64 * 1024)

/* Messages from the init and the task to the runtime. */
typedef enum isolate_msg_kind {
	ISO_MSG_STARTED = 1, /* the task exec'd */
	ISO_MSG_FAILED,      /* err, stage, index */
	ISO_MSG_EXITED,      /* status: the task's wait status */
	ISO_MSG_LISTENER,    /* the seccomp listener comes with it */
	ISO_MSG_IDMAP,       /* runtime to init: an idmapped mount (MNT_F_IDMAP) */
	ISO_MSG_READY,       /* a deferred init is set up and waits for its launch */
	ISO_MSG_LAUNCH,      /* runtime to init: what the task runs, its stdio */
} isolate_msg_kind;

typedef struct isolate_msg {
	int32_t kind;
	int32_t err;
	int32_t stage;
	int32_t index;
	int32_t status;
} isolate_msg;

typedef struct isolate_proc {
	pid_t pid;       /* the init, as we see it */
	int pidfd;       /* the init's */
	int report_fd;   /* our end of the message socket (non-blocking after start) */
	int listener_fd; /* the seccomp listener, or -1 */
} isolate_proc;

typedef struct isolate_failure {
	int err;
	art_stage stage;
	int index; /* the mount entry's spec index, or -1 */
	const char *what; /* the mount target that failed, or NULL */
} isolate_failure;

/* Starts the sandboxed task. Blocks until it exec'd or failed (at most
 * setup_timeout_ms). On failure everything is reaped and closed. */
int isolate_spawn(const isolate_params *p, isolate_proc *out, isolate_failure *fail);

/* Deferred sandboxes (p->deferred). isolate_prepare clones the init and
 * returns at once; the init builds the sandbox in parallel. Then either
 * poll (isolate_poll_ready: 1 ready, 0 not yet, -errno failed; for a loop
 * watching report_fd) or block (isolate_wait_ready: 0 or -errno), and
 * isolate_launch_send sends the task, and isolate_wait_started blocks until
 * it exec'd or failed (the caller may do other work in between). p must be
 * the parameters the sandbox was prepared with (for messages). On failure
 * the init is killed and proc's descriptors closed, except that
 * isolate_launch_send returns -E2BIG with the sandbox untouched when the
 * task does not fit in ISOLATE_LAUNCH_MAX. */
int isolate_prepare(const isolate_params *p, isolate_proc *out, isolate_failure *fail);
int isolate_poll_ready(const isolate_params *p, isolate_proc *proc, isolate_failure *fail);
int isolate_wait_ready(const isolate_params *p, isolate_proc *proc, isolate_failure *fail);
int isolate_launch_send(const isolate_params *p, isolate_proc *proc, const spawn_params *task,
			isolate_failure *fail);
int isolate_wait_started(const isolate_params *p, isolate_proc *proc, isolate_failure *fail);
/* Kills the init (and with it the namespace), reaps it, closes proc's fds. */
void isolate_abort(isolate_proc *proc);

/* After the init ended: reads the task's wait status from the socket.
 * Returns 0 with *status set, or -ENODATA when the init died without
 * saying (killed from outside). */
int isolate_read_exit(int report_fd, int *status);

/* Brings up the loopback interface of the current network namespace
 * (async-signal-safe, used by the init). */
int isolate_loopback_up(void);

#endif
