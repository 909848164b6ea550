/* SPDX-License-Identifier: MIT */
/*
 * Per-task cgroups, v1 and v2 (see cgroup.h).
 *
 * Both backends share one shape: a list of "hierarchies", each a subtree
 * directory the runtime made; a task is a directory of the same name in
 * each. v2 has exactly one. v1 has one per mount of the controllers we use
 * (memory, cpu, cpuacct, pids, freezer, blkio); co-mounted controllers such
 * as "cpu,cpuacct" share one. Files are addressed by path, built when
 * needed, so that a task costs no descriptors until cg_task_procs_fds() (and
 * one on v2 for clone3).
 *
 * All operations are synchronous and bounded: waiting for a freeze, for
 * killed processes to leave and for rmdir to succeed each give up after a
 * fixed time rather than hang the loop on a process stuck in the kernel.
 */
#include "sandbox/cgroup.h"

#include "base/fd.h"
#include "base/intset.h"
#include "base/list.h"
#include "base/macros.h"
#include "base/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CG_MOUNT "/sys/fs/cgroup"

/* A freeze normally completes in well under a millisecond; a member in
 * uninterruptible sleep (NFS, FUSE) can hold it in FREEZING for as long as
 * it sleeps, so waiting is bounded and a kill goes on without it. */
#define FREEZE_TIMEOUT_NS (1000 * NSEC_PER_MSEC)
/* How long cg_task_kill keeps killing before it reports -EBUSY. */
#define KILL_TIMEOUT_NS (5000 * NSEC_PER_MSEC)
/* One kill round waits this long for its victims to leave. */
#define KILL_ROUND_NS (100 * NSEC_PER_MSEC)
/* rmdir fails with EBUSY until processes just killed have left (v2's
 * cgroup.kill only signals them) and while a large address space is torn
 * down. */
#define RMDIR_TIMEOUT_NS (2000 * NSEC_PER_MSEC)
/* Tasks may make cgroups of their own below theirs (root in a task can);
 * walks below a task stop at this depth. */
#define TREE_DEPTH_MAX 16
/* pids.max rejects values above PID_MAX_LIMIT (4M on 64-bit). */
#define PIDS_LIMIT_MAX UINT64_C(4194304)

enum ctrl { C_MEMORY, C_CPU, C_CPUACCT, C_PIDS, C_FREEZER, C_BLKIO, C_COUNT };

static const char *const v1_names[C_COUNT] = {
	[C_MEMORY] = "memory", [C_CPU] = "cpu",         [C_CPUACCT] = "cpuacct",
	[C_PIDS] = "pids",     [C_FREEZER] = "freezer", [C_BLKIO] = "blkio",
};

/* What a missing hierarchy costs, for the diagnostic. */
static const char *const v1_loss[C_COUNT] = {
	[C_MEMORY] = "memory limits are not enforced",
	[C_CPU] = "cpu limits are not enforced",
	[C_CPUACCT] = "cpu usage is not reported",
	[C_PIDS] = "the pids limit is not enforced",
	[C_FREEZER] = "kill falls back to repeated kill loops",
	[C_BLKIO] = "the io weight is not enforced",
};

typedef struct cg_hier {
	char *dir;      /* the runtime's subtree in this hierarchy */
	unsigned ctrls; /* 1u << enum ctrl */
	bool made;      /* dir exists and is ours to remove */
	bool stale;     /* dir was left by an earlier runtime (see root_lock) */
} cg_hier;

struct cg_root {
	cg_version version;
	unsigned supported; /* cg_limit_bit */
	char *diag;
	int nhier;
	cg_hier hier[C_COUNT];
	int of[C_COUNT];     /* the hierarchy of each controller (v2: 0 where
			      * enabled), -1 if none */
	int procs_hier;      /* whose cgroup.procs lists members (the freezer's) */
	bool can_freeze;     /* v1: a freezer hierarchy; v2: cgroup.freeze */
	bool has_kill;       /* v2: cgroup.kill (Linux 5.14) */
	const char *io_file; /* the weight file that io_weight goes to, or NULL */
	list_node tasks;     /* cg_task.node of every live task */
	int lock_fd;         /* our subtree, flock'ed while we live */
};

struct cg_task {
	cg_root *root;
	list_node node;
	int procs_fd[C_COUNT]; /* per hierarchy, opened on first request */
	int dir_fd;            /* v2: for CLONE_INTO_CGROUP; -1 on v1 */
	char name[];
};

/* ------------------------------------------------------------ files */

/* "<subtree>[/<name>][/<file>]" in hierarchy h; name NULL is the subtree. */
static int cg_path(char buf[static PATH_MAX], const cg_root *root, int h, const char *name,
		   const char *file)
{
	int n = snprintf(buf, PATH_MAX, "%s%s%s%s%s", root->hier[h].dir, name ? "/" : "",
			 name ? name : "", file ? "/" : "", file ? file : "");
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* cgroup files take one value per write(2): never split it. */
static int write_fd(int fd, const char *s)
{
	size_t len = strlen(s);
	ssize_t n = write(fd, s, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int write_file(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return write_fd(fd, s);
}

/* Reads a small file whole; returns its length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	return (ssize_t)len;
}

/* Reads a file of any size (cgroup.procs of a large task). */
static int read_alloc(const char *path, char **out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (cap - len < 2) {
			char *grown = realloc(buf, cap * 2);
			if (!grown)
				return -ENOMEM;
			buf = grown;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	*out = steal_ptr(&buf);
	return 0;
}

/* A decimal, or "max" (v2's word for no limit). */
static int parse_u64(const char *s, uint64_t *v)
{
	if (strncmp(s, "max", 3) == 0) {
		*v = UINT64_MAX;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	*v = x;
	return 0;
}

static int read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return parse_u64(buf, v);
}

/* Finds "key value" among text's lines (cpu.stat, memory.events, ...). */
static int keyed_u64(const char *text, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return parse_u64(line + klen + 1, v);
	return -ENOENT;
}

static int read_keyed(const char *path, const char *key, uint64_t *v)
{
	char buf[4096];
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return keyed_u64(buf, key, v);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ------------------------------------------------------- diagnostic */

static int diag_add(cg_root *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int diag_add(cg_root *root, const char *fmt, ...)
{
	_cleanup_free_ char *item = NULL;
	va_list ap;
	va_start(ap, fmt);
	int r = vasprintf(&item, fmt, ap);
	va_end(ap);
	if (r < 0) {
		item = NULL;
		return -ENOMEM;
	}
	char *joined;
	if (root->diag)
		r = asprintf(&joined, "%s; %s", root->diag, item);
	else
		r = asprintf(&joined, "%s", item);
	if (r < 0)
		return -ENOMEM;
	free(root->diag);
	root->diag = joined;
	return 0;
}

/* Puts "cgroup vN: " (and why nothing works, for CG_NONE) in front. */
static int diag_finish(cg_root *root, const char *label, const char *headline)
{
	if (!root->diag && !headline)
		return 0;
	char *s;
	int r = asprintf(&s, "%s: %s%s%s", label, headline ? headline : "",
			 headline && root->diag ? ": " : "", root->diag ? root->diag : "");
	if (r < 0)
		return -ENOMEM;
	free(root->diag);
	root->diag = s;
	return 0;
}

/* ------------------------------------------------------ process lists */

typedef struct pidvec {
	pid_t *v;
	size_t n, cap;
} pidvec;

static int pidvec_push(pidvec *pv, pid_t pid)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 64;
		pid_t *v = realloc(pv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pv->v = v;
		pv->cap = cap;
	}
	pv->v[pv->n++] = pid;
	return 0;
}

/* Lists the members of dir and of every cgroup below it into pv; with pv
 * NULL, stops at the first. Returns how many were seen (1 at most without
 * pv) or -errno. */
static int scan_procs(const char *dir, pidvec *pv, int depth)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	_cleanup_free_ char *text = NULL;
	int r = read_alloc(path, &text);
	if (r < 0)
		return r;
	int found = 0;
	for (char *p = text, *end; *p; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (pid <= 0)
			continue;
		if (!pv)
			return 1;
		r = pidvec_push(pv, (pid_t)pid);
		if (r < 0)
			return r;
		found++;
	}
	if (depth >= TREE_DEPTH_MAX)
		return found;

	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? found : -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		r = scan_procs(path, pv, depth + 1);
		if (r == -ENOENT) /* removed under us */
			continue;
		if (r < 0 || (!pv && r > 0)) {
			found = r;
			break;
		}
		found += r;
	}
	closedir(d);
	return found;
}

/* Removes dir and the cgroups below it, deepest first, retrying on EBUSY
 * until deadline. A directory that is already gone counts as removed. */
static int rm_tree(const char *dir, int64_t deadline, int depth)
{
	DIR *d = depth < TREE_DEPTH_MAX ? opendir(dir) : NULL;
	if (d) {
		struct dirent *de;
		char path[PATH_MAX];
		while ((de = readdir(d))) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
				(void)rm_tree(path, deadline, depth + 1);
		}
		closedir(d);
	}
	for (useconds_t us = 100;; us = MIN(us * 2, 10000)) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || mono_ns() >= deadline)
			return -errno;
		usleep(us);
	}
}

