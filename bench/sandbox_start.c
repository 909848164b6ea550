/* SPDX-License-Identifier: MIT */
/*
 * sandbox_start.c - start latency of one task, agentrt against its peers.
 *
 * Runs contenders one task at a time, sequentially, interleaved in rounds:
 * each round runs N/R tasks of every contender in turn (the order rotating
 * from one round to the next), so that whatever else the machine does hits
 * them all alike. Two kinds of contender:
 *
 *   NAME=lib:LEVEL     a /bin/true task through libagentrt, LEVEL none,
 *                      limits or sandbox; stdin /dev/null, stdout and
 *                      stderr discarded. Latency: CLOCK_MONOTONIC from
 *                      just before art_runtime_submit() to the on_exit
 *                      callback (the runtime is driven on this thread with
 *                      art_runtime_step). That is what a user of the
 *                      library, or of a daemon built on it, waits for.
 *   NAME=lib:ws:BASE   the same at level sandbox, with a copy-on-write
 *                      workspace of directory BASE (art_spec_set_workspace,
 *                      target /workspace, changes discarded).
 *   NAME=lib:sandbox,OPT,...  level sandbox with options, for breaking the
 *                      cost down: "hostnet" (art_spec_set_network_host: no
 *                      network namespace), "seccomp=PROFILE"
 *                      (art_spec_set_seccomp: none, default, strict);
 *                      "warm": the runtime keeps one sandbox prepared
 *                      ahead (art_runtime_set_warm_sandboxes 1 while this
 *                      contender runs, 0 otherwise);
 *                      "gap=MS": MS milliseconds, untimed, between one
 *                      task's end and the next submit, during which the
 *                      runtime is driven (tasks that arrive spaced out, as
 *                      an agent's tool calls do, rather than back to back).
 *   NAME=spawn:ARGV    a command, ARGV split on spaces (no quoting):
 *                      posix_spawn (glibc: a vfork-style clone + execve)
 *                      with stdin, stdout and stderr on /dev/null, then
 *                      waitpid. Latency: from just before the spawn to
 *                      waitpid's return.
 *
 * One runtime serves every lib contender: max_running 1, flags
 * ART_RT_KILL_ORPHANS (a CLI or daemon's setting). Before round 1 each
 * contender runs W untimed tasks (warm-up: page cache, the cgroup tree,
 * the seccomp program cache).
 *
 *   sandbox_start [-n N] [-r R] [-w W] [-o RAW] CONTENDER...
 *
 * Prints one JSON line per contender on stdout, with the latency's p50,
 * p90, p99, mean, min and max in microseconds (percentiles: nearest rank),
 * the range of the per-round medians, and the number of failed runs (a
 * task or command that did not exit 0). For lib contenders also the
 * medians of three phases, from the task's result: "setup" (submit to
 * the start of the spawn: the queue, opening stdio, making the cgroup),
 * "run" (art_result.wall_ns: the spawn, sandbox set-up, exec, exit, reap,
 * killing the cgroup) and "finish" (from there to on_exit: the cgroup's
 * removal, the workspace's removal, the orphan sweep). -o RAW writes every
 * sample as a line "NAME ROUND LATENCY SETUP RUN FINISH" (ns; the phases
 * are 0 for spawn contenders). Exits 0 when every run exited 0,
 * 1 otherwise, 2 on a usage or system error.
 *
 * Built by bench/run.sh against BUILD/libagentrt.a.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentrt.h"

extern char **environ;

enum kind { K_LIB, K_SPAWN };

typedef struct contender {
	const char *name;
	enum kind kind;
	art_sandbox_level level;
	const char *ws_base;
	int hostnet;
	const char *seccomp;
	int warm;
	long gap_ms;
	char **argv; /* K_SPAWN */
	art_spec *spec;
	int64_t *lat, *setup, *run, *finish; /* samples, ns */
	int *round;
	size_t n;
	long failed;
	char first_error[1024];
} contender;

