/* SPDX-License-Identifier: MIT */
/* Small macros used everywhere. Base layer: no dependencies. */
#ifndef ART_BASE_MACROS_H
#define ART_BASE_MACROS_H

#include <stddef.h>
#include <stdlib.h>

#define ART_HIDDEN __attribute__((visibility("hidden")))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hands ownership of a pointer over: returns it and leaves NULL behind, so
 * that the cleanup attribute of the old owner does nothing. */
#define steal_ptr(pp)                          \
	({                                     \
		__typeof__(*(pp)) _p = *(pp);  \
		*(pp) = NULL;                  \
		_p;                            \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

#endif
