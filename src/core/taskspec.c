/* SPDX-License-Identifier: MIT */
/* art_spec: setters and getters. Every setter validates and copies, and
 * leaves the spec as it was when it fails. */
#include "core/taskspec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"

static int dup_or_null(const char *s, char **out)
{
	char *copy = NULL;
	if (s && !(copy = strdup(s)))
		return -ENOMEM;
	free(*out);
	*out = copy;
	return 0;
}

int art_spec_new(art_spec **out)
{
	art_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->grace_ns = SPEC_GRACE_DEFAULT_NS;
	spec_sched_init(&s->sched);
	spec_supervise_init(&s->sup);
	for (int i = 0; i < 2; i++) {
		s->out[i].mode = ART_OUTPUT_CAPTURE;
		s->out[i].cap = ART_OUTPUT_CAP_DEFAULT;
	}
	*out = s;
	return 0;
}

void art_spec_free(art_spec *s)
{
	if (!s)
		return;
	free(s->id);
	strv_clear(&s->argv);
	strv_clear(&s->env_allow);
	strv_clear(&s->env_set);
	free(s->cwd);
	free(s->stdin_data);
	free(s->stdin_path);
	for (int i = 0; i < 2; i++)
		free(s->out[i].path);
	spec_sandbox_free(&s->sb);
	spec_sched_free(&s->sched);
	spec_supervise_free(&s->sup);
	strv_clear(&s->label_keys);
	strv_clear(&s->label_values);
	free(s);
}

static void spec_freep(art_spec **s)
{
	art_spec_free(*s);
}

int art_spec_clone(const art_spec *src, art_spec **out)
{
	_cleanup_(spec_freep) art_spec *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (art_spec){
		.env_mode = src->env_mode,
		.stdin_mode = src->stdin_mode,
		.stdin_len = src->stdin_len,
		.timeout_ns = src->timeout_ns,
		.grace_ns = src->grace_ns,
		.limits_set = src->limits_set,
		.session = src->session,
	};
	memcpy(s->limits, src->limits, sizeof(s->limits));
	for (int i = 0; i < 2; i++) {
		s->out[i] = src->out[i];
		s->out[i].path = NULL;
		if (dup_or_null(src->out[i].path, &s->out[i].path) < 0)
			return -ENOMEM;
	}
	if (spec_sandbox_copy(&s->sb, &src->sb) < 0 || spec_sched_copy(&s->sched, &src->sched) < 0 ||
	    spec_supervise_copy(&s->sup, &src->sup) < 0)
		return -ENOMEM;
	if (dup_or_null(src->id, &s->id) < 0 || dup_or_null(src->cwd, &s->cwd) < 0 ||
	    dup_or_null(src->stdin_path, &s->stdin_path) < 0 ||
	    strv_copy(&s->argv, &src->argv) < 0 || strv_copy(&s->env_allow, &src->env_allow) < 0 ||
	    strv_copy(&s->env_set, &src->env_set) < 0 ||
	    strv_copy(&s->label_keys, &src->label_keys) < 0 ||
	    strv_copy(&s->label_values, &src->label_values) < 0)
		return -ENOMEM;
	if (src->stdin_data) {
		s->stdin_data = malloc(src->stdin_len ? src->stdin_len : 1);
		if (!s->stdin_data)
			return -ENOMEM;
		memcpy(s->stdin_data, src->stdin_data, src->stdin_len);
	}
	*out = steal_ptr(&s);
	return 0;
}

int art_spec_set_id(art_spec *s, const char *id)
{
	return dup_or_null(id, &s->id);
}

const char *art_spec_id(const art_spec *s)
{
	return s->id;
}

int art_spec_set_argv(art_spec *s, const char *const *argv)
{
	if (!argv || !argv[0] || !argv[0][0])
		return -EINVAL;
	strv v = { 0 };
	for (size_t i = 0; argv[i]; i++) {
		int r = strv_push(&v, argv[i]);
		if (r < 0) {
			strv_clear(&v);
			return r;
		}
	}
	strv_clear(&s->argv);
	s->argv = v;
	return 0;
}

const char *const *art_spec_argv(const art_spec *s)
{
	return (const char *const *)s->argv.v;
}

const char *art_spec_cwd(const art_spec *s)
{
	return s->cwd;
}

int art_spec_set_env_mode(art_spec *s, art_env_mode mode)
{
	if (mode > ART_ENV_ALLOW)
		return -EINVAL;
	s->env_mode = mode;
	return 0;
}

static bool env_name_valid(const char *name)
{
	return name && name[0] && !strchr(name, '=');
}

int art_spec_env_allow(art_spec *s, const char *name)
{
	if (!env_name_valid(name))
		return -EINVAL;
	return strv_push(&s->env_allow, name);
}

