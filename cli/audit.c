/* SPDX-License-Identifier: MIT */
/*
 * agentrt batch --audit FILE: one JSON line per task, appended with one
 * write(2) (so lines of concurrent writers never mix) before the task's
 * result record is written, so that a record never exists without its
 * audit line.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct cli_audit {
	int fd;
	bool sync;
	int error;            /* the first write error, -errno */
	json_t *requested_by; /* the same for every line */
};

static json_t *requested_by(void)
{
	uid_t uid = getuid();
	struct passwd *pw = getpwuid(uid);
	const char *sudo_user = getenv("SUDO_USER");
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "user", pw ? json_string(pw->pw_name) : json_null()) < 0 ||
	    json_object_set_new(o, "uid", json_integer(uid)) < 0 ||
	    (sudo_user && *sudo_user &&
	     json_object_set_new(o, "sudo_user", json_string(sudo_user)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int cli_audit_open(const char *path, bool sync, cli_audit **out)
{
	cli_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->sync = sync;
	a->requested_by = requested_by();
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (a->fd < 0 || !a->requested_by) {
		int r = a->fd < 0 ? -errno : -ENOMEM;
		cli_audit_close(a);
		return r;
	}
	*out = a;
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes o as one line, "ts" first. Takes o. */
static int emit(cli_audit *a, json_t *o)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char *rest = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	char *line = NULL;
	int n = rest ? asprintf(&line, "{\"ts\":%lld.%06ld,%s\n", (long long)ts.tv_sec,
				ts.tv_nsec / 1000, rest + 1)
		     : -1;
	free(rest);
	int r = n < 0 ? -ENOMEM : write_all(a->fd, line, (size_t)n);
	free(line);
	if (r == 0 && a->sync && fdatasync(a->fd) < 0 && errno != EINVAL)
		r = -errno;
	if (r < 0 && !a->error)
		a->error = r;
	return r;
}

static json_t *common(cli_audit *a, size_t line, const char *id, const char *sha)
{
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "id", id ? json_string(id) : json_null()) < 0 ||
	    json_object_set_new(o, "line", json_integer((json_int_t)line)) < 0 ||
	    json_object_set_new(o, "spec_sha256", json_string(sha)) < 0 ||
	    json_object_set(o, "requested_by", a->requested_by) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int cli_audit_task(cli_audit *a, size_t line, const char *id, const char *sha,
		   const art_result *res)
{
	static const char *const levels[] = { "none", "limits", "full" };
	json_t *o = common(a, line, id, sha);
	if (o && (json_object_set_new(o, "sandbox_level",
				      json_string((unsigned)res->level < 3 ? levels[res->level]
									 : "unknown")) < 0 ||
		  json_object_set_new(o, "status", json_string(art_end_name(res->end))) < 0 ||
		  json_object_set_new(o, "exit_status",
				      json_integer(art_result_exit_status(res))) < 0 ||
		  json_object_set_new(o, "ok", json_boolean(art_result_ok(res))) < 0)) {
		json_decref(o);
		o = NULL;
	}
	return emit(a, o);
}

int cli_audit_invalid(cli_audit *a, size_t line, const char *sha, const char *error)
{
	json_t *o = common(a, line, NULL, sha);
	if (o && (json_object_set_new(o, "sandbox_level", json_null()) < 0 ||
		  json_object_set_new(o, "status", json_string("invalid")) < 0 ||
		  json_object_set_new(o, "exit_status", json_null()) < 0 ||
		  json_object_set_new(o, "ok", json_false()) < 0 ||
		  json_object_set_new(o, "error", json_string(error)) < 0)) {
		json_decref(o);
		o = NULL;
	}
	return emit(a, o);
}

int cli_audit_close(cli_audit *a)
{
	if (!a)
		return 0;
	int r = a->error;
	if (a->fd >= 0) {
		/* Without --audit-sync, the lines reach the disk here at the latest. */
		if (fdatasync(a->fd) < 0 && errno != EINVAL && !r)
			r = -errno;
		if (close(a->fd) < 0 && !r && errno != EINTR)
			r = -errno;
	}
	json_decref(a->requested_by);
	free(a);
	return r;
}
