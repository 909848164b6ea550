/* SPDX-License-Identifier: MIT */
/*
 * Copy-on-write workspaces, the runtime side: scratch directories for the
 * overlay, reading its upper layer, removing it.
 *
 * Everything below scratch/<name> is writable by the task, so inside it
 * every step is taken relative to a directory descriptor with O_NOFOLLOW /
 * AT_SYMLINK_NOFOLLOW: a symbolic link planted by a task is seen as a link,
 * never followed. The paths the caller passes in (scratch, base) are
 * configuration and are resolved normally.
 */
#include "sandbox/workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"

/* Deeper trees make ws_list_changes fail (it holds two descriptors per
 * level); ws_remove_tree has no limit. */
#define WS_MAX_DEPTH 256

#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	char *s;
	if (la == 0)
		return strdup(b);
	if (asprintf(&s, "%s%s%s", a, a[la - 1] == '/' ? "" : "/", b) < 0)
		return NULL;
	return s;
}

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* ------------------------------------------------------------ removal */

/* The mount a descriptor is on, or 0 if the kernel cannot say (< 5.8). */
static uint64_t mount_id(int fd)
{
	struct statx stx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

static bool other_mount(int fd, uint64_t mnt)
{
	uint64_t m = mnt ? mount_id(fd) : 0;
	return m && m != mnt;
}

/* Opens a directory of the tree for emptying it; -EXDEV if it is not on
 * mount mnt (0: any). A task may have taken the owner's permissions away
 * (chmod 0, 0500): as a non-root runtime we need r-x to list it and -w-
 * to unlink in it, so they are given back. A directory that cannot even
 * be opened for reading is reached with O_PATH (no permission needed) and
 * chmod'ed through /proc/self/fd, which names that very inode, not
 * whatever sits at the name by then. */
static int open_dir_for_removal(int dfd, const char *name, uint64_t mnt, struct stat *st)
{
	_cleanup_close_ int fd = openat(dfd, name, DIR_FLAGS);
	if (fd < 0 && errno == EACCES) {
		_cleanup_close_ int pfd =
			openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (pfd < 0)
			return -errno;
		if (other_mount(pfd, mnt))
			return -EXDEV;
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		if (chmod(proc, 0700) < 0) {
			int e = errno;
			return e == ENOENT ? -EACCES : -e; /* no /proc */
		}
		fd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	if (other_mount(fd, mnt))
		return -EXDEV;
	if (fstat(fd, st) < 0)
		return -errno;
	/* Best effort: if it fails (not ours), the unlinks below report it. */
	if ((st->st_mode & 0700) != 0700 && fchmod(fd, (st->st_mode & 07777) | 0700) == 0)
		st->st_mode |= 0700;
	return take_fd(&fd);
}

typedef struct rm_frame {
	char *name;     /* in the parent directory */
	dev_t dev;      /* to recognise the parent when climbing back by ".." */
	ino_t ino;
	char **subdirs; /* what is left to descend into, read in one pass */
	size_t nsub, next;
	bool scanned;
} rm_frame;

static void rm_frame_clear(rm_frame *f)
{
	free(f->name);
	for (size_t i = 0; i < f->nsub; i++)
		free(f->subdirs[i]);
	free(f->subdirs);
	*f = (rm_frame){ 0 };
}

static void keep_first(int *first, int r)
{
	if (r < 0 && *first == 0)
		*first = r;
}

/* Unlinks every non-directory in fd and remembers the subdirectories in f,
 * so that fd can be closed while descending. */
static int rm_scan(int fd, rm_frame *f, int *first)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(dup_fd);
	if (!d) {
		safe_close(dup_fd);
		return -errno;
	}
	size_t cap = 0;
	struct dirent *de;
	for (errno = 0; (de = readdir(d)); errno = 0) {
		const char *n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		unsigned char type = de->d_type;
		if (type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(fd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				keep_first(first, -errno);
				continue;
			}
			type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
		}
		if (type != DT_DIR) {
			if (unlinkat(fd, n, 0) < 0 && errno != ENOENT)
				keep_first(first, -errno);
			continue;
		}
		if (f->nsub == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char **v = realloc(f->subdirs, ncap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			f->subdirs = v;
			cap = ncap;
		}
		if (!(f->subdirs[f->nsub] = strdup(n)))
			return -ENOMEM;
		f->nsub++;
	}
	return errno ? -errno : 0;
}

/*
 * Removes the directory `name` in dfd and everything below it. Iterative,
 * holding two descriptors whatever the depth (a task can nest directories
 * far deeper than any descriptor limit): a directory is read once, its
 * files unlinked and its subdirectory names kept; the walk descends by
 * openat(O_NOFOLLOW) and climbs back by "..", checked against the device
 * and inode recorded on the way down. It does not descend into another
 * mount (a bind mount inside the tree keeps its contents: -EXDEV). Goes on
 * after an error and returns the first one.
 */
static int rm_tree_at(int dfd, const char *name)
{
	struct stat st;
	int first = 0;
	_cleanup_close_ int cur = open_dir_for_removal(dfd, name, 0, &st);
	if (cur < 0)
		return cur;
	uint64_t mnt = mount_id(cur);

	rm_frame *stack = NULL;
	size_t depth = 0, cap = 0;
	int r = 0;
	char *top = strdup(name);
	if (!top)
		return -ENOMEM;

	for (;;) {
		if (depth == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			rm_frame *s = realloc(stack, ncap * sizeof(*s));
			if (!s) {
				free(top);
				r = -ENOMEM;
				goto out;
			}
			stack = s;
			cap = ncap;
		}
		stack[depth++] = (rm_frame){ .name = top, .dev = st.st_dev, .ino = st.st_ino };
		top = NULL;

		/* Empty the directory on top of the stack, descending into the
		 * first subdirectory left, or climb back when none is. */
		for (;;) {
			rm_frame *f = &stack[depth - 1];
			if (!f->scanned) {
				f->scanned = true;
				r = rm_scan(cur, f, &first);
				if (r == -ENOMEM)
					goto out;
				keep_first(&first, r);
			}
			if (f->next < f->nsub) {
				const char *child = f->subdirs[f->next++];
				int cfd = open_dir_for_removal(cur, child, mnt, &st);
				if (cfd == -ENOTDIR || cfd == -ELOOP) {
					/* Replaced by a non-directory since the scan. */
					if (unlinkat(cur, child, 0) < 0 && errno != ENOENT)
						keep_first(&first, -errno);
					continue;
				}
				if (cfd < 0) {
					if (cfd != -ENOENT)
						keep_first(&first, cfd);
					continue;
				}
				if (!(top = strdup(child))) {
					safe_close(cfd);
					r = -ENOMEM;
					goto out;
				}
				safe_close(cur);
				cur = cfd;
				break; /* push it */
			}

			/* f is empty (or holds what could not be removed). */
			if (depth == 1) {
				cur = safe_close(cur);
				if (unlinkat(dfd, f->name, AT_REMOVEDIR) < 0)
					keep_first(&first, -errno);
				r = first;
				goto out;
			}
			int up = openat(cur, "..", DIR_FLAGS);
			if (up < 0) {
				r = -errno;
				goto out;
			}
			struct stat ust;
			rm_frame *p = &stack[depth - 2];
			if (fstat(up, &ust) < 0 || ust.st_dev != p->dev || ust.st_ino != p->ino) {
				/* Moved under our feet: we no longer know where we
				 * are, so stop rather than unlink elsewhere. */
				safe_close(up);
				r = -ESTALE;
				goto out;
			}
			safe_close(cur);
			cur = up;
			if (unlinkat(cur, f->name, AT_REMOVEDIR) < 0)
				keep_first(&first, -errno);
			rm_frame_clear(f);
			depth--;
		}
	}
out:
	for (size_t i = 0; i < depth; i++)
		rm_frame_clear(&stack[i]);
	free(stack);
	return r < 0 ? r : first;
}

int ws_remove_tree(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = 0;

	char *slash = strrchr(copy, '/');
	const char *parent = ".", *name = copy;
	if (slash) {
		*slash = 0;
		name = slash + 1;
		parent = slash == copy ? "/" : copy;
	}
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;

	_cleanup_close_ int dfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
	return rm_tree_at(dfd, name);
}

/* ------------------------------------------------------------ prepare */

static int fail_path(art_error *err, int r, const char *path)
{
	return art_error_set(err, r, "workspace: %s: %s", path, strerror(-r));
}

/* mkdir -p: the parents 0755 (less the umask), the last 0711 if made: the
 * task's root (another uid when the runtime is root) must traverse it to
 * mount the overlay, but not list it. */
static int mkdir_parents(const char *path, art_error *err)
{
	_cleanup_free_ char *p = strdup(path);
	if (!p)
		return art_error_set(err, -ENOMEM, "out of memory");
	size_t len = strlen(p);
	while (len > 1 && p[len - 1] == '/')
		p[--len] = 0;

	for (char *s = p + 1; s < p + len; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = 0;
		struct stat st;
		if (mkdir(p, 0755) < 0 && errno != EEXIST &&
		    !(stat(p, &st) == 0 && S_ISDIR(st.st_mode)))
			return fail_path(err, -errno, p);
		*s = '/';
	}
	if (mkdir(p, 0711) == 0) {
		/* Exactly 0711, whatever the umask. */
		if (chmod(p, 0711) < 0)
			return fail_path(err, -errno, p);
	} else if (errno != EEXIST) {
		return fail_path(err, -errno, p);
	}
	return 0;
}

/* chown only when the owner differs ((uid_t)-1 and (gid_t)-1 keep it):
 * a non-root runtime can then prepare for its own ids (a user namespace
 * that maps the task's root to us). */
static int chown_if_needed(int fd, uid_t uid, gid_t gid)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	bool chown_uid = uid != (uid_t)-1 && uid != st.st_uid;
	bool chown_gid = gid != (gid_t)-1 && gid != st.st_gid;
	if ((chown_uid || chown_gid) && fchown(fd, uid, gid) < 0)
		return -errno;
	return 0;
}

/* Makes dfd/name with exactly `mode` (not less the umask), owned by uid:gid. */
static int make_dir_at(int dfd, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdirat(dfd, name, mode) < 0)
		return -errno;
	_cleanup_close_ int fd = openat(dfd, name, DIR_FLAGS);
	if (fd < 0 || fchmod(fd, mode) < 0)
		return -errno;
	return chown_if_needed(fd, uid, gid);
}

