/* SPDX-License-Identifier: MIT */
/*
 * Changing a running task's cgroup limits from another thread
 * (art_task_set_limit): the value lands in the task's own cgroup, a
 * lower memory limit is enforced on the running task, and what cannot
 * change is refused with the documented errors. Real cgroups: skipped
 * where the runtime has none.
 */
#include <agentrt.h>
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop_thread.h"
#include "tap.h"

static art_task *spawn_sh(loop_thread *lt, const char *script, art_sandbox_level level)
{
	art_spec *s = NULL;
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_argv(s, argv), 0);
	CHECK_EQ_INT(art_spec_set_sandbox(s, level), 0);
	CHECK_EQ_INT(art_spec_set_timeout(s, 20 * INT64_C(1000000000)), 0);
	art_task *t = NULL;
	art_error err = { 0 };
	CHECK_EQ_INT(art_runtime_submit(lt->rt, s, NULL, &t, &err), 0);
	art_spec_free(s);
	return t;
}

static int wait_running(art_task *t)
{
	art_task_stats st = { 0 };
	for (int i = 0; i < 500; i++) {
		CHECK_EQ_INT(art_task_stats_get(t, &st), 0);
		if (st.state == ART_TASK_RUNNING)
			return st.pid;
		sleep_ms(10);
	}
	CHECK_EQ_INT(st.state, ART_TASK_RUNNING);
	return 0;
}

/* Stops t and the loop, then skips the test. */
__attribute__((noreturn)) static void skip_with(loop_thread *lt, art_task *t, const char *why)
{
	art_task_cancel(t);
	art_task_unref(t);
	stop_loop(lt);
	SKIP(why);
}

/* The file `file` of pid's cgroup in the v1 hierarchy of `ctrl`, or in
 * the v2 tree when ctrl is NULL; "" if not found. */
static void cgroup_file(int pid, const char *ctrl, const char *file, char *out, size_t size)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	FILE *f = fopen(path, "re");
	out[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		const char *ctrls = c1 + 1, *rel = c2 + 1;
		if (ctrl ? strcmp(ctrls, ctrl) == 0 : (ctrls[0] == 0 && strcmp(line, "0") == 0)) {
			snprintf(out, size, "/sys/fs/cgroup/%s%s/%s", ctrl ? ctrl : "unified", rel,
				 file);
			if (!ctrl && access(out, F_OK) != 0)
				snprintf(out, size, "/sys/fs/cgroup%s/%s", rel, file);
		}
	}
	fclose(f);
}

static uint64_t read_u64(const char *path)
{
	FILE *f = fopen(path, "re");
	CHECK(f != NULL);
	if (!f)
		return 0;
	char buf[64] = "";
	CHECK(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
	if (strncmp(buf, "max", 3) == 0)
		return UINT64_MAX;
	return strtoull(buf, NULL, 10);
}

static bool have_memory_cgroups(loop_thread *lt, int pid, char *mem_file, size_t size,
				bool *v1)
{
	if (art_runtime_limits_diagnostic(lt->rt))
		return false;
	cgroup_file(pid, "memory", "memory.limit_in_bytes", mem_file, size);
	*v1 = mem_file[0] && access(mem_file, F_OK) == 0;
	if (!*v1)
		cgroup_file(pid, NULL, "memory.max", mem_file, size);
	return mem_file[0] && access(mem_file, F_OK) == 0;
}

/* Lowered and raised again on a running task: the cgroup file follows. */
TEST(memory_limit_changes_in_the_task_cgroup)
{
	loop_thread lt;
	start_loop(&lt);
	art_task *t = spawn_sh(&lt, "sleep 30", ART_SANDBOX_LIMITS);
	int pid = wait_running(t);
	char mem[512];
	bool v1;
	if (!have_memory_cgroups(&lt, pid, mem, sizeof(mem), &v1)) {
		skip_with(&lt, t, "no memory cgroup for tasks here");
	}
	art_error err = { 0 };
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_MEMORY, 64 << 20, &err), 0);
	CHECK_EQ_INT((int)(read_u64(mem) >> 20), 64);
	if (v1) {
		char sw[512];
		cgroup_file(pid, "memory", "memory.memsw.limit_in_bytes", sw, sizeof(sw));
		if (access(sw, F_OK) == 0) /* no swap beyond memory, as at the start */
			CHECK_EQ_INT((int)(read_u64(sw) >> 20), 64);
	}
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_MEMORY, 256 << 20, &err), 0);
	CHECK_EQ_INT((int)(read_u64(mem) >> 20), 256);
	/* "unlimited" back: the kernel's largest value, or "max". */
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_MEMORY, UINT64_MAX, &err), 0);
	CHECK(read_u64(mem) > (UINT64_C(1) << 50));
	art_task_cancel(t);
	wait_ended(&lt, 1);
	art_task_unref(t);
	stop_loop(&lt);
}

