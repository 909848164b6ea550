/* SPDX-License-Identifier: MIT */
/* art_spec_from_json: the JSON task spec of docs/spec.md. A thin client of
 * the core: the spec is built only through the public setters. Every error
 * names the field by its path ("limits.memory", "cmd[1]") and the reason. */
#include <agentrt.h>

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"

#define PATH_MAX_LEN 160
#define SHOW_MAX 64

typedef struct parser {
	art_spec *spec;
	art_error *err;
} parser;

static void spec_freep(art_spec **s)
{
	art_spec_free(*s);
}

__attribute__((format(printf, 4, 5))) static int fail(parser *p, int code, const char *path,
						       const char *fmt, ...)
{
	char reason[ART_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return art_error_set(p->err, code, "%s: %s", path, reason);
}

/* A setter refused a value that was checked here first: only memory is
 * expected to run out, but say something either way. */
static int setter_failed(parser *p, const char *path, int r)
{
	if (r == -ENOMEM)
		return art_error_set(p->err, r, "out of memory");
	return fail(p, r, path, "invalid value");
}

typedef struct bounded {
	char *buf;
	size_t size, used;
	bool full;
} bounded;

static int bounded_put(const char *data, size_t n, void *userdata)
{
	bounded *b = userdata;
	size_t room = b->size - b->used;

	if (n > room) {
		memcpy(b->buf + b->used, data, room);
		b->used = b->size;
		b->full = true;
		return -1; /* stops the dump: nothing more fits */
	}
	memcpy(b->buf + b->used, data, n);
	b->used += n;
	return 0;
}

/* A value as JSON text, for messages ("12Q" with its quotes, -3, 1.5),
 * shortened to a few dozen bytes. */
static const char *show(const json_t *v, char buf[static SHOW_MAX])
{
	bounded b = { .buf = buf, .size = SHOW_MAX - 4 };

	int r = json_dump_callback(v, bounded_put, &b, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));

	if (r < 0 && !b.full)
		return "the value";
	if (b.full) {
		/* Do not cut a UTF-8 character in two. */
		while (b.used > 0 && ((unsigned char)buf[b.used - 1] & 0xc0) == 0x80)
			b.used--;
		if (b.used > 0 && ((unsigned char)buf[b.used - 1] & 0x80))
			b.used--;
		memcpy(buf + b.used, "...", 3);
		b.used += 3;
	}
	buf[b.used] = 0;
	return buf;
}

/* A path that does not fit is cut short: it is only for reading. */
static const char *join(char buf[static PATH_MAX_LEN], const char *parent, const char *key)
{
	if (snprintf(buf, PATH_MAX_LEN, "%s.%s", parent, key) >= PATH_MAX_LEN)
		memcpy(buf + PATH_MAX_LEN - 4, "...", 4);
	return buf;
}

static const char *index_path(char buf[static PATH_MAX_LEN], const char *parent, size_t i)
{
	if (snprintf(buf, PATH_MAX_LEN, "%s[%zu]", parent, i) >= PATH_MAX_LEN)
		memcpy(buf + PATH_MAX_LEN - 4, "...", 4);
	return buf;
}

static int expect_object(parser *p, const char *path, const json_t *v)
{
	return json_is_object(v) ? 0 : fail(p, -EINVAL, path, "must be an object");
}

static int get_nonempty_string(parser *p, const char *path, const json_t *v, const char **out)
{
	if (!json_is_string(v))
		return fail(p, -EINVAL, path, "must be a string");
	if (json_string_length(v) == 0)
		return fail(p, -EINVAL, path, "must not be empty");
	*out = json_string_value(v);
	return 0;
}

static int negative(parser *p, const char *path, const json_t *v)
{
	char shown[SHOW_MAX];
	return fail(p, -EINVAL, path, "%s is negative", show(v, shown));
}

static int too_large(parser *p, const char *path, const json_t *v)
{
	char shown[SHOW_MAX];
	return fail(p, -EINVAL, path, "%s is too large", show(v, shown));
}

/* A duration string ("250ms") or a number of seconds. */
static int get_duration(parser *p, const char *path, const json_t *v, int64_t *out)
{
	char shown[SHOW_MAX];

	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		int64_t ignored;
		int r = art_parse_duration(s, out);
		if (r == -ERANGE)
			return too_large(p, path, v);
		if (r < 0 && s[0] == '-' && art_parse_duration(s + 1, &ignored) == 0)
			return negative(p, path, v);
		if (r < 0)
			return fail(p, -EINVAL, path, "%s is not a duration", show(v, shown));
		return 0;
	}
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return negative(p, path, v);
		if (i > INT64_MAX / NSEC_PER_SEC)
			return too_large(p, path, v);
		*out = (int64_t)i * NSEC_PER_SEC;
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d < 0)
			return negative(p, path, v);
		/* 9.2e18 ns stays clear of INT64_MAX after rounding. */
		if (d * 1e9 >= 9.2e18)
			return too_large(p, path, v);
		*out = (int64_t)(d * 1e9 + 0.5);
		return 0;
	}
	return fail(p, -EINVAL, path, "must be a duration (\"30s\") or a number of seconds");
}

/* A whole non-negative number: a JSON integer, or a real without a
 * fraction (1e6, or 1024.0 from a serializer that writes every number so). */
static int get_whole(parser *p, const char *path, const json_t *v, uint64_t *out)
{
	char shown[SHOW_MAX];

	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return negative(p, path, v);
		*out = (uint64_t)i;
		return 0;
	}
	double d = json_real_value(v);
	if (d < 0)
		return negative(p, path, v);
	if (d >= 18446744073709551616.0)
		return too_large(p, path, v);
	if ((double)(uint64_t)d != d)
		return fail(p, -EINVAL, path, "%s is not a whole number", show(v, shown));
	*out = (uint64_t)d;
	return 0;
}

/* A size string ("512M") or a number of bytes. */
static int get_size(parser *p, const char *path, const json_t *v, uint64_t *out)
{
	char shown[SHOW_MAX];

	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		uint64_t ignored;
		int r = art_parse_size(s, out);
		if (r == -ERANGE)
			return too_large(p, path, v);
		if (r < 0 && s[0] == '-' && art_parse_size(s + 1, &ignored) == 0)
			return negative(p, path, v);
		if (r < 0)
			return fail(p, -EINVAL, path, "%s is not a size", show(v, shown));
		return 0;
	}
	if (json_is_number(v))
		return get_whole(p, path, v, out);
	return fail(p, -EINVAL, path, "must be a size (\"512M\") or a number of bytes");
}

