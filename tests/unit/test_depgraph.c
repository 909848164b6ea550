/* SPDX-License-Identifier: MIT */
/* The scheduler's dependency graph: conditions, skips and their reasons,
 * validation of batches, late additions, the cancel walk, removal, scale. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "sched/depgraph.h"
#include "tap.h"

/* What the callbacks saw, in order: "+id" for ready, "-id" for skipped. */
typedef struct record {
	char log[4096];
	size_t n_ready, n_skipped;
	depgraph_node *last;
	char last_reason[512];
} record;

static void rec_append(record *r, char sign, const char *id)
{
	size_t off = strlen(r->log);
	snprintf(r->log + off, sizeof(r->log) - off, "%s%c%s", off ? " " : "", sign, id);
}

static void on_ready(depgraph_node *n, void *ctx)
{
	record *r = ctx;
	r->n_ready++;
	r->last = n;
	rec_append(r, '+', depgraph_node_id(n));
}

static void on_skipped(depgraph_node *n, const char *reason, void *ctx)
{
	record *r = ctx;
	r->n_skipped++;
	r->last = n;
	CHECK_EQ_STR(reason, depgraph_node_reason(n));
	snprintf(r->last_reason, sizeof(r->last_reason), "%s", reason);
	rec_append(r, '-', depgraph_node_id(n));
}

static depgraph_events events(record *r)
{
	*r = (record){ 0 };
	return (depgraph_events){ .ready = on_ready, .skipped = on_skipped, .ctx = r };
}

/* Adds a task from "id" and "dep:cond" pairs (cond: ok, any, failed). */
static int add(depgraph *g, char *err, size_t errlen, const char *id, ...)
{
	dep_spec deps[16];
	size_t n = 0;
	va_list ap;
	va_start(ap, id);
	for (const char *d; (d = va_arg(ap, const char *));) {
		static char names[16][64];
		const char *colon = strchr(d, ':');
		dep_cond cond = DEP_OK;
		if (colon) {
			CHECK_EQ_INT(dep_cond_from_string(colon + 1, &cond), 0);
			snprintf(names[n], sizeof(names[n]), "%.*s", (int)(colon - d), d);
		} else {
			snprintf(names[n], sizeof(names[n]), "%s", d);
		}
		deps[n] = (dep_spec){ .id = names[n], .cond = cond };
		n++;
	}
	va_end(ap);
	return depgraph_add(g, id, deps, n, NULL, NULL, err, errlen);
}
#define ADD(g, ...) CHECK_EQ_INT(add(g, NULL, 0, __VA_ARGS__, NULL), 0)

static depgraph_node *node(depgraph *g, const char *id)
{
	depgraph_node *n = depgraph_find(g, id);
	CHECK(n != NULL);
	return n;
}

static depgraph_state state(depgraph *g, const char *id)
{
	return depgraph_node_state(node(g, id));
}

static void finish(depgraph *g, const char *id, bool ok, const char *how,
		   const depgraph_events *ev)
{
	CHECK_EQ_INT(depgraph_finished(g, node(g, id), ok, how, ev), 0);
}

static depgraph *new_graph(void)
{
	depgraph *g = NULL;
	CHECK_EQ_INT(depgraph_new(&g), 0);
	CHECK(g != NULL);
	return g;
}

/* ------------------------------------------------------------ running */

TEST(chain_runs_in_order)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "c", "b");
	ADD(g, "b", "a");
	ADD(g, "a");
	CHECK_EQ_INT(state(g, "a"), DEPGRAPH_STAGED);
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK_EQ_STR(r.log, "+a");
	CHECK(depgraph_node_ready(node(g, "a")));
	CHECK_EQ_INT(state(g, "b"), DEPGRAPH_WAITING);
	CHECK_EQ_INT(state(g, "c"), DEPGRAPH_WAITING);
	CHECK(depgraph_node_reason(node(g, "b")) == NULL);

	finish(g, "a", true, NULL, &ev);
	CHECK_EQ_STR(r.log, "+a +b");
	CHECK_EQ_INT(state(g, "a"), DEPGRAPH_SUCCEEDED);
	CHECK(depgraph_node_ended(node(g, "a")));
	finish(g, "b", true, "exit 0", &ev);
	finish(g, "c", true, NULL, &ev);
	CHECK_EQ_STR(r.log, "+a +b +c");
	CHECK_EQ_INT(r.n_skipped, 0);
	CHECK_EQ_INT(state(g, "c"), DEPGRAPH_SUCCEEDED);
}

