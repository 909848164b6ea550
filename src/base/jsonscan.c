/* SPDX-License-Identifier: MIT */
#include "base/jsonscan.h"

#include <stdint.h>
#include <string.h>

#include "base/jsonw.h"

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* p at the opening quote: the end of the string token, or NULL. */
static const char *scan_string(const char *p, const char *end)
{
	p++;
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (++p == end)
				return NULL;
			if (*p == 'u') {
				if (end - p < 5)
					return NULL;
				for (int i = 1; i <= 4; i++)
					if (hex_value(p[i]) < 0)
						return NULL;
				p += 5;
			} else if (strchr("\"\\/bfnrt", *p) && *p) {
				p++;
			} else {
				return NULL;
			}
		} else if (c < 0x80) {
			p++;
		} else {
			size_t n = utf8_seq_len((const unsigned char *)p, (size_t)(end - p));
			if (!n)
				return NULL;
			p += n;
		}
	}
	return NULL;
}

static const char *scan_digits(const char *p, const char *end)
{
	const char *start = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p == start ? NULL : p;
}

/* The end of the number at p, or NULL; *integer: no fraction or exponent. */
static const char *scan_number(const char *p, const char *end, bool *integer)
{
	*integer = true;
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (!(p = scan_digits(p, end)))
		return NULL;
	if (p < end && *p == '.') {
		*integer = false;
		if (!(p = scan_digits(p + 1, end)))
			return NULL;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		*integer = false;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!(p = scan_digits(p, end)))
			return NULL;
	}
	return p;
}

static const char *scan_literal(const char *p, const char *end)
{
	static const char *const words[] = { "true", "false", "null" };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(words[i]);
		if ((size_t)(end - p) >= n && memcmp(p, words[i], n) == 0)
			return p + n;
	}
	return NULL;
}

/* Whether a key token (quotes included) says "id", escaped or not. */
static bool key_is_id(const char *tok, size_t len)
{
	if (len == 4)
		return memcmp(tok, "\"id\"", 4) == 0;
	if (len > 14 || !memchr(tok, '\\', len))
		return false;
	char buf[16];
	long n = json_string_decode(tok, len, buf);
	return n == 2 && memcmp(buf, "id", 2) == 0;
}

typedef enum scan_state {
	S_KEY_OR_CLOSE,   /* after '{' */
	S_KEY,            /* after ',' in an object */
	S_VALUE_OR_CLOSE, /* after '[' */
	S_VALUE,
	S_AFTER_VALUE,
} scan_state;

bool json_object_scan(const char *s, size_t len, json_id *id)
{
	const char *p = s, *end = s + len;
	/* Bit d set: the container at depth d+1 is an object. */
	uint64_t objects[JSONSCAN_DEPTH_MAX / 64] = { 0 };
	size_t depth = 0;
	bool value_is_id = false;
	json_id found = { JSON_ID_NONE, NULL, 0 };

	p = skip_ws(p, end);
	if (p == end || *p != '{')
		return false;
	scan_state st = S_VALUE;
	for (;;) {
		p = skip_ws(p, end);
		if (p == end)
			return false;
		switch (st) {
		case S_KEY_OR_CLOSE:
		case S_VALUE_OR_CLOSE:
			if (*p == (st == S_KEY_OR_CLOSE ? '}' : ']')) {
				p++;
				if (--depth == 0)
					goto done;
				st = S_AFTER_VALUE;
				break;
			}
			st = st == S_KEY_OR_CLOSE ? S_KEY : S_VALUE;
			break;
		case S_KEY: {
			if (*p != '"')
				return false;
			const char *k = p;
			if (!(p = scan_string(p, end)))
				return false;
			value_is_id = depth == 1 && key_is_id(k, (size_t)(p - k));
			p = skip_ws(p, end);
			if (p == end || *p != ':')
				return false;
			p++;
			st = S_VALUE;
			break;
		}
		case S_VALUE: {
			const char *v = p;
			bool integer = false;
			json_id_kind kind = JSON_ID_NONE;
			if (*p == '{' || *p == '[') {
				if (depth == JSONSCAN_DEPTH_MAX)
					return false;
				uint64_t bit = UINT64_C(1) << (depth % 64);
				if (*p == '{')
					objects[depth / 64] |= bit;
				else
					objects[depth / 64] &= ~bit;
				st = *p == '{' ? S_KEY_OR_CLOSE : S_VALUE_OR_CLOSE;
				depth++;
				p++;
			} else {
				if (*p == '"') {
					p = scan_string(p, end);
					kind = JSON_ID_STRING;
				} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
					p = scan_number(p, end, &integer);
					kind = integer ? JSON_ID_INTEGER : JSON_ID_NONE;
				} else {
					p = scan_literal(p, end);
				}
				if (!p)
					return false;
				st = S_AFTER_VALUE;
			}
			/* The last "id" wins, as in most parsers; one of another
			 * type hides an earlier one. */
			if (value_is_id) {
				found = (json_id){ kind, kind ? v : NULL, kind ? (size_t)(p - v) : 0 };
				value_is_id = false;
			}
			break;
		}
		case S_AFTER_VALUE: {
			bool in_object = objects[(depth - 1) / 64] >> ((depth - 1) % 64) & 1;
			if (*p == ',') {
				st = in_object ? S_KEY : S_VALUE;
				p++;
			} else if (*p == (in_object ? '}' : ']')) {
				p++;
				if (--depth == 0)
					goto done;
			} else {
				return false;
			}
			break;
		}
		}
	}
done:
	if (skip_ws(p, end) != end)
		return false;
	if (id)
		*id = found;
	return true;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static uint32_t hex4(const char *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 4 | (uint32_t)hex_value(p[i]);
	return v;
}

long json_string_decode(const char *tok, size_t len, char *out)
{
	const char *p = tok + 1, *end = tok + len - 1; /* inside the quotes */
	size_t n = 0;
	while (p < end) {
		if (*p != '\\') {
			if (*p == 0)
				return -1;
			out[n++] = *p++;
			continue;
		}
		p++;
		char c = *p++;
		switch (c) {
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			uint32_t cp = hex4(p);
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && end - p >= 6 && p[0] == '\\' &&
			    p[1] == 'u') {
				uint32_t lo = hex4(p + 2);
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			if (cp == 0)
				return -1;
			n += put_utf8(out + n, cp);
			break;
		}
		default: /* " \ / */
			out[n++] = c;
		}
	}
	return (long)n;
}
