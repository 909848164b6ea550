/* SPDX-License-Identifier: MIT */
/*
 * The scheduler's decision core: which queued task starts next, which
 * running ones to freeze for an urgent one, and why a task waited. Pure
 * logic: no system calls, no threads, no clock. Every function that
 * depends on time takes `now` (nanoseconds on any monotonic clock; it must
 * not go backwards between calls). The loop thread owns a scheduler;
 * nothing here locks.
 *
 * The caller (src/core) embeds a sched_entry in each task and
 *
 *   sched_enqueue()    when the task is submitted,
 *   sched_thaw()       then sched_next(), each until it returns NULL,
 *                      whenever a slot may have freed (a task ended, a
 *                      task was submitted, a limit changed) and when the
 *                      timer it armed for `retry_at` fires,
 *   sched_preempt_candidate() + sched_preempt() when sched_next() returned
 *                      NULL and urgent work waits (optional),
 *   sched_finished()   when the task ends (running or frozen),
 *   sched_remove()     when a queued task is cancelled.
 *
 * The model, in the order sched_next() applies it:
 *
 * Queues. A task belongs to a group (fair share, caps, rates: a user, a
 * job) and a kind (caps, rates, learnt requests: "build", "fetch"). The
 * queue unit is the flow, one (group, kind) pair, with its own min-heap,
 * so a head held back by its kind's cap does not hold back the same
 * group's tasks of other kinds. sched_next() looks at the head of every
 * backlogged flow: O(flows + log n).
 *
 * Priority and aging. Five classes and an `order` within a class. Within
 * a flow, entries are ordered by a static "virtual deadline"
 *
 *   key = enqueue_time + (EMERGENCY - class) * aging_step
 *
 * ties broken by higher order, then by submission. A waiting entry's
 * effective class is min(EMERGENCY, class + floor(wait / aging_step)),
 * which is EMERGENCY - ceil((key - now) / aging_step): it only depends on
 * the key, so aging costs nothing per tick and never reorders a heap.
 * (With order_window > 0, enqueue_time is first rounded down to a multiple
 * of the window, so that `order` decides among a burst of submissions;
 * waits are measured from the rounded time.)
 *
 * Selection among the heads that may start: highest effective class, then
 * lowest group virtual time (fair share), then key.
 *
 * GUARANTEE (aging). Let A and B be entries of the same group. Whenever
 * sched_next() starts B while A's flow could start its head (no cap, rate,
 * admission, reservation or pressure holds it), key(B) <= key(A). [The
 * head H of A's flow has key(H) <= key(A); B ranked before H with the same
 * group vtime, so ec(B) >= ec(H), and since the effective class is a
 * non-increasing function of the key, key(B) <= key(H).] Hence:
 *
 *   a task is never passed by a task of its group submitted more than
 *   (EMERGENCY - class) * aging_step (+ order_window) after it,
 *
 * except by an entry started with sched_preempt(). Across groups, once A
 * has waited (EMERGENCY - class(A)) * aging_step its effective class is
 * EMERGENCY: only EMERGENCY heads of groups with a lower virtual time can
 * pass it, and each start raises their virtual time, so A waits at most
 * until those groups have caught up with its group's share.
 *
 * Fair share. Each group has a virtual time (ns of running time divided
 * by its weight). It advances by run_time / weight when a task of the
 * group finishes or is frozen; when comparing, the elapsed time of its
 * running tasks counts too. A group that becomes backlogged again starts
 * at max(its vtime, the lowest vtime among the groups with queued or
 * running work) so time spent idle is not banked as credit.
 *
 * Limits: a global cap on running tasks; per-group and per-kind caps;
 * per-group and per-kind token buckets (rate per second, burst). When
 * nothing starts and some flow waits only for tokens, sched_next() says
 * when the first token comes (retry_at).
 *
 * Admission: capacity (CPU millicores, memory bytes; 0 = unlimited) and
 * each entry's requests. An entry starts only if used + request <=
 * capacity. A request above the capacity counts as the whole capacity, so
 * it starts once nothing else holds that resource. Smaller heads may pass a
 * blocked bigger one (backfilling), but once that head has waited
 * reservation_ns, nothing ranked after it starts until it fits.
 * sched_set_pressure() blocks every start (memory pressure).
 *
 * Lifetimes: the scheduler owns its groups, kinds and flows and frees
 * them; the caller owns the entries. Group and kind ids are copied.
 * A group with default settings (weight 1, no cap, no rate) is forgotten
 * when it has no work left, so ids that pass through cost nothing
 * afterwards: it comes back at the floor, its debt (a vtime above the
 * floor) forgiven, which is as close to fair as its credit would be.
 * Kinds are kept, since they hold what was learnt.
 *
 * Errors: functions return 0 or -errno; output parameters are untouched
 * on failure.
 */
