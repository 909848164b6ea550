/* SPDX-License-Identifier: MIT */
/* NULL-terminated string vectors that own their strings. */
#ifndef ART_BASE_STRV_H
#define ART_BASE_STRV_H

#include <stddef.h>

typedef struct strv {
	char **v; /* NULL-terminated, or NULL when empty */
	size_t n;
	size_t cap;
} strv;

/* Appends s, taking ownership (s is freed on failure too). */
int strv_push_take(strv *sv, char *s);
int strv_push(strv *sv, const char *s);
/* Removes entry i, freeing it, keeping the order. */
void strv_remove(strv *sv, size_t i);
int strv_copy(strv *dst, const strv *src);
void strv_clear(strv *sv);
static inline void strv_clearp(strv *sv)
{
	strv_clear(sv);
}
#define _cleanup_strv_ __attribute__((cleanup(strv_clearp)))

#endif
