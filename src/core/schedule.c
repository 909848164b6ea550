/* SPDX-License-Identifier: MIT */
/*
 * The runtime's side of scheduling: it feeds the decision core
 * (src/sched) and acts on its answers. docs/scheduling.md has the model.
 *
 * A task goes: inbox -> (dependencies met) -> scheduler queue -> running.
 * Its dependencies live in one graph shared by submitting threads (which
 * stage and commit batches) and the loop (which reports ends), under
 * graph_mu; every other piece of state here belongs to the loop thread.
 * The graph's callbacks only mark a task (t->dep); a task the loop already
 * holds is also put on dep_changed, acted upon at the next scheduling
 * point, never from inside a walk over a task list.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/macros.h"
#include "base/time.h"
#include "core/internal.h"
#include "os/memory.h"

/* Ended tasks whose ids later tasks may still name (config.dep_history);
 * older ones are forgotten (a dependency on them is "no such task"). */
#define DEP_HISTORY_DEFAULT 65536
#define ORDER_WINDOW_NS (20 * NSEC_PER_MSEC)
#define PRESSURE_PERIOD_NS (500 * NSEC_PER_MSEC)
#define PSI_DEFAULT_PCT 40
#define MIN_AVAILABLE_DEFAULT_PERMILLE 50

static int64_t online_cpus_milli(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return (n > 0 ? n : 1) * 1000;
}

/* What the runtime may hand out: the memory available now, and no more
 * than the room under our own cgroup's limits (a runtime started inside
 * a limited cgroup must not plan with the host's memory). */
static int64_t detect_memory(void)
{
	uint64_t total, avail, room;
	if (mem_info(&total, &avail) < 0)
		return 0;
	if (mem_cgroup_room(&room) == 0 && room < avail)
		avail = room;
	return avail > INT64_MAX ? INT64_MAX : (int64_t)avail;
}

int schedule_init(art_runtime *rt)
{
	sched_config c;
	sched_config_init(&c);
	if (rt->cfg.aging_step_ns > 0)
		c.aging_step_ns = rt->cfg.aging_step_ns;
	c.max_running = rt->max_running;
	/* Tasks submitted together (one file's lines, read in chunks) are
	 * ordered by their `order`, not by the microseconds between them. */
	c.order_window_ns = ORDER_WINDOW_NS;
	rt->admission = (rt->cfg.flags & ART_RT_ADMISSION) != 0;
	rt->preempt = (rt->cfg.flags & ART_RT_PREEMPT) != 0;
	if (rt->admission) {
		c.cpu_capacity = rt->cfg.cpu_capacity > 0 ? rt->cfg.cpu_capacity : online_cpus_milli();
		c.memory_capacity = rt->cfg.memory_capacity > 0 ? rt->cfg.memory_capacity
								: detect_memory();
		/* Until a kind is learnt, each task is taken to keep a core busy:
		 * an unknown workload runs about one per core, never a flood. */
		c.default_cpu = 1000;
	}
	int r = sched_new(&c, &rt->sched);
	if (r < 0)
		return r;
	r = depgraph_new(&rt->graph);
	if (r < 0)
		return r;
	pthread_mutex_init(&rt->graph_mu, NULL);
	list_init(&rt->dep_changed);
	loop_timer_init(&rt->sched_timer);
	return 0;
}

void schedule_free(art_runtime *rt)
{
	if (rt->loop)
		loop_timer_disarm(rt->loop, &rt->sched_timer);
	sched_free(rt->sched);
	depgraph_free(rt->graph);
	breaker_set_free(rt->breakers);
	free(rt->history);
	if (rt->graph)
		pthread_mutex_destroy(&rt->graph_mu);
}

/* ------------------------------------------------------------ dependencies */

static void on_dep_ready(depgraph_node *node, void *ctx)
{
	art_task *t = depgraph_node_userdata(node);
	t->dep = TASK_DEP_READY;
	if (t->drained)
		list_add_tail(&((art_runtime *)ctx)->dep_changed, &t->dep_link);
}

