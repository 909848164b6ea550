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

static void fill_limits(const art_spec *s, cg_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	const uint64_t *v = s->limits;
	for (size_t i = 0; i < ARRAY_SIZE(cg_bits); i++)
		if (s->limits_set & (1u << cg_bits[i].limit))
			lim->set |= cg_bits[i].bit;
	lim->memory_max = v[ART_LIMIT_MEMORY];
	lim->memory_high = v[ART_LIMIT_MEMORY_HIGH];
	lim->swap_max = v[ART_LIMIT_SWAP];
	lim->cpu_millis = (uint32_t)v[ART_LIMIT_CPU];
	lim->cpu_weight = (uint32_t)v[ART_LIMIT_CPU_WEIGHT];
	lim->pids_max = v[ART_LIMIT_PIDS];
	lim->io_weight = (uint32_t)v[ART_LIMIT_IO_WEIGHT];
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
	ensure_cgroups(rt);
	rt->serial++;
	unsigned supported = rt->cg && cg_root_version(rt->cg) != CG_NONE ? cg_root_supported(rt->cg)
									   : 0;
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
	if (!supported)
		return 0; /* rlimits only; the result names what was not enforced */
	/* A memory limit means memory: without a word about swap, a task at
	 * its limit is OOM-killed rather than swapped out for minutes. */
	if ((lim.set & CG_LIM_MEMORY) && !(lim.set & CG_LIM_SWAP) && (supported & CG_LIM_SWAP)) {
		lim.set |= CG_LIM_SWAP;
		lim.swap_max = 0;
	}
	char name[32];
	snprintf(name, sizeof(name), "task-%llu", (unsigned long long)rt->serial);
	art_error err;
	int r = cg_task_create(rt->cg, name, &lim, &t->cg, &err);
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

static int get_program(art_task *t, const sc_program **prog, art_error *err)
{
	art_runtime *rt = t->rt;
	const spec_sandbox *sb = &t->spec->sb;
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

int iso_spawn(art_task *t, const spawn_params *base, spawn_failure *fail)
{
	art_runtime *rt = t->rt;
	const spec_sandbox *sb = &t->spec->sb;
	art_error err = { 0 };
	if (!rt->last_cap) {
		rt->last_cap = caps_last_cap();
		bool root = geteuid() == 0;
		rt->sandbox_uid = root ? SANDBOX_ROOT_HOST_ID : geteuid();
		rt->sandbox_gid = root ? SANDBOX_ROOT_HOST_ID : getegid();
	}
	const sc_program *prog = NULL;
	int r = get_program(t, &prog, &err);
	if (r < 0)
		return fail_with(t, fail, -r, ART_STAGE_SECCOMP, err.msg);

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
	if (sb->ws_base) {
		char buf[64], name[48];
		snprintf(name, sizeof(name), "ws-%d-%llu", (int)rt->pid,
			 (unsigned long long)rt->serial);
		r = ws_prepare(workspace_root(rt, buf, sizeof(buf)), name, rt->sandbox_uid,
			       rt->sandbox_gid, &t->ws, &err);
		if (r < 0)
			return fail_with(t, fail, -r, ART_STAGE_WORKSPACE, err.msg);
		vc.ws_lower = sb->ws_base;
		vc.ws_upper = t->ws.upper;
		vc.ws_work = t->ws.work;
		vc.ws_target = sb->ws_target ? sb->ws_target : "/workspace";
		vc.ws_idmap = geteuid() == 0 && rt->sandbox_uid != 0;
	}
	_cleanup_(view_plan_free) view_plan plan = { 0 };
	r = view_plan_build(&vc, &plan, &err);
	if (r < 0)
		return fail_with(t, fail, -r, ART_STAGE_SANDBOX, err.msg);

	isolate_params p = {
		.base = *base,
		.new_net = !sb->network_host,
		.hostname = sb->hostname ? sb->hostname : "agentrt",
		.deny_setgroups = geteuid() != 0,
		.mounts = plan.entries,
		.n_mounts = plan.n,
		.seccomp = prog,
		.keep_caps = sb->keep_caps,
		.last_cap = rt->last_cap,
		.cgroup_dir_fd = t->cg ? cg_task_dir_fd(t->cg) : -1,
		.setup_timeout_ms = SETUP_TIMEOUT_MS,
	};
	if (!p.base.cwd)
		p.base.cwd = vc.ws_target ? vc.ws_target : "/";
	snprintf(p.uid_map, sizeof(p.uid_map), "0 %u 1\n", (unsigned)rt->sandbox_uid);
	snprintf(p.gid_map, sizeof(p.gid_map), "0 %u 1\n", (unsigned)rt->sandbox_gid);

	isolate_proc proc;
	isolate_failure f;
	r = isolate_spawn(&p, &proc, &f);
	if (r < 0) {
		fail->err = f.err;
		fail->stage = f.stage;
		if (f.what && f.index >= 0)
			snprintf(t->result.start_detail, sizeof(t->result.start_detail),
				 "sandbox mount %s (entry %d)", f.what, f.index);
		else if (f.what)
			snprintf(t->result.start_detail, sizeof(t->result.start_detail),
				 "sandbox mount %s", f.what);
		return r;
	}
	t->pid = proc.pid;
	t->pidfd = proc.pidfd;
	t->report_fd = proc.report_fd;
	t->seccomp_fd = proc.listener_fd;
	if (t->seccomp_fd >= 0 &&
	    loop_watch_add(rt->loop, &t->seccomp_watch, t->seccomp_fd, EPOLLIN, on_seccomp) < 0)
		t->seccomp_fd = safe_close(t->seccomp_fd);
	return 0;
}

/* ------------------------------------------------------------ the end */

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
	cg_root_free(rt->cg);
	sc_cache_free(rt->seccomp);
	free(rt->notif_buf);
}
