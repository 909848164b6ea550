/* SPDX-License-Identifier: MIT */
#include "sandbox/view.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"

/* Files under /proc that tell too much about the host or change it. */
static const char *const proc_masked_files[] = {
	"/proc/kcore",	      "/proc/sysrq-trigger", "/proc/keys",	   "/proc/timer_list",
	"/proc/latency_stats", "/proc/sched_debug",   "/proc/kallsyms",   "/proc/kmsg",
	"/proc/config.gz",
};
static const char *const proc_masked_dirs[] = { "/proc/acpi", "/proc/scsi", "/proc/asound" };
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
static const struct {
	const char *path, *target;
} dev_links[] = {
	{ "/dev/fd", "/proc/self/fd" },	     { "/dev/stdin", "/proc/self/fd/0" },
	{ "/dev/stdout", "/proc/self/fd/1" }, { "/dev/stderr", "/proc/self/fd/2" },
	{ "/dev/ptmx", "pts/ptmx" },
};

static char *keep(view_plan *pl, char *s)
{
	if (!s)
		return NULL;
	if (pl->n_strings == pl->cap_strings) {
		size_t cap = pl->cap_strings ? 2 * pl->cap_strings : 32;
		char **v = realloc(pl->strings, cap * sizeof(*v));
		if (!v) {
			free(s);
			return NULL;
		}
		pl->strings = v;
		pl->cap_strings = cap;
	}
	pl->strings[pl->n_strings++] = s;
	return s;
}

static char *keepf(view_plan *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *keepf(view_plan *pl, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : keep(pl, s);
}

static int add(view_plan *pl, mnt_kind kind, unsigned flags, const char *source,
	       const char *target, int index)
{
	if ((source == NULL && (kind == MNT_BIND || kind == MNT_SYMLINK)) || !target)
		return -ENOMEM; /* a failed keep() */
	if (pl->n == pl->cap) {
		size_t cap = pl->cap ? 2 * pl->cap : 64;
		mnt_entry *e = realloc(pl->entries, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		pl->entries = e;
		pl->cap = cap;
	}
	pl->entries[pl->n++] = (mnt_entry){ .kind = kind, .flags = flags, .source = source,
					    .target = target, .index = index, .fd = -1,
					    .idmap_fd = -1 };
	return 0;
}

static char *tmpfs_opts(view_plan *pl, const char *mode, uint64_t size)
{
	return keepf(pl, "mode=%s,size=%" PRIu64, mode, size ? size : VIEW_TMPFS_DEFAULT);
}

/* Top-level entries that the view provides itself. */
static bool special_top(const char *name)
{
	static const char *const names[] = { "proc", "dev", "tmp", "run", "root", "home", "sys" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static int add_skeleton(view_plan *pl, const char *rootfs, art_error *err)
{
	DIR *d = opendir(rootfs);
	if (!d)
		return art_error_set(err, -errno, "sandbox.rootfs: %s: %s", rootfs, strerror(errno));
	int dfd = dirfd(d);
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || special_top(name))
			continue;
		struct stat st;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char *target = keepf(pl, "/%s", name);
		if (S_ISLNK(st.st_mode)) {
			char buf[PATH_MAX];
			ssize_t n = readlinkat(dfd, name, buf, sizeof(buf) - 1);
			if (n < 0)
				continue;
			buf[n] = 0;
			r = add(pl, MNT_SYMLINK, 0, keep(pl, strdup(buf)), target, -1);
		} else if (S_ISDIR(st.st_mode)) {
			char *src = strcmp(rootfs, "/") == 0 ? keepf(pl, "/%s", name)
							      : keepf(pl, "%s/%s", rootfs, name);
			r = add(pl, MNT_BIND, MNT_F_RO, src, target, -1);
		}
	}
	closedir(d);
	return r < 0 ? art_error_set(err, r, "sandbox: out of memory") : 0;
}

static int add_system(view_plan *pl, const view_config *cfg)
{
	int r = 0;
	r = r ?: add(pl, MNT_PROC, 0, NULL, "/proc", -1);
	for (size_t i = 0; i < ARRAY_SIZE(proc_masked_files); i++)
		r = r ?: add(pl, MNT_BIND, MNT_F_RO | MNT_F_FILE | MNT_F_OPTIONAL | MNT_F_DEV,
			     "/dev/null", proc_masked_files[i], -1);
	for (size_t i = 0; i < ARRAY_SIZE(proc_masked_dirs); i++)
		r = r ?: add(pl, MNT_TMPFS, MNT_F_RO | MNT_F_OPTIONAL, keep(pl, strdup("size=4k")),
			     proc_masked_dirs[i], -1);

	r = r ?: add(pl, MNT_TMPFS, MNT_F_NOEXEC, keep(pl, strdup("mode=0755,size=64k")), "/dev", -1);
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++)
		r = r ?: add(pl, MNT_BIND, MNT_F_FILE | MNT_F_DEV | MNT_F_OPTIONAL,
			     keepf(pl, "/dev/%s", dev_nodes[i]), keepf(pl, "/dev/%s", dev_nodes[i]),
			     -1);
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		r = r ?: add(pl, MNT_SYMLINK, 0, dev_links[i].target, dev_links[i].path, -1);
	r = r ?: add(pl, MNT_TMPFS, 0, tmpfs_opts(pl, "1777", 0), "/dev/shm", -1);
	r = r ?: add(pl, MNT_DEVPTS, 0, NULL, "/dev/pts", -1);
	r = r ?: add(pl, MNT_READONLY, 0, NULL, "/dev", -1);

	r = r ?: add(pl, MNT_TMPFS, 0, tmpfs_opts(pl, "1777", cfg->tmp_size), "/tmp", -1);
	r = r ?: add(pl, MNT_TMPFS, 0, keep(pl, strdup("mode=0755,size=1m")), "/run", -1);
	r = r ?: add(pl, MNT_TMPFS, 0, tmpfs_opts(pl, "0700", 0), "/root", -1);
	r = r ?: add(pl, MNT_TMPFS, 0, tmpfs_opts(pl, "0755", 0), "/home", -1);
	/* A sysfs mounted in the task's network namespace lists its own
	 * interfaces; one of the host's would list the host's. */
	if (cfg->new_net)
		r = r ?: add(pl, MNT_SYSFS, MNT_F_RO, NULL, "/sys", -1);
	else
		r = r ?: add(pl, MNT_BIND, MNT_F_RO | MNT_F_OPTIONAL, "/sys", "/sys", -1);
	r = r ?: add(pl, MNT_TMPFS, MNT_F_RO | MNT_F_OPTIONAL, keep(pl, strdup("size=4k")),
		     "/sys/firmware", -1);
	return r;
}

static bool absolute_clean(const char *path)
{
	if (path[0] != '/')
		return false;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
	}
	return true;
}

