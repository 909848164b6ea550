/* SPDX-License-Identifier: MIT */
/*
 * escape - the sandbox escape suite: attacks on the "sandbox" level from the
 * inside. tests/integration/30-sandbox-escape.t runs every attempt as a task
 * under `agentrt run --sandbox sandbox` and checks how it ended.
 *
 *   escape NAME [ARGS...]   one attempt
 *   escape --list           the names, one per line
 *   escape --help           names, arguments and what each one tries
 *
 * Exit status and output of an attempt (one line on stdout):
 *   0  "blocked: NAME: <what failed, with the errno>"  (or: what it could do
 *      stayed inside the sandbox; the test checks the host side)
 *   1  "ESCAPED: NAME: <what it achieved>"
 *   2  usage error, or a dangerous attempt refused because the program does
 *      not run inside a sandbox (see guard below)
 *
 * Some attempts make system calls that the sandbox's seccomp filter denies:
 * the runtime then kills the task and reports it ended by "seccomp", so such
 * an attempt never gets to print anything. When the call returns instead,
 * the attempt says why that call was harmless (blocked, EPERM: the kernel's
 * own privilege check) or what it got (ESCAPED).
 *
 * Every system call that the filter is expected to deny is made with raw
 * syscall(), so that the filter sees exactly that call (a libc wrapper may
 * use another one: settimeofday -> clock_settime, mknod -> mknodat).
 *
 * Safety: some attempts would harm the machine if they worked outside a
 * sandbox (reboot, settime, kill_all, sethostname, swapon, acct, writing
 * /etc...). Those refuse to run (exit 2) unless the program is in a user
 * namespace other than the initial one; kill_all also wants a pid namespace
 * of its own. Even then, each one is made as harmless as it can be: invalid
 * arguments that only a privileged caller gets past (reboot with an unknown
 * command, kexec_load with an unknown flag, swapon/acct of a missing file),
 * the clock set to the time it already has, files opened for writing but
 * nothing written to them.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <linux/perf_event.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

/* keyctl(2) constants, without <keyutils.h> */
#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_PROCESS_KEYRING (-2)
#define KEY_SPEC_USER_KEYRING (-4)

/* reboot(2) magic numbers, without <linux/reboot.h> */
#define REBOOT_MAGIC1 0xfee1deadU
#define REBOOT_MAGIC2 672274793U
#define REBOOT_CMD_BOGUS 0x0badc0deU /* no such command: EINVAL once past the checks */

#define SYSLOG_ACTION_READ_ALL 3

#define UNUSED __attribute__((unused))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))

static const char *cur = "escape"; /* the attempt that runs */

/* ---- output ---------------------------------------------------------- */

static void say(const char *tag, const char *fmt, va_list ap)
{
	printf("%s: %s: ", tag, cur);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

PRINTF(1, 2) __attribute__((noreturn)) static void blocked(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("blocked", fmt, ap);
	va_end(ap);
	exit(0);
}

PRINTF(1, 2) __attribute__((noreturn)) static void escaped(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say("ESCAPED", fmt, ap);
	va_end(ap);
	exit(1);
}

PRINTF(1, 2) __attribute__((noreturn)) static void fail_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "escape: %s: ", cur);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* "EROFS (Read-only file system)"; a few calls may share one printf. */
static const char *E(int e)
{
	static char bufs[8][128];
	static unsigned next;
	char *b = bufs[next++ % 8];
	const char *name = strerrorname_np(e);
	snprintf(b, sizeof(bufs[0]), "%s (%s)", name ? name : "E?", strerror(e));
	return b;
}

/* A growing "; "-separated list of findings. */
typedef struct sbuf {
	char s[8192];
	size_t n;
	unsigned items;
} sbuf;

PRINTF(2, 3) static void sb_add(sbuf *b, const char *fmt, ...)
{
	if (b->n >= sizeof(b->s) - 1)
		return;
	if (b->items++ && b->n < sizeof(b->s) - 3) {
		memcpy(b->s + b->n, "; ", 3);
		b->n += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		b->n += (size_t)w < sizeof(b->s) - b->n ? (size_t)w : sizeof(b->s) - 1 - b->n;
}

static const char *sb_str(const sbuf *b)
{
	return b->items ? b->s : "(nothing)";
}

/* ---- helpers --------------------------------------------------------- */

static long parse_long(const char *text, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end)
		fail_usage("%s: not a number: %s", what, text);
	return v;
}

/* Reads "Key:" of /proc/<pid>/status (pid "self" allowed) into buf. */
static int status_field(const char *pid, const char *key, char *buf, size_t len)
{
	char path[64], line[512];
	size_t klen = strlen(key);
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int r = -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *v = line + klen + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(buf, len, "%s", v);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

static unsigned long long cap_field(const char *key)
{
	char v[64];
	if (status_field("self", key, v, sizeof(v)) < 0)
		return ~0ULL;
	return strtoull(v, NULL, 16);
}

/* True when the process is in the initial user namespace (uid_map is the
 * identity over the whole range), or when that cannot be told. */
static bool initial_userns(void)
{
	FILE *f = fopen("/proc/self/uid_map", "re");
	if (!f)
		return true;
	unsigned long in, out, count;
	bool identity = false;
	while (fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3)
		if (in == 0 && out == 0 && count == 4294967295UL)
			identity = true;
	fclose(f);
	return identity;
}

static bool is_pid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int count_pids(void)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (is_pid_name(e->d_name))
			n++;
	closedir(d);
	return n;
}

enum guard {
	G_NONE = 0,   /* harmless anywhere: reads, or changes only this process */
	G_USERNS = 1, /* only in a user namespace other than the initial one */
	G_PIDNS = 2,  /* that, and in a small pid namespace of its own */
};

static void guard(enum guard g)
{
	if (g == G_NONE)
		return;
	if (initial_userns())
		fail_usage("refusing to run: this attempt could harm the machine and the "
			   "process is in the initial user namespace (not in a sandbox)");
	if (g == G_PIDNS) {
		int n = count_pids();
		if (getpid() > 16 || n < 0 || n > 32)
			fail_usage("refusing to run: no pid namespace of its own (pid %d, %d "
				   "processes visible)",
				   (int)getpid(), n);
	}
}

/* Creates path exclusively; on success removes it again. 0 or -errno. */
static int try_create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	unlink(path);
	return 0;
}

/* Opens path for writing and closes it again; nothing is written. */
static int try_open_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Reads up to len bytes of a file: bytes read or -errno. */
static ssize_t try_read(const char *path, char *buf, size_t len, bool *is_chr)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (is_chr)
		*is_chr = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode);
	ssize_t n = read(fd, buf, len);
	int e = errno;
	close(fd);
	return n < 0 ? -e : n;
}

static pid_t fork_pauser(void)
{
	pid_t pid = fork();
	if (pid < 0)
		fail_usage("fork: %s", E(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

static void kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- files and mounts ------------------------------------------------ */

static void at_write_root(char **a)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/etc/agentrt-escape-%s", a[0]);
	int r = try_create(path);
	if (r == 0)
		escaped("created %s on the host's root file system", path);
	blocked("create %s: %s", path, E(-r));
}

static void at_write_usr(char **a)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/usr/agentrt-escape-%s", a[0]);
	int r = try_create(path);
	if (r == 0)
		escaped("created %s", path);
	blocked("create %s: %s", path, E(-r));
}

static void at_read_shadow(UNUSED char **a)
{
	char buf[64];
	ssize_t n = try_read("/etc/shadow", buf, sizeof(buf), NULL);
	if (n > 0)
		escaped("read %zd bytes of /etc/shadow", n);
	if (n == 0)
		blocked("/etc/shadow reads as empty");
	blocked("open /etc/shadow: %s", E((int)-n));
}

/* Lists dir and looks for an entry named marker. */
static void look_in_dir(const char *dir, const char *marker)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, marker);
	if (access(path, F_OK) == 0)
		escaped("%s exists: the host's %s is visible", path, dir);
	int direct = errno;
	DIR *d = opendir(dir);
	if (!d)
		blocked("%s: %s; opendir %s: %s", path, E(direct), dir, E(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, marker) == 0) {
			closedir(d);
			escaped("%s lists the host's marker %s", dir, marker);
		}
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	}
	closedir(d);
	blocked("%s has no %s (%d entries; %s: %s)", dir, marker, n, path, E(direct));
}

