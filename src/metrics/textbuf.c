/* SPDX-License-Identifier: MIT */
#include "metrics/textbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for n more bytes and the NUL. */
static int reserve(textbuf *b, size_t n)
{
	if (b->err)
		return b->err;
	if (n > SIZE_MAX / 2 - b->len) {
		b->err = -ENOMEM;
		return b->err;
	}
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *d = realloc(b->data, cap);
	if (!d) {
		b->err = -ENOMEM;
		return b->err;
	}
	b->data = d;
	b->cap = cap;
	return 0;
}

void textbuf_put(textbuf *b, const char *s, size_t n)
{
	if (reserve(b, n) < 0)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

void textbuf_puts(textbuf *b, const char *s)
{
	textbuf_put(b, s, strlen(s));
}

void textbuf_putc(textbuf *b, char c)
{
	textbuf_put(b, &c, 1);
}

void textbuf_printf(textbuf *b, const char *fmt, ...)
{
	va_list ap;
	/* One try into the free space, which is enough almost always. */
	if (reserve(b, 64) < 0)
		return;
	size_t room = b->cap - b->len;
	va_start(ap, fmt);
	int n = vsnprintf(b->data + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = 0;
		b->err = -EINVAL;
		return;
	}
	if ((size_t)n >= room) {
		if (reserve(b, (size_t)n) < 0) {
			b->data[b->len] = 0;
			return;
		}
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

void textbuf_truncate(textbuf *b, size_t len)
{
	if (len < b->len)
		b->len = len;
	if (b->data)
		b->data[b->len] = 0;
	b->err = 0;
}

void textbuf_free(textbuf *b)
{
	free(b->data);
	*b = (textbuf){ 0 };
}