TEST(fan_out_and_fan_in)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "fetch");
	ADD(g, "build-x", "fetch");
	ADD(g, "build-y", "fetch");
	ADD(g, "build-z", "fetch");
	ADD(g, "package", "build-x", "build-y", "build-z");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK_EQ_STR(r.log, "+fetch");

	finish(g, "fetch", true, NULL, &ev);
	CHECK_EQ_STR(r.log, "+fetch +build-x +build-y +build-z");
	/* The fan-in waits for the last of its dependencies, in any order. */
	finish(g, "build-z", true, NULL, &ev);
	finish(g, "build-x", true, NULL, &ev);
	CHECK_EQ_INT(state(g, "package"), DEPGRAPH_WAITING);
	finish(g, "build-y", true, NULL, &ev);
	CHECK_EQ_STR(r.log, "+fetch +build-x +build-y +build-z +package");
}

TEST(conditions_on_success)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "a");
	ADD(g, "on-ok", "a:ok");
	ADD(g, "on-any", "a:any");
	ADD(g, "on-failed", "a:failed");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, "a", true, "succeeded (exit 0)", &ev);
	CHECK_EQ_STR(r.log, "+a +on-ok +on-any -on-failed");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "on-failed")),
		     "dependency \"a\" succeeded (exit 0)");
}

TEST(conditions_on_failure)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "a");
	ADD(g, "on-ok", "a");
	ADD(g, "on-any", "a:any");
	ADD(g, "on-failed", "a:failed");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, "a", false, "failed (exit 1)", &ev);
	CHECK_EQ_STR(r.log, "+a -on-ok +on-any +on-failed");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "on-ok")), "dependency \"a\" failed (exit 1)");
	CHECK_EQ_INT(state(g, "on-ok"), DEPGRAPH_SKIPPED);
}

TEST(default_descriptions)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "a");
	ADD(g, "b");
	ADD(g, "x", "a");
	ADD(g, "y", "b:failed");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, "a", false, NULL, &ev);
	finish(g, "b", true, NULL, &ev);
	CHECK_EQ_STR(depgraph_node_reason(node(g, "x")), "dependency \"a\" failed");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "y")), "dependency \"b\" succeeded");
}

TEST(mixed_conditions_wait_for_all)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	/* cleanup runs after both, whatever happened; report only if test
	 * failed and build succeeded. */
	ADD(g, "build");
	ADD(g, "test", "build");
	ADD(g, "report", "build:ok", "test:failed");
	ADD(g, "cleanup", "build:any", "test:any", "report:any");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, "build", true, NULL, &ev);
	CHECK_EQ_STR(r.log, "+build +test");
	finish(g, "test", false, "failed (exit 2)", &ev);
	CHECK_EQ_STR(r.log, "+build +test +report");
	finish(g, "report", true, NULL, &ev);
	CHECK_EQ_STR(r.log, "+build +test +report +cleanup");
}

/* ------------------------------------------------------------ skips */

TEST(skips_propagate_with_the_reason_chain)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "build");
	ADD(g, "test", "build");
	ADD(g, "deploy", "test");
	ADD(g, "notify", "test:failed"); /* a skip satisfies neither ok nor failed */
	ADD(g, "cleanup", "test:any"); /* ...but it has ended: any runs */
	ADD(g, "after-notify", "notify:any");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, "build", false, "failed (exit 1)", &ev);

	CHECK_EQ_STR(r.log, "+build -test -deploy -notify +cleanup +after-notify");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "test")), "dependency \"build\" failed (exit 1)");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "deploy")),
		     "dependency \"test\" skipped: dependency \"build\" failed (exit 1)");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "notify")),
		     "dependency \"test\" skipped: dependency \"build\" failed (exit 1)");
	CHECK_EQ_INT(state(g, "cleanup"), DEPGRAPH_READY);
	/* Skipped nodes have ended: nothing more to report for them. */
	CHECK_EQ_INT(depgraph_finished(g, node(g, "deploy"), false, NULL, &ev), -EALREADY);
}

