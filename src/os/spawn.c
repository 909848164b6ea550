/* SPDX-License-Identifier: MIT */
#include "os/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd.h"
#include "os/pidfd.h"

typedef struct child_ctx {
	const spawn_params *p;
	int err_fd;     /* write end of the error pipe (close-on-exec) */
	pid_t parent;   /* for the PDEATHSIG race check */
} child_ctx;

typedef struct child_report {
	int err;
	int stage;
} child_report;

/* The kernel's struct sigaction. Its first field is the handler on every
 * architecture; an all-zero struct with SIG_DFL is valid everywhere. */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/*
 * Runs in the child, on the borrowed stack, sharing the parent's memory
 * while the parent thread is suspended. Only raw system calls: no malloc,
 * no locks, no stdio, and nothing a sanitizer would instrument.
 */
__attribute__((noreturn, no_sanitize("address", "undefined"))) static void
child_fail(const child_ctx *c, int err, art_stage stage)
{
	child_report rep = { err, stage };
	while (write(c->err_fd, &rep, sizeof(rep)) < 0 && errno == EINTR)
		;
	_exit(127);
}

__attribute__((no_sanitize("address", "undefined"))) static int child_main(void *arg)
{
	const child_ctx *c = arg;
	const spawn_params *p = c->p;

	/* A handler inherited from the host must never run here: it would run
	 * on the host's memory. execve resets handled signals, but not ignored
	 * ones, and a task should start with every signal at its default. The
	 * raw syscall keeps libc and sanitizer wrappers out of the child. */
	for (int sig = 1; sig < _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		struct kernel_sigaction old;
		if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof(uint64_t)) < 0)
			continue;
		if (old.handler == (void *)SIG_DFL)
			continue;
		struct kernel_sigaction dfl = { .handler = (void *)SIG_DFL };
		syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
	}

	for (int i = 0; i < p->n_cgroup_fds; i++)
		if (write(p->cgroup_fds[i], "0", 1) < 0)
			child_fail(c, errno, ART_STAGE_CGROUP);

	/* Own session and process group: the runtime signals the whole group,
	 * and the task has no controlling terminal to read from. */
	if (setsid() < 0)
		child_fail(c, errno, ART_STAGE_SETSID);

	/* The sources were moved above 2 by the parent, so dup2 never
	 * clobbers a descriptor it still has to read. dup2 clears CLOEXEC. */
	for (int i = 0; i < 3; i++)
		if (p->stdio[i] >= 0 && dup2(p->stdio[i], i) < 0)
			child_fail(c, errno, ART_STAGE_STDIO);
	/* Nothing of the host's leaks into a task: every other descriptor is
	 * closed at exec, including ones the host left inheritable. The error
	 * pipe stays open until then. */
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	/* ...but for the one it is meant to have, at its fixed number. What
	 * was on 3 is no longer needed: a stdio source already dup'd, never
	 * the error pipe (see os_spawn). dup2 clears close-on-exec. */
	if (p->keep_fd >= 3) {
		int r = p->keep_fd == SPAWN_KEEP_FD ? fcntl(SPAWN_KEEP_FD, F_SETFD, 0)
						     : dup2(p->keep_fd, SPAWN_KEEP_FD);
		if (r < 0)
			child_fail(c, errno, ART_STAGE_STDIO);
	}

	for (size_t i = 0; i < p->n_rlimits; i++)
		if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].value) < 0)
			child_fail(c, errno, ART_STAGE_RLIMIT);

	/* If the thread that started us dies, so do we. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(c, errno, ART_STAGE_PRCTL);
	if (getppid() != c->parent)
		child_fail(c, ESRCH, ART_STAGE_PRCTL);
	if (p->subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		child_fail(c, errno, ART_STAGE_PRCTL);

	if (p->cwd && chdir(p->cwd) < 0)
		child_fail(c, errno, ART_STAGE_CHDIR);

	uint64_t empty = 0;
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty)) < 0)
		child_fail(c, errno, ART_STAGE_SIGNALS);

	child_fail(c, os_exec_candidates(p), ART_STAGE_EXEC);
}

/* execvp's rules: skip ENOENT/ENOTDIR candidates, remember EACCES. */
__attribute__((no_sanitize("address", "undefined"))) int os_exec_candidates(const spawn_params *p)
{
	int err = ENOENT;
	for (const char *const *path = p->exec_paths; *path; path++) {
		execve(*path, p->argv, p->envp);
		if (errno == EACCES)
			err = EACCES;
		else if (errno != ENOENT && errno != ENOTDIR)
			return errno;
	}
	return err;
}

int os_spawn(const spawn_params *p, pid_t *pid_out, int *pidfd_out, spawn_failure *fail)
{
	int err_pipe[2];
	if (pipe2(err_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		*fail = (spawn_failure){ errno, ART_STAGE_PREPARE };
		return -fail->err;
	}
	/* The child puts keep_fd on SPAWN_KEEP_FD: its report must not be there. */
	if (p->keep_fd >= 3 && err_pipe[1] <= SPAWN_KEEP_FD &&
	    (err_pipe[1] = fd_move_above(err_pipe[1], SPAWN_KEEP_FD + 1)) < 0) {
		*fail = (spawn_failure){ -err_pipe[1], ART_STAGE_PREPARE };
		safe_close(err_pipe[0]);
		return -fail->err;
	}
	child_ctx ctx = { .p = p, .err_fd = err_pipe[1], .parent = p->parent_pid };

	/* Block every signal while the child shares our memory, so that no
	 * handler of the host runs in it before it has reset them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int pidfd = -1;
	int saved_errno = errno;
	pid_t pid = clone(child_main, (char *)p->stack + p->stack_size,
			  CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &ctx, &pidfd);
	int clone_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved_errno;
	safe_close(err_pipe[1]);

	if (pid < 0) {
		safe_close(err_pipe[0]);
		*fail = (spawn_failure){ clone_errno, ART_STAGE_CLONE };
		return -clone_errno;
	}

	/* CLONE_VFORK: the child has exec'd or exited by now, so the report,
	 * if there is one, is already in the pipe. */
	child_report rep;
	ssize_t n = read(err_pipe[0], &rep, sizeof(rep));
	safe_close(err_pipe[0]);
	if (n == (ssize_t)sizeof(rep)) {
		pidfd_reap(pidfd, NULL, NULL);
		safe_close(pidfd);
		*fail = (spawn_failure){ rep.err, (art_stage)rep.stage };
		return -rep.err;
	}
	*pid_out = pid;
	*pidfd_out = pidfd;
	return 0;
}