int art_spec_env_set(art_spec *s, const char *name, const char *value)
{
	if (!env_name_valid(name))
		return -EINVAL;
	size_t nlen = strlen(name);
	char *entry = malloc(nlen + (value ? strlen(value) + 2 : 1));
	if (!entry)
		return -ENOMEM;
	strcpy(entry, name);
	if (value) {
		entry[nlen] = '=';
		strcpy(entry + nlen + 1, value);
	}
	/* The last setting of a name wins: drop an earlier one. */
	for (size_t i = 0; i < s->env_set.n; i++) {
		const char *e = s->env_set.v[i];
		if (strncmp(e, name, nlen) == 0 && (e[nlen] == '=' || e[nlen] == 0)) {
			strv_remove(&s->env_set, i);
			break;
		}
	}
	return strv_push_take(&s->env_set, entry);
}

int art_spec_set_cwd(art_spec *s, const char *path)
{
	if (path && !path[0])
		return -EINVAL;
	return dup_or_null(path, &s->cwd);
}

int art_spec_set_stdin(art_spec *s, art_stdin_mode mode, const void *data, size_t len,
		       const char *path)
{
	char *copy = NULL, *pcopy = NULL;
	switch (mode) {
	case ART_STDIN_NULL:
	case ART_STDIN_INHERIT:
	case ART_STDIN_PIPE:
		break;
	case ART_STDIN_BYTES:
		if (!data && len)
			return -EINVAL;
		if (!(copy = malloc(len ? len : 1)))
			return -ENOMEM;
		if (len)
			memcpy(copy, data, len);
		break;
	case ART_STDIN_FILE:
		if (!path || !path[0])
			return -EINVAL;
		if (!(pcopy = strdup(path)))
			return -ENOMEM;
		break;
	default:
		return -EINVAL;
	}
	free(s->stdin_data);
	free(s->stdin_path);
	s->stdin_mode = mode;
	s->stdin_data = copy;
	s->stdin_len = copy ? len : 0;
	s->stdin_path = pcopy;
	return 0;
}

int art_spec_set_output(art_spec *s, int stream, art_output_mode mode, size_t cap,
			const char *path, int append)
{
	if (stream != ART_STREAM_STDOUT && stream != ART_STREAM_STDERR)
		return -EINVAL;
	if (mode > ART_OUTPUT_FILE || (mode == ART_OUTPUT_FILE && (!path || !path[0])))
		return -EINVAL;
	spec_output *o = &s->out[stream - 1];
	char *pcopy = NULL;
	if (mode == ART_OUTPUT_FILE && !(pcopy = strdup(path)))
		return -ENOMEM;
	free(o->path);
	*o = (spec_output){ .mode = mode, .cap = cap, .path = pcopy, .append = append != 0 };
	return 0;
}

int art_spec_set_timeout(art_spec *s, int64_t ns)
{
	if (ns < 0)
		return -EINVAL;
	s->timeout_ns = ns;
	return 0;
}

const char *art_spec_stdin_path(const art_spec *s)
{
	return s->stdin_mode == ART_STDIN_FILE ? s->stdin_path : NULL;
}

const char *art_spec_output_path(const art_spec *s, int stream)
{
	if (stream != ART_STREAM_STDOUT && stream != ART_STREAM_STDERR)
		return NULL;
	const spec_output *o = &s->out[stream - 1];
	return o->mode == ART_OUTPUT_FILE ? o->path : NULL;
}

int64_t art_spec_timeout(const art_spec *s)
{
	return s->timeout_ns;
}

int art_spec_set_grace(art_spec *s, int64_t ns)
{
	if (ns < 0)
		return -EINVAL;
	s->grace_ns = ns;
	return 0;
}

int spec_check_limit(art_limit limit, uint64_t value)
{
	if ((unsigned)limit >= ART_LIMIT__COUNT)
		return -EINVAL;
	if ((limit == ART_LIMIT_CPU_WEIGHT || limit == ART_LIMIT_IO_WEIGHT) &&
	    (value < 1 || value > 10000))
		return -EINVAL;
	if (limit == ART_LIMIT_CPU && (value < 1 || value > UINT32_MAX / 100))
		return -EINVAL;
	return 0;
}

int art_spec_set_limit(art_spec *s, art_limit limit, uint64_t value)
{
	int r = spec_check_limit(limit, value);
	if (r < 0)
		return r;
	s->limits[limit] = value;
	s->limits_set |= 1u << limit;
	return 0;
}

int art_spec_set_label(art_spec *s, const char *key, const char *value)
{
	if (!key || !key[0] || !value)
		return -EINVAL;
	for (size_t i = 0; i < s->label_keys.n; i++)
		if (strcmp(s->label_keys.v[i], key) == 0) {
			char *v = strdup(value);
			if (!v)
				return -ENOMEM;
			free(s->label_values.v[i]);
			s->label_values.v[i] = v;
			return 0;
		}
	int r = strv_push(&s->label_keys, key);
	if (r < 0)
		return r;
	r = strv_push(&s->label_values, value);
	if (r < 0)
		strv_remove(&s->label_keys, s->label_keys.n - 1);
	return r;
}

size_t art_spec_label_count(const art_spec *s)
{
	return s->label_keys.n;
}

int art_spec_label_at(const art_spec *s, size_t i, const char **key, const char **value)
{
	if (i >= s->label_keys.n)
		return -ERANGE;
	*key = s->label_keys.v[i];
	*value = s->label_values.v[i];
	return 0;
}