int ws_prepare(const char *scratch, const char *name, uid_t uid, gid_t gid, ws_dirs *out,
	       art_error *err)
{
	if (!scratch || !*scratch)
		return art_error_set(err, -EINVAL, "workspace: no scratch directory given");
	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return art_error_set(err, -EINVAL,
				     "workspace: \"%s\" is not a valid name (one path component)",
				     name ? name : "(null)");

	_cleanup_free_ char *dir = path_join(scratch, name);
	_cleanup_free_ char *upper = dir ? path_join(dir, "upper") : NULL;
	_cleanup_free_ char *work = dir ? path_join(dir, "work") : NULL;
	if (!dir || !upper || !work)
		return art_error_set(err, -ENOMEM, "out of memory");

	int r = mkdir_parents(scratch, err);
	if (r < 0)
		return r;
	_cleanup_close_ int sfd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return fail_path(err, -errno, scratch);

	/* The workspace itself: 0700 keeps other users out. It is chown'ed
	 * to the task's root last, so that until then it is ours alone; the
	 * overlay, mounted with the task's credentials, needs to use it. */
	if (mkdirat(sfd, name, 0700) < 0) {
		r = -errno;
		if (r == -EEXIST)
			return art_error_set(err, r, "workspace: %s: already exists", dir);
		return fail_path(err, r, dir);
	}
	const char *failed = dir;
	_cleanup_close_ int wfd = openat(sfd, name, DIR_FLAGS);
	if (wfd < 0 || fchmod(wfd, 0700) < 0) {
		r = -errno;
		goto fail;
	}
	failed = upper;
	r = make_dir_at(wfd, "upper", 0755, uid, gid);
	if (r < 0)
		goto fail;
	failed = work;
	r = make_dir_at(wfd, "work", 0755, uid, gid);
	if (r < 0)
		goto fail;
	failed = dir;
	r = chown_if_needed(wfd, uid, gid);
	if (r < 0)
		goto fail;

	out->dir = steal_ptr(&dir);
	out->upper = steal_ptr(&upper);
	out->work = steal_ptr(&work);
	return 0;
fail:
	fail_path(err, r, failed);
	/* Leave nothing half made, so that a retry does not meet -EEXIST. */
	(void)rm_tree_at(sfd, name);
	return r;
}

