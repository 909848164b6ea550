/* SPDX-License-Identifier: MIT */
/*
 * jsonscan: checks that a line is one well-formed JSON object (RFC 8259)
 * without building it, and finds its top-level "id". For session lines
 * (core/session.c), which the core reads without jansson (layering, see
 * docs/ARCHITECTURE.md). No allocation, no recursion: nesting is tracked
 * in a bit stack, JSONSCAN_DEPTH_MAX levels deep at most.
 */
#ifndef ART_BASE_JSONSCAN_H
#define ART_BASE_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JSONSCAN_DEPTH_MAX 1024

typedef enum json_id_kind {
	JSON_ID_NONE = 0,
	JSON_ID_STRING,  /* the token with its quotes, escapes not decoded */
	JSON_ID_INTEGER, /* -?digits, no fraction or exponent */
} json_id_kind;

typedef struct json_id {
	json_id_kind kind;
	const char *p; /* into the scanned text */
	size_t len;
} json_id;

/* true when s[0..len) is exactly one JSON object, whitespace around it
 * allowed: strings in valid UTF-8, escapes and numbers as the grammar
 * says. id (may be NULL) receives the value of the last top-level "id"
 * member when it is a string or an integer, else JSON_ID_NONE. */
bool json_object_scan(const char *s, size_t len, json_id *id);

/* Decodes a string token that json_object_scan accepted (quotes
 * included) into out, which has room for len bytes (never more are
 * needed); lone surrogates become U+FFFD. Returns the decoded length, or
 * -1 when it holds a NUL (it cannot be a C string). No terminator. */
long json_string_decode(const char *tok, size_t len, char *out);

#endif
