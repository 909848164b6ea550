/* SPDX-License-Identifier: MIT */
/*
 * Per-task resource samples (config.sample_interval_ns).
 *
 * One loop timer for the whole runtime: each tick samples every running
 * task on the loop thread, so a thousand tasks cost one wakeup, not a
 * thousand timers. A task with a cgroup is read from it (the whole tree,
 * wherever its processes went); otherwise, and for what its cgroup cannot
 * say, from /proc: the leader and its descendants, found through
 * /proc/PID/task/TID/children. With ART_RT_KILL_ORPHANS the leader is a
 * subreaper, so what a descendant orphans stays in that tree; without it
 * an orphan leaves the tree and is no longer counted.
 *
 * CPU use is the CPU time gained since the task's last sample over the time
 * that passed. Under /proc, a child's time moves into its parent's
 * cutime/cstime when the parent reaps it; a process that leaves the tree
 * unreaped takes its time along, and a drop is never reported as negative.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"
#include "base/time.h"
#include "core/internal.h"

/* A task's tree is walked up to this many processes per sample. */
#define TREE_MAX 4096

typedef struct proc_usage {
	int64_t cpu_ns;
	uint64_t rss_bytes;
	uint64_t io_read_bytes, io_write_bytes;
	unsigned procs;
	bool have_io; /* /proc/PID/io was readable for every process */
} proc_usage;

/* /proc/PID/stat past the command name (which may hold spaces and ')'):
 * utime, stime, cutime, cstime (fields 14-17), num_threads (20), rss (24). */
static int read_stat(art_runtime *rt, pid_t pid, proc_usage *u, long *threads)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (fd_read_small(path, buf, sizeof(buf)) < 0)
		return -ESRCH;
	char *p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	unsigned long long v[22];
	char state;
	/* Field 3 (state) onwards; v[i] is field i + 3. */
	if (sscanf(p, " %c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
		      "%llu %llu %llu %llu %llu %llu %llu",
		   &state, &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11],
		   &v[12], &v[13], &v[14], &v[15], &v[16], &v[17], &v[18], &v[19], &v[20],
		   &v[21]) != 22)
		return -EINVAL;
	unsigned long long ticks = v[11] + v[12] + v[13] + v[14]; /* fields 14-17 */
	u->cpu_ns += (int64_t)ticks * rt->ns_per_tick;
	*threads = (long)v[17];                                  /* field 20 */
	u->rss_bytes += (uint64_t)v[21] * rt->page_size;         /* field 24 */
	/* A zombie has ended: its time counts, the process does not. */
	if (state != 'Z' && state != 'X')
		u->procs++;
	return 0;
}

static int read_io(pid_t pid, uint64_t *rd, uint64_t *wr)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if (fd_read_small(path, buf, sizeof(buf)) < 0)
		return -EACCES;
	const char *r = strstr(buf, "\nread_bytes: "), *w = strstr(buf, "\nwrite_bytes: ");
	if (!r || !w)
		return -EINVAL;
	*rd = strtoull(r + 13, NULL, 10);
	*wr = strtoull(w + 14, NULL, 10);
	return 0;
}

/* Appends the pids of a children file to the stack. */
static void push_children(const char *path, pid_t *stack, size_t *n)
{
	char buf[4096];
	if (fd_read_small(path, buf, sizeof(buf)) <= 0)
		return;
	for (char *p = buf, *end;; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p || *n >= TREE_MAX)
			break;
		if (pid > 0)
			stack[(*n)++] = (pid_t)pid;
	}
}

static void walk_tree(art_runtime *rt, pid_t leader, bool want_io, proc_usage *u)
{
	pid_t stack[TREE_MAX];
	size_t n = 0, seen = 0;
	char path[96];
	stack[n++] = leader;
	u->have_io = want_io;
	while (n && seen++ < TREE_MAX) {
		pid_t pid = stack[--n];
		long threads = 1;
		if (read_stat(rt, pid, u, &threads) < 0)
			continue; /* gone since its parent listed it */
		uint64_t rd, wr;
		if (u->have_io && read_io(pid, &rd, &wr) == 0) {
			u->io_read_bytes += rd;
			u->io_write_bytes += wr;
		} else {
			u->have_io = false;
		}
		/* Children hang off the thread that made them. */
		if (threads <= 1) {
			snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
			push_children(path, stack, &n);
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
		DIR *d = opendir(path);
		if (!d)
			continue;
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", (int)pid,
				 de->d_name);
			push_children(path, stack, &n);
		}
		closedir(d);
	}
}

