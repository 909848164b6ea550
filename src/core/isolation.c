/* SPDX-License-Identifier: MIT */
/*
 * A task's isolation, between the task state machine and the sandbox
 * layer: its cgroup, its sandbox (view, seccomp, capabilities), its
 * workspace, and what they tell about how it ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/macros.h"
#include "core/internal.h"
#include "os/pidfd.h"
#include "sandbox/caps.h"
#include "sandbox/isolate.h"
#include "sandbox/view.h"

/* A root runtime maps the sandbox's root to this unprivileged id outside:
 * mapped to itself, it would keep owner access to every root-owned file
 * of the host that the view shows (/etc/shadow among them). */
#define SANDBOX_ROOT_HOST_ID 65534
#define SETUP_TIMEOUT_MS 10000

void iso_init(art_task *t)
{
	t->report_fd = -1;
	loop_watch_init(&t->report_watch);
	t->seccomp_fd = -1;
	t->violation = -1;
	t->seccomp_nr = -1;
	loop_watch_init(&t->seccomp_watch);
}

static void ensure_cgroups(art_runtime *rt)
{
	if (rt->cg_tried)
		return;
	rt->cg_tried = true;
	art_error err;
	if (cg_root_open(rt->cfg.cgroup_parent, &rt->cg, &err) < 0)
		rt->cg = NULL;
}

const char *art_runtime_limits_diagnostic(art_runtime *rt)
{
	if (!rt->cg_tried)
		return NULL;
	if (!rt->cg)
		return "cgroups: the cgroup tree could not be opened";
	return cg_root_diagnostic(rt->cg);
}

static const struct {
	art_limit limit;
	unsigned bit;
} cg_bits[] = {
	{ ART_LIMIT_MEMORY, CG_LIM_MEMORY },	     { ART_LIMIT_MEMORY_HIGH, CG_LIM_MEMORY_HIGH },
	{ ART_LIMIT_SWAP, CG_LIM_SWAP },	     { ART_LIMIT_CPU, CG_LIM_CPU },
	{ ART_LIMIT_CPU_WEIGHT, CG_LIM_CPU_WEIGHT }, { ART_LIMIT_PIDS, CG_LIM_PIDS },
	{ ART_LIMIT_IO_WEIGHT, CG_LIM_IO_WEIGHT },
};

/* The cgroup limits among v[] (indexed by art_limit) whose bits are in set. */
static void limits_from(const uint64_t *v, unsigned set, cg_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	for (size_t i = 0; i < ARRAY_SIZE(cg_bits); i++)
		if (set & (1u << cg_bits[i].limit))
			lim->set |= cg_bits[i].bit;
	lim->memory_max = v[ART_LIMIT_MEMORY];
	lim->memory_high = v[ART_LIMIT_MEMORY_HIGH];
	lim->swap_max = v[ART_LIMIT_SWAP];
	lim->cpu_millis = (uint32_t)v[ART_LIMIT_CPU];
	lim->cpu_weight = (uint32_t)v[ART_LIMIT_CPU_WEIGHT];
	lim->pids_max = v[ART_LIMIT_PIDS];
	lim->io_weight = (uint32_t)v[ART_LIMIT_IO_WEIGHT];
}

static void fill_limits(const art_spec *s, cg_limits *lim)
{
	limits_from(s->limits, s->limits_set, lim);
}

int iso_set_limit(art_task *t, art_limit limit, uint64_t value, art_error *err)
{
	const char *id = art_spec_id(t->spec) ?: "(no id)";
	/* UINT64_MAX lifts a CPU quota (cpu_millis 0 below); other limits
	 * take it as "no limit" already. */
	bool lift_cpu = limit == ART_LIMIT_CPU && value == UINT64_MAX;
	int r = lift_cpu ? 0 : spec_check_limit(limit, value);
	if (r < 0)
		return art_error_set(err, r, "task %s: limit %d: value out of range", id,
				     (int)limit);
	if (!(SPEC_CGROUP_LIMITS & (1u << limit)))
		return art_error_set(err, -EINVAL,
				     "task %s: only cgroup limits can change while it runs", id);
	if (t->state != ART_TASK_RUNNING)
		return art_error_set(err, -ESRCH, "task %s: not running", id);
	if (!t->cg)
		return art_error_set(err, -EOPNOTSUPP,
				     "task %s: no cgroup of its own (sandbox level none, or no "
				     "cgroups here)", id);
	uint64_t v[ART_LIMIT__COUNT] = { 0 };
	unsigned set = 1u << limit;
	v[limit] = lift_cpu ? 0 : value;
	if (limit == ART_LIMIT_MEMORY && (cg_root_supported(t->rt->cg) & CG_LIM_SWAP)) {
		/* As at the start (iso_make_cgroup): a memory limit means
		 * memory, not swap, unless the spec said otherwise. */
		set |= 1u << ART_LIMIT_SWAP;
		v[ART_LIMIT_SWAP] = (t->spec->limits_set & (1u << ART_LIMIT_SWAP))
					    ? t->spec->limits[ART_LIMIT_SWAP]
					    : 0;
	}
	cg_limits lim;
	limits_from(v, set, &lim);
	return cg_task_update(t->cg, &lim, err);
}