TEST(a_node_skipped_once_though_two_dependencies_fail)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "a");
	ADD(g, "b");
	ADD(g, "c", "a", "b");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, "b", false, "timed out", &ev);
	finish(g, "a", false, "failed (exit 3)", &ev);
	CHECK_EQ_STR(r.log, "+a +b -c");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "c")), "dependency \"b\" timed out");
}

TEST(a_long_reason_chain_keeps_its_root_cause)
{
	enum { N = 200 };
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);
	char id[32], dep[32];

	ADD(g, "t0");
	for (int i = 1; i < N; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		snprintf(dep, sizeof(dep), "t%d", i - 1);
		ADD(g, id, dep);
	}
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, "t0", false, "failed (exit 1)", &ev);
	CHECK_EQ_INT(r.n_skipped, N - 1);
	const char *root = "dependency \"t0\" failed (exit 1)";
	for (int i = 1; i < N; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		const char *reason = depgraph_node_reason(node(g, id));
		char first[64];
		snprintf(first, sizeof(first), "dependency \"t%d\" ", i - 1);
		CHECK(strlen(reason) <= DEPGRAPH_REASON_MAX);
		CHECK(strncmp(reason, first, strlen(first)) == 0);
		CHECK(strlen(reason) >= strlen(root));
		CHECK_EQ_STR(reason + strlen(reason) - strlen(root), root);
	}
	/* Far down the chain, the middle is elided. */
	CHECK(strstr(depgraph_node_reason(node(g, "t199")), "skipped: ...: ") != NULL);
}

TEST(long_descriptions_and_ids_are_cut)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);
	char how[600], longid[400];

	memset(how, 'x', sizeof(how) - 1);
	how[sizeof(how) - 1] = 0;
	/* A multi-byte character straddles the cut. */
	memcpy(how + DEPGRAPH_HOW_MAX - 1, "\xc3\xa9", 2);
	memset(longid, 'i', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	ADD(g, longid);
	dep_spec d = { .id = longid };
	CHECK_EQ_INT(depgraph_add(g, "b", &d, 1, NULL, NULL, NULL, 0), 0);
	ADD(g, "c", "b");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, longid, false, how, &ev);
	const char *rb = depgraph_node_reason(node(g, "b"));
	const char *rc = depgraph_node_reason(node(g, "c"));
	CHECK(strlen(rb) <= DEPGRAPH_REASON_MAX);
	CHECK(strlen(rc) <= DEPGRAPH_REASON_MAX);
	CHECK(strncmp(rc, "dependency \"b\" skipped: ", 24) == 0);
}

/* ------------------------------------------------------------ validation */

TEST(unknown_id_is_named)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	char err[256] = "";

	ADD(g, "build");
	ADD(g, "deploy", "buidl");
	CHECK_EQ_INT(depgraph_commit(g, NULL, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "task \"deploy\": depends_on \"buidl\": no such task");
	/* The whole batch went. */
	CHECK_EQ_INT(depgraph_size(g), 0);
	CHECK(depgraph_find(g, "build") == NULL);
}