static int64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long parse_count(const char *s, const char *what, long min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min) {
		fprintf(stderr, "sandbox_start: %s: \"%s\" is not a number >= %ld\n", what, s, min);
		exit(2);
	}
	return v;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fprintf(stderr, "sandbox_start: out of memory\n");
		exit(2);
	}
	return p;
}

/* ------------------------------------------------------------ the library */

typedef struct lib_state {
	int done;
	int64_t end_ns;
	art_result res; /* a copy of the scalars we need */
	char msg[1024];
} lib_state;

static void on_exit_cb(art_runtime *rt, art_task *task, const art_result *res, void *ud)
{
	(void)rt;
	(void)task;
	lib_state *st = ud;
	st->end_ns = mono_now();
	st->res = *res;
	st->msg[0] = 0;
	if (!art_result_ok(res)) {
		char buf[200];
		const char *m = art_result_message(res, buf, sizeof(buf));
		snprintf(st->msg, sizeof(st->msg), "%s exit %d%s%s%s%s", art_end_name(res->end),
			 res->exit_code, m ? ": " : "", m ? m : "",
			 res->start_detail[0] ? " / " : "", res->start_detail);
	}
	st->done = 1;
}

static int make_spec(contender *c)
{
	static const char *const argv[] = { "/bin/true", NULL };
	art_spec *s;
	if (art_spec_new(&s) < 0)
		return -1;
	int r = art_spec_set_argv(s, argv);
	if (r == 0)
		r = art_spec_set_stdin(s, ART_STDIN_NULL, NULL, 0, NULL);
	if (r == 0)
		r = art_spec_set_output(s, ART_STREAM_STDOUT, ART_OUTPUT_DISCARD, 0, NULL, 0);
	if (r == 0)
		r = art_spec_set_output(s, ART_STREAM_STDERR, ART_OUTPUT_DISCARD, 0, NULL, 0);
	if (r == 0)
		r = art_spec_set_sandbox(s, c->level);
	if (r == 0 && c->ws_base)
		r = art_spec_set_workspace(s, c->ws_base, NULL, ART_WORKSPACE_DISCARD);
	if (r == 0 && c->hostnet)
		r = art_spec_set_network_host(s, 1);
	if (r == 0 && c->seccomp)
		r = art_spec_set_seccomp(s, c->seccomp);
	if (r < 0) {
		fprintf(stderr, "sandbox_start: %s: spec: %s\n", c->name, strerror(-r));
		art_spec_free(s);
		return -1;
	}
	c->spec = s;
	return 0;
}

/* The warm_sandboxes setting of the one runtime. */
static int rt_warm_now;

/* One task; returns its latency in ns, or -1 after a failure (counted). */
static int64_t run_lib(art_runtime *rt, lib_state *st, contender *c, int64_t *setup,
		       int64_t *run, int64_t *finish)
{
	art_error err;
	if (c->warm != rt_warm_now) {
		/* Applied by the loop, which drops what was prepared before. */
		art_runtime_set_warm_sandboxes(rt, (unsigned)c->warm);
		art_runtime_step(rt, 0);
		rt_warm_now = c->warm;
	}
	if (c->gap_ms) {
		int64_t until = mono_now() + c->gap_ms * 1000000;
		for (int64_t now; (now = mono_now()) < until;)
			art_runtime_step(rt, (int)((until - now + 999999) / 1000000));
	}
	st->done = 0;
	int64_t t0 = mono_now();
	if (art_runtime_submit(rt, c->spec, NULL, NULL, &err) < 0) {
		fprintf(stderr, "sandbox_start: %s: submit: %s\n", c->name, err.msg);
		exit(2);
	}
	while (!st->done) {
		if (art_runtime_step(rt, -1) < 0) {
			fprintf(stderr, "sandbox_start: art_runtime_step failed\n");
			exit(2);
		}
	}
	int64_t lat = st->end_ns - t0;
	if (!art_result_ok(&st->res)) {
		if (!c->failed++)
			snprintf(c->first_error, sizeof(c->first_error), "%s", st->msg);
		return -1;
	}
	*setup = st->res.started_ns - st->res.queued_ns;
	*run = st->res.wall_ns;
	*finish = st->end_ns - (st->res.started_ns + st->res.wall_ns);
	return lat;
}

