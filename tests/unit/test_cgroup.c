/* SPDX-License-Identifier: MIT */
/*
 * Per-task cgroups on the real tree of this machine. Each test opens its
 * own root (named after the test's process, so tests never share one) and
 * skips when there is no writable cgroup tree, as for a non-root user.
 * Children are forked here and reaped by pid; the root is freed at exit,
 * also when a CHECK fails, so a failing test leaves no cgroups behind.
 */
#include <agentrt.h>

#include "sandbox/cgroup.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define MIB (UINT64_C(1024) * 1024)
#define MSEC INT64_C(1000000)

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* ------------------------------------------------------------- roots */

static cg_root *the_root;

static void free_root(void)
{
	cg_root_free(the_root);
	the_root = NULL;
}

static void keep_root(cg_root *root)
{
	static bool registered;
	the_root = root;
	if (!registered)
		atexit(free_root);
	registered = true;
}

static cg_root *open_root(void)
{
	art_error err = { 0 };
	cg_root *root = NULL;
	int r = cg_root_open(NULL, &root, &err);
	if (r < 0) {
		fprintf(stderr, "# cg_root_open: %d %s\n", r, err.msg);
		exit(1);
	}
	keep_root(root);
	if (cg_root_version(root) == CG_NONE) {
		char msg[600];
		snprintf(msg, sizeof(msg), "no cgroups: %s", cg_root_diagnostic(root));
		SKIP(msg);
	}
	return root;
}

static void need(const cg_root *root, unsigned bits, const char *what)
{
	if ((cg_root_supported(root) & bits) != bits) {
		char msg[600];
		snprintf(msg, sizeof(msg), "%s not supported: %s", what,
			 cg_root_diagnostic(root) ? cg_root_diagnostic(root) : "?");
		SKIP(msg);
	}
}

static cg_task *make_task(cg_root *root, const char *name, const cg_limits *lim)
{
	art_error err = { 0 };
	cg_task *t = NULL;
	int r = cg_task_create(root, name, lim, &t, &err);
	if (r < 0) {
		fprintf(stderr, "# cg_task_create: %d %s\n", r, err.msg);
		exit(1);
	}
	return t;
}

/* Our own cgroup in the v1 hierarchy of controller ctrl. */
static void own_v1_path(const char *ctrl, char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	CHECK(f);
	char line[1024];
	buf[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		char *ctrls = strchr(line, ':');
		char *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = 0;
		path[strcspn(path, "\n")] = 0;
		char *save = NULL;
		for (char *c = strtok_r(ctrls + 1, ",", &save); c; c = strtok_r(NULL, ",", &save))
			if (strcmp(c, ctrl) == 0)
				snprintf(buf, size, "%s", strcmp(path, "/") == 0 ? "" : path);
	}
	fclose(f);
}

/* The directory of task `name` (NULL: the subtree) for one controller.
 * On v1 it assumes the usual mounts, /sys/fs/cgroup/<controller> (a
 * co-mounted "cpu,cpuacct" has those as links); the library itself reads
 * mountinfo. */
static void cg_dir(const cg_root *root, const char *ctrl, const char *name, char *buf, size_t size)
{
	if (cg_root_version(root) == CG_V2 || strcmp(ctrl, "memory") == 0) {
		snprintf(buf, size, "%s%s%s", cg_root_path(root), name ? "/" : "", name ? name : "");
		return;
	}
	char own[512];
	own_v1_path(ctrl, own, sizeof(own));
	snprintf(buf, size, "/sys/fs/cgroup/%s%s%s%s%s", ctrl, own, strrchr(cg_root_path(root), '/'),
		 name ? "/" : "", name ? name : "");
}

static bool dir_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void read_text(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "# %s: %s\n", path, strerror(errno));
	CHECK(fd >= 0);
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	CHECK(n >= 0);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

static long long read_num(const char *dir, const char *file)
{
	char buf[128];
	read_text(dir, file, buf, sizeof(buf));
	return atoll(buf);
}

/* "key value" from a keyed file (cgroup.events, ...). */
static long long read_key(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX], line[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	FILE *f = fopen(path, "re");
	CHECK(f);
	size_t klen = strlen(key);
	long long v = -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			v = atoll(line + klen + 1);
	fclose(f);
	return v;
}

static bool procs_has(const char *dir, pid_t pid)
{
	char path[PATH_MAX], line[64];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	CHECK(f);
	bool found = false;
	while (fgets(line, sizeof(line), f))
		found |= atoi(line) == pid;
	fclose(f);
	return found;
}

/* Waits up to ms for the cgroup to empty; returns cg_task_populated(). */
static int wait_unpopulated(cg_task *t, int ms)
{
	int64_t deadline = mono() + ms * MSEC;
	int r;
	while ((r = cg_task_populated(t)) > 0 && mono() < deadline)
		usleep(2000);
	return r;
}

