/* SPDX-License-Identifier: MIT */
/*
 * Per-task cgroups behind one interface, with a v1 and a v2 backend chosen
 * when the runtime starts.
 *
 * The runtime owns one subtree (by default a child of its own cgroup, named
 * "agentrt.<pid>" so that two runtimes never share one) and creates one
 * cgroup per task inside it. Nothing outside that subtree is ever written.
 *
 * v1: the memory, cpu, cpuacct, pids and freezer hierarchies (each may be
 * mounted on its own or co-mounted); a task's cgroup is a directory of the
 * same name in each. v2: one directory; controllers enabled in the
 * subtree's cgroup.subtree_control.
 */
#ifndef ART_SANDBOX_CGROUP_H
#define ART_SANDBOX_CGROUP_H

#include <agentrt.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum cg_version {
	CG_NONE = 0, /* no writable cgroup tree: limits are not enforced */
	CG_V1,
	CG_V2,
} cg_version;

/* One bit per limit, also used to say which ones a backend can enforce. */
typedef enum cg_limit_bit {
	CG_LIM_MEMORY = 1u << 0,      /* memory.max / memory.limit_in_bytes */
	CG_LIM_MEMORY_HIGH = 1u << 1, /* memory.high / memory.soft_limit_in_bytes */
	CG_LIM_SWAP = 1u << 2,        /* memory.swap.max / memory.memsw.limit_in_bytes */
	CG_LIM_CPU = 1u << 3,         /* cpu.max / cpu.cfs_quota_us */
	CG_LIM_CPU_WEIGHT = 1u << 4,  /* cpu.weight / cpu.shares */
	CG_LIM_PIDS = 1u << 5,        /* pids.max */
	CG_LIM_IO_WEIGHT = 1u << 6,   /* io.weight / blkio.weight (where offered) */
} cg_limit_bit;

typedef struct cg_limits {
	unsigned set;          /* cg_limit_bit of the fields that are set */
	uint64_t memory_max;   /* bytes */
	uint64_t memory_high;  /* bytes */
	uint64_t swap_max;     /* bytes of swap allowed on top of memory; v1
				* writes memsw = memory_max + swap_max, so there
				* it needs CG_LIM_MEMORY too (else it is skipped) */
	uint32_t cpu_millis;   /* quota in thousandths of a CPU (1500 = 1.5 CPUs) */
	uint32_t cpu_weight;   /* 1..10000, 100 is the default (v2 scale) */
	uint64_t pids_max;
	uint32_t io_weight;    /* 1..10000, 100 default (v2 scale) */
} cg_limits;

/* What the cgroup saw; fields a backend cannot read are left 0 and their
 * bit stays clear in `have`. */
typedef enum cg_usage_bit {
	CG_HAVE_CPU = 1u << 0,
	CG_HAVE_MEMORY_PEAK = 1u << 1,
	CG_HAVE_OOM = 1u << 2,
	CG_HAVE_PIDS = 1u << 3,
} cg_usage_bit;

typedef struct cg_usage {
	unsigned have;
	int64_t user_ns;
	int64_t system_ns;
	uint64_t memory_peak;  /* bytes */
	uint64_t oom_kills;    /* processes the OOM killer killed in the cgroup */
	uint64_t memory_max_hits; /* times usage hit memory.max (v1: failcnt of
				   * memory + memsw; Linux 6.18 counts neither
				   * when memsw == memory stops a charge) */
	uint64_t pids_peak;       /* 0 on kernels without pids.peak */
	uint64_t pids_max_hits;   /* forks refused by pids.max */
} cg_usage;

typedef struct cg_root cg_root;
typedef struct cg_task cg_task;

/* Finds the cgroup tree and creates the runtime's subtree. parent: a
 * directory to create it in (v2: a cgroup2 directory; v1: a path relative
 * to each hierarchy's root, such as "/agentrt"), or NULL for the runtime's
 * own cgroup. Never fails for want of cgroups: *out is then a root of
 * version CG_NONE whose cg_root_diagnostic() says why. Fails only on
 * ENOMEM or when an explicit parent is unusable (missing, not writable,
 * not a cgroup2 directory on a v2 system); it must exist, only the subtree
 * is made.
 *
 * v2 is chosen when /sys/fs/cgroup is cgroup2 (a hybrid system's empty
 * /sys/fs/cgroup/unified does not count), or when parent lies on a cgroup2
 * mount. v1 needs the memory hierarchy; without cpu, cpuacct, pids, freezer
 * or blkio the root is partial and the diagnostic says what is lost. v2
 * enables in the subtree what its parent delegates (memory cpu pids io).
 * A subtree left by a dead runtime with our pid is emptied and reused. */
