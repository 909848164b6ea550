/* SPDX-License-Identifier: MIT */
/* The in-memory task spec behind the opaque art_spec. */
#ifndef ART_CORE_TASKSPEC_H
#define ART_CORE_TASKSPEC_H

#include <agentrt.h>
#include <stdbool.h>

#include "base/strv.h"

typedef struct spec_output {
	art_output_mode mode;
	size_t cap;
	char *path;
	bool append;
} spec_output;

struct art_spec {
	char *id;
	strv argv;
	art_env_mode env_mode;
	strv env_allow;
	strv env_set; /* "NAME=VALUE", or "NAME" alone to unset */
	char *cwd;
	art_stdin_mode stdin_mode;
	char *stdin_data;
	size_t stdin_len;
	char *stdin_path;
	spec_output out[2]; /* [0] stdout, [1] stderr */
	int64_t timeout_ns;
	int64_t grace_ns;
	uint64_t limits[ART_LIMIT__COUNT];
	uint32_t limits_set; /* bit per art_limit */
	strv label_keys;
	strv label_values;
};

#define SPEC_GRACE_DEFAULT_NS (5 * INT64_C(1000000000))

#endif