/* --------------------------------------------------------- children */

/* A forked child that waits for "go" on a pipe, so that the parent can
 * move it into a cgroup before it does anything, then runs body. body
 * reports through `ready`, which its own children inherit: the parent sees
 * EOF there only once every one of them is gone. */
typedef struct kid {
	pid_t pid;
	int go;
	int ready;
} kid;

static kid kid_start(void (*body)(int ready))
{
	int go[2], ready[2];
	CHECK(pipe2(go, O_CLOEXEC) == 0);
	CHECK(pipe2(ready, O_CLOEXEC) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(100);
		close(go[0]);
		body(ready[1]);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	return (kid){ pid, go[1], ready[0] };
}

static void kid_go(kid *k)
{
	CHECK(write(k->go, "g", 1) == 1);
	close(k->go);
	k->go = -1;
}

/* The next byte the kid's family reports, or -1 at EOF or after ms. */
static int kid_read(kid *k, int ms)
{
	struct pollfd p = { .fd = k->ready, .events = POLLIN };
	if (poll(&p, 1, ms) != 1)
		return -2;
	unsigned char c;
	return read(k->ready, &c, 1) == 1 ? c : -1;
}

static int kid_reap(kid *k)
{
	int status;
	pid_t r;
	while ((r = waitpid(k->pid, &status, 0)) < 0 && errno == EINTR)
		;
	CHECK(r == k->pid);
	close(k->ready);
	if (k->go >= 0)
		close(k->go);
	return status;
}

static bool killed_by_sigkill(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void body_pause(int ready)
{
	(void)!write(ready, "r", 1);
	for (;;)
		pause();
}

/* Burns ms of CPU time, nearly all of it in user mode: reading the CPU
 * clock is a system call, so it is read only every million iterations. */
static void spin_cpu_ms(int ms)
{
	struct timespec ts;
	do {
		for (volatile int i = 0; i < 1000000; i++)
			;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	} while ((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec < ms * MSEC);
}

static void body_spin_200ms(int ready)
{
	spin_cpu_ms(200);
	(void)!write(ready, "r", 1);
}

static void body_spin_forever(int ready)
{
	(void)!write(ready, "r", 1);
	for (;;)
		spin_cpu_ms(1000000);
}

/* 10 children that stay in the process group and 10 grandchildren that
 * leave it (setsid, then orphaned by a double fork): only the cgroup
 * still knows them all. */
static void body_tree(int ready)
{
	for (int i = 0; i < 10; i++)
		if (fork() == 0)
			for (;;)
				pause();
	for (int i = 0; i < 10; i++) {
		pid_t mid = fork();
		if (mid == 0) {
			setsid();
			if (fork() == 0)
				for (;;)
					pause();
			_exit(0);
		}
		waitpid(mid, NULL, 0);
	}
	body_pause(ready);
}

/* Forks until the kernel refuses; reports how many it got. */
static void body_fork_loop(int ready)
{
	unsigned char n = 0;
	while (n < 50) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0)
			for (;;)
				pause();
		n++;
	}
	(void)!write(ready, &n, 1);
	for (;;)
		pause();
}

static void body_memhog(int ready)
{
	size_t size = 200 * MIB;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	(void)!write(ready, "r", 1); /* not reached under a 32M limit */
}

/* ------------------------------------------------------------- tests */

TEST(root_opens_and_frees)
{
	cg_root *root = open_root();
	if (cg_root_diagnostic(root))
		fprintf(stderr, "# diagnostic: %s\n", cg_root_diagnostic(root));
	bool v2 = is_cgroup2("/sys/fs/cgroup");
	CHECK_EQ_INT(cg_root_version(root), v2 ? CG_V2 : CG_V1);
	unsigned sup = cg_root_supported(root);
	if (!v2) {
		/* v1 is CG_NONE without memory. */
		CHECK(sup & CG_LIM_MEMORY);
		if (dir_exists("/sys/fs/cgroup/cpu"))
			CHECK((sup & (CG_LIM_CPU | CG_LIM_CPU_WEIGHT)) == (CG_LIM_CPU | CG_LIM_CPU_WEIGHT));
		if (dir_exists("/sys/fs/cgroup/pids"))
			CHECK(sup & CG_LIM_PIDS);
	}
	char leaf[32], mem[PATH_MAX], pids[PATH_MAX];
	snprintf(leaf, sizeof(leaf), "/agentrt.%d.", (int)getpid());
	snprintf(mem, sizeof(mem), "%s", cg_root_path(root));
	CHECK(strstr(mem, leaf) && !strchr(strstr(mem, leaf) + 1, '/'));
	CHECK(dir_exists(mem));
	cg_dir(root, "pids", NULL, pids, sizeof(pids));
	bool have_pids = sup & CG_LIM_PIDS;
	if (have_pids)
		CHECK(dir_exists(pids));
	free_root();
	CHECK(!dir_exists(mem));
	if (have_pids)
		CHECK(!dir_exists(pids));
}

TEST(task_limits_are_written)
{
	cg_root *root = open_root();
	cg_limits lim = {
		.set = CG_LIM_MEMORY | CG_LIM_MEMORY_HIGH | CG_LIM_SWAP | CG_LIM_CPU |
		       CG_LIM_CPU_WEIGHT | CG_LIM_PIDS | CG_LIM_IO_WEIGHT,
		.memory_max = 64 * MIB,
		.memory_high = 48 * MIB,
		.swap_max = 16 * MIB,
		.cpu_millis = 1500,
		.cpu_weight = 200,
		.pids_max = 42,
		.io_weight = 300,
	};
	unsigned sup = cg_root_supported(root);
	cg_task *t = make_task(root, "limits", &lim);
	char dir[PATH_MAX], buf[128];
	bool v1 = cg_root_version(root) == CG_V1;

	cg_dir(root, "memory", "limits", dir, sizeof(dir));
	if (sup & CG_LIM_MEMORY)
		CHECK_EQ_INT(read_num(dir, v1 ? "memory.limit_in_bytes" : "memory.max"), 64 * MIB);
	if (sup & CG_LIM_MEMORY_HIGH)
		CHECK_EQ_INT(read_num(dir, v1 ? "memory.soft_limit_in_bytes" : "memory.high"),
			     48 * MIB);
	if (sup & CG_LIM_SWAP)
		/* v1 limits memory and swap together. */
		CHECK_EQ_INT(read_num(dir, v1 ? "memory.memsw.limit_in_bytes" : "memory.swap.max"),
			     v1 ? 80 * MIB : 16 * MIB);
	cg_dir(root, "pids", "limits", dir, sizeof(dir));
	if (sup & CG_LIM_PIDS)
		CHECK_EQ_INT(read_num(dir, "pids.max"), 42);
	cg_dir(root, "cpu", "limits", dir, sizeof(dir));
	if ((sup & CG_LIM_CPU) && v1) {
		CHECK_EQ_INT(read_num(dir, "cpu.cfs_period_us"), 100000);
		CHECK_EQ_INT(read_num(dir, "cpu.cfs_quota_us"), 150000);
	} else if (sup & CG_LIM_CPU) {
		read_text(dir, "cpu.max", buf, sizeof(buf));
		CHECK_EQ_STR(buf, "150000 100000");
	}
	if (sup & CG_LIM_CPU_WEIGHT)
		CHECK_EQ_INT(read_num(dir, v1 ? "cpu.shares" : "cpu.weight"), v1 ? 2048 : 200);
	if ((sup & CG_LIM_IO_WEIGHT) && v1) {
		cg_dir(root, "blkio", "limits", dir, sizeof(dir));
		char path[PATH_MAX + 16];
		snprintf(path, sizeof(path), "%s/blkio.weight", dir);
		if (access(path, F_OK) == 0)
			CHECK_EQ_INT(read_num(dir, "blkio.weight"), 1000); /* 300 * 5, capped */
		else
			CHECK_EQ_INT(read_num(dir, "blkio.bfq.weight"), 300);
	}

	cg_dir(root, "memory", "limits", dir, sizeof(dir));
	cg_task_destroy(t);
	CHECK(!dir_exists(dir));
}

TEST(limits_not_asked_for_are_left_alone)
{
	cg_root *root = open_root();
	need(root, CG_LIM_PIDS, "pids");
	cg_task *t = make_task(root, "plain", NULL);
	char dir[PATH_MAX], buf[64];
	cg_dir(root, "pids", "plain", dir, sizeof(dir));
	read_text(dir, "pids.max", buf, sizeof(buf));
	CHECK_EQ_STR(buf, "max");
	cg_task_destroy(t);
}

TEST(task_names_are_checked)
{
	cg_root *root = open_root();
	const char *bad[] = { "", "a/b", ".", "..", "/x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		art_error err = { 0 };
		cg_task *t = (cg_task *)&err; /* must stay untouched */
		CHECK_EQ_INT(cg_task_create(root, bad[i], NULL, &t, &err), -EINVAL);
		CHECK(t == (cg_task *)&err);
		CHECK_EQ_INT(err.code, -EINVAL);
	}
	/* The same name twice is an error, and the first stays intact. */
	cg_task *a = make_task(root, "twice", NULL), *b = NULL;
	art_error err = { 0 };
	CHECK_EQ_INT(cg_task_create(root, "twice", NULL, &b, &err), -EEXIST);
	CHECK(strstr(err.msg, "twice"));
	CHECK(b == NULL);
	char dir[PATH_MAX];
	cg_dir(root, "memory", "twice", dir, sizeof(dir));
	CHECK(dir_exists(dir));
	cg_task_destroy(a);
	CHECK(!dir_exists(dir));
}

TEST(attach_moves_a_child)
{
	cg_root *root = open_root();
	cg_task *t = make_task(root, "attach", NULL);
	CHECK_EQ_INT(cg_task_populated(t), 0);
	kid k = kid_start(body_pause);
	CHECK_EQ_INT(cg_task_attach(t, k.pid), 0);
	kid_go(&k);
	CHECK_EQ_INT(kid_read(&k, 2000), 'r');
	const char *ctrls[] = { "memory", "pids", "cpu", "freezer" };
	for (size_t i = 0; i < 4; i++) {
		char dir[PATH_MAX];
		cg_dir(root, ctrls[i], "attach", dir, sizeof(dir));
		if (dir_exists(dir))
			CHECK(procs_has(dir, k.pid));
	}
	CHECK_EQ_INT(cg_task_populated(t), 1);
	kill(k.pid, SIGKILL);
	CHECK(killed_by_sigkill(kid_reap(&k)));
	/* A zombie is not a member: reaping is not needed to empty it. */
	CHECK_EQ_INT(wait_unpopulated(t, 2000), 0);
	cg_task_destroy(t);
}

static int zero_fds[16], zero_n;

static void body_write_zero(int ready)
{
	unsigned char status = 'y';
	for (int i = 0; i < zero_n; i++)
		if (write(zero_fds[i], "0", 1) != 1)
			status = (unsigned char)errno;
	(void)!write(ready, &status, 1);
	for (;;)
		pause();
}

/* "0" in cgroup.procs means the writer: how a cloned child moves itself
 * before exec, with descriptors its parent opened. v1 accepts it too (it
 * did on Linux 6.18 when this was written). */
TEST(procs_fds_let_a_child_move_itself)
{
	cg_root *root = open_root();
	cg_task *t = make_task(root, "zero", NULL);
	int fds[16];
	CHECK_EQ_INT(cg_task_procs_fds(t, fds, 0), -ENOBUFS);
	zero_n = cg_task_procs_fds(t, fds, 16);
	CHECK(zero_n >= 1);
	if (cg_root_version(root) == CG_V2)
		CHECK_EQ_INT(zero_n, 1);
	for (int i = 0; i < zero_n; i++) {
		CHECK(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		CHECK((fcntl(fds[i], F_GETFL) & O_ACCMODE) == O_WRONLY);
		zero_fds[i] = fds[i];
	}
	/* Asked again, the same descriptors. */
	int again[16];
	CHECK_EQ_INT(cg_task_procs_fds(t, again, 16), zero_n);
	CHECK(memcmp(again, fds, zero_n * sizeof(int)) == 0);

	kid k = kid_start(body_write_zero);
	kid_go(&k);
	int status = kid_read(&k, 2000);
	if (status != 'y')
		fprintf(stderr, "# writing \"0\" failed: %s\n", strerror(status));
	CHECK_EQ_INT(status, 'y');
	fprintf(stderr, "# writing \"0\" to cgroup.procs works on %s (%d hierarchies)\n",
		cg_root_version(root) == CG_V1 ? "v1" : "v2", zero_n);

	/* Every hierarchy we use shows the child in our task. */
	char path[64], line[1024], suffix[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)k.pid);
	snprintf(suffix, sizeof(suffix), "%s/zero\n", strrchr(cg_root_path(root), '/'));
	FILE *f = fopen(path, "re");
	CHECK(f);
	int in = 0;
	while (fgets(line, sizeof(line), f))
		if (strlen(line) > strlen(suffix) &&
		    strcmp(line + strlen(line) - strlen(suffix), suffix) == 0)
			in++;
	fclose(f);
	CHECK_EQ_INT(in, zero_n);
	CHECK_EQ_INT(cg_task_populated(t), 1);

	kill(k.pid, SIGKILL);
	CHECK(killed_by_sigkill(kid_reap(&k)));
	cg_task_destroy(t);
}

/* The whole tree dies, also what left the process group. */
static void check_kill_tree(cg_root *root, const char *name)
{
	cg_task *t = make_task(root, name, NULL);
	kid k = kid_start(body_tree);
	CHECK_EQ_INT(cg_task_attach(t, k.pid), 0);
	kid_go(&k);
	CHECK_EQ_INT(kid_read(&k, 5000), 'r');

	int64_t t0 = mono();
	int n = cg_task_kill(t);
	int64_t t1 = mono();
	fprintf(stderr, "# cg_task_kill: %d signalled in %lld us\n", n, (long long)(t1 - t0) / 1000);
	/* The kid and its 20 descendants (v2's cgroup.kill reports 0). */
	if (cg_root_version(root) == CG_V1)
		CHECK_EQ_INT(n, 21);
	else
		CHECK(n == 0 || n == 21);
	CHECK_EQ_INT(wait_unpopulated(t, 2000), 0);
	CHECK(killed_by_sigkill(kid_reap(&k)));
	/* EOF: no process of the family holds the pipe any more. */
	CHECK_EQ_INT(kid_read(&k, 2000), -1);
	cg_task_destroy(t);
}

TEST(kill_reaches_every_descendant)
{
	check_kill_tree(open_root(), "kill");
}

TEST(pids_max_stops_a_fork_loop)
{
	cg_root *root = open_root();
	need(root, CG_LIM_PIDS, "pids");
	cg_limits lim = { .set = CG_LIM_PIDS, .pids_max = 5 };
	cg_task *t = make_task(root, "forks", &lim);
	kid k = kid_start(body_fork_loop);
	CHECK_EQ_INT(cg_task_attach(t, k.pid), 0);
	kid_go(&k);
	int forks = kid_read(&k, 5000);
	CHECK_EQ_INT(forks, 4); /* the kid and four children make five */
	cg_usage u = { 0 };
	CHECK_EQ_INT(cg_task_usage(t, &u), 0);
	CHECK(u.have & CG_HAVE_PIDS);
	CHECK(u.pids_max_hits > 0);
	CHECK(u.pids_peak == 5 || u.pids_peak == 0); /* 0: no pids.peak */
	CHECK(cg_task_kill(t) >= 0);
	CHECK(killed_by_sigkill(kid_reap(&k)));
	cg_task_destroy(t);
}

TEST(memory_limit_oom_kills)
{
	cg_root *root = open_root();
	need(root, CG_LIM_MEMORY, "memory");
	/* No swap on top: with swap the hog would page out instead of dying
	 * (v1 without memsw would let it swap without bound). */
	cg_limits lim = { .set = CG_LIM_MEMORY, .memory_max = 32 * MIB };
	if (cg_root_supported(root) & CG_LIM_SWAP) {
		lim.set |= CG_LIM_SWAP;
		lim.swap_max = 0;
	}
	cg_task *t = make_task(root, "oom", &lim);
	kid k = kid_start(body_memhog);
	CHECK_EQ_INT(cg_task_attach(t, k.pid), 0);
	kid_go(&k);
	int status = kid_reap(&k);
	CHECK(killed_by_sigkill(status));
	cg_usage u = { 0 };
	CHECK_EQ_INT(cg_task_usage(t, &u), 0);
	CHECK(u.have & CG_HAVE_OOM);
	CHECK(u.oom_kills >= 1);
	/* v1 counts hits in memory.failcnt, but when memsw stops a charge
	 * neither it nor memory.memsw.failcnt moves (seen on Linux 6.18). */
	if (cg_root_version(root) == CG_V2 || !(lim.set & CG_LIM_SWAP))
		CHECK(u.memory_max_hits > 0);
	if (u.have & CG_HAVE_MEMORY_PEAK) {
		CHECK(u.memory_peak <= 32 * MIB);
		CHECK(u.memory_peak > 16 * MIB);
	}
	cg_task_destroy(t);
}

TEST(usage_reports_cpu_time)
{
	cg_root *root = open_root();
	cg_task *t = make_task(root, "cpu", NULL);
	kid k = kid_start(body_spin_200ms);
	CHECK_EQ_INT(cg_task_attach(t, k.pid), 0);
	kid_go(&k);
	int status = kid_reap(&k);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cg_usage u = { 0 };
	CHECK_EQ_INT(cg_task_usage(t, &u), 0);
	if (!(u.have & CG_HAVE_CPU))
		SKIP("no cpu accounting (cpuacct) here");
	fprintf(stderr, "# user %lld ms, system %lld ms\n", (long long)(u.user_ns / MSEC),
		(long long)(u.system_ns / MSEC));
	CHECK(u.user_ns > 100 * MSEC);
	CHECK(u.user_ns + u.system_ns < 2000 * MSEC);
	cg_task_destroy(t);
}

static int64_t cpu_ns(cg_task *t)
{
	cg_usage u = { 0 };
	CHECK_EQ_INT(cg_task_usage(t, &u), 0);
	CHECK(u.have & CG_HAVE_CPU);
	return u.user_ns + u.system_ns;
}

static void check_freeze(cg_root *root, const char *name)
{
	cg_task *t = make_task(root, name, NULL);
	kid k = kid_start(body_spin_forever);
	CHECK_EQ_INT(cg_task_attach(t, k.pid), 0);
	kid_go(&k);
	CHECK_EQ_INT(kid_read(&k, 2000), 'r');

	int64_t t0 = mono();
	int r = cg_task_freeze(t, true);
	if (r == -EOPNOTSUPP) {
		kill(k.pid, SIGKILL);
		kid_reap(&k);
		SKIP("no freezer");
	}
	CHECK_EQ_INT(r, 0);
	fprintf(stderr, "# froze a spinning process in %lld us\n", (long long)(mono() - t0) / 1000);
	char dir[PATH_MAX], buf[64];
	bool v1 = cg_root_version(root) == CG_V1;
	cg_dir(root, "freezer", name, dir, sizeof(dir));
	if (v1) {
		read_text(dir, "freezer.state", buf, sizeof(buf));
		CHECK_EQ_STR(buf, "FROZEN");
	} else {
		CHECK_EQ_INT(read_key(dir, "cgroup.events", "frozen"), 1);
	}
	int64_t a = cpu_ns(t);
	usleep(200 * 1000);
	int64_t b = cpu_ns(t);
	CHECK(b - a < 20 * MSEC);

	CHECK_EQ_INT(cg_task_freeze(t, false), 0);
	if (v1) {
		read_text(dir, "freezer.state", buf, sizeof(buf));
		CHECK_EQ_STR(buf, "THAWED");
	} else {
		CHECK_EQ_INT(read_key(dir, "cgroup.events", "frozen"), 0);
	}
	usleep(200 * 1000);
	CHECK(cpu_ns(t) - b > 50 * MSEC);

	CHECK(cg_task_kill(t) >= 0);
	CHECK(killed_by_sigkill(kid_reap(&k)));
	cg_task_destroy(t);
}

TEST(freeze_and_thaw)
{
	check_freeze(open_root(), "freeze");
}

TEST(destroy_kills_and_removes)
{
	cg_root *root = open_root();
	cg_task *t = make_task(root, "gone", NULL);
	kid k = kid_start(body_tree);
	CHECK_EQ_INT(cg_task_attach(t, k.pid), 0);
	kid_go(&k);
	CHECK_EQ_INT(kid_read(&k, 5000), 'r');
	const char *ctrls[] = { "memory", "pids", "cpu", "cpuacct", "freezer" };
	char dirs[5][PATH_MAX];
	for (size_t i = 0; i < 5; i++)
		cg_dir(root, ctrls[i], "gone", dirs[i], sizeof(dirs[i]));
	CHECK(dir_exists(dirs[0]));
	cg_task_destroy(t);
	for (size_t i = 0; i < 5; i++)
		CHECK(!dir_exists(dirs[i]));
	CHECK(killed_by_sigkill(kid_reap(&k)));
	CHECK_EQ_INT(kid_read(&k, 2000), -1);
}

TEST(root_free_destroys_remaining_tasks)
{
	cg_root *root = open_root();
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s", cg_root_path(root));
	make_task(root, "left1", NULL);
	cg_task *t = make_task(root, "left2", NULL);
	kid k = kid_start(body_pause);
	CHECK_EQ_INT(cg_task_attach(t, k.pid), 0);
	kid_go(&k);
	CHECK_EQ_INT(kid_read(&k, 2000), 'r');
	free_root();
	CHECK(!dir_exists(sub));
	CHECK(killed_by_sigkill(kid_reap(&k)));
}

/* A runtime that died (here: a child process that exits without freeing
 * its root, so the kernel drops its lock) left its subtree with a process
 * in a task cgroup: the next runtime kills that process and removes the
 * subtree, whatever the dead one's pid was. */
TEST(leftover_of_a_dead_runtime_is_cleaned)
{
	cg_root *probe = open_root(); /* skips without cgroups */
	(void)probe;
	int info[2], execd[2];
	CHECK_EQ_INT(pipe2(info, O_CLOEXEC), 0);
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		art_error err = { 0 };
		cg_root *old = NULL;
		cg_task *t = NULL;
		if (cg_root_open(NULL, &old, &err) < 0 || cg_task_create(old, "old", NULL, &t, &err) < 0)
			_exit(3);
		if (pipe2(execd, O_CLOEXEC) < 0)
			_exit(4);
		pid_t g = fork();
		if (g == 0) {
			/* The exec closes the lock (O_CLOEXEC), as a task's does. */
			execlp("sleep", "sleep", "100", (char *)NULL);
			_exit(127);
		}
		close(execd[1]);
		char b;
		if (read(execd[0], &b, 1) != 0 || cg_task_attach(t, g) < 0)
			_exit(5);
		char msg[PATH_MAX + 16];
		int n = snprintf(msg, sizeof(msg), "%d %s", (int)g, cg_root_path(old));
		_exit(write(info[1], msg, (size_t)n + 1) == n + 1 ? 0 : 6);
	}
	close(info[1]);
	char msg[PATH_MAX + 16] = "";
	CHECK(read(info[0], msg, sizeof(msg) - 1) > 0);
	int status;
	CHECK_EQ_INT(waitpid(c, &status, 0), c);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int g = 0;
	char dir[PATH_MAX] = "";
	CHECK_EQ_INT(sscanf(msg, "%d %4095s", &g, dir), 2);
	CHECK(dir_exists(dir));
	CHECK_EQ_INT(kill(g, 0), 0);

	cg_root *fresh = NULL;
	art_error err = { 0 };
	CHECK_EQ_INT(cg_root_open(NULL, &fresh, &err), 0);
	CHECK(!dir_exists(dir));
	/* The sleeper was killed; its parent is gone, so init reaps it. */
	int gone = 0;
	for (int i = 0; i < 200 && !gone; i++) {
		char stat[64], st[256] = "";
		snprintf(stat, sizeof(stat), "/proc/%d/stat", g);
		FILE *f = fopen(stat, "re");
		gone = !f || (fgets(st, sizeof(st), f) && strstr(st, ") Z "));
		if (f)
			fclose(f);
		if (!gone)
			usleep(10000);
	}
	CHECK(gone);
	cg_root_free(fresh);
	free_root();
}

