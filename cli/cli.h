/* SPDX-License-Identifier: MIT */
/* What the command files share: one file per command, each a thin client
 * of libagentrt (crun's layout). */
#ifndef AGENTRT_CLI_H
#define AGENTRT_CLI_H

#include <agentrt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit codes of agentrt itself, as timeout(1) and systemd-run use them. */
#define EXIT_AGENTRT_FAILED 125
#define EXIT_USAGE_BATCH 2

int cmd_run(int argc, char **argv);
int cmd_batch(int argc, char **argv);

extern bool cli_quiet;
extern unsigned cli_errors; /* messages printed so far */

/* One line on stderr, "agentrt: ...". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* After getopt_long returned '?' (with opterr = 0): one line saying why. */
void cli_bad_option(const char *cmd, int argc, char **argv);

int cli_parse_duration(const char *opt, const char *text, int64_t *ns);
int cli_parse_size(const char *opt, const char *text, uint64_t *bytes);
int cli_parse_uint(const char *opt, const char *text, uint64_t *out);

/* Raises our own soft RLIMIT_NOFILE to the hard limit (many tasks mean many
 * pidfds and pipes) and returns the original soft limit, which tasks get. */
uint64_t cli_raise_nofile(void);

/* Blocks the signals agentrt handles itself in every thread (call before
 * starting threads) and returns a signalfd for them. */
int cli_signalfd(sigset_t *set);

/* The line a start failure deserves: "/nope: No such file or directory (exec)". */
void cli_describe_start_failure(const art_spec *spec, const art_result *res, char *buf,
				size_t len);

long cli_rss_kb(void);
int cli_fd_count(void);

#endif
