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

/* Children are listed per thread: an orphan is re-parented to whichever
 * thread of the subreaper the kernel picks. */
int proc_children(pid_t **out)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	pid_t *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[sizeof(de->d_name) + 16];
		snprintf(path, sizeof(path), "%s/children", de->d_name);
		_cleanup_free_ char *list = NULL;
		if (read_all(dirfd(d), path, &list) < 0)
			continue; /* the thread ended meanwhile */
		char *p = list, *end;
		for (long pid; r == 0 && (pid = strtol(p, &end, 10), end != p); p = end)
			r = push_pid(&v, &n, &cap, (pid_t)pid);
	}
	closedir(d);
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	return (int)n;
}

int proc_set_subreaper(int on)
{
	return prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) < 0 ? -errno : 0;
}
