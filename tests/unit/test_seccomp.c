/* SPDX-License-Identifier: MIT */
/*
 * seccomp profiles: compiling, the cache, and the programs at work. A
 * program is installed the way the task's child does it (raw seccomp(2),
 * SECCOMP_FILTER_FLAG_NEW_LISTENER) in a forked child, which holds the
 * listener; the calls under test run in a grandchild, so that a denied one
 * blocks there while the child reads the notification and kills it.
 *
 * Once its filter is in, a child leaves with _exit only: exit() would run
 * LeakSanitizer, whose ptrace the default profile denies.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/macros.h"
#include "sandbox/seccomp.h"
#include "tap.h"

/* CHECK for a child whose filter is in. */
#define CHILD_CHECK(expr)                                                                   \
	do {                                                                                \
		if (!(expr)) {                                                              \
			dprintf(STDERR_FILENO, "# %s:%d: CHECK(%s) failed in the sandbox\n", \
				__FILE__, __LINE__, #expr);                                 \
			_exit(1);                                                           \
		}                                                                           \
	} while (0)

/* A bit the kernel drops from an int argument (none on 32-bit). */
#if __SIZEOF_LONG__ == 8
#define HIGH_BIT (1UL << 32)
#else
#define HIGH_BIT 0UL
#endif

static int sys_seccomp(unsigned int op, unsigned int flags, void *args)
{
	return (int)syscall(SYS_seccomp, op, flags, args);
}

static const sc_program *get(sc_cache *cache, const sc_request *req)
{
	const sc_program *prog = NULL;
	art_error err = { 0 };
	int r = sc_cache_get(cache, req, &prog, &err);
	if (r < 0) {
		fprintf(stderr, "# sc_cache_get: %d %s\n", r, err.msg);
		exit(1);
	}
	CHECK(prog != NULL);
	CHECK(prog->insns != NULL);
	CHECK(prog->len > 0 && prog->len <= BPF_MAXINSNS);
	return prog;
}

/* Installs the program in a forked child, as a task would, and runs fn there
 * with the listener. */
static void sandboxed(const sc_program *prog, void (*fn)(int listener))
{
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
		struct sock_fprog fprog = { .len = prog->len, .filter = prog->insns };
		int listener = sys_seccomp(SECCOMP_SET_MODE_FILTER,
					   SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
		CHILD_CHECK(listener >= 0);
		fn(listener);
		_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

static void run(const sc_request *req, void (*fn)(int listener))
{
	struct seccomp_notif_sizes sizes;
	if (sys_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		SKIP("no seccomp(2) with notifications here (valgrind?)");
	sc_cache *cache = NULL;
	CHECK(sc_cache_new(&cache) == 0);
	sandboxed(get(cache, req), fn);
	sc_cache_free(cache);
}

typedef struct outcome {
	int nr;     /* the call that was notified, or -1 */
	int status; /* the grandchild's wait status */
} outcome;

/* Runs fn in a grandchild and waits for it to exit or to be stopped by a
 * notification; a notified grandchild is killed. */
static outcome in_grandchild(int listener, int (*fn)(void))
{
	pid_t pid = fork();
	CHILD_CHECK(pid >= 0);
	if (pid == 0) {
		/* No core files from SIGSYS. */
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		_exit(fn());
	}
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	CHILD_CHECK(pidfd >= 0);
	struct pollfd p[2] = { { listener, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
	CHILD_CHECK(poll(p, 2, 10000) > 0);
	outcome o = { -1, 0 };
	if (p[0].revents & POLLIN) {
		struct seccomp_notif_sizes sizes;
		CHILD_CHECK(sys_seccomp(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0);
		CHILD_CHECK(sizes.seccomp_notif >= sizeof(struct seccomp_notif));
		/* The kernel wants a zeroed buffer of its own size. */
		struct seccomp_notif *n = calloc(1, sizes.seccomp_notif);
		CHILD_CHECK(n != NULL);
		CHILD_CHECK(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n) == 0);
		CHILD_CHECK(n->pid == (__u32)pid);
		CHILD_CHECK(n->data.arch == seccomp_arch_native());
		o.nr = n->data.nr;
		free(n);
		CHILD_CHECK(kill(pid, SIGKILL) == 0);
	}
	CHILD_CHECK(waitpid(pid, &o.status, 0) == pid);
	close(pidfd);
	return o;
}

static void expect_denied(int listener, int (*fn)(void), int nr, const char *name)
{
	outcome o = in_grandchild(listener, fn);
	CHILD_CHECK(o.nr == nr);
	char buf[64];
	CHILD_CHECK(strcmp(sc_syscall_name(o.nr, buf, sizeof(buf)), name) == 0);
	CHILD_CHECK(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGKILL);
}

/* The call went through (fn's result is the errno it got, 0 for none). */
static int expect_allowed(int listener, int (*fn)(void))
{
	outcome o = in_grandchild(listener, fn);
	CHILD_CHECK(o.nr == -1);
	CHILD_CHECK(WIFEXITED(o.status));
	return WEXITSTATUS(o.status);
}

/* ------------------------------------------------------- the calls */

static int err_of(long r)
{
	return r < 0 ? errno : 0;
}

static int call_keyctl(void)
{
	return err_of(syscall(SYS_keyctl, 0, 0, 0, 0, 0));
}

static int call_getpid(void)
{
	return err_of(syscall(SYS_getpid));
}

static int call_getppid(void)
{
	return err_of(syscall(SYS_getppid));
}

static int call_ptrace_traceme(void)
{
	return err_of(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int call_unshare_userns(void)
{
	return err_of(unshare(CLONE_NEWUSER));
}

static int call_unshare_fs(void)
{
	return err_of(unshare(CLONE_FS));
}

static int call_clone_userns(void)
{
	long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return err_of(r);
}

static int call_chroot(void)
{
	return err_of(chroot("/"));
}

/* fd -1: should the filter fail, nothing reaches a terminal. */
static int call_tiocsti(void)
{
	char c = 'x';
	return err_of(syscall(SYS_ioctl, -1, TIOCSTI, &c));
}

static int call_tiocsti_high_bits(void)
{
	char c = 'x';
	return err_of(syscall(SYS_ioctl, -1, HIGH_BIT | TIOCSTI, &c));
}

static int call_tioclinux(void)
{
	char c = 0;
	return err_of(syscall(SYS_ioctl, -1, TIOCLINUX, &c));
}

static int call_tiocgwinsz(void)
{
	struct winsize ws;
	return err_of(syscall(SYS_ioctl, -1, TIOCGWINSZ, &ws));
}

#ifdef __x86_64__
static int call_x32_getpid(void)
{
	return err_of(syscall(0x40000000 | SYS_getpid));
}

static int call_i386_getpid(void)
{
	long r = 20; /* getpid on i386 */
	/* The compat entry zeroes r8-r11. */
	__asm__ volatile("int $0x80" : "+a"(r) : : "r8", "r9", "r10", "r11", "memory");
	return 0;
}
#endif

/* ---------------------------------------------------------- compile */

/* Counts the program's returns of an action (SECCOMP_RET_ERRNO: any errno). */
static int count_returns(const sc_program *prog, uint32_t action)
{
	int n = 0;
	for (unsigned i = 0; i < prog->len; i++) {
		const struct sock_filter *f = &prog->insns[i];
		if (f->code != (BPF_RET | BPF_K))
			continue;
		uint32_t a = f->k & SECCOMP_RET_ACTION_FULL;
		CHECK(a == SECCOMP_RET_ALLOW || a == SECCOMP_RET_USER_NOTIF ||
		      a == SECCOMP_RET_ERRNO || a == SECCOMP_RET_KILL_PROCESS);
		n += a == action;
	}
	return n;
}

TEST(profiles_compile)
{
	sc_cache *cache = NULL;
	CHECK(sc_cache_new(&cache) == 0);
	const sc_program *def = get(cache, &(sc_request){ .profile = "default" });
	const sc_program *strict = get(cache, &(sc_request){ .profile = "strict" });
	CHECK(def != strict);
	CHECK(strict->len > def->len);
	/* Only these actions, and the kernel's, not libseccomp's stand-ins. */
	CHECK(count_returns(def, SECCOMP_RET_USER_NOTIF) > 0);
	CHECK(count_returns(def, SECCOMP_RET_KILL_PROCESS) > 0);
	CHECK(count_returns(def, SECCOMP_RET_ERRNO) > 0);
	CHECK(count_returns(strict, SECCOMP_RET_USER_NOTIF) > 0);
	/* NULL means "default". */
	CHECK(get(cache, &(sc_request){ 0 }) == def);

	const sc_program *prog = (const sc_program *)&cache;
	CHECK_EQ_INT(sc_cache_get(cache, &(sc_request){ .profile = "none" }, &prog, NULL), 0);
	CHECK(prog == NULL);
	/* Allowing under "none" changes nothing. */
	static const char *const allow[] = { "ptrace", NULL };
	prog = def;
	CHECK_EQ_INT(sc_cache_get(cache, &(sc_request){ .profile = "none", .allow = allow },
				  &prog, NULL),
		     0);
	CHECK(prog == NULL);
	sc_cache_free(cache);
	sc_cache_free(NULL);
}

TEST(profile_names)
{
	CHECK(sc_profile_exists("default"));
	CHECK(sc_profile_exists("strict"));
	CHECK(sc_profile_exists("none"));
	CHECK(!sc_profile_exists("Default"));
	CHECK(!sc_profile_exists(""));
	CHECK(!sc_profile_exists(NULL));
}

TEST(unknown_profile)
{
	sc_cache *cache = NULL;
	CHECK(sc_cache_new(&cache) == 0);
	const sc_program *prog = (const sc_program *)&cache;
	art_error err = { 0 };
	CHECK_EQ_INT(sc_cache_get(cache, &(sc_request){ .profile = "paranoid" }, &prog, &err),
		     -EINVAL);
	CHECK_EQ_INT(err.code, -EINVAL);
	CHECK_EQ_STR(err.msg, "seccomp.profile: unknown profile \"paranoid\"");
	CHECK(prog == (const sc_program *)&cache); /* untouched */
	sc_cache_free(cache);
}

TEST(unknown_syscall)
{
	sc_cache *cache = NULL;
	CHECK(sc_cache_new(&cache) == 0);
	const sc_program *prog = (const sc_program *)&cache;
	art_error err = { 0 };

	static const char *const deny[] = { "keyctl", "frobnicate", NULL };
	CHECK_EQ_INT(sc_cache_get(cache, &(sc_request){ .deny = deny }, &prog, &err), -EINVAL);
	CHECK_EQ_STR(err.msg, "seccomp.deny: unknown system call \"frobnicate\"");

	/* Checked under "none" too, and in the allow list. */
	static const char *const allow[] = { "Ptrace", NULL };
	CHECK_EQ_INT(sc_cache_get(cache, &(sc_request){ .profile = "none", .allow = allow },
				  &prog, &err),
		     -EINVAL);
	CHECK_EQ_STR(err.msg, "seccomp.allow: unknown system call \"Ptrace\"");
	CHECK(prog == (const sc_program *)&cache);

	/* Without err, the code alone. */
	CHECK_EQ_INT(sc_cache_get(cache, &(sc_request){ .deny = deny }, &prog, NULL), -EINVAL);
	sc_cache_free(cache);
}

TEST(names_of_other_architectures)
{
	/* socketcall exists on i386, not on x86_64: accepted, means nothing. */
	if (seccomp_syscall_resolve_name("socketcall") >= 0)
		SKIP("socketcall is native here");
	sc_cache *cache = NULL;
	CHECK(sc_cache_new(&cache) == 0);
	static const char *const deny[] = { "socketcall", NULL };
	get(cache, &(sc_request){ .deny = deny });
	sc_cache_free(cache);
}

TEST(cache_keys)
{
	sc_cache *cache = NULL;
	CHECK(sc_cache_new(&cache) == 0);
	static const char *const a1[] = { "ptrace", "bpf", NULL };
	static const char *const a2[] = { "bpf", "ptrace", NULL };
	static const char *const a3[] = { "bpf", "ptrace", "bpf", NULL };
	static const char *const d1[] = { "getppid", NULL };
	static const char *const empty[] = { NULL };

	const sc_program *p1 = get(cache, &(sc_request){ .allow = a1 });
	CHECK(get(cache, &(sc_request){ .allow = a2 }) == p1);
	CHECK(get(cache, &(sc_request){ .profile = "default", .allow = a3 }) == p1);

	const sc_program *plain = get(cache, &(sc_request){ .allow = empty, .deny = empty });
	CHECK(plain != p1);
	CHECK(get(cache, &(sc_request){ 0 }) == plain);
	const sc_program *userns = get(cache, &(sc_request){ .allow_userns = true });
	CHECK(userns != plain);
	CHECK(userns->len < plain->len);
	const sc_program *denied = get(cache, &(sc_request){ .deny = d1 });
	CHECK(denied != plain && denied != userns);
	CHECK(get(cache, &(sc_request){ .allow = a1, .allow_userns = true }) != p1);
	CHECK(get(cache, &(sc_request){ .profile = "strict", .allow = a1 }) != p1);

	/* Enough entries to grow the table; earlier ones stay put. */
	static const char *const names[] = {
		"getpid", "getuid", "getgid", "geteuid", "getegid", "gettid", "sync",
		"pause", "alarm", "sched_yield", "getpgrp", "setsid", "umask", "times",
		"getsid", "fsync", "fdatasync", "uname", "getcwd", "chdir",
	};
	const sc_program *progs[ARRAY_SIZE(names)];
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const char *const deny[] = { names[i], NULL };
		progs[i] = get(cache, &(sc_request){ .deny = deny });
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const char *const deny[] = { names[i], NULL };
		CHECK(get(cache, &(sc_request){ .deny = deny }) == progs[i]);
	}
	CHECK(get(cache, &(sc_request){ .allow = a2 }) == p1);
	sc_cache_free(cache);
}

TEST(syscall_names)
{
	char buf[64];
	CHECK_EQ_STR(sc_syscall_name(SYS_keyctl, buf, sizeof(buf)), "keyctl");
	CHECK_EQ_STR(sc_syscall_name(SYS_ptrace, buf, sizeof(buf)), "ptrace");
	CHECK_EQ_STR(sc_syscall_name(99999, buf, sizeof(buf)), "syscall_99999");
	CHECK_EQ_STR(sc_syscall_name(-5, buf, sizeof(buf)), "syscall_-5");
	char small[4];
	CHECK_EQ_STR(sc_syscall_name(SYS_keyctl, small, sizeof(small)), "key");
	CHECK(sc_syscall_name(SYS_keyctl, small, 0) == small);
}

/* ------------------------------------------------- programs at work */

static void check_keyctl_denied(int listener)
{
	expect_denied(listener, call_keyctl, SYS_keyctl, "keyctl");
	/* The listener still works for the next one. */
	expect_denied(listener, call_keyctl, SYS_keyctl, "keyctl");
}

TEST(denied_call_is_notified)
{
	run(&(sc_request){ 0 }, check_keyctl_denied);
}

static void *thread_main(void *arg)
{
	return arg;
}

static void check_allowed_calls(int listener)
{
	CHILD_CHECK(expect_allowed(listener, call_getpid) == 0);
	CHILD_CHECK(getpid() > 0);
	/* clone3 says ENOSYS; glibc's threads fall back to clone. */
	errno = 0;
	CHILD_CHECK(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
	pthread_t t;
	void *ret = NULL;
	CHILD_CHECK(pthread_create(&t, NULL, thread_main, &ret) == 0);
	CHILD_CHECK(pthread_join(t, &ret) == 0);
	CHILD_CHECK(ret == &ret);
	/* Namespace flags other than CLONE_NEWUSER are left to the kernel. */
	CHILD_CHECK(expect_allowed(listener, call_unshare_fs) == 0);
	CHILD_CHECK(expect_allowed(listener, call_tiocgwinsz) == EBADF);
}

TEST(allowed_calls_work)
{
	run(&(sc_request){ 0 }, check_allowed_calls);
}

static void check_userns_denied(int listener)
{
	expect_denied(listener, call_unshare_userns, SYS_unshare, "unshare");
	expect_denied(listener, call_clone_userns, SYS_clone, "clone");
}

TEST(userns_denied_by_default)
{
	run(&(sc_request){ 0 }, check_userns_denied);
}

static void check_userns_allowed(int listener)
{
	/* 0, or the kernel's own refusal: not the filter's. */
	int e = expect_allowed(listener, call_unshare_userns);
	if (e)
		dprintf(STDERR_FILENO, "# unshare(CLONE_NEWUSER): %s\n", strerror(e));
	e = expect_allowed(listener, call_clone_userns);
	if (e)
		dprintf(STDERR_FILENO, "# clone(CLONE_NEWUSER): %s\n", strerror(e));
}

TEST(userns_allowed_on_request)
{
	run(&(sc_request){ .allow_userns = true }, check_userns_allowed);
}

static int call_clone3(void)
{
	return err_of(syscall(SYS_clone3, NULL, 0));
}

static void check_getppid_denied(int listener)
{
	expect_denied(listener, call_getppid, SYS_getppid, "getppid");
	/* Denied outright: no more ENOSYS. */
	expect_denied(listener, call_clone3, SYS_clone3, "clone3");
	expect_denied(listener, call_keyctl, SYS_keyctl, "keyctl");
	CHILD_CHECK(expect_allowed(listener, call_getpid) == 0);
}

TEST(deny_list_adds)
{
	static const char *const deny[] = { "getppid", "clone3", NULL };
	run(&(sc_request){ .deny = deny }, check_getppid_denied);
}

static void check_only_getppid_denied(int listener)
{
	expect_denied(listener, call_getppid, SYS_getppid, "getppid");
	expect_allowed(listener, call_keyctl);
	CHILD_CHECK(expect_allowed(listener, call_ptrace_traceme) == 0);
}

TEST(none_with_a_deny_list)
{
	static const char *const deny[] = { "getppid", NULL };
	run(&(sc_request){ .profile = "none", .deny = deny }, check_only_getppid_denied);
}

static void check_ptrace_denied(int listener)
{
	expect_denied(listener, call_ptrace_traceme, SYS_ptrace, "ptrace");
}

static void check_ptrace_allowed(int listener)
{
	CHILD_CHECK(expect_allowed(listener, call_ptrace_traceme) == 0);
	expect_denied(listener, call_keyctl, SYS_keyctl, "keyctl");
}

TEST(allow_list_removes)
{
	run(&(sc_request){ 0 }, check_ptrace_denied);
	static const char *const allow[] = { "ptrace", NULL };
	run(&(sc_request){ .allow = allow }, check_ptrace_allowed);
	/* The deny list wins. */
	run(&(sc_request){ .allow = allow, .deny = allow }, check_ptrace_denied);
}

static void check_terminal_ioctls(int listener)
{
	expect_denied(listener, call_tiocsti, SYS_ioctl, "ioctl");
	expect_denied(listener, call_tiocsti_high_bits, SYS_ioctl, "ioctl");
	expect_denied(listener, call_tioclinux, SYS_ioctl, "ioctl");
	CHILD_CHECK(expect_allowed(listener, call_tiocgwinsz) == EBADF);
}

TEST(terminal_injection_denied)
{
	run(&(sc_request){ 0 }, check_terminal_ioctls);
}

static bool persona_allowed(unsigned int v)
{
	return v == 0 || v == 8 || v == 0x20000 || v == 0x20008 || v == 0xffffffff;
}

static void check_persona(unsigned int v)
{
	errno = 0;
	int r = personality(v);
	if (persona_allowed(v)) {
		CHILD_CHECK(r != -1);
	} else if (r != -1 || errno != EPERM) {
		dprintf(STDERR_FILENO, "# personality(%#x) = %d, errno %d\n", v, r, errno);
		_exit(1);
	}
}

/* EPERM needs no grandchild: the call returns. */
static void check_personality(int listener)
{
	(void)listener;
	static const unsigned int fixed[] = {
		0,          8,          0x20000,    0x20008,    0xffffffff, 0xfffffffe,
		0xfffffff7, 0xfffdffff, 0x7fffffff, 0x80000000, 0x0040000,  0x0400000,
		0x20009,    0xc,        0x28,       0x30008,
	};
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		check_persona(fixed[i]);
	for (unsigned int b = 0; b < 32; b++) {
		check_persona(1u << b);
		check_persona(~(1u << b));
		check_persona((1u << b) | 8);
		check_persona((1u << b) | 0x20000);
	}
	uint32_t x = 2463534242u; /* xorshift32 */
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		check_persona(x);
		check_persona(x & 0x20008);
		check_persona(x | ~0x20008u);
	}
	personality(0);
}

static void check_personality_allowed(int listener)
{
	(void)listener;
	CHILD_CHECK(personality(ADDR_NO_RANDOMIZE) != -1);
	CHILD_CHECK(personality(0xffffffff) == ADDR_NO_RANDOMIZE);
	personality(0);
}

TEST(personality_restricted)
{
	run(&(sc_request){ 0 }, check_personality);
	static const char *const allow[] = { "personality", NULL };
	run(&(sc_request){ .allow = allow }, check_personality_allowed);
}

static int socket_err(long family)
{
	long fd = syscall(SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		close((int)fd);
		return 0;
	}
	return errno;
}

static void check_strict(int listener)
{
	expect_denied(listener, call_unshare_fs, SYS_unshare, "unshare");
	expect_denied(listener, call_chroot, SYS_chroot, "chroot");
	expect_denied(listener, call_keyctl, SYS_keyctl, "keyctl");
	errno = 0;
	CHILD_CHECK(syscall(SYS_io_uring_setup, 1, NULL) == -1 && errno == ENOSYS);
	CHILD_CHECK(socket_err(AF_UNIX) == 0);
	CHILD_CHECK(socket_err(AF_INET) == 0);
	if (access("/proc/net/if_inet6", F_OK) == 0) /* IPv6 may be off */
		CHILD_CHECK(socket_err(AF_INET6) == 0);
	static const long refused[] = {
		AF_UNSPEC, 3, 4, 5, 6, 7, 8, 9, AF_KEY, AF_NETLINK, AF_PACKET, AF_ALG,
		AF_VSOCK, AF_MAX, -1, (long)(HIGH_BIT | AF_UNIX),
	};
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		CHILD_CHECK(socket_err(refused[i]) == EAFNOSUPPORT);
	CHILD_CHECK(expect_allowed(listener, call_getpid) == 0);
}

static void check_strict_userns(int listener)
{
	/* unshare stays denied outright; clone gets its namespace. */
	expect_denied(listener, call_unshare_userns, SYS_unshare, "unshare");
	int e = expect_allowed(listener, call_clone_userns);
	if (e)
		dprintf(STDERR_FILENO, "# clone(CLONE_NEWUSER): %s\n", strerror(e));
}

TEST(strict_profile)
{
	run(&(sc_request){ .profile = "strict" }, check_strict);
	run(&(sc_request){ .profile = "strict", .allow_userns = true }, check_strict_userns);
}

#ifdef __x86_64__
static void check_foreign_abis(int listener)
{
	/* x32 shares the x86_64 audit arch: the number gives it away. */
	outcome o = in_grandchild(listener, call_x32_getpid);
	CHILD_CHECK(o.nr == -1);
	CHILD_CHECK(WIFSIGNALED(o.status) && WTERMSIG(o.status) == SIGSYS);
	/* i386 through int 0x80: SIGSYS, or SIGSEGV from a kernel built or
	 * booted without ia32 emulation. */
	o = in_grandchild(listener, call_i386_getpid);
	CHILD_CHECK(o.nr == -1);
	CHILD_CHECK(WIFSIGNALED(o.status));
	CHILD_CHECK(WTERMSIG(o.status) == SIGSYS || WTERMSIG(o.status) == SIGSEGV);
}

TEST(foreign_abis_killed)
{
	run(&(sc_request){ 0 }, check_foreign_abis);
}
#endif
