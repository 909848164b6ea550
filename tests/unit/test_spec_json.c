/* SPDX-License-Identifier: MIT */
/* The JSON task spec (art_spec_from_json), the result record
 * (art_result_to_json) and the result helpers of src/core/result.c. */
#include <agentrt.h>

#include <errno.h>
#include <jansson.h>
#include <signal.h>

#include "core/taskspec.h"
#include "tap.h"

#define SEC INT64_C(1000000000)

static art_spec *parse_at(int line, const char *json)
{
	art_spec *s = NULL;
	art_error err = { 0 };
	int r = art_spec_from_json(json, strlen(json), &s, &err);
	if (r < 0 || !s) {
		fprintf(stderr, "# line %d: %s: %d %s\n", line, json, r, err.msg);
		exit(1);
	}
	return s;
}
#define PARSE(json) parse_at(__LINE__, json)

static void error_at(int line, const char *json, const char *msg)
{
	art_spec *s = (art_spec *)(uintptr_t)0x1; /* must stay as it is */
	art_error err = { 0 };
	int r = art_spec_from_json(json, strlen(json), &s, &err);
	if (r != -EINVAL || err.code != -EINVAL || s != (art_spec *)(uintptr_t)0x1 ||
	    strcmp(err.msg, msg) != 0) {
		fprintf(stderr, "# line %d: %s\n#   gave %d \"%s\"\n#   want %d \"%s\"\n", line,
			json, r, err.msg, -EINVAL, msg);
		exit(1);
	}
}
#define ERR(json, msg) error_at(__LINE__, json, msg)

static size_t argc_of(const art_spec *s)
{
	size_t n = 0;
	for (const char *const *a = art_spec_argv(s); a && a[n];)
		n++;
	return n;
}

/* ------------------------------------------------------------ top level */

TEST(minimal_spec_has_defaults)
{
	art_spec *s = PARSE("{\"cmd\": [\"true\"]}");
	CHECK(art_spec_id(s) == NULL);
	CHECK_EQ_INT(argc_of(s), 1);
	CHECK_EQ_STR(art_spec_argv(s)[0], "true");
	CHECK_EQ_INT(s->env_mode, ART_ENV_INHERIT);
	CHECK_EQ_INT(s->env_set.n, 0);
	CHECK(s->cwd == NULL);
	CHECK_EQ_INT(s->stdin_mode, ART_STDIN_NULL);
	CHECK_EQ_INT(s->timeout_ns, 0);
	CHECK_EQ_INT(s->grace_ns, 5 * SEC);
	CHECK_EQ_INT(s->limits_set, 0);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_INT(s->out[i].mode, ART_OUTPUT_CAPTURE);
		CHECK_EQ_INT(s->out[i].cap, ART_OUTPUT_CAP_DEFAULT);
	}
	CHECK_EQ_INT(art_spec_label_count(s), 0);
	art_spec_free(s);
}

TEST(full_spec)
{
	art_spec *s = PARSE("{\"id\": \"t1\", \"cmd\": [\"python3\", \"-c\", \"print(1)\"],"
			    " \"env\": {\"A\": \"1\"}, \"inherit_env\": [\"PATH\"], \"cwd\": \"/tmp\","
			    " \"stdin\": {\"text\": \"x\"}, \"timeout\": \"30s\", \"grace\": 1,"
			    " \"limits\": {\"memory\": \"512M\", \"nofile\": 64},"
			    " \"output\": {\"stdout\": \"capture\", \"stderr\": \"discard\", \"cap\": \"1K\"},"
			    " \"labels\": {\"k\": \"v\"}}");
	CHECK_EQ_STR(art_spec_id(s), "t1");
	CHECK_EQ_INT(argc_of(s), 3);
	CHECK_EQ_STR(s->env_set.v[0], "A=1");
	CHECK_EQ_INT(s->env_mode, ART_ENV_ALLOW);
	CHECK_EQ_STR(s->cwd, "/tmp");
	CHECK_EQ_INT(s->stdin_mode, ART_STDIN_BYTES);
	CHECK_EQ_INT(s->timeout_ns, 30 * SEC);
	CHECK_EQ_INT(s->grace_ns, SEC);
	CHECK_EQ_INT(s->limits[ART_LIMIT_MEMORY], 512 << 20);
	CHECK_EQ_INT(s->limits[ART_LIMIT_NOFILE], 64);
	CHECK_EQ_INT(s->out[0].cap, 1024);
	CHECK_EQ_INT(s->out[1].mode, ART_OUTPUT_DISCARD);
	CHECK_EQ_INT(art_spec_label_count(s), 1);
	art_spec_free(s);
}

TEST(null_fields_mean_the_default)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"id\": null, \"env\": null, \"inherit_env\": null,"
			    " \"cwd\": null, \"stdin\": null, \"timeout\": null, \"grace\": null,"
			    " \"limits\": {\"memory\": null}, \"output\": {\"stdout\": null},"
			    " \"labels\": null}");
	CHECK(art_spec_id(s) == NULL);
	CHECK(s->cwd == NULL);
	CHECK_EQ_INT(s->env_mode, ART_ENV_INHERIT);
	CHECK_EQ_INT(s->grace_ns, 5 * SEC);
	CHECK_EQ_INT(s->limits_set, 0);
	CHECK_EQ_INT(s->out[0].mode, ART_OUTPUT_CAPTURE);
	art_spec_free(s);
}

TEST(unknown_field)
{
	ERR("{\"cmd\": \"x\", \"frobnicate\": 1}", "frobnicate: unknown field");
}

TEST(reserved_fields_are_rejected)
{
	static const char *const names[] = { "hooks" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char json[128], msg[128];
		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"%s\": 1}", names[i]);
		snprintf(msg, sizeof(msg), "%s: not supported by this version of agentrt", names[i]);
		ERR(json, msg);
	}
}

TEST(supervision_fields)
{
	art_spec *s = NULL;
	art_error err = { 0 };
	const char *ok[] = {
		"{\"cmd\": \"x\", \"restart\": \"on-failure\"}",
		"{\"cmd\": \"x\", \"restart\": {\"policy\": \"always\", \"max_restarts\": 5, "
		"\"window\": \"60s\", \"backoff\": \"exponential:1s:30s\", \"jitter\": 0, "
		"\"reset\": \"5m\", \"success_exit_codes\": [0, 3]}}",
		"{\"cmd\": \"x\", \"health\": {\"cmd\": [\"curl\", \"-f\", \"localhost\"], "
		"\"interval\": \"5s\", \"timeout\": \"1s\", \"failures\": 2}}",
		"{\"cmd\": \"x\", \"watchdog\": \"30s\", \"notify\": true}",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_EQ_INT(art_spec_from_json(ok[i], strlen(ok[i]), &s, &err), 0);
		art_spec_free(s);
		s = NULL;
	}
	ERR("{\"cmd\": \"x\", \"restart\": \"sometimes\"}",
	    "restart: \"sometimes\" is not one of never, on-failure, always");
	ERR("{\"cmd\": \"x\", \"restart\": {\"backoff\": \"quadratic:1s\"}}",
	    "restart.backoff: \"quadratic:1s\" is not KIND[:INITIAL[:MAX]] (fixed, linear, "
	    "exponential)");
	ERR("{\"cmd\": \"x\", \"restart\": {\"success_exit_codes\": [300]}}",
	    "restart.success_exit_codes[0]: 300 is not an exit code (0 to 255)");
	ERR("{\"cmd\": \"x\", \"restart\": {\"jitter\": 2}}",
	    "restart.jitter: 2 is not a number from 0 to 1");
	ERR("{\"cmd\": \"x\", \"health\": {\"interval\": \"5s\"}}",
	    "health.cmd: required field is missing");
	ERR("{\"cmd\": \"x\", \"health\": {\"cmd\": \"true\", \"every\": 1}}",
	    "health.every: unknown field");
	ERR("{\"cmd\": \"x\", \"watchdog\": -1}", "watchdog: -1 is negative");
}

TEST(first_error_in_document_order)
{
	ERR("{\"timeout\": -1, \"frobnicate\": 1, \"cmd\": \"x\"}", "timeout: -1 is negative");
	ERR("{\"frobnicate\": 1, \"timeout\": -1, \"cmd\": \"x\"}", "frobnicate: unknown field");
}

TEST(json_syntax_error_names_the_column)
{
	ERR("{\"cmd\": \"x\",}", "invalid JSON at column 13: string or '}' expected near '}'");
	ERR("{\"cmd\": [1,}", "invalid JSON at column 12: unexpected token near '}'");
	ERR("ls -l", "invalid JSON at column 2: invalid token near 'ls'");
	ERR("", "invalid JSON at column 0: unexpected token near end of file");
	ERR("{} {}", "invalid JSON at column 4: end of file expected near '{'");
}

TEST(json_syntax_error_on_a_later_line)
{
	ERR("{\"cmd\": \"x\",\n  \"id\": x}", "invalid JSON at line 2, column 9: invalid token near 'x'");
}

TEST(duplicate_keys_are_rejected)
{
	ERR("{\"cmd\": \"x\", \"cmd\": \"y\"}",
	    "invalid JSON at column 18: duplicate object key near '\"cmd\"'");
}

TEST(nul_in_a_string_is_rejected)
{
	ERR("{\"cmd\": \"a\\u0000b\"}",
	    "invalid JSON at column 18: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000b\"'");
}

TEST(top_level_must_be_an_object)
{
	ERR("[\"ls\"]", "a task must be a JSON object, not an array");
	ERR("\"ls\"", "a task must be a JSON object, not a string");
	ERR("42", "a task must be a JSON object, not a number");
	ERR("null", "a task must be a JSON object, not null");
}

TEST(length_is_honoured)
{
	const char text[] = "{\"cmd\": \"x\"}garbage";
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_from_json(text, 12, &s, NULL), 0);
	CHECK_EQ_STR(art_spec_argv(s)[2], "x");
	art_spec_free(s);
	CHECK_EQ_INT(art_spec_from_json(text, sizeof(text) - 1, &s, NULL), -EINVAL);
}

TEST(bad_arguments)
{
	art_spec *s = NULL;
	art_error err;
	CHECK_EQ_INT(art_spec_from_json(NULL, 0, &s, &err), -EINVAL);
	CHECK_EQ_INT(err.code, -EINVAL);
	CHECK_EQ_INT(art_spec_from_json("{}", 2, NULL, NULL), -EINVAL);
}

TEST(error_without_art_error)
{
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_from_json("{\"x\": 1}", 8, &s, NULL), -EINVAL);
	CHECK(s == NULL);
}

TEST(caller_adds_the_line)
{
	const char *json = "{\"cmd\": \"x\", \"limits\": {\"memory\": \"12Q\"}}";
	art_spec *s = NULL;
	art_error err;
	CHECK_EQ_INT(art_spec_from_json(json, strlen(json), &s, &err), -EINVAL);
	art_error_prefix(&err, "line %d: ", 4);
	CHECK_EQ_STR(err.msg, "line 4: limits.memory: \"12Q\" is not a size");
}

TEST(long_values_are_shortened_in_messages)
{
	char json[512], want[256];
	char big[201];
	memset(big, 'A', 200);
	big[200] = 0;
	snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"timeout\": \"%s\"}", big);
	/* 60 bytes of JSON text ("AAA...), then "...". */
	snprintf(want, sizeof(want), "timeout: \"%.59s... is not a duration", big);
	ERR(json, want);
}