/* ---------------------------------------------------- freeze and kill */

static int freeze_write(const cg_root *root, const char *name, bool frozen)
{
	char path[PATH_MAX];
	bool v1 = root->version == CG_V1;
	int r = cg_path(path, root, v1 ? root->of[C_FREEZER] : 0, name,
			v1 ? "freezer.state" : "cgroup.freeze");
	if (r < 0)
		return r;
	return write_file(path, v1 ? (frozen ? "FROZEN" : "THAWED") : (frozen ? "1" : "0"));
}

/* 1 once the cgroup is in the state asked for, 0 while on the way. */
static int freeze_reached(const cg_root *root, const char *name, bool frozen)
{
	char path[PATH_MAX];
	int r;
	if (root->version == CG_V1) {
		r = cg_path(path, root, root->of[C_FREEZER], name, "freezer.state");
		if (r < 0)
			return r;
		char buf[32];
		ssize_t n = read_small(path, buf, sizeof(buf));
		if (n < 0)
			return (int)n;
		/* FREEZING lasts until every member has stopped. */
		return strncmp(buf, frozen ? "FROZEN" : "THAWED", 6) == 0;
	}
	r = cg_path(path, root, 0, name, "cgroup.events");
	if (r < 0)
		return r;
	uint64_t v;
	r = read_keyed(path, "frozen", &v);
	if (r < 0)
		return r;
	return (v != 0) == frozen;
}

static void backoff(useconds_t *us)
{
	usleep(*us);
	*us = MIN(*us * 2, 5000);
}

static int freeze_wait(const cg_root *root, const char *name, bool frozen, int64_t timeout)
{
	int64_t deadline = mono_ns() + timeout;
	for (useconds_t us = 50;; backoff(&us)) {
		int r = freeze_reached(root, name, frozen);
		if (r != 0)
			return r < 0 ? r : 0;
		if (mono_ns() >= deadline)
			return -ETIMEDOUT;
	}
}

/* 0 once nothing is left below dir, 1 if something still is at deadline. */
static int wait_empty(const char *dir, int64_t deadline)
{
	for (useconds_t us = 50;; backoff(&us)) {
		int r = scan_procs(dir, NULL, 0);
		if (r <= 0 || mono_ns() >= deadline)
			return r;
	}
}

/*
 * Kills everything in the cgroup `name` (NULL: the whole subtree). With a
 * freezer the members are frozen first, so none can fork while the list is
 * read and signalled; a frozen member receives its SIGKILL on thaw (v1) or
 * at once (v2). The pids are live while frozen, so none can have been
 * recycled between reading and kill(). Without one the loop repeats until
 * a round finds nobody, which a fork bomb outpaces only until pids.max.
 * Returns how many distinct processes were signalled.
 */
static int kill_members(const cg_root *root, const char *name)
{
	char dir[PATH_MAX];
	int r = cg_path(dir, root, root->procs_hier, name, NULL);
	if (r < 0)
		return r;
	if (root->version == CG_V2 && root->has_kill) {
		char path[PATH_MAX];
		r = cg_path(path, root, 0, name, "cgroup.kill");
		return r < 0 ? r : write_file(path, "1");
	}

	intset seen = { 0 };
	int64_t deadline = mono_ns() + KILL_TIMEOUT_NS;
	for (;;) {
		bool frozen = root->can_freeze && freeze_write(root, name, true) == 0;
		if (frozen)
			(void)freeze_wait(root, name, true, FREEZE_TIMEOUT_NS);
		pidvec pv = { 0 };
		r = scan_procs(dir, &pv, 0);
		for (size_t i = 0; i < pv.n; i++)
			/* The count is only a report: a failed add loses one. */
			if (kill(pv.v[i], SIGKILL) == 0)
				(void)intset_add(&seen, pv.v[i]);
		free(pv.v);
		if (frozen)
			(void)freeze_write(root, name, false);
		if (r <= 0)
			break;
		r = wait_empty(dir, MIN(deadline, mono_ns() + KILL_ROUND_NS));
		if (r <= 0)
			break;
		if (mono_ns() >= deadline) {
			r = -EBUSY;
			break;
		}
	}
	int n = (int)MIN(seen.n, (size_t)INT_MAX);
	intset_free(&seen);
	return r < 0 ? r : n;
}

/* -------------------------------------------------- discovering trees */

/* mountinfo writes ' ', '\t', '\n' and '\\' as octal escapes. */
static void unescape(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = 0;
}

typedef struct mnt_line {
	char *root, *point, *fstype, *super;
} mnt_line;

/* Splits a mountinfo line in place: "id parent maj:min root point opts
 * [optional...] - fstype source super". */
static bool mnt_split(char *line, mnt_line *m)
{
	char *save = NULL, *f[6];
	for (int i = 0; i < 6; i++)
		if (!(f[i] = strtok_r(i ? NULL : line, " \n", &save)))
			return false;
	char *t;
	while ((t = strtok_r(NULL, " \n", &save)) && strcmp(t, "-") != 0)
		;
	if (!t)
		return false;
	m->fstype = strtok_r(NULL, " \n", &save);
	if (!m->fstype || !strtok_r(NULL, " \n", &save))
		return false;
	m->super = strtok_r(NULL, " \n", &save);
	if (!m->super)
		return false;
	m->root = f[3];
	m->point = f[4];
	unescape(m->root);
	unescape(m->point);
	return true;
}

/* The part of cgroup path `path` below a mount's root, "" for the root
 * itself; NULL if path is not visible through that mount. */
static const char *path_below(const char *path, const char *mroot)
{
	if (strcmp(mroot, "/") == 0)
		return strcmp(path, "/") == 0 ? "" : path;
	size_t n = strlen(mroot);
	if (strncmp(path, mroot, n) != 0 || (path[n] != '/' && path[n] != 0))
		return NULL;
	return path + n;
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = (free(v[i]), NULL);
}

