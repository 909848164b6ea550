/* SPDX-License-Identifier: MIT */
/*
 * agentrt batch: tasks from JSON Lines, N at a time, one result per task.
 *
 * A reader thread parses input and submits tasks as lines arrive (so `-`
 * works on a live stream); the runtime's loop runs on the main thread and
 * reports results. Both write records under `out_mu`.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static void usage(FILE *f)
{
	fputs("Usage: agentrt batch [OPTIONS] [FILE|-]\n"
	      "\n"
	      "Runs the tasks of FILE (or stdin), one JSON task spec per line (docs/spec.md);\n"
	      "a line that is not JSON is a shell command line. Writes one JSON result per\n"
	      "task. Exits 0 only if every task succeeded; 1 if any failed; 2 on a usage\n"
	      "error; 130/143 when interrupted (finished results are still written).\n"
	      "\n"
	      "Options:\n"
	      "  -j, --jobs N         run N tasks at once, without admission (default: as many\n"
	      "                       as admission lets start, at most 64)\n"
	      "  -o, --output FILE    write results to FILE instead of stdout\n"
	      "  -k, --keep-order     write results in input order\n"
	      "      --stop-on-failure  after the first failure, stop everything\n"
	      "      --retries N      run a failed task up to N more times\n"
	      "      --strict         check every line first; run nothing if one is bad\n"
	      "      --timeout DUR    default timeout of a task\n"
	      "      --progress       show a progress line on stderr (default on a terminal)\n"
	      "      --no-progress    do not\n"
	      "      --stats          print the runtime's statistics (JSON) on stderr at the end\n"
	      "      --cgroup-parent DIR  where task cgroups are made\n"
	      "      --require-limits fail tasks whose limits cannot be enforced\n"
	      "      --workspace-dir DIR  where workspace layers are made\n"
	      "Scheduling (docs/scheduling.md):\n"
	      "      --admission      admit tasks by their requests (the default without -j)\n"
	      "      --no-admission   do not; without -j, run one task per CPU\n"
	      "      --capacity-cpus N    CPUs admission hands out (default: all online)\n"
	      "      --capacity-memory SIZE  memory it hands out (default: what is available)\n"
	      "      --pressure-limit PCT  pause admission above this memory PSI (default 40)\n"
	      "      --aging DUR      a waiting task rises one priority class per DUR (10s)\n"
	      "      --preempt        freeze low tasks for critical and emergency ones\n"
	      "      --group-weight G=W   the fair share of group G (default 1)\n"
	      "      --group-max G=N      at most N tasks of group G at once\n"
	      "      --group-rate G=R[:B] at most R starts per second in group G, bursts of B\n"
	      "      --kind-max K=N, --kind-rate K=R[:B]  the same per kind\n"
	      "      --breaker K=T[:MIN[:WIN[:OPEN]]]  a circuit breaker for kind K (* for all):\n"
	      "                       opens at a failure rate T over the last WIN runs (20)\n"
	      "                       once MIN ran (10); open OPEN (30s), then one trial\n"
	      "      --dep-history N  ended tasks a later depends_on may name (65536)\n"
	      "      --explain        say in each result why the task waited\n"
	      "      --on EVENT=CMD   run CMD on each task's EVENT (start, exit, restart, state,\n"
	      "                       queued) with the event's JSON line on its stdin; hooks run\n"
	      "                       one at a time, in order; their output goes to stderr\n"
	      "Monitoring (docs/metrics.md):\n"
	      "      --metrics-listen ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
	      "                       while the batch runs (port 0: any; the URL goes to stderr)\n"
	      "      --sample-interval DUR  sample each running task's CPU, memory, processes and\n"
	      "                       I/O every DUR; peaks go into the results (default: off)\n"
	      "      --events FILE    write the event stream to FILE, one JSON line per event\n"
	      "                       (queued, started, state, sample, retry, exited; - : stderr)\n"
	      "      --events-output  include each chunk of captured output as an event\n"
	      "      --audit FILE     append one JSON line per task to FILE (created 0600), each\n"
	      "                       written before the task's result\n"
	      "      --audit-sync     fdatasync the audit log after each line\n"
	      "\n"
	      "      --warm-sandboxes N  sandboxes kept prepared per sandbox configuration\n"
	      "                       (default 1; 0: every task builds its own at start)\n"
	      "  -q, --quiet          no messages from agentrt itself\n"
	      "  -h, --help           this help\n",
	      f);
}

enum {
	OPT_STOP = 256,
	OPT_RETRIES,
	OPT_STRICT,
	OPT_TIMEOUT,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_STATS,
	OPT_WARM,
	OPT_EXPLAIN,
	OPT_METRICS_LISTEN,
	OPT_SAMPLE_INTERVAL,
	OPT_EVENTS,
	OPT_EVENTS_OUTPUT,
	OPT_AUDIT,
	OPT_AUDIT_SYNC,
};

static const struct option options[] = {
	{ "jobs", required_argument, NULL, 'j' },
	{ "warm-sandboxes", required_argument, NULL, OPT_WARM },
	{ "output", required_argument, NULL, 'o' },
	{ "keep-order", no_argument, NULL, 'k' },
	{ "stop-on-failure", no_argument, NULL, OPT_STOP },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "explain", no_argument, NULL, OPT_EXPLAIN },
	{ "on", required_argument, NULL, OPT_ON },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "sample-interval", required_argument, NULL, OPT_SAMPLE_INTERVAL },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "events-output", no_argument, NULL, OPT_EVENTS_OUTPUT },
	{ "audit", required_argument, NULL, OPT_AUDIT },
	{ "audit-sync", no_argument, NULL, OPT_AUDIT_SYNC },
	CLI_RUNTIME_OPTIONS,
	CLI_SCHED_OPTIONS,
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

/* One input line that became a task. */
typedef struct job {
	size_t line;
	size_t seq; /* position among records, for --keep-order */
	char sha256[65]; /* --audit: of the line's bytes, without its end of line */
} job;

