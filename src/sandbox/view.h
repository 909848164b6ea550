/* SPDX-License-Identifier: MIT */
/*
 * The filesystem view of a sandboxed task, turned into a mount plan (see
 * isolate.h) by the runtime before the clone:
 *
 *   /            a tmpfs, read-only once built, holding one entry per
 *                top-level entry of the root (the host's or `rootfs`):
 *                directories bound read-only, nosuid, nodev; symlinks copied
 *   /proc        a new procfs of the task's pid namespace, with kcore,
 *                sysrq-trigger, keys, timer_list... masked
 *   /dev         a small tmpfs: null zero full random urandom tty (bound
 *                from the host's), fd/stdin/stdout/stderr links, shm, pts
 *   /tmp         a private tmpfs of tmp_size
 *   /root /home  empty tmpfs (the host's homes are not visible) unless bound
 *   /run         an empty tmpfs (the host's sockets are not reachable)
 *   /sys         read-only: a sysfs of the task's own network namespace
 *                (the host's interfaces are not listed), or the host's
 *                when it shares the host's network; /sys/firmware masked
 *
 * then the spec's binds and tmpfs mounts, then the workspace overlay.
 */
#ifndef ART_SANDBOX_VIEW_H
#define ART_SANDBOX_VIEW_H

#include <agentrt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/isolate.h"

typedef struct view_bind {
	const char *source; /* host path */
	const char *target; /* inside */
	bool rw;
} view_bind;

typedef struct view_tmpfs {
	const char *target;
	uint64_t size; /* bytes, 0: the default (64 MiB) */
} view_tmpfs;

typedef struct view_config {
	const char *rootfs; /* NULL: the host's root */
	const view_bind *binds;
	size_t n_binds;
	const view_tmpfs *tmpfs;
	size_t n_tmpfs;
	uint64_t tmp_size; /* 0: the default */
	bool new_net;      /* the task has its own network namespace */
	/* The workspace overlay, when ws_target is set. */
	const char *ws_lower, *ws_upper, *ws_work, *ws_target;
	/* The runtime is root and maps the task's root elsewhere: show the
	 * base through an idmapped mount, so that files owned by root on the
	 * host belong to the task's root (and copy-up works). */
	bool ws_idmap;
} view_config;

typedef struct view_plan {
	mnt_entry *entries;
	size_t n, cap;
	char **strings; /* what the entries point to */
	size_t n_strings, cap_strings;
} view_plan;

#define VIEW_TMPFS_DEFAULT (64u << 20)

/* Checks the sources (a missing one is an error naming it, with the
 * spec's field: "sandbox.binds[1]: /data: No such file or directory") and
 * builds the plan. */
int view_plan_build(const view_config *cfg, view_plan *out, art_error *err);
void view_plan_free(view_plan *plan);

#endif