static void at_read_root_home(char **a)
{
	look_in_dir("/root", a[0]);
}

static void at_read_home(char **a)
{
	look_in_dir("/home", a[0]);
}

static void at_write_ro_bind(char **a)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/agentrt-escape-%d", a[0], (int)getpid());
	int r = try_create(path);
	if (r == 0)
		escaped("created %s in a read-only bind", path);
	blocked("create %s: %s", path, E(-r));
}

static void at_remount_rw(char **a)
{
	const char *dir = a[0];
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/agentrt-escape-remount-%d", dir, (int)getpid());
	long m = syscall(SYS_mount, NULL, dir, NULL, (unsigned long)(MS_REMOUNT | MS_BIND), NULL);
	int me = m < 0 ? errno : 0;
	int r = try_create(path);
	if (r == 0)
		escaped("remount of %s %s; created %s", dir, m == 0 ? "succeeded" : E(me), path);
	if (m == 0)
		escaped("mount(MS_REMOUNT|MS_BIND) of %s succeeded (the write still failed: %s)",
			dir, E(-r));
	blocked("mount(MS_REMOUNT|MS_BIND, %s): %s; create %s: %s", dir, E(me), path, E(-r));
}

static void at_mount_tmpfs(UNUSED char **a)
{
	const char *dir = "/tmp/agentrt-escape-mnt";
	mkdir(dir, 0700);
	long m = syscall(SYS_mount, "none", dir, "tmpfs", 0UL, NULL);
	if (m == 0) {
		syscall(SYS_umount2, dir, MNT_DETACH);
		escaped("mounted a tmpfs on %s", dir);
	}
	blocked("mount tmpfs on %s: %s", dir, E(errno));
}

static void at_umount_proc(UNUSED char **a)
{
	long r = syscall(SYS_umount2, "/proc", MNT_DETACH);
	if (r == 0)
		escaped("unmounted /proc (what was under it is visible)");
	blocked("umount2 /proc: %s", E(errno));
}

static void at_symlink_bind(char **a)
{
	const char *dir = a[0], *name = a[1];
	char ok[PATH_MAX], p1[PATH_MAX], p2[PATH_MAX];
	snprintf(ok, sizeof(ok), "%s/%s-ok", dir, name);
	snprintf(p1, sizeof(p1), "%s/link/%s", dir, name);
	snprintf(p2, sizeof(p2), "%s/rel/%s", dir, name);
	int rok = try_create(ok);
	int r1 = try_create(p1);
	int r2 = try_create(p2);
	if (r1 == 0 || r2 == 0)
		escaped("wrote through a planted link: %s: %s; %s: %s", p1,
			r1 ? E(-r1) : "created", p2, r2 ? E(-r2) : "created");
	blocked("link: create %s: %s; rel: create %s: %s; rw bind writable: %s", p1, E(-r1), p2,
		E(-r2), rok == 0 ? "yes" : E(-rok));
}

static void at_write_sys(UNUSED char **a)
{
	static const char *const paths[] = {
		"/sys/kernel/mm/transparent_hugepage/enabled",
		"/sys/kernel/uevent_helper",
		"/sys/power/state",
		"/sys/kernel/profiling",
	};
	sbuf b = { 0 };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int r = try_open_write(paths[i]);
		if (r == 0)
			escaped("opened %s for writing (nothing written)", paths[i]);
		sb_add(&b, "%s: %s", paths[i], E(-r));
	}
	blocked("%s", sb_str(&b));
}

static void at_write_proc_sys(UNUSED char **a)
{
	static const char *const paths[] = {
		"/proc/sys/vm/drop_caches",
		"/proc/sys/kernel/core_pattern",
		"/proc/sys/kernel/modprobe",
		"/proc/sys/fs/binfmt_misc/register",
	};
	sbuf b = { 0 };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int r = try_open_write(paths[i]);
		if (r == 0)
			escaped("opened %s for writing (nothing written)", paths[i]);
		sb_add(&b, "%s: %s", paths[i], E(-r));
	}
	blocked("%s", sb_str(&b));
}

static void at_mknod_dev(UNUSED char **a)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/agentrt-escape-mem-%d", (int)getpid());
	long r = syscall(SYS_mknodat, AT_FDCWD, path, (unsigned)(S_IFCHR | 0600),
			 (unsigned)makedev(1, 1));
	if (r < 0)
		blocked("mknod %s c 1 1: %s", path, E(errno));
	char buf[16];
	ssize_t n = try_read(path, buf, sizeof(buf), NULL);
	unlink(path);
	if (n >= 0)
		escaped("made %s (c 1 1 = /dev/mem) and read %zd bytes from it", path, n);
	blocked("mknod %s succeeded but opening it failed: %s (nodev)", path, E((int)-n));
}

static void at_chroot_escape(char **a)
{
	const char *dir = "/tmp/agentrt-escape-chroot";
	struct stat root0, st;
	if (stat("/", &root0) < 0)
		fail_usage("stat /: %s", E(errno));
	mkdir(dir, 0700);
	if (syscall(SYS_chroot, dir) < 0)
		blocked("chroot %s: %s", dir, E(errno));
	/* The cwd is outside the new root: ".." climbs to the namespace's root. */
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	if (stat(".", &st) < 0)
		blocked("chroot allowed; stat . after climbing: %s", E(errno));
	if (a[0]) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "tmp/%s", a[0]);
		if (access(path, F_OK) == 0)
			escaped("chroot + '..' reached the host's /tmp (found %s)", a[0]);
	}
	if (st.st_dev != root0.st_dev || st.st_ino != root0.st_ino)
		escaped("chroot + '..' reached a directory above the sandbox root "
			"(dev %u:%u ino %llu, root is %u:%u ino %llu)",
			major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino,
			major(root0.st_dev), minor(root0.st_dev), (unsigned long long)root0.st_ino);
	blocked("chroot allowed, but '..' stops at the sandbox root");
}

static void at_root_flags(UNUSED char **a)
{
	static const char *const paths[] = { "/", "/etc", "/usr", "/bin" };
	sbuf bad = { 0 }, good = { 0 };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct statvfs sv;
		if (statvfs(paths[i], &sv) < 0) {
			sb_add(&good, "%s: %s", paths[i], E(errno));
			continue;
		}
		bool ro = sv.f_flag & ST_RDONLY, nosuid = sv.f_flag & ST_NOSUID,
		     nodev = sv.f_flag & ST_NODEV;
		if (!ro || !nosuid || !nodev)
			sb_add(&bad, "%s is mounted%s%s%s", paths[i], ro ? "" : " read-write",
			       nosuid ? "" : " without nosuid", nodev ? "" : " without nodev");
		else
			sb_add(&good, "%s ro,nosuid,nodev", paths[i]);
	}
	if (bad.items)
		escaped("%s", sb_str(&bad));
	blocked("%s", sb_str(&good));
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Mounts of host file systems that are writable and reachable, other than
 * the rw binds given as arguments. Fresh in-sandbox file systems (proc,
 * tmpfs, devpts, mqueue) and device nodes bound onto files are fine; a
 * mount hidden under another one is not reachable. */
