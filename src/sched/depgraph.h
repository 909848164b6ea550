/* SPDX-License-Identifier: MIT */
/*
 * The task dependency graph of the scheduler: bookkeeping only, no system
 * calls and no threads. The loop thread owns a graph; nothing here locks.
 *
 * A task (a node) has a string id, unique among the nodes the graph knows,
 * and lists dependencies: an id plus a condition on how that task ends.
 *
 *   DEP_OK      the dependency must succeed (the default);
 *   DEP_ANY     it must end, however it ends;
 *   DEP_FAILED  it must end unsuccessfully: failed or cancelled, reported
 *               with depgraph_finished(..., false, ...). A *skipped*
 *               dependency satisfies neither DEP_OK nor DEP_FAILED (it did
 *               not run at all), so only DEP_ANY dependents of a skipped
 *               task run; the others are skipped in turn.
 *
 * A node's states:
 *
 *   STAGED ──commit──> WAITING ──every dependency ended, every
 *      │                  │       condition held──> READY
 *   rollback,             │                           │
 *   failed commit         │ a condition can no        │ finished(success)
 *      │                  │ longer hold               ▼
 *      ▼                  └──────────> SKIPPED    SUCCEEDED / FAILED
 *    (freed)
 *
 * plus WAITING ──finished(false)──> FAILED, for a task cancelled before it
 * could start. SUCCEEDED, FAILED and SKIPPED are the ended states; an
 * ended node stays until depgraph_remove().
 *
 * Adding is two-step, so that a batch of tasks (one job file) is accepted
 * or refused as a whole: depgraph_add() stages a node, depgraph_commit()
 * resolves every staged dependency against the nodes known then (the batch
 * and every committed node, whatever its state), checks for cycles, and
 * either accepts the whole batch or frees it. One batch is open at a time.
 * A staged node is invisible to depgraph_finished() and to the walks, but
 * its id is taken: adding it again fails with -EEXIST.
 *
 * A dependency on a task that has already ended is judged at commit: met
 * at once, or the new task is skipped at once (with the reason, and with
 * the callbacks of depgraph_commit). The ids of removed nodes are unknown
 * to later batches, exactly as ids that never existed.
 *
 * Skip reasons name the dependency and how it ended, then the chain down to
 * the root cause:
 *
 *   dependency "build" failed (exit 1)
 *   dependency "test" skipped: dependency "build" failed (exit 1)
 *
 * where "failed (exit 1)" is the caller's description of the end. A reason
 * is at most DEPGRAPH_REASON_MAX bytes: a long chain keeps its first link
 * and its root cause, and elides the middle as "skipped: ...: ". Should
 * memory run out while composing one, a generic reason stands in; the
 * state changes themselves never fail halfway.
 *
 * Callbacks (depgraph_events) run inside depgraph_commit() and
 * depgraph_finished() and must not change the graph: a call to a function
 * that does fails with -EBUSY. Queue the work (start the ready task, end
 * the skipped one) and do it after the call returns.
 *
 * Errors: functions return 0 or -errno; where a message helps, it goes to
 * err (errlen bytes, may be NULL). err is written on failure only, output
 * parameters on success only.
 *
 * Costs: ids are kept in a hash table, a node keeps its unmet dependency
 * count, and the walks are iterative with their state in the nodes, so a
 * commit costs O(batch + its edges), an end O(the dependents it reaches),
 * and no chain is too long for the stack.
 */
#ifndef ART_SCHED_DEPGRAPH_H
#define ART_SCHED_DEPGRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/macros.h"

/* The most bytes of a skip reason, and of the caller's `how` (cut on a
 * UTF-8 boundary). */
#define DEPGRAPH_REASON_MAX 255
#define DEPGRAPH_HOW_MAX 128

typedef enum dep_cond {
	DEP_OK,
	DEP_ANY,
	DEP_FAILED,
	_DEP_COND_MAX,
} dep_cond;

/* "ok", "any", "failed"; -EINVAL for anything else. */
int dep_cond_from_string(const char *s, dep_cond *ret);
const char *dep_cond_to_string(dep_cond cond);

/* One entry of a task's depends_on. The id is copied by depgraph_add(). */
typedef struct dep_spec {
	const char *id;
	dep_cond cond;
} dep_spec;

typedef enum depgraph_state {
	DEPGRAPH_STAGED,
	DEPGRAPH_WAITING,
	DEPGRAPH_READY,
	DEPGRAPH_SUCCEEDED,
	DEPGRAPH_FAILED,
	DEPGRAPH_SKIPPED,
} depgraph_state;

typedef struct depgraph depgraph;
typedef struct depgraph_node depgraph_node;

/* What becomes of other nodes when a batch is committed or a node ends.
 * Either function may be NULL. `reason` is valid during the call; it stays
 * readable as depgraph_node_reason() until the node is removed. */
