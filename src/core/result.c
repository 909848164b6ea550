/* SPDX-License-Identifier: MIT */
/* Names and exit statuses for art_result. */
#include <agentrt.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

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
	case ART_END_OOM_KILLED:
		return "oom_killed";
	case ART_END_SECCOMP:
		return "seccomp";
	case ART_END_LIMIT:
		return "limit";
	case ART_END_SKIPPED:
		return "skipped";
	case ART_END_GAVE_UP:
		return "gave_up";
	case ART_END_CIRCUIT_OPEN:
		return "circuit_open";
	case ART_END_UNHEALTHY:
		return "unhealthy";
	case ART_END_WATCHDOG:
		return "watchdog";
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
	case ART_STAGE_CGROUP:
		return "cgroup";
	case ART_STAGE_USERNS:
		return "userns";
	case ART_STAGE_NAMESPACE:
		return "namespace";
	case ART_STAGE_HOSTNAME:
		return "hostname";
	case ART_STAGE_NETWORK:
		return "network";
	case ART_STAGE_MOUNT:
		return "mount";
	case ART_STAGE_PIVOT:
		return "pivot_root";
	case ART_STAGE_CAPS:
		return "capabilities";
	case ART_STAGE_SECCOMP:
		return "seccomp";
	case ART_STAGE_WORKSPACE:
		return "workspace";
	case ART_STAGE_SANDBOX:
		return "sandbox";
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
	case ART_END_OOM_KILLED:
		return 128 + SIGKILL;
	case ART_END_SECCOMP:
		return 128 + SIGSYS;
	case ART_END_LIMIT:
		if (r->term_signal)
			return 128 + r->term_signal;
		return r->exit_code > 0 ? r->exit_code : 1;
	case ART_END_SKIPPED:
	case ART_END_CIRCUIT_OPEN:
		/* It never ran: like a start failure, the command is not to blame. */
		return 125;
	case ART_END_GAVE_UP:
	case ART_END_UNHEALTHY:
	case ART_END_WATCHDOG:
		/* How its last run ended. */
		if (r->term_signal)
			return 128 + r->term_signal;
		return r->exit_code > 0 ? r->exit_code : 1;
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

const char *art_limit_name(art_limit limit)
{
	static const char *const names[ART_LIMIT__COUNT] = {
		[ART_LIMIT_ADDRESS_SPACE] = "address_space",
		[ART_LIMIT_CPU_TIME] = "cpu_time",
		[ART_LIMIT_NOFILE] = "nofile",
		[ART_LIMIT_NPROC] = "nproc",
		[ART_LIMIT_FILE_SIZE] = "file_size",
		[ART_LIMIT_CORE] = "core",
		[ART_LIMIT_MEMORY] = "memory",
		[ART_LIMIT_MEMORY_HIGH] = "memory_high",
		[ART_LIMIT_SWAP] = "swap",
		[ART_LIMIT_CPU] = "cpu",
		[ART_LIMIT_CPU_WEIGHT] = "cpu_weight",
		[ART_LIMIT_PIDS] = "pids",
		[ART_LIMIT_IO_WEIGHT] = "io_weight",
		[ART_LIMIT_OUTPUT] = "output",
	};
	return (unsigned)limit < ART_LIMIT__COUNT ? names[limit] : "unknown";
}

const char *art_result_message(const art_result *r, char *buf, size_t len)
{
	switch (r->end) {
	case ART_END_OOM_KILLED:
		snprintf(buf, len, "killed by the OOM killer: the task's memory limit was reached");
		return buf;
	case ART_END_SECCOMP:
		snprintf(buf, len, "killed: system call %s is not allowed in the sandbox (seccomp)",
			 r->seccomp_syscall[0] ? r->seccomp_syscall : "?");
		return buf;
	case ART_END_LIMIT:
		switch (r->limit) {
		case ART_LIMIT_CPU_TIME:
			snprintf(buf, len, "killed: the CPU time limit was reached");
			break;
		case ART_LIMIT_PIDS:
			snprintf(buf, len, "failed: the process limit (pids) was reached, fork was refused");
			break;
		case ART_LIMIT_FILE_SIZE:
			snprintf(buf, len, "killed: the file size limit was reached");
			break;
		case ART_LIMIT_OUTPUT:
			snprintf(buf, len, "killed: the output limit was exceeded");
			break;
		default:
			snprintf(buf, len, "stopped: the %s limit was reached", art_limit_name(r->limit));
			break;
		}
		return buf;
	case ART_END_START_FAILED:
		if (r->start_detail[0])
			snprintf(buf, len, "%s failed: %s: %s", art_stage_name(r->start_stage),
				 r->start_detail, strerror(r->start_errno));
		else
			snprintf(buf, len, "%s failed: %s", art_stage_name(r->start_stage),
				 strerror(r->start_errno));
		return buf;
	case ART_END_SKIPPED:
		if (r->skip_reason)
			snprintf(buf, len, "skipped: %s", r->skip_reason);
		else
			snprintf(buf, len, "skipped");
		return buf;
	case ART_END_GAVE_UP:
		snprintf(buf, len, "gave up after %u restarts: too many within the restart window",
			 r->restarts);
		return buf;
	case ART_END_CIRCUIT_OPEN:
		snprintf(buf, len, "not started: the circuit breaker of its kind is open");
		return buf;
	case ART_END_UNHEALTHY:
		snprintf(buf, len, "stopped: its health check failed");
		return buf;
	case ART_END_WATCHDOG:
		snprintf(buf, len, "stopped: it sent no WATCHDOG=1 within its watchdog time");
		return buf;
	case ART_END_NONE:
	case ART_END_EXITED:
	case ART_END_SIGNALED:
	case ART_END_TIMEOUT:
	case ART_END_CANCELLED:
		break;
	}
	return NULL;
}
