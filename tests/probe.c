/* SPDX-License-Identifier: MIT */
/*
 * probe - a small program that the integration tests run as a task, to look
 * at the task from the inside (limits, environment, descriptors) and to make
 * it misbehave on purpose (fork, daemonize, ignore SIGTERM, hit a limit).
 *
 *   probe CMD [ARGS...]
 *
 * Every subcommand ignores extra trailing arguments, so that a test can pass
 * a unique marker (`probe sleep 100 mark-1234`) and find the process later
 * with `pgrep -f mark-1234`.
 *
 * Exit codes: 0 ok, 2 usage, 3 alloc failed, 4 write failed, 5 open failed,
 * 6 fork failed, 1 any other failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *prog = "probe";

static void usage(void)
{
	fprintf(stderr,
		"usage: %s CMD [ARGS...]\n"
		"  limits | alloc SIZE | fork N SECONDS | ignore-term SECONDS\n"
		"  flood BYTES [out|err] | daemonize PIDFILE SECONDS | sleep SECONDS\n"
		"  exit CODE | kill-self SIGNUM | env | cwd | cat | count-stdin | fds\n"
		"  fill-file PATH BYTES | spin SECONDS | open-files N | pgid\n",
		prog);
}

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static const char *errno_name(int e)
{
	const char *name = strerrorname_np(e);
	return name ? name : "EUNKNOWN";
}

/* "4096", "64k", "512M", "1G" (powers of 1024). */
static uint64_t parse_size(const char *text)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || end == text || text[0] == '-')
		die_usage("not a size: %s", text);
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		die_usage("not a size: %s", text);
	}
	if (*end && end[1] != '\0')
		die_usage("not a size: %s", text);
	if (shift && v > (UINT64_MAX >> shift))
		die_usage("size too large: %s", text);
	return (uint64_t)v << shift;
}

static long parse_long(const char *text)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end)
		die_usage("not an integer: %s", text);
	return v;
}

static double parse_seconds(const char *text)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || v < 0)
		die_usage("not a number of seconds: %s", text);
	return v;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps the whole time even if signals interrupt it. */
static void sleep_for(double seconds)
{
	double deadline = mono_now() + seconds;
	for (;;) {
		double left = deadline - mono_now();
		if (left <= 0)
			return;
		struct timespec ts = {
			.tv_sec = (time_t)left,
			.tv_nsec = (long)((left - (double)(time_t)left) * 1e9),
		};
		nanosleep(&ts, NULL);
	}
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void need(int argc, int n, const char *cmd)
{
	if (argc < n)
		die_usage("%s: missing argument", cmd);
}

/* ------------------------------------------------------------ subcommands */

static void print_limit(const char *name, int resource)
{
	struct rlimit rl;
	if (getrlimit(resource, &rl) < 0) {
		printf("%s error\n", name);
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		printf("%s unlimited\n", name);
	else
		printf("%s %llu\n", name, (unsigned long long)rl.rlim_cur);
}

static int cmd_limits(void)
{
	print_limit("as", RLIMIT_AS);
	print_limit("cpu", RLIMIT_CPU);
	print_limit("nofile", RLIMIT_NOFILE);
	print_limit("nproc", RLIMIT_NPROC);
	print_limit("fsize", RLIMIT_FSIZE);
	print_limit("core", RLIMIT_CORE);
	return 0;
}

static int cmd_alloc(const char *size_text)
{
	uint64_t size = parse_size(size_text);
	if (size > SIZE_MAX) {
		fprintf(stderr, "alloc failed\n");
		return 3;
	}
	volatile char *p = malloc((size_t)size);
	if (!p && size > 0) {
		fprintf(stderr, "alloc failed\n");
		return 3;
	}
	long page = sysconf(_SC_PAGESIZE);
	for (uint64_t off = 0; off < size; off += (uint64_t)page)
		p[off] = 1;
	printf("allocated\n");
	return 0;
}

static int cmd_fork(const char *n_text, const char *secs_text)
{
	long n = parse_long(n_text);
	double secs = parse_seconds(secs_text);
	int failed = 0;
	for (long i = 0; i < n; i++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "fork failed: %s\n", errno_name(errno));
			failed = 6;
			break;
		}
		if (pid == 0) {
			sleep_for(secs);
			_exit(0);
		}
		printf("%d\n", (int)pid);
	}
	fflush(stdout);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return failed;
}