#ifndef ART_SCHED_SCHED_H
#define ART_SCHED_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/list.h"

typedef enum sched_class {
	SCHED_LOW,
	SCHED_NORMAL,
	SCHED_HIGH,
	SCHED_CRITICAL,
	SCHED_EMERGENCY,
	_SCHED_CLASS_MAX,
} sched_class;

/* "low", "normal", ...; -EINVAL for anything else. */
int sched_class_from_string(const char *s, sched_class *ret);
const char *sched_class_to_string(sched_class c);

typedef enum sched_state {
	SCHED_ENTRY_IDLE, /* not known to the scheduler (again, once finished) */
	SCHED_QUEUED,
	SCHED_RUNNING,
	SCHED_FROZEN, /* preempted: holds no slot and no resources */
} sched_state;

/* Why an entry waited (see sched_entry_wait()). The first two hold the
 * whole scheduler; the others a flow. SCHED_WAIT_ORDER: nothing held the
 * flow, but other entries ranked before (priority, fair share, or entries
 * ahead in the same flow). */
typedef enum sched_wait_reason {
	SCHED_WAIT_PRESSURE,
	SCHED_WAIT_GLOBAL_CAP,
	SCHED_WAIT_GROUP_CAP,
	SCHED_WAIT_KIND_CAP,
	SCHED_WAIT_GROUP_RATE,
	SCHED_WAIT_KIND_RATE,
	SCHED_WAIT_CPU,
	SCHED_WAIT_MEMORY,
	SCHED_WAIT_RESERVED, /* held for a reserved head or for frozen tasks */
	SCHED_WAIT_ORDER,
	_SCHED_WAIT_MAX,
} sched_wait_reason;

const char *sched_wait_reason_to_string(sched_wait_reason r);

/* Where an entry's request in force came from. */
typedef enum sched_req_source {
	SCHED_REQ_DECLARED,
	SCHED_REQ_LEARNT,
	SCHED_REQ_DEFAULT,
} sched_req_source;

/* A request the entry did not declare. */
#define SCHED_UNSET (-1)

struct sched_group;
struct sched_kind;
struct sched_flow;

/*
 * One task as the scheduler sees it, embedded in the caller's task. Fill
 * the first block after sched_entry_init(); the rest is the scheduler's.
 * An entry is in one scheduler at a time; once finished (or removed) it is
 * IDLE and may be enqueued again.
 */
typedef struct sched_entry {
	/* Set by the caller before sched_enqueue(). */
	sched_class cls; /* default SCHED_NORMAL */
	int order; /* within a class, higher first; default 0 */
	int64_t cpu_request; /* millicores, or SCHED_UNSET */
	int64_t memory_request; /* bytes, or SCHED_UNSET */

	/* Read-only for the caller. */
	sched_state state;
	bool started; /* wait[] holds the outcome */
	sched_req_source cpu_source, memory_source;
	int64_t cpu_milli, memory; /* requests in force: undeclared ones follow the kind's learning until the start */
	int64_t enqueued_at, started_at; /* started_at: first start */
	int64_t run_ns, frozen_ns; /* up to the last start/freeze/thaw/finish */
	/* Once started: ns waited by reason, summing to started_at -
	 * enqueued_at. While queued: the scheduler's snapshots. */
	int64_t wait[_SCHED_WAIT_MAX];

	/* Private. */
	struct sched_group *group;
	struct sched_kind *kind;
	struct sched_flow *flow; /* while queued */
	uint64_t seq;
	int64_t key;
	size_t heap_index;
	int64_t since; /* start of the current running or frozen span */
	int64_t charge_since; /* running: vtime charged up to here */
	int64_t charged_cpu, charged_memory; /* what the start took */
	list_node group_link; /* group->running or group->frozen */
	list_node link; /* s->low while running LOW, s->frozen while frozen */
} sched_entry;

void sched_entry_init(sched_entry *e);

/* The id of the entry's group and kind; NULL when IDLE. */
const char *sched_entry_group(const sched_entry *e);
const char *sched_entry_kind(const sched_entry *e);

