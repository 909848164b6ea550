/* SPDX-License-Identifier: MIT */
/* Memory capacity and pressure, from /proc and the cgroup tree. */
#include "os/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fd.h"

int mem_info(uint64_t *total, uint64_t *available)
{
	char buf[4096];
	int r = fd_read_small("/proc/meminfo", buf, sizeof(buf));
	if (r < 0)
		return r;
	const char *t = strstr(buf, "MemTotal:");
	const char *a = strstr(buf, "MemAvailable:");
	if (!t || !a)
		return -ENODATA;
	*total = strtoull(t + 9, NULL, 10) * 1024;
	*available = strtoull(a + 13, NULL, 10) * 1024;
	return 0;
}

int mem_pressure_some_avg10(double *pct)
{
	char buf[256];
	int r = fd_read_small("/proc/pressure/memory", buf, sizeof(buf));
	if (r < 0)
		return r == -EOPNOTSUPP ? -ENOENT : r;
	const char *p = strstr(buf, "some avg10=");
	if (!p)
		return -ENODATA;
	*pct = strtod(p + 11, NULL);
	return 0;
}

/* A value of a cgroup attribute; "max" (v2) and v1's "no limit" (a number
 * near 2^63) both read as UINT64_MAX. */
static int read_u64(const char *dir, const char *name, uint64_t *out)
{
	char path[4096], buf[64];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	int r = fd_read_small(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (strncmp(buf, "max", 3) == 0) {
		*out = UINT64_MAX;
		return 0;
	}
	*out = strtoull(buf, NULL, 10);
	if (*out >= (UINT64_C(1) << 62))
		*out = UINT64_MAX;
	return 0;
}

/* The smallest limit - usage from dir up to the hierarchy's root. */
static void walk_up(char *dir, size_t root_len, const char *limit, const char *usage,
		    uint64_t *room)
{
	for (;;) {
		uint64_t lim, use;
		if (read_u64(dir, limit, &lim) == 0 && lim != UINT64_MAX &&
		    read_u64(dir, usage, &use) == 0) {
			uint64_t left = use < lim ? lim - use : 0;
			if (left < *room)
				*room = left;
		}
		char *slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < root_len)
			return;
		*slash = 0;
	}
}

int mem_cgroup_room(uint64_t *room)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	uint64_t best = UINT64_MAX;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		const char *controllers = c1 + 1, *path = c2 + 1;
		char dir[4096];
		if (strcmp(controllers, "memory") == 0) {
			int n = snprintf(dir, sizeof(dir), "/sys/fs/cgroup/memory%s", path);
			if (n > 0 && (size_t)n < sizeof(dir))
				walk_up(dir, strlen("/sys/fs/cgroup/memory"), "memory.limit_in_bytes",
					"memory.usage_in_bytes", &best);
		} else if (!*controllers) {
			/* v2: the unified tree, mounted alone or beside v1. */
			static const char *const roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
			for (size_t i = 0; i < 2; i++) {
				int n = snprintf(dir, sizeof(dir), "%s%s", roots[i], path);
				if (n > 0 && (size_t)n < sizeof(dir))
					walk_up(dir, strlen(roots[i]), "memory.max", "memory.current",
						&best);
			}
		}
	}
	free(line);
	fclose(f);
	if (best == UINT64_MAX)
		return -ENOENT;
	*room = best;
	return 0;
}
