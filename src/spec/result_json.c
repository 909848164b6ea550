/* SPDX-License-Identifier: MIT */
/* art_result_to_json: one task's result as the record of docs/spec.md. The
 * keys always come in the same order, and the same keys are always there
 * (only "error", "attempts", "frozen_s", the peaks of sampling, "labels"
 * and the isolation keys come and go), so that a reader can rely on a stable schema. */
#include <agentrt.h>

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/jsonw.h"
#include "base/macros.h"
#include "base/time.h"

/* Bytes as a JSON string. JSON text is UTF-8, so each byte that is not part
 * of a valid sequence becomes U+FFFD. When the bytes are the end of a longer
 * stream, the first character may have lost its head to the cut: its
 * orphaned continuation bytes are dropped rather than replaced. */
static json_t *bytes_json(const char *data, size_t len, bool cut_at_start)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0, bad = 0;

	if (!data)
		return json_string("");
	if (cut_at_start)
		while (i < len && i < 3 && (s[i] & 0xc0) == 0x80)
			i++;
	s += i;
	len -= i;

	for (size_t j = 0; j < len;) {
		size_t n = utf8_seq_len(s + j, len - j);
		bad += n == 0;
		j += n ? n : 1;
	}
	if (!bad)
		return json_stringn_nocheck((const char *)s, len);

	_cleanup_free_ char *buf = malloc(len + bad * 2);
	if (!buf)
		return NULL;
	size_t o = 0;
	for (size_t j = 0; j < len;) {
		size_t n = utf8_seq_len(s + j, len - j);
		if (n) {
			memcpy(buf + o, s + j, n);
			o += n;
			j += n;
		} else {
			memcpy(buf + o, replacement, 3);
			o += 3;
			j++;
		}
	}
	return json_stringn_nocheck(buf, o);
}

static json_t *cstring_json(const char *s)
{
	return s ? bytes_json(s, strlen(s), false) : json_null();
}

