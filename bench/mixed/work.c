/* SPDX-License-Identifier: MIT */
/*
 * work.c - one task of the mixed-workload benchmark (bench/mixed/mixed.py).
 *
 *   work cpu MS         busy-loop until the process has used MS ms of CPU
 *                       time (CLOCK_PROCESS_CPUTIME_ID)
 *   work mem MB MS      allocate MB MiB, write to every page, then hold it
 *                       for MS ms (wall), writing every page again every
 *                       200 ms: memory-heavy, with some CPU
 *   work sleep MS       sleep MS ms
 *   work io MB [MS]     write MB MiB to a temporary file in $TMPDIR (/tmp
 *                       without it), fsync, drop it from the page cache,
 *                       read it back, delete it; then, with MS, sleep until
 *                       MS ms have passed since the start (a fetch that
 *                       waits on the network as well as on the disk)
 *
 * Prints nothing; exits 0 on success, 1 on a failure (with a message on
 * stderr), 2 on a usage error.
 *
 * Built by bench/run.sh: cc -O2 -o BUILD/bench/work bench/mixed/work.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

static void usage(void)
{
	fprintf(stderr, "usage: work cpu MS | work mem MB MS | work sleep MS | work io MB [MS]\n");
	exit(2);
}

static long number(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0) {
		fprintf(stderr, "work: \"%s\" is not a number\n", s);
		exit(2);
	}
	return v;
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	if (ns <= 0)
		return;
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static volatile uint64_t sink;

static int do_cpu(long ms)
{
	int64_t end = now_ns(CLOCK_PROCESS_CPUTIME_ID) + (int64_t)ms * 1000000;
	uint64_t x = 88172645463325252ull;
	for (;;) {
		for (int i = 0; i < 100000; i++) { /* xorshift: ~0.1-0.3 ms */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		sink = x;
		if (now_ns(CLOCK_PROCESS_CPUTIME_ID) >= end)
			return 0;
	}
}

static void touch(unsigned char *p, size_t len, long page, unsigned char v)
{
	for (size_t off = 0; off < len; off += (size_t)page)
		p[off] = v;
}

static int do_mem(long mb, long ms)
{
	size_t len = (size_t)mb * MIB;
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "work: mmap %ld MiB: %s\n", mb, strerror(errno));
		return 1;
	}
	/* Plain 4 KiB pages: each is faulted in and zeroed on its own. */
	(void)madvise(p, len, MADV_NOHUGEPAGE);
	touch(p, len, page, 1);
	int64_t end = now_ns(CLOCK_MONOTONIC) + (int64_t)ms * 1000000;
	for (unsigned char v = 2;; v++) {
		int64_t left = end - now_ns(CLOCK_MONOTONIC);
		if (left <= 0)
			break;
		sleep_ns(left < 200000000 ? left : 200000000);
		if (now_ns(CLOCK_MONOTONIC) < end)
			touch(p, len, page, v);
	}
	munmap(p, len ? len : 1);
	return 0;
}

static int do_io(long mb, long ms)
{
	int64_t start = now_ns(CLOCK_MONOTONIC);
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/agentrt-work.XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "work: mkstemp %s: %s\n", path, strerror(errno));
		return 1;
	}
	int rc = 1;
	char *buf = malloc(MIB);
	if (!buf) {
		fprintf(stderr, "work: out of memory\n");
		goto out;
	}
	for (long i = 0; i < (long)MIB; i++)
		buf[i] = (char)(i * 7 + 3);
	for (long i = 0; i < mb; i++) {
		buf[0] = (char)i;
		for (size_t done = 0; done < (size_t)MIB;) {
			ssize_t n = write(fd, buf + done, MIB - done);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fprintf(stderr, "work: write %s: %s\n", path, n < 0 ? strerror(errno) : "short write");
				goto out;
			}
			done += (size_t)n;
		}
	}
	if (fsync(fd) < 0) {
		fprintf(stderr, "work: fsync %s: %s\n", path, strerror(errno));
		goto out;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	if (lseek(fd, 0, SEEK_SET) < 0) {
		fprintf(stderr, "work: lseek %s: %s\n", path, strerror(errno));
		goto out;
	}
	for (long total = 0;;) {
		ssize_t n = read(fd, buf, MIB);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "work: read %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (n == 0) {
			if (total != mb * MIB) {
				fprintf(stderr, "work: read %ld bytes of %ld\n", total, mb * MIB);
				goto out;
			}
			break;
		}
		total += n;
	}
	rc = 0;
out:
	free(buf);
	close(fd);
	unlink(path);
	if (rc == 0 && ms > 0)
		sleep_ns(start + (int64_t)ms * 1000000 - now_ns(CLOCK_MONOTONIC));
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	const char *what = argv[1];
	if (strcmp(what, "cpu") == 0 && argc == 3)
		return do_cpu(number(argv[2]));
	if (strcmp(what, "mem") == 0 && argc == 4)
		return do_mem(number(argv[2]), number(argv[3]));
	if (strcmp(what, "sleep") == 0 && argc == 3) {
		sleep_ns(number(argv[2]) * 1000000);
		return 0;
	}
	if (strcmp(what, "io") == 0 && (argc == 3 || argc == 4))
		return do_io(number(argv[2]), argc == 4 ? number(argv[3]) : 0);
	usage();
	return 2;
}