typedef struct batch {
	bool said_unenforced; /* the "limits not enforced" warning, once */
	art_runtime *rt;
	FILE *in;
	const char *in_name;
	FILE *out;
	unsigned retries;
	int64_t default_timeout;
	bool keep_order, stop_on_failure, strict, progress, explain;
	FILE *events;       /* --events: written on the loop thread only */
	cli_hooks hooks;    /* --on EVENT=CMD */
	cli_audit *audit;   /* --audit: written under out_mu, before the record */

	size_t window;          /* tasks submitted but not reported, at most */

	pthread_mutex_t out_mu; /* everything below */
	pthread_cond_t room;    /* signalled when a task is reported */
	size_t in_flight;
	unsigned submitting; /* reader calls inside art_runtime_submit */
	bool closed;            /* no more submissions: the runtime is going */
	bool stopping;          /* a failure with --stop-on-failure, or a signal */
	int signal_received;
	size_t n_records;       /* records assigned a seq so far */
	bool input_done;
	bool strict_failed;
	size_t done, failed, running_hint;
	char **pending; /* --keep-order: records by seq, waiting for their turn */
	size_t pending_cap, next_seq;
	int64_t start_ns;
	int reader_error;
	long rss_warm_kb; /* when the first `window` tasks were reported */
} batch;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------ output */

static void write_line_locked(batch *b, const char *rec)
{
	fputs(rec, b->out);
	fputc('\n', b->out);
	/* Results are flushed as they come: a consumer (or a test that
	 * interrupts us) sees each one as soon as its task ended. */
	fflush(b->out);
}

/* Takes ownership of rec. */
static void emit_locked(batch *b, size_t seq, char *rec)
{
	if (!b->keep_order) {
		write_line_locked(b, rec);
		free(rec);
		return;
	}
	if (seq >= b->pending_cap) {
		size_t cap = b->pending_cap ? b->pending_cap : 1024;
		while (cap <= seq)
			cap *= 2;
		char **p = realloc(b->pending, cap * sizeof(char *));
		if (!p) {
			/* Out of memory: order is lost, the record is not. */
			write_line_locked(b, rec);
			free(rec);
			return;
		}
		memset(p + b->pending_cap, 0, (cap - b->pending_cap) * sizeof(char *));
		b->pending = p;
		b->pending_cap = cap;
	}
	b->pending[seq] = rec;
	while (b->next_seq < b->pending_cap && b->pending[b->next_seq]) {
		write_line_locked(b, b->pending[b->next_seq]);
		free(b->pending[b->next_seq]);
		b->pending[b->next_seq++] = NULL;
	}
}