static unsigned supported_limits(art_runtime *rt)
{
	ensure_cgroups(rt);
	return rt->cg && cg_root_version(rt->cg) != CG_NONE ? cg_root_supported(rt->cg) : 0;
}

int iso_make_cgroup(art_runtime *rt, const art_spec *s, cg_task **out, art_error *err)
{
	unsigned supported = supported_limits(rt);
	if (!supported) {
		*out = NULL;
		return 0; /* rlimits only; the result names what was not enforced */
	}
	cg_limits lim;
	fill_limits(s, &lim);
	lim.set &= supported;
	/* A memory limit means memory: without a word about swap, a task at
	 * its limit is OOM-killed rather than swapped out for minutes. */
	if ((lim.set & CG_LIM_MEMORY) && !(lim.set & CG_LIM_SWAP) && (supported & CG_LIM_SWAP)) {
		lim.set |= CG_LIM_SWAP;
		lim.swap_max = 0;
	}
	char name[32];
	snprintf(name, sizeof(name), "task-%llu", (unsigned long long)++rt->serial);
	return cg_task_create(rt->cg, name, &lim, out, err);
}

int iso_prepare(art_task *t, art_stage *stage)
{
	art_runtime *rt = t->rt;
	const art_spec *s = t->spec;
	t->result.level = spec_effective_level(s);
	if (t->result.level == ART_SANDBOX_NONE) {
		t->result.unenforced = s->limits_set & SPEC_CGROUP_LIMITS;
		return 0;
	}
	unsigned supported = supported_limits(rt);
	cg_limits lim;
	fill_limits(s, &lim);
	for (size_t i = 0; i < ARRAY_SIZE(cg_bits); i++)
		if ((lim.set & cg_bits[i].bit) && !(supported & cg_bits[i].bit))
			t->result.unenforced |= 1u << cg_bits[i].limit;
	if (t->result.unenforced && (rt->cfg.flags & ART_RT_REQUIRE_LIMITS)) {
		*stage = ART_STAGE_CGROUP;
		snprintf(t->result.start_detail, sizeof(t->result.start_detail), "%s",
			 art_runtime_limits_diagnostic(rt) ?: "limits not enforceable");
		return -EOPNOTSUPP;
	}
	/* A prepared sandbox comes with its cgroup, made with these limits. */
	if ((t->warm = warm_take(rt, s))) {
		t->cg = warm_take_cgroup(t->warm);
		return 0;
	}
	art_error err;
	int r = iso_make_cgroup(rt, s, &t->cg, &err);
	if (r < 0) {
		*stage = ART_STAGE_CGROUP;
		snprintf(t->result.start_detail, sizeof(t->result.start_detail), "%s", err.msg);
		return r;
	}
	return 0;
}

int iso_cgroup_fds(art_task *t, int *fds, int max)
{
	/* v2 sandboxes are cloned straight into their cgroup. */
	if (!t->cg || (t->result.level == ART_SANDBOX_FULL && cg_task_dir_fd(t->cg) >= 0))
		return 0;
	return cg_task_procs_fds(t->cg, fds, max);
}

/* ------------------------------------------------------------ seccomp */

static void close_seccomp(art_task *t)
{
	if (t->seccomp_watch.fd >= 0)
		loop_watch_del(t->rt->loop, &t->seccomp_watch);
	t->seccomp_fd = safe_close(t->seccomp_fd);
}