TEST(shortened_values_keep_utf8_whole)
{
	/* '"', 58 'A's, then "é" (2 bytes) would straddle the cut at byte 60. */
	char json[512];
	art_spec *s = NULL;
	art_error err;
	snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"timeout\": \"%.58s\xc3\xa9zzzz\"}",
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	CHECK_EQ_INT(art_spec_from_json(json, strlen(json), &s, &err), -EINVAL);
	CHECK(strstr(err.msg, "AAAA... is not a duration") != NULL);
	CHECK(strchr(err.msg, '\xc3') == NULL);
}

/* ------------------------------------------------------------ id, cmd */

TEST(id)
{
	art_spec *s = PARSE("{\"id\": \"job-1\", \"cmd\": \"x\"}");
	CHECK_EQ_STR(art_spec_id(s), "job-1");
	art_spec_free(s);
	ERR("{\"id\": 1, \"cmd\": \"x\"}", "id: must be a string");
	ERR("{\"id\": \"\", \"cmd\": \"x\"}", "id: must not be empty");
}

TEST(cmd_array_is_argv)
{
	art_spec *s = PARSE("{\"cmd\": [\"ls\", \"-l\", \"\", \"a b\"]}");
	const char *const *argv = art_spec_argv(s);
	CHECK_EQ_INT(argc_of(s), 4);
	CHECK_EQ_STR(argv[0], "ls");
	CHECK_EQ_STR(argv[1], "-l");
	CHECK_EQ_STR(argv[2], "");
	CHECK_EQ_STR(argv[3], "a b");
	art_spec_free(s);
}

TEST(cmd_string_runs_in_sh)
{
	art_spec *s = PARSE("{\"cmd\": \"echo hi | wc -c\"}");
	const char *const *argv = art_spec_argv(s);
	CHECK_EQ_INT(argc_of(s), 3);
	CHECK_EQ_STR(argv[0], "/bin/sh");
	CHECK_EQ_STR(argv[1], "-c");
	CHECK_EQ_STR(argv[2], "echo hi | wc -c");
	art_spec_free(s);
}

TEST(cmd_errors)
{
	ERR("{}", "cmd: required field is missing");
	ERR("{\"id\": \"a\"}", "cmd: required field is missing");
	ERR("{\"cmd\": []}", "cmd: must not be empty");
	ERR("{\"cmd\": \"\"}", "cmd: must not be empty");
	ERR("{\"cmd\": [\"ls\", 1]}", "cmd[1]: must be a string");
	ERR("{\"cmd\": [\"\", \"x\"]}", "cmd[0]: must not be empty");
	ERR("{\"cmd\": 5}", "cmd: must be a string or an array of strings");
	ERR("{\"cmd\": null}", "cmd: must be a string or an array of strings");
	ERR("{\"cmd\": {\"a\": 1}}", "cmd: must be a string or an array of strings");
}

/* ------------------------------------------------------------ environment */

TEST(env_sets_and_unsets)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"env\": {\"A\": \"1\", \"B\": null, \"C\": \"\"}}");
	CHECK_EQ_INT(s->env_set.n, 3);
	CHECK_EQ_STR(s->env_set.v[0], "A=1");
	CHECK_EQ_STR(s->env_set.v[1], "B");
	CHECK_EQ_STR(s->env_set.v[2], "C=");
	art_spec_free(s);
}

TEST(env_errors)
{
	ERR("{\"cmd\": \"x\", \"env\": {\"A\": 1}}", "env.A: must be a string or null");
	ERR("{\"cmd\": \"x\", \"env\": {\"A=B\": \"x\"}}", "env: \"A=B\" is not a variable name");
	ERR("{\"cmd\": \"x\", \"env\": {\"\": \"x\"}}", "env: \"\" is not a variable name");
	ERR("{\"cmd\": \"x\", \"env\": [\"A=1\"]}", "env: must be an object");
}

TEST(inherit_env_modes)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"inherit_env\": false}");
	CHECK_EQ_INT(s->env_mode, ART_ENV_CLEAR);
	art_spec_free(s);
	s = PARSE("{\"cmd\": \"x\", \"inherit_env\": true}");
	CHECK_EQ_INT(s->env_mode, ART_ENV_INHERIT);
	art_spec_free(s);
	s = PARSE("{\"cmd\": \"x\", \"inherit_env\": [\"PATH\", \"LC_*\", \"*\"]}");
	CHECK_EQ_INT(s->env_mode, ART_ENV_ALLOW);
	CHECK_EQ_INT(s->env_allow.n, 3);
	CHECK_EQ_STR(s->env_allow.v[0], "PATH");
	CHECK_EQ_STR(s->env_allow.v[1], "LC_*");
	CHECK_EQ_STR(s->env_allow.v[2], "*");
	art_spec_free(s);
	s = PARSE("{\"cmd\": \"x\", \"inherit_env\": []}");
	CHECK_EQ_INT(s->env_mode, ART_ENV_ALLOW);
	CHECK_EQ_INT(s->env_allow.n, 0);
	art_spec_free(s);
}

TEST(inherit_env_errors)
{
	ERR("{\"cmd\": \"x\", \"inherit_env\": \"yes\"}",
	    "inherit_env: must be true, false or an array of names");
	ERR("{\"cmd\": \"x\", \"inherit_env\": [\"PATH\", 1]}", "inherit_env[1]: must be a string");
	ERR("{\"cmd\": \"x\", \"inherit_env\": [\"A*B\"]}",
	    "inherit_env[0]: \"A*B\" is not a variable name or NAME*");
	ERR("{\"cmd\": \"x\", \"inherit_env\": [\"A=B\"]}",
	    "inherit_env[0]: \"A=B\" is not a variable name or NAME*");
	ERR("{\"cmd\": \"x\", \"inherit_env\": [\"\"]}",
	    "inherit_env[0]: \"\" is not a variable name or NAME*");
}

/* ------------------------------------------------------------ cwd, stdin */

TEST(cwd)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"cwd\": \"/tmp\"}");
	CHECK_EQ_STR(s->cwd, "/tmp");
	art_spec_free(s);
	ERR("{\"cmd\": \"x\", \"cwd\": \"\"}", "cwd: must not be empty");
	ERR("{\"cmd\": \"x\", \"cwd\": 1}", "cwd: must be a string");
}

TEST(stdin_modes)
{
	static const struct {
		const char *json;
		art_stdin_mode mode;
	} cases[] = {
		{ "{\"cmd\": \"x\", \"stdin\": null}", ART_STDIN_NULL },
		{ "{\"cmd\": \"x\", \"stdin\": \"null\"}", ART_STDIN_NULL },
		{ "{\"cmd\": \"x\", \"stdin\": \"inherit\"}", ART_STDIN_INHERIT },
		{ "{\"cmd\": \"x\", \"stdin\": \"pipe\"}", ART_STDIN_PIPE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		art_spec *s = PARSE(cases[i].json);
		CHECK_EQ_INT(s->stdin_mode, cases[i].mode);
		art_spec_free(s);
	}
}

TEST(stdin_text)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"stdin\": {\"text\": \"h\\u00e9\\n\"}}");
	CHECK_EQ_INT(s->stdin_mode, ART_STDIN_BYTES);
	CHECK_EQ_INT(s->stdin_len, 4);
	CHECK(memcmp(s->stdin_data, "h\xc3\xa9\n", 4) == 0);
	art_spec_free(s);
	s = PARSE("{\"cmd\": \"x\", \"stdin\": {\"text\": \"\"}}");
	CHECK_EQ_INT(s->stdin_mode, ART_STDIN_BYTES);
	CHECK_EQ_INT(s->stdin_len, 0);
	art_spec_free(s);
}

TEST(stdin_base64)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"stdin\": {\"base64\": \"aGk=\"}}");
	CHECK_EQ_INT(s->stdin_mode, ART_STDIN_BYTES);
	CHECK_EQ_INT(s->stdin_len, 2);
	CHECK(memcmp(s->stdin_data, "hi", 2) == 0);
	art_spec_free(s);

	s = PARSE("{\"cmd\": \"x\", \"stdin\": {\"base64\": \"AP8A/+7d\"}}");
	CHECK_EQ_INT(s->stdin_len, 6);
	CHECK(memcmp(s->stdin_data, "\x00\xff\x00\xff\xee\xdd", 6) == 0);
	art_spec_free(s);

	s = PARSE("{\"cmd\": \"x\", \"stdin\": {\"base64\": \"YQ==\"}}");
	CHECK_EQ_INT(s->stdin_len, 1);
	CHECK(s->stdin_data[0] == 'a');
	art_spec_free(s);

	s = PARSE("{\"cmd\": \"x\", \"stdin\": {\"base64\": \"\"}}");
	CHECK_EQ_INT(s->stdin_mode, ART_STDIN_BYTES);
	CHECK_EQ_INT(s->stdin_len, 0);
	art_spec_free(s);
}

TEST(stdin_base64_is_strict)
{
	static const char *const bad[] = {
		"aGk",       /* not a multiple of 4 */
		"aGk=\\n",   /* whitespace */
		"aG k",      /* whitespace */
		"aGl=",      /* unused bits set */
		"YR==",      /* unused bits set */
		"a===",      /* too much padding */
		"====",
		"aGk=aGk=",  /* padding inside */
		"aG=k",
		"aGk-",      /* URL-safe alphabet */
		"aGk_",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char json[128];
		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"stdin\": {\"base64\": \"%s\"}}",
			 bad[i]);
		ERR(json, "stdin.base64: not valid base64");
	}
}

TEST(stdin_file)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"stdin\": {\"file\": \"/etc/hostname\"}}");
	CHECK_EQ_INT(s->stdin_mode, ART_STDIN_FILE);
	CHECK_EQ_STR(s->stdin_path, "/etc/hostname");
	art_spec_free(s);
}

TEST(stdin_errors)
{
	ERR("{\"cmd\": \"x\", \"stdin\": \"foo\"}", "stdin: \"foo\" is not one of null, inherit, pipe");
	ERR("{\"cmd\": \"x\", \"stdin\": 3}",
	    "stdin: must be null, \"inherit\", \"pipe\" or an object with text, base64 or file");
	ERR("{\"cmd\": \"x\", \"stdin\": {}}", "stdin: must have exactly one of text, base64, file");
	ERR("{\"cmd\": \"x\", \"stdin\": {\"text\": \"a\", \"file\": \"b\"}}",
	    "stdin: must have exactly one of text, base64, file");
	ERR("{\"cmd\": \"x\", \"stdin\": {\"path\": \"a\"}}", "stdin.path: unknown field");
	ERR("{\"cmd\": \"x\", \"stdin\": {\"text\": 1}}", "stdin.text: must be a string");
	ERR("{\"cmd\": \"x\", \"stdin\": {\"base64\": 1}}", "stdin.base64: must be a string");
	ERR("{\"cmd\": \"x\", \"stdin\": {\"file\": \"\"}}", "stdin.file: must not be empty");
	ERR("{\"cmd\": \"x\", \"stdin\": {\"file\": null}}", "stdin.file: must be a string");
}

/* ------------------------------------------------------------ timeout, grace */

static int64_t timeout_of(const char *value)
{
	char json[256];
	snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"timeout\": %s}", value);
	art_spec *s = PARSE(json);
	int64_t ns = s->timeout_ns;
	art_spec_free(s);
	return ns;
}

