/* SPDX-License-Identifier: MIT */
#include "os/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"

static int push_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		pid_t *nv = realloc(*v, ncap * sizeof(pid_t));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = pid;
	return 0;
}

/* The whole of a small /proc file, NUL-terminated; *out is malloc'd. */
static int read_all(int dirfd, const char *path, char **out)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0, cap = 1024;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + len, cap - 1 - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int r = -errno;
			free(buf);
			return r;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}

static int parse_pids(const char *list, pid_t **v, size_t *n, size_t *cap)
{
	const char *p = list;
	char *end;
	int r = 0;
	for (long pid; r == 0 && (pid = strtol(p, &end, 10), end != p); p = end)
		r = push_pid(v, n, cap, (pid_t)pid);
	return r;
}

/*
 * Children are listed per thread. The kernel hands an orphan to the first
 * live thread of its subreaper (find_new_reaper: the main thread while it
 * lives), so orphans show in the main thread's list. Children started by
 * another thread show in that thread's list: `all_threads` reads them too.
 */
int proc_children(bool all_threads, pid_t **out)
{
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	if (!all_threads) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
		_cleanup_free_ char *list = NULL;
		if (read_all(AT_FDCWD, path, &list) == 0) {
			r = parse_pids(list, &v, &n, &cap);
			goto done;
		}
		/* The main thread is gone: look at every thread. */
	}
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[sizeof(de->d_name) + 16];
		snprintf(path, sizeof(path), "%s/children", de->d_name);
		_cleanup_free_ char *list = NULL;
		if (read_all(dirfd(d), path, &list) < 0)
			continue; /* the thread ended meanwhile */
		r = parse_pids(list, &v, &n, &cap);
	}
	closedir(d);
done:
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	return (int)n;
}

int proc_stat_ids(pid_t pid, pid_t *pgrp, pid_t *sid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *stat = NULL;
	int r = read_all(AT_FDCWD, path, &stat);
	if (r < 0)
		return r;
	/* The command name may hold spaces and ')': fields resume after the
	 * last ')'. Then: state ppid pgrp session. */
	char *p = strrchr(stat, ')');
	int g, s;
	if (!p || sscanf(p + 1, " %*c %*d %d %d", &g, &s) != 2)
		return -EINVAL;
	*pgrp = g;
	*sid = s;
	return 0;
}

int proc_set_subreaper(int on)
{
	return prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) < 0 ? -errno : 0;
}