TEST(cycles_are_named_in_order)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	char err[256] = "";

	ADD(g, "a", "a");
	CHECK_EQ_INT(depgraph_commit(g, NULL, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "dependency cycle: a -> a");

	ADD(g, "a", "b");
	ADD(g, "b", "a");
	CHECK_EQ_INT(depgraph_commit(g, NULL, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "dependency cycle: a -> b -> a");

	ADD(g, "a", "b");
	ADD(g, "b", "c");
	ADD(g, "c", "a");
	CHECK_EQ_INT(depgraph_commit(g, NULL, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "dependency cycle: a -> b -> c -> a");

	/* A cycle behind an acyclic prefix names the cycle only. */
	ADD(g, "start", "x");
	ADD(g, "x", "ok1", "y");
	ADD(g, "ok1");
	ADD(g, "y", "z");
	ADD(g, "z", "x");
	CHECK_EQ_INT(depgraph_commit(g, NULL, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "dependency cycle: x -> y -> z -> x");
	CHECK_EQ_INT(depgraph_size(g), 0);

	/* A diamond is no cycle. */
	ADD(g, "top", "l", "r");
	ADD(g, "l", "bottom");
	ADD(g, "r", "bottom");
	ADD(g, "bottom");
	CHECK_EQ_INT(depgraph_commit(g, NULL, err, sizeof(err)), 0);
	CHECK_EQ_INT(depgraph_size(g), 4);
}

TEST(a_long_cycle_message_is_cut)
{
	enum { N = 1000 };
	_cleanup_depgraph_ depgraph *g = new_graph();
	char err[128], id[32], dep[32];

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		snprintf(dep, sizeof(dep), "t%d", (i + 1) % N);
		ADD(g, id, dep);
	}
	CHECK_EQ_INT(depgraph_commit(g, NULL, err, sizeof(err)), -EINVAL);
	CHECK(strncmp(err, "dependency cycle: t0 -> t1 -> t2", 32) == 0);
	CHECK_EQ_INT(strlen(err), sizeof(err) - 1);
	CHECK_EQ_STR(err + strlen(err) - 3, "...");
}

TEST(duplicate_ids_are_refused)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	char err[256] = "";

	ADD(g, "a");
	CHECK_EQ_INT(add(g, err, sizeof(err), "a", NULL), -EEXIST);
	CHECK_EQ_STR(err, "duplicate task id \"a\"");
	CHECK_EQ_INT(depgraph_commit(g, NULL, NULL, 0), 0);
	/* Committed ids are taken as well. */
	err[0] = 0;
	CHECK_EQ_INT(add(g, err, sizeof(err), "a", NULL), -EEXIST);
	CHECK_EQ_STR(err, "duplicate task id \"a\"");
	/* The same dependency twice. */
	CHECK_EQ_INT(add(g, err, sizeof(err), "b", "a", "a:any", NULL), 0);
	CHECK_EQ_INT(depgraph_commit(g, NULL, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "task \"b\": depends_on \"a\" twice");
	CHECK_EQ_INT(depgraph_size(g), 1);
}

TEST(malformed_input_is_refused)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	char err[256] = "";
	depgraph_node *n = (depgraph_node *)0x1;

	CHECK_EQ_INT(depgraph_add(g, "", NULL, 0, NULL, &n, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "task id is empty");
	CHECK(n == (depgraph_node *)0x1);
	dep_spec empty = { .id = "" };
	CHECK_EQ_INT(depgraph_add(g, "x", &empty, 1, NULL, &n, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "task \"x\": depends_on[0]: empty id");
	dep_spec bad = { .id = "y", .cond = (dep_cond)7 };
	CHECK_EQ_INT(depgraph_add(g, "x", &bad, 1, NULL, &n, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "task \"x\": depends_on \"y\": invalid condition");
	CHECK(n == (depgraph_node *)0x1);
	CHECK_EQ_INT(depgraph_size(g), 0);

	dep_cond c = DEP_ANY;
	CHECK_EQ_INT(dep_cond_from_string("sometimes", &c), -EINVAL);
	CHECK_EQ_INT(c, DEP_ANY);
	CHECK_EQ_INT(dep_cond_from_string("failed", &c), 0);
	CHECK_EQ_INT(c, DEP_FAILED);
	CHECK_EQ_STR(dep_cond_to_string(DEP_OK), "ok");
	CHECK(dep_cond_to_string((dep_cond)9) == NULL);
}

TEST(a_refused_batch_leaves_the_graph_as_it_was)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);
	char err[256] = "";

	ADD(g, "a");
	ADD(g, "b", "a");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	depgraph_node *a = node(g, "a"), *b = node(g, "b");

	/* A batch that depends on the graph, with a cycle inside. */
	ADD(g, "c", "b");
	ADD(g, "d", "c", "e");
	ADD(g, "e", "d");
	CHECK_EQ_INT(depgraph_commit(g, &ev, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "dependency cycle: d -> e -> d");
	CHECK_EQ_INT(depgraph_size(g), 2);
	CHECK(depgraph_find(g, "c") == NULL);
	CHECK_EQ_STR(r.log, "+a");

	/* The refused nodes left nothing behind in a or b. */
	r = (record){ 0 };
	CHECK_EQ_INT(depgraph_finished(g, a, true, NULL, &ev), 0);
	CHECK_EQ_STR(r.log, "+b");
	CHECK_EQ_INT(depgraph_finished(g, b, true, NULL, &ev), 0);
	CHECK_EQ_STR(r.log, "+b");

	/* An add that fails leaves the batch open; a rollback drops it. */
	ADD(g, "c", "b");
	CHECK_EQ_INT(add(g, NULL, 0, "c", NULL), -EEXIST);
	CHECK_EQ_INT(depgraph_size(g), 3);
	depgraph_rollback(g);
	CHECK_EQ_INT(depgraph_size(g), 2);
	ADD(g, "c", "b");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK_EQ_STR(r.log, "+b +c");
}

TEST(rollbacks_do_not_wear_out_the_table)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	char id[32];

	/* Each rollback leaves tombstones that the table must reclaim. */
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 50; i++) {
			snprintf(id, sizeof(id), "r%d-%d", round, i);
			ADD(g, id);
		}
		depgraph_rollback(g);
		CHECK_EQ_INT(depgraph_size(g), 0);
	}
	ADD(g, "kept");
	CHECK_EQ_INT(depgraph_commit(g, NULL, NULL, 0), 0);
	CHECK(depgraph_find(g, "kept") != NULL);
	CHECK(depgraph_find(g, "r0-0") == NULL);
}

