/* SPDX-License-Identifier: MIT */
/* Process handles: signalling and reaping through a pidfd, never a bare pid,
 * so a recycled pid can never be hit and a host's own children are never
 * reaped by us. */
#ifndef ART_OS_PIDFD_H
#define ART_OS_PIDFD_H

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

int pidfd_open_pid(pid_t pid);
int pidfd_signal(int pidfd, int sig);
/* Waits for the process to end (it must be our child) and collects it.
 * info and usage may be NULL. Returns 0 or a negative errno. */
int pidfd_reap(int pidfd, siginfo_t *info, struct rusage *usage);
/* Like pidfd_reap but returns -EAGAIN if the process has not ended. */
int pidfd_try_reap(int pidfd, siginfo_t *info, struct rusage *usage);

#endif
