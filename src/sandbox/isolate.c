/* SPDX-License-Identifier: MIT */
/*
 * The sandboxed start (see isolate.h). Security reasoning, in order:
 *
 *  - The user and pid namespaces come from clone3 itself, so the child
 *    never exists in the host's pid namespace as a process that could be
 *    signalled by others. The others (mount, ipc, uts, net, cgroup) are
 *    unshared by the init before it runs anything else: the network
 *    namespace alone costs about a millisecond, which is then spent in the
 *    child, not on the runtime's loop thread.
 *  - The child waits for a "go" byte: by then the runtime has written the
 *    uid/gid maps (an unprivileged child cannot map anything but its own
 *    id, a root runtime maps root inside to an unprivileged id outside so
 *    that host files owned by root stay out of reach) and put it in its
 *    cgroup, so no process of the task ever runs outside the cgroup.
 *  - Every host path the view needs is cloned (open_tree) before anything
 *    is mounted over the host tree, so sources resolve in the host's view,
 *    symlinks included, as the spec's author meant.
 *  - Targets are resolved with openat2(RESOLVE_IN_ROOT) against the new
 *    root: a symlink planted in a bind (by an earlier task, say) can only
 *    lead somewhere inside the new root, never to the host.
 *  - The new root is a tmpfs that becomes read-only once built; the old
 *    root is detached entirely (pivot_root(".", ".") then a lazy unmount).
 *  - Capabilities: the bounding set is emptied (an exec as uid 0 inside
 *    would otherwise get them all back), then no_new_privs, then seccomp,
 *    which is the last thing before execve.
 */
#include "sandbox/isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"
#include "base/time.h"
#include "os/pidfd.h"

#define NO_SAN __attribute__((no_sanitize("address", "undefined")))

/* Signals the init passes on to the task; it needs a handler for each, as
 * the kernel drops signals to a namespace's init that it does not handle. */
static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
				 SIGWINCH, SIGCONT, SIGALRM };

typedef struct child_ctx {
	const isolate_params *p;
	spawn_params task; /* what the task runs: p->base, or a launch message's */
	int report_fd;     /* the init's end of the message socket */
	int go_fd;         /* read end of the "go" pipe */
} child_ctx;

/* ------------------------------------------------------------ messages */