/* ------------------------------------------------------------ late additions */

TEST(late_additions_see_ended_tasks)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "good");
	ADD(g, "bad");
	ADD(g, "running");
	ADD(g, "dropped", "bad");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, "good", true, NULL, &ev);
	finish(g, "bad", false, "failed (exit 1)", &ev);
	CHECK_EQ_INT(state(g, "dropped"), DEPGRAPH_SKIPPED);

	ev = events(&r);
	ADD(g, "needs-good", "good");
	ADD(g, "needs-bad", "bad");
	ADD(g, "on-bad", "bad:failed");
	ADD(g, "after-dropped", "dropped:any");
	ADD(g, "needs-dropped", "dropped");
	ADD(g, "needs-running", "running", "good");
	/* Within the batch: a skip at commit reaches a batch dependent. */
	ADD(g, "behind-needs-bad", "needs-bad");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK_EQ_STR(r.log, "-needs-bad -needs-dropped -behind-needs-bad "
			    "+needs-good +on-bad +after-dropped");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "needs-bad")),
		     "dependency \"bad\" failed (exit 1)");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "needs-dropped")),
		     "dependency \"dropped\" skipped: dependency \"bad\" failed (exit 1)");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "behind-needs-bad")),
		     "dependency \"needs-bad\" skipped: dependency \"bad\" failed (exit 1)");
	CHECK_EQ_INT(state(g, "needs-running"), DEPGRAPH_WAITING);

	ev = events(&r);
	finish(g, "running", true, NULL, &ev);
	CHECK_EQ_STR(r.log, "+needs-running");
}

TEST(late_batch_skipped_before_its_dependent_in_add_order)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "bad");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	finish(g, "bad", false, NULL, &ev);

	/* The dependent comes first in the batch; either way round it is
	 * skipped once, with the chain, and `any` runs. */
	ev = events(&r);
	ADD(g, "y", "x");
	ADD(g, "w", "x:any");
	ADD(g, "x", "bad");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK_EQ_STR(r.log, "-x -y +w");
	CHECK_EQ_STR(depgraph_node_reason(node(g, "y")),
		     "dependency \"x\" skipped: dependency \"bad\" failed");
}