void ws_dirs_free(ws_dirs *d)
{
	if (!d)
		return;
	free(d->dir);
	free(d->upper);
	free(d->work);
	*d = (ws_dirs){ 0 };
}

/* ------------------------------------------------------------ changes */

typedef struct walk_ctx {
	const char *upper, *base; /* for messages */
	ws_change *v;
	size_t n, cap;
	art_error *err;
} walk_ctx;

static int walk_fail(walk_ctx *c, int r, const char *root, const char *rel)
{
	return art_error_set(c->err, r, "workspace: %s%s%s: %s", root, *rel ? "/" : "", rel,
			     strerror(-r));
}

/* Takes path. */
static int add_change(walk_ctx *c, char *path, ws_change_kind kind)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 32;
		ws_change *v = realloc(c->v, ncap * sizeof(*v));
		if (!v) {
			free(path);
			return art_error_set(c->err, -ENOMEM, "out of memory");
		}
		c->v = v;
		c->cap = ncap;
	}
	c->v[c->n++] = (ws_change){ .path = path, .kind = kind };
	return 0;
}

/* 1 if the directory is opaque, 0 if not. fgetxattr on the descriptor
 * we opened with O_NOFOLLOW, so a link never leads elsewhere. The value
 * must be "y": newer kernels write "x" for a merged (not opaque)
 * directory that holds xattr whiteouts. The trusted.* name is invisible
 * without CAP_SYS_ADMIN, which reads as absent. */