/* --audit: before the record, so that no record exists without its line. */
static void audit_invalid_locked(batch *b, size_t line, const char *sha, const char *msg)
{
	if (b->audit)
		cli_audit_invalid(b->audit, line, sha, msg);
}

static void emit_invalid_locked(batch *b, size_t seq, size_t line, const char *sha,
				const char *msg)
{
	audit_invalid_locked(b, line, sha, msg);
	json_t *o = json_pack("{s:I,s:o,s:s,s:b,s:{s:s}}", "line", (json_int_t)line, "id",
			      json_null(), "status", "invalid", "ok", 0, "error", "message",
			      msg);
	char *rec = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (rec)
		emit_locked(b, seq, rec);
	b->done++;
	b->failed++;
}

/* ------------------------------------------------------------ input */

static void strip_eol(char *s, size_t *len)
{
	while (*len && (s[*len - 1] == '\n' || s[*len - 1] == '\r'))
		s[--*len] = 0;
}

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Parses one line into a spec: JSON, or a shell command line. */
static int parse_line(const char *text, size_t len, size_t line, art_spec **out,
		      art_error *err)
{
	art_spec *spec = NULL;
	int r;
	if (*skip_space(text) == '{') {
		r = art_spec_from_json(text, len, &spec, err);
		if (r < 0)
			return r;
	} else {
		const char *argv[] = { "/bin/sh", "-c", text, NULL };
		if ((r = art_spec_new(&spec)) < 0 || (r = art_spec_set_argv(spec, argv)) < 0) {
			art_spec_free(spec);
			return art_error_set(err, r, "%s", strerror(-r));
		}
	}
	if (!art_spec_id(spec)) {
		char id[32];
		snprintf(id, sizeof(id), "%zu", line);
		art_spec_set_id(spec, id);
	}
	*out = spec;
	return 0;
}

static void apply_defaults(batch *b, art_spec *spec)
{
	/* The batch-wide timeout applies to tasks that set none. */
	if (b->default_timeout && !art_spec_timeout(spec))
		art_spec_set_timeout(spec, b->default_timeout);
	/* Retries are the runtime's, so that dependents wait for the last try. */
	if (b->retries && !art_spec_retries(spec))
		art_spec_set_retries(spec, b->retries);
}

/*
 * Backpressure: at most `window` tasks are submitted and not yet reported,
 * so a huge input is never loaded at once and memory stays flat however
 * long the batch is. The lock is not held across art_runtime_submit: a
 * reader preempted while holding it would stall the loop thread (and so
 * every task) on a busy machine. `submitting` lets the main thread wait for
 * a submission in flight before it frees the runtime.
 */
static void submit_job(batch *b, art_spec *spec, size_t line, const char *sha)
{
	job *j = calloc(1, sizeof(*j));
	pthread_mutex_lock(&b->out_mu);
	size_t seq = b->n_records++;
	if (!j) {
		emit_invalid_locked(b, seq, line, sha, "out of memory");
		pthread_mutex_unlock(&b->out_mu);
		art_spec_free(spec);
		return;
	}
	while (b->in_flight >= b->window && !b->closed)
		pthread_cond_wait(&b->room, &b->out_mu);
	if (b->closed) {
		pthread_mutex_unlock(&b->out_mu);
		art_spec_free(spec);
		free(j);
		return;
	}
	b->in_flight++;
	b->submitting++;
	pthread_mutex_unlock(&b->out_mu);

	*j = (job){ .line = line, .seq = seq };
	memcpy(j->sha256, sha, sizeof(j->sha256));
	art_task *task = NULL;
	art_error err = { 0 };
	/* From here on_exit may own (and free) j. */
	int r = art_runtime_submit(b->rt, spec, j, &task, &err);

	pthread_mutex_lock(&b->out_mu);
	if (r < 0) {
		b->in_flight--;
		emit_invalid_locked(b, seq, line, sha, err.msg);
		free(j);
	} else if (b->stopping) {
		art_task_cancel(task);
	}
	if (--b->submitting == 0)
		pthread_cond_broadcast(&b->room);
	pthread_mutex_unlock(&b->out_mu);
	if (task)
		art_task_unref(task);
	art_spec_free(spec);
}

