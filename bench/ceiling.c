/* SPDX-License-Identifier: MIT */
/*
 * ceiling.c - the throughput ceiling for the spawn benchmark.
 *
 * Starts N copies of a program (default /bin/true) with at most J in flight,
 * as plainly as the kernel allows: posix_spawn (glibc: clone(CLONE_VM |
 * CLONE_VFORK) then execve) with stdin, stdout and stderr on /dev/null, and
 * waitpid(-1) to reap. No pipes, no pidfds, no limits, no process groups:
 * whatever a real runtime does on top of this is its overhead.
 *
 *   ceiling [-j J] [-n N] [-q] [PROGRAM [ARG...]]
 *
 * Prints one line, "ceiling: n=N j=J failed=F seconds=S rate=R/s", on
 * stderr (unless -q). Exits 0 when every child exited 0, 1 otherwise, 2 on
 * a usage or system error.
 *
 * Built by bench/run.sh: cc -O2 -o BUILD/bench/ceiling bench/ceiling.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long parse_count(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 1) {
		fprintf(stderr, "ceiling: %s: \"%s\" is not a positive number\n", what, s);
		exit(2);
	}
	return v;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long jobs = 1, total = 1;
	int quiet = 0, opt;
	static char *default_argv[] = {"/bin/true", NULL};

	while ((opt = getopt(argc, argv, "+j:n:q")) != -1) {
		switch (opt) {
		case 'j': jobs = parse_count(optarg, "-j"); break;
		case 'n': total = parse_count(optarg, "-n"); break;
		case 'q': quiet = 1; break;
		default:
			fprintf(stderr, "usage: ceiling [-j J] [-n N] [-q] [PROGRAM [ARG...]]\n");
			return 2;
		}
	}
	char **child_argv = optind < argc ? &argv[optind] : default_argv;

	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		perror("ceiling: /dev/null");
		return 2;
	}
	/* dup2 onto 0, 1, 2 clears FD_CLOEXEC on the copies; the original
	 * keeps it, so the child holds nothing else of ours. */
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, devnull, 1);
	posix_spawn_file_actions_adddup2(&fa, devnull, 2);

	long started = 0, reaped = 0, failed = 0, running = 0;
	double t0 = now();
	while (reaped < total) {
		while (running < jobs && started < total) {
			pid_t pid;
			int rc = posix_spawn(&pid, child_argv[0], &fa, NULL, child_argv, environ);
			if (rc == EAGAIN && running > 0)
				break; /* out of processes for now: reap one first */
			if (rc != 0) {
				fprintf(stderr, "ceiling: posix_spawn %s: %s\n", child_argv[0],
					strerror(rc));
				return 2;
			}
			started++;
			running++;
		}
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			perror("ceiling: waitpid");
			return 2;
		}
		running--;
		reaped++;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	double secs = now() - t0;
	if (!quiet)
		fprintf(stderr, "ceiling: n=%ld j=%ld failed=%ld seconds=%.3f rate=%.0f/s\n", total,
			jobs, failed, secs, (double)total / secs);
	posix_spawn_file_actions_destroy(&fa);
	return failed ? 1 : 0;
}
