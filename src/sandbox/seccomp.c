/* SPDX-License-Identifier: MIT */
/*
 * seccomp profiles: constant tables compiled with libseccomp, exported as
 * classic BPF into a memfd and read back, so that the child installs plain
 * instructions with a raw seccomp(2) call.
 *
 * A profile is a deny list on top of SCMP_ACT_ALLOW: an unconditional
 * notify rule per denied call, plus a few rules on arguments. Only the
 * native architecture is in the filter, and every other one (i386 via int
 * 0x80, x32 on x86_64) kills the process: otherwise the same calls would
 * pass under other numbers.
 *
 * libseccomp takes SCMP_ACT_NOTIFY and SCMP_ACT_KILL_PROCESS only after
 * asking the running kernel with seccomp(2), which fails under valgrind or
 * inside a host's own filter. Compiling needs no kernel, so the rules are
 * written with stand-ins that libseccomp always takes (SCMP_ACT_TRACE with
 * tags nothing else uses) and the real actions are put into the program's
 * return instructions afterwards. Whether the kernel takes the program is
 * for the child's seccomp(2) to say.
 */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"

#define ACT_NOTIFY SCMP_ACT_TRACE(0x5ec1)  /* becomes SECCOMP_RET_USER_NOTIF */
#define ACT_BADARCH SCMP_ACT_TRACE(0x5ec2) /* becomes SECCOMP_RET_KILL_PROCESS */

enum {
	LEVEL_NONE = 0,
	LEVEL_DEFAULT = 1,
	LEVEL_STRICT = 2,
};

typedef struct sc_profile_def {
	const char *name;
	int level; /* a profile holds the rules of every level up to its own */
} sc_profile_def;

static const sc_profile_def profiles[] = {
	{ "none", LEVEL_NONE },
	{ "default", LEVEL_DEFAULT },
	{ "strict", LEVEL_STRICT },
};

/* Calls a sandboxed task never needs: kernel state, other processes,
 * mounts, the clock, keyrings. Names that the native architecture lacks
 * (umount, stime, _sysctl, clock_settime64, ...) are skipped, so that one
 * list serves every architecture. */
static const char *const default_deny[] = {
	"acct",
	"add_key",
	"adjtimex",
	"bpf",
	"clock_adjtime",
	"clock_adjtime64",
	"clock_settime",
	"clock_settime64",
	"delete_module",
	"finit_module",
	"fsconfig",
	"fsmount",
	"fsopen",
	"fspick",
	"init_module",
	"ioperm",
	"iopl",
	"kexec_file_load",
	"kexec_load",
	"keyctl",
	"lookup_dcookie",
	"mount",
	"mount_setattr",
	"move_mount",
	"name_to_handle_at",
	"nfsservctl",
	"open_by_handle_at",
	"open_tree",
	"perf_event_open",
	"pivot_root",
	"process_vm_readv",
	"process_vm_writev",
	"ptrace",
	"quotactl",
	"quotactl_fd",
	"reboot",
	"request_key",
	"setns",
	"settimeofday",
	"stime",
	"swapoff",
	"swapon",
	"_sysctl",
	"syslog",
	"umount",
	"umount2",
	"uselib",
	"userfaultfd",
	"vhangup",
};

/* strict adds: every namespace change, chroot, io_uring, NUMA policy and
 * the remaining ways to reach into another process. */
static const char *const strict_deny[] = {
	"chroot",
	"io_uring_enter",
	"io_uring_register",
	"kcmp",
	"mbind",
	"migrate_pages",
	"move_pages",
	"pidfd_getfd",
	"process_madvise",
	"set_mempolicy",
	"set_mempolicy_home_node",
	"unshare",
};

/* What lifts a rule on arguments. */
typedef enum sc_guard {
	GUARD_CALL,   /* the call is in the allow list */
	GUARD_USERNS, /* allow_userns */
	GUARD_NEVER,  /* nothing (clone3: clone's flags must stay visible) */
} sc_guard;

/* The clone flags are argument 1 on s390 (CLONE_BACKWARDS2), 0 elsewhere:
 * resolved when the rule is added. */
#define ARG_CLONE_FLAGS 6u

