/* SPDX-License-Identifier: MIT */
/* agentrt run: one task in the foreground, exit status mirrored. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
	fputs("Usage: agentrt run [OPTIONS] -- CMD [ARGS...]\n"
	      "\n"
	      "Runs CMD as one task with stdin, stdout and stderr passed through, and\n"
	      "exits with its status: its exit code; 128+N if killed by signal N; 124 on\n"
	      "timeout; 125 if agentrt failed; 126 if CMD cannot be executed; 127 if not found.\n"
	      "Nothing CMD starts outlives it.\n"
	      "\n"
	      "Options:\n"
	      "  --timeout DUR        stop the task after DUR (30s, 250ms, 1.5m)\n"
	      "  --grace DUR          time between SIGTERM and SIGKILL when stopping (default 5s)\n"
	      "  --cpu-time DUR       CPU time limit (whole seconds)\n"
	      "  --address-space SIZE address-space limit (RLIMIT_AS)\n"
	      "  --nofile N           open files limit\n"
	      "  --nproc N            processes limit (per user, as the kernel counts it)\n"
	      "  --fsize SIZE         largest file the task may write\n"
	      "  --core SIZE          core dump size limit\n"
	      "  --env K=V            set a variable (repeatable)\n"
	      "  --clear-env          start from an empty environment\n"
	      "  --allow-env NAME     keep only these variables (repeatable; PREFIX* allowed)\n"
	      "  --cwd DIR            working directory\n"
	      "  --stdin-file FILE    read stdin from FILE\n"
	      "  --stdin-text TEXT    feed TEXT on stdin\n"
	      "  --no-stdin           stdin from /dev/null\n"
	      "  --session            talk JSON lines: each line of stdin must be a JSON object\n"
	      "                       and is sent to the task; its lines are printed as they\n"
	      "                       come; end of stdin ends the task's input (docs/sessions.md)\n"
	      "  --output-limit SIZE  kill the task once its output passes SIZE\n"
	      "  --on EVENT=CMD       run CMD on the task's EVENT (start, exit, restart, state)\n"
	      "                       with the event's JSON line on its stdin; hooks run one\n"
	      "                       at a time, in order; their output goes to stderr\n"
	      "\n"
	      "Supervision (docs/supervision.md):\n"
	      "  --restart POLICY     never (default), on-failure or always\n"
	      "  --max-restarts N     at most N restarts within the window (default 10), then\n"
	      "                       give up (exit status of the last run)\n"
	      "  --restart-window DUR the window (default 10m)\n"
	      "  --backoff KIND[:INITIAL[:MAX]]  fixed, linear or exponential (default\n"
	      "                       exponential:1s:60s)\n"
	      "  --success-exit-code N  an exit code that is no failure (repeatable)\n"
	      "  --health-cmd CMD     a shell command that checks the task (exit 0: healthy)\n"
	      "  --health-interval DUR, --health-timeout DUR, --health-retries N\n"
	      "                       every 10s, at most 5s each, unhealthy after 3 failures\n"
	      "  --notify             give the task $AGENTRT_NOTIFY_FD for READY=1, STATUS=...\n"
	      "  --watchdog DUR       stop the task when it sends no WATCHDOG=1 for DUR\n"
	      "\n"
	      "Isolation (docs/sandbox.md):\n"
	      "  --sandbox LEVEL      none, limits (a cgroup) or sandbox (namespaces, a\n"
	      "                       read-only view of the root, seccomp, no capabilities)\n"
	      "  --memory SIZE        memory limit of the task's cgroup (512M, 2G)\n"
	      "  --memory-high SIZE   throttle above SIZE\n"
	      "  --swap SIZE          swap allowed on top of --memory\n"
	      "  --cpus N             CPU quota in CPUs (0.5, 2)\n"
	      "  --cpu-weight N       CPU weight 1..10000 (default 100)\n"
	      "  --pids N             processes and threads\n"
	      "  --io-weight N        I/O weight 1..10000, where the kernel offers it\n"
	      "  --network none|host  a private network with only loopback (default), or the host's\n"
	      "  --hostname NAME      the sandbox's hostname (default agentrt)\n"
	      "  --rootfs DIR         DIR as the read-only root instead of the host's\n"
	      "  --bind SRC[:DST]     bind host path SRC at DST, writable\n"
	      "  --ro-bind SRC[:DST]  the same, read-only\n"
	      "  --tmpfs DST[:SIZE]   a tmpfs at DST\n"
	      "  --tmp-size SIZE      size of the private /tmp (default 64M)\n"
	      "  --workspace BASE[:DST]  a copy-on-write clone of BASE at DST (/workspace)\n"
	      "  --workspace-changes keep|list|discard  what happens to the changes (discard)\n"
	      "  --workspace-dir DIR  where workspace layers are made (/tmp/agentrt-UID)\n"
	      "  --seccomp PROFILE    default, strict or none\n"
	      "  --seccomp-allow A,B  system calls taken off the deny list\n"
	      "  --seccomp-deny A,B   system calls added to it\n"
	      "  --allow-userns       let the task make user namespaces\n"
	      "  --cap NAME           keep a capability (repeatable)\n"
	      "  --cgroup-parent DIR  where task cgroups are made\n"
	      "  --require-limits     fail instead of running when limits cannot be enforced\n"
	      "\n"
	      "  --json               print the result record (JSON) on stderr\n"
	      "  --result-file FILE   write the result record to FILE\n"
	      "  -q, --quiet          no messages from agentrt itself\n"
	      "  -h, --help           this help\n",
	      f);
}

enum {
	OPT_TIMEOUT = 256,
	OPT_GRACE,
	OPT_CPU_TIME,
	OPT_NOFILE,
	OPT_NPROC,
	OPT_FSIZE,
	OPT_CORE,
	OPT_ENV,
	OPT_CLEAR_ENV,
	OPT_ALLOW_ENV,
	OPT_CWD,
	OPT_STDIN_FILE,
	OPT_STDIN_TEXT,
	OPT_NO_STDIN,
	OPT_JSON,
	OPT_RESULT_FILE,
	OPT_SESSION,
};

static const struct option options[] = {
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "cpu-time", required_argument, NULL, OPT_CPU_TIME },
	{ "nofile", required_argument, NULL, OPT_NOFILE },
	{ "nproc", required_argument, NULL, OPT_NPROC },
	{ "fsize", required_argument, NULL, OPT_FSIZE },
	{ "core", required_argument, NULL, OPT_CORE },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "clear-env", no_argument, NULL, OPT_CLEAR_ENV },
	{ "allow-env", required_argument, NULL, OPT_ALLOW_ENV },
	{ "cwd", required_argument, NULL, OPT_CWD },
	{ "stdin-file", required_argument, NULL, OPT_STDIN_FILE },
	{ "stdin-text", required_argument, NULL, OPT_STDIN_TEXT },
	{ "no-stdin", no_argument, NULL, OPT_NO_STDIN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "result-file", required_argument, NULL, OPT_RESULT_FILE },
	{ "session", no_argument, NULL, OPT_SESSION },
	{ "on", required_argument, NULL, OPT_ON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	CLI_SANDBOX_OPTIONS,
	CLI_RUNTIME_OPTIONS,
	CLI_SUPERVISE_OPTIONS,
	{ 0 },
};

typedef struct run_state {
	art_task *task;
	int signal_received;
	cli_session *sess; /* --session */
	cli_hooks hooks;   /* --on EVENT=CMD */
} run_state;