static int cmd_ignore_term(const char *secs_text)
{
	double secs = parse_seconds(secs_text);
	signal(SIGTERM, SIG_IGN);
	printf("ready\n");
	fflush(stdout);
	sleep_for(secs);
	return 0;
}

static int cmd_flood(const char *bytes_text, const char *where)
{
	uint64_t total = parse_size(bytes_text);
	int fd = 1;
	if (where && strcmp(where, "err") == 0)
		fd = 2;
	else if (where && strcmp(where, "out") != 0)
		die_usage("flood: not out|err: %s", where);
	char buf[80 * 100];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (i % 80 == 79) ? '\n' : 'x';
	/* The buffer holds whole lines, so the pattern goes on across chunks. */
	while (total > 0) {
		size_t chunk = total < sizeof(buf) ? (size_t)total : sizeof(buf);
		int r = write_all(fd, buf, chunk);
		if (r < 0) {
			if (fd != 2)
				fprintf(stderr, "write failed: %s\n", errno_name(-r));
			return 4;
		}
		total -= chunk;
	}
	return 0;
}

static int cmd_daemonize(const char *pidfile, const char *secs_text)
{
	double secs = parse_seconds(secs_text);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fork failed: %s\n", errno_name(errno));
		return 1;
	}
	if (pid > 0) {
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return 0;
	}
	/* The intermediate child: a new session, then the daemon. */
	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	/* The daemon: re-parented to init (or the nearest subreaper). */
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	/* Write the pid file (tmp, then rename) before leaving the directory,
	 * so that a relative PIDFILE means what the caller meant. */
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		char line[32];
		int len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
		int r = write_all(fd, line, (size_t)len);
		close(fd);
		if (r == 0)
			rename(tmp, pidfile);
	}
	if (chdir("/") < 0) {
		/* Stay where we are. */
	}
	sleep_for(secs);
	_exit(0);
}

static int cmd_kill_self(const char *sig_text)
{
	long sig = parse_long(sig_text);
	if (sig <= 0 || sig >= NSIG)
		die_usage("kill-self: not a signal: %s", sig_text);
	fflush(NULL);
	signal((int)sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, (int)sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), (int)sig);
	/* A signal whose default is to be ignored (SIGCHLD) lands here. */
	sleep_for(0.1);
	fprintf(stderr, "still alive after signal %ld\n", sig);
	return 1;
}

static int cmd_env(void)
{
	for (char **e = environ; *e; e++)
		printf("%s\n", *e);
	return 0;
}

static int cmd_cwd(void)
{
	char buf[PATH_MAX];
	if (!getcwd(buf, sizeof(buf))) {
		fprintf(stderr, "getcwd failed: %s\n", errno_name(errno));
		return 1;
	}
	printf("%s\n", buf);
	return 0;
}

static int cmd_cat(void)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "read failed: %s\n", errno_name(errno));
			return 1;
		}
		if (n == 0)
			return 0;
		int r = write_all(1, buf, (size_t)n);
		if (r < 0) {
			fprintf(stderr, "write failed: %s\n", errno_name(-r));
			return 4;
		}
	}
}

static int cmd_count_stdin(void)
{
	char buf[65536];
	unsigned long long total = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "read failed: %s\n", errno_name(errno));
			return 1;
		}
		if (n == 0)
			break;
		total += (unsigned long long)n;
	}
	printf("%llu\n", total);
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int cmd_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		fprintf(stderr, "opendir failed: %s\n", errno_name(errno));
		return 1;
	}
	int self = dirfd(d);
	int fds[4096];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		int fd = atoi(de->d_name);
		if (fd == self)
			continue;
		if (n < sizeof(fds) / sizeof(fds[0]))
			fds[n++] = fd;
	}
	closedir(d);
	qsort(fds, n, sizeof(fds[0]), cmp_int);
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? " " : "", fds[i]);
	printf("\n");
	return 0;
}