typedef struct sc_rule {
	const char *name;
	unsigned char level;
	unsigned char guard;
	unsigned char ncmp; /* 0: the rule matches every call */
	uint32_t action;
	struct scmp_arg_cmp cmp;
} sc_rule;

/* ioctl's command and socket's family are ints: the kernel reads the low 32
 * bits of the register, so the compares mask the high half away; an exact
 * 64-bit compare could be dodged by setting a high bit. */
#define LOW32 0xffffffffULL

static const sc_rule rules[] = {
	/* User namespaces: the door to most kernel attack surface for an
	 * unprivileged process. Flags given to clone3 are in memory, out of
	 * the filter's sight, so clone3 says ENOSYS and glibc falls back to
	 * clone. */
	{ "unshare", LEVEL_DEFAULT, GUARD_USERNS, 1, ACT_NOTIFY,
	  { 0, SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER } },
	{ "clone", LEVEL_DEFAULT, GUARD_USERNS, 1, ACT_NOTIFY,
	  { ARG_CLONE_FLAGS, SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER } },
	{ "clone3", LEVEL_DEFAULT, GUARD_NEVER, 0, SCMP_ACT_ERRNO(ENOSYS), { 0 } },
	/* Typing into the controlling terminal, and the console's selection
	 * and scrollback. */
	{ "ioctl", LEVEL_DEFAULT, GUARD_CALL, 1, ACT_NOTIFY,
	  { 1, SCMP_CMP_MASKED_EQ, LOW32, TIOCSTI } },
	{ "ioctl", LEVEL_DEFAULT, GUARD_CALL, 1, ACT_NOTIFY,
	  { 1, SCMP_CMP_MASKED_EQ, LOW32, TIOCLINUX } },
	/* strict: io_uring does file and network work beside the filter.
	 * libuv and others probe it and fall back on ENOSYS. */
	{ "io_uring_setup", LEVEL_STRICT, GUARD_CALL, 0, SCMP_ACT_ERRNO(ENOSYS), { 0 } },
	/* strict: sockets other than AF_UNIX (1), AF_INET (2) and AF_INET6
	 * (10) say EAFNOSUPPORT, as a kernel without them would; glibc's
	 * getaddrinfo falls back when netlink is missing. Above AF_INET6 the
	 * compare is on all 64 bits: garbage in the high half is refused too,
	 * which only refuses calls that glibc never makes. */
	{ "socket", LEVEL_STRICT, GUARD_CALL, 1, SCMP_ACT_ERRNO(EAFNOSUPPORT),
	  { 0, SCMP_CMP_GT, AF_INET6, 0 } },
	{ "socket", LEVEL_STRICT, GUARD_CALL, 1, SCMP_ACT_ERRNO(EAFNOSUPPORT),
	  { 0, SCMP_CMP_MASKED_EQ, LOW32, AF_UNSPEC } },
	{ "socket", LEVEL_STRICT, GUARD_CALL, 1, SCMP_ACT_ERRNO(EAFNOSUPPORT),
	  { 0, SCMP_CMP_MASKED_EQ, LOW32, 3 } },
	{ "socket", LEVEL_STRICT, GUARD_CALL, 1, SCMP_ACT_ERRNO(EAFNOSUPPORT),
	  { 0, SCMP_CMP_MASKED_EQ, LOW32 & ~3ULL, 4 } }, /* 4..7 */
	{ "socket", LEVEL_STRICT, GUARD_CALL, 1, SCMP_ACT_ERRNO(EAFNOSUPPORT),
	  { 0, SCMP_CMP_MASKED_EQ, LOW32 & ~1ULL, 8 } }, /* 8, 9 */
};

static const sc_profile_def *profile_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(profiles); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

bool sc_profile_exists(const char *name)
{
	return name && profile_find(name);
}

const char *sc_syscall_name(int nr, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	_cleanup_free_ char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "syscall_%d", nr);
	return buf;
}

/* ------------------------------------------------------------ names */

/* A request's allow or deny list: sorted, without duplicates, every name
 * checked. The strings are the request's. */
typedef struct sc_names {
	const char **v;
	size_t n;
} sc_names;

