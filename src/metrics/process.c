/* SPDX-License-Identifier: MIT */
/* The standard process_* metrics (the names and help texts of the official
 * clients), read from /proc/self each time a registry is exposed. */
#include "metrics/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/fd.h"

struct process_collector {
	_Atomic bool ready; /* the children below are set */
	metric_counter *cpu;
	metric_gauge *open_fds, *max_fds, *virtual_bytes, *resident_bytes, *start_time;
	double boot_time; /* seconds since the epoch */
	double ticks;     /* clock ticks per second */
	double page_size;
};

/* A small file of /proc, NUL-terminated; what does not fit is cut off. */
static int read_small(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t k = read(fd, buf + len, size - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		len += (size_t)k;
	}
	buf[len] = 0;
	return 0;
}

static void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* "btime" of /proc/stat: when the system booted, in seconds since the
 * epoch. The file is long on machines with many CPUs: read it by line. */
static int read_boot_time(double *ret)
{
	_cleanup_(fclosep) FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return -errno;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned long long btime;
	while (getline(&line, &cap, f) > 0)
		if (sscanf(line, "btime %llu", &btime) == 1) {
			*ret = (double)btime;
			return 0;
		}
	return -EIO;
}

static int process_collect(_unused_ metrics_registry *r, void *userdata)
{
	struct process_collector *pc = userdata;
	if (!atomic_load_explicit(&pc->ready, memory_order_acquire))
		return 0;

	char buf[1024];
	int k = read_small("/proc/self/stat", buf, sizeof(buf));
	if (k < 0)
		return k;
	/* The command name is in parentheses and may hold anything, spaces
	 * and parentheses included: the fields start after the last ")". */
	const char *p = strrchr(buf, ')');
	unsigned long long utime, stime, start, vsize;
	long long rss;
	/* Fields 3 to 24 of proc(5): utime is 14, stime 15, starttime 22,
	 * vsize 23, rss 24. */
	if (!p || sscanf(p + 1,
			 " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s"
			 " %llu %llu %*s %*s %*s %*s %*s %*s %llu %llu %lld",
			 &utime, &stime, &start, &vsize, &rss) != 5)
		return -EIO;

	int fds = fd_count_open();
	if (fds < 0)
		return fds;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;

	metric_counter_set(pc->cpu, (double)(utime + stime) / pc->ticks);
	metric_gauge_set(pc->open_fds, fds);
	metric_gauge_set(pc->max_fds,
			 rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
	metric_gauge_set(pc->virtual_bytes, (double)vsize);
	metric_gauge_set(pc->resident_bytes, (double)rss * pc->page_size);
	metric_gauge_set(pc->start_time, pc->boot_time + (double)start / pc->ticks);
	return 0;
}

static const struct {
	metric_type type;
	metric_desc desc;
} process_metrics[] = {
	{ METRIC_COUNTER,
	  { .name = "process_cpu_seconds_total",
	    .help = "Total user and system CPU time spent in seconds.",
	    .unit = "seconds" } },
	{ METRIC_GAUGE,
	  { .name = "process_open_fds", .help = "Number of open file descriptors." } },
	{ METRIC_GAUGE,
	  { .name = "process_max_fds", .help = "Maximum number of open file descriptors." } },
	{ METRIC_GAUGE,
	  { .name = "process_virtual_memory_bytes",
	    .help = "Virtual memory size in bytes.",
	    .unit = "bytes" } },
	{ METRIC_GAUGE,
	  { .name = "process_resident_memory_bytes",
	    .help = "Resident memory size in bytes.",
	    .unit = "bytes" } },
	{ METRIC_GAUGE,
	  { .name = "process_start_time_seconds",
	    .help = "Start time of the process since unix epoch in seconds.",
	    .unit = "seconds" } },
};

#define N_PROCESS ARRAY_SIZE(process_metrics)

static void families_free(struct metric_family *(*f)[N_PROCESS])
{
	for (size_t i = 0; i < N_PROCESS; i++)
		family_free((*f)[i]);
}

int metrics_add_process_collector(metrics_registry *r)
{
	if (!r)
		return -EINVAL;
	_cleanup_free_ struct process_collector *owned = calloc(1, sizeof(*owned));
	if (!owned)
		return -ENOMEM;
	int k = read_boot_time(&owned->boot_time);
	if (k < 0)
		return k;
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	if (ticks <= 0 || page <= 0)
		return -EINVAL;
	owned->ticks = (double)ticks;
	owned->page_size = (double)page;

	_cleanup_(families_free) struct metric_family *f[N_PROCESS] = { 0 };
	for (size_t i = 0; i < N_PROCESS; i++) {
		k = family_alloc(process_metrics[i].type, &process_metrics[i].desc, &f[i]);
		if (k < 0)
			return k;
	}

	/* The collector first: it does nothing until ready, so a failure to
	 * register the families below leaves nothing visible behind. */
	struct process_collector *pc = owned;
	k = metrics_add_collector(r, process_collect, pc, free);
	if (k < 0)
		return k;
	owned = NULL;

	k = registry_add_families(r, f, N_PROCESS);
	if (k < 0)
		return k;
	pc->cpu = (metric_counter *)f[0]->only;
	pc->open_fds = (metric_gauge *)f[1]->only;
	pc->max_fds = (metric_gauge *)f[2]->only;
	pc->virtual_bytes = (metric_gauge *)f[3]->only;
	pc->resident_bytes = (metric_gauge *)f[4]->only;
	pc->start_time = (metric_gauge *)f[5]->only;
	for (size_t i = 0; i < N_PROCESS; i++)
		f[i] = NULL; /* the registry's now */
	atomic_store_explicit(&pc->ready, true, memory_order_release);
	return 0;
}