/* Two live runtimes in one process (a Python host with two): neither
 * takes the other's subtree for a leftover. */
TEST(two_runtimes_in_one_process)
{
	cg_root *a = open_root();
	cg_task *ta = make_task(a, "a", NULL);
	kid k = kid_start(body_tree);
	CHECK_EQ_INT(cg_task_attach(ta, k.pid), 0);
	kid_go(&k);
	CHECK_EQ_INT(kid_read(&k, 5000), 'r');

	cg_root *b = NULL;
	art_error err = { 0 };
	CHECK_EQ_INT(cg_root_open(NULL, &b, &err), 0);
	CHECK(strcmp(cg_root_path(a), cg_root_path(b)) != 0);
	CHECK(dir_exists(cg_root_path(a)));
	CHECK_EQ_INT(kill(k.pid, 0), 0); /* a's task lives on */
	cg_task *tb = make_task(b, "b", NULL);
	cg_task_destroy(tb);
	cg_root_free(b);
	CHECK(dir_exists(cg_root_path(a)));
	CHECK_EQ_INT(kill(k.pid, 0), 0);
	kill(k.pid, SIGKILL);
	kid_reap(&k);
	free_root();
}

TEST(explicit_parent_missing_is_an_error)
{
	art_error err = { 0 };
	cg_root *root = (cg_root *)&err;
	int r = cg_root_open("/agentrt-no-such-parent", &root, &err);
	fprintf(stderr, "# %d: %s\n", r, err.msg);
	CHECK(r < 0);
	CHECK_EQ_INT(err.code, r);
	CHECK(root == (cg_root *)&err);
	CHECK(strstr(err.msg, "agentrt-no-such-parent"));
}