static int cmd_fill_file(const char *path, const char *bytes_text)
{
	uint64_t total = parse_size(bytes_text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "open failed: %s\n", errno_name(errno));
		return 4;
	}
	char buf[65536];
	memset(buf, 'f', sizeof(buf));
	while (total > 0) {
		size_t chunk = total < sizeof(buf) ? (size_t)total : sizeof(buf);
		int r = write_all(fd, buf, chunk);
		if (r < 0) {
			fprintf(stderr, "write failed: %s\n", errno_name(-r));
			close(fd);
			return 4;
		}
		total -= chunk;
	}
	if (close(fd) < 0) {
		fprintf(stderr, "write failed: %s\n", errno_name(errno));
		return 4;
	}
	return 0;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_spin(const char *secs_text)
{
	double secs = parse_seconds(secs_text);
	double end = cpu_now() + secs;
	volatile unsigned long x = 0;
	while (cpu_now() < end) {
		for (int i = 0; i < 100000; i++)
			x += (unsigned long)i;
	}
	printf("spun\n");
	return 0;
}

static int cmd_open_files(const char *n_text)
{
	long n = parse_long(n_text);
	long ok = 0;
	int first_errno = 0;
	for (long i = 0; i < n; i++) {
		int fd = open("/dev/null", O_RDONLY); /* kept open on purpose */
		if (fd >= 0)
			ok++;
		else if (!first_errno)
			first_errno = errno;
	}
	printf("%ld\n", ok);
	if (ok < n) {
		fprintf(stderr, "open failed: %s\n", errno_name(first_errno));
		return 5;
	}
	return 0;
}

static int cmd_pgid(void)
{
	printf("pid %d pgid %d sid %d\n", (int)getpid(), (int)getpgid(0), (int)getsid(0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	const char *cmd = argv[1];
	int ac = argc - 1; /* arguments counting the subcommand */
	char **av = argv + 1;

	if (strcmp(cmd, "limits") == 0)
		return cmd_limits();
	if (strcmp(cmd, "alloc") == 0) {
		need(ac, 2, cmd);
		return cmd_alloc(av[1]);
	}
	if (strcmp(cmd, "fork") == 0) {
		need(ac, 3, cmd);
		return cmd_fork(av[1], av[2]);
	}
	if (strcmp(cmd, "ignore-term") == 0) {
		need(ac, 2, cmd);
		return cmd_ignore_term(av[1]);
	}
	if (strcmp(cmd, "flood") == 0) {
		need(ac, 2, cmd);
		return cmd_flood(av[1], ac > 2 ? av[2] : NULL);
	}
	if (strcmp(cmd, "daemonize") == 0) {
		need(ac, 3, cmd);
		return cmd_daemonize(av[1], av[2]);
	}
	if (strcmp(cmd, "sleep") == 0) {
		need(ac, 2, cmd);
		sleep_for(parse_seconds(av[1]));
		return 0;
	}
	if (strcmp(cmd, "exit") == 0) {
		need(ac, 2, cmd);
		fflush(NULL);
		return (int)(parse_long(av[1]) & 0xff);
	}
	if (strcmp(cmd, "kill-self") == 0) {
		need(ac, 2, cmd);
		return cmd_kill_self(av[1]);
	}
	if (strcmp(cmd, "env") == 0)
		return cmd_env();
	if (strcmp(cmd, "cwd") == 0)
		return cmd_cwd();
	if (strcmp(cmd, "cat") == 0)
		return cmd_cat();
	if (strcmp(cmd, "count-stdin") == 0)
		return cmd_count_stdin();
	if (strcmp(cmd, "fds") == 0)
		return cmd_fds();
	if (strcmp(cmd, "fill-file") == 0) {
		need(ac, 3, cmd);
		return cmd_fill_file(av[1], av[2]);
	}
	if (strcmp(cmd, "spin") == 0) {
		need(ac, 2, cmd);
		return cmd_spin(av[1]);
	}
	if (strcmp(cmd, "open-files") == 0) {
		need(ac, 2, cmd);
		return cmd_open_files(av[1]);
	}
	if (strcmp(cmd, "pgid") == 0)
		return cmd_pgid();
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
		usage();
		return 0;
	}
	fprintf(stderr, "%s: unknown command: %s\n", prog, cmd);
	usage();
	return 2;
}
