/* SPDX-License-Identifier: MIT */
/* Descriptor helpers. A descriptor variable that owns nothing holds -1. */
#ifndef ART_BASE_FD_H
#define ART_BASE_FD_H

#include <errno.h>
#include <sys/types.h>
#include <unistd.h>

/* Closes fd if it is valid, keeping errno; returns -1 for `fd = safe_close(fd)`. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}

static inline void closep(int *fd)
{
	*fd = safe_close(*fd);
}
#define _cleanup_close_ __attribute__((cleanup(closep)))

/* Hands a descriptor over: returns it and leaves -1 behind. */
#define take_fd(fdp)              \
	({                        \
		int _fd = *(fdp); \
		*(fdp) = -1;      \
		_fd;              \
	})

int fd_set_nonblock(int fd, int on);
/* Moves fd to a number >= min (the copy is close-on-exec), closing the
 * original, also on failure. An fd already >= min is returned as it is.
 * Used so that a child's dup2 onto 0..2 never finds a source in that range. */
int fd_move_above(int fd, int min);
/* Reads a small file (/proc, cgroup attributes) into buf, NUL-terminated;
 * at most size - 1 bytes. Returns the length or a negative errno. */
ssize_t fd_read_small(const char *path, char *buf, size_t size);
/* The number of open descriptors of this process (for leak checks). */
int fd_count_open(void);

#endif
