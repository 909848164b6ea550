/* SPDX-License-Identifier: MIT */
/*
 * A small TAP harness for the unit tests. Each TEST runs in its own forked
 * process under a timeout (TAP_TIMEOUT seconds, default 20), so a crash or a
 * hang fails one test, not the run. prove(1) reads the output.
 *
 *   TEST(parses_sizes) { CHECK(x == 1); CHECK_EQ_INT(a, b); }
 *
 * A test skips itself with SKIP("reason") (exit 77, as systemd's tests do).
 */
#ifndef ART_TAP_H
#define ART_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*tap_fn)(void);
void tap_register(const char *name, tap_fn fn);

#define TEST(name)                                                          \
	static void name(void);                                             \
	__attribute__((constructor)) static void tap_register_##name(void)  \
	{                                                                   \
		tap_register(#name, name);                                  \
	}                                                                   \
	static void name(void)

#define CHECK(expr)                                                                  \
	do {                                                                         \
		if (!(expr)) {                                                       \
			fprintf(stderr, "# %s:%d: CHECK(%s) failed\n", __FILE__,     \
				__LINE__, #expr);                                    \
			exit(1);                                                     \
		}                                                                    \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                              \
	do {                                                                            \
		long long _a = (long long)(a), _b = (long long)(b);                     \
		if (_a != _b) {                                                         \
			fprintf(stderr, "# %s:%d: %s == %s failed: %lld != %lld\n",     \
				__FILE__, __LINE__, #a, #b, _a, _b);                    \
			exit(1);                                                        \
		}                                                                       \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                              \
	do {                                                                            \
		const char *_a = (a), *_b = (b);                                        \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                \
			fprintf(stderr, "# %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, #a, #b, _a ? _a : "(null)",         \
				_b ? _b : "(null)");                                    \
			exit(1);                                                        \
		}                                                                       \
	} while (0)

#define SKIP(reason)                                         \
	do {                                                 \
		fprintf(stdout, "%s\n", reason);             \
		fflush(stdout);                              \
		exit(77);                                    \
	} while (0)

#endif
