/* SPDX-License-Identifier: MIT */
/*
 * Workspaces on the real filesystem: scratch directories, reading an overlay
 * upper layer (built by hand, and made by a real overlay mount where the
 * kernel lets us), removing trees that a task may have booby-trapped.
 * Tests that need root or a feature the machine lacks skip themselves.
 */
#include <agentrt.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fd.h"
#include "sandbox/workspace.h"
#include "tap.h"

/* ------------------------------------------------------------ helpers */

static char *make_tmp(void)
{
	char tmpl[] = "/tmp/ws-test.XXXXXX";
	CHECK(mkdtemp(tmpl) != NULL);
	char *s = strdup(tmpl);
	CHECK(s != NULL);
	return s;
}

/* root/rel in one of a few rotating buffers, so calls can be nested. */
__attribute__((format(printf, 1, 2))) static const char *P(const char *fmt, ...)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, PATH_MAX, fmt, ap);
	va_end(ap);
	CHECK(n > 0 && n < PATH_MAX);
	return b;
}

/* A path that lives as long as the scope, for those used across many P(). */
#define PATHBUF(name, ...)            \
	char name[PATH_MAX];          \
	snprintf(name, sizeof(name), __VA_ARGS__)

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	CHECK(close(fd) == 0);
}

static void make_dir(const char *path)
{
	CHECK(mkdir(path, 0755) == 0);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void check_mode_owner(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct stat st;
	CHECK(lstat(path, &st) == 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 07777, mode);
	CHECK_EQ_INT(st.st_uid, uid);
	CHECK_EQ_INT(st.st_gid, gid);
}

typedef struct expect {
	const char *path;
	const char *kind;
} expect;

/* The exact list, in order; prints what was found when it differs. */
static void check_changes(const ws_change *c, size_t n, const expect *e, size_t ne)
{
	bool same = n == ne;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(c[i].path, e[i].path) == 0 &&
		       strcmp(ws_change_kind_name(c[i].kind), e[i].kind) == 0;
	if (!same) {
		fprintf(stderr, "# got %zu changes, expected %zu:\n", n, ne);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "#   %-9s %s\n", ws_change_kind_name(c[i].kind), c[i].path);
	}
	CHECK(same);
	for (size_t i = 1; i < n; i++)
		CHECK(strcmp(c[i - 1].path, c[i].path) < 0);
}

/* A whiteout as the overlay makes it. The kernel lets anyone make a 0:0
 * character device (since 5.8); older ones want CAP_MKNOD. */
static void make_whiteout(const char *path)
{
	if (mknod(path, S_IFCHR | 0, makedev(0, 0)) < 0) {
		if (errno == EPERM)
			SKIP("cannot make a whiteout (0:0 character device) here");
		CHECK(0);
	}
}

static void set_opaque(const char *path, const char *name, const char *value)
{
	if (lsetxattr(path, name, value, strlen(value), 0) < 0) {
		if (errno == ENOTSUP || errno == EPERM)
			SKIP("this filesystem takes no overlay xattrs from us");
		CHECK(0);
	}
}

static void write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/* Moves this (forked) test into a private mount namespace, in a user
 * namespace of its own (our ids mapped to root) when userns. */
static void enter_mount_ns(bool userns)
{
	if (userns) {
		uid_t uid = geteuid();
		gid_t gid = getegid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			SKIP("no user namespaces here");
		write_proc("/proc/self/setgroups", "deny");
		write_proc("/proc/self/uid_map", P("0 %u 1", (unsigned)uid));
		write_proc("/proc/self/gid_map", P("0 %u 1", (unsigned)gid));
	} else {
		CHECK(unshare(CLONE_NEWNS) == 0);
	}
	/* "none" rather than NULL keeps valgrind quiet; both are ignored. */
	CHECK(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0);
}

/* ------------------------------------------------------------ names */

TEST(kind_names)
{
	CHECK_EQ_STR(ws_change_kind_name(WS_ADDED), "added");
	CHECK_EQ_STR(ws_change_kind_name(WS_MODIFIED), "modified");
	CHECK_EQ_STR(ws_change_kind_name(WS_DELETED), "deleted");
	CHECK_EQ_STR(ws_change_kind_name(WS_REPLACED), "replaced");
	CHECK(ws_change_kind_name((ws_change_kind)42) == NULL);
}

/* ------------------------------------------------------------ prepare */