TEST(timeout_values)
{
	CHECK_EQ_INT(timeout_of("\"30s\""), 30 * SEC);
	CHECK_EQ_INT(timeout_of("\"250ms\""), 250000000);
	CHECK_EQ_INT(timeout_of("\"1.5m\""), 90 * SEC);
	CHECK_EQ_INT(timeout_of("\"10\""), 10 * SEC);
	CHECK_EQ_INT(timeout_of("2"), 2 * SEC);
	CHECK_EQ_INT(timeout_of("0"), 0);
	CHECK_EQ_INT(timeout_of("1.5"), 1500000000);
	CHECK_EQ_INT(timeout_of("0.1"), 100000000);
	CHECK_EQ_INT(timeout_of("0.3"), 300000000);
	CHECK_EQ_INT(timeout_of("2.0"), 2 * SEC);
	CHECK_EQ_INT(timeout_of("1e3"), 1000 * SEC);
	CHECK_EQ_INT(timeout_of("0.000000001"), 1);
}

TEST(grace_values)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"grace\": \"100ms\"}");
	CHECK_EQ_INT(s->grace_ns, 100000000);
	art_spec_free(s);
	s = PARSE("{\"cmd\": \"x\", \"grace\": 0}");
	CHECK_EQ_INT(s->grace_ns, 0);
	art_spec_free(s);
	s = PARSE("{\"cmd\": \"x\", \"grace\": 0.5}");
	CHECK_EQ_INT(s->grace_ns, 500000000);
	art_spec_free(s);
}

TEST(duration_errors)
{
	ERR("{\"cmd\": \"x\", \"timeout\": -3}", "timeout: -3 is negative");
	ERR("{\"cmd\": \"x\", \"timeout\": -0.5}", "timeout: -0.5 is negative");
	ERR("{\"cmd\": \"x\", \"timeout\": \"-3s\"}", "timeout: \"-3s\" is negative");
	ERR("{\"cmd\": \"x\", \"timeout\": \"3x\"}", "timeout: \"3x\" is not a duration");
	ERR("{\"cmd\": \"x\", \"timeout\": \"-x\"}", "timeout: \"-x\" is not a duration");
	ERR("{\"cmd\": \"x\", \"timeout\": \"\"}", "timeout: \"\" is not a duration");
	ERR("{\"cmd\": \"x\", \"timeout\": true}",
	    "timeout: must be a duration (\"30s\") or a number of seconds");
	ERR("{\"cmd\": \"x\", \"timeout\": [1]}",
	    "timeout: must be a duration (\"30s\") or a number of seconds");
	ERR("{\"cmd\": \"x\", \"timeout\": 1e300}", "timeout: 1e300 is too large");
	ERR("{\"cmd\": \"x\", \"timeout\": 9223372037}", "timeout: 9223372037 is too large");
	ERR("{\"cmd\": \"x\", \"timeout\": \"999999999d\"}", "timeout: \"999999999d\" is too large");
	ERR("{\"cmd\": \"x\", \"grace\": -1}", "grace: -1 is negative");
	ERR("{\"cmd\": \"x\", \"grace\": \"soon\"}", "grace: \"soon\" is not a duration");
}

/* ------------------------------------------------------------ limits */

static art_spec *limits(const char *obj)
{
	char json[512];
	snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"limits\": %s}", obj);
	return PARSE(json);
}

TEST(limit_memory_is_the_cgroup_limit)
{
	art_spec *s = limits("{\"memory\": \"512M\"}");
	CHECK_EQ_INT(s->limits_set, 1u << ART_LIMIT_MEMORY);
	CHECK_EQ_INT(s->limits[ART_LIMIT_MEMORY], 512 << 20);
	/* A cgroup limit makes the task's level "limits" unless one is set. */
	CHECK_EQ_INT(art_spec_sandbox(s), ART_SANDBOX_LIMITS);
	art_spec_free(s);
	s = limits("{\"address_space\": 1073741824}");
	CHECK_EQ_INT(s->limits_set, 1u << ART_LIMIT_ADDRESS_SPACE);
	CHECK_EQ_INT(s->limits[ART_LIMIT_ADDRESS_SPACE], 1 << 30);
	CHECK_EQ_INT(art_spec_sandbox(s), ART_SANDBOX_NONE);
	art_spec_free(s);
	s = limits("{\"memory\": \"1.5G\", \"address_space\": \"2G\"}");
	CHECK_EQ_INT(s->limits[ART_LIMIT_MEMORY], 1610612736);
	CHECK_EQ_INT(s->limits[ART_LIMIT_ADDRESS_SPACE], 2147483648);
	art_spec_free(s);
}

TEST(limit_cgroup_fields)
{
	art_spec *s = limits("{\"cpu\": 1.5, \"pids\": 64, \"cpu_weight\": 50, \"swap\": 0,"
			     " \"memory_high\": \"100M\", \"io_weight\": 200, \"output\": \"1M\"}");
	CHECK_EQ_INT(s->limits[ART_LIMIT_CPU], 1500);
	CHECK_EQ_INT(s->limits[ART_LIMIT_PIDS], 64);
	CHECK_EQ_INT(s->limits[ART_LIMIT_CPU_WEIGHT], 50);
	CHECK(s->limits_set & (1u << ART_LIMIT_SWAP));
	CHECK_EQ_INT(s->limits[ART_LIMIT_MEMORY_HIGH], 100 << 20);
	CHECK_EQ_INT(s->limits[ART_LIMIT_IO_WEIGHT], 200);
	CHECK_EQ_INT(s->limits[ART_LIMIT_OUTPUT], 1 << 20);
	art_spec_free(s);
	s = limits("{\"cpu\": \"0.25\"}");
	CHECK_EQ_INT(s->limits[ART_LIMIT_CPU], 250);
	art_spec_free(s);
	ERR("{\"cmd\": \"x\", \"limits\": {\"cpu\": 0}}",
	    "limits.cpu: 0 is not between 0.001 and 1000000 CPUs");
	ERR("{\"cmd\": \"x\", \"limits\": {\"cpu_weight\": 0}}", "limits.cpu_weight: invalid value");
}

TEST(sandbox_object)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"sandbox\": {\"level\": \"sandbox\","
			    " \"network\": \"host\", \"hostname\": \"box\", \"rootfs\": \"/srv/root\","
			    " \"binds\": [\"/data:/in\", \"/out:/out:rw\","
			    " {\"source\": \"/a\", \"target\": \"/b\", \"rw\": true}],"
			    " \"tmpfs\": [\"/scratch:16M\", {\"target\": \"/t2\"}], \"tmp_size\": \"8M\","
			    " \"workspace\": {\"base\": \"/repo\", \"changes\": \"list\"},"
			    " \"seccomp\": {\"profile\": \"strict\", \"allow\": [\"ptrace\"],"
			    " \"deny\": [\"chdir\"]}, \"allow_userns\": true, \"caps\": [\"net_bind_service\"]}}");
	const spec_sandbox *sb = &s->sb;
	CHECK_EQ_INT(art_spec_sandbox(s), ART_SANDBOX_FULL);
	CHECK(sb->network_host);
	CHECK_EQ_STR(sb->hostname, "box");
	CHECK_EQ_STR(sb->rootfs, "/srv/root");
	CHECK_EQ_INT(sb->n_binds, 3);
	CHECK_EQ_STR(sb->binds[0].source, "/data");
	CHECK_EQ_STR(sb->binds[0].target, "/in");
	CHECK(!sb->binds[0].rw);
	CHECK(sb->binds[1].rw);
	CHECK_EQ_STR(sb->binds[2].target, "/b");
	CHECK(sb->binds[2].rw);
	CHECK_EQ_INT(sb->n_tmpfs, 2);
	CHECK_EQ_INT(sb->tmpfs[0].size, 16 << 20);
	CHECK_EQ_INT(sb->tmp_size, 8 << 20);
	CHECK_EQ_STR(sb->ws_base, "/repo");
	CHECK_EQ_INT(sb->ws_changes, ART_WORKSPACE_LIST);
	CHECK_EQ_STR(sb->seccomp, "strict");
	CHECK_EQ_STR(sb->sc_allow.v[0], "ptrace");
	CHECK_EQ_STR(sb->sc_deny.v[0], "chdir");
	CHECK(sb->allow_userns);
	CHECK_EQ_INT(sb->keep_caps, 1u << 10);
	/* The copy the runtime keeps is deep. */
	art_spec *c = NULL;
	CHECK(art_spec_clone(s, &c) == 0);
	art_spec_free(s);
	CHECK_EQ_STR(c->sb.binds[1].source, "/out");
	CHECK_EQ_STR(c->sb.tmpfs[1].target, "/t2");
	CHECK_EQ_STR(c->sb.sc_deny.v[0], "chdir");
	art_spec_free(c);
	s = PARSE("{\"cmd\": \"x\", \"sandbox\": \"limits\"}");
	CHECK_EQ_INT(art_spec_sandbox(s), ART_SANDBOX_LIMITS);
	art_spec_free(s);
}

TEST(sandbox_errors)
{
	ERR("{\"cmd\": \"x\", \"sandbox\": \"jail\"}",
	    "sandbox: \"jail\" is not a level (none, limits, sandbox)");
	ERR("{\"cmd\": \"x\", \"sandbox\": {\"binds\": [\"rel:/x\"]}}",
	    "sandbox.binds[0]: source and target must be absolute paths");
	ERR("{\"cmd\": \"x\", \"sandbox\": {\"binds\": [\"/a:/b:rx\"]}}",
	    "sandbox.binds[0]: \"rx\": the mode is rw or ro");
	ERR("{\"cmd\": \"x\", \"sandbox\": {\"seccomp\": \"lax\"}}",
	    "sandbox.seccomp: \"lax\" is not a profile (default, strict, none)");
	ERR("{\"cmd\": \"x\", \"sandbox\": {\"caps\": [\"fly\"]}}",
	    "sandbox.caps[0]: \"fly\" is not a capability");
	ERR("{\"cmd\": \"x\", \"sandbox\": {\"workspace\": {\"base\": \"/r\", \"changes\": \"x\"}}}",
	    "sandbox.workspace.changes: \"x\" is not one of discard, keep, list");
	ERR("{\"cmd\": \"x\", \"sandbox\": {\"network\": \"bridge\"}}",
	    "sandbox.network: \"bridge\" is not none or host");
	ERR("{\"cmd\": \"x\", \"sandbox\": {\"color\": 1}}", "sandbox.color: unknown field");
}