static void on_dep_skipped(depgraph_node *node, const char *reason, void *ctx)
{
	art_task *t = depgraph_node_userdata(node);
	t->dep = TASK_DEP_SKIPPED;
	free(t->skip_reason);
	t->skip_reason = strdup(reason); /* NULL: the result says "skipped" alone */
	if (t->drained)
		list_add_tail(&((art_runtime *)ctx)->dep_changed, &t->dep_link);
}

static int stage(art_runtime *rt, art_task *t, char *msg, size_t size)
{
	const spec_sched *sc = &t->spec->sched;
	const char *id = t->spec->id;
	char internal[32];
	if (!id && !sc->n_deps)
		return 0; /* nothing can name it, it names nothing */
	if (!id) {
		/* A name no JSON id can take, for a task that only has deps. */
		snprintf(internal, sizeof(internal), "\x01%llu",
			 (unsigned long long)++rt->internal_ids);
		id = internal;
	}
	dep_spec *deps = NULL;
	if (sc->n_deps && !(deps = calloc(sc->n_deps, sizeof(*deps))))
		return -ENOMEM;
	for (size_t i = 0; i < sc->n_deps; i++)
		deps[i] = (dep_spec){ sc->deps[i].id, (dep_cond)sc->deps[i].cond };
	t->dep = TASK_DEP_WAITING;
	int r = depgraph_add(rt->graph, id, deps, sc->n_deps, t, &t->node, msg, size);
	free(deps);
	return r;
}

int schedule_submit(art_runtime *rt, art_task **tasks, size_t n, art_error *err)
{
	char msg[512] = "";
	depgraph_events ev = { on_dep_ready, on_dep_skipped, rt };
	int r = 0;
	pthread_mutex_lock(&rt->graph_mu);
	for (size_t i = 0; i < n && r == 0; i++)
		r = stage(rt, tasks[i], msg, sizeof(msg));
	if (r == 0)
		r = depgraph_commit(rt->graph, &ev, msg, sizeof(msg));
	else
		depgraph_rollback(rt->graph);
	pthread_mutex_unlock(&rt->graph_mu);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			tasks[i]->node = NULL;
		return art_error_set(err, r, "%s", *msg ? msg : strerror(-r));
	}
	return 0;
}

/* An ended node stays known for a while, so that later tasks may name it. */
static void remember_ended(art_runtime *rt, depgraph_node *node)
{
	size_t max = rt->cfg.dep_history ? rt->cfg.dep_history : DEP_HISTORY_DEFAULT;
	if (!rt->history && !(rt->history = calloc(max, sizeof(*rt->history)))) {
		depgraph_remove(rt->graph, node);
		return;
	}
	if (rt->history_len == max) {
		depgraph_remove(rt->graph, rt->history[rt->history_head]);
		rt->history_head = (rt->history_head + 1) % max;
		rt->history_len--;
	}
	rt->history[(rt->history_head + rt->history_len++) % max] = node;
}

/* How an end reads in a dependent's skip reason. */
static void describe_end(const art_result *res, char *buf, size_t size)
{
	switch (res->end) {
	case ART_END_EXITED:
		snprintf(buf, size, res->exit_code ? "failed (exit %d)" : "succeeded", res->exit_code);
		break;
	case ART_END_SIGNALED:
		snprintf(buf, size, "failed (signal %d)", res->term_signal);
		break;
	case ART_END_TIMEOUT:
		snprintf(buf, size, "timed out");
		break;
	case ART_END_START_FAILED:
		snprintf(buf, size, "failed to start (%s: %s)", art_stage_name(res->start_stage),
			 strerror(res->start_errno));
		break;
	default:
		snprintf(buf, size, "%s", art_end_name(res->end));
		break;
	}
}

