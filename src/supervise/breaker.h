/* SPDX-License-Identifier: MIT */
/*
 * Circuit breakers, one per task kind (docs/supervision.md): when too
 * many recent runs of a kind failed, new tasks of that kind fail fast at
 * admission ("circuit_open") instead of piling onto whatever is broken
 * (a dependency down, a bad deploy), and after a pause a few trial tasks
 * test the water. Pure logic: no system calls, no threads, no clock;
 * every function takes `now` (nanoseconds on any monotonic clock, not
 * going backwards). The loop thread owns a set; nothing here locks.
 *
 * A breaker is an explicit state machine, one table indexed by state and
 * event (breaker.c), drawn in docs/supervision.md:
 *
 *   CLOSED     every task is admitted (ALLOW). The outcomes of the last
 *              `window` runs are kept in a ring; after each one, if the
 *              ring holds at least min_runs outcomes and the failure rate
 *              (failures / outcomes) is >= threshold, it opens.
 *   OPEN       every task is rejected (REJECT, with the time it may
 *              half-open: opened_at + open_ns). Outcomes of runs admitted
 *              before it opened are ignored: the breaker already knows.
 *   HALF_OPEN  entered at the first look (any call) at or after
 *              opened_at + open_ns. Up to trial_runs tasks are admitted as
 *              trials (ALLOW_TRIAL, with a ticket), the rest rejected. If
 *              trial_runs trials succeed, it closes with an empty window;
 *              if one fails, it opens again (open_ns counted afresh).
 *
 * Events: ADMIT (a task asks to start), SUCCESS and FAILURE (a run that
 * was admitted as ALLOW ended), TRIAL_SUCCESS, TRIAL_FAILURE and
 * TRIAL_RELEASED (a trial ended, or will never report: cancelled before it
 * ran), TICK (time passed; dispatched before every other event, so the
 * OPEN -> HALF_OPEN change needs no timer).
 *
 * Tickets: each entry into HALF_OPEN starts a new trial round, numbered
 * from 1. ALLOW_TRIAL hands out the round's number; the caller passes it
 * back with the trial's outcome (0 for runs that were not trials). An
 * outcome with a ticket of another round, or that comes while the breaker
 * is not HALF_OPEN, is stale and ignored: a trial of an earlier round
 * cannot close the breaker for this one.
 *
 * Kinds are created on the first outcome (admitting an unknown kind is
 * ALLOW and allocates nothing) or by breaker_configure(), and kept until
 * the set is freed. NULL as a kind means "default".
 *
 * Errors: functions return 0 or -errno; output parameters are untouched
 * on failure.
 */
#ifndef ART_SUPERVISE_BREAKER_H
#define ART_SUPERVISE_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

typedef enum breaker_state {
	BREAKER_CLOSED,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN,
	_BREAKER_STATE_MAX,
} breaker_state;

typedef enum breaker_event {
	BREAKER_EV_ADMIT,
	BREAKER_EV_SUCCESS,
	BREAKER_EV_FAILURE,
	BREAKER_EV_TRIAL_SUCCESS,
	BREAKER_EV_TRIAL_FAILURE,
	BREAKER_EV_TRIAL_RELEASED,
	BREAKER_EV_TICK,
	_BREAKER_EV_MAX,
} breaker_event;

typedef enum breaker_verdict {
	BREAKER_ALLOW,
	BREAKER_ALLOW_TRIAL,
	BREAKER_REJECT,
	_BREAKER_VERDICT_MAX,
} breaker_verdict;

/* What a rejected task's end says (the reason at admission). */
#define BREAKER_REJECT_REASON "circuit_open"

/* "closed", "open", "half_open"; "admit", ...; "allow", "allow_trial",
 * "reject". */
const char *breaker_state_to_string(breaker_state s);
const char *breaker_event_to_string(breaker_event e);
const char *breaker_verdict_to_string(breaker_verdict v);

typedef struct breaker_config {
	unsigned window; /* outcomes kept; 20; 0: this breaker is off (always ALLOW, records nothing) */
	unsigned min_runs; /* outcomes in the window before it may open; 10; 1 .. window */
	double threshold; /* failure rate that opens it; 0.5; 0 < threshold <= 1 */
	int64_t open_ns; /* time OPEN before HALF_OPEN; 30 s; >= 0 */
	unsigned trial_runs; /* trials admitted HALF_OPEN, all must succeed; 1; >= 1 */
} breaker_config;

void breaker_config_init(breaker_config *c);
/* -EINVAL for a config the set would refuse. */
int breaker_config_check(const breaker_config *c);

