/* SPDX-License-Identifier: MIT */
/* The runner behind tap.h: one fork per test, a timeout, TAP on stdout. */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAP_MAX 256

static struct {
	const char *name;
	tap_fn fn;
} tests[TAP_MAX];
static int ntests;

void tap_register(const char *name, tap_fn fn)
{
	if (ntests < TAP_MAX) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

static int run_one(int i, unsigned timeout)
{
	int out[2];
	if (pipe(out) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(out[0]);
		dup2(out[1], STDOUT_FILENO);
		close(out[1]);
		setpgid(0, 0);
		alarm(timeout);
		tests[i].fn();
		/* exit, not _exit: LeakSanitizer checks at exit in ASan builds. */
		exit(0);
	}
	close(out[1]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* A test may leave children behind in its process group; end them
	 * before reading, so that none of them holds the pipe open. */
	kill(-pid, SIGKILL);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	char reason[512] = "";
	ssize_t n = read(out[0], reason, sizeof(reason) - 1);
	close(out[0]);
	reason[n > 0 ? n : 0] = 0;
	char *nl = strchr(reason, '\n');
	if (nl)
		*nl = 0;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok %d - %s\n", i + 1, tests[i].name);
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		printf("ok %d - %s # SKIP %s\n", i + 1, tests[i].name, reason);
		return 0;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		printf("not ok %d - %s # timed out after %us\n", i + 1, tests[i].name, timeout);
	else if (WIFSIGNALED(status))
		printf("not ok %d - %s # killed by signal %d\n", i + 1, tests[i].name,
		       WTERMSIG(status));
	else
		printf("not ok %d - %s # exit %d\n", i + 1, tests[i].name, WEXITSTATUS(status));
	return 1;
}

int main(int argc, char **argv)
{
	const char *t = getenv("TAP_TIMEOUT");
	unsigned timeout = t ? (unsigned)atoi(t) : 20;
	const char *only = argc > 1 ? argv[1] : NULL;
	int failed = 0, planned = 0;
	for (int i = 0; i < ntests; i++)
		if (!only || strcmp(only, tests[i].name) == 0)
			planned++;
	printf("1..%d\n", planned);
	for (int i = 0; i < ntests; i++)
		if (!only || strcmp(only, tests[i].name) == 0)
			failed += run_one(i, timeout) != 0;
	return failed ? 1 : 0;
}
