/* SPDX-License-Identifier: MIT */
/*
 * Copy-on-write workspaces: the runtime side. The overlay itself is mounted
 * inside the task's mount namespace (lowerdir = base, upperdir and workdir
 * made here); this file prepares the scratch directories and, after the
 * task, turns the upper layer into what the spec asked for.
 */
#ifndef ART_SANDBOX_WORKSPACE_H
#define ART_SANDBOX_WORKSPACE_H

#include <agentrt.h>
#include <stddef.h>
#include <sys/types.h>

/* What the merged view shows at a path, against the base. */
typedef enum ws_change_kind {
	WS_ADDED = 0, /* nothing at this path in the base (or it is hidden, below
		       * an added or replaced directory); a directory is listed
		       * itself and so is everything below it */
	WS_MODIFIED,  /* a non-directory (file, symlink, fifo...) where the base
		       * has an entry, of any type: a copy-up, which may be for
		       * metadata only */
	WS_DELETED,   /* an overlay whiteout over an entry of the base */
	WS_REPLACED,  /* a directory that hides what the base has at its path:
		       * opaque, or the base has a non-directory there; what is
		       * below it is listed as added */
} ws_change_kind;

typedef struct ws_change {
	char *path; /* relative to the workspace root, no leading "/" */
	ws_change_kind kind;
} ws_change;

typedef struct ws_dirs {
	char *dir;   /* scratch/<name>: holds upper/ and work/ */
	char *upper;
	char *work;
} ws_dirs;

/* Creates scratch/<name>/{upper,work} owned by uid:gid, the task's root as
 * the host sees it; (uid_t)-1 / (gid_t)-1 keep ours, and nothing is
 * chown'ed that already has the owner, so a non-root runtime prepares for
 * its own ids. Modes are exact (the umask does not apply): scratch/<name>
 * 0700, upper and work 0755. scratch is created if missing (mode 0700, its
 * parents 0755 less the umask); an existing one is left as it is. Note that
 * a task's root other than scratch's owner cannot look up a path through
 * a 0700 scratch, so mounting by path from inside the task's user namespace
 * needs scratch to be searchable (0711).
 * name must be one path component (not "", ".", ".." and without "/"):
 * -EINVAL. -EEXIST if scratch/<name> exists (it is left alone). On other
 * failures nothing half made is left. *out is set only on success. */
int ws_prepare(const char *scratch, const char *name, uid_t uid, gid_t gid, ws_dirs *out,
	       art_error *err);
void ws_dirs_free(ws_dirs *d);

/* Walks an overlay upper directory and lists what changed against base,
 * sorted by path (strcmp). Whiteouts are character devices 0:0; an opaque
 * directory carries the xattr trusted.overlay.opaque or user.overlay.opaque
 * = "y". A directory in both, not opaque, is not listed itself (a copy-up),
 * only what changed below it. A whiteout that hides nothing is skipped.
 * Links are never followed (upper itself included; base is resolved as
 * given). The redirect and metacopy features (off by default) are not
 * understood. Fails with -ELOOP beyond 256 levels. With no change, *out is
 * NULL and *n 0; both are set only on success. Free with ws_changes_free. */
int ws_list_changes(const char *upper, const char *base, ws_change **out, size_t *n,
		    art_error *err);
void ws_changes_free(ws_change *c, size_t n);
const char *ws_change_kind_name(ws_change_kind kind); /* "added", ... */

/* Removes a directory tree without following symbolic links (openat /
 * unlinkat relative to directory descriptors), so a task cannot make the
 * runtime delete something outside it by planting a link. Only the last
 * component of path is taken as it is (a link there is removed, not
 * followed; a non-directory is unlinked); those before it are resolved
 * normally, so they must not be writable by a task. Directories the owner
 * cannot enter or write (a task's chmod) are chmod'ed u+rwx first. Any
 * depth, in constant descriptors. Does not descend into another mount
 * (-EXDEV, its contents are kept). Goes on after errors and returns the
 * first; -ENOENT if path does not exist, -EINVAL for "", "." or "..". */
int ws_remove_tree(const char *path);

#endif
