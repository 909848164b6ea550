#!/usr/bin/env bash
# agentrt run: start failures. Missing command -> 127, not executable -> 126,
# other start failures (chdir, stdin file) -> 125, bad options -> 125; each
# with one line on stderr that names the path, the error and the stage.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 27

# --- not found
artc run -- /nonexistent/cmd
is "$ART_RC" 127 "missing binary (absolute path) -> 127"
is "$ERR" "agentrt: /nonexistent/cmd: No such file or directory (exec)" \
	"one line on stderr naming the path, the error and the stage"

# A PATH of searchable directories only: a directory we may not search
# (/root/... inherited through su) makes the search end in EACCES (126), as
# execvp(3) and env(1) do.
PATH=/usr/local/bin:/usr/bin:/bin artc run -- agentrt-no-such-command-here
is "$ART_RC" 127 "command not found in PATH -> 127"
like "$ERR" "agentrt-no-such-command-here.*No such file or directory \(exec\)" "and says so"

artc run --json -- /nonexistent/cmd
rec=$(json_record)
is "$ART_RC" 127 "--json: still 127"
is "$(json_get "$rec" status)" start_failed "--json: status start_failed"
is "$(json_get "$rec" error.code)/$(json_get "$rec" error.errno)/$(json_get "$rec" error.stage)" \
	"ENOENT/2/exec" "--json: error {code ENOENT, errno 2, stage exec}"
is "$(json_get "$rec" ok)/$(json_get "$rec" exit_status)" "false/127" "--json: ok false, exit_status 127"
like "$(json_get "$rec" error.message)" "No such file or directory" "--json: error.message"

# --- not executable
printf '#!/bin/sh\necho should not run\n' >"$T/noexec"
chmod 644 "$T/noexec"
artc run -- "$T/noexec"
is "$ART_RC" 126 "a file without x permission -> 126"
is "$ERR" "agentrt: $T/noexec: Permission denied (exec)" "message names EACCES and exec"
is "$OUT" "" "and it did not run"

artc run -- "$T"
is "$ART_RC" 126 "a directory as the command -> 126"

printf '#!/nonexistent/interpreter\n' >"$T/badinterp"
chmod 755 "$T/badinterp"
artc run -- "$T/badinterp"
is "$ART_RC" 127 "a script whose interpreter is missing (execve ENOENT) -> 127"
like "$ERR" "^agentrt: .*badinterp: No such file or directory \(exec\)$" "and says so with the exec stage"

# --- other start failures: 125
artc run --cwd /nonexistent-dir-agentrt -- "$PROBE" cwd
is "$ART_RC" 125 "bad --cwd -> 125"
like "$ERR" "^agentrt: .*/nonexistent-dir-agentrt.*: No such file or directory \(chdir\)$" \
	"message names the dir, the error and chdir"
is "$OUT" "" "the command did not run"

artc run --json --cwd /nonexistent-dir-agentrt -- "$PROBE" cwd
rec=$(json_record)
is "$(json_get "$rec" status)/$(json_get "$rec" error.stage)/$(json_get "$rec" error.code)" \
	"start_failed/chdir/ENOENT" "--json: start_failed at chdir, ENOENT"

artc run --stdin-file /nonexistent-file-agentrt -- "$PROBE" count-stdin
is "$ART_RC" 125 "a missing --stdin-file -> 125"
like "$ERR" "nonexistent-file-agentrt" "message names the file"

# --- bad options: 125
artc run --no-such-option -- "$PROBE" exit 0
is "$ART_RC" 125 "unknown option -> 125"
like "$ERR" "^agentrt: " "with a message"
artc run --timeout banana -- "$PROBE" exit 0
is "$ART_RC" 125 "bad --timeout value -> 125"
artc run --memory 12Q -- "$PROBE" exit 0
is "$ART_RC" 125 "bad --memory value -> 125"
artc run --nofile -3 -- "$PROBE" exit 0
is "$ART_RC" 125 "bad --nofile value -> 125"
artc run --quiet --no-such-option -- "$PROBE" exit 0
is "$ART_RC" 125 "--quiet does not change the status of a usage error"

done_testing