/* ------------------------------------------------------------ spawn */

static posix_spawn_file_actions_t fa;

static int64_t run_spawn(contender *c)
{
	pid_t pid;
	int64_t t0 = mono_now();
	int rc = posix_spawn(&pid, c->argv[0], &fa, NULL, c->argv, environ);
	if (rc != 0) {
		fprintf(stderr, "sandbox_start: %s: posix_spawn %s: %s\n", c->name, c->argv[0],
			strerror(rc));
		exit(2);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("sandbox_start: waitpid");
			exit(2);
		}
	}
	int64_t lat = mono_now() - t0;
	/* The runtime made us a child subreaper: anything a command left
	 * behind would end up here. Reap it (no task of ours is running). */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (!c->failed++)
			snprintf(c->first_error, sizeof(c->first_error), "%s %d",
				 WIFEXITED(status) ? "exit" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -1;
	}
	return lat;
}

/* ------------------------------------------------------------ figures */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank on a sorted array. */
static double pct_us(const int64_t *sorted, size_t n, double q)
{
	if (!n)
		return 0;
	size_t k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)sorted[k - 1] / 1000.0;
}

static double median_us(const int64_t *v, size_t n)
{
	if (!n)
		return 0;
	int64_t *s = xcalloc(n, sizeof(*s));
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_i64);
	double m = pct_us(s, n, 0.5);
	free(s);
	return m;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void report(const contender *c, int rounds)
{
	int64_t *s = xcalloc(c->n, sizeof(*s));
	memcpy(s, c->lat, c->n * sizeof(*s));
	qsort(s, c->n, sizeof(*s), cmp_i64);
	double sum = 0;
	for (size_t i = 0; i < c->n; i++)
		sum += (double)s[i];
	/* The median of each round, for the spread between rounds. */
	double rmin = 0, rmax = 0;
	int seen = 0;
	int64_t *rv = xcalloc(c->n, sizeof(*rv));
	for (int r = 0; r < rounds; r++) {
		size_t k = 0;
		for (size_t i = 0; i < c->n; i++)
			if (c->round[i] == r)
				rv[k++] = c->lat[i];
		if (!k)
			continue;
		double m = median_us(rv, k);
		if (!seen || m < rmin)
			rmin = m;
		if (!seen || m > rmax)
			rmax = m;
		seen = 1;
	}
	free(rv);

	printf("{\"name\":");
	json_str(c->name);
	printf(",\"kind\":\"%s\"", c->kind == K_LIB ? "library" : "spawn");
	if (c->kind == K_LIB) {
		printf(",\"level\":\"%s\"", c->level == ART_SANDBOX_NONE     ? "none"
					    : c->level == ART_SANDBOX_LIMITS ? "limits"
									     : "sandbox");
		if (c->ws_base) {
			printf(",\"workspace\":");
			json_str(c->ws_base);
		}
		if (c->hostnet)
			printf(",\"network\":\"host\"");
		if (c->seccomp) {
			printf(",\"seccomp\":");
			json_str(c->seccomp);
		}
	} else {
		printf(",\"argv\":[");
		for (char **a = c->argv; *a; a++) {
			if (a != c->argv)
				putchar(',');
			json_str(*a);
		}
		putchar(']');
	}
	printf(",\"n\":%zu,\"failed\":%ld", c->n, c->failed);
	if (c->n)
		printf(",\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"mean_us\":%.1f,"
		       "\"min_us\":%.1f,\"max_us\":%.1f,\"round_p50_min_us\":%.1f,"
		       "\"round_p50_max_us\":%.1f",
		       pct_us(s, c->n, 0.5), pct_us(s, c->n, 0.9), pct_us(s, c->n, 0.99),
		       sum / (double)c->n / 1000.0, pct_us(s, c->n, 0.0), pct_us(s, c->n, 1.0), rmin,
		       rmax);
	if (c->kind == K_LIB && c->n)
		printf(",\"setup_p50_us\":%.1f,\"run_p50_us\":%.1f,\"finish_p50_us\":%.1f",
		       median_us(c->setup, c->n), median_us(c->run, c->n),
		       median_us(c->finish, c->n));
	if (c->failed) {
		printf(",\"first_error\":");
		json_str(c->first_error);
	}
	printf("}\n");
	fflush(stdout);
	free(s);
}