/* Our cgroup per v1 controller and in v2 ("0::"), from /proc/self/cgroup. */
static int read_own_paths(char *own[C_COUNT], char **own_v2)
{
	_cleanup_free_ char *text = NULL;
	int r = read_alloc("/proc/self/cgroup", &text);
	if (r < 0)
		return r;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctrls = strchr(line, ':');
		char *path = ctrls ? strchr(ctrls + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = 0;
		ctrls++;
		if (!*ctrls) {
			if (own_v2 && !*own_v2 && !(*own_v2 = strdup(path)))
				return -ENOMEM;
			continue;
		}
		char *csave = NULL;
		for (char *c = strtok_r(ctrls, ",", &csave); c; c = strtok_r(NULL, ",", &csave))
			for (int i = 0; i < C_COUNT; i++)
				if (own && !own[i] && strcmp(c, v1_names[i]) == 0 &&
				    !(own[i] = strdup(path)))
					return -ENOMEM;
	}
	return 0;
}

static int join_path(const char *point, const char *rel, const char *leaf, char **out)
{
	if (asprintf(out, "%s%s/%s", point, rel, leaf) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* The subtree directory of each v1 controller c for which want[c] is set:
 * <mount><want[c]>/<leaf>, through the first mount of that controller in
 * which the cgroup want[c] is visible (a container may see only part of a
 * hierarchy). Co-mounted controllers get equal strings. */
static int v1_subtree_dirs(char *const want[C_COUNT], const char *leaf, char *dirs[C_COUNT])
{
	_cleanup_(fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		mnt_line m;
		if (!mnt_split(line, &m) || strcmp(m.fstype, "cgroup") != 0)
			continue;
		char *save = NULL;
		for (char *o = strtok_r(m.super, ",", &save); o; o = strtok_r(NULL, ",", &save))
			for (int c = 0; c < C_COUNT; c++) {
				if (dirs[c] || !want[c] || strcmp(o, v1_names[c]) != 0)
					continue;
				const char *rel = path_below(want[c], m.root);
				if (rel && join_path(m.point, rel, leaf, &dirs[c]) < 0)
					return -ENOMEM;
			}
	}
	return 0;
}

/* Where our v2 cgroup `own` is: through the mount on /sys/fs/cgroup if it
 * shows it, else the first cgroup2 mount that does. -ENOENT if none. */
static int v2_own_dir(const char *own, char **out)
{
	_cleanup_(fclosep) FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	_cleanup_free_ char *line = NULL, *found = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		mnt_line m;
		if (!mnt_split(line, &m) || strcmp(m.fstype, "cgroup2") != 0)
			continue;
		const char *rel = path_below(own, m.root);
		if (!rel || (found && strcmp(m.point, CG_MOUNT) != 0))
			continue;
		free(found);
		if (asprintf(&found, "%s%s", m.point, rel) < 0) {
			found = NULL;
			return -ENOMEM;
		}
		if (strcmp(m.point, CG_MOUNT) == 0)
			break;
	}
	if (!found)
		return -ENOENT;
	*out = steal_ptr(&found);
	return 0;
}

/* ------------------------------------------------------------- root */

static void root_reset_of(cg_root *root)
{
	for (int c = 0; c < C_COUNT; c++)
		root->of[c] = -1;
}

/* Removes the subtree directories made so far and forgets them. */
static void root_unmake(cg_root *root)
{
	int64_t deadline = mono_ns() + RMDIR_TIMEOUT_NS;
	for (int h = 0; h < root->nhier; h++) {
		if (root->hier[h].made)
			(void)rm_tree(root->hier[h].dir, deadline, 0);
		free(root->hier[h].dir);
		root->hier[h] = (cg_hier){ 0 };
	}
	root->nhier = 0;
	root_reset_of(root);
}

static void root_release(cg_root *root)
{
	safe_close(root->lock_fd);
	for (int h = 0; h < root->nhier; h++)
		free(root->hier[h].dir);
	free(root->diag);
	free(root);
}

/* Becomes CG_NONE: nothing made is left behind, and the diagnostic says
 * why. Only ENOMEM fails. */
static int root_none(cg_root *root, const char *label, const char *headline)
{
	root_unmake(root);
	root->version = CG_NONE;
	root->supported = 0;
	root->can_freeze = root->has_kill = false;
	root->io_file = NULL;
	root->procs_hier = -1;
	return diag_finish(root, label, headline);
}

/* An earlier runtime with our pid died and left its subtree: kill what is
 * in it and remove its task cgroups, keeping the subtree itself. */
static void root_clean_stale(cg_root *root)
{
	bool any = false;
	for (int h = 0; h < root->nhier; h++)
		any |= root->hier[h].stale;
	if (!any)
		return;
	(void)kill_members(root, NULL);
	int64_t deadline = mono_ns() + RMDIR_TIMEOUT_NS;
	for (int h = 0; h < root->nhier; h++) {
		if (!root->hier[h].stale)
			continue;
		DIR *d = opendir(root->hier[h].dir);
		if (!d)
			continue;
		struct dirent *de;
		char path[PATH_MAX];
		while ((de = readdir(d)))
			if (de->d_type == DT_DIR && de->d_name[0] != '.' &&
			    cg_path(path, root, h, de->d_name, NULL) == 0)
				(void)rm_tree(path, deadline, 1);
		closedir(d);
	}
}

/*
 * Who owns a subtree. Each runtime names its own "agentrt.<pid>.<n>" (n
 * tells apart runtimes of one process, a Python host with several) and
 * holds an flock on its directory for as long as it lives; the kernel
 * drops the lock when the owner dies, however it dies. A subtree of that
 * form whose lock can be taken is therefore a dead runtime's leftover,
 * whatever its pid: its processes are killed and its cgroups removed. A
 * name that exists already when we make ours is the same: its owner is
 * dead, since a live one would be us. The old form "agentrt.<pid>" (no
 * lock was ever taken on it) counts as a leftover for our pid only.
 */
static void root_lock(cg_root *root)
{
	root->lock_fd = open(root->hier[0].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root->lock_fd >= 0 && flock(root->lock_fd, LOCK_EX | LOCK_NB) < 0)
		root->lock_fd = safe_close(root->lock_fd);
}

/* Kills what is left in a dead runtime's subtree and removes it, in every
 * hierarchy we use (name is the subtree's last component). */
static void remove_leftover(const cg_root *root, const char *name)
{
	int64_t deadline = mono_ns() + RMDIR_TIMEOUT_NS;
	char path[PATH_MAX];
	for (int h = 0; h < root->nhier; h++) {
		const char *slash = strrchr(root->hier[h].dir, '/');
		if (!slash || snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - root->hier[h].dir),
				       root->hier[h].dir, name) >= (int)sizeof(path))
			continue;
		if (h == root->procs_hier) {
			for (int round = 0; round < 10; round++) {
				pidvec pv = { 0 };
				int r = scan_procs(path, &pv, 0);
				for (size_t i = 0; i < pv.n; i++)
					kill(pv.v[i], SIGKILL);
				free(pv.v);
				if (r <= 0 || wait_empty(path, MIN(deadline, mono_ns() + KILL_ROUND_NS)) <= 0)
					break;
			}
		}
	}
	for (int h = 0; h < root->nhier; h++) {
		const char *slash = strrchr(root->hier[h].dir, '/');
		if (slash && snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - root->hier[h].dir),
				      root->hier[h].dir, name) < (int)sizeof(path))
			(void)rm_tree(path, deadline, 0);
	}
}

