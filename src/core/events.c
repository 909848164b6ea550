/* SPDX-License-Identifier: MIT */
/*
 * The event stream (config.on_event): each event is one JSON object,
 * formatted into one buffer the runtime reuses, and handed to the callback
 * on the loop thread, so the events of a task come in the order they
 * happened. docs/metrics.md ("Events") has the schema.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/jsonw.h"
#include "base/time.h"
#include "core/internal.h"

/* {"ts":...,"event":NAME,"id":...: the members every event starts with. */
static jsonw *begin(art_task *t, const char *name)
{
	jsonw *w = &t->rt->ev;
	jsonw_begin(w);
	/* Wall-clock time, to the microsecond, as a consumer correlates it
	 * with other logs. */
	jsonw_fixed(w, "ts", now_ns(CLOCK_REALTIME) / NSEC_PER_USEC, 6);
	jsonw_str(w, "event", name);
	jsonw_str(w, "id", t->spec->id);
	return w;
}

static void send(art_task *t, jsonw *w)
{
	art_runtime *rt = t->rt;
	const char *line = jsonw_end(w);
	if (line) /* out of memory: the event is lost, not the task */
		rt->cfg.on_event(rt, t, line, rt->cfg.userdata);
}

static void put_signal(jsonw *w, int sig)
{
	char name[32];
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	if (sig <= 0) {
		jsonw_null(w, "signal");
		return;
	}
	if (abbrev)
		snprintf(name, sizeof(name), "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(name, sizeof(name), "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(name, sizeof(name), "SIG%d", sig);
	jsonw_str(w, "signal", name);
}

void event_queued(art_task *t)
{
	t->ev_state = "queued";
	if (!events_on(t->rt))
		return;
	const spec_sched *sc = &t->spec->sched;
	jsonw *w = begin(t, "queued");
	jsonw_str(w, "group", sc->group ? sc->group : "default");
	jsonw_str(w, "kind", sc->kind ? sc->kind : "default");
	jsonw_str(w, "priority", art_priority_name(sc->priority));
	send(t, w);
}

void event_started(art_task *t)
{
	if (!events_on(t->rt))
		return;
	jsonw *w = begin(t, "started");
	jsonw_int(w, "pid", t->pid);
	jsonw_uint(w, "attempt", t->result.attempts);
	send(t, w);
}

void event_state(art_task *t, const char *to)
{
	const char *from = t->ev_state;
	if (from && strcmp(from, to) == 0)
		return;
	t->ev_state = to;
	if (!events_on(t->rt))
		return;
	jsonw *w = begin(t, "state");
	jsonw_str(w, "from", from);
	jsonw_str(w, "to", to);
	send(t, w);
}

void event_output(art_task *t, int stream, const char *data, size_t len)
{
	if (!events_on(t->rt))
		return;
	jsonw *w = begin(t, "output");
	jsonw_str(w, "stream", stream == ART_STREAM_STDERR ? "stderr" : "stdout");
	jsonw_strn(w, "data", data, len);
	send(t, w);
}

void event_sample(art_task *t, const task_sample *s)
{
	if (!events_on(t->rt))
		return;
	jsonw *w = begin(t, "sample");
	/* Tenths of a percent, rounded: finer would be noise. */
	jsonw_fixed(w, "cpu_pct", (int64_t)(s->cpu_pct * 10 + 0.5), 1);
	jsonw_uint(w, "rss_bytes", s->rss_bytes);
	jsonw_uint(w, "procs", s->procs);
	if (s->have_io) {
		jsonw_uint(w, "io_read_bytes", s->io_read_bytes);
		jsonw_uint(w, "io_write_bytes", s->io_write_bytes);
	}
	send(t, w);
}

void event_retry(art_task *t, art_end after)
{
	if (!events_on(t->rt))
		return;
	jsonw *w = begin(t, "retry");
	jsonw_uint(w, "attempt", t->result.attempts + 1);
	jsonw_str(w, "after", art_end_name(after));
	send(t, w);
}

void event_exited(art_task *t)
{
	event_state(t, "done");
	if (!events_on(t->rt))
		return;
	const art_result *r = &t->result;
	jsonw *w = begin(t, "exited");
	jsonw_str(w, "status", art_end_name(r->end));
	if (r->end == ART_END_EXITED ||
	    (r->end == ART_END_LIMIT && r->term_signal == 0 && r->exit_code >= 0))
		jsonw_int(w, "exit_code", r->exit_code);
	else
		jsonw_null(w, "exit_code");
	put_signal(w, r->term_signal);
	jsonw_int(w, "exit_status", art_result_exit_status(r));
	jsonw_fixed(w, "wall_s", r->wall_ns, 9);
	jsonw_bool(w, "ok", art_result_ok(r));
	jsonw_uint(w, "attempts", r->attempts);
	if (r->samples) {
		jsonw_uint(w, "peak_rss_bytes", r->peak_rss_bytes);
		jsonw_uint(w, "peak_procs", r->peak_procs);
		jsonw_fixed(w, "peak_cpu_pct", (int64_t)(r->peak_cpu_pct * 10 + 0.5), 1);
	}
	send(t, w);
}
