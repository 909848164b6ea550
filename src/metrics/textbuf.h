/* SPDX-License-Identifier: MIT */
/*
 * A growable, NUL-terminated text buffer for exposition. Appends never fail
 * on their own: the first allocation failure is remembered (textbuf_error)
 * and later appends do nothing, so a writer checks once at the end.
 */
#ifndef ART_METRICS_TEXTBUF_H
#define ART_METRICS_TEXTBUF_H

#include <stddef.h>

typedef struct textbuf {
	char *data; /* NUL-terminated once anything was appended; may be NULL */
	size_t len;
	size_t cap;
	int err; /* 0 or -ENOMEM */
} textbuf;

void textbuf_put(textbuf *b, const char *s, size_t n);
void textbuf_puts(textbuf *b, const char *s);
void textbuf_putc(textbuf *b, char c);
__attribute__((format(printf, 2, 3))) void textbuf_printf(textbuf *b, const char *fmt, ...);
/* Cuts the text back to len bytes (len <= b->len) and forgets an error. */
void textbuf_truncate(textbuf *b, size_t len);
static inline int textbuf_error(const textbuf *b)
{
	return b->err;
}
void textbuf_free(textbuf *b);
#define _cleanup_textbuf_ __attribute__((cleanup(textbuf_free)))

#endif