TEST(finished_checks_the_state)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);

	ADD(g, "a");
	ADD(g, "b", "a");
	CHECK_EQ_INT(depgraph_finished(g, node(g, "a"), true, NULL, &ev), -EINVAL); /* staged */
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	/* b cannot have succeeded without starting, but may be cancelled. */
	CHECK_EQ_INT(depgraph_finished(g, node(g, "b"), true, NULL, &ev), -EINVAL);
	CHECK_EQ_INT(depgraph_finished(g, node(g, "b"), false, "cancelled", &ev), 0);
	CHECK_EQ_INT(state(g, "b"), DEPGRAPH_FAILED);
	/* a's end does not wake the cancelled b. */
	finish(g, "a", true, NULL, &ev);
	CHECK_EQ_STR(r.log, "+a");
	CHECK_EQ_INT(depgraph_finished(g, node(g, "a"), true, NULL, &ev), -EALREADY);
}

/* Callbacks must not change the graph. */
static void finish_from_callback(depgraph_node *n, void *ctx)
{
	depgraph *g = ctx;
	CHECK_EQ_INT(depgraph_finished(g, n, true, NULL, NULL), -EBUSY);
	CHECK_EQ_INT(depgraph_add(g, "z", NULL, 0, NULL, NULL, NULL, 0), -EBUSY);
	CHECK_EQ_INT(depgraph_remove(g, n), -EBUSY);
	CHECK_EQ_INT(depgraph_cancel_dependents(g, &n, 1, NULL, NULL), -EBUSY);
}

TEST(callbacks_cannot_reenter)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	depgraph_events ev = { .ready = finish_from_callback, .ctx = g };

	ADD(g, "a");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK(depgraph_node_ready(node(g, "a")));
	CHECK(depgraph_find(g, "z") == NULL);
}

/* ------------------------------------------------------------ cancel walk */

static void collect(depgraph_node *n, void *ctx)
{
	record *r = ctx;
	rec_append(r, '*', depgraph_node_id(n));
}

TEST(cancel_walk_finds_those_who_needed_them)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r, c = { 0 };
	depgraph_events ev = events(&r);

	/*   a <- b <- d <- e          c (cancelled too) <- f
	 *        b <-any- x, b <-failed- y, d <- y2 (via any)      */
	ADD(g, "a");
	ADD(g, "b", "a");
	ADD(g, "d", "b");
	ADD(g, "e", "d", "b");
	ADD(g, "x", "b:any");
	ADD(g, "y", "b:failed");
	ADD(g, "x2", "x");
	ADD(g, "c");
	ADD(g, "f", "c", "a");
	ADD(g, "other");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);

	depgraph_node *set[] = { node(g, "a"), node(g, "c"), node(g, "other") };
	CHECK_EQ_INT(depgraph_cancel_dependents(g, set, 3, collect, &c), 0);
	/* Postorder: every node after the reported nodes that need it. */
	CHECK_EQ_STR(c.log, "*e *d *b *f");
	/* Nothing changed. */
	CHECK_EQ_INT(state(g, "b"), DEPGRAPH_WAITING);
	CHECK_EQ_INT(state(g, "a"), DEPGRAPH_READY);

	/* Ending them in that order reports each as cancelled, no skips;
	 * the `any` and `failed` dependents run once b ends. */
	const char *order[] = { "e", "d", "b", "f" };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		finish(g, order[i], false, "cancelled", &ev);
	CHECK_EQ_STR(r.log, "+a +c +other +x +y");
	finish(g, "a", false, "cancelled", &ev);
	finish(g, "c", false, "cancelled", &ev);
	CHECK_EQ_INT(r.n_skipped, 0);

	/* From ended nodes the walk leads nowhere. */
	c = (record){ 0 };
	CHECK_EQ_INT(depgraph_cancel_dependents(g, set, 2, collect, &c), 0);
	CHECK_EQ_STR(c.log, "");
}

TEST(cancel_walk_leaves_out_the_given_nodes)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record c = { 0 };

	ADD(g, "a");
	ADD(g, "b", "a");
	ADD(g, "c", "b");
	CHECK_EQ_INT(depgraph_commit(g, NULL, NULL, 0), 0);
	depgraph_node *set[] = { node(g, "a"), node(g, "b") };
	CHECK_EQ_INT(depgraph_cancel_dependents(g, set, 2, collect, &c), 0);
	CHECK_EQ_STR(c.log, "*c");
}

/* ------------------------------------------------------------ removal */