static void root_clean_leftovers(cg_root *root)
{
	const char *ours = strrchr(root->hier[0].dir, '/');
	if (!ours)
		return;
	char parent[PATH_MAX], old_form[32];
	snprintf(parent, sizeof(parent), "%.*s", (int)(ours - root->hier[0].dir), root->hier[0].dir);
	snprintf(old_form, sizeof(old_form), "agentrt.%d", (int)getpid());
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *de;
	char path[PATH_MAX];
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (de->d_type != DT_DIR || strcmp(n, ours + 1) == 0)
			continue;
		bool leftover = strcmp(n, old_form) == 0;
		int pid;
		char tail;
		if (!leftover && sscanf(n, "agentrt.%d.%*x%c", &pid, &tail) == 1 &&
		    snprintf(path, sizeof(path), "%s/%s", parent, n) < (int)sizeof(path)) {
			_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			leftover = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
		}
		if (leftover)
			remove_leftover(root, n);
	}
	closedir(d);
}

/* mkdir of a subtree; EEXIST means a dead runtime's (see above). */
static int make_subtree(cg_hier *hier)
{
	if (mkdir(hier->dir, 0755) < 0) {
		if (errno != EEXIST)
			return -errno;
		hier->stale = true;
	}
	hier->made = true;
	return 0;
}

