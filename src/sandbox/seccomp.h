/* SPDX-License-Identifier: MIT */
/*
 * seccomp profiles, compiled once with libseccomp into a classic BPF program
 * that the child installs with a raw seccomp(2) call (no allocation between
 * clone and exec), with SECCOMP_FILTER_FLAG_NEW_LISTENER after
 * PR_SET_NO_NEW_PRIVS.
 *
 * A denied system call is answered SECCOMP_RET_USER_NOTIF: the runtime,
 * holding the listener, learns which call it was (seccomp_notif.data.nr),
 * kills the task and reports `seccomp` with the call's name. (Without a
 * listener the kernel fails such a call with ENOSYS.) A few calls are
 * answered with an errno instead because libraries probe them and fall
 * back: clone3 gets ENOSYS, so that clone's flags stay visible to the
 * filter; personality other than Linux/Linux32 (optionally UNAME26) or the
 * query gets EPERM, which gdb and setarch survive.
 *
 * Profiles:
 *  - "default": the calls a sandboxed task never needs (modules, kexec,
 *    mounts, keyrings, bpf, perf, ptrace and process_vm_*, clock setting,
 *    swap, reboot, ...), creating user namespaces (unshare or clone with
 *    CLONE_NEWUSER), and the TIOCSTI and TIOCLINUX ioctls;
 *  - "strict": default plus unshare with any flags, chroot, io_uring
 *    (io_uring_setup says ENOSYS), NUMA policy, kcmp, pidfd_getfd,
 *    process_madvise, and sockets other than AF_UNIX, AF_INET and AF_INET6
 *    (EAFNOSUPPORT);
 *  - "none": nothing.
 * Only the native architecture is filtered; a call through another ABI
 * (i386's int 0x80, x32 on x86_64) kills the process.
 */
#ifndef ART_SANDBOX_SECCOMP_H
#define ART_SANDBOX_SECCOMP_H

#include <agentrt.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sc_program {
	struct sock_filter *insns;
	unsigned short len;
} sc_program;

/*
 * Names are libseccomp's ("ptrace", "umount2"). One unknown on every
 * architecture is an error; one that only other architectures have
 * ("socketcall" on x86_64) is accepted and changes nothing.
 *
 * allow takes calls off the profile's deny list and lifts the rules on the
 * arguments of those calls ("ioctl": TIOCSTI, "personality", "socket": the
 * families). It does not touch the user-namespace rules (allow_userns does)
 * nor clone3's ENOSYS: "allow": ["unshare"] only drops strict's
 * unconditional unshare. deny wins over allow, and a denied call is denied
 * whatever its arguments (deny "clone3" turns its ENOSYS into a kill).
 */
typedef struct sc_request {
	const char *profile;      /* "default", "strict" or "none"; NULL: "default" */
	const char *const *allow; /* syscall names taken off the deny list; NULL-terminated or NULL */
	const char *const *deny;  /* syscall names added to it */
	bool allow_userns;        /* let the task create user namespaces */
} sc_request;

/* A cache of compiled programs keyed by the request (lists compared as
 * sets), owned by the runtime. Not thread-safe: the loop thread uses it. */
typedef struct sc_cache sc_cache;

int sc_cache_new(sc_cache **out);
void sc_cache_free(sc_cache *cache);
/* Compiles the request (or finds it compiled) and sets *out to a program
 * owned by the cache, valid until sc_cache_free; *out is NULL when nothing
 * is filtered (profile "none" with no deny list). Unknown profile or
 * syscall names fail with -EINVAL and a message naming them
 * ("seccomp.deny: unknown system call \"frobnicate\""); *out is then
 * untouched. */
int sc_cache_get(sc_cache *cache, const sc_request *req, const sc_program **out,
		 art_error *err);
/* Whether a profile name exists (NULL is not a name). */
bool sc_profile_exists(const char *name);
/* The name of syscall nr on the native architecture, written to buf
 * ("ptrace", or "syscall_123" when unknown); returns buf. */
const char *sc_syscall_name(int nr, char *buf, size_t len);

#endif