TEST(removed_ids_are_unknown)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);
	char err[256] = "";

	ADD(g, "a");
	ADD(g, "b", "a");
	ADD(g, "c", "a:any");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK_EQ_INT(depgraph_remove(g, node(g, "a")), -EBUSY); /* not ended */
	ADD(g, "staged");
	CHECK_EQ_INT(depgraph_remove(g, node(g, "staged")), -EBUSY);
	depgraph_rollback(g);

	finish(g, "a", true, NULL, &ev);
	CHECK_EQ_INT(depgraph_remove(g, node(g, "a")), 0);
	CHECK(depgraph_find(g, "a") == NULL);
	CHECK_EQ_INT(depgraph_size(g), 2);
	/* Its dependents are untouched and can end and go in turn. */
	finish(g, "b", true, NULL, &ev);
	finish(g, "c", false, NULL, &ev);
	CHECK_EQ_INT(depgraph_remove(g, node(g, "c")), 0);

	ADD(g, "late", "a");
	CHECK_EQ_INT(depgraph_commit(g, &ev, err, sizeof(err)), -EINVAL);
	CHECK_EQ_STR(err, "task \"late\": depends_on \"a\": no such task");

	/* The id is free again. */
	ADD(g, "a");
	ADD(g, "d", "a", "b");
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK_EQ_INT(depgraph_remove(g, node(g, "b")), 0);
	finish(g, "a", true, NULL, &ev);
	CHECK(depgraph_node_ready(node(g, "d")));
	CHECK_EQ_INT(depgraph_size(g), 2);
}

TEST(a_daemon_that_removes_what_ended_stays_small)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);
	char id[32], prev[32] = "";

	/* Each round adds a task that depends on the previous one, ends it,
	 * and removes the one before: the graph holds two nodes at most. */
	for (int i = 0; i < 20000; i++) {
		snprintf(id, sizeof(id), "job%d", i);
		if (*prev)
			ADD(g, id, prev);
		else
			ADD(g, id);
		CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
		CHECK(depgraph_node_ready(node(g, id)));
		finish(g, id, true, NULL, &ev);
		if (*prev)
			CHECK_EQ_INT(depgraph_remove(g, node(g, prev)), 0);
		CHECK(depgraph_size(g) <= 2);
		snprintf(prev, sizeof(prev), "%s", id);
	}
	CHECK_EQ_INT(r.n_ready, 20000);
}

/* ------------------------------------------------------------ scale */

enum { BIG = 100000 };

static void count_ready(depgraph_node *n, void *ctx)
{
	(void)n;
	(*(size_t *)ctx)++;
}

/* Adds t0 <- t1 <- ... <- t(BIG-1) in one batch, the dependents first so
 * that the cycle check walks the whole chain at once. */
static void add_chain(depgraph *g)
{
	char id[32], dep[32];
	for (int i = BIG - 1; i >= 0; i--) {
		snprintf(id, sizeof(id), "t%d", i);
		snprintf(dep, sizeof(dep), "t%d", i - 1);
		dep_spec d = { .id = dep, .cond = DEP_OK };
		CHECK_EQ_INT(depgraph_add(g, id, &d, i > 0, NULL, NULL, NULL, 0), 0);
	}
}

TEST(a_long_chain)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	size_t ready = 0;
	depgraph_events ev = { .ready = count_ready, .ctx = &ready };
	char id[32];

	add_chain(g);
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK_EQ_INT(ready, 1);
	for (int i = 0; i < BIG; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		depgraph_node *n = node(g, id);
		CHECK(depgraph_node_ready(n));
		CHECK_EQ_INT(depgraph_finished(g, n, true, NULL, &ev), 0);
	}
	CHECK_EQ_INT(ready, BIG);
}

TEST(a_long_chain_skipped)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);
	char last[32];

	snprintf(last, sizeof(last), "t%d", BIG - 1);
	add_chain(g);
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	/* A head that fails skips the whole chain, iteratively. */
	finish(g, "t0", false, "failed (exit 1)", &ev);
	CHECK_EQ_INT(r.n_skipped, BIG - 1);
	CHECK_EQ_INT(state(g, last), DEPGRAPH_SKIPPED);
	const char *reason = depgraph_node_reason(node(g, last));
	const char *root = "dependency \"t0\" failed (exit 1)";
	CHECK_EQ_STR(reason + strlen(reason) - strlen(root), root);
}