static void on_seccomp(loop *l, loop_watch *w, uint32_t events)
{
	(void)l;
	art_task *t = container_of(w, art_task, seccomp_watch);
	art_runtime *rt = t->rt;
	if (events & EPOLLIN) {
		memset(rt->notif_buf, 0, rt->notif_size);
		if (ioctl(t->seccomp_fd, SECCOMP_IOCTL_NOTIF_RECV, rt->notif_buf) == 0) {
			const struct seccomp_notif *n = rt->notif_buf;
			t->seccomp_nr = n->data.nr;
			/* The call stays blocked; killing the sandbox ends it. */
			task_violation(t, VIOLATION_SECCOMP);
			close_seccomp(t);
			return;
		}
	}
	if (events & (EPOLLHUP | EPOLLERR))
		close_seccomp(t);
}

static int ensure_notif_buf(art_runtime *rt)
{
	if (rt->notif_buf)
		return 0;
	struct seccomp_notif_sizes sizes;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return -errno;
	rt->notif_size = MAX((size_t)sizes.seccomp_notif, sizeof(struct seccomp_notif));
	rt->notif_buf = calloc(1, rt->notif_size);
	return rt->notif_buf ? 0 : -ENOMEM;
}

static int get_program(art_runtime *rt, const spec_sandbox *sb, const sc_program **prog,
		       art_error *err)
{
	if (!rt->seccomp && sc_cache_new(&rt->seccomp) < 0)
		return art_error_set(err, -ENOMEM, "out of memory");
	sc_request req = {
		.profile = sb->seccomp,
		.allow = (const char *const *)sb->sc_allow.v,
		.deny = (const char *const *)sb->sc_deny.v,
		.allow_userns = sb->allow_userns,
	};
	int r = sc_cache_get(rt->seccomp, &req, prog, err);
	if (r == 0 && *prog)
		r = ensure_notif_buf(rt);
	return r;
}

/* ------------------------------------------------------------ spawn */

static const char *workspace_root(art_runtime *rt, char *buf, size_t len)
{
	if (rt->cfg.workspace_dir)
		return rt->cfg.workspace_dir;
	snprintf(buf, len, "/tmp/agentrt-%u", (unsigned)getuid());
	return buf;
}

static int fail_with(art_task *t, spawn_failure *fail, int err, art_stage stage, const char *msg)
{
	fail->err = err;
	fail->stage = stage;
	if (msg)
		snprintf(t->result.start_detail, sizeof(t->result.start_detail), "%s", msg);
	return -err;
}

static void sandbox_ids(art_runtime *rt)
{
	if (rt->last_cap)
		return;
	rt->last_cap = caps_last_cap();
	bool root = geteuid() == 0;
	rt->sandbox_uid = root ? SANDBOX_ROOT_HOST_ID : geteuid();
	rt->sandbox_gid = root ? SANDBOX_ROOT_HOST_ID : getegid();
}

int iso_sandbox_params(art_runtime *rt, const spec_sandbox *sb, const ws_dirs *ws, cg_task *cg,
		       const spawn_params *base, view_plan *plan, isolate_params *p,
		       art_stage *stage, art_error *err)
{
	sandbox_ids(rt);
	const sc_program *prog = NULL;
	int r = get_program(rt, sb, &prog, err);
	if (r < 0) {
		*stage = ART_STAGE_SECCOMP;
		return r;
	}
	view_config vc = {
		.rootfs = sb->rootfs,
		.tmp_size = sb->tmp_size,
		.new_net = !sb->network_host,
		.n_binds = sb->n_binds,
		.n_tmpfs = sb->n_tmpfs,
	};
	view_bind binds[sb->n_binds + 1];
	view_tmpfs tmpfs[sb->n_tmpfs + 1];
	for (size_t i = 0; i < sb->n_binds; i++)
		binds[i] = (view_bind){ sb->binds[i].source, sb->binds[i].target, sb->binds[i].rw };
	for (size_t i = 0; i < sb->n_tmpfs; i++)
		tmpfs[i] = (view_tmpfs){ sb->tmpfs[i].target, sb->tmpfs[i].size };
	vc.binds = binds;
	vc.tmpfs = tmpfs;
	if (ws) {
		vc.ws_lower = sb->ws_base;
		vc.ws_upper = ws->upper;
		vc.ws_work = ws->work;
		vc.ws_target = sb->ws_target ? sb->ws_target : "/workspace";
		vc.ws_idmap = geteuid() == 0 && rt->sandbox_uid != 0;
	}
	r = view_plan_build(&vc, plan, err);
	if (r < 0) {
		*stage = ART_STAGE_SANDBOX;
		return r;
	}
	*p = (isolate_params){
		.base = *base,
		.new_net = !sb->network_host,
		.hostname = sb->hostname ? sb->hostname : "agentrt",
		.deny_setgroups = geteuid() != 0,
		.mounts = plan->entries,
		.n_mounts = plan->n,
		.seccomp = prog,
		.keep_caps = sb->keep_caps,
		.last_cap = rt->last_cap,
		.cgroup_dir_fd = cg ? cg_task_dir_fd(cg) : -1,
		.setup_timeout_ms = SETUP_TIMEOUT_MS,
	};
	if (!p->base.cwd)
		p->base.cwd = vc.ws_target ? vc.ws_target : "/";
	snprintf(p->uid_map, sizeof(p->uid_map), "0 %u 1\n", (unsigned)rt->sandbox_uid);
	snprintf(p->gid_map, sizeof(p->gid_map), "0 %u 1\n", (unsigned)rt->sandbox_gid);
	return 0;
}