static int dir_is_opaque(int fd)
{
	static const char *const names[] = { "user.overlay.opaque", "trusted.overlay.opaque" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char v[2];
		ssize_t l = fgetxattr(fd, names[i], v, sizeof(v));
		if (l == 1 && v[0] == 'y')
			return 1;
		if (l < 0 && errno != ENODATA && errno != EOPNOTSUPP && errno != ERANGE &&
		    errno != EPERM)
			return -errno;
	}
	return 0;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/*
 * Lists the directory ufd (taken) of the upper layer, at rel. bfd is the
 * same directory in the base, or -1 when the base has none or it is hidden
 * (below an opaque or new directory): then everything is added.
 */
static int walk(walk_ctx *c, int ufd, int bfd, const char *rel, unsigned depth)
{
	if (depth > WS_MAX_DEPTH) {
		safe_close(ufd);
		/* The reason first: a path this deep is cut off. */
		return art_error_set(c->err, -ELOOP, "workspace: more than %d levels deep: %s/%s",
				     WS_MAX_DEPTH, c->upper, rel);
	}
	_cleanup_closedir_ DIR *d = fdopendir(ufd);
	if (!d) {
		int r = -errno;
		safe_close(ufd);
		return walk_fail(c, r, c->upper, rel);
	}
	int dfd = dirfd(d);
	struct dirent *de;
	for (errno = 0; (de = readdir(d)); errno = 0) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		_cleanup_free_ char *path = *rel ? path_join(rel, name) : strdup(name);
		if (!path)
			return art_error_set(c->err, -ENOMEM, "out of memory");

		struct stat st, bst;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return walk_fail(c, -errno, c->upper, path);
		bool in_base = false;
		if (bfd >= 0) {
			if (fstatat(bfd, name, &bst, AT_SYMLINK_NOFOLLOW) == 0)
				in_base = true;
			else if (errno != ENOENT)
				return walk_fail(c, -errno, c->base, path);
		}

		if (is_whiteout(&st)) {
			/* One that hides nothing (none in the base, or below an
			 * opaque directory) changes nothing. */
			if (!in_base)
				continue;
			int r = add_change(c, steal_ptr(&path), WS_DELETED);
			if (r < 0)
				return r;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			int r = add_change(c, steal_ptr(&path), in_base ? WS_MODIFIED : WS_ADDED);
			if (r < 0)
				return r;
			continue;
		}

		int sub = openat(dfd, name, DIR_FLAGS);
		if (sub < 0)
			return walk_fail(c, -errno, c->upper, path);
		int bsub = -1;
		ws_change_kind kind = WS_ADDED;
		if (in_base) {
			int o = dir_is_opaque(sub);
			if (o < 0) {
				safe_close(sub);
				return walk_fail(c, o, c->upper, path);
			}
			if (o || !S_ISDIR(bst.st_mode)) {
				kind = WS_REPLACED;
			} else {
				bsub = openat(bfd, name, DIR_FLAGS);
				if (bsub < 0) {
					int r = -errno;
					safe_close(sub);
					return walk_fail(c, r, c->base, path);
				}
			}
		}
		/* A merged directory is not a change itself (a copy-up made
		 * for a change below it, or for its metadata). */
		if (bsub < 0) {
			char *copy = strdup(path);
			int r = copy ? add_change(c, copy, kind)
				     : art_error_set(c->err, -ENOMEM, "out of memory");
			if (r < 0) {
				safe_close(sub);
				return r;
			}
		}
		int r = walk(c, sub, bsub, path, depth + 1);
		safe_close(bsub);
		if (r < 0)
			return r;
	}
	if (errno)
		return walk_fail(c, -errno, c->upper, rel);
	return 0;
}

