/* SPDX-License-Identifier: MIT */
/* art_parse_size and art_parse_duration: exact values, bad input, overflow. */
#include <agentrt.h>

#include <errno.h>

#include "tap.h"

static uint64_t size_of(const char *text)
{
	uint64_t v = 12345;
	int r = art_parse_size(text, &v);
	if (r < 0) {
		fprintf(stderr, "# art_parse_size(\"%s\") = %d\n", text, r);
		exit(1);
	}
	return v;
}

static int size_err(const char *text)
{
	uint64_t v = 12345;
	int r = art_parse_size(text, &v);
	CHECK(v == 12345); /* untouched on failure */
	return r;
}

static int64_t duration_of(const char *text)
{
	int64_t v = 12345;
	int r = art_parse_duration(text, &v);
	if (r < 0) {
		fprintf(stderr, "# art_parse_duration(\"%s\") = %d\n", text, r);
		exit(1);
	}
	return v;
}

static int duration_err(const char *text)
{
	int64_t v = 12345;
	int r = art_parse_duration(text, &v);
	CHECK(v == 12345);
	return r;
}

#define KIB UINT64_C(1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define TIB (GIB * 1024)

TEST(size_plain_bytes)
{
	CHECK(size_of("0") == 0);
	CHECK(size_of("4096") == 4096);
	CHECK(size_of("007") == 7);
	CHECK(size_of("4096B") == 4096);
	CHECK(size_of("18446744073709551615") == UINT64_MAX);
}

TEST(size_suffixes_are_powers_of_1024)
{
	CHECK(size_of("1k") == KIB);
	CHECK(size_of("1K") == KIB);
	CHECK(size_of("512M") == 512 * MIB);
	CHECK(size_of("512m") == 512 * MIB);
	CHECK(size_of("2G") == 2 * GIB);
	CHECK(size_of("2g") == 2 * GIB);
	CHECK(size_of("3T") == 3 * TIB);
	CHECK(size_of("3t") == 3 * TIB);
}

TEST(size_trailing_b_and_ib)
{
	CHECK(size_of("64KiB") == 64 * KIB);
	CHECK(size_of("64KB") == 64 * KIB);
	CHECK(size_of("10MB") == 10 * MIB);
	CHECK(size_of("10MiB") == 10 * MIB);
	CHECK(size_of("1GiB") == GIB);
	CHECK(size_of("1TiB") == TIB);
}

TEST(size_fractions_are_exact)
{
	CHECK(size_of("1.5G") == 1610612736);
	CHECK(size_of("1.5K") == 1536);
	CHECK(size_of("0.5M") == 512 * KIB);
	CHECK(size_of("0.25KiB") == 256);
	CHECK(size_of("2.000G") == 2 * GIB);
	CHECK(size_of("1.75T") == TIB + TIB / 2 + TIB / 4);
}

TEST(size_fractions_of_a_byte_are_dropped)
{
	/* 0.1 KiB is 102.4 bytes. */
	CHECK(size_of("0.1K") == 102);
	CHECK(size_of("0.1G") == 107374182);
	CHECK(size_of("0.999K") == 1022);
	/* Many digits still give the exact floor: 1/2^40 T is one byte. */
	CHECK(size_of("0.0000000000009094947017729282379150390625T") == 1);
	CHECK(size_of("0.0000000000009094947017729282379150390624T") == 0);
	CHECK(size_of("0.99999999999999999999999999999999K") == 1023);
}

TEST(size_bare_fraction_is_invalid)
{
	CHECK_EQ_INT(size_err("1.5"), -EINVAL);
	CHECK_EQ_INT(size_err("1.0"), -EINVAL);
	CHECK_EQ_INT(size_err("1.5B"), -EINVAL);
}

TEST(size_rejects_junk)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "1 K", "12Q", "K", "1KK", "1Ki", "1iB", "1.K",
		".5K", "1..5K", "1.5.K", "0x10", "1e3", "1b", "1kb", "1KIB", "one", "1,5K",
		"nan", "inf", "1\n", "1P", "1E",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = size_err(bad[i]);
		if (r != -EINVAL) {
			fprintf(stderr, "# \"%s\" gave %d\n", bad[i], r);
			exit(1);
		}
	}
}

