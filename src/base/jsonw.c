/* SPDX-License-Identifier: MIT */
/* One-line JSON objects into a reusable buffer (see jsonw.h). */
#include "base/jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(jsonw *w, size_t n)
{
	if (w->oom)
		return false;
	if (w->cap - w->len > n)
		return true;
	size_t cap = w->cap ? w->cap : 256;
	while (cap - w->len <= n) {
		if (cap > SIZE_MAX / 2) {
			w->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(w->buf, cap);
	if (!p) {
		w->oom = true;
		return false;
	}
	w->buf = p;
	w->cap = cap;
	return true;
}

static void put(jsonw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

static void putc_(jsonw *w, char c)
{
	put(w, &c, 1);
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0: no overlong
 * forms, no surrogates, nothing past U+10FFFF. */
size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need;
}

static void put_string(jsonw *w, const char *str, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	/* The worst case (every byte a \u00XX) at once: one check per string. */
	if (len > (SIZE_MAX - 2) / 6 || !reserve(w, len * 6 + 2)) {
		w->oom = true;
		return;
	}
	char *o = w->buf + w->len;
	*o++ = '"';
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = utf8_seq_len(s + i, len - i);
			if (n) {
				memcpy(o, s + i, n);
				o += n;
				i += n;
			} else {
				memcpy(o, "\xef\xbf\xbd", 3); /* U+FFFD */
				o += 3;
				i++;
			}
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
		i++;
	}
	*o++ = '"';
	*o = 0;
	w->len = (size_t)(o - w->buf);
}

static void key(jsonw *w, const char *k)
{
	if (!w->first)
		putc_(w, ',');
	w->first = false;
	put_string(w, k, strlen(k));
	putc_(w, ':');
}

void jsonw_begin(jsonw *w)
{
	w->len = 0;
	w->oom = false;
	w->first = true;
	putc_(w, '{');
}

const char *jsonw_end(jsonw *w)
{
	putc_(w, '}');
	return w->oom ? NULL : w->buf;
}

void jsonw_free(jsonw *w)
{
	free(w->buf);
	*w = (jsonw){ 0 };
}

void jsonw_str(jsonw *w, const char *k, const char *s)
{
	if (!s) {
		jsonw_null(w, k);
		return;
	}
	jsonw_strn(w, k, s, strlen(s));
}

void jsonw_strn(jsonw *w, const char *k, const char *s, size_t len)
{
	key(w, k);
	put_string(w, s ? s : "", s ? len : 0);
}

void jsonw_int(jsonw *w, const char *k, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);
	key(w, k);
	put(w, num, (size_t)n);
}

void jsonw_uint(jsonw *w, const char *k, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);
	key(w, k);
	put(w, num, (size_t)n);
}

void jsonw_bool(jsonw *w, const char *k, bool v)
{
	key(w, k);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jsonw_null(jsonw *w, const char *k)
{
	key(w, k);
	put(w, "null", 4);
}

void jsonw_fixed(jsonw *w, const char *k, int64_t v, unsigned decimals)
{
	static const uint64_t pow10[] = { 1,	  10,	  100,	   1000,     10000,
					  100000, 1000000, 10000000, 100000000, 1000000000 };
	char num[48];
	if (decimals > 9)
		decimals = 9;
	/* The magnitude as unsigned: -INT64_MIN does not fit in int64_t. */
	uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	uint64_t unit = pow10[decimals];
	int n;
	if (decimals)
		n = snprintf(num, sizeof(num), "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "",
			     m / unit, (int)decimals, m % unit);
	else
		n = snprintf(num, sizeof(num), "%s%" PRIu64, v < 0 ? "-" : "", m);
	key(w, k);
	put(w, num, (size_t)n);
}

void jsonw_obj_begin(jsonw *w, const char *k)
{
	key(w, k);
	putc_(w, '{');
	w->first = true;
}

void jsonw_obj_end(jsonw *w)
{
	putc_(w, '}');
	w->first = false;
}
