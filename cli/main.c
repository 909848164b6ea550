/* SPDX-License-Identifier: MIT */
/* agentrt: dispatch to one file per command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fputs("Usage: agentrt COMMAND [OPTIONS]\n"
	      "\n"
	      "Runs the work of AI agents as limited, supervised tasks.\n"
	      "\n"
	      "Commands:\n"
	      "  run [OPTIONS] -- CMD [ARGS...]   run one task in the foreground\n"
	      "  batch [OPTIONS] [FILE|-]         run tasks from JSON Lines, N at a time\n"
	      "  version                          print the version\n"
	      "\n"
	      "`agentrt COMMAND --help` describes each command; see also agentrt(1).\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_AGENTRT_FAILED;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "batch") == 0)
		return cmd_batch(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("agentrt %s\n", ART_VERSION_STRING);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	cli_error("unknown command \"%s\" (try: agentrt --help)", cmd);
	return EXIT_AGENTRT_FAILED;
}
