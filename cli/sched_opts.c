/* SPDX-License-Identifier: MIT */
/* Scheduling options of `agentrt batch` (docs/scheduling.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Tasks at once when admission decides and -j sets no cap: a bound on
 * processes, not on work; the requests are what limit CPU and memory. */
#define ADMISSION_MAX_RUNNING 64

static const char *opt_name(int opt)
{
	switch (opt) {
	case OPT_GROUP_WEIGHT:
		return "--group-weight";
	case OPT_GROUP_MAX:
		return "--group-max";
	case OPT_GROUP_RATE:
		return "--group-rate";
	case OPT_KIND_MAX:
		return "--kind-max";
	case OPT_BREAKER:
		return "--breaker";
	default:
		return "--kind-rate";
	}
}

/* NAME=VALUE, split at the last '=' (a name may hold one). */
static int split_setting(int opt, const char *arg, char **name, const char **value)
{
	const char *eq = strrchr(arg, '=');
	if (!eq || eq == arg || !eq[1]) {
		cli_error("%s: \"%s\" is not NAME=VALUE", opt_name(opt), arg);
		return -EINVAL;
	}
	*name = strndup(arg, (size_t)(eq - arg));
	*value = eq + 1;
	return *name ? 0 : -ENOMEM;
}

/* RATE[:BURST], RATE per second; the burst defaults to max(1, RATE). */
static int parse_rate(int opt, const char *text, double *rate, unsigned *burst)
{
	char *end;
	*rate = strtod(text, &end);
	if (end == text || !(*rate > 0) || !isfinite(*rate) || (*end && *end != ':'))
		goto bad;
	*burst = *rate < 1 ? 1 : (unsigned)*rate;
	if (*end == ':') {
		uint64_t b;
		if (cli_parse_uint(opt_name(opt), end + 1, &b) < 0 || b == 0 || b > 1000000)
			goto bad;
		*burst = (unsigned)b;
	}
	return 0;
bad:
	cli_error("%s: \"%s\" is not RATE[:BURST] (starts per second, burst >= 1)", opt_name(opt),
		  text);
	return -EINVAL;
}

/* THRESHOLD[:MIN_RUNS[:WINDOW[:OPEN]]], defaults 10 runs, 20, 30s. */
static int parse_breaker(const char *text, cli_sched_setting *st)
{
	char *copy = strdup(text), *save = NULL;
	if (!copy)
		return -ENOMEM;
	st->rate = 0;
	st->min_runs = 10;
	st->n = 20;
	st->open_ns = 30 * INT64_C(1000000000);
	int r = 0, i = 0;
	for (char *part = strtok_r(copy, ":", &save); part && r == 0;
	     part = strtok_r(NULL, ":", &save), i++) {
		char *end;
		uint64_t v;
		switch (i) {
		case 0:
			st->rate = strtod(part, &end);
			if (end == part || *end || !(st->rate > 0 && st->rate <= 1))
				r = -EINVAL;
			break;
		case 1:
		case 2:
			if (cli_parse_uint("--breaker", part, &v) < 0 || v == 0 || v > 100000)
				r = -EINVAL;
			else if (i == 1)
				st->min_runs = (unsigned)v;
			else
				st->n = (unsigned)v;
			break;
		case 3:
			r = cli_parse_duration("--breaker", part, &st->open_ns);
			break;
		default:
			r = -EINVAL;
		}
	}
	free(copy);
	if (r == 0 && st->min_runs > st->n)
		st->n = st->min_runs;
	if (r < 0)
		cli_error("--breaker: \"%s\" is not THRESHOLD[:MIN_RUNS[:WINDOW[:OPEN]]] "
			  "(0.5:10:20:30s)", text);
	return r;
}

static int add_setting(cli_sched_opts *so, int opt, const char *arg)
{
	cli_sched_setting st = { .opt = opt };
	const char *value;
	int r = split_setting(opt, arg, &st.name, &value);
	if (r < 0)
		return r;
	uint64_t v;
	if (opt == OPT_BREAKER)
		r = parse_breaker(value, &st);
	else if (opt == OPT_GROUP_RATE || opt == OPT_KIND_RATE)
		r = parse_rate(opt, value, &st.rate, &st.n);
	else if ((r = cli_parse_uint(opt_name(opt), value, &v)) == 0) {
		if (v > 1000000 || (opt == OPT_GROUP_WEIGHT && v == 0)) {
			cli_error("%s: %s is out of range", opt_name(opt), value);
			r = -EINVAL;
		}
		st.n = (unsigned)v;
	}
	cli_sched_setting *s = r == 0 ? realloc(so->settings, (so->n_settings + 1) * sizeof(*s))
				      : NULL;
	if (!s) {
		free(st.name);
		return r < 0 ? r : -ENOMEM;
	}
	so->settings = s;
	so->settings[so->n_settings++] = st;
	return 0;
}