TEST(limit_cpu_time_rounds_up_to_seconds)
{
	static const struct {
		const char *value;
		uint64_t secs;
	} cases[] = {
		{ "10", 10 },       { "\"10s\"", 10 }, { "\"1.5s\"", 2 }, { "\"500ms\"", 1 },
		{ "0", 1 },         { "\"0s\"", 1 },   { "\"1m\"", 60 },  { "2.0", 2 },
		{ "2.0000001", 3 }, { "\"1ns\"", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char obj[64];
		snprintf(obj, sizeof(obj), "{\"cpu_time\": %s}", cases[i].value);
		art_spec *s = limits(obj);
		CHECK_EQ_INT(s->limits_set, 1u << ART_LIMIT_CPU_TIME);
		if (s->limits[ART_LIMIT_CPU_TIME] != cases[i].secs) {
			fprintf(stderr, "# cpu_time %s gave %" PRIu64 "\n", cases[i].value,
				s->limits[ART_LIMIT_CPU_TIME]);
			exit(1);
		}
		art_spec_free(s);
	}
}

TEST(limit_counts_and_sizes)
{
	art_spec *s = limits("{\"nofile\": 1024, \"nproc\": 0, \"file_size\": \"1G\", \"core\": 0}");
	CHECK_EQ_INT(s->limits_set, (1u << ART_LIMIT_NOFILE) | (1u << ART_LIMIT_NPROC) |
					    (1u << ART_LIMIT_FILE_SIZE) | (1u << ART_LIMIT_CORE));
	CHECK_EQ_INT(s->limits[ART_LIMIT_NOFILE], 1024);
	CHECK_EQ_INT(s->limits[ART_LIMIT_NPROC], 0);
	CHECK_EQ_INT(s->limits[ART_LIMIT_FILE_SIZE], 1 << 30);
	CHECK_EQ_INT(s->limits[ART_LIMIT_CORE], 0);
	art_spec_free(s);
	s = limits("{\"nofile\": 64.0, \"file_size\": \"4096\", \"core\": \"1KiB\"}");
	CHECK_EQ_INT(s->limits[ART_LIMIT_NOFILE], 64);
	CHECK_EQ_INT(s->limits[ART_LIMIT_FILE_SIZE], 4096);
	CHECK_EQ_INT(s->limits[ART_LIMIT_CORE], 1024);
	art_spec_free(s);
}

TEST(limit_errors)
{
	ERR("{\"cmd\": \"x\", \"limits\": {\"memory\": \"12Q\"}}",
	    "limits.memory: \"12Q\" is not a size");
	ERR("{\"cmd\": \"x\", \"limits\": {\"memory\": \"1.5\"}}",
	    "limits.memory: \"1.5\" is not a size");
	ERR("{\"cmd\": \"x\", \"limits\": {\"memory\": -1}}", "limits.memory: -1 is negative");
	ERR("{\"cmd\": \"x\", \"limits\": {\"memory\": \"-1G\"}}",
	    "limits.memory: \"-1G\" is negative");
	ERR("{\"cmd\": \"x\", \"limits\": {\"memory\": \"-G\"}}",
	    "limits.memory: \"-G\" is not a size");
	ERR("{\"cmd\": \"x\", \"limits\": {\"memory\": \"99999999T\"}}",
	    "limits.memory: \"99999999T\" is too large");
	ERR("{\"cmd\": \"x\", \"limits\": {\"memory\": 1e30}}", "limits.memory: 1e30 is too large");
	ERR("{\"cmd\": \"x\", \"limits\": {\"memory\": 1.5}}",
	    "limits.memory: 1.5 is not a whole number");
	ERR("{\"cmd\": \"x\", \"limits\": {\"memory\": true}}",
	    "limits.memory: must be a size (\"512M\") or a number of bytes");
	ERR("{\"cmd\": \"x\", \"limits\": {\"file_size\": \"1 G\"}}",
	    "limits.file_size: \"1 G\" is not a size");
	ERR("{\"cmd\": \"x\", \"limits\": {\"core\": []}}",
	    "limits.core: must be a size (\"512M\") or a number of bytes");
	ERR("{\"cmd\": \"x\", \"limits\": {\"nofile\": -1}}", "limits.nofile: -1 is negative");
	ERR("{\"cmd\": \"x\", \"limits\": {\"nofile\": \"1024\"}}",
	    "limits.nofile: must be a non-negative integer");
	ERR("{\"cmd\": \"x\", \"limits\": {\"nproc\": 1.5}}", "limits.nproc: 1.5 is not a whole number");
	ERR("{\"cmd\": \"x\", \"limits\": {\"cpu_time\": -1}}", "limits.cpu_time: -1 is negative");
	ERR("{\"cmd\": \"x\", \"limits\": {\"cpu_time\": \"1x\"}}",
	    "limits.cpu_time: \"1x\" is not a duration");
	ERR("{\"cmd\": \"x\", \"limits\": {\"stack\": 1}}", "limits.stack: unknown field");
	ERR("{\"cmd\": \"x\", \"limits\": 3}", "limits: must be an object");
}

/* ------------------------------------------------------------ output */

static art_spec *output(const char *obj)
{
	char json[512];
	snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"output\": %s}", obj);
	return PARSE(json);
}

TEST(output_modes)
{
	art_spec *s = output("{\"stdout\": \"discard\", \"stderr\": \"inherit\"}");
	CHECK_EQ_INT(s->out[0].mode, ART_OUTPUT_DISCARD);
	CHECK_EQ_INT(s->out[1].mode, ART_OUTPUT_INHERIT);
	art_spec_free(s);
	s = output("{\"stdout\": \"capture\"}");
	CHECK_EQ_INT(s->out[0].mode, ART_OUTPUT_CAPTURE);
	CHECK_EQ_INT(s->out[0].cap, ART_OUTPUT_CAP_DEFAULT);
	CHECK_EQ_INT(s->out[1].mode, ART_OUTPUT_CAPTURE);
	art_spec_free(s);
	s = output("{}");
	CHECK_EQ_INT(s->out[0].mode, ART_OUTPUT_CAPTURE);
	CHECK_EQ_INT(s->out[1].cap, ART_OUTPUT_CAP_DEFAULT);
	art_spec_free(s);
}

TEST(output_file)
{
	art_spec *s = output("{\"stdout\": {\"file\": \"/tmp/out\", \"append\": true},"
			     " \"stderr\": {\"file\": \"/tmp/err\"}}");
	CHECK_EQ_INT(s->out[0].mode, ART_OUTPUT_FILE);
	CHECK_EQ_STR(s->out[0].path, "/tmp/out");
	CHECK(s->out[0].append);
	CHECK_EQ_INT(s->out[1].mode, ART_OUTPUT_FILE);
	CHECK_EQ_STR(s->out[1].path, "/tmp/err");
	CHECK(!s->out[1].append);
	art_spec_free(s);
	s = output("{\"stdout\": {\"append\": false, \"file\": \"o\"}}");
	CHECK_EQ_INT(s->out[0].mode, ART_OUTPUT_FILE);
	CHECK(!s->out[0].append);
	art_spec_free(s);
}

TEST(output_caps)
{
	art_spec *s = output("{\"stdout\": {\"capture\": \"1M\"}}");
	CHECK_EQ_INT(s->out[0].mode, ART_OUTPUT_CAPTURE);
	CHECK_EQ_INT(s->out[0].cap, 1 << 20);
	CHECK_EQ_INT(s->out[1].cap, ART_OUTPUT_CAP_DEFAULT);
	art_spec_free(s);
	s = output("{\"cap\": \"1K\"}");
	CHECK_EQ_INT(s->out[0].cap, 1024);
	CHECK_EQ_INT(s->out[1].cap, 1024);
	art_spec_free(s);
	/* The default cap applies whatever the order of the keys. */
	s = output("{\"stdout\": \"capture\", \"stderr\": {\"capture\": 10}, \"cap\": 100}");
	CHECK_EQ_INT(s->out[0].cap, 100);
	CHECK_EQ_INT(s->out[1].cap, 10);
	art_spec_free(s);
	s = output("{\"cap\": 0}");
	CHECK_EQ_INT(s->out[0].mode, ART_OUTPUT_CAPTURE);
	CHECK_EQ_INT(s->out[0].cap, 0);
	art_spec_free(s);
}

TEST(output_errors)
{
	ERR("{\"cmd\": \"x\", \"output\": {\"stdout\": \"capture2\"}}",
	    "output.stdout: \"capture2\" is not one of capture, discard, inherit");
	ERR("{\"cmd\": \"x\", \"output\": {\"stderr\": 1}}",
	    "output.stderr: must be \"capture\", \"discard\", \"inherit\" or an object with file or capture");
	ERR("{\"cmd\": \"x\", \"output\": {\"stdout\": {\"file\": \"a\", \"capture\": 1}}}",
	    "output.stdout: give either file or capture, not both");
	ERR("{\"cmd\": \"x\", \"output\": {\"stdout\": {}}}", "output.stdout: must have file or capture");
	ERR("{\"cmd\": \"x\", \"output\": {\"stdout\": {\"append\": true}}}",
	    "output.stdout: must have file or capture");
	ERR("{\"cmd\": \"x\", \"output\": {\"stdout\": {\"capture\": 1, \"append\": true}}}",
	    "output.stdout.append: applies only to file");
	ERR("{\"cmd\": \"x\", \"output\": {\"stdout\": {\"file\": \"a\", \"append\": \"yes\"}}}",
	    "output.stdout.append: must be a boolean");
	ERR("{\"cmd\": \"x\", \"output\": {\"stdout\": {\"file\": \"\"}}}",
	    "output.stdout.file: must not be empty");
	ERR("{\"cmd\": \"x\", \"output\": {\"stdout\": {\"mode\": \"x\"}}}",
	    "output.stdout.mode: unknown field");
	ERR("{\"cmd\": \"x\", \"output\": {\"stdout\": {\"capture\": \"big\"}}}",
	    "output.stdout.capture: \"big\" is not a size");
	ERR("{\"cmd\": \"x\", \"output\": {\"stdio\": \"capture\"}}", "output.stdio: unknown field");
	ERR("{\"cmd\": \"x\", \"output\": {\"cap\": \"x\"}}", "output.cap: \"x\" is not a size");
	ERR("{\"cmd\": \"x\", \"output\": {\"cap\": -1}}", "output.cap: -1 is negative");
	ERR("{\"cmd\": \"x\", \"output\": \"capture\"}", "output: must be an object");
}

/* ------------------------------------------------------------ labels */

TEST(labels_keep_their_order)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"labels\": {\"b\": \"2\", \"a\": \"1\", \"c\": \"\"}}");
	const char *k, *v;
	CHECK_EQ_INT(art_spec_label_count(s), 3);
	CHECK_EQ_INT(art_spec_label_at(s, 0, &k, &v), 0);
	CHECK_EQ_STR(k, "b");
	CHECK_EQ_STR(v, "2");
	CHECK_EQ_INT(art_spec_label_at(s, 1, &k, &v), 0);
	CHECK_EQ_STR(k, "a");
	CHECK_EQ_STR(v, "1");
	CHECK_EQ_INT(art_spec_label_at(s, 2, &k, &v), 0);
	CHECK_EQ_STR(k, "c");
	CHECK_EQ_STR(v, "");
	art_spec_free(s);
}

TEST(label_errors)
{
	ERR("{\"cmd\": \"x\", \"labels\": {\"a\": 1}}", "labels.a: must be a string");
	ERR("{\"cmd\": \"x\", \"labels\": {\"\": \"x\"}}", "labels: a label name must not be empty");
	ERR("{\"cmd\": \"x\", \"labels\": [\"a\"]}", "labels: must be an object");
}

/* ------------------------------------------------------------ scheduling */