static void report_failure(art_task *t, spawn_failure *fail, const isolate_failure *f)
{
	fail->err = f->err;
	fail->stage = f->stage;
	if (f->what && f->index >= 0)
		snprintf(t->result.start_detail, sizeof(t->result.start_detail),
			 "sandbox mount %s (entry %d)", f->what, f->index);
	else if (f->what)
		snprintf(t->result.start_detail, sizeof(t->result.start_detail), "sandbox mount %s",
			 f->what);
}

static void on_report(loop *l, loop_watch *w, uint32_t events)
{
	art_task *t = container_of(w, art_task, report_watch);
	(void)events;
	int status;
	int r = isolate_read_exit(t->report_fd, &status);
	if (r == -EAGAIN)
		return;
	loop_watch_del(l, w);
	if (r < 0)
		return; /* no word: the init's end (pidfd) will tell */
	t->report_exited = true;
	t->report_status = status;
	task_dispatch(t, EV_EXITED);
}

/* The task's process is the sandbox's init from here on. */
static void adopt(art_task *t, const isolate_proc *proc, bool refill)
{
	art_runtime *rt = t->rt;
	t->pid = proc->pid;
	t->pidfd = proc->pidfd;
	t->report_fd = proc->report_fd;
	t->seccomp_fd = proc->listener_fd;
	if (t->seccomp_fd >= 0 &&
	    loop_watch_add(rt->loop, &t->seccomp_watch, t->seccomp_fd, EPOLLIN, on_seccomp) < 0)
		t->seccomp_fd = safe_close(t->seccomp_fd);
	/* With a cgroup to read the usage from, the task's end is its init's
	 * EXITED message: the namespaces' teardown need not delay it. */
	if (t->cg)
		(void)loop_watch_add(rt->loop, &t->report_watch, t->report_fd, EPOLLIN, on_report);
	/* The next task like this one finds its sandbox ready. */
	if (refill)
		warm_refill(rt, t->spec);
}

int iso_spawn(art_task *t, const spawn_params *base, spawn_failure *fail)
{
	art_runtime *rt = t->rt;
	const spec_sandbox *sb = &t->spec->sb;
	art_error err = { 0 };
	isolate_proc proc;
	isolate_failure f;
	int r;
	if (t->warm) {
		warm_sandbox *w = steal_ptr(&t->warm);
		r = warm_launch(rt, w, t->spec, base, &proc, &f);
		if (r == 0) {
			rt->stats.warm_starts++;
			adopt(t, &proc, false);
			return 0;
		}
		if (r != -EAGAIN) {
			report_failure(t, fail, &f);
			return r;
		}
		/* Not usable after all: a sandbox of its own, in the same cgroup
		 * (base has its v1 descriptors, see iso_cgroup_fds). */
	}
	ws_dirs *ws = NULL;
	if (sb->ws_base) {
		char buf[64], name[48];
		snprintf(name, sizeof(name), "ws-%d-%llu", (int)rt->pid,
			 (unsigned long long)++rt->serial);
		sandbox_ids(rt);
		r = ws_prepare(workspace_root(rt, buf, sizeof(buf)), name, rt->sandbox_uid,
			       rt->sandbox_gid, &t->ws, &err);
		if (r < 0)
			return fail_with(t, fail, -r, ART_STAGE_WORKSPACE, err.msg);
		ws = &t->ws;
	}
	_cleanup_(view_plan_free) view_plan plan = { 0 };
	isolate_params p;
	art_stage stage;
	r = iso_sandbox_params(rt, sb, ws, t->cg, base, &plan, &p, &stage, &err);
	if (r < 0)
		return fail_with(t, fail, -r, stage, err.msg);
	r = isolate_spawn(&p, &proc, &f);
	if (r < 0) {
		report_failure(t, fail, &f);
		return r;
	}
	adopt(t, &proc, true);
	return 0;
}

