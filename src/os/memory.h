/* SPDX-License-Identifier: MIT */
/* How much memory there is, and how hard the kernel works to find it. */
#ifndef ART_OS_MEMORY_H
#define ART_OS_MEMORY_H

#include <stdint.h>

/* MemTotal and MemAvailable from /proc/meminfo, in bytes. */
int mem_info(uint64_t *total, uint64_t *available);
/* The memory PSI "some avg10" (percent of the last 10 s in which some
 * task stalled on memory). -ENOENT without PSI (kernel without it, or
 * psi=0). */
int mem_pressure_some_avg10(double *pct);
/* Room left under the memory limits of this process's own cgroup and its
 * ancestors (the smallest limit - usage), v1 or v2. -ENOENT: no limit. */
int mem_cgroup_room(uint64_t *room);

#endif