typedef struct depgraph_events {
	void (*ready)(depgraph_node *node, void *ctx);
	void (*skipped)(depgraph_node *node, const char *reason, void *ctx);
	void *ctx;
} depgraph_events;

int depgraph_new(depgraph **ret);
/* Frees every node, staged ones included. Accepts NULL. */
void depgraph_free(depgraph *g);
static inline void depgraph_freep(depgraph **g)
{
	depgraph_free(*g);
}
#define _cleanup_depgraph_ _cleanup_(depgraph_freep)

/*
 * Stages a task. Checked here: the id is not empty and not known (staged or
 * committed: -EEXIST, `duplicate task id "build"`), each dependency has a
 * non-empty id and a valid condition (-EINVAL). Whether the dependencies
 * exist is checked at commit. On failure nothing is staged, and the nodes
 * staged before stay staged: call depgraph_rollback() to drop the batch.
 * userdata is the caller's (depgraph_node_userdata()). ret may be NULL;
 * the node lives until depgraph_remove(), a rollback or depgraph_free().
 */
int depgraph_add(depgraph *g, const char *id, const dep_spec *deps, size_t n_deps,
		 void *userdata, depgraph_node **ret, char *err, size_t errlen);

/*
 * Accepts the staged batch, or refuses it and frees every staged node
 * (-EINVAL), leaving the graph as it was before the batch. Refused:
 *   task "deploy": depends_on "buidl": no such task
 *   task "deploy": depends_on "build" twice
 *   dependency cycle: a -> b -> c -> a     (a depends on b, ...; also a -> a)
 * On success each new node is WAITING, or READY (ev->ready), or SKIPPED
 * (ev->skipped) because a dependency that had already ended fails its
 * condition; skips propagate within the batch. A commit with nothing
 * staged does nothing.
 */
int depgraph_commit(depgraph *g, const depgraph_events *ev, char *err, size_t errlen);

/* Frees the staged nodes, if any. */
void depgraph_rollback(depgraph *g);

/*
 * Reports the end of a READY node (success or not), or of a WAITING one
 * (not successful only: a task cancelled before it could start). `how`
 * describes the end for the reasons of skipped dependents ("failed (exit
 * 1)", "cancelled", "timed out"); NULL means "succeeded" or "failed".
 * Dependents whose last dependency this was become READY (ev->ready);
 * dependents whose condition can no longer hold are SKIPPED (ev->skipped),
 * and so on through their own dependents. Dependents that have ended
 * already (cancelled by the caller) are left alone.
 * -EALREADY: the node has ended. -EINVAL: it is staged, or WAITING and
 * success is true. -ENOMEM: copying `how` failed; nothing changed.
 */
int depgraph_finished(depgraph *g, depgraph_node *node, bool success, const char *how,
		      const depgraph_events *ev);

/*
 * For cancelling a group: calls fn once for every node that has not ended
 * and needs one of nodes[] to succeed, directly or through other such
 * nodes, that is, every transitive dependent through DEP_OK edges. Those
 * are all WAITING. Dependents through DEP_ANY and DEP_FAILED run once the
 * cancelled tasks end (a cancelled task counts as failed), so they are not
 * reported, nor is what only they lead to. The given nodes are not
 * reported; those that have ended lead nowhere.
 * The order is a postorder: a node comes after every reported node that
 * depends on it, so a caller that ends them in this order with
 * depgraph_finished(false, "cancelled"), and the given nodes after them,
 * ends each as cancelled rather than as skipped. fn must not change the
 * graph. Changes nothing itself; returns 0, or -EBUSY from a callback.
 */
int depgraph_cancel_dependents(depgraph *g, depgraph_node *const *nodes, size_t n_nodes,
			       void (*fn)(depgraph_node *node, void *ctx), void *ctx);

/*
 * Forgets a node that has ended, so that a long-lived runtime does not
 * grow without end. Nothing waits for an ended node, so this never changes
 * another node's fate; its id becomes unknown to later batches.
 * -EBUSY: the node has not ended (staged nodes go with a rollback).
 */
int depgraph_remove(depgraph *g, depgraph_node *node);

/* The node with this id, staged or committed, or NULL. */
depgraph_node *depgraph_find(const depgraph *g, const char *id);
/* Nodes known, staged ones included. */
size_t depgraph_size(const depgraph *g);

const char *depgraph_node_id(const depgraph_node *node);
void *depgraph_node_userdata(const depgraph_node *node);
depgraph_state depgraph_node_state(const depgraph_node *node);
static inline bool depgraph_node_ready(const depgraph_node *node)
{
	return depgraph_node_state(node) == DEPGRAPH_READY;
}
static inline bool depgraph_node_ended(const depgraph_node *node)
{
	return depgraph_node_state(node) >= DEPGRAPH_SUCCEEDED;
}
/* Why a SKIPPED node was skipped; NULL in every other state. */
const char *depgraph_node_reason(const depgraph_node *node);

#endif