static void on_message_cb(art_runtime *rt, art_task *task, const char *line, size_t len,
			  int is_json, const char *id, void *userdata)
{
	run_state *st = userdata;
	cli_session_on_message(rt, task, line, len, is_json, id, st->sess);
}

static void on_event_cb(art_runtime *rt, art_task *task, const char *line, void *userdata)
{
	run_state *st = userdata;
	cli_hooks_fire(&st->hooks, rt, task, line);
}

static void on_signal(art_runtime *rt, int fd, uint32_t events, void *userdata)
{
	(void)rt;
	(void)events;
	run_state *st = userdata;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		/* A second signal while stopping escalates to SIGKILL (cancel
		 * of a stopping task). */
		st->signal_received = (int)si.ssi_signo;
		if (st->task)
			art_task_cancel(st->task);
	}
}

static int set_limit(art_spec *spec, art_limit which, const char *opt, const char *arg)
{
	uint64_t v;
	int r;
	switch (which) {
	case ART_LIMIT_CPU_TIME: {
		int64_t ns;
		if ((r = cli_parse_duration(opt, arg, &ns)) < 0)
			return r;
		/* RLIMIT_CPU counts whole seconds: round up, at least one. */
		v = (uint64_t)((ns + 999999999) / 1000000000);
		v = v ? v : 1;
		break;
	}
	case ART_LIMIT_NOFILE:
	case ART_LIMIT_NPROC:
		if ((r = cli_parse_uint(opt, arg, &v)) < 0)
			return r;
		break;
	default:
		if ((r = cli_parse_size(opt, arg, &v)) < 0)
			return r;
	}
	return art_spec_set_limit(spec, which, v);
}

