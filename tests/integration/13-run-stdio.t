#!/usr/bin/env bash
# agentrt run: stdin forms (--stdin-text, --stdin-file, --no-stdin, inherit),
# stdout/stderr pass-through, and the --json / --result-file record.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 34

# --- stdin
artc run --stdin-text hello -- "$PROBE" count-stdin
is "$ART_RC/$OUT" "0/5" "--stdin-text hello: 5 bytes then EOF"
artc run --stdin-text 'hello world' -- "$PROBE" cat
is "$OUT" "hello world" "--stdin-text through cat"
artc run --stdin-text '' -- "$PROBE" count-stdin
is "$OUT" "0" "--stdin-text '': 0 bytes"

head -c 300000 /dev/urandom >"$T/in.bin"
artc run --stdin-file "$T/in.bin" -- "$PROBE" count-stdin
is "$OUT" "300000" "--stdin-file: 300000 bytes"
art run --stdin-file "$T/in.bin" -- "$PROBE" cat >"$T/cat.bin" 2>"$T/err"
cmp -s "$T/in.bin" "$T/cat.bin"
ok $? "--stdin-file: binary content passes through cat unchanged"

printf 'abc' | art run --no-stdin -- "$PROBE" count-stdin >"$T/out" 2>"$T/err"
is "$(cat "$T/out")" "0" "--no-stdin: the task reads /dev/null even when agentrt's stdin has data"

printf 'abc' | art run -- "$PROBE" count-stdin >"$T/out" 2>"$T/err"
is "$(cat "$T/out")" "3" "default: the task inherits agentrt's stdin (3 bytes)"
head -c 1000000 /dev/zero | art run -- "$PROBE" count-stdin >"$T/out" 2>"$T/err"
is "$(cat "$T/out")" "1000000" "default: 1 MB through the inherited stdin"
printf 'line1\nline2\n' | art run -- "$PROBE" cat >"$T/out" 2>"$T/err"
is "$(cat "$T/out")" "$(printf 'line1\nline2')" "default: cat echoes the inherited stdin"

big=$(head -c 100000 /dev/zero | tr '\0' 'z')
artc run --stdin-text "$big" -- "$PROBE" exit 0
is "$ART_RC" 0 "--stdin-text 100 KB to a task that never reads it: exit 0 (no SIGPIPE in agentrt)"
artc run --stdin-text "$big" -- "$PROBE" count-stdin
is "$OUT" 100000 "--stdin-text 100 KB, read: all of it"

# --- stdout / stderr pass through
"$PROBE" flood 100000 >"$T/want.out"
art run -- "$PROBE" flood 100000 >"$T/got.out" 2>"$T/err"
cmp -s "$T/want.out" "$T/got.out"
ok $? "stdout passes through byte for byte (100000 bytes)"
is "$(wc -c <"$T/err")" 0 "nothing on stderr"

art run -- "$PROBE" flood 5000 err >"$T/out" 2>"$T/got.err"
is "$(wc -c <"$T/got.err")/$(wc -c <"$T/out")" "5000/0" "stderr passes through (5000 bytes), stdout empty"

artc run -- sh -c 'echo to-out; echo to-err >&2'
is "$OUT|$ERR" "to-out|to-err" "each stream goes to its own place"

# A reader that goes away early must not hang agentrt.
t0=$(now_ms)
timeout 20 "$AGENTRT" run -- "$PROBE" flood 50M 2>"$T/err" | head -c 1000 >/dev/null
rc=${PIPESTATUS[0]}
t1=$(now_ms)
num_cmp $((t1 - t0)) '<' 15000 "a closed stdout pipe does not hang it (rc $rc, $((t1 - t0)) ms)"
isnt "$rc" 124 "and the task ends (not killed by the guard)"

# --- descriptors: the task gets 0, 1, 2 and nothing else of agentrt's
# (epoll, pidfds, signalfd, pipe ends) or of its caller's.
artc run -- "$PROBE" fds 7<"$T/in.bin"
is "$OUT" "0 1 2" "the task has only descriptors 0 1 2 (caller had 7 open too)"
artc run --stdin-text abc --json -- "$PROBE" fds
is "$OUT" "0 1 2" "the same with --stdin-text and --json"

# --- the --json record
artc run --json -- sh -c 'printf "out\n"; printf "err12\n" >&2; exit 3'
rec=$(json_record)
is "$ART_RC" 3 "--json: exit status 3"
is "$OUT" "out" "--json: stdout still passes through"
like "$(cat "$T/err")" "^err12" "--json: task stderr first, the record after it"
is "$(grep -c '^{' "$T/err")" 1 "--json: exactly one JSON line on stderr"
is "$(json_get "$rec" status)/$(json_get "$rec" exit_code)/$(json_get "$rec" exit_status)" \
	"exited/3/3" "--json: status, exit_code, exit_status"

missing=""
for f in id status ok exit_code signal exit_status pid wall_s queue_s user_s system_s \
	max_rss_bytes stdout_bytes stderr_bytes stdout_truncated stderr_truncated orphans_killed; do
	[ "$(json_get "$rec" "$f")" = "<absent>" ] && missing="$missing $f"
done
is "$missing" "" "--json: the record has every documented field"
like "$(json_get "$rec" pid)" "^[1-9][0-9]*$" "--json: pid is a positive number"
like "$(json_get "$rec" wall_s)" "^[0-9.e-]+$" "--json: wall_s is a number"
like "$(json_get "$rec" max_rss_bytes)" "^[1-9][0-9]*$" "--json: max_rss_bytes is positive"
sb=$(json_get "$rec" stdout_bytes)
eb=$(json_get "$rec" stderr_bytes)
like "$sb/$eb" "^(0/0|4/6)$" "--json: stdout_bytes/stderr_bytes are 0/0 (passed through) or 4/6 (counted) ($sb/$eb)"

artc run --json -- "$PROBE" spin 0.3
rec=$(json_record)
us=$(json_get "$rec" user_s)
_py -c "import sys; sys.exit(0 if 0.2 <= float(sys.argv[1]) < 5 else 1)" "$us"
ok $? "--json: user_s counts the task's CPU time (spin 0.3 -> $us)"

# --- --result-file
artc run --result-file "$T/result.json" -- sh -c 'echo hi; echo oops >&2; exit 4'
is "$ART_RC" 4 "--result-file: exit status 4"
is "$ERR" "oops" "--result-file: the record is not on stderr"
rec=$(last_json_line "$T/result.json")
is "$(json_get "$rec" status)/$(json_get "$rec" exit_code)" "exited/4" "--result-file: the file holds the record"

artc run --result-file "$T/result2.json" -- /nonexistent/cmd
rec=$(last_json_line "$T/result2.json")
is "$ART_RC/$(json_get "$rec" status)/$(json_get "$rec" error.stage)" "127/start_failed/exec" \
	"--result-file: a start failure is recorded too"

done_testing
