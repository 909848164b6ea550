#!/usr/bin/env bash
# agentrt batch: specs read from a pipe (`batch -` and no FILE), and the
# stdin forms of a spec: null (default), {"text"}, {"base64"}, {"file"};
# large stdin fed while the task writes; a task that never reads its stdin.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 20

# --- specs from a pipe
printf '{"id":"p","cmd":["/bin/echo","hi"]}\necho from-shell-line\n' |
	art batch - >"$T/out" 2>"$T/err"
is "$(records "$T/out" id stdout | sort | tr '\t\n' ', ')" "2,from-shell-line\\n p,hi\\n " \
	"batch - reads the specs from stdin"
printf '{"id":"p","cmd":["/bin/echo","hi"]}\n' | art batch >"$T/out" 2>"$T/err"
is "$(records "$T/out" id stdout)" "$(printf 'p\thi\\n')" "batch with no FILE reads stdin too"

printf '{"id":"nonl","cmd":["true"]}' | art batch - >"$T/out" 2>"$T/err"
is "$(records "$T/out" id status)" "$(printf 'nonl\texited')" "a last line without a newline still runs"

# --- stdin forms
printf '%012345d' 0 >"$T/in.txt"
cat >"$T/stdin.jsonl" <<JSONL
{"id":"default","cmd":["$PROBE","count-stdin"]}
{"id":"null","cmd":["$PROBE","count-stdin"],"stdin":null}
{"id":"text","cmd":["$PROBE","count-stdin"],"stdin":{"text":"hello"}}
{"id":"text-cat","cmd":["$PROBE","cat"],"stdin":{"text":"line1\nline2\n"}}
{"id":"b64","cmd":["$PROBE","cat"],"stdin":{"base64":"aGVsbG8gd29ybGQ="}}
{"id":"file","cmd":["$PROBE","count-stdin"],"stdin":{"file":"$T/in.txt"}}
JSONL
# The batch's own stdin has data: a task must not see it unless asked.
printf 'batch-stdin-data' | art batch --keep-order "$T/stdin.jsonl" >"$T/out" 2>"$T/err"
out() { records "$T/out" id stdout | grep -E "^$1	" | cut -f2; }
is "$(out default)" '0\n' "no stdin field: /dev/null (0 bytes), not the batch's stdin"
is "$(out null)" '0\n' "stdin null: 0 bytes"
is "$(out text)" '5\n' 'stdin {"text":"hello"}: 5 bytes'
is "$(out text-cat)" 'line1\nline2\n' "stdin text with newlines, through cat"
is "$(out b64)" 'hello world' 'stdin {"base64":...} is decoded'
is "$(out file)" '12345\n' 'stdin {"file":...}: 12345 bytes'

# --- descriptors: captured output and stdin text use pipes; the task gets
# only its own ends, as 0 1 2, and none of the other tasks' ends.
cat >"$T/fds.jsonl" <<JSONL
{"id":"f1","cmd":["$PROBE","fds"],"stdin":{"text":"x"}}
{"id":"f2","cmd":["$PROBE","fds"]}
{"id":"f3","cmd":["sh","-c","sleep 0.2; '$PROBE' fds"],"stdin":{"text":"y"}}
JSONL
art batch -j 3 "$T/fds.jsonl" >"$T/out" 2>"$T/err" 7<"$T/in.txt"
is "$(records "$T/out" id stdout | sort | tr '\t\n' ', ')" 'f1,0 1 2\n f2,0 1 2\n f3,0 1 2\n ' \
	"each task has only descriptors 0 1 2, with other tasks running"

# --- large stdin while the task writes a lot (no deadlock)
_py -c '
import json, sys
big = "y" * 199999 + "\n"
print(json.dumps({"id": "big-cat", "cmd": [sys.argv[1], "cat"], "stdin": {"text": big},
                  "output": {"cap": "1M"}}))
print(json.dumps({"id": "big-count", "cmd": [sys.argv[1], "count-stdin"], "stdin": {"text": big}}))
print(json.dumps({"id": "unread", "cmd": [sys.argv[1], "exit", "0"], "stdin": {"text": big}}))
print(json.dumps({"id": "after", "cmd": ["/bin/echo", "still here"]}))
' "$PROBE" >"$T/big.jsonl"
ART_GUARD=30 artc batch -j 4 "$T/big.jsonl"
rec=$(record_by "$T/out" id big-cat)
is "$(json_get "$rec" stdout_bytes)/$(json_get "$rec" ok)" "200000/true" \
	"200 KB of stdin text through cat with 200 KB of output: no deadlock"
rec=$(record_by "$T/out" id big-count)
is "$(json_get "$rec" stdout)" "200000" "200 KB of stdin text counted"
rec=$(record_by "$T/out" id unread)
is "$(json_get "$rec" status)/$(json_get "$rec" ok)" "exited/true" \
	"a task that never reads its stdin text ends normally (EPIPE is not fatal)"
rec=$(record_by "$T/out" id after)
is "$(json_get "$rec" stdout)" "still here" "and the batch goes on"
is "$ART_RC" 0 "exit 0"

# --- bad stdin specs
cat >"$T/badstdin.jsonl" <<JSONL
{"id":"bad64","cmd":["$PROBE","cat"],"stdin":{"base64":"!!!not base64!!!"}}
{"id":"nofile","cmd":["$PROBE","cat"],"stdin":{"file":"$T/no-such-file"}}
{"id":"badform","cmd":["$PROBE","cat"],"stdin":{"bogus":"x"}}
{"id":"fine","cmd":["true"]}
JSONL
artc batch "$T/badstdin.jsonl"
is "$ART_RC" 1 "bad stdin specs: exit 1"
is "$(records "$T/out" line status | sort -n | tr '\t\n' ', ')" \
	"1,invalid 2,start_failed 3,invalid 4,exited " \
	"bad base64 and an unknown stdin form are invalid; a missing file fails at start"
like "$ERR" "line 1: stdin" "the bad base64 is reported with its line and field"
like "$ERR" "no-such-file" "the missing file is named"
rec=$(record_by "$T/out" id nofile)
is "$(json_get "$rec" error.stage)/$(json_get "$rec" error.code)/$(json_get "$rec" exit_status)" "stdin/ENOENT/125" \
	"its record: stage stdin, ENOENT, exit_status 125"

done_testing