static int open_v1(cg_root *root, const char *parent, const char *leaf, art_error *err)
{
	char *own[C_COUNT] = { 0 }, *dirs[C_COUNT] = { 0 };
	int r = 0;
	if (parent) {
		/* A cgroup path, the same in every hierarchy. */
		for (int c = 0; c < C_COUNT && r == 0; c++)
			if (asprintf(&own[c], "%s%s", parent[0] == '/' ? "" : "/", parent) < 0) {
				own[c] = NULL;
				r = -ENOMEM;
			}
	} else {
		r = read_own_paths(own, NULL);
	}
	if (r == 0)
		r = v1_subtree_dirs(own, leaf, dirs);
	free_strs(own, C_COUNT);
	if (r < 0) {
		free_strs(dirs, C_COUNT);
		if (r == -ENOMEM)
			return art_error_set(err, r, "cgroup v1: out of memory");
		if (parent)
			return art_error_set(err, r, "cgroup v1: reading /proc/self: %s",
					     strerror(-r));
		if (diag_add(root, "reading /proc/self: %s", strerror(-r)) < 0)
			return art_error_set(err, -ENOMEM, "cgroup v1: out of memory");
		return root_none(root, "cgroup v1", "limits are not enforced");
	}

	/* One hierarchy per distinct directory: co-mounted controllers share. */
	unsigned missing = 0;
	for (int c = 0; c < C_COUNT; c++) {
		if (!dirs[c]) {
			missing |= 1u << c;
			continue;
		}
		int h = 0;
		while (h < root->nhier && strcmp(root->hier[h].dir, dirs[c]) != 0)
			h++;
		if (h == root->nhier)
			root->hier[root->nhier++].dir = steal_ptr(&dirs[c]);
		root->hier[h].ctrls |= 1u << c;
	}
	free_strs(dirs, C_COUNT);
	if (parent && (missing & (1u << C_MEMORY)))
		return art_error_set(err, -ENOENT, "cgroup v1: no memory hierarchy shows %s", parent);

	int failed[C_COUNT] = { 0 }, mem_failed = 0;
	for (int h = 0; h < root->nhier; h++) {
		cg_hier *hi = &root->hier[h];
		r = make_subtree(hi);
		failed[h] = r;
		if (r < 0 && parent) {
			art_error_set(err, r, "cgroup v1: cannot create %s: %s", hi->dir, strerror(-r));
			root_unmake(root);
			return r;
		}
		if (r < 0 && (hi->ctrls & (1u << C_MEMORY)))
			mem_failed = h + 1;
	}
	r = 0;

	/* Memory is the limit every task asks for, and a tree that cannot
	 * hold it would promise containment it does not give. Then one
	 * reason is enough; otherwise the diagnostic lists what is lost. */
	if (missing & (1u << C_MEMORY))
		r = diag_add(root, "no memory hierarchy is mounted");
	else if (mem_failed)
		r = diag_add(root, "cannot create %s: %s", root->hier[mem_failed - 1].dir,
			     strerror(-failed[mem_failed - 1]));
	if ((missing & (1u << C_MEMORY)) || mem_failed) {
		r = r < 0 ? r : root_none(root, "cgroup v1", "limits are not enforced");
		return r < 0 ? art_error_set(err, r, "cgroup v1: out of memory") : 0;
	}
	for (int c = 0; c < C_COUNT && r == 0; c++)
		if (missing & (1u << c))
			r = diag_add(root, "no %s hierarchy: %s", v1_names[c], v1_loss[c]);
	for (int h = 0; h < root->nhier && r == 0; h++)
		for (int c = 0; c < C_COUNT && failed[h] < 0 && r == 0; c++)
			if (root->hier[h].ctrls & (1u << c))
				r = diag_add(root, "cannot create %s: %s: %s", root->hier[h].dir,
					     strerror(-failed[h]), v1_loss[c]);
	if (r < 0)
		return art_error_set(err, r, "cgroup v1: out of memory");

	/* blkio is kept only where it has a weight to set: otherwise its
	 * directories would cost a mkdir per task for nothing. BFQ offers
	 * its own file where the legacy CFQ one is gone. */
	for (int h = 0; h < root->nhier; h++) {
		cg_hier *hi = &root->hier[h];
		if (!hi->made || !(hi->ctrls & (1u << C_BLKIO)))
			continue;
		static const char *const files[] = { "blkio.weight", "blkio.bfq.weight" };
		char path[PATH_MAX];
		for (size_t i = 0; i < ARRAY_SIZE(files) && !root->io_file; i++)
			if (cg_path(path, root, h, NULL, files[i]) == 0 && exists(path))
				root->io_file = files[i];
		if (root->io_file)
			continue;
		if (diag_add(root, "no blkio.weight: %s", v1_loss[C_BLKIO]) < 0)
			return art_error_set(err, -ENOMEM, "cgroup v1: out of memory");
		hi->ctrls &= ~(1u << C_BLKIO);
		if (!hi->ctrls) {
			(void)rm_tree(hi->dir, mono_ns() + RMDIR_TIMEOUT_NS, 0);
			hi->made = false;
		}
	}

	/* Keep only what was made. */
	int n = 0;
	for (int h = 0; h < root->nhier; h++) {
		if (root->hier[h].made)
			root->hier[n++] = root->hier[h];
		else
			free(root->hier[h].dir);
	}
	for (int h = n; h < root->nhier; h++)
		root->hier[h] = (cg_hier){ 0 };
	root->nhier = n;
	for (int h = 0; h < n; h++)
		for (int c = 0; c < C_COUNT; c++)
			if (root->hier[h].ctrls & (1u << c))
				root->of[c] = h;

	root->version = CG_V1;
	root->can_freeze = root->of[C_FREEZER] >= 0;
	root->procs_hier = root->can_freeze ? root->of[C_FREEZER] : root->of[C_MEMORY];
	root_clean_stale(root);
	root_lock(root);
	root_clean_leftovers(root);

	static const struct {
		int ctrl;
		const char *file;
		unsigned bit;
		const char *loss;
	} probes[] = {
		{ C_MEMORY, "memory.limit_in_bytes", CG_LIM_MEMORY, NULL },
		{ C_MEMORY, "memory.soft_limit_in_bytes", CG_LIM_MEMORY_HIGH, NULL },
		{ C_MEMORY, "memory.memsw.limit_in_bytes", CG_LIM_SWAP,
		  "no memory.memsw.limit_in_bytes (swap accounting is off): swap limits are not enforced" },
		{ C_CPU, "cpu.cfs_quota_us", CG_LIM_CPU,
		  "no cpu.cfs_quota_us (CFS bandwidth control is off): cpu limits are not enforced" },
		{ C_CPU, "cpu.shares", CG_LIM_CPU_WEIGHT, NULL },
		{ C_PIDS, "pids.max", CG_LIM_PIDS, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		char path[PATH_MAX];
		int h = root->of[probes[i].ctrl];
		if (h < 0)
			continue;
		if (cg_path(path, root, h, NULL, probes[i].file) == 0 && exists(path))
			root->supported |= probes[i].bit;
		else if (probes[i].loss && diag_add(root, "%s", probes[i].loss) < 0)
			return art_error_set(err, -ENOMEM, "cgroup v1: out of memory");
	}
	if (root->of[C_BLKIO] >= 0)
		root->supported |= CG_LIM_IO_WEIGHT;
	r = diag_finish(root, "cgroup v1", NULL);
	return r < 0 ? art_error_set(err, r, "cgroup v1: out of memory") : 0;
}

/* Whether the space-separated list has word (cgroup.controllers). */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

static int open_v2(cg_root *root, const char *parent, const char *leaf, art_error *err)
{
	_cleanup_free_ char *base = NULL;
	int r;
	if (parent) {
		base = strdup(parent);
		if (!base)
			return art_error_set(err, -ENOMEM, "cgroup v2: out of memory");
	} else {
		_cleanup_free_ char *own = NULL;
		r = read_own_paths(NULL, &own);
		if (r == 0 && !own)
			r = -ENOENT;
		if (r == 0)
			r = v2_own_dir(own, &base);
		if (r == -ENOMEM)
			return art_error_set(err, r, "cgroup v2: out of memory");
		if (r < 0) {
			r = diag_add(root, "our cgroup is not visible in /proc/self/cgroup and mountinfo: %s",
				     strerror(-r));
			r = r < 0 ? r : root_none(root, "cgroup v2", "limits are not enforced");
			return r < 0 ? art_error_set(err, r, "cgroup v2: out of memory") : 0;
		}
	}
	cg_hier *hi = &root->hier[0];
	if (asprintf(&hi->dir, "%s/%s", base, leaf) < 0) {
		hi->dir = NULL;
		return art_error_set(err, -ENOMEM, "cgroup v2: out of memory");
	}
	root->nhier = 1;
	r = make_subtree(hi);
	if (r < 0) {
		if (parent) {
			art_error_set(err, r, "cgroup v2: cannot create %s: %s", hi->dir, strerror(-r));
			root_unmake(root);
			return r;
		}
		r = diag_add(root, "cannot create %s: %s", hi->dir, strerror(-r));
		r = r < 0 ? r : root_none(root, "cgroup v2", "limits are not enforced");
		return r < 0 ? art_error_set(err, r, "cgroup v2: out of memory") : 0;
	}

	char path[PATH_MAX];
	root->version = CG_V2;
	root->procs_hier = 0;
	root->of[C_CPUACCT] = 0; /* cpu.stat is always there */
	root->can_freeze = cg_path(path, root, 0, NULL, "cgroup.freeze") == 0 && exists(path);
	root->has_kill = cg_path(path, root, 0, NULL, "cgroup.kill") == 0 && exists(path);
	if (root->can_freeze)
		root->of[C_FREEZER] = 0;
	root_clean_stale(root);
	root_lock(root);
	root_clean_leftovers(root);

	/* Enable in our subtree what our parent delegates to it; what it
	 * does not, we must not (and cannot) enable from here. */
	char avail[1024] = "";
	if (cg_path(path, root, 0, NULL, "cgroup.controllers") == 0)
		(void)read_small(path, avail, sizeof(avail));
	static const struct {
		int ctrl;
		const char *name;
	} v2c[] = { { C_MEMORY, "memory" }, { C_CPU, "cpu" }, { C_PIDS, "pids" }, { C_BLKIO, "io" } };
	char missing[64] = "";
	for (size_t i = 0; i < ARRAY_SIZE(v2c); i++) {
		if (!has_word(avail, v2c[i].name)) {
			size_t len = strlen(missing);
			snprintf(missing + len, sizeof(missing) - len, "%s%s", len ? " " : "",
				 v2c[i].name);
			continue;
		}
		char plus[16];
		snprintf(plus, sizeof(plus), "+%s", v2c[i].name);
		r = cg_path(path, root, 0, NULL, "cgroup.subtree_control");
		if (r == 0)
			r = write_file(path, plus);
		if (r == 0)
			root->of[v2c[i].ctrl] = 0;
		else if (diag_add(root, "cannot enable %s in %s: %s", v2c[i].name, path,
				  strerror(-r)) < 0)
			return art_error_set(err, -ENOMEM, "cgroup v2: out of memory");
	}
	if (missing[0] && diag_add(root, "controllers not delegated to %s: %s (their limits are not enforced)",
				   base, missing) < 0)
		return art_error_set(err, -ENOMEM, "cgroup v2: out of memory");
	if (!root->can_freeze &&
	    diag_add(root, "no cgroup.freeze (Linux < 5.2): kill falls back to repeated kill loops") < 0)
		return art_error_set(err, -ENOMEM, "cgroup v2: out of memory");

	if (root->of[C_MEMORY] == 0) {
		root->supported |= CG_LIM_MEMORY | CG_LIM_MEMORY_HIGH;
		if (cg_path(path, root, 0, NULL, "memory.swap.max") == 0 && exists(path))
			root->supported |= CG_LIM_SWAP;
		else if (diag_add(root, "no memory.swap.max (swap accounting is off): swap limits are not enforced") < 0)
			return art_error_set(err, -ENOMEM, "cgroup v2: out of memory");
	}
	if (root->of[C_CPU] == 0)
		root->supported |= CG_LIM_CPU | CG_LIM_CPU_WEIGHT;
	if (root->of[C_PIDS] == 0)
		root->supported |= CG_LIM_PIDS;
	if (root->of[C_BLKIO] == 0) {
		/* io.weight comes from blk-iocost, io.bfq.weight from BFQ. */
		static const char *const files[] = { "io.weight", "io.bfq.weight" };
		for (size_t i = 0; i < ARRAY_SIZE(files) && !root->io_file; i++)
			if (cg_path(path, root, 0, NULL, files[i]) == 0 && exists(path))
				root->io_file = files[i];
		if (root->io_file)
			root->supported |= CG_LIM_IO_WEIGHT;
		else if (diag_add(root, "no io.weight: %s", v1_loss[C_BLKIO]) < 0)
			return art_error_set(err, -ENOMEM, "cgroup v2: out of memory");
	}
	r = diag_finish(root, "cgroup v2", NULL);
	return r < 0 ? art_error_set(err, r, "cgroup v2: out of memory") : 0;
}

static bool is_cgroup2(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;
}

int cg_root_open(const char *parent, cg_root **out, art_error *err)
{
	if (parent && !*parent)
		return art_error_set(err, -EINVAL, "cgroup: the parent path is empty");
	cg_root *root = calloc(1, sizeof(*root));
	if (!root)
		return art_error_set(err, -ENOMEM, "cgroup: out of memory");
	list_init(&root->tasks);
	root_reset_of(root);
	root->procs_hier = -1;

	char leaf[64];
	root->lock_fd = -1;
	/* The object's address tells apart the live runtimes of a process. */
	snprintf(leaf, sizeof(leaf), "agentrt.%d.%lx", (int)getpid(),
		 (unsigned long)((uintptr_t)root >> 4));
	/* A hybrid system mounts an empty cgroup2 on /sys/fs/cgroup/unified
	 * and the controllers on v1: that is v1. An explicit parent on a
	 * cgroup2 mount selects v2 even there. */
	bool v2 = is_cgroup2(parent ? parent : CG_MOUNT);
	int r;
	if (parent && !v2 && is_cgroup2(CG_MOUNT))
		r = art_error_set(err, -ENOTDIR, "cgroup v2: %s is not a cgroup2 directory", parent);
	else
		r = v2 ? open_v2(root, parent, leaf, err) : open_v1(root, parent, leaf, err);
	if (r < 0) {
		root_unmake(root);
		root_release(root);
		return r;
	}
	*out = root;
	return 0;
}

void cg_root_free(cg_root *root)
{
	if (!root)
		return;
	list_node *n, *tmp;
	list_for_each_safe(n, tmp, &root->tasks)
		cg_task_destroy(container_of(n, cg_task, node));
	/* Task cgroups whose removal failed are still there, maybe with
	 * members: one kill over the whole subtree, then remove it all. */
	if (root->nhier > 0) {
		char dir[PATH_MAX];
		if (cg_path(dir, root, root->procs_hier, NULL, NULL) == 0 &&
		    scan_procs(dir, NULL, 0) > 0)
			(void)kill_members(root, NULL);
		root_unmake(root);
	}
	root_release(root);
}

cg_version cg_root_version(const cg_root *root)
{
	return root->version;
}

unsigned cg_root_supported(const cg_root *root)
{
	return root->supported;
}

const char *cg_root_diagnostic(const cg_root *root)
{
	return root->diag;
}

const char *cg_root_path(const cg_root *root)
{
	if (root->version == CG_NONE)
		return NULL;
	return root->hier[root->version == CG_V1 ? root->of[C_MEMORY] : 0].dir;
}

/* ------------------------------------------------------------- tasks */

static bool valid_name(const char *name)
{
	size_t n = strnlen(name, NAME_MAX + 1);
	return n > 0 && n <= NAME_MAX && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0;
}

/* A value for a limit file: UINT64_MAX is spelled `unlimited`. */
static void fmt_u64(char *buf, size_t size, uint64_t v, const char *unlimited)
{
	if (v == UINT64_MAX)
		snprintf(buf, size, "%s", unlimited);
	else
		snprintf(buf, size, "%" PRIu64, v);
}

static int set_file(const cg_task *cg, int ctrl, const char *file, const char *value, art_error *err)
{
	char path[PATH_MAX];
	int r = cg_path(path, cg->root, cg->root->of[ctrl], cg->name, file);
	if (r < 0)
		return art_error_set(err, r, "cgroup: path too long under %s",
				     cg->root->hier[cg->root->of[ctrl]].dir);
	r = write_file(path, value);
	if (r < 0)
		return art_error_set(err, r, "cgroup: writing \"%s\" to %s: %s", value, path,
				     strerror(-r));
	return 0;
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int apply_limits(const cg_task *cg, const cg_limits *lim, art_error *err)
{
	const cg_root *root = cg->root;
	unsigned want = lim ? lim->set & root->supported : 0;
	bool v1 = root->version == CG_V1;
	char val[64];
	int r;

	if (want & CG_LIM_MEMORY) {
		fmt_u64(val, sizeof(val), lim->memory_max, v1 ? "-1" : "max");
		r = set_file(cg, C_MEMORY, v1 ? "memory.limit_in_bytes" : "memory.max", val, err);
		if (r < 0)
			return r;
	}
	if (want & CG_LIM_MEMORY_HIGH) {
		fmt_u64(val, sizeof(val), lim->memory_high, v1 ? "-1" : "max");
		r = set_file(cg, C_MEMORY, v1 ? "memory.soft_limit_in_bytes" : "memory.high", val, err);
		if (r < 0)
			return r;
	}
	if (want & CG_LIM_SWAP) {
		if (!v1) {
			fmt_u64(val, sizeof(val), lim->swap_max, "max");
			r = set_file(cg, C_MEMORY, "memory.swap.max", val, err);
			if (r < 0)
				return r;
		} else if (want & CG_LIM_MEMORY) {
			/* v1 limits memory + swap together, and the kernel
			 * refuses a memsw limit below the memory limit,
			 * which is why it is written second. */
			uint64_t sum = lim->memory_max > UINT64_MAX - lim->swap_max
					       ? UINT64_MAX
					       : lim->memory_max + lim->swap_max;
			fmt_u64(val, sizeof(val), sum, "-1");
			r = set_file(cg, C_MEMORY, "memory.memsw.limit_in_bytes", val, err);
			if (r < 0)
				return r;
		}
		/* v1 without a memory limit: memsw cannot go below the
		 * (unlimited) memory limit, so there is nothing to set. */
	}
	if (want & CG_LIM_CPU) {
		/* Quota per 100 ms period; the kernel's floor is 1 ms. 0
		 * thousandths: no quota (a limit lifted while the task runs). */
		uint64_t quota = MAX((uint64_t)lim->cpu_millis * 100, 1000);
		if (v1) {
			r = set_file(cg, C_CPU, "cpu.cfs_period_us", "100000", err);
			if (r < 0)
				return r;
			fmt_u64(val, sizeof(val), lim->cpu_millis ? quota : UINT64_MAX, "-1");
			r = set_file(cg, C_CPU, "cpu.cfs_quota_us", val, err);
		} else {
			if (lim->cpu_millis)
				snprintf(val, sizeof(val), "%" PRIu64 " 100000", quota);
			else
				snprintf(val, sizeof(val), "max 100000");
			r = set_file(cg, C_CPU, "cpu.max", val, err);
		}
		if (r < 0)
			return r;
	}
	if (want & CG_LIM_CPU_WEIGHT) {
		uint64_t w = clamp_u64(lim->cpu_weight, 1, 10000);
		/* systemd's mapping: weight 100 is the default 1024 shares. */
		if (v1)
			w = clamp_u64(w * 1024 / 100, 2, 262144);
		snprintf(val, sizeof(val), "%" PRIu64, w);
		r = set_file(cg, C_CPU, v1 ? "cpu.shares" : "cpu.weight", val, err);
		if (r < 0)
			return r;
	}
	if (want & CG_LIM_PIDS) {
		fmt_u64(val, sizeof(val), lim->pids_max > PIDS_LIMIT_MAX ? UINT64_MAX : lim->pids_max,
			"max");
		r = set_file(cg, C_PIDS, "pids.max", val, err);
		if (r < 0)
			return r;
	}
	if (want & CG_LIM_IO_WEIGHT) {
		uint64_t w = clamp_u64(lim->io_weight, 1, 10000);
		if (strcmp(root->io_file, "io.weight") == 0)
			snprintf(val, sizeof(val), "default %" PRIu64, w);
		else if (strcmp(root->io_file, "blkio.weight") == 0)
			/* 10..1000, default 500 (systemd's mapping). */
			snprintf(val, sizeof(val), "%" PRIu64, clamp_u64(w * 500 / 100, 10, 1000));
		else /* BFQ: 1..1000, default 100 */
			snprintf(val, sizeof(val), "%" PRIu64, clamp_u64(w, 1, 1000));
		r = set_file(cg, C_BLKIO, root->io_file, val, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int task_read_u64(const cg_task *cg, int ctrl, const char *file, uint64_t *v);

int cg_task_update(cg_task *cg, const cg_limits *lim, art_error *err)
{
	const cg_root *root = cg->root;
	if ((lim->set & root->supported) != lim->set)
		return art_error_set(err, -EOPNOTSUPP, "cgroups: %s cannot change that limit",
				     cg->name);
	uint64_t cur;
	if (root->version == CG_V1 && (lim->set & CG_LIM_MEMORY) && (lim->set & CG_LIM_SWAP) &&
	    task_read_u64(cg, C_MEMORY, "memory.limit_in_bytes", &cur) == 0 &&
	    lim->memory_max > cur) {
		/* Raising: the kernel keeps memory <= memory + swap at every
		 * step, so the sum goes up first; apply_limits then writes
		 * memory, and the sum again. */
		uint64_t sum = lim->memory_max > UINT64_MAX - lim->swap_max
				       ? UINT64_MAX
				       : lim->memory_max + lim->swap_max;
		char val[32];
		fmt_u64(val, sizeof(val), sum, "-1");
		int r = set_file(cg, C_MEMORY, "memory.memsw.limit_in_bytes", val, err);
		if (r < 0)
			return r;
	}
	return apply_limits(cg, lim, err);
}

static void task_free(cg_task *cg)
{
	for (int h = 0; h < C_COUNT; h++)
		safe_close(cg->procs_fd[h]);
	safe_close(cg->dir_fd);
	list_remove(&cg->node);
	free(cg);
}

/* Removes the task's directories made so far (h < made). */
static void task_unmake(cg_task *cg, int made)
{
	int64_t deadline = mono_ns() + RMDIR_TIMEOUT_NS;
	char dir[PATH_MAX];
	for (int h = 0; h < made; h++)
		if (cg_path(dir, cg->root, h, cg->name, NULL) == 0)
			(void)rm_tree(dir, deadline, 0);
}

int cg_task_create(cg_root *root, const char *name, const cg_limits *lim, cg_task **out,
		   art_error *err)
{
	if (root->version == CG_NONE)
		return art_error_set(err, -EOPNOTSUPP, "cgroups are not available: %s",
				     root->diag ? root->diag : "unknown reason");
	if (!valid_name(name))
		return art_error_set(err, -EINVAL, "cgroup: \"%s\" is not a valid cgroup name", name);
	size_t len = strlen(name);
	cg_task *cg = calloc(1, sizeof(*cg) + len + 1);
	if (!cg)
		return art_error_set(err, -ENOMEM, "cgroup: out of memory");
	cg->root = root;
	list_init(&cg->node);
	for (int h = 0; h < C_COUNT; h++)
		cg->procs_fd[h] = -1;
	cg->dir_fd = -1;
	memcpy(cg->name, name, len + 1);

	char dir[PATH_MAX];
	int r = 0, h;
	for (h = 0; h < root->nhier; h++) {
		r = cg_path(dir, root, h, name, NULL);
		if (r == 0 && mkdir(dir, 0755) < 0)
			r = -errno;
		if (r < 0) {
			art_error_set(err, r, "cgroup: cannot create %s/%s: %s", root->hier[h].dir, name,
				      strerror(-r));
			break;
		}
	}
	if (r == 0)
		r = apply_limits(cg, lim, err);
	if (r == 0 && root->version == CG_V2) {
		cg_path(dir, root, 0, name, NULL);
		cg->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg->dir_fd < 0) {
			r = -errno;
			art_error_set(err, r, "cgroup: opening %s: %s", dir, strerror(-r));
		}
	}
	if (r < 0) {
		task_unmake(cg, h);
		task_free(cg);
		return r;
	}
	list_add_tail(&root->tasks, &cg->node);
	*out = cg;
	return 0;
}

int cg_task_attach(cg_task *cg, pid_t pid)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (int h = 0; h < cg->root->nhier; h++) {
		int r;
		if (cg->procs_fd[h] >= 0) {
			r = write_fd(cg->procs_fd[h], buf);
		} else {
			char path[PATH_MAX];
			r = cg_path(path, cg->root, h, cg->name, "cgroup.procs");
			if (r == 0)
				r = write_file(path, buf);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int cg_task_procs_fds(cg_task *cg, int *fds, int max)
{
	int n = cg->root->nhier;
	if (max < n)
		return -ENOBUFS;
	for (int h = 0; h < n; h++) {
		if (cg->procs_fd[h] >= 0)
			continue;
		char path[PATH_MAX];
		int r = cg_path(path, cg->root, h, cg->name, "cgroup.procs");
		if (r < 0)
			return r;
		cg->procs_fd[h] = open(path, O_WRONLY | O_CLOEXEC);
		if (cg->procs_fd[h] < 0)
			return -errno;
	}
	for (int h = 0; h < n; h++)
		fds[h] = cg->procs_fd[h];
	return n;
}

int cg_task_dir_fd(const cg_task *cg)
{
	return cg->dir_fd;
}

int cg_task_kill(cg_task *cg)
{
	return kill_members(cg->root, cg->name);
}

int cg_task_populated(cg_task *cg)
{
	char path[PATH_MAX];
	int r;
	if (cg->root->version == CG_V2) {
		/* populated covers the cgroups below too. */
		r = cg_path(path, cg->root, 0, cg->name, "cgroup.events");
		if (r < 0)
			return r;
		uint64_t v;
		r = read_keyed(path, "populated", &v);
		return r < 0 ? r : v != 0;
	}
	r = cg_path(path, cg->root, cg->root->procs_hier, cg->name, NULL);
	return r < 0 ? r : scan_procs(path, NULL, 0);
}

int cg_task_freeze(cg_task *cg, bool frozen)
{
	if (!cg->root->can_freeze)
		return -EOPNOTSUPP;
	int r = freeze_write(cg->root, cg->name, frozen);
	return r < 0 ? r : freeze_wait(cg->root, cg->name, frozen, FREEZE_TIMEOUT_NS);
}

/* Reads file `file` of the task's cgroup of controller ctrl. */
static int task_read_u64(const cg_task *cg, int ctrl, const char *file, uint64_t *v)
{
	char path[PATH_MAX];
	if (cg->root->of[ctrl] < 0)
		return -ENOENT;
	int r = cg_path(path, cg->root, cg->root->of[ctrl], cg->name, file);
	return r < 0 ? r : read_u64(path, v);
}

static int task_read_text(const cg_task *cg, int ctrl, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	if (cg->root->of[ctrl] < 0)
		return -ENOENT;
	int r = cg_path(path, cg->root, cg->root->of[ctrl], cg->name, file);
	if (r < 0)
		return r;
	ssize_t n = read_small(path, buf, size);
	return n < 0 ? (int)n : 0;
}

static int64_t to_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int64_t mul_sat(uint64_t v, int64_t m)
{
	return to_i64(v) > INT64_MAX / m ? INT64_MAX : to_i64(v) * m;
}

static void usage_v1(const cg_task *cg, cg_usage *u)
{
	char text[4096];
	uint64_t a, b;
	if (task_read_u64(cg, C_CPUACCT, "cpuacct.usage_user", &a) == 0 &&
	    task_read_u64(cg, C_CPUACCT, "cpuacct.usage_sys", &b) == 0) {
		u->user_ns = to_i64(a);
		u->system_ns = to_i64(b);
		u->have |= CG_HAVE_CPU;
	} else if (task_read_text(cg, C_CPUACCT, "cpuacct.stat", text, sizeof(text)) == 0 &&
		   keyed_u64(text, "user", &a) == 0 && keyed_u64(text, "system", &b) == 0) {
		/* Before Linux 4.7: ticks of USER_HZ. */
		long hz = sysconf(_SC_CLK_TCK);
		int64_t ns_per_tick = NSEC_PER_SEC / (hz > 0 ? hz : 100);
		u->user_ns = mul_sat(a, ns_per_tick);
		u->system_ns = mul_sat(b, ns_per_tick);
		u->have |= CG_HAVE_CPU;
	}
	if (task_read_u64(cg, C_MEMORY, "memory.max_usage_in_bytes", &a) == 0) {
		u->memory_peak = a;
		u->have |= CG_HAVE_MEMORY_PEAK;
	}
	/* oom_kill appeared in memory.oom_control in Linux 4.13. A charge
	 * that fails counts in memory.memsw.failcnt if it is the memsw limit
	 * that stops it, else in memory.failcnt: the hits are the sum. */
	if (task_read_text(cg, C_MEMORY, "memory.oom_control", text, sizeof(text)) == 0 &&
	    keyed_u64(text, "oom_kill", &a) == 0 &&
	    task_read_u64(cg, C_MEMORY, "memory.failcnt", &b) == 0) {
		uint64_t sw = 0;
		(void)task_read_u64(cg, C_MEMORY, "memory.memsw.failcnt", &sw);
		u->oom_kills = a;
		u->memory_max_hits = b + sw;
		u->have |= CG_HAVE_OOM;
	}
}

static void usage_v2(const cg_task *cg, cg_usage *u)
{
	char text[4096];
	uint64_t a, b;
	if (task_read_text(cg, C_CPUACCT, "cpu.stat", text, sizeof(text)) == 0 &&
	    keyed_u64(text, "user_usec", &a) == 0 && keyed_u64(text, "system_usec", &b) == 0) {
		u->user_ns = mul_sat(a, NSEC_PER_USEC);
		u->system_ns = mul_sat(b, NSEC_PER_USEC);
		u->have |= CG_HAVE_CPU;
	}
	/* memory.peak appeared in Linux 5.19. */
	if (task_read_u64(cg, C_MEMORY, "memory.peak", &a) == 0) {
		u->memory_peak = a;
		u->have |= CG_HAVE_MEMORY_PEAK;
	}
	if (task_read_text(cg, C_MEMORY, "memory.events", text, sizeof(text)) == 0 &&
	    keyed_u64(text, "oom_kill", &a) == 0 && keyed_u64(text, "max", &b) == 0) {
		u->oom_kills = a;
		u->memory_max_hits = b;
		u->have |= CG_HAVE_OOM;
	}
}

int cg_task_usage(cg_task *cg, cg_usage *out)
{
	cg_usage u = { 0 };
	if (cg->root->version == CG_V1)
		usage_v1(cg, &u);
	else
		usage_v2(cg, &u);

	char text[1024];
	uint64_t v;
	if (task_read_text(cg, C_PIDS, "pids.events", text, sizeof(text)) == 0 &&
	    keyed_u64(text, "max", &v) == 0) {
		u.pids_max_hits = v;
		u.have |= CG_HAVE_PIDS;
		/* pids.peak is recent (2024); pids_peak stays 0 without it. */
		if (task_read_u64(cg, C_PIDS, "pids.peak", &v) == 0)
			u.pids_peak = v;
	}
	/* Nothing readable at all: the cgroup is gone or unreadable. */
	if (!u.have) {
		char path[PATH_MAX];
		int r = cg_path(path, cg->root, cg->root->procs_hier, cg->name, NULL);
		if (r == 0 && access(path, F_OK) < 0)
			r = -errno;
		if (r < 0)
			return r;
	}
	*out = u;
	return 0;
}

/* Counts the pids in dir's cgroup.procs and in the cgroups below; -errno
 * when dir's own list is unreadable. */
static int count_procs(const char *dir, int depth)
{
	char path[PATH_MAX], buf[4096];
	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int n = 0;
	ssize_t got;
	while ((got = read(fd, buf, sizeof(buf))) > 0 || (got < 0 && errno == EINTR))
		for (ssize_t i = 0; i < got; i++)
			n += buf[i] == '\n';
	if (depth >= TREE_DEPTH_MAX)
		return n;
	/* Most tasks make no cgroups of their own: a directory without
	 * subdirectories has a link count of 2. */
	struct stat st;
	if (stat(dir, &st) == 0 && st.st_nlink <= 2)
		return n;
	DIR *d = opendir(dir);
	if (!d)
		return n;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		int below;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path) &&
		    (below = count_procs(path, depth + 1)) > 0)
			n += below;
	}
	closedir(d);
	return n;
}

/* Sums "Read N" and "Write N" (v1 blkio), or rbytes= and wbytes= (v2
 * io.stat) over every device. */
static void sum_io(const char *text, bool v2, uint64_t *rd, uint64_t *wr)
{
	*rd = *wr = 0;
	for (const char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *sp = strchr(line, ' ');
		const char *eol = strchrnul(line, '\n');
		if (!sp || sp > eol)
			continue;
		uint64_t v;
		if (!v2) {
			if (strncmp(sp + 1, "Read ", 5) == 0 && parse_u64(sp + 6, &v) == 0)
				*rd += v;
			else if (strncmp(sp + 1, "Write ", 6) == 0 && parse_u64(sp + 7, &v) == 0)
				*wr += v;
			continue;
		}
		const char *r = strstr(sp, " rbytes="), *w = strstr(sp, " wbytes=");
		if (r && r < eol && parse_u64(r + 8, &v) == 0)
			*rd += v;
		if (w && w < eol && parse_u64(w + 8, &v) == 0)
			*wr += v;
	}
}

int cg_task_sample(cg_task *cg, cg_sample *out)
{
	cg_sample s = { 0 };
	char text[4096], path[PATH_MAX];
	uint64_t a;
	bool v2 = cg->root->version == CG_V2;
	if (v2) {
		if (task_read_text(cg, C_CPUACCT, "cpu.stat", text, sizeof(text)) == 0 &&
		    keyed_u64(text, "usage_usec", &a) == 0) {
			s.cpu_ns = mul_sat(a, NSEC_PER_USEC);
			s.have |= CG_SAMPLE_CPU;
		}
	} else if (task_read_u64(cg, C_CPUACCT, "cpuacct.usage", &a) == 0) {
		s.cpu_ns = to_i64(a);
		s.have |= CG_SAMPLE_CPU;
	}
	/* The charge counter, not memory.stat: the kernel flushes the stat
	 * counters lazily, and a small task may read 0 there for seconds. */
	if (task_read_u64(cg, C_MEMORY, v2 ? "memory.current" : "memory.usage_in_bytes", &a) == 0) {
		s.memory_bytes = a;
		s.have |= CG_SAMPLE_MEMORY;
	}
	/* v1: the throttle file counts at the device, whatever the scheduler
	 * (the CFQ-only blkio.io_service_bytes stays empty under others). */
	if (task_read_text(cg, C_BLKIO, v2 ? "io.stat" : "blkio.throttle.io_service_bytes_recursive",
			   text, sizeof(text)) == 0 ||
	    (!v2 && task_read_text(cg, C_BLKIO, "blkio.throttle.io_service_bytes", text,
				   sizeof(text)) == 0)) {
		sum_io(text, v2, &s.io_read_bytes, &s.io_write_bytes);
		s.have |= CG_SAMPLE_IO;
	}
	int procs;
	if (cg_path(path, cg->root, cg->root->procs_hier, cg->name, NULL) == 0 &&
	    (procs = count_procs(path, 0)) >= 0) {
		s.procs = (unsigned)procs;
		s.have |= CG_SAMPLE_PROCS;
	}
	if (!s.have)
		return -ENOENT;
	*out = s;
	return 0;
}

void cg_task_destroy(cg_task *cg)
{
	if (!cg)
		return;
	/* An empty cgroup stays empty: nothing in it can fork. */
	if (cg_task_populated(cg) > 0)
		(void)cg_task_kill(cg);
	/* Our descriptors keep nothing busy, but close them first anyway. */
	for (int h = 0; h < C_COUNT; h++)
		cg->procs_fd[h] = safe_close(cg->procs_fd[h]);
	cg->dir_fd = safe_close(cg->dir_fd);
	task_unmake(cg, cg->root->nhier);
	task_free(cg);
}
