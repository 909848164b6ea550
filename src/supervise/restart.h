/* SPDX-License-Identifier: MIT */
/*
 * A per-task supervisor: whether, when and how often a task that ended is
 * started again (docs/supervision.md). Pure logic: no system calls, no
 * threads, no clock. Every function that depends on time takes `now`
 * (nanoseconds on any monotonic clock; it must not go backwards between
 * calls to one supervisor). Randomness (the backoff's jitter) comes from
 * the caller with the event, so a test decides the same way every run.
 * The loop thread owns a supervisor; nothing here locks.
 *
 * The supervisor is an explicit state machine: one table indexed by state
 * and event (restart.c), drawn in docs/supervision.md. Each event returns
 * what the caller must do (supervise_action): nothing, start the task now,
 * start it at a time (arm a timer, then send BACKOFF_DONE), stop the
 * running task, or report the end as final.
 *
 * States:
 *
 *   PENDING   no process: waiting for the (re)start the caller was told
 *             to make (the first one, or one after a backoff). Initial.
 *   STARTING  the process runs and is not ready yet.
 *   READY     the process runs and said it is ready (sd_notify READY=1,
 *             or a first passing health probe). A task with no readiness
 *             signal is ready as soon as it starts: send READY right
 *             after STARTED.
 *   KILLING   the supervisor asked for the running process to be stopped
 *             because it was unhealthy or missed its watchdog; its exit
 *             counts as that failure, whatever the process did.
 *   BACKOFF   no process: a restart is due at `next_start_at`.
 *   STOPPING  a stop was requested while the process ran; it never
 *             restarts, its exit is final.
 *   EXITED    final: it ended and is not restarted (the policy said no,
 *             or a stop was requested).
 *   GAVE_UP   final: it should have restarted, but that would have been
 *             more than max_restarts restarts within restart_window_ns.
 *
 * Events (what happened to the task, as the caller saw it):
 *
 *   STARTED          the process started (after DO_START).
 *   READY            it said it is ready. Repeats are ignored, so every
 *                    passing probe may send it.
 *   EXITED           the process ended (see supervise_exit), or its
 *                    start failed (SUPERVISE_EXIT_START_FAILED, sent in
 *                    PENDING: no STARTED came first).
 *   UNHEALTHY        the health probe failed `failures` times in a row
 *                    (the caller counts them).
 *   WATCHDOG_MISSED  the task did not ping its watchdog in time.
 *   STOP_REQUESTED   someone asked for the task to stop for good.
 *   BACKOFF_DONE     the timer armed for DO_START_AT fired.
 *
 * The exit rule (EXITED in PENDING, STARTING, READY and KILLING):
 *
 *   1. The run is a failure unless it exited with 0 or with a code in
 *      success_codes. A signal, a timeout, a failed start, an unhealthy or
 *      watchdog kill (any exit in KILLING) and any other end the runtime
 *      counts as failed (OOM kill, sandbox violation, limit) are failures.
 *   2. The policy wants a restart: never (no), on-failure (iff a failure),
 *      always (yes). No restart: EXITED, report.
 *   3. Reset rule: a run that stayed up reset_ns or longer (from STARTED to
 *      its exit) sets the backoff's attempt counter back to 0. It does not
 *      touch the intensity window: see below.
 *   4. Intensity rule (Erlang/OTP's MaxR in MaxT, s6's): the times of the
 *      last max_restarts restarts are kept. If there are max_restarts of
 *      them and the oldest is less than restart_window_ns before now, this
 *      restart would be one too many in the window: GAVE_UP, report.
 *      Every restart counts, after a success (policy always) too.
 *   5. Otherwise it restarts: the time is recorded, restarts++, the delay
 *      is supervise_backoff_delay(backoff, attempt, random) and attempt++.
 *      A delay of 0: PENDING, DO_START. Else BACKOFF, DO_START_AT now +
 *      delay.
 *
 * Why the reset rule leaves the intensity window alone: the two answer
 * different questions. The backoff says how politely to retry (no
 * hammering of a broken dependency); a long healthy run shows the trouble
 * has passed, so the next failure may retry quickly again. The intensity
 * window says when to stop trying; it is a sliding window, so it already
 * forgets old restarts by itself. Resetting it too would let a task that
 * runs just over reset_ns and then crashes (reset_ns < window) escape the
 * limit forever, at a crash rate the limit exists to catch.
 *
 * Lifetimes: a supervisor owns a copy of its config. Errors: functions
 * return 0 or -errno; output parameters are untouched on failure.
 */
