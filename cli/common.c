/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#include "cli.h"

bool cli_quiet;
unsigned cli_errors;

void cli_error(const char *fmt, ...)
{
	cli_errors++;
	if (cli_quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("agentrt: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_bad_option(const char *cmd, int argc, char **argv)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
	if (optopt && optopt < 256)
		cli_error("%s: invalid option or missing argument: -%c", cmd, optopt);
	else
		cli_error("%s: unrecognized option or missing argument: %s", cmd, arg);
}

int cli_parse_duration(const char *opt, const char *text, int64_t *ns)
{
	int r = art_parse_duration(text, ns);
	if (r < 0)
		cli_error("%s: \"%s\" is not a duration (examples: 30s, 250ms, 1.5m)", opt, text);
	return r;
}

int cli_parse_size(const char *opt, const char *text, uint64_t *bytes)
{
	int r = art_parse_size(text, bytes);
	if (r < 0)
		cli_error("%s: \"%s\" is not a size (examples: 512M, 1.5G, 64k)", opt, text);
	return r;
}

int cli_parse_uint(const char *opt, const char *text, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (!text[0] || *end || errno || text[0] == '-') {
		cli_error("%s: \"%s\" is not a non-negative integer", opt, text);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

uint64_t cli_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	uint64_t original = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return 0;
	}
	return original;
}

int cli_signalfd(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	if (pthread_sigmask(SIG_BLOCK, set, NULL) != 0)
		return -1;
	return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

void cli_describe_start_failure(const art_spec *spec, const art_result *res, char *buf,
				size_t len)
{
	const char *const *argv = art_spec_argv(spec);
	const char *what = argv && argv[0] ? argv[0] : "?";
	const char *prefix = "";
	if (res->start_stage == ART_STAGE_CHDIR && art_spec_cwd(spec)) {
		prefix = "cwd ";
		what = art_spec_cwd(spec);
	} else if (res->start_stage == ART_STAGE_STDIN && art_spec_stdin_path(spec)) {
		prefix = "stdin ";
		what = art_spec_stdin_path(spec);
	} else if (res->start_stage == ART_STAGE_STDOUT || res->start_stage == ART_STAGE_STDERR) {
		int stream = res->start_stage == ART_STAGE_STDOUT ? ART_STREAM_STDOUT
								   : ART_STREAM_STDERR;
		if (art_spec_output_path(spec, stream)) {
			prefix = stream == ART_STREAM_STDOUT ? "stdout " : "stderr ";
			what = art_spec_output_path(spec, stream);
		}
	}
	if (res->start_detail[0]) {
		/* EOPNOTSUPP: the detail is the whole story (limits that
		 * cannot be enforced under --require-limits). */
		if (res->start_errno == EOPNOTSUPP ||
		    strstr(res->start_detail, strerror(res->start_errno)))
			snprintf(buf, len, "%s (%s)", res->start_detail,
				 art_stage_name(res->start_stage));
		else
			snprintf(buf, len, "%s: %s (%s)", res->start_detail,
				 strerror(res->start_errno), art_stage_name(res->start_stage));
		return;
	}
	snprintf(buf, len, "%s%s: %s (%s)", prefix, what, strerror(res->start_errno),
		 art_stage_name(res->start_stage));
}

long cli_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int cli_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;
}