/* ------------------------------------------------------------ queueing */

/* One `now` for the tasks of one drain, so that `order` ranks them. */
static void enqueue(art_runtime *rt, art_task *t, int64_t now)
{
	const spec_sched *sc = &t->spec->sched;
	sched_entry_init(&t->se);
	t->se.cls = (sched_class)sc->priority;
	t->se.order = sc->order;
	t->se.cpu_request = sc->cpu_request;
	t->se.memory_request = sc->memory_request;
	if (!t->ready_ns)
		t->ready_ns = now;
	int r = sched_enqueue(rt->sched, &t->se, sc->group, sc->kind, now);
	if (r < 0) {
		list_remove(&t->link);
		rt->n_queued--;
		t->result.start_errno = -r;
		t->result.start_stage = ART_STAGE_PREPARE;
		task_dispatch(t, EV_START_FAILED);
	}
}

/* Turned away by its kind's open breaker when its turn came: it never
 * runs. (Asked at the start, not at the submission, so that the tasks of a
 * batch queued before the breaker opened are turned away too.) */
static void end_circuit_open(art_runtime *rt, art_task *t)
{
	sched_finished(rt->sched, &t->se, mono_ns(), NULL);
	t->state = ART_TASK_DONE;
	t->result.end = ART_END_CIRCUIT_OPEN;
	rt->stats.circuit_open++;
	runtime_task_done(rt, t);
}


static void end_skipped(art_runtime *rt, art_task *t)
{
	list_remove(&t->link);
	rt->n_queued--;
	t->state = ART_TASK_DONE;
	t->result.end = ART_END_SKIPPED;
	t->result.skip_reason = t->skip_reason;
	rt->stats.skipped++;
	runtime_task_done(rt, t);
}

void schedule_drained(art_runtime *rt, art_task *t, int64_t now)
{
	t->drained = true;
	list_add_tail(&rt->queued, &t->link);
	rt->n_queued++;
	rtm_task_queued(rt, t);
	event_queued(t);
	switch (t->dep) {
	case TASK_DEP_READY:
		enqueue(rt, t, now);
		break;
	case TASK_DEP_WAITING:
		t->held = true;
		rt->n_held++;
		event_state(t, "held");
		break;
	case TASK_DEP_SKIPPED:
		end_skipped(rt, t);
		break;
	}
}

static void act_on_dependencies(art_runtime *rt)
{
	int64_t now = mono_ns();
	list_node *n;
	while ((n = list_pop_front(&rt->dep_changed))) {
		art_task *t = container_of(n, art_task, dep_link);
		if (t->held) {
			t->held = false;
			rt->n_held--;
		}
		if (t->state != ART_TASK_QUEUED)
			continue;
		if (t->dep == TASK_DEP_SKIPPED) {
			end_skipped(rt, t);
		} else {
			event_state(t, "queued");
			enqueue(rt, t, now);
		}
	}
}

/* ------------------------------------------------------------ pressure */

static void check_pressure(art_runtime *rt, int64_t now)
{
	if (now - rt->pressure_checked < PRESSURE_PERIOD_NS && rt->pressure_checked)
		return;
	rt->pressure_checked = now;
	bool paused = false;
	double pct;
	if (mem_pressure_some_avg10(&pct) == 0) {
		unsigned limit = rt->cfg.pressure_psi_pct ? rt->cfg.pressure_psi_pct : PSI_DEFAULT_PCT;
		paused = pct > (double)limit;
	} else {
		uint64_t total, avail;
		unsigned permille = rt->cfg.pressure_min_available_permille
					    ? rt->cfg.pressure_min_available_permille
					    : MIN_AVAILABLE_DEFAULT_PERMILLE;
		if (mem_info(&total, &avail) == 0)
			paused = avail < total / 1000 * permille;
	}
	if (paused != (rt->stats.pressure != 0)) {
		rt->stats.pressure = paused;
		sched_set_pressure(rt->sched, paused, now);
	}
}