static void check_none(void)
{
	cg_root *root = NULL;
	art_error err = { 0 };
	CHECK_EQ_INT(cg_root_open(NULL, &root, &err), 0);
	if (cg_root_version(root) != CG_NONE) {
		/* A v2 tree delegated to this user is fine. */
		cg_root_free(root);
		SKIP("this user has a writable cgroup");
	}
	const char *diag = cg_root_diagnostic(root);
	CHECK(diag != NULL);
	fprintf(stderr, "# diagnostic: %s\n", diag);
	CHECK(cg_root_path(root) == NULL);
	CHECK_EQ_INT(cg_root_supported(root), 0);
	cg_task *t = NULL;
	CHECK_EQ_INT(cg_task_create(root, "x", NULL, &t, &err), -EOPNOTSUPP);
	CHECK(t == NULL);
	CHECK(err.msg[0]);
	cg_root_free(root);
}

TEST(unprivileged_gets_none)
{
	if (geteuid() != 0) {
		check_none();
		return;
	}
	/* As root: drop to nobody in a child and look from there. */
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(99);
		check_none();
		_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		SKIP("nobody has a writable cgroup");
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

/* On a hybrid system the v2 backend still runs on the empty cgroup2
 * mount: no controllers, so no limits, but attach, cgroup.procs "0",
 * cgroup.kill, cgroup.freeze and cpu.stat all work. */
TEST(v2_backend_on_the_unified_mount)
{
	const char *unified = "/sys/fs/cgroup/unified";
	if (is_cgroup2("/sys/fs/cgroup"))
		SKIP("the system is v2: the other tests cover it");
	if (!is_cgroup2(unified))
		SKIP("no cgroup2 mount at /sys/fs/cgroup/unified");
	art_error err = { 0 };
	cg_root *root = NULL;
	int r = cg_root_open(unified, &root, &err);
	if (r == -EACCES || r == -EPERM || r == -EROFS)
		SKIP("the cgroup2 mount is not writable");
	CHECK_EQ_INT(r, 0);
	keep_root(root);
	CHECK_EQ_INT(cg_root_version(root), CG_V2);
	if (cg_root_diagnostic(root))
		fprintf(stderr, "# diagnostic: %s\n", cg_root_diagnostic(root));
	if (!(cg_root_supported(root) & CG_LIM_MEMORY))
		CHECK(strstr(cg_root_diagnostic(root), "memory"));

	cg_task *t = make_task(root, "v2", NULL);
	CHECK(cg_task_dir_fd(t) >= 0);
	int fds[4];
	zero_n = cg_task_procs_fds(t, fds, 4);
	CHECK_EQ_INT(zero_n, 1);
	zero_fds[0] = fds[0];
	kid z = kid_start(body_write_zero);
	kid_go(&z);
	CHECK_EQ_INT(kid_read(&z, 2000), 'y');
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/v2", cg_root_path(root));
	CHECK(procs_has(dir, z.pid));
	CHECK_EQ_INT(cg_task_populated(t), 1);
	CHECK(cg_task_kill(t) >= 0);
	CHECK(killed_by_sigkill(kid_reap(&z)));
	CHECK_EQ_INT(wait_unpopulated(t, 2000), 0);
	cg_task_destroy(t);
	CHECK(!dir_exists(dir));

	check_kill_tree(root, "v2kill");
	check_freeze(root, "v2freeze");
}

/* cg_task_sample on a spinning member: one process, its CPU time, memory
 * where the memory controller is there; then none once it is gone. */
static void check_sample(cg_root *root, const char *name)
{
	cg_task *t = make_task(root, name, NULL);
	kid k = kid_start(body_spin_forever);
	CHECK_EQ_INT(cg_task_attach(t, k.pid), 0);
	kid_go(&k);
	CHECK_EQ_INT(kid_read(&k, 2000), 'r');
	usleep(200 * 1000);
	cg_sample s = { 0 };
	CHECK_EQ_INT(cg_task_sample(t, &s), 0);
	fprintf(stderr, "# %s: have %#x, cpu %lld ms, memory %llu, io %llu/%llu, procs %u\n", name,
		s.have, (long long)(s.cpu_ns / MSEC), (unsigned long long)s.memory_bytes,
		(unsigned long long)s.io_read_bytes, (unsigned long long)s.io_write_bytes, s.procs);
	CHECK(s.have & CG_SAMPLE_PROCS);
	CHECK_EQ_INT(s.procs, 1);
	if (s.have & CG_SAMPLE_CPU)
		CHECK(s.cpu_ns > 50 * MSEC && s.cpu_ns < 5000 * MSEC);
	if (s.have & CG_SAMPLE_MEMORY)
		CHECK(s.memory_bytes > 0);
	if (cg_root_supported(root) & CG_LIM_MEMORY)
		CHECK(s.have & CG_SAMPLE_MEMORY);
	kill(k.pid, SIGKILL);
	CHECK(killed_by_sigkill(kid_reap(&k)));
	CHECK_EQ_INT(wait_unpopulated(t, 2000), 0);
	CHECK_EQ_INT(cg_task_sample(t, &s), 0);
	CHECK_EQ_INT(s.procs, 0);
	cg_task_destroy(t);
}

TEST(sample_reads_a_running_task)
{
	check_sample(open_root(), "sample");
}

TEST(sample_on_the_unified_mount)
{
	const char *unified = "/sys/fs/cgroup/unified";
	if (is_cgroup2("/sys/fs/cgroup"))
		SKIP("the system is v2: sample_reads_a_running_task covers it");
	if (!is_cgroup2(unified))
		SKIP("no cgroup2 mount at /sys/fs/cgroup/unified");
	art_error err = { 0 };
	cg_root *root = NULL;
	int r = cg_root_open(unified, &root, &err);
	if (r == -EACCES || r == -EPERM || r == -EROFS)
		SKIP("the cgroup2 mount is not writable");
	CHECK_EQ_INT(r, 0);
	keep_root(root);
	check_sample(root, "v2sample");
}