/* A limit set while the task runs is enforced: it is OOM-killed. */
TEST(lowered_memory_limit_is_enforced)
{
	loop_thread lt;
	start_loop(&lt);
	/* tail keeps the last "line" of a stream without newlines: all of it. */
	art_task *t = spawn_sh(&lt, "sleep 0.5; head -c 400000000 /dev/zero | tail -c 400000000 "
				    ">/dev/null",
			       ART_SANDBOX_LIMITS);
	int pid = wait_running(t);
	char mem[512];
	bool v1;
	if (!have_memory_cgroups(&lt, pid, mem, sizeof(mem), &v1)) {
		skip_with(&lt, t, "no memory cgroup for tasks here");
	}
	art_error err = { 0 };
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_MEMORY, 48 << 20, &err), 0);
	wait_ended(&lt, 1);
	CHECK_EQ_INT(lt.res.end, ART_END_OOM_KILLED);
	art_task_unref(t);
	stop_loop(&lt);
}

TEST(cpu_weight_changes)
{
	loop_thread lt;
	start_loop(&lt);
	art_task *t = spawn_sh(&lt, "sleep 30", ART_SANDBOX_LIMITS);
	int pid = wait_running(t);
	char cpu[512];
	cgroup_file(pid, "cpu", "cpu.shares", cpu, sizeof(cpu));
	bool v1 = cpu[0] && access(cpu, F_OK) == 0;
	if (!v1)
		cgroup_file(pid, NULL, "cpu.weight", cpu, sizeof(cpu));
	art_error err = { 0 };
	int r = art_task_set_limit(t, ART_LIMIT_CPU_WEIGHT, 1, &err);
	if (r == -EOPNOTSUPP || !cpu[0] || access(cpu, F_OK) != 0) {
		skip_with(&lt, t, "no cpu cgroup for tasks here");
	}
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT((int)read_u64(cpu), v1 ? 10 : 1); /* shares: weight x 1024 / 100 */
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_CPU_WEIGHT, 100, &err), 0);
	CHECK_EQ_INT((int)read_u64(cpu), v1 ? 1024 : 100);
	/* A quota of half a CPU, then none. */
	char quota[512];
	if (v1)
		cgroup_file(pid, "cpu", "cpu.cfs_quota_us", quota, sizeof(quota));
	else
		cgroup_file(pid, NULL, "cpu.max", quota, sizeof(quota));
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_CPU, 500, &err), 0);
	CHECK_EQ_INT((int)read_u64(quota), 50000);
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_CPU, UINT64_MAX, &err), 0);
	if (v1) {
		FILE *f = fopen(quota, "re");
		char buf[32] = "";
		CHECK(f && fgets(buf, sizeof(buf), f));
		fclose(f);
		CHECK_EQ_STR(strtok(buf, "\n"), "-1");
	} else {
		CHECK(read_u64(quota) == UINT64_MAX); /* "max 100000" */
	}
	art_task_cancel(t);
	wait_ended(&lt, 1);
	art_task_unref(t);
	stop_loop(&lt);
}

TEST(refusals)
{
	loop_thread lt;
	start_loop(&lt);
	art_task *t = spawn_sh(&lt, "sleep 30", ART_SANDBOX_LIMITS);
	art_task *plain = spawn_sh(&lt, "sleep 30", ART_SANDBOX_NONE);
	wait_running(t);
	wait_running(plain);
	art_error err = { 0 };
	/* rlimits are set at exec and cannot follow. */
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_NOFILE, 64, &err), -EINVAL);
	CHECK(strstr(err.msg, "only cgroup limits") != NULL);
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_CPU_WEIGHT, 0, &err), -EINVAL);
	CHECK_EQ_INT(art_task_set_limit(t, (art_limit)99, 1, &err), -EINVAL);
	/* No cgroup of its own at level none. */
	CHECK_EQ_INT(art_task_set_limit(plain, ART_LIMIT_MEMORY, 64 << 20, &err), -EOPNOTSUPP);
	CHECK(strstr(err.msg, "no cgroup") != NULL);
	art_task_cancel(t);
	art_task_cancel(plain);
	wait_ended(&lt, 2);
	CHECK_EQ_INT(art_task_set_limit(t, ART_LIMIT_MEMORY, 64 << 20, &err), -ESRCH);
	CHECK(strstr(err.msg, "not running") != NULL);
	art_task_unref(t);
	art_task_unref(plain);
	stop_loop(&lt);
}