TEST(scheduling_defaults)
{
	art_spec *s = PARSE("{\"cmd\": \"x\"}");
	int order = -1;
	CHECK_EQ_INT(art_spec_priority(s, &order), ART_PRIORITY_NORMAL);
	CHECK_EQ_INT(order, 0);
	CHECK(art_spec_group(s) == NULL);
	CHECK(art_spec_kind(s) == NULL);
	CHECK_EQ_INT(art_spec_dependency_count(s), 0);
	CHECK_EQ_INT(s->sched.cpu_request, -1);
	CHECK_EQ_INT(s->sched.memory_request, -1);
	CHECK_EQ_INT(art_spec_retries(s), 0);
	art_spec_free(s);

	s = PARSE("{\"cmd\": \"x\", \"priority\": null, \"group\": null, \"kind\": null,"
		  " \"depends_on\": null, \"requests\": null, \"retries\": null}");
	CHECK_EQ_INT(art_spec_priority(s, NULL), ART_PRIORITY_NORMAL);
	CHECK(art_spec_group(s) == NULL);
	CHECK(art_spec_kind(s) == NULL);
	CHECK_EQ_INT(art_spec_dependency_count(s), 0);
	CHECK_EQ_INT(s->sched.cpu_request, -1);
	CHECK_EQ_INT(art_spec_retries(s), 0);
	art_spec_free(s);
}

/* The example of docs/spec.md, section "Scheduling". */
TEST(scheduling_dag_example)
{
	art_spec *s = PARSE("{\"id\": \"test\", \"cmd\": \"make test\", \"depends_on\": \"build\","
			    " \"priority\": {\"class\": \"high\", \"order\": 5}, \"group\": \"team-a\","
			    " \"kind\": \"test\", \"requests\": {\"cpu\": \"500m\", \"memory\": \"1G\"},"
			    " \"retries\": 2}");
	int order = 0;
	const char *id = NULL;
	art_dep_condition cond = ART_DEP_FAILED;
	CHECK_EQ_INT(art_spec_priority(s, &order), ART_PRIORITY_HIGH);
	CHECK_EQ_INT(order, 5);
	CHECK_EQ_STR(art_spec_group(s), "team-a");
	CHECK_EQ_STR(art_spec_kind(s), "test");
	CHECK_EQ_INT(art_spec_dependency_count(s), 1);
	CHECK_EQ_INT(art_spec_dependency_at(s, 0, &id, &cond), 0);
	CHECK_EQ_STR(id, "build");
	CHECK_EQ_INT(cond, ART_DEP_OK);
	CHECK_EQ_INT(s->sched.cpu_request, 500);
	CHECK_EQ_INT(s->sched.memory_request, INT64_C(1) << 30);
	CHECK_EQ_INT(art_spec_retries(s), 2);
	art_spec_free(s);
}

static art_priority priority_of(const char *value, int *order)
{
	char json[256];
	snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"priority\": %s}", value);
	art_spec *s = PARSE(json);
	art_priority p = art_spec_priority(s, order);
	art_spec_free(s);
	return p;
}

TEST(priority_forms)
{
	static const struct {
		const char *json;
		art_priority cls;
		int order;
	} cases[] = {
		{ "\"low\"", ART_PRIORITY_LOW, 0 },
		{ "\"normal\"", ART_PRIORITY_NORMAL, 0 },
		{ "\"high\"", ART_PRIORITY_HIGH, 0 },
		{ "\"critical\"", ART_PRIORITY_CRITICAL, 0 },
		{ "\"emergency\"", ART_PRIORITY_EMERGENCY, 0 },
		{ "{\"class\": \"high\", \"order\": 5}", ART_PRIORITY_HIGH, 5 },
		{ "{\"order\": 5, \"class\": \"low\"}", ART_PRIORITY_LOW, 5 },
		{ "{\"class\": \"critical\"}", ART_PRIORITY_CRITICAL, 0 },
		{ "{\"order\": -3}", ART_PRIORITY_NORMAL, -3 },
		{ "{\"order\": 2.0}", ART_PRIORITY_NORMAL, 2 },
		{ "{\"order\": 2147483647}", ART_PRIORITY_NORMAL, 2147483647 },
		{ "{\"order\": -2147483648}", ART_PRIORITY_NORMAL, -2147483647 - 1 },
		{ "{\"class\": null, \"order\": null}", ART_PRIORITY_NORMAL, 0 },
		{ "{}", ART_PRIORITY_NORMAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int order = -99;
		CHECK_EQ_INT(priority_of(cases[i].json, &order), cases[i].cls);
		CHECK_EQ_INT(order, cases[i].order);
	}
}

TEST(priority_errors)
{
	ERR("{\"cmd\": \"x\", \"priority\": \"urgent\"}",
	    "priority: \"urgent\" is not one of low, normal, high, critical, emergency");
	ERR("{\"cmd\": \"x\", \"priority\": \"HIGH\"}",
	    "priority: \"HIGH\" is not one of low, normal, high, critical, emergency");
	ERR("{\"cmd\": \"x\", \"priority\": \"\"}",
	    "priority: \"\" is not one of low, normal, high, critical, emergency");
	ERR("{\"cmd\": \"x\", \"priority\": 3}",
	    "priority: must be a class (\"high\") or an object with class and order");
	ERR("{\"cmd\": \"x\", \"priority\": [\"high\"]}",
	    "priority: must be a class (\"high\") or an object with class and order");
	ERR("{\"cmd\": \"x\", \"priority\": {\"class\": 2}}", "priority.class: must be a string");
	ERR("{\"cmd\": \"x\", \"priority\": {\"class\": \"top\", \"order\": 1}}",
	    "priority.class: \"top\" is not one of low, normal, high, critical, emergency");
	ERR("{\"cmd\": \"x\", \"priority\": {\"class\": \"high\", \"order\": \"5\"}}",
	    "priority.order: must be an integer");
	ERR("{\"cmd\": \"x\", \"priority\": {\"order\": true}}", "priority.order: must be an integer");
	ERR("{\"cmd\": \"x\", \"priority\": {\"order\": 1.5}}",
	    "priority.order: 1.5 is not a whole number");
	ERR("{\"cmd\": \"x\", \"priority\": {\"order\": 2147483648}}",
	    "priority.order: 2147483648 is out of range");
	ERR("{\"cmd\": \"x\", \"priority\": {\"order\": -2147483649}}",
	    "priority.order: -2147483649 is out of range");
	ERR("{\"cmd\": \"x\", \"priority\": {\"class\": \"high\", \"level\": 1}}",
	    "priority.level: unknown field");
}

TEST(group_and_kind)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"group\": \"tenant-a\", \"kind\": \"build\"}");
	CHECK_EQ_STR(art_spec_group(s), "tenant-a");
	CHECK_EQ_STR(art_spec_kind(s), "build");
	art_spec_free(s);

	/* UTF-8 is fine: only control characters are refused. */
	s = PARSE("{\"cmd\": \"x\", \"group\": \"\\u00e9quipe 2\", \"kind\": \"a b/c:d\"}");
	CHECK_EQ_STR(art_spec_group(s), "\xc3\xa9quipe 2");
	CHECK_EQ_STR(art_spec_kind(s), "a b/c:d");
	art_spec_free(s);

	/* 128 bytes, counted in bytes: 64 two-byte characters fit. */
	char json[1024], name[300];
	memset(name, 'g', 128);
	name[128] = 0;
	snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"group\": \"%s\", \"kind\": \"%s\"}", name,
		 name);
	s = PARSE(json);
	CHECK_EQ_INT(strlen(art_spec_group(s)), 128);
	CHECK_EQ_INT(strlen(art_spec_kind(s)), 128);
	art_spec_free(s);
	name[0] = 0;
	for (int i = 0; i < 64; i++)
		strcat(name, "\xc3\xa9");
	snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"group\": \"%s\"}", name);
	s = PARSE(json);
	CHECK_EQ_INT(strlen(art_spec_group(s)), 128);
	art_spec_free(s);
}

TEST(group_and_kind_errors)
{
	static const char *const fields[] = { "group", "kind" };
	for (size_t i = 0; i < 2; i++) {
		const char *f = fields[i];
		char json[512], msg[128], name[200];

		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"%s\": 1}", f);
		snprintf(msg, sizeof(msg), "%s: must be a string", f);
		ERR(json, msg);
		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"%s\": [\"a\"]}", f);
		ERR(json, msg);

		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"%s\": \"\"}", f);
		snprintf(msg, sizeof(msg), "%s: must not be empty", f);
		ERR(json, msg);

		memset(name, 'g', 129);
		name[129] = 0;
		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"%s\": \"%s\"}", f, name);
		snprintf(msg, sizeof(msg), "%s: must be at most 128 bytes", f);
		ERR(json, msg);

		snprintf(msg, sizeof(msg), "%s: must not contain control characters", f);
		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"%s\": \"a\\tb\"}", f);
		ERR(json, msg);
		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"%s\": \"a\\n\"}", f);
		ERR(json, msg);
		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"%s\": \"\\u007f\"}", f);
		ERR(json, msg);
	}
}

static void check_dep(const art_spec *s, size_t i, const char *id, art_dep_condition cond)
{
	const char *got = NULL;
	art_dep_condition c = (art_dep_condition)-1;
	CHECK_EQ_INT(art_spec_dependency_at(s, i, &got, &c), 0);
	CHECK_EQ_STR(got, id);
	CHECK_EQ_INT(c, cond);
}

TEST(depends_on_forms)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"depends_on\": \"build\"}");
	CHECK_EQ_INT(art_spec_dependency_count(s), 1);
	check_dep(s, 0, "build", ART_DEP_OK);
	art_spec_free(s);

	s = PARSE("{\"cmd\": \"x\", \"depends_on\": [\"a\", {\"id\": \"b\", \"condition\": \"any\"},"
		  " {\"condition\": \"failed\", \"id\": \"c\"}, {\"id\": \"d\"},"
		  " {\"id\": \"e\", \"condition\": \"ok\"}, {\"id\": \"f\", \"condition\": null}]}");
	CHECK_EQ_INT(art_spec_dependency_count(s), 6);
	check_dep(s, 0, "a", ART_DEP_OK);
	check_dep(s, 1, "b", ART_DEP_ANY);
	check_dep(s, 2, "c", ART_DEP_FAILED);
	check_dep(s, 3, "d", ART_DEP_OK);
	check_dep(s, 4, "e", ART_DEP_OK);
	check_dep(s, 5, "f", ART_DEP_OK);
	const char *id;
	art_dep_condition c;
	CHECK_EQ_INT(art_spec_dependency_at(s, 6, &id, &c), -ENOENT);
	art_spec_free(s);

	s = PARSE("{\"cmd\": \"x\", \"depends_on\": []}");
	CHECK_EQ_INT(art_spec_dependency_count(s), 0);
	art_spec_free(s);
}