/* ------------------------------------------------------------ main */

static void parse_contender(const char *arg, contender *c)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		goto bad;
	c->name = strndup(arg, (size_t)(eq - arg));
	const char *what = eq + 1;
	if (!strncmp(what, "lib:", 4)) {
		c->kind = K_LIB;
		const char *l = what + 4;
		if (!strcmp(l, "none"))
			c->level = ART_SANDBOX_NONE;
		else if (!strcmp(l, "limits"))
			c->level = ART_SANDBOX_LIMITS;
		else if (!strcmp(l, "sandbox"))
			c->level = ART_SANDBOX_FULL;
		else if (!strncmp(l, "sandbox,", 8)) {
			c->level = ART_SANDBOX_FULL;
			char *opts = strdup(l + 8);
			for (char *o = strtok(opts, ","); o; o = strtok(NULL, ",")) {
				if (!strcmp(o, "hostnet"))
					c->hostnet = 1;
				else if (!strncmp(o, "seccomp=", 8) && o[8])
					c->seccomp = o + 8;
				else if (!strcmp(o, "warm"))
					c->warm = 1;
				else if (!strncmp(o, "gap=", 4) && o[4])
					c->gap_ms = parse_count(o + 4, "gap", 0);
				else
					goto bad;
			}
		} else if (!strncmp(l, "ws:", 3) && l[3]) {
			c->level = ART_SANDBOX_FULL;
			c->ws_base = l + 3;
		} else
			goto bad;
		return;
	}
	if (!strncmp(what, "spawn:", 6) && what[6]) {
		c->kind = K_SPAWN;
		char *copy = strdup(what + 6);
		size_t n = 0, cap = 8;
		c->argv = xcalloc(cap, sizeof(char *));
		for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " ")) {
			if (n + 2 > cap) {
				cap *= 2;
				c->argv = realloc(c->argv, cap * sizeof(char *));
				if (!c->argv)
					exit(2);
			}
			c->argv[n++] = tok;
		}
		c->argv[n] = NULL;
		if (n)
			return;
	}
bad:
	fprintf(stderr,
		"sandbox_start: \"%s\": a contender is NAME=lib:none|limits|sandbox, "
		"NAME=lib:sandbox,hostnet,seccomp=PROFILE,warm,gap=MS, NAME=lib:ws:BASE or "
		"NAME=spawn:ARGV\n",
		arg);
	exit(2);
}