static void at_rw_mounts(char **a)
{
	static const char *const fresh[] = { "proc", "tmpfs", "devpts", "mqueue", "ramfs", NULL };
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		blocked("open /proc/self/mountinfo: %s", E(errno));
	char line[4096];
	sbuf bad = { 0 };
	int total = 0, rw_fresh = 0, ro = 0, hidden = 0, allowed = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		char mp[PATH_MAX], opts[512], fstype[128];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*d %*d %u:%u %*s %4095s %511s", &maj, &min, mp, opts) != 4 ||
		    sscanf(dash + 3, "%127s", fstype) != 1)
			continue;
		total++;
		unescape(mp);
		if (strncmp(opts, "ro", 2) == 0 && (opts[2] == ',' || !opts[2])) {
			ro++;
			continue;
		}
		bool skip = false;
		for (int i = 0; fresh[i]; i++)
			skip |= strcmp(fstype, fresh[i]) == 0;
		if (skip) {
			rw_fresh++;
			continue;
		}
		for (char **p = a; *p; p++) {
			size_t l = strlen(*p);
			if (strncmp(mp, *p, l) == 0 && (mp[l] == '\0' || mp[l] == '/'))
				skip = true;
		}
		if (skip) {
			allowed++;
			continue;
		}
		struct stat st;
		if (stat(mp, &st) < 0 || st.st_dev != makedev(maj, min)) {
			hidden++;
			continue;
		}
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			rw_fresh++;
			continue;
		}
		sb_add(&bad, "%s (%s) is read-write", mp, fstype);
	}
	fclose(f);
	if (bad.items)
		escaped("%s", sb_str(&bad));
	blocked("%d mounts: %d read-only, %d fresh or device binds, %d given rw binds, %d hidden; "
		"no writable host file system",
		total, ro, rw_fresh, allowed, hidden);
}

static void at_cgroup_escape(char **a)
{
	sbuf b = { 0 };
	char path[PATH_MAX];
	/* The paths the test gives (host cgroups), then every hierarchy's root. */
	for (char **p = a; *p; p++) {
		int fd = open(*p, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			sb_add(&b, "%s: %s", *p, E(errno));
			continue;
		}
		ssize_t w = write(fd, "0\n", 2);
		int e = errno;
		close(fd);
		if (w > 0)
			escaped("moved itself into the cgroup of %s", *p);
		sb_add(&b, "%s: opened, write: %s", *p, E(e));
	}
	snprintf(path, sizeof(path), "/sys/fs/cgroup/cgroup.procs");
	int r = try_open_write(path);
	if (r == 0)
		escaped("opened %s for writing", path);
	sb_add(&b, "%s: %s", path, E(-r));
	DIR *d = opendir("/sys/fs/cgroup");
	if (!d) {
		sb_add(&b, "/sys/fs/cgroup: %s", E(errno));
	} else {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			static const char *const files[] = { "cgroup.procs", "release_agent",
							     "notify_on_release" };
			for (size_t i = 0; i < 3; i++) {
				snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/%s", e->d_name,
					 files[i]);
				r = try_open_write(path);
				if (r == 0) {
					closedir(d);
					escaped("opened %s for writing (nothing written)", path);
				}
				if (r != -ENOENT && r != -ENOTDIR)
					sb_add(&b, "%s: %s", path, E(-r));
			}
		}
		closedir(d);
	}
	blocked("%s", sb_str(&b));
}

/* ---- host visibility ---------------------------------------------------- */

static void at_see_host_procs(char **a)
{
	const char *marker = a[0];
	DIR *d = opendir("/proc");
	if (!d)
		blocked("opendir /proc: %s", E(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_pid_name(e->d_name))
			continue;
		n++;
		if (atoi(e->d_name) == getpid())
			continue;
		char path[300], buf[4096];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		ssize_t len = try_read(path, buf, sizeof(buf) - 1, NULL);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[len] = '\0';
		/* Our own command line (and the runtime's, if the sandbox's init
		 * is a copy of it) also holds the marker. */
		if (strstr(buf, marker) && !strstr(buf, "see_host_procs")) {
			closedir(d);
			escaped("sees host process %s: %.160s", e->d_name, buf);
		}
	}
	closedir(d);
	blocked("no process with the marker among the %d visible (this is pid %d)", n,
		(int)getpid());
}

static void at_proc1_root(char **a)
{
	char p1[PATH_MAX], p2[PATH_MAX];
	snprintf(p1, sizeof(p1), "/proc/1/root/tmp/%s", a[0]);
	snprintf(p2, sizeof(p2), "/tmp/%s", a[0]);
	if (access(p1, F_OK) == 0)
		escaped("%s exists: pid 1's root is the host's", p1);
	int e1 = errno;
	if (access(p2, F_OK) == 0)
		escaped("%s exists: /tmp is the host's", p2);
	blocked("%s: %s; %s: %s", p1, E(e1), p2, E(errno));
}

/* Looks for the host's /tmp marker through every process's root, cwd and
 * open directories. */
static void at_proc_cwd(char **a)
{
	const char *marker = a[0];
	DIR *d = opendir("/proc");
	if (!d)
		blocked("opendir /proc: %s", E(errno));
	int procs = 0, tries = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_pid_name(e->d_name))
			continue;
		procs++;
		char path[PATH_MAX];
		static const char *const fmts[] = { "/proc/%s/root/tmp/%s", "/proc/%s/cwd/%s",
						    "/proc/%s/cwd/../%s", "/proc/%s/cwd/tmp/%s" };
		for (size_t i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), fmts[i], e->d_name, marker);
			tries++;
			if (access(path, F_OK) == 0) {
				closedir(d);
				escaped("found the host's marker at %s", path);
			}
		}
		char fddir[300];
		snprintf(fddir, sizeof(fddir), "/proc/%s/fd", e->d_name);
		DIR *fds = opendir(fddir);
		if (!fds)
			continue;
		struct dirent *fe;
		while ((fe = readdir(fds))) {
			if (!is_pid_name(fe->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s/%s", fddir, fe->d_name, marker);
			tries++;
			if (access(path, F_OK) == 0) {
				closedir(fds);
				closedir(d);
				escaped("found the host's marker at %s", path);
			}
			snprintf(path, sizeof(path), "%s/%s/tmp/%s", fddir, fe->d_name, marker);
			if (access(path, F_OK) == 0) {
				closedir(fds);
				closedir(d);
				escaped("found the host's marker at %s", path);
			}
		}
		closedir(fds);
	}
	closedir(d);
	blocked("marker not found through %d processes' root, cwd and fds (%d paths)", procs, tries);
}

/* The working directory the runtime gave the task: is it inside the root,
 * and does ".." stop at the root? */
static void at_cwd_escape(char **a)
{
	/* The raw call: glibc turns "(unreachable)/path" into ENOENT. */
	char cwd[PATH_MAX];
	if (syscall(SYS_getcwd, cwd, sizeof(cwd)) < 0)
		snprintf(cwd, sizeof(cwd), "(getcwd: %s)", E(errno));
	if (strncmp(cwd, "(unreachable)", 13) == 0)
		escaped("the working directory is outside the sandbox root: %s", cwd);
	struct stat root, st;
	if (stat("/", &root) < 0)
		fail_usage("stat /: %s", E(errno));
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "tmp/%s", a[0]);
	if (access(path, F_OK) == 0)
		escaped("climbing from the cwd (%s) reached the host's /tmp", cwd);
	if (stat(".", &st) == 0 && (st.st_dev != root.st_dev || st.st_ino != root.st_ino))
		escaped("climbing from the cwd (%s) reached a directory that is not the root", cwd);
	blocked("cwd %s; '..' stops at the sandbox root", cwd);
}

static void at_dev_shm(char **a)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/dev/shm/%s", a[0]);
	if (access(path, F_OK) == 0)
		escaped("%s exists: /dev/shm is the host's", path);
	blocked("%s: %s", path, E(errno));
}

static void at_ipc_host(char **a)
{
	int id = (int)parse_long(a[0], "shm id");
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) == 0)
		escaped("sees the host's SysV shared memory segment %d (%zu bytes)", id,
			(size_t)ds.shm_segsz);
	int e = errno;
	if (e == EACCES || e == EPERM)
		escaped("the host's SysV segment %d exists here (%s)", id, E(e));
	blocked("shmctl(%d, IPC_STAT): %s", id, E(e));
}