typedef struct parsed_line {
	art_spec *spec;
	size_t line;
	char sha256[65];
} parsed_line;

/*
 * --strict: every line is known before anything runs, so the whole file is
 * one batch for the runtime: dependencies may point forward, and an
 * unknown id or a cycle refuses the file as a whole.
 */
static void submit_all(batch *b, parsed_line *held, size_t n)
{
	const art_spec **specs = calloc(n, sizeof(*specs));
	void **jobs = calloc(n, sizeof(*jobs));
	bool ok = specs && jobs;
	for (size_t i = 0; ok && i < n; i++) {
		job *j = calloc(1, sizeof(*j));
		if (!j)
			ok = false;
		else {
			*j = (job){ .line = held[i].line, .seq = i };
			memcpy(j->sha256, held[i].sha256, sizeof(j->sha256));
			jobs[i] = j;
			specs[i] = held[i].spec;
		}
	}
	art_error err = { 0 };
	pthread_mutex_lock(&b->out_mu);
	if (ok && !b->closed) {
		b->n_records = n;
		b->in_flight = n;
		b->submitting++;
		pthread_mutex_unlock(&b->out_mu);
		int r = art_runtime_submit_batch(b->rt, specs, n, jobs, NULL, &err);
		pthread_mutex_lock(&b->out_mu);
		b->submitting--;
		pthread_cond_broadcast(&b->room);
		if (r == 0) {
			/* The jobs are the tasks' now, freed by on_exit_cb. */
			free(jobs);
			jobs = NULL;
		} else {
			b->in_flight = 0;
			b->n_records = 0;
			b->strict_failed = true;
			cli_error("%s", err.msg);
		}
	} else if (!ok) {
		b->reader_error = -ENOMEM;
	}
	pthread_mutex_unlock(&b->out_mu);
	if (jobs)
		for (size_t i = 0; i < n; i++)
			free(jobs[i]);
	free(jobs);
	free(specs);
}

static void *reader_main(void *arg)
{
	batch *b = arg;
	char *buf = NULL;
	size_t cap = 0, line = 0;
	ssize_t len;
	parsed_line *held = NULL; /* --strict: everything, checked before running */
	size_t n_held = 0, cap_held = 0;

	while ((len = getline(&buf, &cap, b->in)) >= 0) {
		line++;
		pthread_mutex_lock(&b->out_mu);
		bool closed = b->closed;
		pthread_mutex_unlock(&b->out_mu);
		if (closed)
			break;
		size_t n = (size_t)len;
		strip_eol(buf, &n);
		const char *t = skip_space(buf);
		if (!*t || *t == '#')
			continue;
		/* The line as read, its end of line aside: what `printf %s LINE |
		 * sha256sum` gives. */
		char sha[65] = "";
		if (b->audit)
			cli_sha256_hex(buf, n, sha);
		art_spec *spec = NULL;
		art_error err = { 0 };
		if (parse_line(buf, n, line, &spec, &err) < 0) {
			cli_error("line %zu: %s", line, err.msg);
			pthread_mutex_lock(&b->out_mu);
			if (b->strict)
				b->strict_failed = true;
			else
				emit_invalid_locked(b, b->n_records++, line, sha, err.msg);
			pthread_mutex_unlock(&b->out_mu);
			continue;
		}
		apply_defaults(b, spec);
		if (!b->strict) {
			submit_job(b, spec, line, sha);
			continue;
		}
		if (n_held == cap_held) {
			cap_held = cap_held ? cap_held * 2 : 256;
			parsed_line *p = realloc(held, cap_held * sizeof(*p));
			if (!p) {
				art_spec_free(spec);
				b->reader_error = -ENOMEM;
				break;
			}
			held = p;
		}
		held[n_held] = (parsed_line){ .spec = spec, .line = line };
		memcpy(held[n_held++].sha256, sha, sizeof(sha));
	}
	if (ferror(b->in))
		b->reader_error = -errno;
	if (!b->strict_failed && !b->reader_error && n_held)
		submit_all(b, held, n_held);
	for (size_t i = 0; i < n_held; i++)
		art_spec_free(held[i].spec);
	free(held);
	free(buf);
	pthread_mutex_lock(&b->out_mu);
	b->input_done = true;
	pthread_mutex_unlock(&b->out_mu);
	art_runtime_finish(b->rt);
	return NULL;
}