int main(int argc, char **argv)
{
	long total = 1000, rounds = 10, warmup = 20;
	const char *raw_path = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "+n:r:w:o:")) != -1) {
		switch (opt) {
		case 'n': total = parse_count(optarg, "-n", 1); break;
		case 'r': rounds = parse_count(optarg, "-r", 1); break;
		case 'w': warmup = parse_count(optarg, "-w", 0); break;
		case 'o': raw_path = optarg; break;
		default:
			fprintf(stderr, "usage: sandbox_start [-n N] [-r R] [-w W] [-o RAW] "
					"NAME=lib:LEVEL|NAME=lib:ws:BASE|NAME=spawn:ARGV ...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "sandbox_start: no contender\n");
		return 2;
	}
	if (rounds > total)
		rounds = total;
	int nc = argc - optind;
	contender *cs = xcalloc((size_t)nc, sizeof(*cs));
	for (int i = 0; i < nc; i++) {
		parse_contender(argv[optind + i], &cs[i]);
		cs[i].lat = xcalloc((size_t)total, sizeof(int64_t));
		cs[i].setup = xcalloc((size_t)total, sizeof(int64_t));
		cs[i].run = xcalloc((size_t)total, sizeof(int64_t));
		cs[i].finish = xcalloc((size_t)total, sizeof(int64_t));
		cs[i].round = xcalloc((size_t)total, sizeof(int));
		if (cs[i].kind == K_LIB && make_spec(&cs[i]) < 0)
			return 2;
	}

	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		perror("sandbox_start: /dev/null");
		return 2;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, devnull, 1);
	posix_spawn_file_actions_adddup2(&fa, devnull, 2);

	lib_state st;
	memset(&st, 0, sizeof(st));
	art_runtime_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_running = 1;
	cfg.flags = ART_RT_KILL_ORPHANS;
	cfg.on_exit = on_exit_cb;
	cfg.userdata = &st;
	art_runtime *rt;
	art_error err;
	if (art_runtime_new(&cfg, &rt, &err) < 0) {
		fprintf(stderr, "sandbox_start: art_runtime_new: %s\n", err.msg);
		return 2;
	}

	FILE *raw = NULL;
	if (raw_path && !(raw = fopen(raw_path, "w"))) {
		perror(raw_path);
		return 2;
	}

	int64_t dummy[3];
	for (int i = 0; i < nc; i++) {
		for (long k = 0; k < warmup; k++)
			if (cs[i].kind == K_LIB)
				run_lib(rt, &st, &cs[i], &dummy[0], &dummy[1], &dummy[2]);
			else
				run_spawn(&cs[i]);
		if (cs[i].failed)
			fprintf(stderr, "sandbox_start: %s: warm-up: %ld of %ld failed (%s)\n",
				cs[i].name, cs[i].failed, warmup, cs[i].first_error);
		cs[i].failed = 0;
	}

	for (long r = 0; r < rounds; r++) {
		/* This round's share of the runs: the first total % rounds
		 * rounds take one more. */
		long per = total / rounds + (r < total % rounds);
		for (int j = 0; j < nc; j++) {
			contender *c = &cs[(j + r) % nc];
			for (long k = 0; k < per; k++) {
				int64_t lat, a = 0, b = 0, f = 0;
				if (c->kind == K_LIB)
					lat = run_lib(rt, &st, c, &a, &b, &f);
				else
					lat = run_spawn(c);
				if (lat < 0)
					continue;
				c->lat[c->n] = lat;
				c->setup[c->n] = a;
				c->run[c->n] = b;
				c->finish[c->n] = f;
				c->round[c->n] = (int)r;
				c->n++;
				if (raw)
					fprintf(raw, "%s %ld %lld %lld %lld %lld\n", c->name, r,
						(long long)lat, (long long)a, (long long)b,
						(long long)f);
			}
		}
		fprintf(stderr, "sandbox_start: round %ld/%ld done\n", r + 1, rounds);
	}
	if (raw)
		fclose(raw);

	long failed = 0;
	for (int i = 0; i < nc; i++) {
		report(&cs[i], (int)rounds);
		failed += cs[i].failed;
		if (cs[i].failed)
			fprintf(stderr, "sandbox_start: %s: %ld run(s) failed; first: %s\n",
				cs[i].name, cs[i].failed, cs[i].first_error);
	}
	art_runtime_free(rt);
	for (int i = 0; i < nc; i++)
		art_spec_free(cs[i].spec);
	return failed ? 1 : 0;
}