/* ------------------------------------------------------------ teardown */

static void status_to_siginfo(int status, siginfo_t *si)
{
	if (WIFEXITED(status)) {
		si->si_code = CLD_EXITED;
		si->si_status = WEXITSTATUS(status);
	} else {
		si->si_code = WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED;
		si->si_status = WTERMSIG(status);
	}
}

/* An ended sandbox's init, exiting: its namespaces go with it, and its
 * cgroup can go once it has. Kept in the runtime's child_pids until
 * reaped, so that the orphan sweep leaves it alone. */
typedef struct teardown {
	list_node link; /* rt->teardowns */
	loop_watch watch; /* the init's pidfd */
	art_runtime *rt;
	pid_t pid;
	cg_task *cg;
} teardown;

static void teardown_finish(teardown *td, bool wait)
{
	art_runtime *rt = td->rt;
	if (wait)
		pidfd_signal(td->watch.fd, SIGKILL);
	pidfd_reap(td->watch.fd, NULL, NULL);
	int fd = td->watch.fd;
	loop_watch_del(rt->loop, &td->watch);
	safe_close(fd);
	intset_del(&rt->child_pids, td->pid);
	cg_task_destroy(td->cg);
	list_remove(&td->link);
	free(td);
}

static void on_init_gone(loop *l, loop_watch *w, uint32_t events)
{
	(void)l;
	(void)events;
	/* The loop does not touch a watch after its callback: free it here. */
	teardown_finish(container_of(w, teardown, watch), false);
}

bool iso_exited_early(art_task *t, siginfo_t *si)
{
	art_runtime *rt = t->rt;
	if (!t->report_exited)
		return false;
	teardown *td = calloc(1, sizeof(*td));
	if (!td)
		return false; /* reaped here instead: the init is on its way out */
	td->rt = rt;
	td->pid = t->pid;
	loop_watch_init(&td->watch);
	if (loop_watch_add(rt->loop, &td->watch, t->pidfd, EPOLLIN, on_init_gone) < 0) {
		free(td);
		return false;
	}
	t->pidfd = -1;
	list_add_tail(&rt->teardowns, &td->link);
	t->teardown = td;
	status_to_siginfo(t->report_status, si);
	si->si_pid = t->pid;
	return true;
}

void iso_teardowns_free(art_runtime *rt)
{
	list_node *n;
	while ((n = list_pop_front(&rt->teardowns))) {
		list_init(n);
		teardown_finish(container_of(n, teardown, link), true);
	}
}

/* ------------------------------------------------------------ the end */

static void finish_workspace(art_task *t)
{
	const spec_sandbox *sb = &t->spec->sb;
	if (!t->ws.dir)
		return;
	switch (sb->ws_changes) {
	case ART_WORKSPACE_KEEP:
		/* The caller owns the changes now; overlayfs's work directory
		 * (mode 000 inside) would only stand in the way of removing them. */
		ws_remove_tree(t->ws.work);
		t->result.workspace_dir = t->ws.upper;
		return;
	case ART_WORKSPACE_LIST: {
		art_error err;
		if (ws_list_changes(t->ws.upper, sb->ws_base, &t->changes, &t->n_changes, &err) == 0 &&
		    t->n_changes) {
			t->result_changes = calloc(t->n_changes, sizeof(art_change));
			if (t->result_changes) {
				for (size_t i = 0; i < t->n_changes; i++)
					t->result_changes[i] = (art_change){
						t->changes[i].path,
						ws_change_kind_name(t->changes[i].kind)
					};
				t->result.changes = t->result_changes;
				t->result.n_changes = t->n_changes;
			}
		}
		break;
	}
	case ART_WORKSPACE_DISCARD:
		break;
	}
	ws_remove_tree(t->ws.dir);
}