/* ---- processes -------------------------------------------------------- */

static void at_kill_host(char **a)
{
	pid_t pid = (pid_t)parse_long(a[0], "pid");
	if (pid <= 1)
		fail_usage("pid must be > 1");
	if (kill(pid, SIGKILL) == 0)
		escaped("sent SIGKILL to pid %d", (int)pid);
	blocked("kill(%d, SIGKILL): %s", (int)pid, E(errno));
}

static void at_kill_all(UNUSED char **a)
{
	/* A child inside the sandbox shows that kill(-1) works at all; the
	 * test checks that its sleeper on the host survived. */
	pid_t child = fork_pauser();
	int r = kill(-1, SIGKILL);
	int e = errno;
	int status = 0;
	pid_t w = waitpid(child, &status, 0);
	bool child_killed = w == child && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	if (r < 0)
		blocked("kill(-1, SIGKILL): %s (own child killed: %s)", E(e),
			child_killed ? "yes" : "no");
	blocked("kill(-1, SIGKILL) returned 0 and this process survived; own child killed: %s "
		"(the host's processes must be untouched)",
		child_killed ? "yes" : "no");
}

static void at_ptrace_host(char **a)
{
	pid_t pid = (pid_t)parse_long(a[0], "pid");
	long r = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, pid, NULL, NULL);
	if (r == 0) {
		syscall(SYS_ptrace, 17 /* PTRACE_DETACH */, pid, NULL, NULL);
		escaped("attached to pid %d", (int)pid);
	}
	blocked("ptrace(PTRACE_ATTACH, %d): %s", (int)pid, E(errno));
}

static void at_ptrace_child(UNUSED char **a)
{
	pid_t child = fork_pauser();
	long r = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, child, NULL, NULL);
	int e = errno;
	kill_reap(child);
	if (r == 0)
		escaped("ptrace is not filtered: attached to its own child %d", (int)child);
	blocked("ptrace(PTRACE_ATTACH, child %d): %s", (int)child, E(e));
}

static void at_process_vm_readv(UNUSED char **a)
{
	static char secret[] = "agentrt-secret";
	char buf[sizeof(secret)] = { 0 };
	struct iovec local = { buf, sizeof(buf) }, remote = { secret, sizeof(secret) };
	long n = syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL);
	if (n > 0)
		escaped("process_vm_readv is not filtered (read %ld bytes of its own memory)", n);
	blocked("process_vm_readv: %s", E(errno));
}

static void at_proc_mem_init(UNUSED char **a)
{
	int fd = open("/proc/1/mem", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		escaped("opened /proc/1/mem (the sandbox's init) for writing");
	}
	blocked("open /proc/1/mem: %s", E(errno));
}

static void at_leaked_fds(UNUSED char **a)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		fail_usage("opendir /proc/self/fd: %s", E(errno));
	int mine = dirfd(d);
	sbuf b = { 0 };
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_pid_name(e->d_name))
			continue;
		int fd = atoi(e->d_name);
		if (fd < 3 || fd == mine)
			continue;
		char path[64], target[PATH_MAX];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		sb_add(&b, "fd %d -> %s", fd, n > 0 ? target : "?");
	}
	closedir(d);
	if (b.items)
		escaped("descriptors leaked into the task: %s", sb_str(&b));
	blocked("no descriptor above 2");
}

/* Descriptors of the other processes in the sandbox (its init): a
 * directory or file of the host held open there is a way out through
 * /proc/PID/fd/N. Fine are those the task has itself (its stdio) and those
 * whose path leads to the same file here anyway. */
static bool same_as_own_stdio(const struct stat *st)
{
	for (int fd = 0; fd < 3; fd++) {
		struct stat own;
		if (fstat(fd, &own) == 0 && own.st_dev == st->st_dev && own.st_ino == st->st_ino)
			return true;
	}
	return false;
}

static void at_init_fds(UNUSED char **a)
{
	DIR *d = opendir("/proc");
	if (!d)
		blocked("opendir /proc: %s", E(errno));
	sbuf ok = { 0 };
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_pid_name(e->d_name) || atoi(e->d_name) == getpid())
			continue;
		char fddir[300];
		snprintf(fddir, sizeof(fddir), "/proc/%s/fd", e->d_name);
		DIR *fds = opendir(fddir);
		if (!fds) {
			sb_add(&ok, "pid %s: %s", e->d_name, E(errno));
			continue;
		}
		int n = 0, visible = 0, unreadable = 0;
		struct dirent *fe;
		while ((fe = readdir(fds))) {
			if (!is_pid_name(fe->d_name))
				continue;
			n++;
			char path[600], target[PATH_MAX];
			struct stat st, here;
			snprintf(path, sizeof(path), "%s/%s", fddir, fe->d_name);
			ssize_t len = readlink(path, target, sizeof(target) - 1);
			target[len > 0 ? len : 0] = '\0';
			if (stat(path, &st) < 0) {
				unreadable++;
				continue;
			}
			if (!(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
				continue;
			if (same_as_own_stdio(&st) || strncmp(target, "/memfd:", 7) == 0 ||
			    (target[0] == '/' && stat(target, &here) == 0 && here.st_dev == st.st_dev &&
			     here.st_ino == st.st_ino)) {
				visible++;
				continue;
			}
			closedir(fds);
			closedir(d);
			escaped("pid %s holds the %s %s open, which is not visible here; it is "
				"reachable as %s",
				e->d_name, S_ISDIR(st.st_mode) ? "directory" : "file", target, path);
		}
		closedir(fds);
		sb_add(&ok, "pid %s: %d fds (%d not accessible, %d files visible here anyway)",
		       e->d_name, n, unreadable, visible);
	}
	closedir(d);
	blocked("%s", sb_str(&ok));
}

/* pidfd_getfd: copy descriptors out of the sandbox's init, which may run
 * with more privileges than the task (and, just after the start, may still
 * hold some of the runtime's descriptors). Several rounds, for that window. */
static void at_steal_init_fds(UNUSED char **a)
{
	long pfd = syscall(SYS_pidfd_open, 1, 0);
	if (pfd < 0)
		blocked("pidfd_open(1): %s", E(errno));
	int eperm = 0, ebadf = 0, other = 0, last_other = 0;
	for (int round = 0; round < 20; round++) {
		for (int fd = 0; fd < 256; fd++) {
			long got = syscall(SYS_pidfd_getfd, pfd, fd, 0);
			if (got >= 0) {
				char path[64], target[PATH_MAX];
				snprintf(path, sizeof(path), "/proc/self/fd/%ld", got);
				ssize_t n = readlink(path, target, sizeof(target) - 1);
				target[n > 0 ? n : 0] = '\0';
				escaped("took descriptor %d (%s) from pid 1", fd, n > 0 ? target : "?");
			}
			if (errno == EPERM)
				eperm++;
			else if (errno == EBADF)
				ebadf++;
			else
				other++, last_other = errno;
		}
		if (eperm && !ebadf && !other)
			break; /* refused outright: the result will not change */
		usleep(2000);
	}
	if (other)
		blocked("pidfd_getfd(pid 1): %d x EPERM, %d x EBADF, %d others (last %s)", eperm,
			ebadf, other, E(last_other));
	blocked("pidfd_getfd(pid 1): %d x EPERM, %d x EBADF", eperm, ebadf);
}

/* ---- network ---------------------------------------------------------- */

static void at_connect_host_port(char **a)
{
	long port = parse_long(a[0], "port");
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		blocked("socket(AF_INET): %s", E(errno));
	struct timeval tv = { 3, 0 };
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		blocked("connect 127.0.0.1:%ld: %s", port, E(errno));
	char buf[128] = { 0 };
	ssize_t n = read(s, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	escaped("connected to 127.0.0.1:%ld, read \"%s\"", port, buf);
}

static void at_abstract_unix(char **a)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		blocked("socket(AF_UNIX): %s", E(errno));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(a[0]);
	if (len > sizeof(sa.sun_path) - 1)
		fail_usage("name too long");
	memcpy(sa.sun_path + 1, a[0], len);
	socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
	if (connect(s, (struct sockaddr *)&sa, sl) < 0)
		blocked("connect @%s: %s", a[0], E(errno));
	escaped("connected to the host's abstract socket @%s", a[0]);
}