static int cmp_change(const void *a, const void *b)
{
	return strcmp(((const ws_change *)a)->path, ((const ws_change *)b)->path);
}

int ws_list_changes(const char *upper, const char *base, ws_change **out, size_t *n,
		    art_error *err)
{
	if (!upper || !base)
		return art_error_set(err, -EINVAL, "workspace: no upper or base directory given");
	walk_ctx c = { .upper = upper, .base = base, .err = err };

	/* The upper directory sits where a task could have reached it, so
	 * it is not followed if it became a link; base is configuration. */
	int ufd = open(upper, DIR_FLAGS);
	if (ufd < 0)
		return fail_path(err, -errno, upper);
	_cleanup_close_ int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0) {
		int r = fail_path(err, -errno, base);
		safe_close(ufd);
		return r;
	}
	int r = walk(&c, ufd, bfd, "", 0);
	if (r < 0) {
		ws_changes_free(c.v, c.n);
		return r;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cmp_change);
	*out = c.v;
	*n = c.n;
	return 0;
}

void ws_changes_free(ws_change *c, size_t n)
{
	if (!c)
		return;
	for (size_t i = 0; i < n; i++)
		free(c[i].path);
	free(c);
}

const char *ws_change_kind_name(ws_change_kind kind)
{
	switch (kind) {
	case WS_ADDED:
		return "added";
	case WS_MODIFIED:
		return "modified";
	case WS_DELETED:
		return "deleted";
	case WS_REPLACED:
		return "replaced";
	}
	return NULL;
}