static void sc_names_freep(sc_names *names)
{
	free(names->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool names_has(const sc_names *names, const char *name)
{
	return names->n && bsearch(&name, names->v, names->n, sizeof(*names->v), cmp_str);
}

/* A name known on some architecture but not this one (socketcall on x86_64)
 * is accepted and means nothing here: the call cannot be made. */
static int names_load(sc_names *out, const char *const *list, const char *field,
		      art_error *err)
{
	size_t n = 0;
	while (list && list[n])
		n++;
	if (n == 0)
		return 0;
	_cleanup_free_ const char **v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (seccomp_syscall_resolve_name(list[i]) == __NR_SCMP_ERROR)
			return art_error_set(err, -EINVAL, "seccomp.%s: unknown system call \"%s\"",
					     field, list[i]);
		v[i] = list[i];
	}
	qsort(v, n, sizeof(*v), cmp_str);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i], v[k - 1]) != 0)
			v[k++] = v[i];
	out->v = steal_ptr(&v);
	out->n = k;
	return 0;
}

/* ---------------------------------------------------------- compile */

typedef struct sc_nrs {
	int *v;
	size_t n, cap;
} sc_nrs;

static void sc_nrs_freep(sc_nrs *s)
{
	free(s->v);
}

static int nrs_add(sc_nrs *s, int nr)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		int *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = nr;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static bool nrs_has(const sc_nrs *s, int nr)
{
	return s->n && bsearch(&nr, s->v, s->n, sizeof(*s->v), cmp_int);
}

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static int rule_failed(art_error *err, int r, const char *name)
{
	return art_error_set(err, r, "seccomp: cannot add a rule for %s: %s", name, strerror(-r));
}

/*
 * personality: like Docker, only PER_LINUX (0), PER_LINUX32 (8), either
 * with UNAME26 (0x20000), and the query 0xffffffff are let through; the
 * rest (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...) says EPERM, which gdb
 * and setarch report and go on. The argument is an unsigned int.
 *
 * libseccomp has no "not in" and allows one compare per argument in a
 * rule, so the refused values are covered by 32 rules of the form "bit c
 * set and bit d clear" (low half only):
 *  - c, d consecutive on the cycle of bits 0..31 without 3 and 17;
 *  - (c, d) = (2, 3) and (16, 17).
 * None matches an allowed value: those have every cycle bit clear, or (the
 * query) no bit clear. Every refused value p matches one: p has a cycle bit
 * set (else p is one of the four personas); if some cycle bit is clear
 * there is a set bit followed on the cycle by a clear one; if none is, p is
 * not 0xffffffff, so bit 3 or 17 is clear while 2 and 16 are set.
 */
static int add_personality_rules(scmp_filter_ctx ctx, int nr, art_error *err)
{
	static const unsigned char cycle[] = { 0,  1,  2,  4,  5,  6,  7,  8,  9,  10,
					       11, 12, 13, 14, 15, 16, 18, 19, 20, 21,
					       22, 23, 24, 25, 26, 27, 28, 29, 30, 31 };
	static const unsigned char extra[][2] = { { 2, 3 }, { 16, 17 } };
	const size_t n = ARRAY_SIZE(cycle);

	for (size_t i = 0; i < n + ARRAY_SIZE(extra); i++) {
		unsigned c = i < n ? cycle[i] : extra[i - n][0];
		unsigned d = i < n ? cycle[(i + 1) % n] : extra[i - n][1];
		uint32_t set = 1u << c, clear = 1u << d;
		int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
					 SCMP_A0_32(SCMP_CMP_MASKED_EQ, set | clear, set));
		if (r < 0)
			return rule_failed(err, r, "personality");
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const sc_rule *rule, int nr, art_error *err)
{
	struct scmp_arg_cmp cmp = rule->cmp;
	if (cmp.arg == ARG_CLONE_FLAGS) {
		uint32_t arch = seccomp_arch_native();
		cmp.arg = arch == SCMP_ARCH_S390 || arch == SCMP_ARCH_S390X ? 1 : 0;
	}
	int r = rule->ncmp ? seccomp_rule_add_array(ctx, rule->action, nr, 1, &cmp)
			   : seccomp_rule_add(ctx, rule->action, nr, 0);
	return r < 0 ? rule_failed(err, r, rule->name) : 0;
}

