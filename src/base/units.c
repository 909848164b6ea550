/* SPDX-License-Identifier: MIT */
/* Sizes ("1.5G") and durations ("250ms"). Numbers are parsed as decimal
 * digits, never through a double, so that "0.1s" is exactly 100000000 ns
 * and "1.5G" exactly 1610612736 bytes. */
#include <agentrt.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/macros.h"
#include "base/time.h"

/* A decimal number split into its parts: DIGITS [ "." DIGITS ]. */
typedef struct decimal {
	const char *int_digits;
	size_t int_len;
	const char *frac_digits; /* NULL without a "." */
	size_t frac_len;
	const char *rest; /* what follows: the unit */
} decimal;

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int decimal_split(const char *text, decimal *d)
{
	const char *p = text;

	*d = (decimal){ .int_digits = p };
	while (is_digit(*p))
		p++;
	d->int_len = (size_t)(p - text);
	if (d->int_len == 0)
		return -EINVAL; /* also "-1", "+1", " 1", ".5", "" */
	if (*p == '.') {
		d->frac_digits = ++p;
		while (is_digit(*p))
			p++;
		d->frac_len = (size_t)(p - d->frac_digits);
		if (d->frac_len == 0)
			return -EINVAL; /* "1." */
	}
	d->rest = p;
	return 0;
}

/* int_part * mult + floor(0.frac * mult), or -ERANGE past max. The fraction
 * is folded from its last digit up: floor((d + floor(x)) / 10) equals
 * floor((d + x) / 10) for a whole d, so the result is exact however many
 * digits there are, and nothing overflows since mult is far below max / 10. */
static int decimal_scale(const decimal *d, uint64_t mult, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < d->int_len; i++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(d->int_digits[i] - '0'), &v))
			return -ERANGE;
	if (__builtin_mul_overflow(v, mult, &v))
		return -ERANGE;

	uint64_t frac = 0;
	for (size_t i = d->frac_len; i > 0; i--)
		frac = ((uint64_t)(d->frac_digits[i - 1] - '0') * mult + frac) / 10;
	if (__builtin_add_overflow(v, frac, &v) || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int art_parse_size(const char *text, uint64_t *out)
{
	decimal d;
	uint64_t mult = 1, v;
	int r;

	if (!text || !out)
		return -EINVAL;
	r = decimal_split(text, &d);
	if (r < 0)
		return r;

	const char *u = d.rest;
	switch (*u) {
	case 'k': case 'K': mult = UINT64_C(1) << 10; u++; break;
	case 'm': case 'M': mult = UINT64_C(1) << 20; u++; break;
	case 'g': case 'G': mult = UINT64_C(1) << 30; u++; break;
	case 't': case 'T': mult = UINT64_C(1) << 40; u++; break;
	}
	/* "B" after any number, "iB" only after a multiplier ("64KiB"). */
	if (strcmp(u, "B") == 0 || (mult > 1 && strcmp(u, "iB") == 0))
		u += strlen(u);
	if (*u)
		return -EINVAL;
	/* Bytes are whole: a fraction needs a multiplier ("1.5K", not "1.5"). */
	if (d.frac_digits && mult == 1)
		return -EINVAL;

	r = decimal_scale(&d, mult, UINT64_MAX, &v);
	if (r < 0)
		return r;
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	int64_t ns;
} duration_units[] = {
	{ "ns", 1 },
	{ "us", NSEC_PER_USEC },
	{ "ms", NSEC_PER_MSEC },
	{ "s", NSEC_PER_SEC },
	{ "m", 60 * NSEC_PER_SEC },
	{ "h", 3600 * NSEC_PER_SEC },
	{ "d", 86400 * NSEC_PER_SEC },
};

int art_parse_duration(const char *text, int64_t *out_ns)
{
	decimal d;
	uint64_t v;
	int64_t mult = -1;
	int r;

	if (!text || !out_ns)
		return -EINVAL;
	r = decimal_split(text, &d);
	if (r < 0)
		return r;

	if (!*d.rest)
		mult = NSEC_PER_SEC;
	for (size_t i = 0; mult < 0 && i < ARRAY_SIZE(duration_units); i++)
		if (strcmp(d.rest, duration_units[i].name) == 0)
			mult = duration_units[i].ns;
	if (mult < 0)
		return -EINVAL;

	r = decimal_scale(&d, (uint64_t)mult, INT64_MAX, &v);
	if (r < 0)
		return r;
	*out_ns = (int64_t)v;
	return 0;
}