TEST(prepare_creates_owned_dirs)
{
	char *root = make_tmp();
	bool is_root = geteuid() == 0;
	uid_t uid = is_root ? 65534 : getuid();
	gid_t gid = is_root ? 65534 : getgid();
	int fds = fd_count_open();
	umask(077); /* modes must not depend on it */

	PATHBUF(scratch, "%s/a/b/scratch", root);
	ws_dirs d = { 0 };
	art_error err = { 0 };
	CHECK_EQ_INT(ws_prepare(scratch, "t1", uid, gid, &d, &err), 0);
	CHECK_EQ_STR(d.dir, P("%s/t1", scratch));
	CHECK_EQ_STR(d.upper, P("%s/t1/upper", scratch));
	CHECK_EQ_STR(d.work, P("%s/t1/work", scratch));
	check_mode_owner(scratch, 0711, geteuid(), getegid());
	check_mode_owner(d.dir, 0700, uid, gid);
	check_mode_owner(d.upper, 0755, uid, gid);
	check_mode_owner(d.work, 0755, uid, gid);
	ws_dirs_free(&d);
	CHECK(d.dir == NULL && d.upper == NULL && d.work == NULL);
	ws_dirs_free(NULL);

	/* An existing scratch (given with a trailing slash) is fine. */
	CHECK_EQ_INT(ws_prepare(P("%s/", scratch), "t2", uid, gid, &d, &err), 0);
	CHECK_EQ_STR(d.dir, P("%s/t2", scratch));
	check_mode_owner(d.upper, 0755, uid, gid);
	ws_dirs_free(&d);

	/* (uid_t)-1 keeps ours. */
	CHECK_EQ_INT(ws_prepare(scratch, "t3", (uid_t)-1, (gid_t)-1, &d, &err), 0);
	check_mode_owner(d.dir, 0700, geteuid(), getegid());
	check_mode_owner(d.work, 0755, geteuid(), getegid());
	ws_dirs_free(&d);

	CHECK_EQ_INT(fd_count_open(), fds);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

TEST(prepare_rejects_bad_names)
{
	char *root = make_tmp();
	PATHBUF(scratch, "%s/scratch", root);
	static const char *const bad[] = { "", ".", "..", "a/b", "/", "../x", "x/" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ws_dirs d = { .dir = (char *)"untouched" };
		art_error err = { 0 };
		CHECK_EQ_INT(ws_prepare(scratch, bad[i], 0, 0, &d, &err), -EINVAL);
		CHECK_EQ_INT(err.code, -EINVAL);
		CHECK(strstr(err.msg, "not a valid name") != NULL);
		CHECK_EQ_STR(d.dir, "untouched");
	}
	art_error err = { 0 };
	ws_dirs d = { 0 };
	CHECK_EQ_INT(ws_prepare(scratch, NULL, 0, 0, &d, &err), -EINVAL);
	CHECK_EQ_INT(ws_prepare("", "x", 0, 0, &d, &err), -EINVAL);
	CHECK(!exists(scratch)); /* checked before anything is made */
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

TEST(prepare_refuses_existing)
{
	char *root = make_tmp();
	PATHBUF(scratch, "%s/scratch", root);
	ws_dirs d = { 0 };
	art_error err = { 0 };
	CHECK_EQ_INT(ws_prepare(scratch, "t", (uid_t)-1, (gid_t)-1, &d, &err), 0);
	write_file(P("%s/f", d.upper), "task output");

	ws_dirs d2 = { 0 };
	CHECK_EQ_INT(ws_prepare(scratch, "t", (uid_t)-1, (gid_t)-1, &d2, &err), -EEXIST);
	CHECK_EQ_INT(err.code, -EEXIST);
	CHECK(strstr(err.msg, "already exists") != NULL);
	CHECK(strstr(err.msg, d.dir) != NULL);
	CHECK(d2.dir == NULL);
	/* A refused prepare must not clean up someone else's workspace. */
	CHECK(exists(P("%s/f", d.upper)));

	ws_dirs_free(&d);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

TEST(prepare_scratch_not_a_directory)
{
	char *root = make_tmp();
	PATHBUF(scratch, "%s/file", root);
	write_file(scratch, "");
	ws_dirs d = { 0 };
	art_error err = { 0 };
	CHECK_EQ_INT(ws_prepare(scratch, "t", (uid_t)-1, (gid_t)-1, &d, &err), -ENOTDIR);
	CHECK(strstr(err.msg, scratch) != NULL);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

TEST(prepare_foreign_owner_fails_cleanly)
{
	if (geteuid() == 0)
		SKIP("root may chown");
	char *root = make_tmp();
	PATHBUF(scratch, "%s/scratch", root);
	ws_dirs d = { 0 };
	art_error err = { 0 };
	CHECK_EQ_INT(ws_prepare(scratch, "t", 65534, 65534, &d, &err), -EPERM);
	CHECK(strstr(err.msg, "t/upper") != NULL);
	CHECK(d.dir == NULL);
	CHECK(exists(scratch));
	CHECK(!exists(P("%s/t", scratch))); /* nothing half made is left */
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

/* ------------------------------------------------------------ changes */

TEST(list_changes_hand_built)
{
	char *root = make_tmp();
	PATHBUF(b, "%s/base", root);
	PATHBUF(u, "%s/upper", root);
	make_dir(b);
	make_dir(u);

	write_file(P("%s/a", b), "a");
	write_file(P("%s/b", b), "b");
	make_dir(P("%s/d", b));
	write_file(P("%s/d/x", b), "");
	write_file(P("%s/d/y", b), "");
	make_dir(P("%s/e", b));
	write_file(P("%s/e/f", b), "");
	write_file(P("%s/e/g", b), "");
	CHECK(symlink("a", P("%s/ln", b)) == 0);
	write_file(P("%s/f2d", b), "");
	make_dir(P("%s/d2f", b));
	write_file(P("%s/d2f/k", b), "");
	make_dir(P("%s/xdir", b));
	write_file(P("%s/xdir/m", b), "");
	make_dir(P("%s/deep", b));
	make_dir(P("%s/deep/sub", b));
	write_file(P("%s/deep/sub/z", b), "");

	write_file(P("%s/a", u), "A");                /* copied up */
	write_file(P("%s/new", u), "");
	make_whiteout(P("%s/b", u));
	make_whiteout(P("%s/ghost", u));              /* hides nothing */
	make_dir(P("%s/d", u));                       /* rm -rf d; mkdir d */
	set_opaque(P("%s/d", u), "user.overlay.opaque", "y");
	write_file(P("%s/d/x", u), "");
	write_file(P("%s/d/z", u), "");
	make_whiteout(P("%s/d/ghost2", u));           /* below opaque: hides nothing */
	make_dir(P("%s/e", u));                       /* merged */
	write_file(P("%s/e/f", u), "");
	write_file(P("%s/e/h", u), "");
	make_whiteout(P("%s/e/g", u));
	CHECK(symlink("b", P("%s/ln", u)) == 0);
	CHECK(symlink("/", P("%s/newlink", u)) == 0); /* must not be followed */
	make_dir(P("%s/f2d", u));                     /* a file became a directory */
	write_file(P("%s/f2d/q", u), "");
	write_file(P("%s/d2f", u), "");               /* a directory became a file */
	make_dir(P("%s/xdir", u));                    /* "x": merged, has xwhiteouts */
	set_opaque(P("%s/xdir", u), "user.overlay.opaque", "x");
	write_file(P("%s/xdir/n", u), "");
	make_dir(P("%s/newdir", u));
	make_dir(P("%s/newdir/sub", u));
	write_file(P("%s/newdir/sub/x", u), "");
	CHECK(mkfifo(P("%s/fifo", u), 0644) == 0);
	make_dir(P("%s/deep", u));
	make_dir(P("%s/deep/sub", u));
	write_file(P("%s/deep/sub/z", u), "changed");

	static const expect want[] = {
		{ "a", "modified" },
		{ "b", "deleted" },
		{ "d", "replaced" },
		{ "d/x", "added" },
		{ "d/z", "added" },
		{ "d2f", "modified" },
		{ "deep/sub/z", "modified" },
		{ "e/f", "modified" },
		{ "e/g", "deleted" },
		{ "e/h", "added" },
		{ "f2d", "replaced" },
		{ "f2d/q", "added" },
		{ "fifo", "added" },
		{ "ln", "modified" },
		{ "new", "added" },
		{ "newdir", "added" },
		{ "newdir/sub", "added" },
		{ "newdir/sub/x", "added" },
		{ "newlink", "added" },
		{ "xdir/n", "added" },
	};
	int fds = fd_count_open();
	ws_change *c = NULL;
	size_t n = 0;
	art_error err = { 0 };
	CHECK_EQ_INT(ws_list_changes(u, b, &c, &n, &err), 0);
	check_changes(c, n, want, sizeof(want) / sizeof(want[0]));
	ws_changes_free(c, n);
	CHECK_EQ_INT(fd_count_open(), fds);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

TEST(list_changes_trusted_opaque)
{
	if (geteuid() != 0)
		SKIP("trusted.* xattrs need root");
	char *root = make_tmp();
	PATHBUF(b, "%s/base", root);
	PATHBUF(u, "%s/upper", root);
	make_dir(b);
	make_dir(u);
	make_dir(P("%s/d", b));
	write_file(P("%s/d/old", b), "");
	make_dir(P("%s/d", u));
	set_opaque(P("%s/d", u), "trusted.overlay.opaque", "y");
	write_file(P("%s/d/new", u), "");

	static const expect want[] = { { "d", "replaced" }, { "d/new", "added" } };
	ws_change *c = NULL;
	size_t n = 0;
	CHECK_EQ_INT(ws_list_changes(u, b, &c, &n, NULL), 0);
	check_changes(c, n, want, 2);
	ws_changes_free(c, n);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

/* Makes `levels` nested directories "d" below path. */
static void make_nested(const char *path, int levels, bool with_files)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	for (int i = 0; i < levels; i++) {
		CHECK(mkdirat(fd, "d", 0755) == 0);
		if (with_files) {
			int f = openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			CHECK(f >= 0);
			close(f);
		}
		int next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		CHECK(next >= 0);
		close(fd);
		fd = next;
	}
	close(fd);
}

TEST(list_changes_depth_limit)
{
	char *root = make_tmp();
	PATHBUF(b, "%s/base", root);
	PATHBUF(u, "%s/upper", root);
	make_dir(b);
	make_dir(u);
	make_dir(P("%s/ok", u));
	make_nested(P("%s/ok", u), 255, false); /* 256 levels in all: the limit */
	ws_change *c = NULL;
	size_t n = 0;
	art_error err = { 0 };
	CHECK_EQ_INT(ws_list_changes(u, b, &c, &n, &err), 0);
	CHECK_EQ_INT(n, 256);
	ws_changes_free(c, n);

	make_dir(P("%s/toodeep", u));
	make_nested(P("%s/toodeep", u), 300, false);
	int fds = fd_count_open();
	c = (ws_change *)&err; /* untouched on failure */
	n = 7;
	CHECK_EQ_INT(ws_list_changes(u, b, &c, &n, &err), -ELOOP);
	CHECK_EQ_INT(err.code, -ELOOP);
	CHECK(strstr(err.msg, "levels deep") != NULL);
	CHECK(c == (ws_change *)&err && n == 7);
	CHECK_EQ_INT(fd_count_open(), fds);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

TEST(list_changes_errors_and_empty)
{
	char *root = make_tmp();
	PATHBUF(b, "%s/base", root);
	PATHBUF(u, "%s/upper", root);
	make_dir(b);
	make_dir(u);
	ws_change *c = (ws_change *)1;
	size_t n = 7;
	art_error err = { 0 };
	CHECK_EQ_INT(ws_list_changes(u, b, &c, &n, &err), 0);
	CHECK(c == NULL && n == 0);
	ws_changes_free(c, n);

	PATHBUF(missing, "%s/missing", root);
	CHECK_EQ_INT(ws_list_changes(missing, b, &c, &n, &err), -ENOENT);
	CHECK(strstr(err.msg, missing) != NULL);
	CHECK_EQ_INT(ws_list_changes(u, missing, &c, &n, &err), -ENOENT);
	CHECK(strstr(err.msg, missing) != NULL);

	/* An upper that became a link is not followed. */
	PATHBUF(link, "%s/link", root);
	CHECK(symlink(u, link) == 0);
	CHECK(ws_list_changes(link, b, &c, &n, &err) < 0);
	CHECK(c == NULL && n == 0);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

/* ------------------------------------------------------------ real overlay */

/* Mounts base+upper on merged in a private mount namespace (in a user
 * namespace of its own when userns), changes things the way a task would,
 * and checks what ws_list_changes reads from the upper layer afterwards. */
static void overlay_scenario(bool userns)
{
	char *root = make_tmp();
	PATHBUF(base, "%s/base", root);
	PATHBUF(upper, "%s/upper", root);
	PATHBUF(work, "%s/work", root);
	PATHBUF(merged, "%s/merged", root);
	make_dir(base);
	make_dir(upper);
	make_dir(work);
	make_dir(merged);
	write_file(P("%s/mod.txt", base), "old");
	write_file(P("%s/del.txt", base), "");
	write_file(P("%s/keep.txt", base), "");
	make_dir(P("%s/dir", base));
	write_file(P("%s/dir/a", base), "");
	write_file(P("%s/dir/b", base), "");
	make_dir(P("%s/sub", base));
	write_file(P("%s/sub/file", base), "1");
	write_file(P("%s/ren_src", base), "");
	make_dir(P("%s/cdir", base));

	enter_mount_ns(userns);
	const char *opts = P("lowerdir=%s,upperdir=%s,workdir=%s%s", base, upper, work,
			     userns ? ",userxattr" : "");
	if (mount("overlay", merged, "overlay", 0, opts) < 0)
		SKIP(P("cannot mount an overlay: %s", strerror(errno)));

	write_file(P("%s/mod.txt", merged), "new");
	CHECK(unlink(P("%s/del.txt", merged)) == 0);
	write_file(P("%s/add.txt", merged), "");
	CHECK_EQ_INT(ws_remove_tree(P("%s/dir", merged)), 0); /* rm -rf dir */
	make_dir(P("%s/dir", merged));
	write_file(P("%s/dir/c", merged), "");
	int fd = open(P("%s/sub/file", merged), O_WRONLY | O_APPEND | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(write(fd, "2", 1) == 1);
	close(fd);
	make_dir(P("%s/newdir", merged));
	write_file(P("%s/newdir/f", merged), "");
	CHECK(rename(P("%s/ren_src", merged), P("%s/ren_dst", merged)) == 0);
	CHECK(symlink("/nonexistent", P("%s/lnk", merged)) == 0);
	CHECK(chmod(P("%s/cdir", merged), 0700) == 0); /* a copy-up, no change */
	CHECK(umount2(merged, 0) == 0);

	/* The overlay marked the recreated directory opaque, in the xattr
	 * namespace of its mode. */
	char v[8];
	const char *xname = userns ? "user.overlay.opaque" : "trusted.overlay.opaque";
	CHECK(lgetxattr(P("%s/dir", upper), xname, v, sizeof(v)) == 1 && v[0] == 'y');

	static const expect want[] = {
		{ "add.txt", "added" },   { "del.txt", "deleted" },  { "dir", "replaced" },
		{ "dir/c", "added" },     { "lnk", "added" },        { "mod.txt", "modified" },
		{ "newdir", "added" },    { "newdir/f", "added" },   { "ren_dst", "added" },
		{ "ren_src", "deleted" }, { "sub/file", "modified" },
	};
	ws_change *c = NULL;
	size_t n = 0;
	art_error err = { 0 };
	CHECK_EQ_INT(ws_list_changes(upper, base, &c, &n, &err), 0);
	check_changes(c, n, want, sizeof(want) / sizeof(want[0]));
	ws_changes_free(c, n);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

TEST(overlay_real_as_root)
{
	if (geteuid() != 0)
		SKIP("mounting an overlay outside a user namespace needs root");
	overlay_scenario(false);
}

TEST(overlay_real_in_user_namespace)
{
	overlay_scenario(true);
}

/* ------------------------------------------------------------ remove */

TEST(remove_tree_does_not_follow_links)
{
	char *root = make_tmp();
	PATHBUF(tree, "%s/tree", root);
	PATHBUF(out_file, "%s/outside.txt", root);
	PATHBUF(out_dir, "%s/outside", root);
	write_file(out_file, "keep");
	make_dir(out_dir);
	write_file(P("%s/inner", out_dir), "keep");

	make_dir(tree);
	write_file(P("%s/f", tree), "");
	make_dir(P("%s/a", tree));
	make_dir(P("%s/a/b", tree));
	write_file(P("%s/a/b/file", tree), "");
	CHECK(symlink(out_file, P("%s/link_file", tree)) == 0);
	CHECK(symlink(out_dir, P("%s/a/link_dir", tree)) == 0);
	CHECK(symlink("../..", P("%s/a/b/up", tree)) == 0);
	CHECK(mkfifo(P("%s/fifo", tree), 0600) == 0);
	/* What a task may have done to its permissions. */
	make_dir(P("%s/ro", tree));
	write_file(P("%s/ro/x", tree), "");
	make_dir(P("%s/ro/sub", tree));
	write_file(P("%s/ro/sub/y", tree), "");
	CHECK(chmod(P("%s/ro/sub", tree), 0500) == 0);
	CHECK(chmod(P("%s/ro", tree), 0500) == 0);
	make_dir(P("%s/none", tree));
	write_file(P("%s/none/z", tree), "");
	CHECK(chmod(P("%s/none/z", tree), 0) == 0);
	CHECK(chmod(P("%s/none", tree), 0) == 0);
	make_dir(P("%s/xonly", tree));
	write_file(P("%s/xonly/w", tree), "");
	CHECK(chmod(P("%s/xonly", tree), 0100) == 0);

	int fds = fd_count_open();
	CHECK_EQ_INT(ws_remove_tree(tree), 0);
	CHECK(!exists(tree));
	CHECK(exists(out_file));
	CHECK(exists(P("%s/inner", out_dir)));
	CHECK_EQ_INT(fd_count_open(), fds);

	/* A link given as the path is removed, not followed. */
	PATHBUF(link, "%s/link", root);
	CHECK(symlink(out_dir, link) == 0);
	CHECK_EQ_INT(ws_remove_tree(link), 0);
	CHECK(!exists(link));
	CHECK(exists(P("%s/inner", out_dir)));
	CHECK(symlink(out_dir, link) == 0);
	CHECK_EQ_INT(ws_remove_tree(P("%s/", link)), 0); /* trailing slash too */
	CHECK(!exists(link));
	CHECK(exists(P("%s/inner", out_dir)));

	CHECK_EQ_INT(ws_remove_tree(root), 0);
	CHECK(!exists(root));
	free(root);
}

TEST(remove_tree_missing_and_invalid)
{
	char *root = make_tmp();
	CHECK_EQ_INT(ws_remove_tree(P("%s/nope", root)), -ENOENT);
	CHECK_EQ_INT(ws_remove_tree(P("%s/nope/deeper", root)), -ENOENT);
	CHECK_EQ_INT(ws_remove_tree(NULL), -EINVAL);
	CHECK_EQ_INT(ws_remove_tree(""), -EINVAL);
	CHECK(chdir(root) == 0);
	make_dir("x");
	CHECK_EQ_INT(ws_remove_tree("."), -EINVAL);
	CHECK_EQ_INT(ws_remove_tree("x/.."), -EINVAL);
	CHECK_EQ_INT(ws_remove_tree("x/."), -EINVAL);
	CHECK(exists("x"));
	CHECK_EQ_INT(ws_remove_tree("x"), 0); /* relative */
	write_file("plain", "");
	CHECK_EQ_INT(ws_remove_tree(P("%s/plain", root)), 0);
	CHECK(!exists("plain"));
	CHECK(chdir("/") == 0);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

TEST(remove_tree_deeper_than_any_fd_limit)
{
	char *root = make_tmp();
	make_nested(root, 3000, true);
	int fds = fd_count_open();
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	CHECK(!exists(root));
	CHECK_EQ_INT(fd_count_open(), fds);
	free(root);
}

TEST(remove_tree_other_owners_as_root)
{
	if (geteuid() != 0)
		SKIP("needs root to make files of another owner");
	char *root = make_tmp();
	PATHBUF(t, "%s/t", root);
	make_dir(t);
	make_dir(P("%s/sub", t));
	write_file(P("%s/sub/f", t), "");
	CHECK(lchown(P("%s/sub/f", t), 65534, 65534) == 0);
	CHECK(chmod(P("%s/sub", t), 0500) == 0);
	CHECK(lchown(P("%s/sub", t), 65534, 65534) == 0);
	CHECK(lchown(t, 65534, 65534) == 0);
	CHECK_EQ_INT(ws_remove_tree(t), 0);
	CHECK(!exists(t));
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}

TEST(remove_tree_stops_at_mounts)
{
	enter_mount_ns(geteuid() != 0);
	char *root = make_tmp();
	PATHBUF(t, "%s/t", root);
	make_dir(t);
	make_dir(P("%s/other", t));
	write_file(P("%s/other/f", t), "");
	make_dir(P("%s/mnt", t));
	CHECK(mount("tmpfs", P("%s/mnt", t), "tmpfs", 0, "size=1m") == 0);
	write_file(P("%s/mnt/keep", t), "");

	CHECK_EQ_INT(ws_remove_tree(t), -EXDEV);
	CHECK(exists(P("%s/mnt/keep", t)));
	CHECK(!exists(P("%s/other", t)));
	CHECK(umount2(P("%s/mnt", t), 0) == 0);
	CHECK_EQ_INT(ws_remove_tree(root), 0);
	free(root);
}