static void at_net_ifaces(UNUSED char **a)
{
	struct if_nameindex *ifs = if_nameindex();
	if (!ifs)
		blocked("if_nameindex: %s", E(errno));
	sbuf all = { 0 }, extra = { 0 };
	for (struct if_nameindex *i = ifs; i->if_index; i++) {
		sb_add(&all, "%s", i->if_name);
		if (strcmp(i->if_name, "lo") != 0)
			sb_add(&extra, "%s", i->if_name);
	}
	if_freenameindex(ifs);
	if (extra.items)
		escaped("network interfaces besides lo: %s", sb_str(&extra));
	blocked("interfaces: %s", sb_str(&all));
}

static void at_raw_socket(UNUSED char **a)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (s >= 0)
		escaped("opened an AF_PACKET raw socket");
	int e1 = errno;
	s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (s >= 0)
		escaped("opened an AF_INET raw socket");
	blocked("AF_PACKET: %s; AF_INET SOCK_RAW: %s", E(e1), E(errno));
}

/* ---- namespaces ------------------------------------------------------- */

static void at_unshare_userns(UNUSED char **a)
{
	if (syscall(SYS_unshare, CLONE_NEWUSER) == 0)
		escaped("unshare(CLONE_NEWUSER) made a new user namespace");
	blocked("unshare(CLONE_NEWUSER): %s", E(errno));
}

static void at_unshare_ns(UNUSED char **a)
{
	static const struct {
		int flag;
		const char *name;
	} ns[] = { { CLONE_NEWNS, "NEWNS" },   { CLONE_NEWNET, "NEWNET" },
		   { CLONE_NEWUTS, "NEWUTS" }, { CLONE_NEWIPC, "NEWIPC" },
		   { CLONE_NEWPID, "NEWPID" }, { CLONE_NEWCGROUP, "NEWCGROUP" } };
	sbuf b = { 0 };
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		if (syscall(SYS_unshare, ns[i].flag) == 0)
			escaped("unshare(CLONE_%s) succeeded: the task has CAP_SYS_ADMIN", ns[i].name);
		sb_add(&b, "CLONE_%s: %s", ns[i].name, E(errno));
	}
	blocked("%s", sb_str(&b));
}

static void at_clone_userns(UNUSED char **a)
{
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL,
			   NULL);
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		blocked("clone(CLONE_NEWUSER): %s", E(errno));
	waitpid((pid_t)pid, NULL, 0);
	escaped("clone(CLONE_NEWUSER) started a child in a new user namespace");
}

struct clone_args_v0 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static void at_clone3_userns(UNUSED char **a)
{
	struct clone_args_v0 ca = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		blocked("clone3(CLONE_NEWUSER): %s", E(errno));
	waitpid((pid_t)pid, NULL, 0);
	escaped("clone3(CLONE_NEWUSER) started a child in a new user namespace");
}