int cg_root_open(const char *parent, cg_root **out, art_error *err);
/* Kills and removes every task cgroup left, then the subtree. */
void cg_root_free(cg_root *root);
cg_version cg_root_version(const cg_root *root);
/* The limits this tree can enforce (cg_limit_bit). */
unsigned cg_root_supported(const cg_root *root);
/* Why cgroups are unavailable or partial, e.g. "cgroup v1: no pids
 * hierarchy: the pids limit is not enforced"; NULL when everything is
 * available. Owned by root. */
const char *cg_root_diagnostic(const cg_root *root);
/* The subtree's path (v2) or its path in the memory hierarchy (v1); NULL
 * for CG_NONE. */
const char *cg_root_path(const cg_root *root);

/* Creates the cgroup `name` (a single path component) and applies lim
 * (NULL: none). Limits the backend cannot enforce are skipped, not errors;
 * the caller compares lim->set with cg_root_supported(). -EOPNOTSUPP on a
 * CG_NONE root, -EEXIST if the name is taken; on failure nothing is left.
 * The task is on the root's list until cg_task_destroy. */
int cg_task_create(cg_root *root, const char *name, const cg_limits *lim, cg_task **out,
		   art_error *err);
/* Changes the limits in lim->set of a live cgroup. All must be supported
 * (-EOPNOTSUPP otherwise, nothing written); the kernel's refusal comes
 * back as is, e.g. -EBUSY on v1 for memory below what is in use. */
int cg_task_update(cg_task *cg, const cg_limits *lim, art_error *err);
/* Moves process `pid` (and its threads) into the task's cgroup, in every
 * hierarchy (a failure part way leaves it moved in the ones before). */
int cg_task_attach(cg_task *cg, pid_t pid);
/* Descriptors (O_WRONLY | O_CLOEXEC) of the cgroup.procs files, so that a
 * freshly cloned child can move itself by writing "0" to each, which is
 * async-signal-safe (v1 accepts "0" too). Opened on the first call (one per
 * v1 hierarchy: up to 6) and kept until cg_task_destroy; they stay owned by
 * cg. Returns how many, -ENOBUFS if that is more than max, or -errno. */
int cg_task_procs_fds(cg_task *cg, int *fds, int max);
/* v2: an O_DIRECTORY | O_CLOEXEC descriptor for clone3's CLONE_INTO_CGROUP;
 * -1 on v1. Owned by cg. */
int cg_task_dir_fd(const cg_task *cg);
/* Kills every process in the cgroup and in cgroups below it: cgroup.kill on
 * v2 (returns at once; the processes exit asynchronously); elsewhere the
 * members are frozen so none can fork, killed, thawed, and this repeats
 * until the cgroup is empty (without a freezer, just repeats). Returns the
 * number of processes signalled (v1) or 0 (v2), -EBUSY if some are left
 * after 5 s (a process stuck in the kernel), or a negative errno. */
int cg_task_kill(cg_task *cg);
/* 1 if any process is left in the cgroup, 0 if none, negative errno. */
int cg_task_populated(cg_task *cg);
/* Freezes or thaws the cgroup and waits (up to 1 s) until it is so:
 * -ETIMEDOUT then (the request stays in force), -EOPNOTSUPP without a
 * freezer. */
int cg_task_freeze(cg_task *cg, bool frozen);
/* Fills *out with what could be read (see `have`); readable also after
 * the members have exited, until destroy. */
int cg_task_usage(cg_task *cg, cg_usage *out);
/* A live look at the task's cgroup, for monitoring; fields a backend
 * cannot read are left 0 and their bit clear in `have`. */
typedef enum cg_sample_bit {
	CG_SAMPLE_CPU = 1u << 0,
	CG_SAMPLE_MEMORY = 1u << 1,
	CG_SAMPLE_IO = 1u << 2,
	CG_SAMPLE_PROCS = 1u << 3,
} cg_sample_bit;

typedef struct cg_sample {
	unsigned have;
	int64_t cpu_ns;     /* user + system, since the cgroup was made */
	uint64_t memory_bytes; /* charged to the cgroup (memory.current,
				* memory.usage_in_bytes): resident pages, the
				* page cache and kernel memory the tree caused,
				* what the memory limit counts */
	uint64_t io_read_bytes, io_write_bytes; /* block I/O on every device */
	unsigned procs;     /* processes (not threads), cgroups below included */
} cg_sample;

/* Reads what the cgroup says now: a few small files, no allocation. */
int cg_task_sample(cg_task *cg, cg_sample *out);
/* Kills what is left, removes the directories and frees cg. Blocks while
 * the killed processes leave (rmdir is retried for up to 2 s). */
void cg_task_destroy(cg_task *cg);

#endif