/* ------------------------------------------------------------ events */

static void stop_all_locked(batch *b)
{
	if (b->stopping)
		return;
	b->stopping = true;
	art_runtime_cancel_all(b->rt);
}

static void on_exit_cb(art_runtime *rt, art_task *task, const art_result *res, void *userdata)
{
	if (cli_hook_task(task))
		return; /* a hook: no record, no job */
	batch *b = userdata;
	job *j = art_task_userdata(task);
	bool ok = art_result_ok(res);
	char why[512] = "";
	json_t *explain = NULL;
	if (b->explain && art_task_explain(task, why, sizeof(why)) == 0)
		explain = json_string(why);
	char *explain_json = explain ? json_dumps(explain, JSON_ENCODE_ANY) : NULL;
	json_decref(explain);
	pthread_mutex_lock(&b->out_mu);
	if (!cli_quiet)
		cli_report_unenforced(rt, res, &b->said_unenforced);
	/* The audit line first: a record never exists without it. */
	if (b->audit)
		cli_audit_task(b->audit, j->line, art_task_id(task), j->sha256, res);
	char *json = NULL;
	if (art_result_to_json(art_task_spec(task), res, res->attempts, &json) == 0) {
		/* Prepend the line number (and append the explanation): the
		 * record stays one flat object. */
		char *rec = NULL;
		size_t len = strlen(json);
		if (asprintf(&rec, "{\"line\":%zu,%.*s%s%s}", j->line, (int)(len - 2), json + 1,
			     explain_json ? ",\"explain\":" : "", explain_json ? explain_json : "") >= 0)
			emit_locked(b, j->seq, rec);
		free(json);
	}
	free(explain_json);
	b->done++;
	if (b->done == b->window)
		b->rss_warm_kb = cli_rss_kb();
	/* Wake the reader only when half the window is free: it then submits
	 * a burst, instead of one thread switch per task. */
	if (--b->in_flight == b->window / 2)
		pthread_cond_signal(&b->room);
	if (!ok) {
		b->failed++;
		if (res->end == ART_END_START_FAILED && !cli_quiet) {
			char msg[512];
			cli_describe_start_failure(art_task_spec(task), res, msg, sizeof(msg));
			cli_error("line %zu: %s", j->line, msg);
		}
		if (b->stop_on_failure)
			stop_all_locked(b);
	}
	pthread_mutex_unlock(&b->out_mu);
	free(j);
}

/* --events: one line per event, flushed, so that a reader follows live.
 * One call per line: stdio's lock keeps it whole. */
static void on_event_cb(art_runtime *rt, art_task *task, const char *line, void *userdata)
{
	batch *b = userdata;
	if (b->events) {
		fprintf(b->events, "%s\n", line);
		fflush(b->events);
	}
	cli_hooks_fire(&b->hooks, rt, task, line);
}

static void on_signal(art_runtime *rt, int fd, uint32_t events, void *userdata)
{
	(void)events;
	batch *b = userdata;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		pthread_mutex_lock(&b->out_mu);
		if (!b->signal_received)
			b->signal_received = (int)si.ssi_signo;
		stop_all_locked(b);
		pthread_mutex_unlock(&b->out_mu);
		/* Do not wait for more input: end once everything is reaped. */
		art_runtime_finish(rt);
	}
}