TEST(a_long_cycle)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	char err[256] = "", id[32], dep[32];

	for (int i = 0; i < BIG; i++) {
		snprintf(id, sizeof(id), "t%d", i);
		snprintf(dep, sizeof(dep), "t%d", (i + 1) % BIG);
		ADD(g, id, dep);
	}
	CHECK_EQ_INT(depgraph_commit(g, NULL, err, sizeof(err)), -EINVAL);
	CHECK(strncmp(err, "dependency cycle: t0 -> t1 -> ", 30) == 0);
	CHECK_EQ_INT(depgraph_size(g), 0);
}

TEST(a_wide_fan_out_and_fan_in)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	size_t ready = 0;
	depgraph_events ev = { .ready = count_ready, .ctx = &ready };
	char id[32];
	static dep_spec all[BIG];
	static char names[BIG][16];

	ADD(g, "root");
	for (int i = 0; i < BIG; i++) {
		snprintf(names[i], sizeof(names[i]), "w%d", i);
		ADD(g, names[i], "root");
		all[i] = (dep_spec){ .id = names[i], .cond = i % 2 ? DEP_OK : DEP_ANY };
	}
	CHECK_EQ_INT(depgraph_add(g, "sink", all, BIG, NULL, NULL, NULL, 0), 0);
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);
	CHECK_EQ_INT(ready, 1);
	finish(g, "root", true, NULL, &ev);
	CHECK_EQ_INT(ready, 1 + BIG);

	/* The cancel walk from root (before the end) would have reported all;
	 * from the workers it reports the sink once. */
	static depgraph_node *workers[BIG];
	for (int i = 0; i < BIG; i++)
		workers[i] = node(g, names[i]);
	record c = { 0 };
	CHECK_EQ_INT(depgraph_cancel_dependents(g, workers, BIG, collect, &c), 0);
	CHECK_EQ_STR(c.log, "*sink");

	for (int i = 0; i < BIG; i++) {
		CHECK_EQ_INT(state(g, "sink"), DEPGRAPH_WAITING);
		CHECK_EQ_INT(depgraph_finished(g, workers[i], true, NULL, &ev), 0);
	}
	CHECK_EQ_INT(ready, 2 + BIG);
	CHECK(depgraph_node_ready(node(g, "sink")));

	/* Removing the ended workers one by one costs O(1) each. */
	for (int i = 0; i < BIG; i++)
		CHECK_EQ_INT(depgraph_remove(g, workers[i]), 0);
	CHECK_EQ_INT(depgraph_size(g), 2);
	snprintf(id, sizeof(id), "w%d", 7);
	CHECK(depgraph_find(g, id) == NULL);
}

TEST(a_wide_fan_out_skipped_and_cancel_walk)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	record r;
	depgraph_events ev = events(&r);
	char id[32];

	ADD(g, "root");
	for (int i = 0; i < BIG; i++) {
		snprintf(id, sizeof(id), "w%d", i);
		ADD(g, id, "root");
	}
	CHECK_EQ_INT(depgraph_commit(g, &ev, NULL, 0), 0);

	size_t walked = 0;
	depgraph_node *root = node(g, "root");
	CHECK_EQ_INT(depgraph_cancel_dependents(g, &root, 1, count_ready, &walked), 0);
	CHECK_EQ_INT(walked, BIG);

	finish(g, "root", false, "cancelled", &ev);
	CHECK_EQ_INT(r.n_skipped, BIG);
	CHECK_EQ_STR(depgraph_node_reason(node(g, "w99999")), "dependency \"root\" cancelled");
}

TEST(a_long_chain_cancel_walk)
{
	_cleanup_depgraph_ depgraph *g = new_graph();
	size_t walked = 0;

	add_chain(g);
	CHECK_EQ_INT(depgraph_commit(g, NULL, NULL, 0), 0);
	depgraph_node *head = node(g, "t0");
	CHECK_EQ_INT(depgraph_cancel_dependents(g, &head, 1, count_ready, &walked), 0);
	CHECK_EQ_INT(walked, BIG - 1);
}