NO_SAN static void send_msg(int fd, const isolate_msg *m)
{
	while (send(fd, m, sizeof(*m), MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

__attribute__((noreturn)) NO_SAN static void fail_now(const child_ctx *c, int err,
						      art_stage stage, int index)
{
	isolate_msg m = { .kind = ISO_MSG_FAILED, .err = err, .stage = stage, .index = index };
	send_msg(c->report_fd, &m);
	_exit(127);
}

/* A message that carries a descriptor (SCM_RIGHTS). */
NO_SAN static int send_fd(int sock, isolate_msg_kind kind, int fd)
{
	isolate_msg m = { .kind = kind };
	struct iovec iov = { &m, sizeof(m) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

NO_SAN static int recv_fd_msg(int fd, isolate_msg *m, int *passed_fd)
{
	struct iovec iov = { m, sizeof(*m) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	while ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	if (n != (ssize_t)sizeof(*m))
		return -EPROTO;
	*passed_fd = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(passed_fd, CMSG_DATA(cm), sizeof(int));
	return 0;
}

/* A launch message (deferred sandboxes): an isolate_msg, a launch_hdr, the
 * rlimits, then NUL-terminated strings: exec paths, argv, envp, cwd (empty:
 * none). The task's stdio comes as SCM_RIGHTS, in order, for each stdio
 * slot whose stdio_fd is set. */
typedef struct launch_hdr {
	uint32_t n_paths, n_argv, n_envp, n_rlimits;
	uint32_t stdio_passed; /* bit i: slot i's descriptor is among those passed */
	uint32_t strings_len;
	uint32_t pad; /* the rlimits that follow start 8-byte aligned */
} launch_hdr;
_Static_assert((sizeof(isolate_msg) + sizeof(launch_hdr)) % _Alignof(spawn_rlimit) == 0,
	       "launch rlimits misaligned");

/* Into a fresh mapping: the init may not allocate, and the task inherits
 * the mapping when it is forked. */
NO_SAN static void *map_anon(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

/* Points `out[0..n)` at the next n strings of [*pos, end); NULL-terminated. */
NO_SAN static int take_strings(const char **pos, const char *end, uint32_t n, char **out)
{
	for (uint32_t i = 0; i < n; i++) {
		const char *s = *pos;
		while (*pos < end && **pos)
			(*pos)++;
		if (*pos >= end)
			return -EPROTO;
		(*pos)++;
		out[i] = (char *)s;
	}
	out[n] = NULL;
	return 0;
}

/* Blocks until the runtime sends the task to run, and fills c->task with
 * it. EOF means the runtime no longer wants this sandbox. */
NO_SAN static int receive_launch(child_ctx *c)
{
	char *buf = map_anon(ISOLATE_LAUNCH_MAX);
	if (!buf)
		return -ENOMEM;
	struct iovec iov = { buf, ISOLATE_LAUNCH_MAX };
	union {
		char cbuf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.cbuf,
			     .msg_controllen = sizeof(u.cbuf) };
	ssize_t n;
	while ((n = recvmsg(c->report_fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		_exit(0);
	int fds[3] = { -1, -1, -1 }, n_fds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			n_fds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (n_fds > 3)
				n_fds = 3;
			memcpy(fds, CMSG_DATA(cm), (size_t)n_fds * sizeof(int));
		}
	const isolate_msg *m = (const isolate_msg *)buf;
	const launch_hdr *h = (const launch_hdr *)(buf + sizeof(*m));
	size_t fixed = sizeof(*m) + sizeof(*h);
	if ((size_t)n < fixed || m->kind != ISO_MSG_LAUNCH || h->n_rlimits > 16 ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -EPROTO;
	const spawn_rlimit *rl = (const spawn_rlimit *)(buf + fixed);
	const char *pos = (const char *)(rl + h->n_rlimits), *end = buf + n;
	if (pos > end || (size_t)(end - pos) != h->strings_len)
		return -EPROTO;
	size_t n_ptrs = (size_t)h->n_paths + h->n_argv + h->n_envp + 4;
	char **ptrs = map_anon(n_ptrs * sizeof(char *));
	if (!ptrs)
		return -ENOMEM;
	char **paths = ptrs, **argv = paths + h->n_paths + 1, **envp = argv + h->n_argv + 1;
	char **cwd = envp + h->n_envp + 1;
	if (take_strings(&pos, end, h->n_paths, paths) < 0 ||
	    take_strings(&pos, end, h->n_argv, argv) < 0 ||
	    take_strings(&pos, end, h->n_envp, envp) < 0 || take_strings(&pos, end, 1, cwd) < 0)
		return -EPROTO;

	spawn_params *t = &c->task;
	t->exec_paths = (const char *const *)paths;
	t->argv = argv;
	t->envp = envp;
	t->cwd = cwd[0][0] ? cwd[0] : NULL;
	t->rlimits = rl;
	t->n_rlimits = h->n_rlimits;
	for (int i = 0, next = 0; i < 3; i++) {
		t->stdio[i] = -1;
		if (!(h->stdio_passed & (1u << i)))
			continue;
		if (next >= n_fds)
			return -EPROTO;
		int fd = fds[next++];
		/* Above the slots, so placing one cannot clobber another. */
		if (fd < 3) {
			int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			if (moved < 0)
				return -errno;
			fd = moved;
		}
		t->stdio[i] = fd;
	}
	return 0;
}

/* ------------------------------------------------------------ small syscalls */

NO_SAN static int sys_open_tree(int dfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}

NO_SAN static int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to,
				 unsigned flags)
{
	return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

NO_SAN static int sys_mount_setattr(int dfd, const char *path, unsigned flags, uint64_t set)
{
	struct mount_attr attr = { .attr_set = set };
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, &attr, sizeof(attr));
}

NO_SAN static int sys_fsopen(const char *fs)
{
	return (int)syscall(SYS_fsopen, fs, FSOPEN_CLOEXEC);
}

NO_SAN static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, value, 0);
}

NO_SAN static int sys_fsmount(int fd, uint64_t attrs)
{
	return (int)syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs);
}

NO_SAN static int sys_openat2(int dfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = { .flags = flags, .resolve = resolve };
	return (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

NO_SAN static size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

/* ------------------------------------------------------------ the view */

static uint64_t mount_attrs(unsigned flags)
{
	uint64_t a = MOUNT_ATTR_NOSUID;
	if (!(flags & MNT_F_DEV))
		a |= MOUNT_ATTR_NODEV;
	if (flags & MNT_F_RO)
		a |= MOUNT_ATTR_RDONLY;
	if (flags & MNT_F_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	return a;
}

/* A new superblock of `fs`, detached, with options "a=b,c" applied. */
NO_SAN static int make_fs(const char *fs, const char *opts, unsigned flags)
{
	int fd = sys_fsopen(fs);
	if (fd < 0)
		return -errno;
	char kv[256];
	for (const char *o = opts; o && *o;) {
		size_t len = 0;
		while (o[len] && o[len] != ',')
			len++;
		if (len >= sizeof(kv)) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(kv, o, len);
		kv[len] = 0;
		char *eq = kv;
		while (*eq && *eq != '=')
			eq++;
		int r;
		if (*eq) {
			*eq = 0;
			r = sys_fsconfig(fd, FSCONFIG_SET_STRING, kv, eq + 1);
		} else {
			r = sys_fsconfig(fd, FSCONFIG_SET_FLAG, kv, NULL);
		}
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		o += len + (o[len] == ',');
	}
	if (sys_fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	int mfd = sys_fsmount(fd, mount_attrs(flags));
	int e = errno;
	close(fd);
	return mfd < 0 ? -e : mfd;
}

NO_SAN static int make_overlay(const mnt_entry *m)
{
	/* The idmapped view of the base goes over the base's path in our
	 * own mount namespace, where overlayfs finds it by name. */
	if (m->idmap_fd >= 0 &&
	    sys_move_mount(m->idmap_fd, "", AT_FDCWD, m->source, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	int fd = sys_fsopen("overlay");
	if (fd < 0)
		return -errno;
	/* userxattr: in a user namespace overlayfs may only use user.*
	 * xattrs (whiteouts and opaque markers). */
	if (sys_fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir", m->source) < 0 ||
	    sys_fsconfig(fd, FSCONFIG_SET_STRING, "upperdir", m->upper) < 0 ||
	    sys_fsconfig(fd, FSCONFIG_SET_STRING, "workdir", m->work) < 0 ||
	    sys_fsconfig(fd, FSCONFIG_SET_FLAG, "userxattr", NULL) < 0 ||
	    sys_fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	int mfd = sys_fsmount(fd, mount_attrs(m->flags));
	int e = errno;
	close(fd);
	return mfd < 0 ? -e : mfd;
}

/* Phase 1, in the host's view: every mount is made detached. */
NO_SAN static int prepare_mount(mnt_entry *m)
{
	int fd;
	switch (m->kind) {
	case MNT_BIND:
		fd = sys_open_tree(AT_FDCWD, m->source,
				   OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (fd < 0)
			return (errno == ENOENT && (m->flags & MNT_F_OPTIONAL)) ? 0 : -errno;
		/* Attributes only ever get stricter: flags locked by a more
		 * privileged namespace cannot be cleared, and we never try. */
		if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, mount_attrs(m->flags)) <
		    0) {
			int e = errno;
			close(fd);
			return -e;
		}
		break;
	case MNT_TMPFS:
		fd = make_fs("tmpfs", m->source, m->flags);
		break;
	case MNT_PROC:
		/* subset=pid would hide /proc/sys and friends; the masks below
		 * cover the dangerous files while keeping what tools read. */
		fd = make_fs("proc", NULL, m->flags | MNT_F_NOEXEC);
		break;
	case MNT_DEVPTS:
		fd = make_fs("devpts", "newinstance,ptmxmode=0666,mode=0620", m->flags | MNT_F_NOEXEC);
		break;
	case MNT_SYSFS:
		fd = make_fs("sysfs", NULL, m->flags | MNT_F_NOEXEC);
		break;
	case MNT_OVERLAY:
		fd = make_overlay(m);
		break;
	default:
		return 0;
	}
	if (fd < 0)
		return fd;
	m->fd = fd;
	return 0;
}

/* Opens target (relative to the new root) as an O_PATH descriptor,
 * creating missing components (directories, or a file for the last one
 * when `file`). Resolution never leaves the new root. */
NO_SAN static int open_target(int root, const char *target, bool file, bool create)
{
	int fd = sys_openat2(root, target, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd >= 0 ? fd : -errno;

	char path[PATH_MAX];
	size_t len = str_len(target);
	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, target, len + 1);
	int dir = sys_openat2(root, "/", O_PATH | O_CLOEXEC | O_DIRECTORY, RESOLVE_IN_ROOT);
	if (dir < 0)
		return -errno;
	char *p = path;
	while (*p == '/')
		p++;
	while (*p) {
		char *end = p;
		while (*end && *end != '/')
			end++;
		bool last = true;
		for (char *q = end; *q; q++)
			if (*q != '/')
				last = false;
		char saved = *end;
		*end = 0;
		int next = sys_openat2(dir, p, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		if (next < 0 && errno == ENOENT) {
			int r;
			if (last && file) {
				r = openat(dir, p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
				if (r >= 0)
					close(r);
			} else {
				r = mkdirat(dir, p, 0755);
			}
			if (r < 0 && errno != EEXIST) {
				int e = errno;
				close(dir);
				return -e;
			}
			next = sys_openat2(dir, p, O_PATH | O_CLOEXEC,
					   RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
		}
		int e = errno;
		close(dir);
		if (next < 0)
			return -e;
		dir = next;
		*end = saved;
		p = end;
		while (*p == '/')
			p++;
	}
	return dir;
}

/* Phase 2, in the new root (attached at the staging point): skeleton,
 * then the prepared mounts moved into place, in plan order. */
NO_SAN static int place_mount(int root, mnt_entry *m)
{
	int tfd, r = 0;
	switch (m->kind) {
	case MNT_DIR:
		tfd = open_target(root, m->target, false, true);
		break;
	case MNT_SYMLINK: {
		char dir[PATH_MAX];
		size_t len = str_len(m->target), slash = len;
		while (slash > 0 && m->target[slash - 1] != '/')
			slash--;
		if (slash == 0 || len >= sizeof(dir))
			return -EINVAL;
		memcpy(dir, m->target, slash);
		dir[slash] = 0;
		int dfd = open_target(root, dir, false, true);
		if (dfd < 0)
			return dfd;
		r = symlinkat(m->source, dfd, m->target + slash);
		r = r < 0 && errno != EEXIST ? -errno : 0;
		close(dfd);
		return r;
	}
	case MNT_READONLY:
		tfd = open_target(root, m->target, false, false);
		if (tfd < 0)
			return tfd;
		r = sys_mount_setattr(tfd, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY);
		r = r < 0 ? -errno : 0;
		close(tfd);
		return r;
	default:
		if (m->fd < 0)
			return 0; /* optional and missing */
		tfd = open_target(root, m->target, m->flags & MNT_F_FILE, true);
		if (tfd < 0 && (m->flags & MNT_F_OPTIONAL)) {
			m->fd = safe_close(m->fd); /* nothing to mask here */
			return 0;
		}
		if (tfd < 0)
			return tfd;
		r = sys_move_mount(m->fd, "", tfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
		r = r < 0 ? -errno : 0;
		m->fd = safe_close(m->fd);
		break;
	}
	if (tfd >= 0)
		close(tfd);
	return tfd < 0 ? tfd : r;
}

/* The staging point: a directory that exists on every system. Mounting
 * over it is invisible to the host (our mount namespace is private). */
#define STAGE "/tmp"

NO_SAN static void build_root(const child_ctx *c)
{
	const isolate_params *p = c->p;
	/* Nothing we mount may propagate back to the host. */
	if (syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail_now(c, errno, ART_STAGE_MOUNT, -1);

	for (size_t i = 0; i < p->n_mounts; i++) {
		int r = prepare_mount(&p->mounts[i]);
		if (r < 0)
			fail_now(c, -r, ART_STAGE_MOUNT, (int)i);
	}
	int root = make_fs("tmpfs", "mode=0755,size=1m", 0);
	if (root < 0)
		fail_now(c, -root, ART_STAGE_MOUNT, -1);
	if (sys_move_mount(root, "", AT_FDCWD, STAGE, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		fail_now(c, errno, ART_STAGE_MOUNT, -1);
	for (size_t i = 0; i < p->n_mounts; i++) {
		int r = place_mount(root, &p->mounts[i]);
		if (r < 0)
			fail_now(c, -r, ART_STAGE_MOUNT, (int)i);
	}
	if (sys_mount_setattr(root, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
							       MOUNT_ATTR_NODEV) < 0)
		fail_now(c, errno, ART_STAGE_MOUNT, -1);
	/* pivot_root(".", ".") stacks the old root on the new one; detaching
	 * it leaves no path back to the host's tree. */
	if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		fail_now(c, errno, ART_STAGE_PIVOT, -1);
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		fail_now(c, errno, ART_STAGE_PIVOT, -1);
	close(root);
}

/* ------------------------------------------------------------ the task */

NO_SAN static void drop_caps(const child_ctx *c)
{
	const isolate_params *p = c->p;
	for (int cap = 0; cap <= p->last_cap; cap++)
		if (!(p->keep_caps & (UINT64_C(1) << cap)) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			fail_now(c, errno, ART_STAGE_CAPS, -1);
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	for (int i = 0; i < 2; i++) {
		uint32_t bits = (uint32_t)(p->keep_caps >> (32 * i));
		data[i].effective = data[i].permitted = data[i].inheritable = bits;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		fail_now(c, errno, ART_STAGE_CAPS, -1);
	/* Ambient caps survive exec for a non-root uid too. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int cap = 0; cap <= p->last_cap; cap++)
		if (p->keep_caps & (UINT64_C(1) << cap))
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

/* The task's "started" pipe end is close-on-exec: exec, or the _exit of a
 * failure, closes it and tells the init. */
__attribute__((noreturn)) NO_SAN static void task_main(const child_ctx *c)
{
	const isolate_params *p = c->p;
	const spawn_params *b = &c->task;
	/* A session of its own: the init forwards signals to its group. */
	if (setsid() < 0)
		fail_now(c, errno, ART_STAGE_SETSID, -1);
	for (int i = 0; i < 3; i++)
		if (b->stdio[i] >= 0 && dup2(b->stdio[i], i) < 0)
			fail_now(c, errno, ART_STAGE_STDIO, -1);
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	for (size_t i = 0; i < b->n_rlimits; i++)
		if (setrlimit(b->rlimits[i].resource, &b->rlimits[i].value) < 0)
			fail_now(c, errno, ART_STAGE_RLIMIT, -1);
	if (b->cwd && chdir(b->cwd) < 0)
		fail_now(c, errno, ART_STAGE_CHDIR, -1);
	drop_caps(c);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail_now(c, errno, ART_STAGE_PRCTL, -1);
	if (p->seccomp) {
		struct sock_fprog prog = { p->seccomp->len, p->seccomp->insns };
		int lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				       SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		if (lfd < 0)
			fail_now(c, errno, ART_STAGE_SECCOMP, -1);
		int r = send_fd(c->report_fd, ISO_MSG_LISTENER, lfd);
		close(lfd);
		if (r < 0)
			fail_now(c, -r, ART_STAGE_SECCOMP, -1);
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	fail_now(c, os_exec_candidates(b), ART_STAGE_EXEC, -1);
}

NO_SAN static void on_forwarded(int sig)
{
	(void)sig;
}

/* The init: pid 1 of the namespace. Reaps everything, forwards signals to
 * the task's group, ends when the task does and reports its status. */
__attribute__((noreturn)) NO_SAN static void init_loop(const child_ctx *c, pid_t task, int sfd)
{
	int task_status = 0;
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si))
			continue;
		if (si.ssi_signo != SIGCHLD) {
			if (kill(-task, (int)si.ssi_signo) < 0)
				kill(task, (int)si.ssi_signo);
			continue;
		}
		bool task_done = false;
		int st;
		pid_t pid;
		/* We are this namespace's init: every process in it is ours
		 * to reap, so waiting for any child is right here. */
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			if (pid == task) {
				task_status = st;
				task_done = true;
			}
		if (!task_done)
			continue;
		/* The task's end is the sandbox's end: kill what it left. */
		kill(-1, SIGKILL);
		while (waitpid(-1, &st, 0) > 0 || errno == EINTR)
			;
		isolate_msg m = { .kind = ISO_MSG_EXITED, .status = task_status };
		send_msg(c->report_fd, &m);
		_exit(0);
	}
}

__attribute__((noreturn)) NO_SAN static void child_main(child_ctx *c)
{
	const isolate_params *p = c->p;

	/* As in os_spawn: no handler or ignored disposition of the host's
	 * survives; signals stay blocked (the runtime blocked them). */
	for (int sig = 1; sig < _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
	}

	/* Into the cgroup first (v1; v2 cloned us into it), before anything
	 * of ours can fork. Moving ourselves costs far less than being moved
	 * by the runtime while we run. */
	for (int i = 0; i < p->base.n_cgroup_fds; i++)
		if (write(p->base.cgroup_fds[i], "0", 1) < 0)
			fail_now(c, errno, ART_STAGE_CGROUP, -1);

	char go;
	ssize_t n;
	while ((n = read(c->go_fd, &go, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		_exit(127); /* the runtime gave up on us */
	close(c->go_fd);
	for (size_t i = 0; i < p->n_mounts; i++)
		if (p->mounts[i].flags & MNT_F_IDMAP) {
			isolate_msg im;
			if (recv_fd_msg(c->report_fd, &im, &p->mounts[i].idmap_fd) < 0 ||
			    im.kind != ISO_MSG_IDMAP || p->mounts[i].idmap_fd < 0)
				fail_now(c, EPROTO, ART_STAGE_MOUNT, (int)i);
		}

	if (setsid() < 0)
		fail_now(c, errno, ART_STAGE_SETSID, -1);
	/* In the cgroup now, which becomes the root of the task's cgroup view.
	 * Owned by our user namespace, as if clone3 had made them. */
	int ns = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
	if (p->new_net)
		ns |= CLONE_NEWNET;
	if (unshare(ns) < 0)
		fail_now(c, errno, ART_STAGE_NAMESPACE, -1);
	/* Raw system calls: glibc's wrappers would signal every thread of the
	 * host to change ids too (setxid), threads this clone does not have,
	 * and wait forever for one that was exiting when we were cloned. */
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		fail_now(c, errno, ART_STAGE_USERNS, -1);
	syscall(SYS_setgroups, 0, NULL); /* EPERM when setgroups is denied: nothing to drop */
	/* After the uid change, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		fail_now(c, errno, ART_STAGE_PRCTL, -1);
	if (p->hostname && sethostname(p->hostname, str_len(p->hostname)) < 0)
		fail_now(c, errno, ART_STAGE_HOSTNAME, -1);
	if (p->new_net) {
		int r = isolate_loopback_up();
		if (r < 0)
			fail_now(c, -r, ART_STAGE_NETWORK, -1);
	}
	if (p->mounts)
		build_root(c);

	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_forwarded;
		sigfillset(&sa.sa_mask);
		sigaction(forwarded[i], &sa, NULL);
	}

	/* The init keeps every capability of the namespace while it sets up.
	 * Not dumpable: the task (same uid) can never ptrace it or read its
	 * /proc entries; the task itself becomes dumpable again at exec. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail_now(c, errno, ART_STAGE_PRCTL, -1);
	if (p->deferred) {
		isolate_msg ready = { .kind = ISO_MSG_READY };
		send_msg(c->report_fd, &ready);
		int r = receive_launch(c);
		if (r < 0)
			fail_now(c, -r, ART_STAGE_SANDBOX, -1);
	}
	int started[2];
	if (pipe2(started, O_CLOEXEC) < 0)
		fail_now(c, errno, ART_STAGE_CLONE, -1);
	pid_t task = (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	if (task < 0)
		fail_now(c, errno, ART_STAGE_CLONE, -1);
	if (task == 0) {
		close(started[0]);
		task_main(c);
	}
	close(started[1]);

	/* Keep nothing of the host's, and no capability: from here the init
	 * only reaps, forwards signals and reports. */
	int keep_lo = MIN(c->report_fd, started[0]), keep_hi = MAX(c->report_fd, started[0]);
	if (keep_lo > 0)
		syscall(SYS_close_range, 0, keep_lo - 1, 0);
	if (keep_hi > keep_lo + 1)
		syscall(SYS_close_range, keep_lo + 1, keep_hi - 1, 0);
	syscall(SYS_close_range, keep_hi + 1, ~0U, 0);
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct no_caps[2];
	memset(no_caps, 0, sizeof(no_caps));
	syscall(SYS_capset, &hdr, no_caps);

	/* EOF: the task exec'd (the write end was close-on-exec) or died; a
	 * failure was reported by the task itself. */
	char byte;
	while (read(started[0], &byte, 1) < 0 && errno == EINTR)
		;
	close(started[0]);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		kill(task, SIGKILL);
		fail_now(c, errno, ART_STAGE_SIGNALS, -1);
	}
	/* A task that failed before exec said so itself, ahead of this
	 * message; one that already ended is a pending SIGCHLD for the loop. */
	isolate_msg m = { .kind = ISO_MSG_STARTED };
	send_msg(c->report_fd, &m);
	init_loop(c, task, sfd);
}

int isolate_loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	r = r < 0 ? -errno : 0;
	close(s);
	return r;
}

/* ------------------------------------------------------------ the runtime side */

static int write_proc_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	return write(fd, text, len) == (ssize_t)len ? 0 : -errno;
}

/* The runtime's part of MNT_F_IDMAP: only it (root in the initial user
 * namespace) may make an idmapped mount of the host's filesystem. The
 * mount maps through the task's own user namespace. */
static int send_idmapped(const isolate_params *p, pid_t pid, int sock)
{
	_cleanup_close_ int userns = -1;
	for (size_t i = 0; i < p->n_mounts; i++) {
		const mnt_entry *m = &p->mounts[i];
		if (!(m->flags & MNT_F_IDMAP))
			continue;
		if (userns < 0) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
			if ((userns = open(path, O_RDONLY | O_CLOEXEC)) < 0)
				return -errno;
		}
		_cleanup_close_ int tree = sys_open_tree(AT_FDCWD, m->source,
							 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (tree < 0)
			return -errno;
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
		if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			    sizeof(attr)) < 0)
			return -errno;
		int r = send_fd(sock, ISO_MSG_IDMAP, tree);
		if (r < 0)
			return r;
	}
	return 0;
}

static void set_fail(isolate_failure *f, const isolate_params *p, int err, art_stage stage,
		     int entry)
{
	f->err = err;
	f->stage = stage;
	f->index = -1;
	f->what = NULL;
	if (entry >= 0 && (size_t)entry < p->n_mounts) {
		f->index = p->mounts[entry].index;
		f->what = p->mounts[entry].target;
	}
}

static void kill_and_reap(int pidfd)
{
	pidfd_signal(pidfd, SIGKILL);
	pidfd_reap(pidfd, NULL, NULL);
}

/* Clones the init and lets it go: it sets up on its own from there. */
static int isolate_clone(const isolate_params *p, isolate_proc *out, isolate_failure *fail)
{
	int sp[2], go[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		set_fail(fail, p, errno, ART_STAGE_PREPARE, -1);
		return -fail->err;
	}
	_cleanup_close_ int ours = sp[0], theirs = sp[1];
	if (pipe2(go, O_CLOEXEC) < 0) {
		set_fail(fail, p, errno, ART_STAGE_PREPARE, -1);
		return -fail->err;
	}
	_cleanup_close_ int go_r = go[0], go_w = go[1];

	int pidfd = -1;
	struct clone_args args = {
		.flags = CLONE_PIDFD | CLONE_NEWUSER | CLONE_NEWPID,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
	};
	if (p->cgroup_dir_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)p->cgroup_dir_fd;
	}
	child_ctx ctx = { .p = p, .task = p->base, .report_fd = theirs, .go_fd = go_r };

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		child_main(&ctx);
	int clone_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		set_fail(fail, p, clone_errno, ART_STAGE_CLONE, -1);
		return -clone_errno;
	}
	theirs = safe_close(theirs);
	go_r = safe_close(go_r);

	int r = 0;
	art_stage stage = ART_STAGE_USERNS;
	if (p->deny_setgroups)
		r = write_proc_file(pid, "setgroups", "deny");
	if (r == 0)
		r = write_proc_file(pid, "uid_map", p->uid_map);
	if (r == 0)
		r = write_proc_file(pid, "gid_map", p->gid_map);
	if (r == 0 && write(go_w, "g", 1) != 1)
		r = -errno, stage = ART_STAGE_CLONE;
	if (r == 0)
		r = send_idmapped(p, pid, ours), stage = ART_STAGE_MOUNT;
	if (r < 0) {
		kill_and_reap(pidfd);
		safe_close(pidfd);
		set_fail(fail, p, -r, stage, -1);
		return r;
	}
	fd_set_nonblock(ours, 1);
	*out = (isolate_proc){ .pid = pid, .pidfd = pidfd, .report_fd = take_fd(&ours),
			       .listener_fd = -1 };
	return 0;
}

void isolate_abort(isolate_proc *proc)
{
	if (proc->pidfd >= 0)
		kill_and_reap(proc->pidfd);
	proc->pidfd = safe_close(proc->pidfd);
	proc->report_fd = safe_close(proc->report_fd);
	proc->listener_fd = safe_close(proc->listener_fd);
}

/* One message from the init; -EAGAIN when none is waiting. A failure is
 * turned into *fail and -errno. */
static int next_msg(const isolate_params *p, isolate_proc *proc, isolate_msg *m,
		    isolate_failure *fail)
{
	int passed = -1;
	int r = recv_fd_msg(proc->report_fd, m, &passed);
	if (r == -EAGAIN)
		return r;
	if (r == 0 && m->kind == ISO_MSG_LISTENER) {
		safe_close(proc->listener_fd);
		proc->listener_fd = passed;
		return 0;
	}
	safe_close(passed);
	if (r == 0 && (m->kind == ISO_MSG_STARTED || m->kind == ISO_MSG_READY))
		return 0;
	if (r == 0 && m->kind == ISO_MSG_FAILED)
		set_fail(fail, p, m->err, (art_stage)m->stage, m->index);
	else if (r == 0 && m->kind == ISO_MSG_EXITED)
		set_fail(fail, p, ECHILD, ART_STAGE_EXEC, -1); /* died before exec, by a signal */
	else
		set_fail(fail, p, r == -EPIPE ? ECHILD : (r < 0 ? -r : EPROTO), ART_STAGE_CLONE, -1);
	return -fail->err;
}

/* Waits for message `want` (STARTED or READY), taking the listener on the
 * way. On failure the init is killed and everything closed. */
static int wait_for(const isolate_params *p, isolate_proc *proc, isolate_msg_kind want,
		    isolate_failure *fail)
{
	int64_t deadline = mono_ns() + p->setup_timeout_ms * INT64_C(1000000);
	for (;;) {
		isolate_msg m;
		int r = next_msg(p, proc, &m, fail);
		if (r == 0 && (isolate_msg_kind)m.kind == want)
			return 0;
		if (r == 0)
			continue;
		if (r != -EAGAIN) {
			isolate_abort(proc);
			return r;
		}
		int64_t left_ms = (deadline - mono_ns()) / 1000000;
		struct pollfd pfd = { proc->report_fd, POLLIN, 0 };
		int pr = left_ms > 0 ? poll(&pfd, 1, (int)MIN(left_ms, INT32_MAX)) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			set_fail(fail, p, pr == 0 ? ETIMEDOUT : errno, ART_STAGE_CLONE, -1);
			isolate_abort(proc);
			return -fail->err;
		}
	}
}

int isolate_spawn(const isolate_params *p, isolate_proc *out, isolate_failure *fail)
{
	isolate_proc proc;
	int r = isolate_clone(p, &proc, fail);
	if (r == 0)
		r = wait_for(p, &proc, ISO_MSG_STARTED, fail);
	if (r == 0)
		*out = proc;
	return r;
}

int isolate_prepare(const isolate_params *p, isolate_proc *out, isolate_failure *fail)
{
	return isolate_clone(p, out, fail);
}

int isolate_poll_ready(const isolate_params *p, isolate_proc *proc, isolate_failure *fail)
{
	isolate_msg m;
	for (;;) {
		int r = next_msg(p, proc, &m, fail);
		if (r == -EAGAIN)
			return 0;
		if (r < 0)
			return r;
		if (m.kind == ISO_MSG_READY)
			return 1;
	}
}

int isolate_wait_ready(const isolate_params *p, isolate_proc *proc, isolate_failure *fail)
{
	return wait_for(p, proc, ISO_MSG_READY, fail);
}

/* Appends s and its NUL; false when it does not fit. */
static bool put_str(char *buf, size_t cap, size_t *len, const char *s)
{
	size_t n = strlen(s) + 1;
	if (n > cap - *len)
		return false;
	memcpy(buf + *len, s, n);
	*len += n;
	return true;
}

static size_t count_strv(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int isolate_launch_send(const isolate_params *p, isolate_proc *proc, const spawn_params *task,
			isolate_failure *fail)
{
	_cleanup_free_ char *buf = malloc(ISOLATE_LAUNCH_MAX);
	if (!buf) {
		set_fail(fail, p, ENOMEM, ART_STAGE_PREPARE, -1);
		return -ENOMEM;
	}
	isolate_msg m = { .kind = ISO_MSG_LAUNCH };
	launch_hdr h = {
		.n_paths = (uint32_t)count_strv(task->exec_paths),
		.n_argv = (uint32_t)count_strv((const char *const *)task->argv),
		.n_envp = (uint32_t)count_strv((const char *const *)task->envp),
		.n_rlimits = (uint32_t)task->n_rlimits,
	};
	size_t len = sizeof(m) + sizeof(h) + task->n_rlimits * sizeof(spawn_rlimit);
	bool fits = task->n_rlimits <= 16 && len <= ISOLATE_LAUNCH_MAX;
	size_t strings = len;
	for (uint32_t i = 0; fits && i < h.n_paths; i++)
		fits = put_str(buf, ISOLATE_LAUNCH_MAX, &len, task->exec_paths[i]);
	for (uint32_t i = 0; fits && i < h.n_argv; i++)
		fits = put_str(buf, ISOLATE_LAUNCH_MAX, &len, task->argv[i]);
	for (uint32_t i = 0; fits && i < h.n_envp; i++)
		fits = put_str(buf, ISOLATE_LAUNCH_MAX, &len, task->envp[i]);
	if (fits)
		fits = put_str(buf, ISOLATE_LAUNCH_MAX, &len, task->cwd ? task->cwd : "");
	if (!fits) {
		set_fail(fail, p, E2BIG, ART_STAGE_PREPARE, -1);
		return -E2BIG; /* the sandbox stays usable: nothing was sent */
	}
	h.strings_len = (uint32_t)(len - strings);
	int fds[3], n_fds = 0;
	for (int i = 0; i < 3; i++)
		if (task->stdio[i] >= 0) {
			h.stdio_passed |= 1u << i;
			fds[n_fds++] = task->stdio[i];
		}
	memcpy(buf, &m, sizeof(m));
	memcpy(buf + sizeof(m), &h, sizeof(h));
	if (task->n_rlimits)
		memcpy(buf + sizeof(m) + sizeof(h), task->rlimits,
		       task->n_rlimits * sizeof(spawn_rlimit));

	struct iovec iov = { buf, len };
	union {
		char cbuf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (n_fds) {
		mh.msg_control = u.cbuf;
		mh.msg_controllen = CMSG_SPACE((size_t)n_fds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)n_fds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)n_fds * sizeof(int));
	}
	ssize_t n;
	while ((n = sendmsg(proc->report_fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)len) {
		set_fail(fail, p, n < 0 ? errno : EPROTO, ART_STAGE_CLONE, -1);
		isolate_abort(proc);
		return -fail->err;
	}
	return 0;
}

int isolate_wait_started(const isolate_params *p, isolate_proc *proc, isolate_failure *fail)
{
	return wait_for(p, proc, ISO_MSG_STARTED, fail);
}

int isolate_read_exit(int report_fd, int *status)
{
	for (;;) {
		isolate_msg m;
		int passed = -1;
		int r = recv_fd_msg(report_fd, &m, &passed);
		safe_close(passed);
		if (r == -EAGAIN || r == -EPIPE)
			return -ENODATA;
		if (r < 0)
			return r;
		if (m.kind == ISO_MSG_EXITED) {
			*status = m.status;
			return 0;
		}
	}
}