static int get_count(parser *p, const char *path, const json_t *v, uint64_t *out)
{
	if (!json_is_number(v))
		return fail(p, -EINVAL, path, "must be a non-negative integer");
	return get_whole(p, path, v, out);
}

/* ------------------------------------------------------------ fields */

static int parse_id(parser *p, const char *path, json_t *v)
{
	const char *id = NULL;
	int r;

	if (json_is_null(v))
		return 0;
	r = get_nonempty_string(p, path, v, &id);
	if (r < 0)
		return r;
	r = art_spec_set_id(p->spec, id);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

/* A command: a string (run by /bin/sh -c) or an array of strings. *argv
 * is malloc'd, its strings borrowed from v. */
static int get_argv(parser *p, const char *path, const json_t *v, const char ***argv)
{
	char sub[PATH_MAX_LEN];
	if (json_is_string(v)) {
		if (json_string_length(v) == 0)
			return fail(p, -EINVAL, path, "must not be empty");
		const char **sh = calloc(4, sizeof(*sh));
		if (!sh)
			return art_error_set(p->err, -ENOMEM, "out of memory");
		sh[0] = "/bin/sh";
		sh[1] = "-c";
		sh[2] = json_string_value(v);
		*argv = sh;
		return 0;
	}
	if (!json_is_array(v))
		return fail(p, -EINVAL, path, "must be a string or an array of strings");
	size_t n = json_array_size(v);
	if (n == 0)
		return fail(p, -EINVAL, path, "must not be empty");
	_cleanup_free_ const char **a = calloc(n + 1, sizeof(*a));
	if (!a)
		return art_error_set(p->err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		if (!json_is_string(e))
			return fail(p, -EINVAL, index_path(sub, path, i), "must be a string");
		if (i == 0 && json_string_length(e) == 0)
			return fail(p, -EINVAL, index_path(sub, path, i), "must not be empty");
		a[i] = json_string_value(e);
	}
	*argv = steal_ptr(&a);
	return 0;
}

static int parse_cmd(parser *p, const char *path, json_t *v)
{
	_cleanup_free_ const char **argv = NULL;
	int r = get_argv(p, path, v, &argv);
	if (r < 0)
		return r;
	r = art_spec_set_argv(p->spec, argv);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

static bool env_name_ok(const char *name)
{
	return name[0] && !strchr(name, '=');
}

static int parse_env(parser *p, const char *path, json_t *v)
{
	char sub[PATH_MAX_LEN], shown[SHOW_MAX];
	const char *name;
	json_t *val;
	int r;

	if (json_is_null(v))
		return 0;
	r = expect_object(p, path, v);
	if (r < 0)
		return r;
	json_object_foreach(v, name, val) {
		if (!env_name_ok(name)) {
			json_t *k = json_string(name);
			r = fail(p, -EINVAL, path, "%s is not a variable name",
				 k ? show(k, shown) : "the name");
			json_decref(k);
			return r;
		}
		if (!json_is_string(val) && !json_is_null(val))
			return fail(p, -EINVAL, join(sub, path, name), "must be a string or null");
		r = art_spec_env_set(p->spec, name, json_string_value(val));
		if (r < 0)
			return setter_failed(p, join(sub, path, name), r);
	}
	return 0;
}

static int parse_inherit_env(parser *p, const char *path, json_t *v)
{
	char sub[PATH_MAX_LEN], shown[SHOW_MAX];
	int r;

	if (json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		art_env_mode mode = json_is_true(v) ? ART_ENV_INHERIT : ART_ENV_CLEAR;
		r = art_spec_set_env_mode(p->spec, mode);
		return r < 0 ? setter_failed(p, path, r) : 0;
	}
	if (!json_is_array(v))
		return fail(p, -EINVAL, path, "must be true, false or an array of names");

	r = art_spec_set_env_mode(p->spec, ART_ENV_ALLOW);
	if (r < 0)
		return setter_failed(p, path, r);
	for (size_t i = 0; i < json_array_size(v); i++) {
		const json_t *a = json_array_get(v, i);
		index_path(sub, path, i);
		if (!json_is_string(a))
			return fail(p, -EINVAL, sub, "must be a string");
		const char *name = json_string_value(a);
		const char *star = strchr(name, '*');
		/* A '*' inside a name could never match: only a prefix ends in one. */
		if (!env_name_ok(name) || (star && star[1]))
			return fail(p, -EINVAL, sub, "%s is not a variable name or NAME*",
				    show(a, shown));
		r = art_spec_env_allow(p->spec, name);
		if (r < 0)
			return setter_failed(p, sub, r);
	}
	return 0;
}

static int parse_cwd(parser *p, const char *path, json_t *v)
{
	const char *cwd = NULL;
	int r;

	if (json_is_null(v))
		return 0;
	r = get_nonempty_string(p, path, v, &cwd);
	if (r < 0)
		return r;
	r = art_spec_set_cwd(p->spec, cwd);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* RFC 4648 base64, strictly: the standard alphabet, padding to a multiple
 * of 4, no whitespace, and the unused bits of the last group zero, so that
 * each byte string has exactly one spelling. */
static int base64_decode(const char *s, size_t len, char **out, size_t *out_len)
{
	size_t pad = 0, n = 0;

	if (len % 4)
		return -EINVAL;
	if (len && s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;

	_cleanup_free_ char *buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		size_t keep = i + 4 == len ? 4 - pad : 4;
		int c[4] = { 0 };
		for (size_t j = 0; j < keep; j++)
			if ((c[j] = base64_value((unsigned char)s[i + j])) < 0)
				return -EINVAL;
		uint32_t w = (uint32_t)c[0] << 18 | (uint32_t)c[1] << 12 | (uint32_t)c[2] << 6 |
			     (uint32_t)c[3];
		if ((keep == 2 && (w & 0xffff)) || (keep == 3 && (w & 0xff)))
			return -EINVAL;
		buf[n++] = (char)(w >> 16);
		if (keep > 2)
			buf[n++] = (char)(w >> 8);
		if (keep > 3)
			buf[n++] = (char)w;
	}
	*out = steal_ptr(&buf);
	*out_len = n;
	return 0;
}

static int parse_stdin(parser *p, const char *path, json_t *v)
{
	char sub[PATH_MAX_LEN], shown[SHOW_MAX];
	const char *key;
	json_t *val;
	int r;

	if (json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		static const struct {
			const char *name;
			art_stdin_mode mode;
		} modes[] = {
			{ "null", ART_STDIN_NULL },
			{ "inherit", ART_STDIN_INHERIT },
			{ "pipe", ART_STDIN_PIPE },
		};
		for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
			if (strcmp(json_string_value(v), modes[i].name) == 0) {
				r = art_spec_set_stdin(p->spec, modes[i].mode, NULL, 0, NULL);
				return r < 0 ? setter_failed(p, path, r) : 0;
			}
		return fail(p, -EINVAL, path, "%s is not one of null, inherit, pipe",
			    show(v, shown));
	}
	if (!json_is_object(v))
		return fail(p, -EINVAL, path, "must be null, \"inherit\", \"pipe\" or an object "
					      "with text, base64 or file");
	if (json_object_size(v) != 1)
		return fail(p, -EINVAL, path, "must have exactly one of text, base64, file");

	json_object_foreach(v, key, val) {
		join(sub, path, key);
		if (strcmp(key, "text") == 0) {
			if (!json_is_string(val))
				return fail(p, -EINVAL, sub, "must be a string");
			r = art_spec_set_stdin(p->spec, ART_STDIN_BYTES, json_string_value(val),
					       json_string_length(val), NULL);
		} else if (strcmp(key, "base64") == 0) {
			_cleanup_free_ char *data = NULL;
			size_t len;
			if (!json_is_string(val))
				return fail(p, -EINVAL, sub, "must be a string");
			r = base64_decode(json_string_value(val), json_string_length(val), &data,
					  &len);
			if (r == -EINVAL)
				return fail(p, r, sub, "not valid base64");
			if (r < 0)
				return setter_failed(p, sub, r);
			r = art_spec_set_stdin(p->spec, ART_STDIN_BYTES, data, len, NULL);
		} else if (strcmp(key, "file") == 0) {
			const char *file = NULL;
			r = get_nonempty_string(p, sub, val, &file);
			if (r < 0)
				return r;
			r = art_spec_set_stdin(p->spec, ART_STDIN_FILE, NULL, 0, file);
		} else
			return fail(p, -EINVAL, sub, "unknown field");
		if (r < 0)
			return setter_failed(p, sub, r);
	}
	return 0;
}

/* A duration field, handed to its setter. */
static int duration_field(parser *p, const char *path, const json_t *v,
			  int (*set)(art_spec *, int64_t))
{
	int64_t ns;
	if (json_is_null(v))
		return 0;
	int r = get_duration(p, path, v, &ns);
	if (r < 0)
		return r;
	r = set(p->spec, ns);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

static int parse_timeout(parser *p, const char *path, json_t *v)
{
	return duration_field(p, path, v, art_spec_set_timeout);
}

static int parse_grace(parser *p, const char *path, json_t *v)
{
	return duration_field(p, path, v, art_spec_set_grace);
}

/* A number of CPUs (1.5, or "1.5"), in thousandths. */
static int get_cpus(parser *p, const char *path, const json_t *v, uint64_t *out)
{
	char shown[SHOW_MAX];
	double d;
	if (json_is_number(v)) {
		d = json_number_value(v);
	} else if (json_is_string(v)) {
		char *end;
		d = strtod(json_string_value(v), &end);
		if (end == json_string_value(v) || *end)
			return fail(p, -EINVAL, path, "%s is not a number of CPUs", show(v, shown));
	} else {
		return fail(p, -EINVAL, path, "must be a number of CPUs (1.5)");
	}
	if (!(d >= 0.001) || d > 1e6)
		return fail(p, -EINVAL, path, "%s is not between 0.001 and 1000000 CPUs",
			    show(v, shown));
	*out = (uint64_t)(d * 1000 + 0.5);
	return 0;
}

static int parse_limits(parser *p, const char *path, json_t *v)
{
	static const struct {
		const char *name;
		art_limit limit;
		enum { SIZE, SECONDS, COUNT, CPUS } kind;
	} names[] = {
		{ "memory", ART_LIMIT_MEMORY, SIZE },
		{ "memory_high", ART_LIMIT_MEMORY_HIGH, SIZE },
		{ "swap", ART_LIMIT_SWAP, SIZE },
		{ "cpu", ART_LIMIT_CPU, CPUS },
		{ "cpu_weight", ART_LIMIT_CPU_WEIGHT, COUNT },
		{ "pids", ART_LIMIT_PIDS, COUNT },
		{ "io_weight", ART_LIMIT_IO_WEIGHT, COUNT },
		{ "output", ART_LIMIT_OUTPUT, SIZE },
		{ "address_space", ART_LIMIT_ADDRESS_SPACE, SIZE },
		{ "cpu_time", ART_LIMIT_CPU_TIME, SECONDS },
		{ "nofile", ART_LIMIT_NOFILE, COUNT },
		{ "nproc", ART_LIMIT_NPROC, COUNT },
		{ "file_size", ART_LIMIT_FILE_SIZE, SIZE },
		{ "core", ART_LIMIT_CORE, SIZE },
	};
	char sub[PATH_MAX_LEN];
	const char *key;
	json_t *val;
	int r;

	if (json_is_null(v))
		return 0;
	r = expect_object(p, path, v);
	if (r < 0)
		return r;
	json_object_foreach(v, key, val) {
		size_t i = 0;
		uint64_t value = 0;
		int64_t ns;

		join(sub, path, key);
		while (i < ARRAY_SIZE(names) && strcmp(names[i].name, key) != 0)
			i++;
		if (i == ARRAY_SIZE(names))
			return fail(p, -EINVAL, sub, "unknown field");
		if (json_is_null(val))
			continue;
		switch (names[i].kind) {
		case SIZE:
			r = get_size(p, sub, val, &value);
			break;
		case SECONDS:
			/* RLIMIT_CPU counts whole seconds, and 0 would be no time at all. */
			r = get_duration(p, sub, val, &ns);
			if (r < 0)
				break;
			value = (uint64_t)(ns / NSEC_PER_SEC) + (ns % NSEC_PER_SEC != 0);
			value = MAX(value, 1u);
			break;
		case COUNT:
			r = get_count(p, sub, val, &value);
			break;
		case CPUS:
			r = get_cpus(p, sub, val, &value);
			break;
		}
		if (r < 0)
			return r;
		r = art_spec_set_limit(p->spec, names[i].limit, value);
		if (r < 0)
			return setter_failed(p, sub, r);
	}
	return 0;
}

static int get_cap(parser *p, const char *path, const json_t *v, size_t *out)
{
	uint64_t cap;
	int r = get_size(p, path, v, &cap);
	if (r < 0)
		return r;
#if SIZE_MAX < UINT64_MAX
	if (cap > SIZE_MAX)
		return too_large(p, path, v);
#endif
	*out = (size_t)cap;
	return 0;
}

static int parse_stream(parser *p, const char *path, json_t *v, int stream, size_t cap)
{
	char sub[PATH_MAX_LEN], shown[SHOW_MAX];
	const char *key, *file = NULL;
	json_t *val;
	bool append = false, capture = false;
	int r;

	if (json_is_string(v)) {
		static const struct {
			const char *name;
			art_output_mode mode;
		} modes[] = {
			{ "capture", ART_OUTPUT_CAPTURE },
			{ "discard", ART_OUTPUT_DISCARD },
			{ "inherit", ART_OUTPUT_INHERIT },
		};
		for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
			if (strcmp(json_string_value(v), modes[i].name) == 0) {
				r = art_spec_set_output(p->spec, stream, modes[i].mode, cap, NULL,
							0);
				return r < 0 ? setter_failed(p, path, r) : 0;
			}
		return fail(p, -EINVAL, path, "%s is not one of capture, discard, inherit",
			    show(v, shown));
	}
	if (!json_is_object(v))
		return fail(p, -EINVAL, path, "must be \"capture\", \"discard\", \"inherit\" or "
					      "an object with file or capture");

	json_object_foreach(v, key, val) {
		join(sub, path, key);
		if (strcmp(key, "file") == 0)
			r = get_nonempty_string(p, sub, val, &file);
		else if (strcmp(key, "append") == 0) {
			r = json_is_boolean(val) ? 0 : fail(p, -EINVAL, sub, "must be a boolean");
			append = json_is_true(val);
		} else if (strcmp(key, "capture") == 0) {
			r = get_cap(p, sub, val, &cap);
			capture = true;
		} else
			r = fail(p, -EINVAL, sub, "unknown field");
		if (r < 0)
			return r;
	}
	if (file && capture)
		return fail(p, -EINVAL, path, "give either file or capture, not both");
	if (file)
		r = art_spec_set_output(p->spec, stream, ART_OUTPUT_FILE, 0, file, append);
	else if (capture && !json_object_get(v, "append"))
		r = art_spec_set_output(p->spec, stream, ART_OUTPUT_CAPTURE, cap, NULL, 0);
	else if (capture)
		return fail(p, -EINVAL, join(sub, path, "append"), "applies only to file");
	else
		return fail(p, -EINVAL, path, "must have file or capture");
	return r < 0 ? setter_failed(p, path, r) : 0;
}

static int parse_output(parser *p, const char *path, json_t *v)
{
	static const struct {
		const char *name;
		int stream;
	} streams[] = {
		{ "stdout", ART_STREAM_STDOUT },
		{ "stderr", ART_STREAM_STDERR },
	};
	char sub[PATH_MAX_LEN];
	size_t cap = ART_OUTPUT_CAP_DEFAULT;
	const char *key;
	json_t *val;
	int r;

	if (json_is_null(v))
		return 0;
	r = expect_object(p, path, v);
	if (r < 0)
		return r;
	json_object_foreach(v, key, val)
		if (strcmp(key, "stdout") != 0 && strcmp(key, "stderr") != 0 &&
		    strcmp(key, "cap") != 0)
			return fail(p, -EINVAL, join(sub, path, key), "unknown field");

	/* The default cap first, whatever the order of the keys. */
	val = json_object_get(v, "cap");
	if (val && !json_is_null(val)) {
		r = get_cap(p, join(sub, path, "cap"), val, &cap);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(streams); i++) {
		join(sub, path, streams[i].name);
		val = json_object_get(v, streams[i].name);
		if (val && !json_is_null(val)) {
			r = parse_stream(p, sub, val, streams[i].stream, cap);
			if (r < 0)
				return r;
			continue;
		}
		r = art_spec_set_output(p->spec, streams[i].stream, ART_OUTPUT_CAPTURE, cap, NULL,
					0);
		if (r < 0)
			return setter_failed(p, sub, r);
	}
	return 0;
}

/* ------------------------------------------------------------ sandbox */

static int get_bool(parser *p, const char *path, const json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return fail(p, -EINVAL, path, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

static int parse_level(parser *p, const char *path, const json_t *v)
{
	static const char *const names[] = { "none", "limits", "sandbox" };
	const char *s = NULL;
	int r = get_nonempty_string(p, path, v, &s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(names[i], s) == 0)
			return art_spec_set_sandbox(p->spec, (art_sandbox_level)i);
	return fail(p, -EINVAL, path, "\"%s\" is not a level (none, limits, sandbox)", s);
}

/* "SRC:DST[:rw|:ro]", "SRC" (same path inside) or {"source", "target", "rw"}. */
static int parse_bind(parser *p, const char *path, const json_t *v)
{
	char sub[PATH_MAX_LEN];
	const char *src = NULL, *dst = NULL;
	bool rw = false;
	_cleanup_free_ char *copy = NULL;
	int r;

	if (json_is_string(v)) {
		copy = strdup(json_string_value(v));
		if (!copy)
			return art_error_set(p->err, -ENOMEM, "out of memory");
		char *colon = strchr(copy, ':');
		src = copy;
		if (colon) {
			*colon = 0;
			dst = colon + 1;
			char *mode = strchr(dst, ':');
			if (mode) {
				*mode++ = 0;
				if (strcmp(mode, "rw") == 0)
					rw = true;
				else if (strcmp(mode, "ro") != 0)
					return fail(p, -EINVAL, path, "\"%s\": the mode is rw or ro",
						    mode);
			}
		}
		if (!dst || !*dst)
			dst = src;
	} else {
		r = expect_object(p, path, v);
		if (r < 0)
			return r;
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val) {
			join(sub, path, key);
			if (strcmp(key, "source") == 0)
				r = get_nonempty_string(p, sub, val, &src);
			else if (strcmp(key, "target") == 0)
				r = get_nonempty_string(p, sub, val, &dst);
			else if (strcmp(key, "rw") == 0)
				r = get_bool(p, sub, val, &rw);
			else
				r = fail(p, -EINVAL, sub, "unknown field");
			if (r < 0)
				return r;
		}
		if (!src)
			return fail(p, -EINVAL, path, "source is missing");
		if (!dst)
			dst = src;
	}
	if (src[0] != '/' || dst[0] != '/')
		return fail(p, -EINVAL, path, "source and target must be absolute paths");
	r = art_spec_add_bind(p->spec, src, dst, rw);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

/* "DST[:SIZE]" or {"target", "size"}. */
static int parse_tmpfs(parser *p, const char *path, const json_t *v)
{
	char sub[PATH_MAX_LEN];
	const char *dst = NULL;
	uint64_t size = 0;
	_cleanup_free_ char *copy = NULL;
	int r;

	if (json_is_string(v)) {
		copy = strdup(json_string_value(v));
		if (!copy)
			return art_error_set(p->err, -ENOMEM, "out of memory");
		char *colon = strchr(copy, ':');
		if (colon) {
			*colon = 0;
			if (art_parse_size(colon + 1, &size) < 0)
				return fail(p, -EINVAL, path, "\"%s\" is not a size", colon + 1);
		}
		dst = copy;
	} else {
		r = expect_object(p, path, v);
		if (r < 0)
			return r;
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val) {
			join(sub, path, key);
			if (strcmp(key, "target") == 0)
				r = get_nonempty_string(p, sub, val, &dst);
			else if (strcmp(key, "size") == 0)
				r = get_size(p, sub, val, &size);
			else
				r = fail(p, -EINVAL, sub, "unknown field");
			if (r < 0)
				return r;
		}
	}
	if (!dst || dst[0] != '/')
		return fail(p, -EINVAL, path, "the target must be an absolute path");
	r = art_spec_add_tmpfs(p->spec, dst, size);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

static int parse_list(parser *p, const char *path, const json_t *v,
		      int (*each)(parser *, const char *, const json_t *))
{
	char sub[PATH_MAX_LEN];
	size_t i;
	json_t *item;
	if (!json_is_array(v))
		return fail(p, -EINVAL, path, "must be an array");
	json_array_foreach(v, i, item) {
		int r = each(p, index_path(sub, path, i), item);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "BASE" or {"base", "target", "changes": "discard" | "keep" | "list"}. */
static int parse_workspace(parser *p, const char *path, const json_t *v)
{
	char sub[PATH_MAX_LEN];
	const char *base = NULL, *target = NULL;
	art_workspace_changes changes = ART_WORKSPACE_DISCARD;
	int r;
	if (json_is_string(v)) {
		base = json_string_value(v);
	} else {
		r = expect_object(p, path, v);
		if (r < 0)
			return r;
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val) {
			join(sub, path, key);
			const char *s = NULL;
			if (strcmp(key, "base") == 0) {
				r = get_nonempty_string(p, sub, val, &base);
			} else if (strcmp(key, "target") == 0) {
				r = get_nonempty_string(p, sub, val, &target);
			} else if (strcmp(key, "changes") == 0) {
				r = get_nonempty_string(p, sub, val, &s);
				if (r == 0 && strcmp(s, "keep") == 0)
					changes = ART_WORKSPACE_KEEP;
				else if (r == 0 && strcmp(s, "list") == 0)
					changes = ART_WORKSPACE_LIST;
				else if (r == 0 && strcmp(s, "discard") != 0)
					r = fail(p, -EINVAL, sub,
						 "\"%s\" is not one of discard, keep, list", s);
			} else {
				r = fail(p, -EINVAL, sub, "unknown field");
			}
			if (r < 0)
				return r;
		}
	}
	if (!base || base[0] != '/')
		return fail(p, -EINVAL, path, "base must be an absolute path");
	if (target && target[0] != '/')
		return fail(p, -EINVAL, path, "target must be an absolute path");
	r = art_spec_set_workspace(p->spec, base, target, changes);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

static int seccomp_allow_one(parser *p, const char *path, const json_t *v)
{
	const char *s = NULL;
	int r = get_nonempty_string(p, path, v, &s);
	return r < 0 ? r : art_spec_seccomp_allow(p->spec, s) < 0 ? setter_failed(p, path, -ENOMEM) : 0;
}

static int seccomp_deny_one(parser *p, const char *path, const json_t *v)
{
	const char *s = NULL;
	int r = get_nonempty_string(p, path, v, &s);
	return r < 0 ? r : art_spec_seccomp_deny(p->spec, s) < 0 ? setter_failed(p, path, -ENOMEM) : 0;
}

static int seccomp_profile(parser *p, const char *path, const json_t *v)
{
	const char *s = NULL;
	int r = get_nonempty_string(p, path, v, &s);
	if (r < 0)
		return r;
	if (art_spec_set_seccomp(p->spec, s) < 0)
		return fail(p, -EINVAL, path, "\"%s\" is not a profile (default, strict, none)", s);
	return 0;
}

/* "PROFILE" or {"profile", "allow": [...], "deny": [...]}. */
static int parse_seccomp(parser *p, const char *path, const json_t *v)
{
	char sub[PATH_MAX_LEN];
	if (json_is_string(v))
		return seccomp_profile(p, path, v);
	int r = expect_object(p, path, v);
	if (r < 0)
		return r;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)v, key, val) {
		join(sub, path, key);
		if (strcmp(key, "profile") == 0)
			r = seccomp_profile(p, sub, val);
		else if (strcmp(key, "allow") == 0)
			r = parse_list(p, sub, val, seccomp_allow_one);
		else if (strcmp(key, "deny") == 0)
			r = parse_list(p, sub, val, seccomp_deny_one);
		else
			r = fail(p, -EINVAL, sub, "unknown field");
		if (r < 0)
			return r;
	}
	return 0;
}

static int cap_one(parser *p, const char *path, const json_t *v)
{
	const char *s = NULL;
	int r = get_nonempty_string(p, path, v, &s);
	if (r < 0)
		return r;
	if (art_spec_add_cap(p->spec, s) < 0)
		return fail(p, -EINVAL, path, "\"%s\" is not a capability", s);
	return 0;
}

static int parse_sandbox(parser *p, const char *path, json_t *v)
{
	char sub[PATH_MAX_LEN];
	if (json_is_null(v))
		return 0;
	if (json_is_string(v))
		return parse_level(p, path, v);
	int r = expect_object(p, path, v);
	if (r < 0)
		return r;
	const char *key;
	json_t *val;
	json_object_foreach(v, key, val) {
		const char *s = NULL;
		uint64_t size = 0;
		bool b = false;
		join(sub, path, key);
		if (json_is_null(val))
			continue;
		if (strcmp(key, "level") == 0) {
			r = parse_level(p, sub, val);
		} else if (strcmp(key, "network") == 0) {
			r = get_nonempty_string(p, sub, val, &s);
			if (r == 0 && strcmp(s, "host") != 0 && strcmp(s, "none") != 0)
				r = fail(p, -EINVAL, sub, "\"%s\" is not none or host", s);
			if (r == 0)
				art_spec_set_network_host(p->spec, strcmp(s, "host") == 0);
		} else if (strcmp(key, "hostname") == 0) {
			r = get_nonempty_string(p, sub, val, &s);
			if (r == 0 && art_spec_set_hostname(p->spec, s) < 0)
				r = fail(p, -EINVAL, sub, "must be 1 to 64 characters");
		} else if (strcmp(key, "rootfs") == 0) {
			r = get_nonempty_string(p, sub, val, &s);
			if (r == 0 && art_spec_set_rootfs(p->spec, s) < 0)
				r = fail(p, -EINVAL, sub, "must be an absolute path");
		} else if (strcmp(key, "binds") == 0) {
			r = parse_list(p, sub, val, parse_bind);
		} else if (strcmp(key, "tmpfs") == 0) {
			r = parse_list(p, sub, val, parse_tmpfs);
		} else if (strcmp(key, "tmp_size") == 0) {
			r = get_size(p, sub, val, &size);
			if (r == 0)
				art_spec_set_tmp_size(p->spec, size);
		} else if (strcmp(key, "workspace") == 0) {
			r = parse_workspace(p, sub, val);
		} else if (strcmp(key, "seccomp") == 0) {
			r = parse_seccomp(p, sub, val);
		} else if (strcmp(key, "allow_userns") == 0) {
			r = get_bool(p, sub, val, &b);
			if (r == 0)
				art_spec_set_allow_userns(p->spec, b);
		} else if (strcmp(key, "caps") == 0) {
			r = parse_list(p, sub, val, cap_one);
		} else {
			r = fail(p, -EINVAL, sub, "unknown field");
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_labels(parser *p, const char *path, json_t *v)
{
	char sub[PATH_MAX_LEN];
	const char *key;
	json_t *val;
	int r;

	if (json_is_null(v))
		return 0;
	r = expect_object(p, path, v);
	if (r < 0)
		return r;
	json_object_foreach(v, key, val) {
		if (!key[0])
			return fail(p, -EINVAL, path, "a label name must not be empty");
		join(sub, path, key);
		if (!json_is_string(val))
			return fail(p, -EINVAL, sub, "must be a string");
		r = art_spec_set_label(p->spec, key, json_string_value(val));
		if (r < 0)
			return setter_failed(p, sub, r);
	}
	return 0;
}

/* ------------------------------------------------------------ scheduling */

/* An int; a whole real (5.0) is taken too, as get_whole takes one. */
static int get_int(parser *p, const char *path, const json_t *v, int *out)
{
	char shown[SHOW_MAX];

	if (!json_is_number(v))
		return fail(p, -EINVAL, path, "must be an integer");
	/* Exact for every int, and far enough for the range check. */
	double d = json_number_value(v);
	if (d < INT_MIN || d > INT_MAX)
		return fail(p, -EINVAL, path, "%s is out of range", show(v, shown));
	if ((double)(int)d != d)
		return fail(p, -EINVAL, path, "%s is not a whole number", show(v, shown));
	*out = (int)d;
	return 0;
}

static int get_priority_class(parser *p, const char *path, const json_t *v, art_priority *out)
{
	char shown[SHOW_MAX];

	if (!json_is_string(v))
		return fail(p, -EINVAL, path, "must be a string");
	if (art_priority_from_name(json_string_value(v), out) < 0)
		return fail(p, -EINVAL, path,
			    "%s is not one of low, normal, high, critical, emergency",
			    show(v, shown));
	return 0;
}

/* "high", or {"class": "high", "order": 5}. */
static int parse_priority(parser *p, const char *path, json_t *v)
{
	char sub[PATH_MAX_LEN];
	art_priority cls = ART_PRIORITY_NORMAL;
	int order = 0, r = 0;

	if (json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		r = get_priority_class(p, path, v, &cls);
	} else if (json_is_object(v)) {
		const char *key;
		json_t *val;
		json_object_foreach(v, key, val) {
			join(sub, path, key);
			if (strcmp(key, "class") == 0)
				r = json_is_null(val) ? 0 : get_priority_class(p, sub, val, &cls);
			else if (strcmp(key, "order") == 0)
				r = json_is_null(val) ? 0 : get_int(p, sub, val, &order);
			else
				r = fail(p, -EINVAL, sub, "unknown field");
			if (r < 0)
				return r;
		}
	} else {
		return fail(p, -EINVAL, path,
			    "must be a class (\"high\") or an object with class and order");
	}
	if (r < 0)
		return r;
	r = art_spec_set_priority(p->spec, cls, order);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

/* The setter's rules for group and kind ids, checked here so that the
 * message says which one failed. */
static int get_sched_name(parser *p, const char *path, const json_t *v, const char **out)
{
	const char *s = NULL;
	int r = get_nonempty_string(p, path, v, &s);
	if (r < 0)
		return r;
	if (json_string_length(v) > 128)
		return fail(p, -EINVAL, path, "must be at most 128 bytes");
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail(p, -EINVAL, path, "must not contain control characters");
	*out = s;
	return 0;
}

static int parse_group(parser *p, const char *path, json_t *v)
{
	const char *group = NULL;
	int r;

	if (json_is_null(v))
		return 0;
	r = get_sched_name(p, path, v, &group);
	if (r < 0)
		return r;
	r = art_spec_set_group(p->spec, group);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

static int parse_kind(parser *p, const char *path, json_t *v)
{
	const char *kind = NULL;
	int r;

	if (json_is_null(v))
		return 0;
	r = get_sched_name(p, path, v, &kind);
	if (r < 0)
		return r;
	r = art_spec_set_kind(p->spec, kind);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

/* "ID" (it must succeed) or {"id": ID, "condition": "ok" | "any" | "failed"}. */
static int dependency_one(parser *p, const char *path, const json_t *v)
{
	static const char *const conditions[] = {
		[ART_DEP_OK] = "ok",
		[ART_DEP_ANY] = "any",
		[ART_DEP_FAILED] = "failed",
	};
	char sub[PATH_MAX_LEN], shown[SHOW_MAX];
	const char *id = NULL;
	art_dep_condition cond = ART_DEP_OK;
	int r;

	if (json_is_string(v)) {
		r = get_nonempty_string(p, path, v, &id);
		if (r < 0)
			return r;
	} else if (json_is_object(v)) {
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val) {
			join(sub, path, key);
			if (json_is_null(val))
				continue;
			if (strcmp(key, "id") == 0) {
				r = get_nonempty_string(p, sub, val, &id);
			} else if (strcmp(key, "condition") == 0) {
				size_t i = 0;
				if (!json_is_string(val))
					return fail(p, -EINVAL, sub, "must be a string");
				while (i < ARRAY_SIZE(conditions) &&
				       strcmp(conditions[i], json_string_value(val)) != 0)
					i++;
				if (i == ARRAY_SIZE(conditions))
					return fail(p, -EINVAL, sub, "%s is not one of ok, any, failed",
						    show(val, shown));
				cond = (art_dep_condition)i;
				r = 0;
			} else {
				r = fail(p, -EINVAL, sub, "unknown field");
			}
			if (r < 0)
				return r;
		}
		if (!id)
			return fail(p, -EINVAL, path, "id is missing");
	} else {
		return fail(p, -EINVAL, path, "must be a string or an object");
	}
	r = art_spec_add_dependency(p->spec, id, cond);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

/* Whether the ids name tasks, and whether they form a cycle, is for the
 * runtime to say: it alone knows what else was submitted. */
static int parse_depends_on(parser *p, const char *path, json_t *v)
{
	if (json_is_null(v))
		return 0;
	/* A single dependency is the common case: no brackets needed. */
	if (json_is_string(v))
		return dependency_one(p, path, v);
	if (!json_is_array(v))
		return fail(p, -EINVAL, path, "must be a task id or an array of them");
	return parse_list(p, path, v, dependency_one);
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* Cores (0.5, "1.5") or millicores ("500m", as Kubernetes writes them), in
 * thousandths of a CPU. */
static int get_cpu_request(parser *p, const char *path, const json_t *v, int64_t *out)
{
	char shown[SHOW_MAX];
	double cores;

	if (json_is_number(v)) {
		cores = json_number_value(v);
	} else if (json_is_string(v)) {
		/* Decimal digits only: strtod alone would take " 1", "1e3", "inf"
		 * and hex. */
		const char *s = json_string_value(v);
		size_t n = strspn(s, "0123456789");
		if (n && strcmp(s + n, "m") == 0)
			cores = strtod(s, NULL) / 1000;
		else if (n && (!s[n] || (s[n] == '.' && all_digits(s + n + 1))))
			cores = strtod(s, NULL);
		else
			return fail(p, -EINVAL, path, "%s is not a number of CPUs or millicores",
				    show(v, shown));
	} else {
		return fail(p, -EINVAL, path,
			    "must be a number of CPUs (1.5) or millicores (\"500m\")");
	}
	if (!(cores >= 0.001) || cores > 1e6)
		return fail(p, -EINVAL, path, "%s is not between 0.001 and 1000000 CPUs",
			    show(v, shown));
	*out = (int64_t)(cores * 1000 + 0.5);
	return 0;
}

/* {"cpu": CPUS, "memory": SIZE}; what is left out stays undeclared. */
static int parse_requests(parser *p, const char *path, json_t *v)
{
	char sub[PATH_MAX_LEN];
	int64_t cpu = -1, memory = -1;
	const char *key;
	json_t *val;
	int r;

	if (json_is_null(v))
		return 0;
	r = expect_object(p, path, v);
	if (r < 0)
		return r;
	json_object_foreach(v, key, val) {
		uint64_t bytes = 0;

		join(sub, path, key);
		if (strcmp(key, "cpu") == 0) {
			r = json_is_null(val) ? 0 : get_cpu_request(p, sub, val, &cpu);
		} else if (strcmp(key, "memory") == 0) {
			r = json_is_null(val) ? 0 : get_size(p, sub, val, &bytes);
			if (r == 0 && bytes > INT64_MAX)
				r = too_large(p, sub, val);
			if (r == 0 && !json_is_null(val))
				memory = (int64_t)bytes;
		} else {
			r = fail(p, -EINVAL, sub, "unknown field");
		}
		if (r < 0)
			return r;
	}
	r = art_spec_set_requests(p->spec, cpu, memory);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

/* A task that always fails would otherwise hold a slot without end. */
#define RETRIES_MAX 1000

static int parse_retries(parser *p, const char *path, json_t *v)
{
	char shown[SHOW_MAX];
	uint64_t n = 0;
	int r;

	if (json_is_null(v))
		return 0;
	r = get_count(p, path, v, &n);
	if (r < 0)
		return r;
	if (n > RETRIES_MAX)
		return fail(p, -EINVAL, path, "%s is more than %d", show(v, shown), RETRIES_MAX);
	r = art_spec_set_retries(p->spec, (unsigned)n);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

/* A boolean field, handed to its setter. */
static int bool_field(parser *p, const char *path, const json_t *v, int (*set)(art_spec *, int))
{
	bool on = false;
	if (json_is_null(v))
		return 0;
	int r = get_bool(p, path, v, &on);
	if (r < 0)
		return r;
	r = set(p->spec, on);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

static int parse_session(parser *p, const char *path, json_t *v)
{
	return bool_field(p, path, v, art_spec_set_session);
}

/* "on-failure", or {"policy", "max_restarts", "window", "backoff",
 * "jitter", "reset", "success_exit_codes"} (docs/spec.md). */
static int parse_restart(parser *p, const char *path, json_t *v)
{
	char sub[PATH_MAX_LEN], shown[SHOW_MAX];
	const char *policy = NULL, *backoff = NULL, *key;
	uint64_t max_restarts = 10;
	int64_t window = 0, reset = -1;
	double jitter = 0.1;
	json_t *val;
	int r;

	if (json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		r = art_spec_set_restart(p->spec, json_string_value(v), 10, 0);
		if (r < 0)
			return fail(p, r, path, "%s is not one of never, on-failure, always",
				    show(v, shown));
		return 0;
	}
	r = expect_object(p, path, v);
	if (r < 0)
		return r;
	json_object_foreach(v, key, val) {
		join(sub, path, key);
		if (strcmp(key, "policy") == 0)
			r = get_nonempty_string(p, sub, val, &policy);
		else if (strcmp(key, "max_restarts") == 0)
			r = get_count(p, sub, val, &max_restarts);
		else if (strcmp(key, "window") == 0)
			r = get_duration(p, sub, val, &window);
		else if (strcmp(key, "reset") == 0)
			r = get_duration(p, sub, val, &reset);
		else if (strcmp(key, "backoff") == 0)
			r = get_nonempty_string(p, sub, val, &backoff);
		else if (strcmp(key, "jitter") == 0) {
			jitter = json_is_number(val) ? json_number_value(val) : -1;
			if (!(jitter >= 0 && jitter <= 1))
				r = fail(p, -EINVAL, sub, "%s is not a number from 0 to 1",
					 show(val, shown));
		} else if (strcmp(key, "success_exit_codes") == 0) {
			if (!json_is_array(val))
				r = fail(p, -EINVAL, sub, "must be an array of exit codes");
			for (size_t i = 0; r == 0 && i < json_array_size(val); i++) {
				json_t *c = json_array_get(val, i);
				char isub[PATH_MAX_LEN];
				if (!json_is_integer(c) || json_integer_value(c) < 0 ||
				    json_integer_value(c) > 255)
					r = fail(p, -EINVAL, index_path(isub, sub, i),
						 "%s is not an exit code (0 to 255)", show(c, shown));
				else if (art_spec_add_success_exit_code(p->spec,
									(int)json_integer_value(c)) < 0)
					r = fail(p, -EINVAL, index_path(isub, sub, i), "too many codes");
			}
		} else
			r = fail(p, -EINVAL, sub, "unknown field");
		if (r < 0)
			return r;
	}
	join(sub, path, "policy");
	if (max_restarts > 1024u)
		return fail(p, -EINVAL, path, "max_restarts: more than %u", 1024u);
	r = art_spec_set_restart(p->spec, policy ? policy : "on-failure", (unsigned)max_restarts,
				 window);
	if (r < 0)
		return fail(p, r, sub, "\"%s\" is not one of never, on-failure, always",
			    policy ? policy : "");
	join(sub, path, "backoff");
	if ((backoff || jitter != 0.1) &&
	    art_spec_set_backoff(p->spec, backoff ? backoff : "exponential:1s:60s", jitter) < 0)
		return fail(p, -EINVAL, sub, "\"%s\" is not KIND[:INITIAL[:MAX]] (fixed, linear, "
			    "exponential)", backoff ? backoff : "");
	if (reset >= 0)
		art_spec_set_restart_reset(p->spec, reset);
	return 0;
}

/* {"cmd", "interval", "timeout", "failures"} */
static int parse_health(parser *p, const char *path, json_t *v)
{
	char sub[PATH_MAX_LEN];
	_cleanup_free_ const char **argv = NULL;
	int64_t interval = 0, timeout = 0;
	uint64_t failures = 0;
	const char *key;
	json_t *val;
	int r;

	if (json_is_null(v))
		return 0;
	r = expect_object(p, path, v);
	if (r < 0)
		return r;
	json_object_foreach(v, key, val) {
		join(sub, path, key);
		if (strcmp(key, "cmd") == 0) {
			free(argv);
			argv = NULL;
			r = get_argv(p, sub, val, &argv);
		} else if (strcmp(key, "interval") == 0)
			r = get_duration(p, sub, val, &interval);
		else if (strcmp(key, "timeout") == 0)
			r = get_duration(p, sub, val, &timeout);
		else if (strcmp(key, "failures") == 0)
			r = get_count(p, sub, val, &failures);
		else
			r = fail(p, -EINVAL, sub, "unknown field");
		if (r < 0)
			return r;
	}
	if (!argv) {
		join(sub, path, "cmd");
		return fail(p, -EINVAL, sub, "required field is missing");
	}
	if (failures > 1000)
		return fail(p, -EINVAL, path, "failures: more than 1000");
	r = art_spec_set_health(p->spec, argv, interval, timeout, (unsigned)failures);
	return r < 0 ? setter_failed(p, path, r) : 0;
}

static int parse_watchdog(parser *p, const char *path, json_t *v)
{
	return duration_field(p, path, v, art_spec_set_watchdog);
}

static int parse_notify(parser *p, const char *path, json_t *v)
{
	return bool_field(p, path, v, art_spec_set_notify);
}

static const struct {
	const char *name;
	int (*parse)(parser *p, const char *path, json_t *v);
} fields[] = {
	{ "id", parse_id },
	{ "cmd", parse_cmd },
	{ "env", parse_env },
	{ "inherit_env", parse_inherit_env },
	{ "cwd", parse_cwd },
	{ "stdin", parse_stdin },
	{ "timeout", parse_timeout },
	{ "grace", parse_grace },
	{ "limits", parse_limits },
	{ "output", parse_output },
	{ "labels", parse_labels },
	{ "sandbox", parse_sandbox },
	{ "priority", parse_priority },
	{ "group", parse_group },
	{ "kind", parse_kind },
	{ "depends_on", parse_depends_on },
	{ "requests", parse_requests },
	{ "retries", parse_retries },
	{ "session", parse_session },
	{ "restart", parse_restart },
	{ "health", parse_health },
	{ "watchdog", parse_watchdog },
	{ "notify", parse_notify },
};

/* Fields that later versions will give a meaning: a spec that uses them
 * must not run as if they were not there. */
static const char *const reserved[] = {
	"hooks",
};

static int parse_field(parser *p, const char *key, json_t *v)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (strcmp(fields[i].name, key) == 0)
			return fields[i].parse(p, key, v);
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (strcmp(reserved[i], key) == 0)
			return fail(p, -EINVAL, key, "not supported by this version of agentrt");
	return fail(p, -EINVAL, key, "unknown field");
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	default:
		return "something else";
	}
}

int art_spec_from_json(const char *text, size_t len, art_spec **out, art_error *err)
{
	_cleanup_(spec_freep) art_spec *spec = NULL;
	_cleanup_(json_decrefp) json_t *root = NULL;
	json_error_t jerr;
	const char *key;
	json_t *v;
	int r;

	if (!text || !out)
		return art_error_set(err, -EINVAL, "no spec given");

	/* Any value decodes, so that a lone number or string gets the same
	 * message as an array. */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return art_error_set(err, -ENOMEM, "out of memory");
		if (jerr.line > 1)
			return art_error_set(err, -EINVAL, "invalid JSON at line %d, column %d: %s",
					     jerr.line, jerr.column, jerr.text);
		return art_error_set(err, -EINVAL, "invalid JSON at column %d: %s", jerr.column,
				     jerr.text);
	}
	if (!json_is_object(root))
		return art_error_set(err, -EINVAL, "a task must be a JSON object, not %s",
				     json_type_name(root));

	r = art_spec_new(&spec);
	if (r < 0)
		return art_error_set(err, r, "out of memory");
	parser p = { .spec = spec, .err = err };
	json_object_foreach(root, key, v) {
		r = parse_field(&p, key, v);
		if (r < 0)
			return r;
	}
	if (!art_spec_argv(spec))
		return fail(&p, -EINVAL, "cmd", "required field is missing");

	*out = steal_ptr(&spec);
	return 0;
}