#ifndef ART_SUPERVISE_RESTART_H
#define ART_SUPERVISE_RESTART_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum supervise_state {
	SUPERVISE_PENDING,
	SUPERVISE_STARTING,
	SUPERVISE_READY,
	SUPERVISE_KILLING,
	SUPERVISE_BACKOFF,
	SUPERVISE_STOPPING,
	SUPERVISE_EXITED,
	SUPERVISE_GAVE_UP,
	_SUPERVISE_STATE_MAX,
} supervise_state;

typedef enum supervise_event {
	SUPERVISE_EV_STARTED,
	SUPERVISE_EV_READY,
	SUPERVISE_EV_EXITED,
	SUPERVISE_EV_UNHEALTHY,
	SUPERVISE_EV_WATCHDOG_MISSED,
	SUPERVISE_EV_STOP_REQUESTED,
	SUPERVISE_EV_BACKOFF_DONE,
	_SUPERVISE_EV_MAX,
} supervise_event;

/* How a process ended (with SUPERVISE_EV_EXITED). */
typedef enum supervise_exit {
	SUPERVISE_EXIT_CODE, /* exited; status is the code: success iff 0 or in success_codes */
	SUPERVISE_EXIT_SIGNAL, /* killed by a signal; status is the signal */
	SUPERVISE_EXIT_TIMEOUT, /* its timeout passed and it was stopped */
	SUPERVISE_EXIT_UNHEALTHY, /* stopped after UNHEALTHY */
	SUPERVISE_EXIT_WATCHDOG, /* stopped after WATCHDOG_MISSED */
	SUPERVISE_EXIT_START_FAILED, /* it never ran (exec failed, the breaker said no) */
	SUPERVISE_EXIT_FAILED, /* another end the runtime counts as failed: OOM kill, seccomp, a limit */
	_SUPERVISE_EXIT_MAX,
} supervise_exit;

typedef enum supervise_policy {
	SUPERVISE_NEVER, /* default */
	SUPERVISE_ON_FAILURE,
	SUPERVISE_ALWAYS,
	_SUPERVISE_POLICY_MAX,
} supervise_policy;

typedef enum supervise_backoff_kind {
	SUPERVISE_BACKOFF_FIXED,
	SUPERVISE_BACKOFF_LINEAR,
	SUPERVISE_BACKOFF_EXPONENTIAL,
	_SUPERVISE_BACKOFF_MAX,
} supervise_backoff_kind;

/* What the caller must do after an event. */
typedef enum supervise_do {
	SUPERVISE_DO_NOTHING,
	SUPERVISE_DO_START, /* start the task now (through the scheduler), then send STARTED */
	SUPERVISE_DO_START_AT, /* arm a timer for action.at; when it fires, send BACKOFF_DONE */
	SUPERVISE_DO_KILL, /* stop the running process (SIGTERM, grace, SIGKILL); EXITED follows */
	SUPERVISE_DO_REPORT, /* the end is final (action.to is EXITED or GAVE_UP): report it */
	_SUPERVISE_DO_MAX,
} supervise_do;