static void at_setns_host(char **a)
{
	char path[64];
	int fd = -1, e = 0;
	if (a[0]) {
		snprintf(path, sizeof(path), "/proc/%s/ns/net", a[0]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		e = errno;
	}
	char first[200] = "";
	if (fd < 0) {
		if (a[0])
			snprintf(first, sizeof(first), "%s: %s; ", path, E(e));
		snprintf(path, sizeof(path), "/proc/1/ns/net");
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			blocked("%sopen %s: %s", first, path, E(errno));
	}
	if (syscall(SYS_setns, fd, 0) == 0)
		escaped("setns(%s) succeeded", path);
	blocked("%ssetns(%s): %s", first, path, E(errno));
}

static void at_sethostname_host(char **a)
{
	const char *name = a[0];
	if (syscall(SYS_sethostname, name, strlen(name)) < 0)
		blocked("sethostname: %s", E(errno));
	char now[256] = "";
	gethostname(now, sizeof(now));
	blocked("contained: sethostname(\"%s\") changed the sandbox's UTS namespace (hostname "
		"now \"%s\"); the host's must be unchanged",
		name, now);
}

/* ---- privileges --------------------------------------------------------- */

static void at_caps(UNUSED char **a)
{
	static const char *const keys[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	sbuf bad = { 0 };
	for (size_t i = 0; i < 5; i++) {
		unsigned long long v = cap_field(keys[i]);
		if (v)
			sb_add(&bad, "%s %016llx", keys[i], v);
	}
	if (bad.items)
		escaped("capabilities left: %s", sb_str(&bad));
	blocked("CapInh, CapPrm, CapEff, CapBnd and CapAmb are all 0");
}

static void at_no_new_privs(UNUSED char **a)
{
	char v[32] = "?";
	status_field("self", "NoNewPrivs", v, sizeof(v));
	int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (r != 1)
		escaped("no_new_privs is not set (prctl %d, NoNewPrivs: %s)", r, v);
	blocked("no_new_privs is set (NoNewPrivs: %s)", v);
}

static void at_seccomp_on(UNUSED char **a)
{
	char mode[32] = "?", filters[32] = "?";
	status_field("self", "Seccomp", mode, sizeof(mode));
	status_field("self", "Seccomp_filters", filters, sizeof(filters));
	if (strcmp(mode, "2") != 0)
		escaped("no seccomp filter (Seccomp: %s)", mode);
	blocked("seccomp filter mode (Seccomp: 2, %s filters)", filters);
}

/* uid_map: the host's root must not be mapped (files it owns, such as
 * /etc, then show up as the overflow uid), and with an argument the sandbox's
 * root must be that host uid (this assumes one user namespace between the
 * task and the host, as the sandbox makes it). */
static unsigned long read_ulong(const char *path, unsigned long dflt)
{
	FILE *f = fopen(path, "re");
	unsigned long v;
	if (!f)
		return dflt;
	if (fscanf(f, "%lu", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

static void at_uid_map(char **a)
{
	sbuf b = { 0 }, bad = { 0 };
	static const char *const maps[] = { "/proc/self/uid_map", "/proc/self/gid_map" };
	for (size_t m = 0; m < 2; m++) {
		FILE *f = fopen(maps[m], "re");
		if (!f) {
			sb_add(&b, "%s: %s", maps[m], E(errno));
			continue;
		}
		unsigned long in, out, count;
		while (fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3) {
			sb_add(&b, "%s_map %lu %lu %lu", m ? "gid" : "uid", in, out, count);
			if (m == 0 && in == 0 && a[0] && out != (unsigned long)parse_long(a[0], "uid"))
				sb_add(&bad, "root here is host uid %lu, not %s", out, a[0]);
		}
		fclose(f);
	}
	unsigned long ouid = read_ulong("/proc/sys/kernel/overflowuid", 65534);
	unsigned long ogid = read_ulong("/proc/sys/kernel/overflowgid", 65534);
	/* Not "/": the sandbox may build its root on a tmpfs of its own. */
	static const char *const owned_by_root[] = { "/etc", "/usr", "/etc/passwd" };
	for (size_t i = 0; i < 3; i++) {
		struct stat st;
		if (stat(owned_by_root[i], &st) < 0)
			continue;
		if (st.st_uid != ouid)
			sb_add(&bad, "%s is owned by uid %u here: the host's root is mapped",
			       owned_by_root[i], (unsigned)st.st_uid);
		if (st.st_gid != ogid)
			sb_add(&bad, "%s has gid %u here: the host's gid 0 is mapped",
			       owned_by_root[i], (unsigned)st.st_gid);
		if (bad.items)
			break;
	}
	if (bad.items)
		escaped("%s (%s)", sb_str(&bad), sb_str(&b));
	blocked("%s; /etc is owned by the overflow uid", sb_str(&b));
}

/* Exec PATH (a copy of this program) in mode report-creds, which reports
 * whether the exec changed the credentials. */
static void exec_report(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		fail_usage("stat %s: %s (the test must prepare it)", path, E(errno));
	char euid[32], cap[32], mode[64];
	snprintf(euid, sizeof(euid), "%u", (unsigned)geteuid());
	snprintf(cap, sizeof(cap), "%llx", cap_field("CapEff"));
	snprintf(mode, sizeof(mode), "%o:%u", (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
	char *argv[] = { (char *)path, (char *)"report-creds", (char *)cur, euid, cap, mode, NULL };
	execv(path, argv);
	blocked("exec %s: %s", path, E(errno));
}

/* A setuid-root copy of this program. */
static void at_setuid_gain(char **a)
{
	exec_report(a[0]);
}

/* A plain exec as the sandbox's root: the kernel gives root the full
 * permitted set on exec unless the bounding set is empty. */
static void at_exec_caps(UNUSED char **a)
{
	exec_report("/proc/self/exe");
}

/* report-creds NAME EUID CAPEFF MODE:OWNER (after the exec). */
static void report_creds(int argc, char **argv)
{
	if (argc < 6)
		fail_usage("report-creds NAME EUID CAPEFF MODE");
	cur = argv[2];
	unsigned long before = strtoul(argv[3], NULL, 10);
	unsigned long long cap_before = strtoull(argv[4], NULL, 16);
	unsigned now = (unsigned)geteuid();
	unsigned long long eff = cap_field("CapEff"), prm = cap_field("CapPrm");
	if (now != before || eff != 0 || prm != 0)
		escaped("the exec (file mode:owner %s) changed the credentials: euid %lu -> %u, "
			"CapEff %llx -> %llx, CapPrm %llx",
			argv[5], before, now, cap_before, eff, prm);
	blocked("euid stayed %u, CapEff and CapPrm 0 after the exec (file mode:owner %s)", now,
		argv[5]);
}

/* runc's CVE-2019-5736: open the binary of the sandbox's init (on the
 * host, if the init is the runtime) or its own for writing. */
static void at_overwrite_exe(UNUSED char **a)
{
	static const char *const paths[] = { "/proc/1/exe", "/proc/self/exe" };
	sbuf b = { 0 };
	for (size_t i = 0; i < 2; i++) {
		int r = try_open_write(paths[i]);
		if (r == 0)
			escaped("opened %s for writing (nothing written)", paths[i]);
		sb_add(&b, "%s: %s", paths[i], E(-r));
	}
	blocked("%s", sb_str(&b));
}

static void at_settime(UNUSED char **a)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (syscall(SYS_clock_settime, CLOCK_REALTIME, &ts) == 0)
		escaped("clock_settime(CLOCK_REALTIME) succeeded (set to the current time)");
	blocked("clock_settime: %s", E(errno));
}

static void at_settimeofday(UNUSED char **a)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (syscall(SYS_settimeofday, &tv, NULL) == 0)
		escaped("settimeofday succeeded (set to the current time)");
	blocked("settimeofday: %s", E(errno));
}

/* Calls whose only safe outcome, when they return, is EPERM: anything else
 * means the caller got past the kernel's privilege check (the arguments are
 * made invalid, so nothing happens even then). */
static void privileged_call(const char *what, long r, int e)
{
	if (r >= 0)
		escaped("%s succeeded (returned %ld)", what, r);
	if (e == EPERM)
		blocked("%s: %s", what, E(e));
	if (e == ENOSYS)
		blocked("%s: %s: not in this kernel", what, E(e));
	escaped("%s passed the privilege check (%s)", what, E(e));
}

static void at_init_module(UNUSED char **a)
{
	static const char junk[64] = "\177ELF agentrt escape suite: not a module";
	long r = syscall(SYS_init_module, junk, sizeof(junk), "");
	privileged_call("init_module(garbage)", r, errno);
}

static void at_finit_module(UNUSED char **a)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	long r = syscall(SYS_finit_module, fd, "", 0);
	privileged_call("finit_module(not a module)", r, errno);
}

static void at_kexec_load(UNUSED char **a)
{
	long r = syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0x4000UL /* no such flag */);
	privileged_call("kexec_load(bad flag)", r, errno);
}

static void at_reboot(UNUSED char **a)
{
	long r = syscall(SYS_reboot, REBOOT_MAGIC1, REBOOT_MAGIC2, REBOOT_CMD_BOGUS, NULL);
	privileged_call("reboot(unknown command)", r, errno);
}

static void at_swapon(UNUSED char **a)
{
	long r = syscall(SYS_swapon, "/nonexistent/agentrt-escape-swap", 0);
	privileged_call("swapon(missing file)", r, errno);
}

static void at_swapoff(UNUSED char **a)
{
	long r = syscall(SYS_swapoff, "/nonexistent/agentrt-escape-swap");
	privileged_call("swapoff(missing file)", r, errno);
}

static void at_acct(UNUSED char **a)
{
	long r = syscall(SYS_acct, "/nonexistent/agentrt-escape-acct");
	privileged_call("acct(missing file)", r, errno);
}

static void at_open_by_handle_at(UNUSED char **a)
{
	/* "shocker": inode 2, the root directory of most file systems. */
	struct {
		struct file_handle fh;
		unsigned char bytes[8];
	} h = { .fh = { .handle_bytes = 8, .handle_type = 1 } };
	uint32_t ino = 2;
	memcpy(h.fh.f_handle, &ino, sizeof(ino));
	int mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long fd = syscall(SYS_open_by_handle_at, mfd, &h.fh, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		escaped("open_by_handle_at opened inode 2 by handle (fd %ld)", fd);
	blocked("open_by_handle_at: %s", E(errno));
}

/* ---- kernel interfaces -------------------------------------------------- */

static void at_keyctl(UNUSED char **a)
{
	long r = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
	if (r >= 0)
		escaped("keyctl is not filtered (user keyring %ld)", r);
	blocked("keyctl(GET_KEYRING_ID): %s", E(errno));
}

static void at_add_key(UNUSED char **a)
{
	long r = syscall(SYS_add_key, "user", "agentrt-escape", "x", 1UL, KEY_SPEC_PROCESS_KEYRING);
	if (r >= 0)
		escaped("add_key is not filtered (key %ld)", r);
	blocked("add_key: %s", E(errno));
}

static void at_request_key(UNUSED char **a)
{
	long r = syscall(SYS_request_key, "user", "agentrt-escape-none", NULL, 0);
	if (r >= 0 || errno == ENOKEY)
		escaped("request_key is not filtered (%s)", r >= 0 ? "found a key" : E(errno));
	blocked("request_key: %s", E(errno));
}

static void at_bpf(UNUSED char **a)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd >= 0)
		escaped("bpf is not filtered (created a map, fd %ld)", fd);
	blocked("bpf(BPF_MAP_CREATE): %s", E(errno));
}

static void at_perf_event_open(UNUSED char **a)
{
	struct perf_event_attr pa;
	memset(&pa, 0, sizeof(pa));
	pa.type = PERF_TYPE_SOFTWARE;
	pa.size = sizeof(pa);
	pa.config = PERF_COUNT_SW_TASK_CLOCK;
	pa.exclude_kernel = 1;
	pa.exclude_hv = 1;
	long fd = syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0UL);
	if (fd >= 0)
		escaped("perf_event_open is not filtered (fd %ld)", fd);
	blocked("perf_event_open: %s", E(errno));
}

static void at_userfaultfd(UNUSED char **a)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd >= 0)
		escaped("userfaultfd is not filtered (fd %ld)", fd);
	blocked("userfaultfd: %s", E(errno));
}

static void at_syslog(UNUSED char **a)
{
	char buf[4096];
	long n = syscall(SYS_syslog, SYSLOG_ACTION_READ_ALL, buf, (int)sizeof(buf));
	if (n >= 0)
		escaped("read %ld bytes of the kernel log", n);
	blocked("syslog(READ_ALL): %s", E(errno));
}