TEST(size_null_is_invalid)
{
	uint64_t v;
	CHECK_EQ_INT(art_parse_size(NULL, &v), -EINVAL);
	CHECK_EQ_INT(art_parse_size("1", NULL), -EINVAL);
}

TEST(size_overflow_is_erange)
{
	CHECK_EQ_INT(size_err("18446744073709551616"), -ERANGE);
	CHECK_EQ_INT(size_err("99999999999999999999999999"), -ERANGE);
	CHECK_EQ_INT(size_err("16777216T"), -ERANGE); /* 2^64 */
	CHECK(size_of("16777215T") == 16777215 * TIB);
	CHECK(size_of("16777215.99999999999999999999T") == UINT64_MAX);
	CHECK_EQ_INT(size_err("17179869184G"), -ERANGE);
}

TEST(size_syntax_checked_before_range)
{
	/* A huge number with a bad unit is not a size at all. */
	CHECK_EQ_INT(size_err("99999999999999999999999999Q"), -EINVAL);
}

TEST(duration_bare_number_is_seconds)
{
	CHECK(duration_of("30") == 30 * INT64_C(1000000000));
	CHECK(duration_of("0") == 0);
	CHECK(duration_of("1.5") == 1500000000);
}

TEST(duration_units)
{
	CHECK(duration_of("10ns") == 10);
	CHECK(duration_of("100us") == 100000);
	CHECK(duration_of("250ms") == 250000000);
	CHECK(duration_of("30s") == INT64_C(30000000000));
	CHECK(duration_of("2m") == INT64_C(120000000000));
	CHECK(duration_of("2h") == INT64_C(7200000000000));
	CHECK(duration_of("1d") == INT64_C(86400000000000));
}

TEST(duration_fractions_are_exact)
{
	CHECK(duration_of("0.1s") == 100000000);
	CHECK(duration_of("0.1") == 100000000);
	CHECK(duration_of("0.3s") == 300000000);
	CHECK(duration_of("1.5s") == 1500000000);
	CHECK(duration_of("0.25m") == INT64_C(15000000000));
	CHECK(duration_of("1.5m") == INT64_C(90000000000));
	CHECK(duration_of("0.001ms") == 1000);
	CHECK(duration_of("1.000000001s") == 1000000001);
	CHECK(duration_of("0.5h") == INT64_C(1800000000000));
}

TEST(duration_fractions_of_a_nanosecond_are_dropped)
{
	CHECK(duration_of("1.9ns") == 1);
	CHECK(duration_of("0.0000000019s") == 1);
	CHECK(duration_of("0.0000000001") == 0);
}

TEST(duration_rejects_junk)
{
	static const char *const bad[] = {
		"", "-1", "-1s", "+1s", " 1s", "1s ", "1 s", "s", "1x", "1sec", "1S", "1M",
		"1.s", ".5s", "1h30m", "1e3", "1.5.5s", "ms", "1mss", "inf", "1µs",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = duration_err(bad[i]);
		if (r != -EINVAL) {
			fprintf(stderr, "# \"%s\" gave %d\n", bad[i], r);
			exit(1);
		}
	}
}

TEST(duration_null_is_invalid)
{
	int64_t v;
	CHECK_EQ_INT(art_parse_duration(NULL, &v), -EINVAL);
	CHECK_EQ_INT(art_parse_duration("1s", NULL), -EINVAL);
}

TEST(duration_overflow_is_erange)
{
	CHECK(duration_of("9223372036854775807ns") == INT64_MAX);
	CHECK_EQ_INT(duration_err("9223372036854775808ns"), -ERANGE);
	CHECK(duration_of("9223372036.854775807") == INT64_MAX);
	CHECK_EQ_INT(duration_err("9223372036.854775808"), -ERANGE);
	CHECK_EQ_INT(duration_err("106752d"), -ERANGE);
	CHECK(duration_of("106751d") == 106751 * INT64_C(86400000000000));
	CHECK_EQ_INT(duration_err("99999999999999999999999h"), -ERANGE);
}