int cli_sched_option(cli_sched_opts *so, int opt, const char *arg)
{
	uint64_t v;
	switch (opt) {
	case OPT_ADMISSION:
		so->admission = 1;
		return 0;
	case OPT_NO_ADMISSION:
		so->admission = 0;
		return 0;
	case OPT_CAPACITY_CPUS: {
		char *end;
		double c = strtod(arg, &end);
		if (end == arg || *end || !(c > 0) || c > 1e6) {
			cli_error("--capacity-cpus: \"%s\" is not a number of CPUs", arg);
			return -EINVAL;
		}
		so->capacity_cpus = c;
		return 0;
	}
	case OPT_CAPACITY_MEMORY:
		return cli_parse_size("--capacity-memory", arg, &so->capacity_memory);
	case OPT_PRESSURE_LIMIT:
		if (cli_parse_uint("--pressure-limit", arg, &v) < 0 || v == 0 || v > 100) {
			if (v == 0 || v > 100)
				cli_error("--pressure-limit: a percentage, 1 to 100");
			return -EINVAL;
		}
		so->pressure_limit = (unsigned)v;
		return 0;
	case OPT_AGING:
		if (cli_parse_duration("--aging", arg, &so->aging_ns) < 0)
			return -EINVAL;
		if (so->aging_ns <= 0) {
			cli_error("--aging: must be positive");
			return -EINVAL;
		}
		return 0;
	case OPT_PREEMPT:
		so->preempt = true;
		return 0;
	case OPT_DEP_HISTORY:
		if (cli_parse_uint("--dep-history", arg, &v) < 0 || v == 0 || v > 100000000) {
			if (v == 0 || v > 100000000)
				cli_error("--dep-history: 1 to 100000000");
			return -EINVAL;
		}
		so->dep_history = (unsigned)v;
		return 0;
	case OPT_GROUP_WEIGHT:
	case OPT_GROUP_MAX:
	case OPT_GROUP_RATE:
	case OPT_KIND_MAX:
	case OPT_KIND_RATE:
	case OPT_BREAKER:
		return add_setting(so, opt, arg);
	}
	return -ENOENT;
}

void cli_apply_sched_opts(const cli_sched_opts *so, bool jobs_given, art_runtime_config *cfg)
{
	bool admission = so->admission < 0 ? !jobs_given : so->admission;
	if (admission) {
		cfg->flags |= ART_RT_ADMISSION;
		if (!jobs_given)
			cfg->max_running = ADMISSION_MAX_RUNNING;
	}
	if (so->preempt)
		cfg->flags |= ART_RT_PREEMPT;
	cfg->cpu_capacity = (int64_t)(so->capacity_cpus * 1000);
	cfg->memory_capacity = (int64_t)so->capacity_memory;
	cfg->pressure_psi_pct = so->pressure_limit;
	cfg->aging_step_ns = so->aging_ns;
	cfg->dep_history = so->dep_history;
}

int cli_apply_sched_settings(const cli_sched_opts *so, art_runtime *rt)
{
	for (size_t i = 0; i < so->n_settings; i++) {
		const cli_sched_setting *st = &so->settings[i];
		int r = -EINVAL;
		switch (st->opt) {
		case OPT_GROUP_WEIGHT:
			r = art_runtime_group_weight(rt, st->name, st->n);
			break;
		case OPT_GROUP_MAX:
			r = art_runtime_group_max_running(rt, st->name, st->n);
			break;
		case OPT_GROUP_RATE:
			r = art_runtime_group_rate(rt, st->name, st->rate, st->n);
			break;
		case OPT_KIND_MAX:
			r = art_runtime_kind_max_running(rt, st->name, st->n);
			break;
		case OPT_KIND_RATE:
			r = art_runtime_kind_rate(rt, st->name, st->rate, st->n);
			break;
		case OPT_BREAKER:
			r = art_runtime_set_breaker(rt, strcmp(st->name, "*") == 0 ? NULL : st->name,
						    st->n, st->min_runs, st->rate, st->open_ns, 1);
			break;
		}
		if (r < 0) {
			cli_error("%s %s: %s", opt_name(st->opt), st->name, strerror(-r));
			return r;
		}
	}
	return 0;
}

void cli_sched_opts_free(cli_sched_opts *so)
{
	for (size_t i = 0; i < so->n_settings; i++)
		free(so->settings[i].name);
	free(so->settings);
	so->settings = NULL;
	so->n_settings = 0;
}
