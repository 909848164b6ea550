/* SPDX-License-Identifier: MIT */
/* Supervision options of `agentrt run` (docs/supervision.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_supervise_option(art_spec *spec, cli_supervise_opts *so, int opt, const char *arg)
{
	uint64_t v;
	int64_t ns;
	switch (opt) {
	case OPT_RESTART:
		so->policy = arg;
		return 0;
	case OPT_MAX_RESTARTS:
		if (cli_parse_uint("--max-restarts", arg, &v) < 0 || v > 1024) {
			if (v > 1024)
				cli_error("--max-restarts: at most 1024");
			return -EINVAL;
		}
		so->max_restarts = (unsigned)v;
		so->max_restarts_set = true;
		return 0;
	case OPT_RESTART_WINDOW:
		return cli_parse_duration("--restart-window", arg, &so->window_ns);
	case OPT_BACKOFF:
		so->backoff = arg;
		return 0;
	case OPT_SUCCESS_EXIT:
		if (cli_parse_uint("--success-exit-code", arg, &v) < 0 || v > 255 ||
		    art_spec_add_success_exit_code(spec, (int)v) < 0) {
			cli_error("--success-exit-code: \"%s\" is not an exit code (0 to 255)", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_HEALTH_CMD:
		so->health_cmd = arg;
		return 0;
	case OPT_HEALTH_INTERVAL:
		return cli_parse_duration("--health-interval", arg, &so->health_interval_ns);
	case OPT_HEALTH_TIMEOUT:
		return cli_parse_duration("--health-timeout", arg, &so->health_timeout_ns);
	case OPT_HEALTH_RETRIES:
		if (cli_parse_uint("--health-retries", arg, &v) < 0 || v == 0 || v > 1000) {
			if (v == 0 || v > 1000)
				cli_error("--health-retries: 1 to 1000");
			return -EINVAL;
		}
		so->health_failures = (unsigned)v;
		return 0;
	case OPT_WATCHDOG:
		if (cli_parse_duration("--watchdog", arg, &ns) < 0)
			return -EINVAL;
		return art_spec_set_watchdog(spec, ns) < 0 ? -EINVAL : 0;
	case OPT_NOTIFY:
		return art_spec_set_notify(spec, 1);
	}
	return -ENOENT;
}

int cli_apply_supervise_opts(art_spec *spec, const cli_supervise_opts *so)
{
	if (so->policy || so->max_restarts_set || so->window_ns) {
		const char *policy = so->policy ? so->policy : "on-failure";
		if (art_spec_set_restart(spec, policy, so->max_restarts_set ? so->max_restarts : 10,
					 so->window_ns) < 0) {
			cli_error("--restart: \"%s\" is not one of never, on-failure, always", policy);
			return -EINVAL;
		}
	}
	if (so->backoff && art_spec_set_backoff(spec, so->backoff, 0.1) < 0) {
		cli_error("--backoff: \"%s\" is not KIND[:INITIAL[:MAX]] (fixed, linear, exponential)",
			  so->backoff);
		return -EINVAL;
	}
	if (so->health_cmd) {
		const char *argv[] = { "/bin/sh", "-c", so->health_cmd, NULL };
		if (art_spec_set_health(spec, argv, so->health_interval_ns, so->health_timeout_ns,
					so->health_failures) < 0) {
			cli_error("--health-cmd: cannot use \"%s\"", so->health_cmd);
			return -EINVAL;
		}
	} else if (so->health_interval_ns || so->health_timeout_ns || so->health_failures) {
		cli_error("--health-interval, --health-timeout and --health-retries need --health-cmd");
		return -EINVAL;
	}
	return 0;
}