/* Why a supervised task ended for good (with SUPERVISE_DO_REPORT). */
typedef enum supervise_end {
	SUPERVISE_END_NONE, /* not ended */
	SUPERVISE_END_DONE, /* it exited and the policy wants no restart */
	SUPERVISE_END_STOPPED, /* a stop was requested */
	SUPERVISE_END_GAVE_UP, /* the intensity limit */
	_SUPERVISE_END_MAX,
} supervise_end;

/* The strings are the policy's and backoff's spellings in specs
 * ("on-failure", "exponential") and the names used in events and docs
 * ("starting", "gave_up", "start_at"). from_string: -EINVAL otherwise. */
const char *supervise_state_to_string(supervise_state s);
const char *supervise_event_to_string(supervise_event e);
const char *supervise_exit_to_string(supervise_exit e);
const char *supervise_do_to_string(supervise_do d);
const char *supervise_end_to_string(supervise_end e);
const char *supervise_policy_to_string(supervise_policy p);
int supervise_policy_from_string(const char *s, supervise_policy *ret);
const char *supervise_backoff_kind_to_string(supervise_backoff_kind k);

/*
 * The delay before restart number `attempt` (0-based, counted since the
 * last reset), with d0 = initial_ns and n = attempt:
 *
 *   fixed:        d = d0
 *   linear:       d = d0 * (n + 1)
 *   exponential:  d = d0 * 2^n
 *
 * then d = min(d, max_ns) (no overflow: a product past max_ns is max_ns),
 * and with the jitter j and the caller's random r in [0, 1):
 *
 *   delay = d - floor(d * j * r)
 *
 * so delay is in (d * (1 - j), d]: the jitter only shortens. That keeps
 * max_ns a hard ceiling and, unlike a symmetric jitter clamped at the
 * ceiling, does not pile the delays of a herd up at max_ns.
 */
typedef struct supervise_backoff {
	supervise_backoff_kind kind; /* exponential */
	int64_t initial_ns; /* 1 s; >= 0 */
	int64_t max_ns; /* 60 s; >= initial_ns */
	double jitter; /* 0.1; 0 <= jitter <= 1 */
} supervise_backoff;

int64_t supervise_backoff_delay(const supervise_backoff *b, unsigned attempt, double random);

/*
 * Parses KIND[:INITIAL[:MAX]]: "fixed:5s", "linear:1s:30s",
 * "exponential:1s:60s", "exponential" (durations as art_parse_duration
 * reads them: "500ms", "1.5s", "2m"; a bare number is seconds). Missing
 * parts: INITIAL 1 s; MAX for fixed is INITIAL, else max(60 s, INITIAL).
 * The jitter is left as *ret had it (call supervise_backoff_init first),
 * as it is no part of the text. -EINVAL: an unknown kind, a bad duration,
 * MAX < INITIAL, more than three parts.
 */
void supervise_backoff_init(supervise_backoff *b);
int supervise_backoff_from_string(const char *s, supervise_backoff *ret);

#define SUPERVISE_MAX_SUCCESS_CODES 16
/* The most restarts the intensity rule can keep (the ring's size). */
#define SUPERVISE_MAX_RESTARTS_LIMIT 1024u

typedef struct supervise_config {
	supervise_policy policy; /* never */
	/* Exit codes that count as success besides 0 (systemd's
	 * SuccessExitStatus); each 0..255. Default {0}. */
	int success_codes[SUPERVISE_MAX_SUCCESS_CODES];
	unsigned n_success_codes;
	unsigned max_restarts; /* in any window; 10; 0 = no limit; <= SUPERVISE_MAX_RESTARTS_LIMIT */
	int64_t restart_window_ns; /* 10 min; > 0 when max_restarts > 0 */
	supervise_backoff backoff; /* exponential 1 s .. 60 s, jitter 0.1 */
	int64_t reset_ns; /* a run at least this long resets the backoff; 10 min; 0 = never */
} supervise_config;

void supervise_config_init(supervise_config *c);
/* -EINVAL for a config supervise_new() would refuse. */
int supervise_config_check(const supervise_config *c);