/* How it ended, from what the kernel and the cgroup saw. */
static void classify(art_task *t, const cg_usage *u)
{
	art_result *res = &t->result;
	const art_spec *s = t->spec;
	bool failed = !(res->end == ART_END_EXITED && res->exit_code == 0);
	if (t->violation == VIOLATION_SECCOMP) {
		res->end = ART_END_SECCOMP;
		sc_syscall_name(t->seccomp_nr, res->seccomp_syscall, sizeof(res->seccomp_syscall));
		return;
	}
	if (t->violation >= 0) {
		res->end = ART_END_LIMIT;
		res->limit = (art_limit)t->violation;
		return;
	}
	if (res->end != ART_END_EXITED && res->end != ART_END_SIGNALED)
		return; /* timeout, cancel: what we did decides */
	if (u && (u->have & CG_HAVE_OOM) && u->oom_kills && failed) {
		res->end = ART_END_OOM_KILLED;
		return;
	}
	int sig = res->end == ART_END_SIGNALED ? res->term_signal : 0;
	if ((s->limits_set & (1u << ART_LIMIT_CPU_TIME)) &&
	    (sig == SIGXCPU ||
	     (sig == SIGKILL && (uint64_t)(res->user_ns + res->system_ns) >=
					s->limits[ART_LIMIT_CPU_TIME] * UINT64_C(1000000000)))) {
		res->end = ART_END_LIMIT;
		res->limit = ART_LIMIT_CPU_TIME;
	} else if ((s->limits_set & (1u << ART_LIMIT_FILE_SIZE)) && sig == SIGXFSZ) {
		res->end = ART_END_LIMIT;
		res->limit = ART_LIMIT_FILE_SIZE;
	} else if (u && (u->have & CG_HAVE_PIDS) && u->pids_max_hits && failed) {
		res->end = ART_END_LIMIT;
		res->limit = ART_LIMIT_PIDS;
	}
}

void iso_exited(art_task *t, siginfo_t *si)
{
	if (t->report_watch.fd >= 0)
		loop_watch_del(t->rt->loop, &t->report_watch);
	if (t->teardown) {
		/* Everything in the sandbox is gone but its exiting init: the
		 * cgroup needs no kill, and goes once the init has. */
		t->report_fd = safe_close(t->report_fd);
		close_seccomp(t);
		t->has_usage = cg_task_usage(t->cg, &t->usage) == 0;
		t->teardown->cg = steal_ptr(&t->cg);
		t->teardown = NULL;
		return;
	}
	if (t->report_fd >= 0) {
		int status;
		if (isolate_read_exit(t->report_fd, &status) == 0)
			status_to_siginfo(status, si);
		t->report_fd = safe_close(t->report_fd);
	}
	close_seccomp(t);
	cg_usage u, *up = NULL;
	if (t->cg) {
		/* Whatever the task left in its cgroup goes with it. */
		cg_task_kill(t->cg);
		if (cg_task_usage(t->cg, &u) == 0)
			up = &u;
	}
	t->usage = up ? *up : (cg_usage){ 0 };
	t->has_usage = up != NULL;
}

/* Called by record_exit once the basic result is in. */
void iso_classify(art_task *t)
{
	art_result *res = &t->result;
	const cg_usage *u = t->has_usage ? &t->usage : NULL;
	if (u) {
		res->usage_from_cgroup = 1;
		if (u->have & CG_HAVE_CPU) {
			res->user_ns = u->user_ns;
			res->system_ns = u->system_ns;
		}
		if ((u->have & CG_HAVE_MEMORY_PEAK) && u->memory_peak > res->max_rss_bytes)
			res->max_rss_bytes = u->memory_peak;
		res->oom_kills = u->oom_kills;
		res->pids_peak = u->pids_peak;
	}
	classify(t, u);
	if (t->cg) {
		cg_task_destroy(t->cg);
		t->cg = NULL;
	}
	finish_workspace(t);
}

void iso_release(art_task *t)
{
	if (t->report_watch.fd >= 0 && t->rt)
		loop_watch_del(t->rt->loop, &t->report_watch);
	warm_free(steal_ptr(&t->warm)); /* taken, then the start failed early */
	if (t->cg)
		cg_task_destroy(t->cg);
	t->cg = NULL;
	t->report_fd = safe_close(t->report_fd);
	if (t->seccomp_watch.fd >= 0 && t->rt)
		loop_watch_del(t->rt->loop, &t->seccomp_watch);
	t->seccomp_fd = safe_close(t->seccomp_fd);
	/* A workspace whose task never ran, or was not kept, goes. */
	if (t->ws.dir && !t->result.workspace_dir)
		ws_remove_tree(t->ws.dir);
	ws_dirs_free(&t->ws);
	ws_changes_free(t->changes, t->n_changes);
	free(t->result_changes);
}

void iso_runtime_free(art_runtime *rt)
{
	warm_free_all(rt);
	iso_teardowns_free(rt);
	cg_root_free(rt->cg);
	sc_cache_free(rt->seccomp);
	free(rt->notif_buf);
}
