#!/usr/bin/env bash
# agentrt run --session: JSON lines from stdin sent to the task (invalid
# ones refused on stderr), the task's lines printed as they come, end of
# stdin ending its input, the exit status mirrored. tests/fake_agent.py is
# the agent.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 28

AGENT="$_root_dir/tests/fake_agent.py"
[ -r "$AGENT" ] || bail_out "no $AGENT"

# session ARGS...: agentrt run --session -- python3 fake_agent.py ARGS, with
# stdin from $T/in (written by `lines`), in this shell (not a pipeline's
# subshell) so that ART_RC stays set.
session() {
	art run --session -- "$_python" "$AGENT" "$@" <"$T/in" >"$T/out" 2>"$T/err"
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}
lines() { printf '%s\n' "$@" >"$T/in"; }

# --- requests and responses, then end of input
lines '{"id":1,"method":"echo","params":{"a":[1,2]}}' \
	'{"id":"two","method":"echo","params":"x"}' '{"id":3,"method":"nope"}'
session
is "$ART_RC" 0 "end of stdin: the agent reads end of file and exits 0"
is "$OUT" "$(printf '%s\n' '{"event":"ready"}' '{"id":1,"result":{"a":[1,2]}}' \
	'{"id":"two","result":"x"}' \
	'{"id":3,"error":{"code":-32601,"message":"unknown method"}}' \
	'{"event":"eof","handled":3}')" "each response is printed, in order, after the ready event"
is "$ERR" "" "nothing on stderr"
strict_jsonl "$T/out"
ok $? "stdout is JSON lines"

# --- the exit status is the task's
lines '{"id":9,"method":"exit","params":{"code":7}}'
session
is "$ART_RC" 7 "the agent exits 7 on request: agentrt exits 7"
is "$(tail -n 1 "$T/out")" '{"id":9,"result":"bye"}' "the last response came before the exit"

# --- invalid lines are refused, not sent
lines '{"id":1,"method":"echo","params":1}' 'not json' '[1,2]' '' '{"id":2,' \
	'{"id":3,"method":"echo","params":3}'
session
is "$ART_RC" 0 "invalid lines do not end the session"
like "$ERR" "stdin line 2: not sent" "a line that is not JSON: an error naming it"
like "$ERR" "stdin line 3: not sent: not a JSON object" "an array: not a JSON object"
like "$ERR" "stdin line 5: not sent" "a truncated object: refused"
unlike "$ERR" "line 4" "a blank line is skipped without a word"
is "$(tail -n 1 "$T/out")" '{"event":"eof","handled":2}' "only the 2 valid lines reached the agent"
is "$(grep -c '"error"' "$T/out")" 0 "the agent never saw a bad line"

# --- plain output passes through, unsolicited events too
for i in $(seq 1 10); do
	printf '{"id":%d,"method":"echo","params":%d}\n' "$i" "$i"
done >"$T/in"
session
is "$(grep -c '"result"' "$T/out")" 10 "10 requests, 10 responses"
like "$OUT" $'\nlog: handled 10 requests\n' "a plain log line passes through"
like "$OUT" '\{"event":"progress","handled":10\}' "an unsolicited event is printed"
lines '{"id":1,"method":"log","params":{"text":"{half a json"}}'
session
like "$OUT" $'\n\\{half a json\n' "a line that looks like JSON but is not passes through as is"

# --- the last line of each side may lack its newline
printf '%s' '{"id":5,"method":"echo","params":5}' >"$T/in"
session --trailing '{"event":"tail"}'
like "$OUT" '\{"id":5,"result":5\}' "stdin's last line without a newline is still sent"
is "$(tail -n 1 "$T/out")" '{"event":"tail"}' "the task's last line without a newline is printed"

# --- stdin from a file (which epoll cannot watch), many requests
_py -c '
import json
for i in range(3000):
    print(json.dumps({"id": i, "method": "echo", "params": {"pad": "p" * 100}}))
' >"$T/in"
session
is "$ART_RC/$(grep -c '"result"' "$T/out")" "0/3000" "3000 requests from a file: 3000 responses"
is "$(tail -n 1 "$T/out")" '{"event":"eof","handled":3000}' "all of them reached the agent"

# --- the task ends while stdin is still open: agentrt does not wait for stdin
t0=$(now_ms)
exec {feed}< <(exec sleep 5)
feed_pid=$!
art run --session -- "$_python" "$AGENT" --exit-now 4 <&"$feed" >"$T/out" 2>"$T/err"
exec {feed}<&-
kill "$feed_pid" 2>/dev/null
t1=$(now_ms)
is "$ART_RC" 4 "the task exits by itself (4) while stdin stays open"
num_cmp $((t1 - t0)) '<' 4000 "agentrt returns without waiting for stdin's end ($((t1 - t0)) ms)"

# --- any program: cat echoes the lines it is sent
lines '{"a":1}' '{"b":"\u00e9"}'
art run --session -- cat <"$T/in" >"$T/out" 2>"$T/err"
is "$ART_RC/$(cat "$T/out")" "0/$(printf '%s\n' '{"a":1}' '{"b":"\u00e9"}')" \
	"cat: the lines come back as they were sent"

# --- in a sandbox: the init is cloned while the reader thread may be
# exiting (glibc's set*id wrappers once waited for it there forever)
lines '{"a":1}' '{"b":2}'
if art run --sandbox sandbox -- true >/dev/null 2>&1; then
	bad=""
	for i in $(seq 1 20); do
		ART_GUARD=8 art run --session --sandbox sandbox -- cat <"$T/in" >"$T/out" 2>"$T/err"
		[ "$ART_RC/$(cat "$T/out")" = "0/$(cat "$T/in")" ] || { bad="run $i: rc $ART_RC: $(cat "$T/err")"; break; }
	done
	is "$bad" "" "--sandbox sandbox: 20 sessions through cat, each whole"
else
	skip 1 "no sandbox here (user namespaces)"
fi

# --- options that want stdin for themselves
artc run --session --stdin-text x -- cat
is "$ART_RC" 125 "--session with --stdin-text: a usage error"
like "$ERR" "session reads stdin itself" "which says why"

# --- no one reads agentrt's stdout: the task is stopped, agentrt ends
t0=$(now_ms)
timeout 20 "$AGENTRT" run --session -- sh -c 'while :; do echo "{\"n\":1}"; done' \
	</dev/null 2>"$T/err" | head -n 1 >/dev/null
rc=${PIPESTATUS[0]}
t1=$(now_ms)
isnt "$rc" 124 "a closed stdout does not hang agentrt (rc $rc, $((t1 - t0)) ms)"

done_testing