/* What the task uses now, and its CPU time so far. */
void sample_read(art_task *t, task_sample *s, int64_t *cpu_ns)
{
	art_runtime *rt = t->rt;
	if (!rt->ns_per_tick) {
		long hz = sysconf(_SC_CLK_TCK);
		long page = sysconf(_SC_PAGESIZE);
		rt->ns_per_tick = NSEC_PER_SEC / (hz > 0 ? hz : 100);
		rt->page_size = page > 0 ? (uint64_t)page : 4096;
	}
	cg_sample cs = { 0 };
	if (t->cg)
		(void)cg_task_sample(t->cg, &cs);
	unsigned all = CG_SAMPLE_CPU | CG_SAMPLE_MEMORY | CG_SAMPLE_IO | CG_SAMPLE_PROCS;
	proc_usage pu = { 0 };
	if ((cs.have & all) != all)
		walk_tree(rt, t->pid, !(cs.have & CG_SAMPLE_IO), &pu);
	*cpu_ns = cs.have & CG_SAMPLE_CPU ? cs.cpu_ns : pu.cpu_ns;
	s->rss_bytes = cs.have & CG_SAMPLE_MEMORY ? cs.memory_bytes : pu.rss_bytes;
	s->procs = cs.have & CG_SAMPLE_PROCS ? cs.procs : pu.procs;
	s->have_io = (cs.have & CG_SAMPLE_IO) || pu.have_io;
	s->io_read_bytes = cs.have & CG_SAMPLE_IO ? cs.io_read_bytes : pu.io_read_bytes;
	s->io_write_bytes = cs.have & CG_SAMPLE_IO ? cs.io_write_bytes : pu.io_write_bytes;
}

static void sample_task(art_task *t, int64_t now)
{
	task_sample s = { 0 };
	int64_t cpu;
	sample_read(t, &s, &cpu);
	/* Everything has exited, the end is on its way: nothing to see. */
	if (!s.procs)
		return;
	int64_t dt = now - t->sample_ns, dcpu = cpu - t->sample_cpu_ns;
	s.cpu_pct = dt > 0 && dcpu > 0 ? 100.0 * (double)dcpu / (double)dt : 0;
	t->sample_ns = now;
	t->sample_cpu_ns = cpu;

	art_result *res = &t->result;
	res->samples++;
	res->peak_rss_bytes = MAX(res->peak_rss_bytes, s.rss_bytes);
	res->peak_procs = MAX(res->peak_procs, s.procs);
	res->peak_cpu_pct = MAX(res->peak_cpu_pct, s.cpu_pct);
	if (s.have_io) {
		res->io_read_bytes = s.io_read_bytes;
		res->io_write_bytes = s.io_write_bytes;
	}
	event_sample(t, &s);
}

static void arm(art_runtime *rt, int64_t now);

static void on_tick(loop *l, loop_timer *timer)
{
	(void)l;
	art_runtime *rt = container_of(timer, art_runtime, sample_timer);
	int64_t now = mono_ns();
	list_node *n, *tmp;
	list_for_each_safe(n, tmp, &rt->running) {
		art_task *t = container_of(n, art_task, link);
		if (t->pidfd >= 0)
			sample_task(t, now);
	}
	arm(rt, now);
}

/* The next tick on the grid of the first, so that samples stay evenly
 * spaced; ticks missed while the loop was busy are skipped, not caught
 * up. No tick while nothing runs. */
static void arm(art_runtime *rt, int64_t now)
{
	int64_t interval = rt->cfg.sample_interval_ns;
	if (list_empty(&rt->running)) {
		rt->sample_due = 0;
		return;
	}
	int64_t next = rt->sample_due ? rt->sample_due + interval : now + interval;
	if (next <= now)
		next = now + interval - (now - next) % interval;
	rt->sample_due = next;
	if (loop_timer_arm(rt->loop, &rt->sample_timer, next, on_tick) < 0)
		rt->sample_due = 0; /* out of memory: the next start tries again */
}

void sample_task_started(art_task *t)
{
	art_runtime *rt = t->rt;
	if (rt->cfg.sample_interval_ns <= 0)
		return;
	/* A new process has used nothing; a cgroup may have (a prepared
	 * sandbox's init set it up), so its count is the baseline. */
	t->sample_ns = t->result.started_ns;
	t->sample_cpu_ns = 0;
	cg_sample cs;
	if (t->cg && cg_task_sample(t->cg, &cs) == 0 && (cs.have & CG_SAMPLE_CPU))
		t->sample_cpu_ns = cs.cpu_ns;
	if (!rt->sample_due)
		arm(rt, mono_ns());
}

void sample_runtime_free(art_runtime *rt)
{
	if (rt->loop)
		loop_timer_disarm(rt->loop, &rt->sample_timer);
	jsonw_free(&rt->ev);
}