static void draw_progress(batch *b, bool final)
{
	pthread_mutex_lock(&b->out_mu);
	art_runtime_stats st;
	art_runtime_stats_get(b->rt, &st);
	double secs = (double)(now_ns() - b->start_ns) / 1e9;
	double rate = secs > 0 ? (double)b->done / secs : 0;
	char total[48] = "";
	char eta[48] = "";
	if (b->input_done) {
		snprintf(total, sizeof(total), "/%zu", b->n_records);
		size_t left = b->n_records - b->done;
		if (rate > 0 && left)
			snprintf(eta, sizeof(eta), "  ETA %.0fs", (double)left / rate);
	}
	fprintf(stderr, "\r[agentrt] done %zu%s  running %u  failed %zu  %.1f/s%s\033[K%s", b->done,
		total, st.running, b->failed, rate, eta, final ? "\n" : "");
	fflush(stderr);
	pthread_mutex_unlock(&b->out_mu);
}

static void on_tick(art_runtime *rt, int fd, uint32_t events, void *userdata)
{
	(void)rt;
	(void)events;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) > 0)
		draw_progress(userdata, false);
}

/* ------------------------------------------------------------ main */

static void print_stats(batch *b, int fds_start, long rss_start)
{
	art_runtime_stats st;
	art_runtime_stats_get(b->rt, &st);
	/* null when the batch was shorter than the window. */
	char warm[32] = "null";
	if (b->rss_warm_kb > 0)
		snprintf(warm, sizeof(warm), "%ld", b->rss_warm_kb);
	fprintf(stderr,
		"{\"stats\":{\"submitted\":%llu,\"started\":%llu,\"ended\":%llu,"
		"\"start_failures\":%llu,\"cancelled\":%llu,\"timeouts\":%llu,"
		"\"orphans_killed\":%llu,\"pool_hits\":%llu,\"pool_misses\":%llu,"
		"\"pool_bytes\":%llu,\"warm_starts\":%llu,\"skipped\":%llu,\"retries\":%llu,"
		"\"preemptions\":%llu,\"fds_start\":%d,\"fds_end\":%d,"
		"\"rss_start_kb\":%ld,\"rss_warm_kb\":%s,\"rss_end_kb\":%ld}}\n",
		(unsigned long long)st.submitted, (unsigned long long)st.started,
		(unsigned long long)st.ended, (unsigned long long)st.start_failures,
		(unsigned long long)st.cancelled, (unsigned long long)st.timeouts,
		(unsigned long long)st.orphans_killed, (unsigned long long)st.pool_hits,
		(unsigned long long)st.pool_misses, (unsigned long long)st.pool_bytes,
		(unsigned long long)st.warm_starts, (unsigned long long)st.skipped,
		(unsigned long long)st.retries, (unsigned long long)st.preemptions, fds_start,
		cli_fd_count(), rss_start, warm, cli_rss_kb());
}