static int add_deny_list(sc_nrs *denied, const char *const *names, size_t n,
			 const sc_names *allow)
{
	for (size_t i = 0; i < n; i++) {
		if (names_has(allow, names[i]))
			continue;
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr < 0)
			continue; /* not on this architecture */
		int r = nrs_add(denied, nr);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Reads the exported program back from its memfd, with the real actions. */
static int read_program(int fd, sc_program *out, art_error *err)
{
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return art_error_set(err, -errno, "seccomp: memfd: %s", strerror(errno));
	size_t len = (size_t)size / sizeof(struct sock_filter);
	if (len == 0 || (size_t)size % sizeof(struct sock_filter))
		return art_error_set(err, -EIO, "seccomp: libseccomp exported %lld bytes",
				     (long long)size);
	if (len > BPF_MAXINSNS)
		return art_error_set(err, -E2BIG, "seccomp: %zu instructions, over the kernel's %d",
				     len, BPF_MAXINSNS);
	_cleanup_free_ struct sock_filter *insns = malloc((size_t)size);
	if (!insns)
		return -ENOMEM;
	for (size_t done = 0; done < (size_t)size;) {
		ssize_t n = pread(fd, (char *)insns + done, (size_t)size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return art_error_set(err, n < 0 ? -errno : -EIO, "seccomp: memfd: %s",
					     n < 0 ? strerror(errno) : "short read");
		done += (size_t)n;
	}
	for (size_t i = 0; i < len; i++) {
		if (insns[i].code != (BPF_RET | BPF_K))
			continue;
		if (insns[i].k == ACT_NOTIFY)
			insns[i].k = SECCOMP_RET_USER_NOTIF;
		else if (insns[i].k == ACT_BADARCH)
			insns[i].k = SECCOMP_RET_KILL_PROCESS;
	}
	out->insns = steal_ptr(&insns);
	out->len = (unsigned short)len;
	return 0;
}

static int compile(int level, const sc_names *allow, const sc_names *deny, bool allow_userns,
		   sc_program *out, art_error *err)
{
	_cleanup_(sc_nrs_freep) sc_nrs denied = { 0 };
	int r = 0;
	if (level >= LEVEL_DEFAULT)
		r = add_deny_list(&denied, default_deny, ARRAY_SIZE(default_deny), allow);
	if (r >= 0 && level >= LEVEL_STRICT)
		r = add_deny_list(&denied, strict_deny, ARRAY_SIZE(strict_deny), allow);
	/* The deny list wins over the allow list. */
	if (r >= 0)
		r = add_deny_list(&denied, deny->v, deny->n, &(sc_names){ 0 });
	if (r < 0)
		return r;
	if (denied.n)
		qsort(denied.v, denied.n, sizeof(*denied.v), cmp_int);

	_cleanup_(ctx_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return art_error_set(err, -ENOMEM, "seccomp: cannot create a filter");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, ACT_BADARCH);
	if (r < 0)
		return art_error_set(err, r, "seccomp: cannot kill other architectures: %s",
				     strerror(-r));

	for (size_t i = 0; i < denied.n; i++) {
		if (i && denied.v[i] == denied.v[i - 1])
			continue;
		r = seccomp_rule_add(ctx, ACT_NOTIFY, denied.v[i], 0);
		if (r < 0) {
			char name[64];
			sc_syscall_name(denied.v[i], name, sizeof(name));
			return rule_failed(err, r, name);
		}
	}

	/* Rules on arguments, unless the call is denied outright (which
	 * covers them) or lifted. */
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		const sc_rule *rule = &rules[i];
		if (rule->level > level)
			continue;
		if ((rule->guard == GUARD_USERNS && allow_userns) ||
		    (rule->guard == GUARD_CALL && names_has(allow, rule->name)))
			continue;
		int nr = seccomp_syscall_resolve_name(rule->name);
		if (nr < 0 || nrs_has(&denied, nr))
			continue;
		r = add_rule(ctx, rule, nr, err);
		if (r < 0)
			return r;
	}
	if (level >= LEVEL_DEFAULT && !names_has(allow, "personality")) {
		int nr = seccomp_syscall_resolve_name("personality");
		if (nr >= 0 && !nrs_has(&denied, nr)) {
			r = add_personality_rules(ctx, nr, err);
			if (r < 0)
				return r;
		}
	}

	_cleanup_close_ int fd = memfd_create("agentrt-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return art_error_set(err, -errno, "seccomp: memfd_create: %s", strerror(errno));
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return art_error_set(err, r, "seccomp: cannot export the filter: %s", strerror(-r));
	return read_program(fd, out, err);
}

/* ------------------------------------------------------------ cache */

typedef struct sc_entry {
	struct sc_entry *next;
	uint64_t hash;
	sc_program prog;
	char key[];
} sc_entry;

struct sc_cache {
	sc_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t n;
};

int sc_cache_new(sc_cache **out)
{
	sc_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->nbuckets = 16;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void sc_cache_free(sc_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->nbuckets; i++) {
		sc_entry *e = cache->buckets[i];
		while (e) {
			sc_entry *next = e->next;
			free(e->prog.insns);
			free(e);
			e = next;
		}
	}
	free(cache->buckets);
	free(cache);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* "default|a,b|c|0": profile, allow, deny, allow_userns. Checked names
 * hold neither '|' nor ','. */
static char *make_key(const char *profile, const sc_names *allow, const sc_names *deny,
		      bool allow_userns)
{
	size_t len = strlen(profile) + 8;
	for (size_t i = 0; i < allow->n; i++)
		len += strlen(allow->v[i]) + 1;
	for (size_t i = 0; i < deny->n; i++)
		len += strlen(deny->v[i]) + 1;
	char *key = malloc(len);
	if (!key)
		return NULL;
	char *p = stpcpy(key, profile);
	const sc_names *lists[] = { allow, deny };
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		*p++ = '|';
		for (size_t i = 0; i < lists[l]->n; i++) {
			if (i)
				*p++ = ',';
			p = stpcpy(p, lists[l]->v[i]);
		}
	}
	*p++ = '|';
	*p++ = allow_userns ? '1' : '0';
	*p = 0;
	return key;
}

static void cache_grow(sc_cache *cache)
{
	size_t nb = cache->nbuckets * 2;
	sc_entry **b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < cache->nbuckets; i++) {
		sc_entry *e = cache->buckets[i];
		while (e) {
			sc_entry *next = e->next;
			sc_entry **head = &b[e->hash & (nb - 1)];
			e->next = *head;
			*head = e;
			e = next;
		}
	}
	free(cache->buckets);
	cache->buckets = b;
	cache->nbuckets = nb;
}

int sc_cache_get(sc_cache *cache, const sc_request *req, const sc_program **out,
		 art_error *err)
{
	const char *name = req->profile ? req->profile : "default";
	const sc_profile_def *profile = profile_find(name);
	if (!profile)
		return art_error_set(err, -EINVAL, "seccomp.profile: unknown profile \"%s\"", name);
	_cleanup_(sc_names_freep) sc_names allow = { 0 };
	_cleanup_(sc_names_freep) sc_names deny = { 0 };
	int r = names_load(&allow, req->allow, "allow", err);
	if (r < 0)
		return r;
	r = names_load(&deny, req->deny, "deny", err);
	if (r < 0)
		return r;
	if (profile->level == LEVEL_NONE && deny.n == 0) {
		*out = NULL;
		return 0;
	}

	_cleanup_free_ char *key = make_key(profile->name, &allow, &deny, req->allow_userns);
	if (!key)
		return -ENOMEM;
	uint64_t hash = hash_str(key);
	for (sc_entry *e = cache->buckets[hash & (cache->nbuckets - 1)]; e; e = e->next) {
		if (e->hash == hash && strcmp(e->key, key) == 0) {
			*out = &e->prog;
			return 0;
		}
	}

	size_t klen = strlen(key);
	_cleanup_free_ sc_entry *e = calloc(1, sizeof(*e) + klen + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->key, key, klen + 1);
	e->hash = hash;
	r = compile(profile->level, &allow, &deny, req->allow_userns, &e->prog, err);
	if (r < 0)
		return r;

	if (cache->n >= cache->nbuckets)
		cache_grow(cache);
	sc_entry **head = &cache->buckets[hash & (cache->nbuckets - 1)];
	e->next = *head;
	*head = steal_ptr(&e);
	cache->n++;
	*out = &(*head)->prog;
	return 0;
}