TEST(depends_on_errors)
{
	ERR("{\"cmd\": \"x\", \"depends_on\": 1}",
	    "depends_on: must be a task id or an array of them");
	ERR("{\"cmd\": \"x\", \"depends_on\": {\"id\": \"a\"}}",
	    "depends_on: must be a task id or an array of them");
	ERR("{\"cmd\": \"x\", \"depends_on\": \"\"}", "depends_on: must not be empty");
	ERR("{\"cmd\": \"x\", \"depends_on\": [2]}", "depends_on[0]: must be a string or an object");
	ERR("{\"cmd\": \"x\", \"depends_on\": [\"a\", [\"b\"]]}",
	    "depends_on[1]: must be a string or an object");
	ERR("{\"cmd\": \"x\", \"depends_on\": [\"a\", null]}",
	    "depends_on[1]: must be a string or an object");
	ERR("{\"cmd\": \"x\", \"depends_on\": [\"\"]}", "depends_on[0]: must not be empty");
	ERR("{\"cmd\": \"x\", \"depends_on\": [{\"condition\": \"ok\"}]}",
	    "depends_on[0]: id is missing");
	ERR("{\"cmd\": \"x\", \"depends_on\": [{\"id\": 3}]}", "depends_on[0].id: must be a string");
	ERR("{\"cmd\": \"x\", \"depends_on\": [{\"id\": \"\"}]}",
	    "depends_on[0].id: must not be empty");
	ERR("{\"cmd\": \"x\", \"depends_on\": [\"a\", {\"id\": \"b\", \"condition\": \"maybe\"}]}",
	    "depends_on[1].condition: \"maybe\" is not one of ok, any, failed");
	ERR("{\"cmd\": \"x\", \"depends_on\": [{\"id\": \"b\", \"condition\": \"OK\"}]}",
	    "depends_on[0].condition: \"OK\" is not one of ok, any, failed");
	ERR("{\"cmd\": \"x\", \"depends_on\": [{\"id\": \"b\", \"condition\": true}]}",
	    "depends_on[0].condition: must be a string");
	ERR("{\"cmd\": \"x\", \"depends_on\": [{\"id\": \"b\", \"when\": \"ok\"}]}",
	    "depends_on[0].when: unknown field");
}

static art_spec *requests(const char *obj)
{
	char json[256];
	snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"requests\": %s}", obj);
	return PARSE(json);
}

TEST(requests_forms)
{
	static const struct {
		const char *json;
		int64_t cpu, memory;
	} cases[] = {
		{ "{\"cpu\": 0.5, \"memory\": \"512M\"}", 500, INT64_C(512) << 20 },
		{ "{\"cpu\": 2}", 2000, -1 },
		{ "{\"cpu\": \"500m\"}", 500, -1 },
		{ "{\"cpu\": \"1m\"}", 1, -1 },
		{ "{\"cpu\": \"1.5\"}", 1500, -1 },
		{ "{\"cpu\": \"2\"}", 2000, -1 },
		{ "{\"cpu\": 0.001}", 1, -1 },
		{ "{\"cpu\": 0.0015}", 2, -1 },
		{ "{\"cpu\": 1000000}", INT64_C(1000000000), -1 },
		{ "{\"cpu\": \"1000000000m\"}", INT64_C(1000000000), -1 },
		{ "{\"memory\": 1048576}", -1, 1 << 20 },
		{ "{\"memory\": \"1.5G\"}", -1, INT64_C(1610612736) },
		{ "{\"memory\": 0}", -1, 0 },
		{ "{\"memory\": \"8388607T\"}", -1, INT64_C(8388607) << 40 },
		{ "{\"cpu\": null, \"memory\": null}", -1, -1 },
		{ "{}", -1, -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		art_spec *s = requests(cases[i].json);
		CHECK_EQ_INT(s->sched.cpu_request, cases[i].cpu);
		CHECK_EQ_INT(s->sched.memory_request, cases[i].memory);
		art_spec_free(s);
	}
}

TEST(requests_errors)
{
	ERR("{\"cmd\": \"x\", \"requests\": 1}", "requests: must be an object");
	ERR("{\"cmd\": \"x\", \"requests\": \"1G\"}", "requests: must be an object");
	ERR("{\"cmd\": \"x\", \"requests\": {\"gpu\": 1}}", "requests.gpu: unknown field");
	ERR("{\"cmd\": \"x\", \"requests\": {\"cpu\": 1, \"mem\": \"1G\"}}",
	    "requests.mem: unknown field");
	static const struct {
		const char *value, *msg;
	} cpu[] = {
		{ "0", "0 is not between 0.001 and 1000000 CPUs" },
		{ "\"0m\"", "\"0m\" is not between 0.001 and 1000000 CPUs" },
		{ "\"0\"", "\"0\" is not between 0.001 and 1000000 CPUs" },
		{ "0.0004", "0.0004 is not between 0.001 and 1000000 CPUs" },
		{ "-1", "-1 is not between 0.001 and 1000000 CPUs" },
		{ "1000001", "1000001 is not between 0.001 and 1000000 CPUs" },
		{ "\"1000000001m\"", "\"1000000001m\" is not between 0.001 and 1000000 CPUs" },
		{ "\"abc\"", "\"abc\" is not a number of CPUs or millicores" },
		{ "\"\"", "\"\" is not a number of CPUs or millicores" },
		{ "\"1.5m\"", "\"1.5m\" is not a number of CPUs or millicores" },
		{ "\"500M\"", "\"500M\" is not a number of CPUs or millicores" },
		{ "\"m\"", "\"m\" is not a number of CPUs or millicores" },
		{ "\" 1\"", "\" 1\" is not a number of CPUs or millicores" },
		{ "\"-1\"", "\"-1\" is not a number of CPUs or millicores" },
		{ "\"1.\"", "\"1.\" is not a number of CPUs or millicores" },
		{ "\".5\"", "\".5\" is not a number of CPUs or millicores" },
		{ "\"1e3\"", "\"1e3\" is not a number of CPUs or millicores" },
		{ "\"inf\"", "\"inf\" is not a number of CPUs or millicores" },
		{ "\"0x10\"", "\"0x10\" is not a number of CPUs or millicores" },
		{ "true", "must be a number of CPUs (1.5) or millicores (\"500m\")" },
		{ "[1]", "must be a number of CPUs (1.5) or millicores (\"500m\")" },
	};
	for (size_t i = 0; i < sizeof(cpu) / sizeof(cpu[0]); i++) {
		char json[256], msg[256];
		snprintf(json, sizeof(json), "{\"cmd\": \"x\", \"requests\": {\"cpu\": %s}}",
			 cpu[i].value);
		snprintf(msg, sizeof(msg), "requests.cpu: %s", cpu[i].msg);
		ERR(json, msg);
	}
	ERR("{\"cmd\": \"x\", \"requests\": {\"memory\": \"12Q\"}}",
	    "requests.memory: \"12Q\" is not a size");
	ERR("{\"cmd\": \"x\", \"requests\": {\"memory\": -1}}", "requests.memory: -1 is negative");
	ERR("{\"cmd\": \"x\", \"requests\": {\"memory\": \"-1G\"}}",
	    "requests.memory: \"-1G\" is negative");
	ERR("{\"cmd\": \"x\", \"requests\": {\"memory\": 1.5}}",
	    "requests.memory: 1.5 is not a whole number");
	/* 2^63 bytes and more do not fit the request. */
	ERR("{\"cmd\": \"x\", \"requests\": {\"memory\": \"8388608T\"}}",
	    "requests.memory: \"8388608T\" is too large");
	ERR("{\"cmd\": \"x\", \"requests\": {\"memory\": true}}",
	    "requests.memory: must be a size (\"512M\") or a number of bytes");
}

TEST(retries)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"retries\": 3}");
	CHECK_EQ_INT(art_spec_retries(s), 3);
	art_spec_free(s);
	s = PARSE("{\"cmd\": \"x\", \"retries\": 0}");
	CHECK_EQ_INT(art_spec_retries(s), 0);
	art_spec_free(s);
	s = PARSE("{\"cmd\": \"x\", \"retries\": 1000}");
	CHECK_EQ_INT(art_spec_retries(s), 1000);
	art_spec_free(s);
	s = PARSE("{\"cmd\": \"x\", \"retries\": 2.0}");
	CHECK_EQ_INT(art_spec_retries(s), 2);
	art_spec_free(s);

	ERR("{\"cmd\": \"x\", \"retries\": 1001}", "retries: 1001 is more than 1000");
	ERR("{\"cmd\": \"x\", \"retries\": 5000000000}", "retries: 5000000000 is more than 1000");
	ERR("{\"cmd\": \"x\", \"retries\": -1}", "retries: -1 is negative");
	ERR("{\"cmd\": \"x\", \"retries\": 1.5}", "retries: 1.5 is not a whole number");
	ERR("{\"cmd\": \"x\", \"retries\": \"3\"}", "retries: must be a non-negative integer");
}

/* ------------------------------------------------------------ result.c */

TEST(end_and_stage_names)
{
	CHECK_EQ_STR(art_end_name(ART_END_NONE), "none");
	CHECK_EQ_STR(art_end_name(ART_END_EXITED), "exited");
	CHECK_EQ_STR(art_end_name(ART_END_SIGNALED), "signaled");
	CHECK_EQ_STR(art_end_name(ART_END_TIMEOUT), "timeout");
	CHECK_EQ_STR(art_end_name(ART_END_CANCELLED), "cancelled");
	CHECK_EQ_STR(art_end_name(ART_END_START_FAILED), "start_failed");
	CHECK_EQ_STR(art_end_name(ART_END_OOM_KILLED), "oom_killed");
	CHECK_EQ_STR(art_end_name(ART_END_SECCOMP), "seccomp");
	CHECK_EQ_STR(art_end_name(ART_END_LIMIT), "limit");
	CHECK_EQ_STR(art_end_name(ART_END_SKIPPED), "skipped");
	CHECK_EQ_STR(art_end_name((art_end)99), "unknown");
	static const char *const stages[] = {
		"none", "prepare", "clone", "setsid", "stdio", "rlimit", "prctl", "chdir", "signals", "exec",
	};
	for (int i = ART_STAGE_NONE; i <= ART_STAGE_EXEC; i++)
		CHECK_EQ_STR(art_stage_name((art_stage)i), stages[i]);
	CHECK_EQ_STR(art_stage_name((art_stage)99), "unknown");
}

static art_result ended(art_end end)
{
	return (art_result){ .end = end, .exit_code = -1 };
}

TEST(exit_status_and_ok)
{
	art_result r = ended(ART_END_EXITED);
	r.exit_code = 0;
	CHECK_EQ_INT(art_result_exit_status(&r), 0);
	CHECK(art_result_ok(&r));
	r.exit_code = 3;
	CHECK_EQ_INT(art_result_exit_status(&r), 3);
	CHECK(!art_result_ok(&r));

	r = ended(ART_END_SIGNALED);
	r.term_signal = SIGKILL;
	CHECK_EQ_INT(art_result_exit_status(&r), 137);
	CHECK(!art_result_ok(&r));

	r = ended(ART_END_TIMEOUT);
	r.term_signal = SIGTERM;
	CHECK_EQ_INT(art_result_exit_status(&r), 124);
	CHECK(!art_result_ok(&r));

	r = ended(ART_END_CANCELLED);
	CHECK_EQ_INT(art_result_exit_status(&r), 130);
	r.term_signal = SIGTERM;
	CHECK_EQ_INT(art_result_exit_status(&r), 143);
	CHECK(!art_result_ok(&r));

	r = ended(ART_END_NONE);
	CHECK(!art_result_ok(&r));
	CHECK_EQ_INT(art_result_exit_status(&r), 125);

	/* Never ran: the runner's status, not the command's. */
	r = ended(ART_END_SKIPPED);
	r.skip_reason = "dependency \"build\" failed (exit 1)";
	CHECK(!art_result_ok(&r));
	CHECK_EQ_INT(art_result_exit_status(&r), 125);
}