typedef struct sched_config {
	int64_t aging_step_ns; /* one class per step of waiting; 10 s */
	int64_t order_window_ns; /* enqueue times rounded down to it; 0 */
	int64_t reservation_ns; /* a blocked head reserves after; 0: aging_step; <0: never */
	unsigned max_running; /* global cap; 0 = unlimited */
	int64_t cpu_capacity; /* millicores; 0 = unlimited */
	int64_t memory_capacity; /* bytes; 0 = unlimited */

	/* Learnt workload classes (see sched_kind_learnt()). */
	double learn_alpha; /* weight of the newest sample in the averages; 0.3 */
	unsigned learn_warmup; /* finished tasks before a kind is classified; 3 */
	double cpu_class_util; /* utilisation from which a kind is "cpu"; 0.5 */
	double memory_class_fraction; /* of memory_capacity, for "memory"; 0.1 */
	int64_t memory_class_bytes; /* the same, when memory is unlimited; 1 GiB */
	double memory_margin; /* learnt memory request = average peak * this; 1.2 */
	int64_t default_cpu; /* millicores, undeclared and not learnt; 100 */
	int64_t default_memory; /* bytes, likewise; 0 */
} sched_config;

void sched_config_init(sched_config *c);

typedef struct sched sched;

/* cfg NULL: the defaults. -EINVAL for a nonsensical config. */
int sched_new(const sched_config *cfg, sched **ret);
/* Frees groups, kinds and flows. Entries still in the scheduler are
 * dropped as they are: the caller must not pass them to it again. Accepts
 * NULL. */
void sched_free(sched *s);

/*
 * Queues an IDLE entry (-EBUSY otherwise) in group `group` and kind `kind`
 * (NULL: "default"), creating them as needed (-ENOMEM). -EINVAL: a class
 * out of range or a negative request other than SCHED_UNSET. The requests
 * in force: declared, else learnt for the kind once warmed up, else the
 * configured defaults; undeclared ones are looked up again whenever the
 * entry is a head being considered, so what the kind learns while the
 * entry waits applies to it.
 */
int sched_enqueue(sched *s, sched_entry *e, const char *group, const char *kind, int64_t now);

/*
 * The entry to start now, marked RUNNING (its slot, resources and tokens
 * taken, its wait accounted), or NULL. With NULL, *retry_at (may be NULL)
 * is the earliest time a rate limit lets a waiting flow go, or INT64_MAX
 * when only an event (a finish, a change of limits) can help. With an
 * entry, *retry_at is INT64_MAX: call again.
 */
sched_entry *sched_next(sched *s, int64_t now, int64_t *retry_at);

/*
 * A RUNNING or FROZEN entry ended (a QUEUED one is removed as by
 * sched_remove()). usage (may be NULL: learn nothing, e.g. for a task that
 * was killed) feeds the kind's averages. The entry becomes IDLE.
 */
typedef struct sched_usage {
	int64_t wall_ns, cpu_ns;
	int64_t peak_memory; /* bytes */
} sched_usage;

void sched_finished(sched *s, sched_entry *e, int64_t now, const sched_usage *usage);

/* Takes a QUEUED entry out (cancel); it becomes IDLE. Others: no-op. */
void sched_remove(sched *s, sched_entry *e, int64_t now);

/* ---- preemption: decisions only, the caller freezes and thaws ---- */

/*
 * The best-ranked queued head of class CRITICAL or EMERGENCY (as declared)
 * that cannot start for want of a slot (global, group or kind cap) or of
 * CPU or memory, while running LOW entries exist; NULL otherwise.
 */
sched_entry *sched_preempt_candidate(sched *s, int64_t now);

/*
 * Freezes running LOW entries, newest first, skipping those whose freezing
 * would not help, until `e` (QUEUED, CRITICAL or EMERGENCY as declared)
 * fits: each victim frees its slot, its group's and kind's slot and its
 * resources. Then starts `e` (out of rank: the one exception to the aging
 * guarantee). Victims go to victims[] (at
 * most max_victims, -ENOBUFS beyond), their count to *n_victims; the
 * caller freezes them (cgroup freezer) and then starts e.
 * -EINVAL: e is not a queued urgent entry; -EBUSY: pressure; -EAGAIN:
 * e waits for tokens, or freezing every LOW entry would not be enough.
 * Nothing changes on failure.
 */
int sched_preempt(sched *s, sched_entry *e, int64_t now, sched_entry **victims,
		  size_t max_victims, size_t *n_victims);

/*
 * A frozen entry that fits again (caps, resources, no pressure), marked
 * RUNNING; the caller thaws it. NULL: none fits. Frozen entries are
 * offered in the order they were frozen, and while any is frozen
 * sched_next() starts nothing new below effective class CRITICAL, so
 * they cannot starve behind new work. Call until NULL before sched_next().
 */
sched_entry *sched_thaw(sched *s, int64_t now);

/* ---- limits, changeable at run time ---- */

