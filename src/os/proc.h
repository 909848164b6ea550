/* SPDX-License-Identifier: MIT */
/* Reading the process tree from /proc. */
#ifndef ART_OS_PROC_H
#define ART_OS_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Children of this process: of its main thread, where orphans land, or of
 * all its threads. *out is malloc'd. Returns the count or a negative errno. */
int proc_children(bool all_threads, pid_t **out);
/* The process group and session of a process, from /proc/PID/stat. */
int proc_stat_ids(pid_t pid, pid_t *pgrp, pid_t *sid);
/* Becomes (or stops being) a child subreaper: orphans of our descendants
 * are then re-parented to us instead of to init. */
int proc_set_subreaper(int on);

#endif
