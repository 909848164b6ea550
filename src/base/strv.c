/* SPDX-License-Identifier: MIT */
#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int strv_push_take(strv *sv, char *s)
{
	if (!s)
		return -ENOMEM;
	if (sv->n + 2 > sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 4;
		char **v = realloc(sv->v, cap * sizeof(*v));
		if (!v) {
			free(s);
			return -ENOMEM;
		}
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

int strv_push(strv *sv, const char *s)
{
	return strv_push_take(sv, strdup(s));
}

void strv_remove(strv *sv, size_t i)
{
	if (i >= sv->n)
		return;
	free(sv->v[i]);
	memmove(&sv->v[i], &sv->v[i + 1], (sv->n - i) * sizeof(char *));
	sv->n--;
}

int strv_copy(strv *dst, const strv *src)
{
	strv out = { 0 };
	for (size_t i = 0; i < src->n; i++) {
		int r = strv_push(&out, src->v[i]);
		if (r < 0) {
			strv_clear(&out);
			return r;
		}
	}
	strv_clear(dst);
	*dst = out;
	return 0;
}

void strv_clear(strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}