/* ------------------------------------------------------------ starting */

static void on_sched_timer(loop *l, loop_timer *timer)
{
	/* Waking the loop is the point: the step that follows schedules. */
	(void)l;
	(void)timer;
}

static bool preempt_for_urgent(art_runtime *rt, int64_t now)
{
	sched_entry *c = sched_preempt_candidate(rt->sched, now);
	if (!c)
		return false;
	sched_entry *victims[64];
	size_t n = 0;
	if (sched_preempt(rt->sched, c, now, victims, ARRAY_SIZE(victims), &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		art_task *v = container_of(victims[i], art_task, se);
		task_freeze(v, now);
		rt->stats.preemptions++;
	}
	art_task *t = container_of(c, art_task, se);
	list_remove(&t->link);
	rt->n_queued--;
	task_start(t);
	return true;
}

void schedule_start(art_runtime *rt)
{
	act_on_dependencies(rt);
	if (list_empty(&rt->queued) && !rt->n_frozen)
		return;
	int64_t now = mono_ns();
	if (rt->admission)
		check_pressure(rt, now);
	sched_entry *e;
	while ((e = sched_thaw(rt->sched, now)))
		task_thaw(container_of(e, art_task, se), now);
	int64_t retry_at = INT64_MAX;
	for (;;) {
		e = sched_next(rt->sched, now, &retry_at);
		if (!e) {
			if (rt->preempt && preempt_for_urgent(rt, now))
				continue;
			break;
		}
		art_task *t = container_of(e, art_task, se);
		list_remove(&t->link);
		rt->n_queued--;
		/* A restart is no new task: the breaker only turns new ones away. */
		if (!t->result.attempts && !supervision_admit(rt, t))
			end_circuit_open(rt, t);
		else
			task_start(t);
	}
	/* Under pressure nothing starts until a later look says otherwise. */
	if (rt->stats.pressure && rt->n_queued)
		retry_at = MIN(retry_at, now + PRESSURE_PERIOD_NS);
	if (retry_at == INT64_MAX)
		loop_timer_disarm(rt->loop, &rt->sched_timer);
	else
		loop_timer_arm(rt->loop, &rt->sched_timer, retry_at, on_sched_timer);
}

void schedule_set_max_running(art_runtime *rt, unsigned n)
{
	rt->max_running = n;
	sched_set_max_running(rt->sched, n, mono_ns());
}

/* ------------------------------------------------------------ ending */

static bool should_retry(const art_runtime *rt, const art_task *t)
{
	const art_result *res = &t->result;
	return !rt->no_retries && res->attempts && res->attempts <= t->spec->sched.retries &&
	       !art_result_ok(res) && res->end != ART_END_CANCELLED && res->end != ART_END_SKIPPED;
}

void schedule_requeue(art_runtime *rt, art_task *t)
{
	task_reset_for_retry(t);
	t->state = ART_TASK_QUEUED;
	event_state(t, "queued");
	list_add_tail(&rt->queued, &t->link);
	rt->n_queued++;
}

void schedule_enqueue_now(art_runtime *rt, art_task *t)
{
	enqueue(rt, t, mono_ns());
}

bool schedule_task_end(art_runtime *rt, art_task *t)
{
	int64_t now = mono_ns();
	art_result *res = &t->result;
	if (t->stopped || t->frozen)
		task_wake_for_signal(t, now); /* the time stopped is counted */
	list_remove(&t->dep_link); /* decided, but it ended otherwise (cancelled) */
	if (t->held) {
		t->held = false;
		rt->n_held--;
	}
	/* What it used teaches its kind; a task stopped early would mislead. */
	bool learn = res->end == ART_END_EXITED || res->end == ART_END_SIGNALED ||
		     res->end == ART_END_OOM_KILLED || res->end == ART_END_LIMIT;
	sched_usage usage = {
		.wall_ns = res->wall_ns - res->frozen_ns, /* frozen is neither busy nor idle */
		.cpu_ns = res->user_ns + res->system_ns,
		.peak_memory = (int64_t)MIN(res->max_rss_bytes, (uint64_t)INT64_MAX),
	};
	switch (t->se.state) {
	case SCHED_QUEUED:
		sched_remove(rt->sched, &t->se, now);
		break;
	case SCHED_RUNNING:
	case SCHED_FROZEN:
		sched_finished(rt->sched, &t->se, now, learn ? &usage : NULL);
		break;
	case SCHED_ENTRY_IDLE:
		break;
	}
	supervision_record(rt, t);
	if (!supervision_task_end(rt, t))
		return false; /* restarted, now or after its backoff */
	if (should_retry(rt, t)) {
		rt->stats.retries++;
		rtm_task_retry(rt, t);
		event_retry(t, res->end);
		schedule_requeue(rt, t);
		enqueue(rt, t, now);
		return false;
	}
	if (t->node) {
		pthread_mutex_lock(&rt->graph_mu);
		if (!depgraph_node_ended(t->node)) {
			char how[DEPGRAPH_HOW_MAX];
			describe_end(res, how, sizeof(how));
			depgraph_events ev = { on_dep_ready, on_dep_skipped, rt };
			depgraph_finished(rt->graph, t->node, art_result_ok(res) != 0, how, &ev);
		}
		remember_ended(rt, t->node);
		pthread_mutex_unlock(&rt->graph_mu);
		t->node = NULL;
	}
	return true;
}

void schedule_task_free(art_task *t)
{
	free(t->skip_reason);
}

/* ------------------------------------------------------------ requests */

typedef struct task_vec {
	art_task **v;
	size_t n, cap;
	bool oom;
} task_vec;

static void vec_push(task_vec *tv, art_task *t)
{
	if (tv->n == tv->cap) {
		size_t cap = tv->cap ? tv->cap * 2 : 16;
		art_task **v = reallocarray(tv->v, cap, sizeof(*v));
		if (!v) {
			tv->oom = true;
			return;
		}
		tv->v = v;
		tv->cap = cap;
	}
	tv->v[tv->n++] = t;
}

static void collect_dependent(depgraph_node *node, void *ctx)
{
	vec_push(ctx, depgraph_node_userdata(node));
}

static bool in_group(const art_task *t, const char *group)
{
	const char *g = t->spec->sched.group ? t->spec->sched.group : "default";
	return strcmp(g, group) == 0;
}

/* The group's tasks, then everything that needs one of them to succeed:
 * the dependents first (postorder), so that each ends as cancelled rather
 * than as skipped. */
static void cancel_group(art_runtime *rt, const char *group)
{
	task_vec members = { 0 }, dependents = { 0 };
	sched_entry **es = NULL;
	size_t n_es = 0;
	if (sched_group_entries(rt->sched, group, &es, &n_es) == 0)
		for (size_t i = 0; i < n_es; i++)
			vec_push(&members, container_of(es[i], art_task, se));
	free(es);
	list_node *n;
	for (n = rt->queued.next; n != &rt->queued; n = n->next) {
		art_task *t = container_of(n, art_task, link);
		if (t->se.state == SCHED_ENTRY_IDLE && in_group(t, group))
			vec_push(&members, t);
	}
	depgraph_node **nodes = calloc(members.n ? members.n : 1, sizeof(*nodes));
	size_t n_nodes = 0;
	if (nodes) {
		for (size_t i = 0; i < members.n; i++)
			if (members.v[i]->node)
				nodes[n_nodes++] = members.v[i]->node;
		pthread_mutex_lock(&rt->graph_mu);
		depgraph_cancel_dependents(rt->graph, nodes, n_nodes, collect_dependent, &dependents);
		pthread_mutex_unlock(&rt->graph_mu);
		free(nodes);
	}
	for (size_t i = 0; i < dependents.n; i++)
		if (!in_group(dependents.v[i], group))
			task_dispatch(dependents.v[i], EV_CANCEL);
	for (size_t i = 0; i < members.n; i++)
		task_dispatch(members.v[i], EV_CANCEL);
	free(members.v);
	free(dependents.v);
}

void schedule_ctl(art_runtime *rt, ctl_req *c)
{
	int64_t now = mono_ns();
	switch (c->op) {
	case CTL_GROUP_WEIGHT:
		sched_group_set_weight(rt->sched, c->name, c->n, now);
		break;
	case CTL_GROUP_MAX:
		sched_group_set_max_running(rt->sched, c->name, c->n, now);
		break;
	case CTL_GROUP_RATE:
		sched_group_set_rate(rt->sched, c->name, c->rate, c->n, now);
		break;
	case CTL_KIND_MAX:
		sched_kind_set_max_running(rt->sched, c->name, c->n, now);
		break;
	case CTL_KIND_RATE:
		sched_kind_set_rate(rt->sched, c->name, c->rate, c->n, now);
		break;
	case CTL_CANCEL_GROUP:
		cancel_group(rt, c->name);
		break;
	case CTL_BREAKER:
		supervision_configure_breaker(rt, c->any_kind ? NULL : c->name, &c->breaker);
		break;
	}
}

/* ------------------------------------------------------------ explain */

int art_task_explain(const art_task *t, char *buf, size_t size)
{
	static const char dep_name[] = "dependencies";
	int64_t now = mono_ns();
	sched_wait w = { 0 };
	bool in_sched = sched_entry_wait(t->rt->sched, &t->se, now, &w) == 0;
	/* Without dependencies, the moment between submit and the loop's next
	 * look is nobody's reason. */
	int64_t dep_ns = 0;
	if (t->spec->sched.n_deps && (t->ready_ns || t->state != ART_TASK_DONE))
		dep_ns = (t->ready_ns ? t->ready_ns : now) - t->result.queued_ns;
	if (dep_ns < 0)
		dep_ns = 0;
	int64_t total = dep_ns + (in_sched ? w.total_ns : 0);

	/* The scheduler's reasons and the dependencies, largest first. */
	int64_t ns[_SCHED_WAIT_MAX + 1];
	const char *names[_SCHED_WAIT_MAX + 1];
	for (int i = 0; i < _SCHED_WAIT_MAX; i++) {
		ns[i] = in_sched ? w.ns[i] : 0;
		names[i] = sched_wait_reason_to_string((sched_wait_reason)i);
	}
	ns[_SCHED_WAIT_MAX] = dep_ns;
	names[_SCHED_WAIT_MAX] = dep_name;

	char tmp[512];
	size_t len;
	if (total < 5 * NSEC_PER_MSEC) {
		len = (size_t)snprintf(tmp, sizeof(tmp), "did not wait");
	} else {
		len = (size_t)snprintf(tmp, sizeof(tmp), "waited %.2fs", (double)total / NSEC_PER_SEC);
		const char *sep = ": ";
		bool used[_SCHED_WAIT_MAX + 1] = { 0 };
		for (;;) {
			int best = -1;
			for (int i = 0; i <= _SCHED_WAIT_MAX; i++)
				if (!used[i] && (best < 0 || ns[i] > ns[best]))
					best = i;
			if (best < 0 || ns[best] < 5 * NSEC_PER_MSEC)
				break;
			used[best] = true;
			len += (size_t)snprintf(tmp + len, sizeof(tmp) - len, "%s%s %.2fs", sep,
						names[best], (double)ns[best] / NSEC_PER_SEC);
			sep = ", ";
		}
	}
	if (len + 1 > size)
		return -ENOBUFS;
	memcpy(buf, tmp, len + 1);
	return 0;
}