int cmd_batch(int argc, char **argv)
{
	batch b = { .out = stdout, .in = stdin, .in_name = "-" };
	pthread_mutex_init(&b.out_mu, NULL);
	pthread_cond_init(&b.room, NULL);
	uint64_t jobs = 0, v, warm = 1;
	int progress = -1, c, sfd = -1, tfd = -1, ret = EXIT_USAGE_BATCH;
	bool stats = false, reader_started = false;
	const char *out_path = NULL, *metrics_listen = NULL;
	cli_metrics_server *metrics = NULL;
	const char *events_path = NULL, *audit_path = NULL;
	bool events_output = false, audit_sync = false;
	int64_t sample_interval = 0;
	pthread_t reader;
	cli_runtime_opts ro = { 0 };
	cli_sched_opts so = { .admission = -1 };

	optind = 1;
	opterr = 0; /* our own messages, with the agentrt: prefix */
	while ((c = getopt_long(argc, argv, "+j:o:kqh", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (cli_parse_uint("-j", optarg, &jobs) < 0)
				return EXIT_USAGE_BATCH;
			break;
		case OPT_WARM:
			if (cli_parse_uint("--warm-sandboxes", optarg, &warm) < 0 || warm > 64) {
				if (warm > 64)
					cli_error("--warm-sandboxes: at most 64");
				return EXIT_USAGE_BATCH;
			}
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'k':
			b.keep_order = true;
			break;
		case OPT_STOP:
			b.stop_on_failure = true;
			break;
		case OPT_RETRIES:
			if (cli_parse_uint("--retries", optarg, &v) < 0)
				return EXIT_USAGE_BATCH;
			b.retries = (unsigned)v;
			break;
		case OPT_STRICT:
			b.strict = true;
			break;
		case OPT_TIMEOUT:
			if (cli_parse_duration("--timeout", optarg, &b.default_timeout) < 0)
				return EXIT_USAGE_BATCH;
			break;
		case OPT_PROGRESS:
			progress = 1;
			break;
		case OPT_NO_PROGRESS:
			progress = 0;
			break;
		case OPT_STATS:
			stats = true;
			break;
		case OPT_EXPLAIN:
			b.explain = true;
			break;
		case OPT_ON:
			if (cli_hook_add(&b.hooks, optarg) < 0)
				return EXIT_USAGE_BATCH;
			break;
		case OPT_METRICS_LISTEN:
			metrics_listen = optarg;
			break;
		case OPT_SAMPLE_INTERVAL:
			if (cli_parse_duration("--sample-interval", optarg, &sample_interval) < 0)
				return EXIT_USAGE_BATCH;
			break;
		case OPT_EVENTS:
			events_path = optarg;
			break;
		case OPT_EVENTS_OUTPUT:
			events_output = true;
			break;
		case OPT_AUDIT:
			audit_path = optarg;
			break;
		case OPT_AUDIT_SYNC:
			audit_sync = true;
			break;
		case 'q':
			cli_quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (cli_runtime_option(&ro, c, optarg) == 0)
				break;
			int sr = cli_sched_option(&so, c, optarg);
			if (sr == 0)
				break;
			if (sr != -ENOENT) {
				cli_sched_opts_free(&so);
				return EXIT_USAGE_BATCH;
			}
			cli_bad_option("batch", argc, argv);
			return EXIT_USAGE_BATCH;
		}
	}
	if (argc - optind > 1) {
		cli_error("batch: one input file at most");
		return EXIT_USAGE_BATCH;
	}
	if (optind < argc && strcmp(argv[optind], "-") != 0) {
		b.in_name = argv[optind];
		if (!(b.in = fopen(b.in_name, "re"))) {
			cli_error("%s: %s", b.in_name, strerror(errno));
			return EXIT_USAGE_BATCH;
		}
	}
	if (out_path && !(b.out = fopen(out_path, "we"))) {
		cli_error("%s: %s", out_path, strerror(errno));
		goto out;
	}
	if (events_path && !(b.events = strcmp(events_path, "-") == 0 ? stderr
					: fopen(events_path, "we"))) {
		cli_error("--events %s: %s", events_path, strerror(errno));
		goto out;
	}
	if (audit_path && (c = cli_audit_open(audit_path, audit_sync, &b.audit)) < 0) {
		cli_error("--audit %s: %s", audit_path, strerror(-c));
		goto out;
	}
	b.progress = progress < 0 ? isatty(STDERR_FILENO) : progress;
	{
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		size_t j = jobs ? (size_t)jobs : (size_t)(cpus > 0 ? cpus : 1);
		b.window = j * 4 > 1024 ? j * 4 : 1024;
	}

	/* Before any thread exists, so that all of them have these blocked. */
	sigset_t sigs;
	if ((sfd = cli_signalfd(&sigs)) < 0) {
		cli_error("signalfd: %s", strerror(errno));
		goto out;
	}
	art_runtime_config cfg = {
		.max_running = (unsigned)jobs,
		.flags = ART_RT_KILL_ORPHANS,
		.task_nofile_default = cli_raise_nofile(),
		.warm_sandboxes = (unsigned)warm,
		.on_exit = on_exit_cb,
		.sample_interval_ns = sample_interval,
		.on_event = b.events || b.hooks.n ? on_event_cb : NULL,
		.event_flags = events_output ? ART_EVENTS_OUTPUT : 0,
		.userdata = &b,
	};
	cli_apply_runtime_opts(&ro, &cfg);
	cli_apply_sched_opts(&so, jobs != 0, &cfg);
	art_error err = { 0 };
	if (art_runtime_new(&cfg, &b.rt, &err) < 0) {
		cli_error("%s", err.msg);
		ret = EXIT_AGENTRT_FAILED;
		goto out;
	}
	if (cli_apply_sched_settings(&so, b.rt) < 0 || cli_hooks_setup(&b.hooks, b.rt) < 0) {
		ret = EXIT_USAGE_BATCH;
		goto out;
	}
	int r = art_runtime_watch_fd(b.rt, sfd, EPOLLIN, on_signal, &b);
	if (r == 0 && b.progress) {
		struct itimerspec its = { .it_interval = { 0, 200000000 }, .it_value = { 0, 200000000 } };
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0)
			r = -errno;
		else
			r = art_runtime_watch_fd(b.rt, tfd, EPOLLIN, on_tick, &b);
	}
	if (r < 0) {
		cli_error("cannot watch signals: %s", strerror(-r));
		ret = EXIT_AGENTRT_FAILED;
		goto out;
	}
	/* After the signals are blocked: the server's thread must not take them. */
	if (metrics_listen && (r = cli_metrics_listen(b.rt, metrics_listen, &metrics)) < 0) {
		ret = r == -EINVAL ? EXIT_USAGE_BATCH : EXIT_AGENTRT_FAILED;
		goto out;
	}
	int fds_start = cli_fd_count();
	long rss_start = cli_rss_kb();
	b.start_ns = now_ns();
	if ((r = pthread_create(&reader, NULL, reader_main, &b)) != 0) {
		cli_error("cannot start the reader: %s", strerror(r));
		ret = EXIT_AGENTRT_FAILED;
		goto out;
	}
	reader_started = true;
	if ((r = art_runtime_run(b.rt)) < 0)
		cli_error("event loop: %s", strerror(-r));

	pthread_mutex_lock(&b.out_mu);
	b.closed = true;
	pthread_cond_broadcast(&b.room);
	while (b.submitting)
		pthread_cond_wait(&b.room, &b.out_mu);
	bool input_done = b.input_done;
	pthread_mutex_unlock(&b.out_mu);
	/* Interrupted while the reader waits for input: leave it blocked, it
	 * will submit nothing more now that `closed` is set. */
	if (input_done)
		pthread_join(reader, NULL);
	else
		pthread_detach(reader);
	reader_started = false;
	if (b.progress)
		draw_progress(&b, true);
	if (stats)
		print_stats(&b, fds_start, rss_start);

	if (b.reader_error)
		cli_error("%s: %s", b.in_name, strerror(-b.reader_error));
	if (b.signal_received)
		ret = 128 + b.signal_received;
	else if (b.strict_failed)
		ret = EXIT_USAGE_BATCH;
	else if (r < 0 || b.reader_error)
		ret = EXIT_AGENTRT_FAILED;
	else
		ret = b.failed ? 1 : 0;
out:
	if (reader_started)
		pthread_detach(reader);
	/* Its thread reads the runtime's metrics: it goes first. */
	cli_metrics_stop(metrics);
	/* Kills and reaps whatever is left; records of tasks cancelled here
	 * are still written by on_exit_cb. */
	art_runtime_free(b.rt);
	if (b.out && b.out != stdout)
		fclose(b.out);
	else
		fflush(stdout);
	if (b.events && b.events != stderr)
		fclose(b.events);
	if ((c = cli_audit_close(b.audit)) < 0) {
		cli_error("--audit %s: %s", audit_path, strerror(-c));
		if (ret == 0 || ret == 1)
			ret = EXIT_AGENTRT_FAILED;
	}
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	for (size_t i = 0; i < b.pending_cap; i++)
		free(b.pending[i]);
	free(b.pending);
	if (b.in != stdin && b.input_done)
		fclose(b.in);
	cli_sched_opts_free(&so);
	cli_hooks_free(&b.hooks);
	return ret;
}
