/* SPDX-License-Identifier: MIT */
/*
 * Starting a process: a vfork-style clone (CLONE_VM | CLONE_VFORK) that
 * returns a pidfd (CLONE_PIDFD), so the process is never referred to by a
 * bare pid. Everything the child needs is prepared by the caller; the child
 * runs only async-signal-safe system calls, then execve. A failure in the
 * child comes back through a close-on-exec pipe as {errno, stage}.
 */
#ifndef ART_OS_SPAWN_H
#define ART_OS_SPAWN_H

#include <agentrt.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

typedef struct spawn_rlimit {
	int resource;
	struct rlimit value;
} spawn_rlimit;

typedef struct spawn_params {
	/* Paths to try in order (the PATH search, done by the caller); the
	 * first that is not ENOENT/ENOTDIR decides, like execvp. */
	const char *const *exec_paths;
	char *const *argv;
	char *const *envp;
	const char *cwd;           /* NULL: the caller's */
	int stdio[3];              /* descriptors to place on 0, 1, 2; -1 keeps the caller's */
	const spawn_rlimit *rlimits;
	size_t n_rlimits;
	bool subreaper;            /* the task leader adopts its own orphans */
	/* cgroup.procs files the child moves itself into (writing "0") before
	 * anything else, so that nothing it starts runs outside its cgroup. */
	const int *cgroup_fds;
	int n_cgroup_fds;
	pid_t parent_pid;          /* ours, for the PDEATHSIG race check */
	/* A stack for the child, reused from spawn to spawn: with CLONE_VFORK
	 * the caller is suspended until the child execs or exits. */
	void *stack;
	size_t stack_size;
	/* A descriptor (>= 3) the program inherits as SPAWN_KEEP_FD: a task's
	 * notify channel. A fixed low number, because shells such as dash
	 * cannot redirect to descriptors past 9. -1 (or anything below 3,
	 * which an initializer that does not name it gives): none. */
	int keep_fd;
} spawn_params;

#define SPAWN_KEEP_FD 3

typedef struct spawn_failure {
	int err;         /* positive errno */
	art_stage stage;
} spawn_failure;

#define SPAWN_STACK_SIZE (64 * 1024)

/* Returns 0 with *pid and *pidfd (close-on-exec) set, or a negative errno
 * with *fail filled in. A child that failed has been reaped already. */
int os_spawn(const spawn_params *p, pid_t *pid, int *pidfd, spawn_failure *fail);

/* In a child: execve the candidates in turn; returns the errno that
 * decides the failure if none could be executed. Async-signal-safe. */
int os_exec_candidates(const spawn_params *p);

#endif