TEST(result_messages)
{
	char buf[ART_ERROR_MSG_MAX];
	art_result r = ended(ART_END_SKIPPED);
	r.skip_reason = "dependency \"build\" failed (exit 1)";
	CHECK_EQ_STR(art_result_message(&r, buf, sizeof(buf)),
		     "skipped: dependency \"build\" failed (exit 1)");
	r.skip_reason = NULL;
	CHECK_EQ_STR(art_result_message(&r, buf, sizeof(buf)), "skipped");

	static const art_end quiet[] = {
		ART_END_NONE, ART_END_EXITED, ART_END_SIGNALED, ART_END_TIMEOUT, ART_END_CANCELLED,
	};
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		r = ended(quiet[i]);
		CHECK(art_result_message(&r, buf, sizeof(buf)) == NULL);
	}
	r = ended(ART_END_OOM_KILLED);
	CHECK(art_result_message(&r, buf, sizeof(buf)) == buf);
}

TEST(exit_status_of_start_failures)
{
	static const struct {
		int err;
		art_stage stage;
		int status;
	} cases[] = {
		{ ENOENT, ART_STAGE_EXEC, 127 },    { ENOTDIR, ART_STAGE_EXEC, 127 },
		{ ELOOP, ART_STAGE_EXEC, 127 },     { ENAMETOOLONG, ART_STAGE_EXEC, 127 },
		{ EACCES, ART_STAGE_EXEC, 126 },    { ENOEXEC, ART_STAGE_EXEC, 126 },
		{ EISDIR, ART_STAGE_EXEC, 126 },    { EPERM, ART_STAGE_EXEC, 126 },
		{ ETXTBSY, ART_STAGE_EXEC, 126 },   { E2BIG, ART_STAGE_EXEC, 126 },
		{ ENOMEM, ART_STAGE_EXEC, 125 },    { ENOENT, ART_STAGE_CHDIR, 125 },
		{ ENOENT, ART_STAGE_PREPARE, 125 }, { EPERM, ART_STAGE_RLIMIT, 125 },
		{ EAGAIN, ART_STAGE_CLONE, 125 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		art_result r = ended(ART_END_START_FAILED);
		r.start_errno = cases[i].err;
		r.start_stage = cases[i].stage;
		CHECK_EQ_INT(art_result_exit_status(&r), cases[i].status);
		CHECK(!art_result_ok(&r));
	}
}

/* ------------------------------------------------------------ result JSON */

static json_t *result_json(const art_spec *spec, const art_result *r, unsigned attempts,
			   char **text)
{
	char *out = NULL;
	json_error_t jerr;
	CHECK_EQ_INT(art_result_to_json(spec, r, attempts, &out), 0);
	CHECK(out != NULL);
	CHECK(strchr(out, '\n') == NULL);
	json_t *j = json_loads(out, JSON_ALLOW_NUL, &jerr);
	if (!j) {
		fprintf(stderr, "# %s: %s\n", out, jerr.text);
		exit(1);
	}
	CHECK(json_is_object(j));
	if (text)
		*text = out;
	else
		free(out);
	return j;
}

static void check_keys(const json_t *j, const char *const *keys)
{
	const char *key;
	json_t *v;
	size_t i = 0;
	json_object_foreach((json_t *)j, key, v) {
		if (!keys[i] || strcmp(key, keys[i]) != 0) {
			fprintf(stderr, "# key %zu is %s, want %s\n", i, key, keys[i] ? keys[i] : "none");
			exit(1);
		}
		i++;
	}
	CHECK(keys[i] == NULL);
}

#define GET_INT(j, k) json_integer_value(json_object_get(j, k))
#define GET_STR(j, k) json_string_value(json_object_get(j, k))
#define GET_REAL(j, k) json_real_value(json_object_get(j, k))
#define IS_NULL(j, k) json_is_null(json_object_get(j, k))

TEST(result_exited)
{
	art_spec *s = PARSE("{\"id\": \"t1\", \"cmd\": \"x\"}");
	art_result r = {
		.end = ART_END_EXITED,
		.exit_code = 0,
		.pid = 4242,
		.queued_ns = 10 * SEC,
		.started_ns = 10 * SEC + 250000000,
		.wall_ns = 1500000000,
		.user_ns = 100000000,
		.system_ns = 20000000,
		.max_rss_bytes = 1 << 20,
		.stdout_bytes = 6,
		.stderr_bytes = 0,
		.stdout_tail = "hello\n",
		.stdout_tail_len = 6,
	};
	char *text;
	json_t *j = result_json(s, &r, 1, &text);
	static const char *const keys[] = {
		"id", "status", "ok", "exit_code", "signal", "exit_status", "pid", "wall_s", "queue_s",
		"user_s", "system_s", "max_rss_bytes", "stdout_bytes", "stderr_bytes", "stdout",
		"stderr", "stdout_truncated", "stderr_truncated", "orphans_killed", NULL,
	};
	check_keys(j, keys);
	CHECK_EQ_STR(GET_STR(j, "id"), "t1");
	CHECK_EQ_STR(GET_STR(j, "status"), "exited");
	CHECK(json_is_true(json_object_get(j, "ok")));
	CHECK_EQ_INT(GET_INT(j, "exit_code"), 0);
	CHECK(IS_NULL(j, "signal"));
	CHECK_EQ_INT(GET_INT(j, "exit_status"), 0);
	CHECK_EQ_INT(GET_INT(j, "pid"), 4242);
	CHECK(GET_REAL(j, "wall_s") == 1.5);
	CHECK(GET_REAL(j, "queue_s") == 0.25);
	CHECK(GET_REAL(j, "user_s") == 0.1);
	CHECK(GET_REAL(j, "system_s") == 0.02);
	CHECK_EQ_INT(GET_INT(j, "max_rss_bytes"), 1 << 20);
	CHECK_EQ_INT(GET_INT(j, "stdout_bytes"), 6);
	CHECK_EQ_INT(GET_INT(j, "stderr_bytes"), 0);
	CHECK_EQ_STR(GET_STR(j, "stdout"), "hello\n");
	CHECK_EQ_STR(GET_STR(j, "stderr"), "");
	CHECK(json_is_false(json_object_get(j, "stdout_truncated")));
	CHECK(json_is_false(json_object_get(j, "stderr_truncated")));
	CHECK_EQ_INT(GET_INT(j, "orphans_killed"), 0);
	/* Compact, with short numbers. */
	const char *head = "{\"id\":\"t1\",\"status\":\"exited\",\"ok\":true,";
	CHECK(strncmp(text, head, strlen(head)) == 0);
	CHECK(strstr(text, "\"wall_s\":1.5,\"queue_s\":0.25,\"user_s\":0.1,\"system_s\":0.02,"));
	free(text);
	json_decref(j);
	art_spec_free(s);
}

TEST(result_signaled)
{
	art_result r = ended(ART_END_SIGNALED);
	r.term_signal = SIGKILL;
	r.pid = 7;
	r.started_ns = 1;
	json_t *j = result_json(NULL, &r, 0, NULL);
	CHECK(IS_NULL(j, "id"));
	CHECK_EQ_STR(GET_STR(j, "status"), "signaled");
	CHECK(json_is_false(json_object_get(j, "ok")));
	CHECK(IS_NULL(j, "exit_code"));
	CHECK_EQ_STR(GET_STR(j, "signal"), "SIGKILL");
	CHECK_EQ_INT(GET_INT(j, "exit_status"), 137);
	CHECK(json_object_get(j, "error") == NULL);
	CHECK(json_object_get(j, "attempts") == NULL);
	CHECK(json_object_get(j, "labels") == NULL);
	json_decref(j);
}

TEST(result_signal_names)
{
	static const struct {
		int sig;
		const char *name;
	} cases[] = {
		{ SIGTERM, "SIGTERM" }, { SIGSEGV, "SIGSEGV" }, { SIGXCPU, "SIGXCPU" },
		{ SIGINT, "SIGINT" },   { SIGSYS, "SIGSYS" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		art_result r = ended(ART_END_SIGNALED);
		r.term_signal = cases[i].sig;
		json_t *j = result_json(NULL, &r, 0, NULL);
		CHECK_EQ_STR(GET_STR(j, "signal"), cases[i].name);
		json_decref(j);
	}
	art_result r = ended(ART_END_SIGNALED);
	r.term_signal = SIGRTMIN + 2;
	json_t *j = result_json(NULL, &r, 0, NULL);
	CHECK_EQ_STR(GET_STR(j, "signal"), "SIGRTMIN+2");
	json_decref(j);
}

TEST(result_timeout)
{
	art_result r = ended(ART_END_TIMEOUT);
	r.term_signal = SIGTERM;
	r.started_ns = 5;
	r.queued_ns = 5;
	json_t *j = result_json(NULL, &r, 0, NULL);
	CHECK_EQ_STR(GET_STR(j, "status"), "timeout");
	CHECK(IS_NULL(j, "exit_code"));
	CHECK_EQ_STR(GET_STR(j, "signal"), "SIGTERM");
	CHECK_EQ_INT(GET_INT(j, "exit_status"), 124);
	CHECK(GET_REAL(j, "queue_s") == 0);
	json_decref(j);
}

TEST(result_cancelled_before_start)
{
	art_result r = ended(ART_END_CANCELLED);
	r.queued_ns = 100;
	json_t *j = result_json(NULL, &r, 0, NULL);
	CHECK_EQ_STR(GET_STR(j, "status"), "cancelled");
	CHECK(IS_NULL(j, "signal"));
	CHECK_EQ_INT(GET_INT(j, "exit_status"), 130);
	CHECK_EQ_INT(GET_INT(j, "pid"), 0);
	CHECK(IS_NULL(j, "queue_s"));
	CHECK(GET_REAL(j, "wall_s") == 0);
	json_decref(j);
}

TEST(result_start_failed)
{
	art_spec *s = PARSE("{\"id\": \"nf\", \"cmd\": [\"no-such-cmd\"]}");
	art_result r = ended(ART_END_START_FAILED);
	r.start_errno = ENOENT;
	r.start_stage = ART_STAGE_EXEC;
	json_t *j = result_json(s, &r, 0, NULL);
	static const char *const keys[] = {
		"id", "status", "ok", "exit_code", "signal", "exit_status", "error", "pid", "wall_s",
		"queue_s", "user_s", "system_s", "max_rss_bytes", "stdout_bytes", "stderr_bytes",
		"stdout", "stderr", "stdout_truncated", "stderr_truncated", "orphans_killed", NULL,
	};
	check_keys(j, keys);
	CHECK_EQ_STR(GET_STR(j, "status"), "start_failed");
	CHECK_EQ_INT(GET_INT(j, "exit_status"), 127);
	json_t *e = json_object_get(j, "error");
	static const char *const ekeys[] = { "errno", "code", "stage", "message", NULL };
	check_keys(e, ekeys);
	CHECK_EQ_INT(GET_INT(e, "errno"), ENOENT);
	CHECK_EQ_STR(GET_STR(e, "code"), "ENOENT");
	CHECK_EQ_STR(GET_STR(e, "stage"), "exec");
	CHECK_EQ_STR(GET_STR(e, "message"), "No such file or directory");
	json_decref(j);
	art_spec_free(s);
}

TEST(result_start_failed_unknown_errno)
{
	art_result r = ended(ART_END_START_FAILED);
	r.start_errno = 9999;
	r.start_stage = ART_STAGE_CHDIR;
	json_t *j = result_json(NULL, &r, 0, NULL);
	json_t *e = json_object_get(j, "error");
	CHECK_EQ_INT(GET_INT(e, "errno"), 9999);
	CHECK(IS_NULL(e, "code"));
	CHECK_EQ_STR(GET_STR(e, "stage"), "chdir");
	CHECK_EQ_STR(GET_STR(e, "message"), "Unknown error 9999");
	CHECK_EQ_INT(GET_INT(j, "exit_status"), 125);
	json_decref(j);
}

TEST(result_attempts_and_labels)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"labels\": {\"team\": \"a\", \"run\": \"7\"}}");
	art_result r = ended(ART_END_EXITED);
	r.exit_code = 3;
	r.orphans_killed = 2;
	json_t *j = result_json(s, &r, 3, NULL);
	static const char *const keys[] = {
		"id", "status", "ok", "exit_code", "signal", "exit_status", "pid", "wall_s", "queue_s",
		"user_s", "system_s", "max_rss_bytes", "stdout_bytes", "stderr_bytes", "stdout",
		"stderr", "stdout_truncated", "stderr_truncated", "orphans_killed", "attempts",
		"labels", NULL,
	};
	check_keys(j, keys);
	CHECK(IS_NULL(j, "id"));
	CHECK_EQ_INT(GET_INT(j, "exit_code"), 3);
	CHECK_EQ_INT(GET_INT(j, "exit_status"), 3);
	CHECK(json_is_false(json_object_get(j, "ok")));
	CHECK_EQ_INT(GET_INT(j, "orphans_killed"), 2);
	CHECK_EQ_INT(GET_INT(j, "attempts"), 3);
	json_t *l = json_object_get(j, "labels");
	static const char *const lkeys[] = { "team", "run", NULL };
	check_keys(l, lkeys);
	CHECK_EQ_STR(GET_STR(l, "team"), "a");
	CHECK_EQ_STR(GET_STR(l, "run"), "7");
	json_decref(j);
	art_spec_free(s);
}

