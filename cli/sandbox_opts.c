/* SPDX-License-Identifier: MIT */
/* The isolation options `run` takes (and the runtime-wide ones `batch`
 * takes too): each maps onto one art_spec setter or runtime setting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int parse_level(const char *arg, art_sandbox_level *out)
{
	static const char *const names[] = { "none", "limits", "sandbox" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(arg, names[i]) == 0) {
			*out = (art_sandbox_level)i;
			return 0;
		}
	cli_error("--sandbox: \"%s\" is not a level (none, limits, sandbox)", arg);
	return -EINVAL;
}

/* "SRC[:DST]" */
static int add_bind(art_spec *spec, const char *opt, const char *arg, int writable)
{
	char *copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	char *colon = strchr(copy, ':');
	const char *dst = copy;
	if (colon) {
		*colon = 0;
		dst = colon + 1;
	}
	int r = -EINVAL;
	if (copy[0] != '/' || dst[0] != '/')
		cli_error("%s: \"%s\": paths must be absolute (SRC[:DST])", opt, arg);
	else
		r = art_spec_add_bind(spec, copy, dst, writable);
	free(copy);
	return r;
}

static int add_tmpfs(art_spec *spec, const char *arg)
{
	char *copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	char *colon = strchr(copy, ':');
	uint64_t size = 0;
	int r = 0;
	if (colon) {
		*colon = 0;
		r = cli_parse_size("--tmpfs", colon + 1, &size);
	}
	if (r == 0 && copy[0] != '/') {
		cli_error("--tmpfs: \"%s\": the target must be absolute (DST[:SIZE])", arg);
		r = -EINVAL;
	}
	if (r == 0)
		r = art_spec_add_tmpfs(spec, copy, size);
	free(copy);
	return r;
}

/* "a,b,c" */
static int each_name(art_spec *spec, const char *arg, int (*fn)(art_spec *, const char *))
{
	char *copy = strdup(arg), *save = NULL;
	if (!copy)
		return -ENOMEM;
	int r = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok && r == 0; tok = strtok_r(NULL, ",", &save))
		r = fn(spec, tok);
	free(copy);
	return r;
}

static int set_cpus(art_spec *spec, const char *arg)
{
	char *end;
	double d = strtod(arg, &end);
	if (end == arg || *end || !(d >= 0.001) || d > 1e6) {
		cli_error("--cpus: \"%s\" is not a number of CPUs (0.5, 2)", arg);
		return -EINVAL;
	}
	return art_spec_set_limit(spec, ART_LIMIT_CPU, (uint64_t)(d * 1000 + 0.5));
}

static int set_count(art_spec *spec, art_limit which, const char *opt, const char *arg)
{
	uint64_t v;
	int r = cli_parse_uint(opt, arg, &v);
	return r < 0 ? r : art_spec_set_limit(spec, which, v);
}

static int set_size(art_spec *spec, art_limit which, const char *opt, const char *arg)
{
	uint64_t v;
	int r = cli_parse_size(opt, arg, &v);
	return r < 0 ? r : art_spec_set_limit(spec, which, v);
}

int cli_runtime_option(cli_runtime_opts *ro, int opt, const char *arg)
{
	switch (opt) {
	case OPT_CGROUP_PARENT:
		ro->cgroup_parent = arg;
		return 0;
	case OPT_REQUIRE_LIMITS:
		ro->require_limits = true;
		return 0;
	case OPT_WORKSPACE_DIR:
		ro->workspace_dir = arg;
		return 0;
	}
	return -ENOENT;
}