static void at_open_dev_mem(UNUSED char **a)
{
	static const char *const paths[] = { "/dev/mem", "/dev/kmem", "/dev/port" };
	sbuf b = { 0 };
	for (size_t i = 0; i < 3; i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			escaped("opened %s", paths[i]);
		sb_add(&b, "%s: %s", paths[i], E(errno));
	}
	blocked("%s", sb_str(&b));
}

static void at_open_dev_kmsg(UNUSED char **a)
{
	char buf[512];
	ssize_t n = try_read("/dev/kmsg", buf, sizeof(buf), NULL);
	if (n > 0)
		escaped("read %zd bytes of /dev/kmsg", n);
	if (n == 0 || n == -EAGAIN)
		escaped("opened /dev/kmsg (%s)", n ? "no message yet" : "empty");
	blocked("/dev/kmsg: %s", E((int)-n));
}

/* Device nodes: only the minimal set may be there. */
static int scan_dev(const char *dir, int depth, sbuf *bad, int *count)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 4) {
			scan_dev(path, depth + 1, bad, count);
			continue;
		}
		if (S_ISBLK(st.st_mode)) {
			sb_add(bad, "%s (block %u:%u)", path, major(st.st_rdev), minor(st.st_rdev));
			continue;
		}
		if (!S_ISCHR(st.st_mode))
			continue;
		(*count)++;
		unsigned ma = major(st.st_rdev), mi = minor(st.st_rdev);
		bool allowed = (ma == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9)) ||
			       (ma == 5 && (mi == 0 || mi == 2)) || ma == 136;
		if (!allowed)
			sb_add(bad, "%s (char %u:%u)", path, ma, mi);
	}
	closedir(d);
	return 0;
}

static void at_dev_nodes(UNUSED char **a)
{
	sbuf bad = { 0 };
	int count = 0;
	int r = scan_dev("/dev", 0, &bad, &count);
	if (r < 0)
		blocked("opendir /dev: %s", E(-r));
	if (bad.items)
		escaped("device nodes beyond the minimal set: %s", sb_str(&bad));
	blocked("%d character devices, all in the minimal set", count);
}

static void at_read_kcore(UNUSED char **a)
{
	char buf[64];
	bool chr = false;
	ssize_t n = try_read("/proc/kcore", buf, sizeof(buf), &chr);
	if (n > 0)
		escaped("read %zd bytes of /proc/kcore", n);
	if (n == 0)
		blocked("/proc/kcore is masked (reads 0 bytes%s)", chr ? ", a device" : "");
	blocked("/proc/kcore: %s", E((int)-n));
}

static void at_proc_masked(UNUSED char **a)
{
	static const char *const files[] = { "/proc/keys", "/proc/timer_list" };
	sbuf ok = { 0 };
	for (size_t i = 0; i < 2; i++) {
		char buf[256];
		bool chr = false;
		ssize_t n = try_read(files[i], buf, sizeof(buf), &chr);
		if (n > 0)
			escaped("read %zd bytes of %s", n, files[i]);
		sb_add(&ok, "%s: %s", files[i],
		       n == 0 ? (chr ? "masked (a device, 0 bytes)" : "0 bytes") : E((int)-n));
	}
	DIR *d = opendir("/sys/firmware");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				closedir(d);
				escaped("/sys/firmware is not masked (has %s)", e->d_name);
			}
		closedir(d);
		sb_add(&ok, "/sys/firmware: empty");
	} else {
		sb_add(&ok, "/sys/firmware: %s", E(errno));
	}
	blocked("%s", sb_str(&ok));
}

static void at_write_sysrq(UNUSED char **a)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		blocked("open /proc/sysrq-trigger for writing: %s", E(errno));
	struct stat st;
	struct statfs sf;
	bool chr = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode);
	bool proc = fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
	close(fd);
	if (chr || !proc)
		blocked("/proc/sysrq-trigger is masked (%s)", chr ? "a device" : "not procfs");
	escaped("opened /proc/sysrq-trigger for writing (nothing written)");
}

static void at_tiocsti(UNUSED char **a)
{
	sbuf b = { 0 };
	char c = '\n';
	for (int fd = 0; fd < 3; fd++) {
		if (ioctl(fd, TIOCSTI, &c) == 0)
			escaped("TIOCSTI on fd %d pushed input into the terminal", fd);
		sb_add(&b, "fd %d: %s", fd, E(errno));
	}
	int t = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (t >= 0) {
		if (ioctl(t, TIOCSTI, &c) == 0)
			escaped("TIOCSTI on /dev/tty pushed input into the terminal");
		sb_add(&b, "/dev/tty: %s", E(errno));
		close(t);
	} else {
		sb_add(&b, "open /dev/tty: %s", E(errno));
	}
	blocked("%s", sb_str(&b));
}

/* ---- the table --------------------------------------------------------- */

typedef struct attempt {
	const char *name;
	void (*fn)(char **args);
	int min_args;
	enum guard guard;
	const char *args;
	const char *desc;
} attempt;