typedef struct breaker_set breaker_set;

/*
 * Called on every state change (for hooks and metrics), from inside the
 * call that caused it, with that call's now. It must not call into the
 * set. The kind string lives as long as the set.
 */
typedef void (*breaker_change_fn)(void *userdata, const char *kind, breaker_state from,
				  breaker_state to, int64_t now);

/* defaults NULL: breaker_config_init's. on_change may be NULL. -EINVAL,
 * -ENOMEM. */
int breaker_set_new(const breaker_config *defaults, breaker_change_fn on_change, void *userdata,
		    breaker_set **ret);
/* Accepts NULL. */
void breaker_set_free(breaker_set *set);

/*
 * Gives `kind` its own config (creating its breaker), or with kind NULL
 * sets the default, which applies to the kinds created later and to the
 * existing ones without a config of their own. A breaker whose config is
 * set starts afresh: CLOSED (on_change called if it was not), empty
 * window. -EINVAL, -ENOMEM; nothing changes on failure.
 */
int breaker_configure(breaker_set *set, const char *kind, const breaker_config *cfg, int64_t now);

typedef struct breaker_result {
	breaker_state from, to; /* around the event itself, after the TICK before it */
	bool ignored; /* the table ignores the event here (or the breaker is off) */
	breaker_verdict verdict; /* ADMIT */
	uint64_t ticket; /* ALLOW_TRIAL: pass it back with the outcome; else 0 */
	/* REJECT: when the breaker may half-open (OPEN), or INT64_MAX when
	 * it waits for the trials under way (HALF_OPEN). Else 0. */
	int64_t retry_at;
} breaker_result;

/*
 * The core: one event for `kind` at now, after a TICK (so an OPEN breaker
 * whose time is up is HALF_OPEN first). ticket: the trial round for the
 * TRIAL_* events, else ignored. SUCCESS and FAILURE create the kind's
 * breaker (-ENOMEM); other events on an unknown kind behave as on a fresh
 * CLOSED one, without creating it. -EINVAL: an event out of range.
 * ret may be NULL.
 */
int breaker_dispatch(breaker_set *set, const char *kind, breaker_event ev, uint64_t ticket,
		     int64_t now, breaker_result *ret);

/* ---- the calls the runtime makes ---- */

/* Before starting a task of `kind`: ALLOW, ALLOW_TRIAL (keep ret->ticket)
 * or REJECT (fail the task fast: BREAKER_REJECT_REASON). ret may be
 * NULL. Never fails. */
breaker_verdict breaker_admit(breaker_set *set, const char *kind, int64_t now,
			      breaker_result *ret);

/* A run admitted by breaker_admit ended. ticket: what ALLOW_TRIAL gave,
 * or 0 for a run that was not a trial. -ENOMEM. */
int breaker_record(breaker_set *set, const char *kind, bool success, uint64_t ticket,
		   int64_t now);

/* An admitted run will not report an outcome (cancelled before or while
 * it ran, stopped by request): a trial's slot is given back. */
void breaker_release(breaker_set *set, const char *kind, uint64_t ticket, int64_t now);

/* The state at now (an OPEN breaker whose time is up half-opens here,
 * calling on_change). An unknown kind is CLOSED. */
breaker_state breaker_get_state(breaker_set *set, const char *kind, int64_t now);

typedef struct breaker_stats {
	breaker_state state;
	bool enabled; /* window > 0 */
	unsigned runs, failures; /* outcomes in the window and how many failed */
	int64_t opened_at; /* the last opening; -1: never */
	int64_t half_open_at; /* OPEN: when it may half-open; else -1 */
	uint64_t round; /* the current or last trial round; 0: none yet */
	unsigned trials_out, trials_ok; /* HALF_OPEN: admitted and unfinished, succeeded */
	uint64_t opens; /* times opened (from CLOSED or HALF_OPEN) */
	uint64_t rejected; /* admissions answered REJECT */
} breaker_stats;

/* At now (may half-open first). An unknown kind: -ENOENT. */
int breaker_get_stats(breaker_set *set, const char *kind, int64_t now, breaker_stats *ret);

/* The number of kinds with a breaker. */
unsigned breaker_set_size(const breaker_set *set);

/*
 * The declared table, for tests and docs: a bit (1u << state) for every
 * state the event may lead to from `state`, 0 where the table ignores the
 * event. Out of range: 0.
 */
unsigned breaker_table_targets(breaker_state state, breaker_event ev);

#endif
