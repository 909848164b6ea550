/* SPDX-License-Identifier: MIT */
/* Names and exit statuses for art_result. */
#include <agentrt.h>

#include <errno.h>

const char *art_end_name(art_end end)
{
	switch (end) {
	case ART_END_NONE:
		return "none";
	case ART_END_EXITED:
		return "exited";
	case ART_END_SIGNALED:
		return "signaled";
	case ART_END_TIMEOUT:
		return "timeout";
	case ART_END_CANCELLED:
		return "cancelled";
	case ART_END_START_FAILED:
		return "start_failed";
	}
	return "unknown";
}

const char *art_stage_name(art_stage stage)
{
	switch (stage) {
	case ART_STAGE_NONE:
		return "none";
	case ART_STAGE_PREPARE:
		return "prepare";
	case ART_STAGE_CLONE:
		return "clone";
	case ART_STAGE_SETSID:
		return "setsid";
	case ART_STAGE_STDIO:
		return "stdio";
	case ART_STAGE_RLIMIT:
		return "rlimit";
	case ART_STAGE_PRCTL:
		return "prctl";
	case ART_STAGE_CHDIR:
		return "chdir";
	case ART_STAGE_SIGNALS:
		return "signals";
	case ART_STAGE_EXEC:
		return "exec";
	case ART_STAGE_STDIN:
		return "stdin";
	case ART_STAGE_STDOUT:
		return "stdout";
	case ART_STAGE_STDERR:
		return "stderr";
	}
	return "unknown";
}

/* timeout(1)'s convention: 127 when the command is not there, 126 when it
 * is there but cannot be run, 125 when the runner itself failed. */
static int start_failure_status(const art_result *r)
{
	if (r->start_stage != ART_STAGE_EXEC)
		return 125;
	switch (r->start_errno) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
	case ELOOP:
		return 127;
	case EACCES:
	case EPERM:
	case ENOEXEC:
	case EISDIR:
	case ETXTBSY:
	case ELIBBAD:
	case E2BIG:
		return 126;
	default:
		return 125;
	}
}

int art_result_exit_status(const art_result *r)
{
	switch (r->end) {
	case ART_END_EXITED:
		return r->exit_code;
	case ART_END_SIGNALED:
		return 128 + r->term_signal;
	case ART_END_TIMEOUT:
		return 124;
	case ART_END_CANCELLED:
		return r->term_signal ? 128 + r->term_signal : 130;
	case ART_END_START_FAILED:
		return start_failure_status(r);
	case ART_END_NONE:
		break;
	}
	/* Not ended: the runner has nothing better to report. */
	return 125;
}

int art_result_ok(const art_result *r)
{
	return r->end == ART_END_EXITED && r->exit_code == 0;
}
