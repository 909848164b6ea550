/* SPDX-License-Identifier: MIT */
/* The art_error object: a code and a message, with context prepended on the
 * way up (crun's style), so the library never needs to print. */
#include <agentrt.h>

#include "base/macros.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int art_error_set(art_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void art_error_prefix(art_error *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prefix[ART_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	size_t plen = MIN((size_t)n, sizeof(prefix) - 1);
	size_t mlen = strnlen(err->msg, sizeof(err->msg) - 1);
	if (plen + mlen >= sizeof(err->msg))
		mlen = sizeof(err->msg) - 1 - plen;
	memmove(err->msg + plen, err->msg, mlen);
	memcpy(err->msg, prefix, plen);
	err->msg[plen + mlen] = 0;
}

void art_error_clear(art_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = 0;
	}
}