static const attempt attempts[] = {
	/* files and mounts */
	{ "write_root", at_write_root, 1, G_USERNS, "MARK", "create /etc/agentrt-escape-MARK (EROFS)" },
	{ "write_usr", at_write_usr, 1, G_USERNS, "MARK", "create /usr/agentrt-escape-MARK (EROFS)" },
	{ "read_shadow", at_read_shadow, 0, G_NONE, "", "read /etc/shadow" },
	{ "read_root_home", at_read_root_home, 1, G_NONE, "MARK", "find the host's /root/MARK" },
	{ "read_home", at_read_home, 1, G_NONE, "MARK", "find the host's /home/MARK" },
	{ "write_ro_bind", at_write_ro_bind, 1, G_USERNS, "DIR", "create a file in a --ro-bind DIR" },
	{ "remount_rw", at_remount_rw, 1, G_USERNS, "DIR",
	  "mount(MS_REMOUNT|MS_BIND) a --ro-bind DIR read-write, then write there" },
	{ "mount_tmpfs", at_mount_tmpfs, 0, G_USERNS, "", "mount a tmpfs" },
	{ "umount_proc", at_umount_proc, 0, G_USERNS, "", "umount2 /proc" },
	{ "symlink_bind", at_symlink_bind, 2, G_USERNS, "DIR NAME",
	  "write NAME through DIR/link (-> /etc) and DIR/rel (-> ../../../../../etc)" },
	{ "write_sys", at_write_sys, 0, G_USERNS, "", "open sysfs control files for writing" },
	{ "write_proc_sys", at_write_proc_sys, 0, G_USERNS, "",
	  "open /proc/sys/{vm/drop_caches,kernel/core_pattern,...} for writing" },
	{ "mknod_dev", at_mknod_dev, 0, G_USERNS, "", "mknod /tmp/... c 1 1 and read it" },
	{ "chroot_escape", at_chroot_escape, 0, G_USERNS, "[MARK]",
	  "chroot into a subdirectory, then climb out with chdir(\"..\")" },
	{ "root_flags", at_root_flags, 0, G_NONE, "", "/, /etc, /usr are ro,nosuid,nodev" },
	{ "rw_mounts", at_rw_mounts, 0, G_NONE, "[RW_DIR...]",
	  "no reachable writable host file system but the given rw binds" },
	{ "cgroup_escape", at_cgroup_escape, 0, G_USERNS, "[CGROUP_PROCS...]",
	  "write 0 to host cgroup.procs files; open release_agent for writing" },
	/* host visibility */
	{ "see_host_procs", at_see_host_procs, 1, G_NONE, "MARK",
	  "find a host process whose command line has MARK" },
	{ "proc1_root", at_proc1_root, 1, G_NONE, "MARK", "find the host's /tmp/MARK via /proc/1/root" },
	{ "proc_cwd", at_proc_cwd, 1, G_NONE, "MARK",
	  "find the host's /tmp/MARK via /proc/*/{root,cwd,fd}" },
	{ "cwd_escape", at_cwd_escape, 1, G_NONE, "MARK",
	  "the cwd is inside the root; '..' from it does not reach the host's /tmp/MARK" },
	{ "dev_shm", at_dev_shm, 1, G_NONE, "MARK", "find the host's /dev/shm/MARK" },
	{ "ipc_host", at_ipc_host, 1, G_NONE, "SHMID", "IPC_STAT the host's SysV shm segment" },
	/* processes */
	{ "kill_host", at_kill_host, 1, G_USERNS, "PID", "kill(PID, SIGKILL) a host process (ESRCH)" },
	{ "kill_all", at_kill_all, 0, G_PIDNS, "", "kill(-1, SIGKILL)" },
	{ "ptrace_host", at_ptrace_host, 1, G_USERNS, "PID", "ptrace(PTRACE_ATTACH) a host process" },
	{ "ptrace_child", at_ptrace_child, 0, G_NONE, "", "ptrace(PTRACE_ATTACH) its own child" },
	{ "process_vm_readv", at_process_vm_readv, 0, G_NONE, "", "process_vm_readv its own memory" },
	{ "proc_mem_init", at_proc_mem_init, 0, G_USERNS, "", "open /proc/1/mem read-write" },
	{ "steal_init_fds", at_steal_init_fds, 0, G_NONE, "",
	  "pidfd_getfd the descriptors of the sandbox's init" },
	{ "leaked_fds", at_leaked_fds, 0, G_NONE, "", "no open descriptor above 2" },
	{ "init_fds", at_init_fds, 0, G_NONE, "",
	  "no other process in the sandbox holds a file or directory open" },
	/* network */
	{ "connect_host_port", at_connect_host_port, 1, G_NONE, "PORT",
	  "connect to a host listener on 127.0.0.1:PORT" },
	{ "abstract_unix", at_abstract_unix, 1, G_NONE, "NAME",
	  "connect to the host's abstract unix socket @NAME" },
	{ "net_ifaces", at_net_ifaces, 0, G_NONE, "", "no network interface but lo" },
	{ "raw_socket", at_raw_socket, 0, G_NONE, "", "open AF_PACKET / AF_INET raw sockets" },
	/* namespaces */
	{ "unshare_userns", at_unshare_userns, 0, G_NONE, "", "unshare(CLONE_NEWUSER)" },
	{ "unshare_ns", at_unshare_ns, 0, G_USERNS, "", "unshare other namespaces (needs CAP_SYS_ADMIN)" },
	{ "clone_userns", at_clone_userns, 0, G_NONE, "", "raw clone(CLONE_NEWUSER|SIGCHLD)" },
	{ "clone3_userns", at_clone3_userns, 0, G_NONE, "", "clone3(CLONE_NEWUSER) (ENOSYS)" },
	{ "setns_host", at_setns_host, 0, G_USERNS, "[PID]", "setns into /proc/PID/ns/net or pid 1's" },
	{ "sethostname_host", at_sethostname_host, 1, G_USERNS, "NAME",
	  "sethostname(NAME): at most the sandbox's own" },
	/* privileges */
	{ "caps", at_caps, 0, G_NONE, "", "every capability set is empty" },
	{ "no_new_privs", at_no_new_privs, 0, G_NONE, "", "no_new_privs is set" },
	{ "seccomp_on", at_seccomp_on, 0, G_NONE, "", "a seccomp filter is installed" },
	{ "uid_map", at_uid_map, 0, G_NONE, "[HOST_UID]",
	  "the host's root is not mapped; root here is HOST_UID" },
	{ "setuid_gain", at_setuid_gain, 1, G_NONE, "PATH",
	  "exec a setuid-root copy of this program at PATH: no euid or capability gained" },
	{ "exec_caps", at_exec_caps, 0, G_NONE, "",
	  "exec itself as the sandbox's root: no capability gained" },
	{ "overwrite_exe", at_overwrite_exe, 0, G_USERNS, "",
	  "open /proc/1/exe and /proc/self/exe for writing (nothing written)" },
	{ "settime", at_settime, 0, G_USERNS, "", "clock_settime(CLOCK_REALTIME, now)" },
	{ "settimeofday", at_settimeofday, 0, G_USERNS, "", "settimeofday(now)" },
	{ "init_module", at_init_module, 0, G_USERNS, "", "init_module(garbage)" },
	{ "finit_module", at_finit_module, 0, G_USERNS, "", "finit_module(not a module)" },
	{ "kexec_load", at_kexec_load, 0, G_USERNS, "", "kexec_load with an invalid flag" },
	{ "reboot", at_reboot, 0, G_USERNS, "", "reboot with an unknown command" },
	{ "swapon", at_swapon, 0, G_USERNS, "", "swapon a missing file" },
	{ "swapoff", at_swapoff, 0, G_USERNS, "", "swapoff a missing file" },
	{ "acct", at_acct, 0, G_USERNS, "", "acct a missing file" },
	{ "open_by_handle_at", at_open_by_handle_at, 0, G_USERNS, "",
	  "open inode 2 by handle (shocker)" },
	/* kernel interfaces */
	{ "keyctl", at_keyctl, 0, G_NONE, "", "keyctl(KEYCTL_GET_KEYRING_ID)" },
	{ "add_key", at_add_key, 0, G_NONE, "", "add_key to the process keyring" },
	{ "request_key", at_request_key, 0, G_USERNS, "", "request_key (no callout)" },
	{ "bpf", at_bpf, 0, G_NONE, "", "bpf(BPF_MAP_CREATE)" },
	{ "perf_event_open", at_perf_event_open, 0, G_NONE, "", "perf_event_open on itself" },
	{ "userfaultfd", at_userfaultfd, 0, G_NONE, "", "userfaultfd" },
	{ "syslog", at_syslog, 0, G_USERNS, "", "syslog(SYSLOG_ACTION_READ_ALL)" },
	{ "open_dev_mem", at_open_dev_mem, 0, G_USERNS, "", "open /dev/mem, /dev/kmem, /dev/port" },
	{ "open_dev_kmsg", at_open_dev_kmsg, 0, G_USERNS, "", "read /dev/kmsg" },
	{ "dev_nodes", at_dev_nodes, 0, G_NONE, "", "/dev has only the minimal device nodes" },
	{ "read_kcore", at_read_kcore, 0, G_USERNS, "", "read /proc/kcore" },
	{ "proc_masked", at_proc_masked, 0, G_NONE, "",
	  "/proc/keys, /proc/timer_list read nothing; /sys/firmware is empty" },
	{ "write_sysrq", at_write_sysrq, 0, G_USERNS, "",
	  "open /proc/sysrq-trigger for writing (nothing written)" },
	{ "tiocsti", at_tiocsti, 0, G_USERNS, "", "push input into a terminal with TIOCSTI" },
};

#define N_ATTEMPTS (sizeof(attempts) / sizeof(attempts[0]))

static void help(FILE *f)
{
	fprintf(f, "usage: escape NAME [ARGS...] | escape --list | escape --help\n"
		   "exit 0: blocked, 1: ESCAPED, 2: usage error or refused outside a sandbox\n\n");
	for (size_t i = 0; i < N_ATTEMPTS; i++)
		fprintf(f, "  %-18s %-18s %s\n", attempts[i].name, attempts[i].args,
			attempts[i].desc);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < N_ATTEMPTS; i++)
			printf("%s\n", attempts[i].name);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "report-creds")) {
		report_creds(argc, argv);
		return 2;
	}
	for (size_t i = 0; i < N_ATTEMPTS; i++) {
		const attempt *at = &attempts[i];
		if (strcmp(argv[1], at->name) != 0)
			continue;
		cur = at->name;
		if (argc - 2 < at->min_args)
			fail_usage("needs %s", at->args);
		guard(at->guard);
		at->fn(argv + 2);
		fail_usage("returned without a verdict");
	}
	fprintf(stderr, "escape: unknown attempt: %s (escape --list)\n", argv[1]);
	return 2;
}