int view_plan_build(const view_config *cfg, view_plan *out, art_error *err)
{
	view_plan pl = { 0 };
	const char *rootfs = cfg->rootfs ? cfg->rootfs : "/";
	int r = add_skeleton(&pl, rootfs, err);
	if (r == 0 && (r = add_system(&pl, cfg)) < 0)
		art_error_set(err, r, "sandbox: out of memory");

	for (size_t i = 0; r == 0 && i < cfg->n_binds; i++) {
		const view_bind *b = &cfg->binds[i];
		struct stat st;
		if (!absolute_clean(b->target)) {
			r = art_error_set(err, -EINVAL,
					  "sandbox.binds[%zu]: target %s must be an absolute path "
					  "without . or ..",
					  i, b->target);
		} else if (stat(b->source, &st) < 0) {
			r = art_error_set(err, -errno, "sandbox.binds[%zu]: %s: %s", i, b->source,
					  strerror(errno));
		} else {
			unsigned flags = (b->rw ? 0 : MNT_F_RO) | (S_ISDIR(st.st_mode) ? 0 : MNT_F_FILE);
			r = add(&pl, MNT_BIND, flags, keep(&pl, strdup(b->source)),
				keep(&pl, strdup(b->target)), (int)i);
			if (r < 0)
				art_error_set(err, r, "sandbox: out of memory");
		}
	}
	for (size_t i = 0; r == 0 && i < cfg->n_tmpfs; i++) {
		const view_tmpfs *t = &cfg->tmpfs[i];
		if (!absolute_clean(t->target)) {
			r = art_error_set(err, -EINVAL,
					  "sandbox.tmpfs[%zu]: target %s must be an absolute path "
					  "without . or ..",
					  i, t->target);
			break;
		}
		r = add(&pl, MNT_TMPFS, 0, tmpfs_opts(&pl, "0755", t->size),
			keep(&pl, strdup(t->target)), (int)i);
		if (r < 0)
			art_error_set(err, r, "sandbox: out of memory");
	}
	if (r == 0 && cfg->ws_target) {
		r = add(&pl, MNT_OVERLAY, cfg->ws_idmap ? MNT_F_IDMAP : 0, keep(&pl, strdup(cfg->ws_lower)),
			keep(&pl, strdup(cfg->ws_target)), -1);
		if (r == 0) {
			mnt_entry *e = &pl.entries[pl.n - 1];
			e->upper = keep(&pl, strdup(cfg->ws_upper));
			e->work = keep(&pl, strdup(cfg->ws_work));
			if (!e->upper || !e->work)
				r = -ENOMEM;
		}
		if (r < 0)
			art_error_set(err, r, "sandbox: out of memory");
	}
	if (r < 0) {
		view_plan_free(&pl);
		return r;
	}
	*out = pl;
	return 0;
}

void view_plan_free(view_plan *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		safe_close(pl->entries[i].fd);
	for (size_t i = 0; i < pl->n_strings; i++)
		free(pl->strings[i]);
	free(pl->strings);
	free(pl->entries);
	*pl = (view_plan){ 0 };
}