static int write_record(const art_spec *spec, const art_result *res, const char *path)
{
	char *json = NULL;
	int r = art_result_to_json(spec, res, 1, &json);
	if (r < 0) {
		cli_error("cannot format the result: %s", strerror(-r));
		return r;
	}
	FILE *f = path ? fopen(path, "we") : stderr;
	if (!f) {
		r = -errno;
		cli_error("%s: %s", path, strerror(errno));
		free(json);
		return r;
	}
	fprintf(f, "%s\n", json);
	if (path)
		fclose(f);
	free(json);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	art_spec *spec = NULL;
	art_runtime *rt = NULL;
	run_state st = { 0 };
	int ret = EXIT_AGENTRT_FAILED, sfd = -1, r = 0;
	bool json = false, session = false;
	const char *result_file = NULL, *stdin_opt = NULL;
	cli_session *sess = NULL;
	cli_runtime_opts ro = { 0 };
	cli_supervise_opts sup = { 0 };
	const char *ws_arg = NULL;
	art_workspace_changes ws_changes = ART_WORKSPACE_DISCARD;
	bool said_unenforced = false;

	if (art_spec_new(&spec) < 0) {
		cli_error("out of memory");
		return EXIT_AGENTRT_FAILED;
	}
	art_spec_set_stdin(spec, ART_STDIN_INHERIT, NULL, 0, NULL);
	art_spec_set_output(spec, ART_STREAM_STDOUT, ART_OUTPUT_INHERIT, 0, NULL, 0);
	art_spec_set_output(spec, ART_STREAM_STDERR, ART_OUTPUT_INHERIT, 0, NULL, 0);

	int c;
	optind = 1;
	opterr = 0; /* our own messages, with the agentrt: prefix */
	/* '+': options end at the first non-option, so CMD's own options are
	 * never taken for ours even without "--". */
	while (r >= 0 && (c = getopt_long(argc, argv, "+qh", options, NULL)) != -1) {
		const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "";
		unsigned errors_before = cli_errors;
		int64_t ns;
		switch (c) {
		case OPT_TIMEOUT:
			if ((r = cli_parse_duration("--timeout", optarg, &ns)) == 0)
				r = art_spec_set_timeout(spec, ns);
			break;
		case OPT_GRACE:
			if ((r = cli_parse_duration("--grace", optarg, &ns)) == 0)
				r = art_spec_set_grace(spec, ns);
			break;
		case OPT_CPU_TIME:
			r = set_limit(spec, ART_LIMIT_CPU_TIME, "--cpu-time", optarg);
			break;
		case OPT_NOFILE:
			r = set_limit(spec, ART_LIMIT_NOFILE, "--nofile", optarg);
			break;
		case OPT_NPROC:
			r = set_limit(spec, ART_LIMIT_NPROC, "--nproc", optarg);
			break;
		case OPT_FSIZE:
			r = set_limit(spec, ART_LIMIT_FILE_SIZE, "--fsize", optarg);
			break;
		case OPT_CORE:
			r = set_limit(spec, ART_LIMIT_CORE, "--core", optarg);
			break;
		case OPT_ENV: {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg) {
				cli_error("--env: \"%s\" is not NAME=VALUE", optarg);
				r = -EINVAL;
				break;
			}
			*eq = 0;
			r = art_spec_env_set(spec, optarg, eq + 1);
			*eq = '=';
			break;
		}
		case OPT_CLEAR_ENV:
			r = art_spec_set_env_mode(spec, ART_ENV_CLEAR);
			break;
		case OPT_ALLOW_ENV:
			if ((r = art_spec_set_env_mode(spec, ART_ENV_ALLOW)) == 0)
				r = art_spec_env_allow(spec, optarg);
			break;
		case OPT_CWD:
			r = art_spec_set_cwd(spec, optarg);
			break;
		case OPT_STDIN_FILE:
			stdin_opt = name;
			r = art_spec_set_stdin(spec, ART_STDIN_FILE, NULL, 0, optarg);
			break;
		case OPT_STDIN_TEXT:
			stdin_opt = name;
			r = art_spec_set_stdin(spec, ART_STDIN_BYTES, optarg, strlen(optarg), NULL);
			break;
		case OPT_NO_STDIN:
			stdin_opt = name;
			r = art_spec_set_stdin(spec, ART_STDIN_NULL, NULL, 0, NULL);
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_RESULT_FILE:
			result_file = optarg;
			break;
		case OPT_SESSION:
			session = true;
			break;
		case OPT_ON:
			r = cli_hook_add(&st.hooks, optarg);
			break;
		case 'q':
			cli_quiet = true;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		case OPT_WORKSPACE:
			ws_arg = optarg;
			break;
		case OPT_WORKSPACE_CHANGES:
			if (strcmp(optarg, "keep") == 0)
				ws_changes = ART_WORKSPACE_KEEP;
			else if (strcmp(optarg, "list") == 0)
				ws_changes = ART_WORKSPACE_LIST;
			else if (strcmp(optarg, "discard") == 0)
				ws_changes = ART_WORKSPACE_DISCARD;
			else {
				cli_error("--workspace-changes: \"%s\" is not keep, list or discard",
					  optarg);
				r = -EINVAL;
			}
			break;
		default:
			r = cli_sandbox_option(spec, c, optarg);
			if (r == -ENOENT)
				r = cli_runtime_option(&ro, c, optarg);
			if (r == -ENOENT)
				r = cli_supervise_option(spec, &sup, c, optarg);
			if (r == -ENOENT) {
				cli_bad_option("run", argc, argv);
				r = -EINVAL;
			}
		}
		/* Parsers say what was wrong themselves; the setters do not. */
		if (r < 0 && cli_errors == errors_before)
			cli_error("%s: invalid value \"%s\" (%s)", name, optarg ? optarg : "",
				  strerror(-r));
	}
	if (r == 0)
		r = cli_apply_supervise_opts(spec, &sup);
	if (r == 0 && ws_arg) {
		char *base = strdup(ws_arg), *colon = base ? strchr(base, ':') : NULL;
		if (colon)
			*colon = 0;
		r = base ? art_spec_set_workspace(spec, base, colon ? colon + 1 : NULL, ws_changes)
			 : -ENOMEM;
		if (r < 0)
			cli_error("--workspace: \"%s\": paths must be absolute (BASE[:DST])", ws_arg);
		free(base);
	}
	if (r < 0)
		goto out;
	if (optind >= argc) {
		cli_error("run: no command given (usage: agentrt run [OPTIONS] -- CMD [ARGS...])");
		goto out;
	}
	if ((r = art_spec_set_argv(spec, (const char *const *)argv + optind)) < 0) {
		cli_error("run: invalid command: %s", strerror(-r));
		goto out;
	}
	art_spec_set_id(spec, "run");
	if (session) {
		if (stdin_opt) {
			cli_error("run: %s and --session: the session reads stdin itself", stdin_opt);
			goto out;
		}
		art_spec_set_session(spec, 1);
		if ((r = cli_session_new(&sess)) < 0) {
			cli_error("run: --session: %s", strerror(-r));
			goto out;
		}
	}

	sigset_t sigs;
	sfd = cli_signalfd(&sigs);
	if (sfd < 0) {
		cli_error("signalfd: %s", strerror(errno));
		goto out;
	}
	art_runtime_config cfg = {
		/* The task, and its hooks one at a time (their own group). */
		.max_running = st.hooks.n ? 2 : 1,
		.flags = ART_RT_KILL_ORPHANS,
		.task_nofile_default = cli_raise_nofile(),
		.on_event = st.hooks.n ? on_event_cb : NULL,
		.userdata = &st,
	};
	cli_apply_runtime_opts(&ro, &cfg);
	st.sess = sess;
	if (sess)
		cfg.on_message = on_message_cb;
	art_error err = { 0 };
	if ((r = art_runtime_new(&cfg, &rt, &err)) < 0) {
		cli_error("%s", err.msg);
		goto out;
	}
	if ((r = cli_hooks_setup(&st.hooks, rt)) < 0 ||
	    (r = art_runtime_watch_fd(rt, sfd, EPOLLIN, on_signal, &st)) < 0 ||
	    (r = art_runtime_submit(rt, spec, NULL, &st.task, &err)) < 0) {
		cli_error("%s", r == err.code ? err.msg : strerror(-r));
		goto out;
	}
	if (sess && (r = cli_session_start(sess, rt, st.task)) < 0) {
		cli_error("run: --session: %s", strerror(-r));
		goto out;
	}
	art_runtime_finish(rt);
	if ((r = art_runtime_run(rt)) < 0) {
		cli_error("event loop: %s", strerror(-r));
		goto out;
	}

	const art_result *res = art_task_result(st.task);
	if (!res) {
		cli_error("internal error: the task did not end");
		goto out;
	}
	cli_report_unenforced(rt, res, &said_unenforced);
	char msg[ART_ERROR_MSG_MAX];
	if (res->end == ART_END_START_FAILED) {
		cli_describe_start_failure(spec, res, msg, sizeof(msg));
		cli_error("%s", msg);
	} else if (art_result_message(res, msg, sizeof(msg))) {
		cli_error("%s", msg);
	} else if (res->end == ART_END_TIMEOUT) {
		cli_error("timed out after %.3fs%s", (double)res->wall_ns / 1e9,
			  res->term_signal == SIGKILL ? " (killed after the grace)" : "");
	}
	ret = art_result_exit_status(res);
	/* Stopped because we were told to: exit as that signal would have. */
	if (res->end == ART_END_CANCELLED && st.signal_received)
		ret = 128 + st.signal_received;
	if ((json || result_file) && write_record(spec, res, result_file) < 0)
		ret = EXIT_AGENTRT_FAILED;
out:
	cli_session_free(sess); /* its reader sends to the task: before the runtime goes */
	if (st.task)
		art_task_unref(st.task);
	art_runtime_free(rt);
	cli_hooks_free(&st.hooks);
	if (sfd >= 0)
		close(sfd);
	art_spec_free(spec);
	return ret;
}