typedef struct supervisor supervisor;

/* cfg NULL: the defaults (policy never). -EINVAL, -ENOMEM. */
int supervise_new(const supervise_config *cfg, supervisor **ret);
/* Accepts NULL. */
void supervise_free(supervisor *s);

/* An event and what comes with it. */
typedef struct supervise_input {
	supervise_event event;
	/* EXITED only: */
	supervise_exit how;
	int status; /* the exit code (EXIT_CODE), the signal (EXIT_SIGNAL), else 0 */
	double random; /* uniform in [0, 1), for the backoff's jitter */
} supervise_input;

typedef struct supervise_action {
	supervise_do what;
	int64_t at; /* DO_START_AT: when to send BACKOFF_DONE; DO_START: now; else 0 */
	supervise_state from, to; /* to == from: no change */
	bool ignored; /* the table ignores this event in this state: nothing changed */
	/* EXITED (not ignored): */
	bool failure; /* the run counted as a failure */
	bool restart; /* the exit rule decided to restart (DO_START or DO_START_AT) */
	supervise_end end; /* DO_REPORT: why */
} supervise_action;

/*
 * Feeds one event. Always 0 except -EINVAL: an event, a `how` out of
 * range, or (EXITED) a random not in [0, 1); the supervisor is unchanged.
 * An event the table ignores in the current state returns 0 with
 * ignored = true and DO_NOTHING.
 */
int supervise_dispatch(supervisor *s, const supervise_input *in, int64_t now,
		       supervise_action *ret);

/* Any event but EXITED (which needs supervise_exited). */
static inline int supervise_send(supervisor *s, supervise_event ev, int64_t now,
				 supervise_action *ret)
{
	supervise_input in = { .event = ev, .how = SUPERVISE_EXIT_FAILED };
	return ev == SUPERVISE_EV_EXITED ? -EINVAL : supervise_dispatch(s, &in, now, ret);
}

static inline int supervise_exited(supervisor *s, supervise_exit how, int status, double random,
				   int64_t now, supervise_action *ret)
{
	supervise_input in = {
		.event = SUPERVISE_EV_EXITED, .how = how, .status = status, .random = random
	};
	return supervise_dispatch(s, &in, now, ret);
}

supervise_state supervise_get_state(const supervisor *s);

typedef struct supervise_last_exit {
	supervise_exit how; /* UNHEALTHY / WATCHDOG for an exit in KILLING */
	int status;
	bool failure;
	int64_t at;
	int64_t uptime_ns; /* of that run, STARTED to exit; 0 for a failed start */
} supervise_last_exit;

typedef struct supervise_status {
	supervise_state state;
	bool ready; /* state READY */
	bool running; /* a process exists: STARTING, READY, KILLING, STOPPING */
	unsigned runs; /* STARTED events taken */
	unsigned restarts; /* restarts decided */
	unsigned attempt; /* restarts since the last backoff reset: n of the next delay */
	unsigned restarts_in_window; /* of the kept restarts, those within the window before now */
	int64_t started_at; /* of the current (or last) run; -1: never started */
	int64_t ready_at; /* of the current run; -1: not ready in it */
	int64_t uptime_ns; /* of the current run at now; 0 when no process runs */
	int64_t next_start_at; /* BACKOFF: when the restart is due; else -1 */
	bool exited; /* last_exit is set */
	supervise_last_exit last_exit;
	supervise_end end; /* in a final state: why; else NONE */
} supervise_status;

void supervise_get_status(const supervisor *s, int64_t now, supervise_status *ret);

/*
 * The declared table, for tests and docs: a bit (1u << state) for every
 * state the event may lead to from `state` (the exit rule picks one of
 * several), 0 where the table ignores the event. Out of range: 0.
 */
unsigned supervise_table_targets(supervise_state state, supervise_event ev);

#endif