int sched_set_max_running(sched *s, unsigned max_running, int64_t now);
/* millicores, bytes; 0 = unlimited. -EINVAL for negative values. */
int sched_set_capacity(sched *s, int64_t cpu_milli, int64_t memory, int64_t now);
void sched_set_pressure(sched *s, bool paused, int64_t now);

/* Groups and kinds are created on first mention. weight >= 1 (-EINVAL).
 * max_running 0 = no cap. rate: tokens per second, 0 = unlimited, with
 * burst >= 1 tokens; a change keeps the tokens there are (up to burst). */
int sched_group_set_weight(sched *s, const char *group, unsigned weight, int64_t now);
int sched_group_set_max_running(sched *s, const char *group, unsigned max_running, int64_t now);
int sched_group_set_rate(sched *s, const char *group, double rate, unsigned burst, int64_t now);
int sched_kind_set_max_running(sched *s, const char *kind, unsigned max_running, int64_t now);
int sched_kind_set_rate(sched *s, const char *kind, double rate, unsigned burst, int64_t now);

/* ---- counting and iterating ---- */

typedef struct sched_counts {
	unsigned queued, running, frozen;
} sched_counts;

/* An unknown group or kind has nothing: zeros. */
void sched_group_counts(const sched *s, const char *group, sched_counts *ret);
void sched_kind_counts(const sched *s, const char *kind, sched_counts *ret);

typedef struct sched_stats {
	sched_counts counts;
	int64_t cpu_used, memory_used; /* millicores, bytes, held by running entries */
	size_t groups, kinds, flows;
} sched_stats;

void sched_get_stats(const sched *s, sched_stats *ret);

/* The group's virtual time at `now`, running tasks included (0 for an
 * unknown group). For tests and for display. */
int64_t sched_group_vtime(const sched *s, const char *group, int64_t now);

/*
 * Every entry of a group, queued, running and frozen (in no particular
 * order), as a new array the caller frees, for cancelling a group; the
 * entries stay where they are. An unknown group: *ret NULL, *n 0.
 */
int sched_group_entries(const sched *s, const char *group, sched_entry ***ret, size_t *n);

/* ---- learnt workload classes ---- */

typedef enum sched_workload {
	SCHED_WORKLOAD_UNKNOWN, /* not warmed up */
	SCHED_WORKLOAD_CPU,
	SCHED_WORKLOAD_MEMORY,
	SCHED_WORKLOAD_IO,
} sched_workload;

const char *sched_workload_to_string(sched_workload w);

typedef struct sched_learnt {
	sched_workload workload;
	unsigned samples; /* finished tasks learnt from */
	double cpu_util; /* average cpu / wall */
	double peak_memory; /* average peak, bytes */
	int64_t cpu_milli, memory; /* requests given to undeclared entries now */
	sched_req_source source; /* SCHED_REQ_LEARNT once warmed up */
} sched_learnt;

/* -ENOENT: the kind is unknown. */
int sched_kind_learnt(const sched *s, const char *kind, sched_learnt *ret);

/* ---- why a task waited (--explain) ---- */

/*
 * How long an entry waited and why. For a started entry, the outcome
 * fixed at its (first) start; for a queued one, the figures up to now.
 *
 * How: the scheduler is in one of three states at any time (memory
 * pressure, global cap reached, free), and each flow, on a clock that runs
 * only while the scheduler is free, in one of eight (what held its head
 * at sched_next()'s last look: group cap, kind cap, group rate, kind rate,
 * cpu, memory, reserved, or nothing: priority). Both keep the total time
 * per state, updated when the state changes; an entry copies the totals
 * at enqueue and subtracts them at start. O(1) per event, and the reasons
 * add up to the wait exactly. Approximations: a flow's state is refreshed
 * only when sched_next() looks at it (so promptly if the caller calls it
 * on every event, as it should), except that a rate limit ends by itself
 * when its token is due; and an entry behind the head of its flow is
 * charged what held the head, which held it too (heads block their flow).
 * -EINVAL: an entry that was never queued.
 */
typedef struct sched_wait {
	int64_t total_ns;
	int64_t ns[_SCHED_WAIT_MAX];
} sched_wait;

int sched_entry_wait(const sched *s, const sched_entry *e, int64_t now, sched_wait *ret);

/*
 * Formats the wait for humans, largest reasons first, those under 5 ms
 * left out: "waited 1.20s: group cap 0.80s, group rate 0.30s, priority
 * 0.10s", or "did not wait". -ENOBUFS: it does not fit in size bytes.
 */
int sched_explain(const sched *s, const sched_entry *e, int64_t now, char *buf, size_t size);

/* The effective class of a queued entry at `now`; the declared one else. */
sched_class sched_effective_class(const sched *s, const sched_entry *e, int64_t now);

#endif
