#!/usr/bin/env bash
# agentrt run: the exit status mirrors the task (exit code, 128+N for a
# signal), --help, usage errors, and the --json record of a plain exit.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 23

for code in 0 3 42 255; do
	artc run -- "$PROBE" exit "$code"
	is "$ART_RC" "$code" "run mirrors exit code $code"
done

artc run -- "$PROBE" kill-self 9
is "$ART_RC" 137 "killed by SIGKILL -> 137"
artc run -- "$PROBE" kill-self 15
is "$ART_RC" 143 "killed by SIGTERM -> 143"
artc run -- "$PROBE" kill-self 6
is "$ART_RC" 134 "killed by SIGABRT -> 134"

artc run -- true
is "$ART_RC" 0 "a bare command name is looked up in PATH (true)"
artc run -- false
is "$ART_RC" 1 "false -> 1"
artc run -- "$PROBE" exit 0 extra args are passed
is "$ART_RC" 0 "arguments after the command reach it"

artc run --help
is "$ART_RC" 0 "run --help exits 0"
like "$OUT$ERR" "--timeout" "run --help lists --timeout"
artc --help
is "$ART_RC" 0 "agentrt --help exits 0"
like "$OUT$ERR" "batch" "agentrt --help mentions batch"

artc run
is "$ART_RC" 125 "run without a command -> 125"
like "$ERR" "^agentrt: " "and says why on stderr"

# The result record of an ordinary exit.
artc run --json -- "$PROBE" exit 3
rec=$(json_record)
is "$ART_RC" 3 "--json keeps the exit status"
is "$(json_get "$rec" status)" exited "--json: status exited"
is "$(json_get "$rec" exit_code)/$(json_get "$rec" exit_status)/$(json_get "$rec" ok)" \
	"3/3/false" "--json: exit_code 3, exit_status 3, ok false"
is "$(json_get "$rec" signal)" null "--json: signal null for an exit"

artc run --json -- "$PROBE" kill-self 9
rec=$(json_record)
is "$(json_get "$rec" status)/$(json_get "$rec" signal)/$(json_get "$rec" exit_status)" \
	"signaled/SIGKILL/137" "--json: status signaled, signal SIGKILL, exit_status 137"

artc run --json -- "$PROBE" exit 0
rec=$(json_record)
is "$(json_get "$rec" ok)" true "--json: ok true for exit 0"

# --quiet: nothing from agentrt itself on a failing task.
artc run --quiet -- "$PROBE" exit 7
is "$ART_RC/$ERR" "7/" "--quiet: exit 7 and nothing on stderr"

done_testing
