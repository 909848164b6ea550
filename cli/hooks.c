/* SPDX-License-Identifier: MIT */
/*
 * --on EVENT=CMD: a command run on a task's event with the event's JSON
 * line on its stdin (the same line as --events writes). Hooks are tasks of
 * the runtime themselves, in their own group capped at one at a time, so
 * they run in the order their events came, are reaped like any task, and
 * nothing they start outlives them. Their events fire no hooks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define HOOK_GROUP "agentrt.hooks"

static const char *const hook_events[] = { "queued", "started", "state", "retry", "exited" };

/* The spellings the words suggest, too. */
static const char *event_name(const char *name)
{
	if (strcmp(name, "start") == 0)
		return "started";
	if (strcmp(name, "exit") == 0)
		return "exited";
	if (strcmp(name, "restart") == 0)
		return "retry";
	for (size_t i = 0; i < sizeof(hook_events) / sizeof(hook_events[0]); i++)
		if (strcmp(name, hook_events[i]) == 0)
			return hook_events[i];
	return NULL;
}

int cli_hook_add(cli_hooks *h, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[32];
	if (!eq || eq == arg || !eq[1] || (size_t)(eq - arg) >= sizeof(name)) {
		cli_error("--on: \"%s\" is not EVENT=CMD", arg);
		return -EINVAL;
	}
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = 0;
	const char *ev = event_name(name);
	if (!ev) {
		cli_error("--on: \"%s\" is not one of start, exit, restart, state, queued", name);
		return -EINVAL;
	}
	cli_hook *v = realloc(h->v, (h->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->v = v;
	h->v[h->n++] = (cli_hook){ .event = ev, .cmd = eq + 1 };
	return 0;
}

int cli_hooks_setup(const cli_hooks *h, art_runtime *rt)
{
	return h->n ? art_runtime_group_max_running(rt, HOOK_GROUP, 1) : 0;
}

bool cli_hook_task(const art_task *task)
{
	const char *g = art_spec_group(art_task_spec(task));
	return g && strcmp(g, HOOK_GROUP) == 0;
}

/* The value of "event" in an event line (its members come first, in a
 * fixed order: {"ts":...,"event":"NAME",...}). */
static bool event_is(const char *line, const char *name)
{
	const char *p = strstr(line, "\"event\":\"");
	size_t n = strlen(name);
	return p && strncmp(p + 9, name, n) == 0 && p[9 + n] == '"';
}

void cli_hooks_fire(const cli_hooks *h, art_runtime *rt, art_task *task, const char *line)
{
	if (!h->n || cli_hook_task(task))
		return;
	for (size_t i = 0; i < h->n; i++) {
		if (!event_is(line, h->v[i].event))
			continue;
		art_spec *spec = NULL;
		const char *argv[] = { "/bin/sh", "-c", h->v[i].cmd, NULL };
		size_t len = strlen(line);
		char *input = malloc(len + 2);
		art_error err = { 0 };
		int r = input && art_spec_new(&spec) == 0 ? 0 : -ENOMEM;
		if (r == 0) {
			memcpy(input, line, len);
			input[len] = '\n';
			r = art_spec_set_argv(spec, argv);
		}
		/* Their output goes to agentrt's stderr: stdout may carry
		 * records. */
		if (r == 0)
			r = art_spec_set_stdin(spec, ART_STDIN_BYTES, input, len + 1, NULL);
		if (r == 0)
			r = art_spec_set_output(spec, ART_STREAM_STDOUT, ART_OUTPUT_FILE, 0, "/dev/stderr", 1);
		if (r == 0)
			r = art_spec_set_output(spec, ART_STREAM_STDERR, ART_OUTPUT_INHERIT, 0, NULL, 0);
		if (r == 0)
			r = art_spec_set_group(spec, HOOK_GROUP);
		if (r == 0)
			r = art_runtime_submit(rt, spec, NULL, NULL, &err);
		if (r < 0 && !cli_quiet)
			cli_error("--on %s: cannot run \"%s\": %s", h->v[i].event, h->v[i].cmd,
				  err.msg[0] ? err.msg : strerror(-r));
		art_spec_free(spec);
		free(input);
	}
}

void cli_hooks_free(cli_hooks *h)
{
	free(h->v);
	h->v = NULL;
	h->n = 0;
}