TEST(result_skipped)
{
	art_spec *s = PARSE("{\"id\": \"deploy\", \"cmd\": \"x\", \"depends_on\": \"build\"}");
	art_result r = ended(ART_END_SKIPPED);
	r.queued_ns = 7;
	r.skip_reason = "dependency \"build\" failed (exit 1)";
	char *text;
	json_t *j = result_json(s, &r, 0, &text);
	static const char *const keys[] = {
		"id", "status", "ok", "exit_code", "signal", "exit_status", "error", "pid", "wall_s",
		"queue_s", "user_s", "system_s", "max_rss_bytes", "stdout_bytes", "stderr_bytes",
		"stdout", "stderr", "stdout_truncated", "stderr_truncated", "orphans_killed", NULL,
	};
	check_keys(j, keys);
	CHECK_EQ_STR(GET_STR(j, "id"), "deploy");
	CHECK_EQ_STR(GET_STR(j, "status"), "skipped");
	CHECK(json_is_false(json_object_get(j, "ok")));
	CHECK(IS_NULL(j, "exit_code"));
	CHECK(IS_NULL(j, "signal"));
	CHECK_EQ_INT(GET_INT(j, "exit_status"), 125);
	CHECK_EQ_INT(GET_INT(j, "pid"), 0);
	CHECK(IS_NULL(j, "queue_s"));
	json_t *e = json_object_get(j, "error");
	static const char *const ekeys[] = { "message", NULL };
	check_keys(e, ekeys);
	CHECK_EQ_STR(GET_STR(e, "message"), "dependency \"build\" failed (exit 1)");
	CHECK(strstr(text, ",\"exit_status\":125,\"error\":{\"message\":"
			   "\"dependency \\\"build\\\" failed (exit 1)\"},\"pid\":0,"));
	free(text);
	json_decref(j);

	r.skip_reason = NULL;
	j = result_json(s, &r, 0, NULL);
	CHECK_EQ_STR(GET_STR(json_object_get(j, "error"), "message"), "skipped");
	json_decref(j);
	art_spec_free(s);
}

TEST(result_attempts_from_the_result)
{
	static const struct {
		unsigned arg, counted;
		int want; /* 0: no "attempts" */
	} cases[] = {
		{ 0, 0, 0 }, { 0, 1, 0 }, { 1, 1, 0 }, { 0, 3, 3 },
		{ 1, 2, 2 }, { 4, 2, 4 }, { 2, 0, 2 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		art_result r = ended(ART_END_EXITED);
		r.exit_code = 1;
		r.attempts = cases[i].counted;
		json_t *j = result_json(NULL, &r, cases[i].arg, NULL);
		if (cases[i].want)
			CHECK_EQ_INT(GET_INT(j, "attempts"), cases[i].want);
		else
			CHECK(json_object_get(j, "attempts") == NULL);
		json_decref(j);
	}
}

TEST(result_frozen_s)
{
	art_spec *s = PARSE("{\"cmd\": \"x\", \"labels\": {\"k\": \"v\"}}");
	art_result r = ended(ART_END_EXITED);
	r.exit_code = 0;
	r.attempts = 2;
	r.frozen_ns = 2500000000;
	char *text;
	json_t *j = result_json(s, &r, 0, &text);
	static const char *const keys[] = {
		"id", "status", "ok", "exit_code", "signal", "exit_status", "pid", "wall_s", "queue_s",
		"user_s", "system_s", "max_rss_bytes", "stdout_bytes", "stderr_bytes", "stdout",
		"stderr", "stdout_truncated", "stderr_truncated", "orphans_killed", "attempts",
		"frozen_s", "labels", NULL,
	};
	check_keys(j, keys);
	CHECK(GET_REAL(j, "frozen_s") == 2.5);
	CHECK(strstr(text, "\"attempts\":2,\"frozen_s\":2.5,\"labels\":"));
	free(text);
	json_decref(j);

	/* Never frozen: not there, like attempts. */
	r.attempts = 1;
	r.frozen_ns = 0;
	j = result_json(s, &r, 0, NULL);
	CHECK(json_object_get(j, "frozen_s") == NULL);
	CHECK(json_object_get(j, "attempts") == NULL);
	json_decref(j);

	r.frozen_ns = 1;
	j = result_json(s, &r, 0, NULL);
	CHECK(GET_REAL(j, "frozen_s") == 1e-9);
	json_decref(j);
	art_spec_free(s);
}

static const char *stdout_of(const char *tail, size_t len, int truncated, size_t *out_len)
{
	static char buf[256];
	art_result r = ended(ART_END_EXITED);
	r.exit_code = 0;
	r.stdout_tail = tail;
	r.stdout_tail_len = len;
	r.stdout_truncated = truncated;
	json_t *j = result_json(NULL, &r, 0, NULL);
	json_t *s = json_object_get(j, "stdout");
	CHECK(json_is_string(s));
	CHECK(json_string_length(s) < sizeof(buf));
	memcpy(buf, json_string_value(s), json_string_length(s) + 1);
	if (out_len)
		*out_len = json_string_length(s);
	CHECK(json_is_boolean(json_object_get(j, "stdout_truncated")));
	CHECK(json_is_true(json_object_get(j, "stdout_truncated")) == (truncated != 0));
	json_decref(j);
	return buf;
}

#define FFFD "\xef\xbf\xbd"

TEST(result_tail_keeps_valid_utf8)
{
	const char *t = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
	CHECK_EQ_STR(stdout_of(t, strlen(t), 0, NULL), t);
}

TEST(result_tail_replaces_invalid_utf8)
{
	CHECK_EQ_STR(stdout_of("a\xff" "b", 3, 0, NULL), "a" FFFD "b");
	/* Overlong, surrogate, past U+10FFFF, a lone continuation, a cut sequence. */
	CHECK_EQ_STR(stdout_of("\xc0\x80", 2, 0, NULL), FFFD FFFD);
	CHECK_EQ_STR(stdout_of("\xed\xa0\x80", 3, 0, NULL), FFFD FFFD FFFD);
	CHECK_EQ_STR(stdout_of("\xf4\x90\x80\x80", 4, 0, NULL), FFFD FFFD FFFD FFFD);
	CHECK_EQ_STR(stdout_of("x\x80y", 3, 0, NULL), "x" FFFD "y");
	CHECK_EQ_STR(stdout_of("ab\xe2\x82", 4, 0, NULL), "ab" FFFD FFFD);
	CHECK_EQ_STR(stdout_of("\xe2\x82z", 3, 0, NULL), FFFD FFFD "z");
}

TEST(result_tail_drops_a_character_cut_by_the_cap)
{
	/* The tail of "€uro" lost the first byte of the euro sign. */
	CHECK_EQ_STR(stdout_of("\x82\xac" "uro", 5, 1, NULL), "uro");
	/* Without truncation the same bytes are simply invalid. */
	CHECK_EQ_STR(stdout_of("\x82\xac" "uro", 5, 0, NULL), FFFD FFFD "uro");
	/* No more than three are dropped: a fourth cannot belong to the cut character. */
	CHECK_EQ_STR(stdout_of("\x80\x80\x80\x80z", 5, 1, NULL), FFFD "z");
}

TEST(result_tail_keeps_nul_bytes)
{
	size_t len;
	const char *s = stdout_of("a\0b", 3, 0, &len);
	CHECK_EQ_INT(len, 3);
	CHECK(memcmp(s, "a\0b", 3) == 0);
}

TEST(result_tail_only_first_len_bytes)
{
	CHECK_EQ_STR(stdout_of("abcdef", 3, 0, NULL), "abc");
	CHECK_EQ_STR(stdout_of(NULL, 0, 0, NULL), "");
}

TEST(result_invalid_utf8_in_id_and_labels)
{
	art_spec *s = NULL;
	CHECK_EQ_INT(art_spec_new(&s), 0);
	CHECK_EQ_INT(art_spec_set_id(s, "job\xff"), 0);
	CHECK_EQ_INT(art_spec_set_label(s, "k\xfe", "v\xc3"), 0);
	art_result r = ended(ART_END_EXITED);
	json_t *j = result_json(s, &r, 0, NULL);
	CHECK_EQ_STR(GET_STR(j, "id"), "job" FFFD);
	CHECK_EQ_STR(GET_STR(json_object_get(j, "labels"), "k" FFFD), "v" FFFD);
	json_decref(j);
	art_spec_free(s);
}

TEST(result_big_counters)
{
	art_result r = ended(ART_END_EXITED);
	r.exit_code = 0;
	r.stdout_bytes = UINT64_C(1) << 40;
	r.max_rss_bytes = UINT64_MAX;
	r.stdout_truncated = 1;
	json_t *j = result_json(NULL, &r, 0, NULL);
	CHECK_EQ_INT(GET_INT(j, "stdout_bytes"), INT64_C(1) << 40);
	CHECK_EQ_INT(GET_INT(j, "max_rss_bytes"), INT64_MAX);
	CHECK(json_is_true(json_object_get(j, "stdout_truncated")));
	json_decref(j);
}

TEST(result_bad_arguments)
{
	art_result r = ended(ART_END_EXITED);
	char *out = (char *)(uintptr_t)0x1;
	CHECK_EQ_INT(art_result_to_json(NULL, NULL, 0, &out), -EINVAL);
	CHECK_EQ_INT(art_result_to_json(NULL, &r, 0, NULL), -EINVAL);
	CHECK(out == (char *)(uintptr_t)0x1);
}
