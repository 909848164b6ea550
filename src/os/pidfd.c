/* SPDX-License-Identifier: MIT */
#include "os/pidfd.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int pidfd_open_pid(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : fd;
}

int pidfd_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* glibc's waitid() has no rusage argument; the system call does. __WALL
 * so that the exit signal of the child does not matter. */
static int waitid_pidfd(int pidfd, siginfo_t *info, struct rusage *usage, int flags)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	for (;;) {
		if (syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | __WALL | flags, usage) == 0)
			break;
		if (errno != EINTR)
			return -errno;
	}
	if (si.si_pid == 0)
		return -EAGAIN;
	if (info)
		*info = si;
	return 0;
}

int pidfd_reap(int pidfd, siginfo_t *info, struct rusage *usage)
{
	return waitid_pidfd(pidfd, info, usage, 0);
}

int pidfd_try_reap(int pidfd, siginfo_t *info, struct rusage *usage)
{
	return waitid_pidfd(pidfd, info, usage, WNOHANG);
}
