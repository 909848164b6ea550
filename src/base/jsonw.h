/* SPDX-License-Identifier: MIT */
/*
 * jsonw: builds one-line JSON objects into a reusable buffer, for events
 * and logs that are written often and must not cost an allocation each.
 *
 *   jsonw w = { 0 };
 *   jsonw_begin(&w);
 *   jsonw_str(&w, "event", "started");
 *   jsonw_int(&w, "pid", pid);
 *   const char *line = jsonw_end(&w);   (NULL after an allocation failure)
 *   ...
 *   jsonw_free(&w);
 *
 * Numbers are formatted without printf's %f, so a host's LC_NUMERIC (a
 * decimal comma) never reaches the output. Strings are written as UTF-8:
 * each byte that is not part of a valid sequence becomes U+FFFD.
 */
#ifndef ART_BASE_JSONW_H
#define ART_BASE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct jsonw {
	char *buf;
	size_t len, cap;
	bool oom;   /* an append failed: jsonw_end returns NULL */
	bool first; /* no member yet in the current object */
} jsonw;

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0: no overlong
 * forms, no surrogates, nothing past U+10FFFF. n > 0 bytes are readable. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Starts a new object, reusing the buffer. */
void jsonw_begin(jsonw *w);
/* Closes the object; the text (no newline) stays valid until the next
 * jsonw_begin or jsonw_free. NULL if memory ran out on the way. */
const char *jsonw_end(jsonw *w);
void jsonw_free(jsonw *w);

/* Members. s NULL writes null. */
void jsonw_str(jsonw *w, const char *key, const char *s);
void jsonw_strn(jsonw *w, const char *key, const char *s, size_t len);
void jsonw_int(jsonw *w, const char *key, int64_t v);
void jsonw_uint(jsonw *w, const char *key, uint64_t v);
void jsonw_bool(jsonw *w, const char *key, bool v);
void jsonw_null(jsonw *w, const char *key);
/* v / 10^decimals written with exactly `decimals` digits after the point
 * (decimals 0..9): jsonw_fixed(w, "wall_s", ns, 9) writes seconds. */
void jsonw_fixed(jsonw *w, const char *key, int64_t v, unsigned decimals);
/* A nested object: jsonw_obj_begin(w, "requested_by") ... jsonw_obj_end(w). */
void jsonw_obj_begin(jsonw *w, const char *key);
void jsonw_obj_end(jsonw *w);

#endif
