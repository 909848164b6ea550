/* SPDX-License-Identifier: MIT */
#ifndef ART_BASE_TIME_H
#define ART_BASE_TIME_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_USEC INT64_C(1000)
#define NSEC_PER_MSEC INT64_C(1000000)
#define NSEC_PER_SEC INT64_C(1000000000)

static inline int64_t now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static inline int64_t mono_ns(void)
{
	return now_ns(CLOCK_MONOTONIC);
}

static inline int64_t timeval_ns(long sec, long usec)
{
	return (int64_t)sec * NSEC_PER_SEC + (int64_t)usec * NSEC_PER_USEC;
}

#endif