static json_t *signal_json(int sig)
{
	char name[32];
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;

	if (sig == 0)
		return json_null();
	if (abbrev)
		snprintf(name, sizeof(name), "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(name, sizeof(name), "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(name, sizeof(name), "SIG%d", sig);
	return json_string(name);
}

static json_t *seconds_json(int64_t ns)
{
	return json_real((double)ns / (double)NSEC_PER_SEC);
}

static json_t *u64_json(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *error_json(const art_result *r)
{
	_cleanup_(json_decrefp) json_t *e = json_object();
	const char *code = strerrorname_np(r->start_errno);
	const char *desc = strerrordesc_np(r->start_errno);
	char unknown[48];

	if (!e)
		return NULL;
	if (!desc) {
		snprintf(unknown, sizeof(unknown), "Unknown error %d", r->start_errno);
		desc = unknown;
	}
	if (json_object_set_new(e, "errno", json_integer(r->start_errno)) < 0 ||
	    json_object_set_new(e, "code", code ? json_string(code) : json_null()) < 0 ||
	    json_object_set_new(e, "stage", json_string(art_stage_name(r->start_stage))) < 0 ||
	    json_object_set_new(e, "message", json_string(desc)) < 0 ||
	    (r->start_detail[0] &&
	     json_object_set_new(e, "detail", cstring_json(r->start_detail)) < 0))
		return NULL;
	return steal_ptr(&e);
}

/* Shaped like a start failure's error, so that a reader finds the reason in
 * one place; a skipped task has no errno or stage to give. */
static json_t *skip_json(const art_result *r)
{
	_cleanup_(json_decrefp) json_t *e = json_object();

	if (!e || json_object_set_new(e, "message", cstring_json(r->skip_reason ?
								  r->skip_reason : "skipped")) < 0)
		return NULL;
	return steal_ptr(&e);
}

static json_t *labels_json(const art_spec *spec)
{
	_cleanup_(json_decrefp) json_t *l = json_object();
	const char *key, *value;

	if (!l)
		return NULL;
	for (size_t i = 0; art_spec_label_at(spec, i, &key, &value) == 0; i++) {
		/* A label set through the API need not be UTF-8: keys are
		 * cleaned like values. */
		_cleanup_(json_decrefp) json_t *k = cstring_json(key);
		if (!k || json_object_set_new(l, json_string_value(k), cstring_json(value)) < 0)
			return NULL;
	}
	return steal_ptr(&l);
}

/* Exited, or hit a limit and exited on its own (a refused fork). */
static bool has_exit_code(const art_result *r)
{
	bool last_run = r->end == ART_END_LIMIT || r->end == ART_END_GAVE_UP ||
			r->end == ART_END_UNHEALTHY || r->end == ART_END_WATCHDOG;
	return r->end == ART_END_EXITED || (last_run && r->term_signal == 0 && r->exit_code >= 0);
}

/* What the sandbox and the cgroup add; only what applies is written. */
static int isolation_json(json_t *o, const art_result *r)
{
	static const char *const levels[] = { "none", "limits", "sandbox" };
	char msg[ART_ERROR_MSG_MAX];
	int ok = 1;

	if (r->level > ART_SANDBOX_NONE && (unsigned)r->level < ARRAY_SIZE(levels))
		ok = ok && json_object_set_new(o, "sandbox", json_string(levels[r->level])) == 0;
	if (r->end == ART_END_SECCOMP)
		ok = ok && json_object_set_new(o, "syscall", cstring_json(r->seccomp_syscall)) == 0;
	if (r->end == ART_END_LIMIT)
		ok = ok && json_object_set_new(o, "limit", json_string(art_limit_name(r->limit))) == 0;
	if (r->end == ART_END_OOM_KILLED || r->end == ART_END_SECCOMP || r->end == ART_END_LIMIT)
		ok = ok && json_object_set_new(o, "message",
					       cstring_json(art_result_message(r, msg, sizeof(msg)))) == 0;
	if (r->unenforced) {
		json_t *a = json_array();
		ok = ok && a && json_object_set_new(o, "unenforced", a) == 0;
		for (int i = 0; ok && i < ART_LIMIT__COUNT; i++)
			if (r->unenforced & (1u << i))
				ok = json_array_append_new(a, json_string(art_limit_name((art_limit)i))) == 0;
	}
	if (r->usage_from_cgroup)
		ok = ok && json_object_set_new(o, "usage_from", json_string("cgroup")) == 0 &&
		     json_object_set_new(o, "oom_kills", u64_json(r->oom_kills)) == 0 &&
		     json_object_set_new(o, "pids_peak", u64_json(r->pids_peak)) == 0;
	if (r->workspace_dir)
		ok = ok && json_object_set_new(o, "workspace_dir", cstring_json(r->workspace_dir)) == 0;
	if (r->changes) {
		json_t *a = json_array();
		ok = ok && a && json_object_set_new(o, "changes", a) == 0;
		for (size_t i = 0; ok && i < r->n_changes; i++) {
			json_t *c = json_object();
			ok = c && json_array_append_new(a, c) == 0 &&
			     json_object_set_new(c, "path", cstring_json(r->changes[i].path)) == 0 &&
			     json_object_set_new(c, "kind", cstring_json(r->changes[i].kind)) == 0;
		}
	}
	return ok ? 0 : -ENOMEM;
}

/* The peaks of the samples, when sampling ran (config.sample_interval_ns). */
static int samples_json(json_t *o, const art_result *r)
{
	/* Tenths of a percent: finer would be noise. */
	double pct = (double)(int64_t)(r->peak_cpu_pct * 10 + 0.5) / 10;

	if (json_object_set_new(o, "peak_rss_bytes", u64_json(r->peak_rss_bytes)) < 0 ||
	    json_object_set_new(o, "peak_procs", json_integer(r->peak_procs)) < 0 ||
	    json_object_set_new(o, "peak_cpu_pct", json_real(pct)) < 0)
		return -ENOMEM;
	return 0;
}

typedef struct growbuf {
	char *p;
	size_t len, cap;
} growbuf;

static int growbuf_put(const char *data, size_t n, void *userdata)
{
	growbuf *b = userdata;

	if (b->cap - b->len <= n) {
		size_t cap = MAX(b->cap * 2, b->len + n + 1);
		cap = MAX(cap, (size_t)512);
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

int art_result_to_json(const art_spec *spec, const art_result *r, unsigned attempts, char **out)
{
	_cleanup_(json_decrefp) json_t *o = NULL;
	const char *id = spec ? art_spec_id(spec) : NULL;
	int ok;

	if (!r || !out)
		return -EINVAL;
	/* The runtime counts starts itself now; a front end that still counts
	 * its own retries passes them here. */
	attempts = MAX(attempts, r->attempts);
	if (!(o = json_object()))
		return -ENOMEM;

	/* json_object_set_new() drops the value and fails when it is NULL,
	 * which is how an allocation failure below shows. */
	ok = json_object_set_new(o, "id", cstring_json(id)) == 0 &&
	     json_object_set_new(o, "status", json_string(art_end_name(r->end))) == 0 &&
	     json_object_set_new(o, "ok", json_boolean(art_result_ok(r))) == 0 &&
	     json_object_set_new(o, "exit_code", has_exit_code(r) ?
				 json_integer(r->exit_code) : json_null()) == 0 &&
	     json_object_set_new(o, "signal", signal_json(r->term_signal)) == 0 &&
	     json_object_set_new(o, "exit_status", json_integer(art_result_exit_status(r))) == 0 &&
	     (r->end != ART_END_START_FAILED ||
	      json_object_set_new(o, "error", error_json(r)) == 0) &&
	     (r->end != ART_END_SKIPPED || json_object_set_new(o, "error", skip_json(r)) == 0) &&
	     json_object_set_new(o, "pid", json_integer(r->pid)) == 0 &&
	     json_object_set_new(o, "wall_s", seconds_json(r->wall_ns)) == 0 &&
	     json_object_set_new(o, "queue_s", r->started_ns ?
				 seconds_json(r->started_ns - r->queued_ns) : json_null()) == 0 &&
	     json_object_set_new(o, "user_s", seconds_json(r->user_ns)) == 0 &&
	     json_object_set_new(o, "system_s", seconds_json(r->system_ns)) == 0 &&
	     json_object_set_new(o, "max_rss_bytes", u64_json(r->max_rss_bytes)) == 0 &&
	     json_object_set_new(o, "stdout_bytes", u64_json(r->stdout_bytes)) == 0 &&
	     json_object_set_new(o, "stderr_bytes", u64_json(r->stderr_bytes)) == 0 &&
	     json_object_set_new(o, "stdout", bytes_json(r->stdout_tail, r->stdout_tail_len,
							 r->stdout_truncated)) == 0 &&
	     json_object_set_new(o, "stderr", bytes_json(r->stderr_tail, r->stderr_tail_len,
							 r->stderr_truncated)) == 0 &&
	     json_object_set_new(o, "stdout_truncated", json_boolean(r->stdout_truncated)) == 0 &&
	     json_object_set_new(o, "stderr_truncated", json_boolean(r->stderr_truncated)) == 0 &&
	     json_object_set_new(o, "orphans_killed", json_integer(r->orphans_killed)) == 0 &&
	     (attempts <= 1 || json_object_set_new(o, "attempts", json_integer(attempts)) == 0) &&
	     (r->frozen_ns <= 0 ||
	      json_object_set_new(o, "frozen_s", seconds_json(r->frozen_ns)) == 0) &&
	     (r->restarts == 0 ||
	      json_object_set_new(o, "restarts", json_integer(r->restarts)) == 0) &&
	     (!r->status_text[0] ||
	      json_object_set_new(o, "status_text", json_string(r->status_text)) == 0) &&
	     (r->samples == 0 || samples_json(o, r) == 0) &&
	     isolation_json(o, r) == 0 &&
	     (!spec || art_spec_label_count(spec) == 0 ||
	      json_object_set_new(o, "labels", labels_json(spec)) == 0);
	if (!ok)
		return -ENOMEM;

	growbuf b = { 0 };
	if (json_dump_callback(o, growbuf_put, &b,
			       JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) < 0 ||
	    !b.p) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	return 0;
}
