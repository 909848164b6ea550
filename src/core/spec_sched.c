/* SPDX-License-Identifier: MIT */
/* art_spec: the scheduling settings (docs/scheduling.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"
#include "core/taskspec.h"

void spec_sched_init(spec_sched *sc)
{
	*sc = (spec_sched){ .priority = ART_PRIORITY_NORMAL, .cpu_request = -1, .memory_request = -1 };
}

void spec_sched_free(spec_sched *sc)
{
	free(sc->group);
	free(sc->kind);
	for (size_t i = 0; i < sc->n_deps; i++)
		free(sc->deps[i].id);
	free(sc->deps);
	spec_sched_init(sc);
}

int spec_sched_copy(spec_sched *dst, const spec_sched *src)
{
	spec_sched c = *src;
	c.group = c.kind = NULL;
	c.deps = NULL;
	c.n_deps = 0;
	if ((src->group && !(c.group = strdup(src->group))) ||
	    (src->kind && !(c.kind = strdup(src->kind))))
		goto oom;
	if (src->n_deps) {
		if (!(c.deps = calloc(src->n_deps, sizeof(*c.deps))))
			goto oom;
		for (; c.n_deps < src->n_deps; c.n_deps++) {
			c.deps[c.n_deps].cond = src->deps[c.n_deps].cond;
			if (!(c.deps[c.n_deps].id = strdup(src->deps[c.n_deps].id)))
				goto oom;
		}
	}
	*dst = c;
	return 0;
oom:
	spec_sched_free(&c);
	return -ENOMEM;
}

static const char *const priority_names[] = {
	[ART_PRIORITY_LOW] = "low",
	[ART_PRIORITY_NORMAL] = "normal",
	[ART_PRIORITY_HIGH] = "high",
	[ART_PRIORITY_CRITICAL] = "critical",
	[ART_PRIORITY_EMERGENCY] = "emergency",
};

const char *art_priority_name(art_priority p)
{
	return (unsigned)p < ARRAY_SIZE(priority_names) ? priority_names[p] : "unknown";
}

int art_priority_from_name(const char *name, art_priority *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(priority_names); i++)
		if (strcmp(name, priority_names[i]) == 0) {
			*out = (art_priority)i;
			return 0;
		}
	return -EINVAL;
}

int art_spec_set_priority(art_spec *s, art_priority priority, int order)
{
	if ((unsigned)priority > ART_PRIORITY_EMERGENCY)
		return -EINVAL;
	s->sched.priority = priority;
	s->sched.order = order;
	return 0;
}

art_priority art_spec_priority(const art_spec *s, int *order)
{
	if (order)
		*order = s->sched.order;
	return s->sched.priority;
}

/* Group and kind ids become label values and appear in messages: short,
 * printable, no control characters. */
static int set_name(char **field, const char *name)
{
	if (name) {
		size_t n = strlen(name);
		if (!n || n > 128)
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
				return -EINVAL;
	}
	char *copy = NULL;
	if (name && !(copy = strdup(name)))
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

int art_spec_set_group(art_spec *s, const char *group)
{
	return set_name(&s->sched.group, group);
}

const char *art_spec_group(const art_spec *s)
{
	return s->sched.group;
}

int art_spec_set_kind(art_spec *s, const char *kind)
{
	return set_name(&s->sched.kind, kind);
}

const char *art_spec_kind(const art_spec *s)
{
	return s->sched.kind;
}

int art_spec_add_dependency(art_spec *s, const char *id, art_dep_condition cond)
{
	if (!id || !*id || (unsigned)cond > ART_DEP_FAILED)
		return -EINVAL;
	spec_dep *d = reallocarray(s->sched.deps, s->sched.n_deps + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	s->sched.deps = d;
	char *copy = strdup(id);
	if (!copy)
		return -ENOMEM;
	d[s->sched.n_deps++] = (spec_dep){ .id = copy, .cond = cond };
	return 0;
}

size_t art_spec_dependency_count(const art_spec *s)
{
	return s->sched.n_deps;
}

int art_spec_dependency_at(const art_spec *s, size_t i, const char **id,
			   art_dep_condition *cond)
{
	if (i >= s->sched.n_deps)
		return -ENOENT;
	*id = s->sched.deps[i].id;
	*cond = s->sched.deps[i].cond;
	return 0;
}

int art_spec_set_requests(art_spec *s, int64_t cpu_milli, int64_t memory)
{
	if (cpu_milli < -1 || memory < -1)
		return -EINVAL;
	s->sched.cpu_request = cpu_milli;
	s->sched.memory_request = memory;
	return 0;
}

int art_spec_set_retries(art_spec *s, unsigned retries)
{
	s->sched.retries = retries;
	return 0;
}

unsigned art_spec_retries(const art_spec *s)
{
	return s->sched.retries;
}