int cli_sandbox_option(art_spec *spec, int opt, const char *arg)
{
	art_sandbox_level level;
	int r;
	switch (opt) {
	case OPT_SANDBOX:
		if ((r = parse_level(arg, &level)) < 0)
			return r;
		return art_spec_set_sandbox(spec, level);
	case OPT_NETWORK:
		if (strcmp(arg, "none") != 0 && strcmp(arg, "host") != 0) {
			cli_error("--network: \"%s\" is not none or host", arg);
			return -EINVAL;
		}
		return art_spec_set_network_host(spec, strcmp(arg, "host") == 0);
	case OPT_HOSTNAME:
		return art_spec_set_hostname(spec, arg);
	case OPT_ROOTFS:
		return art_spec_set_rootfs(spec, arg);
	case OPT_BIND:
		return add_bind(spec, "--bind", arg, 1);
	case OPT_RO_BIND:
		return add_bind(spec, "--ro-bind", arg, 0);
	case OPT_TMPFS:
		return add_tmpfs(spec, arg);
	case OPT_TMP_SIZE: {
		uint64_t v;
		if ((r = cli_parse_size("--tmp-size", arg, &v)) < 0)
			return r;
		return art_spec_set_tmp_size(spec, v);
	}
	case OPT_SECCOMP:
		if (art_spec_set_seccomp(spec, arg) < 0) {
			cli_error("--seccomp: \"%s\" is not a profile (default, strict, none)", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_SECCOMP_ALLOW:
		return each_name(spec, arg, art_spec_seccomp_allow);
	case OPT_SECCOMP_DENY:
		return each_name(spec, arg, art_spec_seccomp_deny);
	case OPT_ALLOW_USERNS:
		return art_spec_set_allow_userns(spec, 1);
	case OPT_CAP:
		if ((r = each_name(spec, arg, art_spec_add_cap)) < 0)
			cli_error("--cap: \"%s\": unknown capability", arg);
		return r;
	case OPT_MEMORY:
		return set_size(spec, ART_LIMIT_MEMORY, "--memory", arg);
	case OPT_MEMORY_HIGH:
		return set_size(spec, ART_LIMIT_MEMORY_HIGH, "--memory-high", arg);
	case OPT_SWAP:
		return set_size(spec, ART_LIMIT_SWAP, "--swap", arg);
	case OPT_CPUS:
		return set_cpus(spec, arg);
	case OPT_CPU_WEIGHT:
		return set_count(spec, ART_LIMIT_CPU_WEIGHT, "--cpu-weight", arg);
	case OPT_PIDS:
		return set_count(spec, ART_LIMIT_PIDS, "--pids", arg);
	case OPT_IO_WEIGHT:
		return set_count(spec, ART_LIMIT_IO_WEIGHT, "--io-weight", arg);
	case OPT_ADDRESS_SPACE:
		return set_size(spec, ART_LIMIT_ADDRESS_SPACE, "--address-space", arg);
	case OPT_OUTPUT_LIMIT:
		return set_size(spec, ART_LIMIT_OUTPUT, "--output-limit", arg);
	}
	return -ENOENT;
}

void cli_apply_runtime_opts(const cli_runtime_opts *ro, art_runtime_config *cfg)
{
	cfg->cgroup_parent = ro->cgroup_parent;
	cfg->workspace_dir = ro->workspace_dir;
	if (ro->require_limits)
		cfg->flags |= ART_RT_REQUIRE_LIMITS;
}

/* Says once per run why limits were not enforced, naming them. */
void cli_report_unenforced(art_runtime *rt, const art_result *res, bool *said)
{
	/* With --require-limits the task did not run: its failure says why. */
	if (!res->unenforced || *said || res->end == ART_END_START_FAILED)
		return;
	*said = true;
	char names[256] = "";
	for (int i = 0; i < ART_LIMIT__COUNT; i++)
		if (res->unenforced & (1u << i)) {
			size_t len = strlen(names);
			snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "",
				 art_limit_name((art_limit)i));
		}
	const char *why = art_runtime_limits_diagnostic(rt);
	cli_error("warning: limits not enforced (%s): %s; running with rlimits only "
		  "(--require-limits makes this an error)",
		  names, why ? why : "no cgroup for this level");
}
