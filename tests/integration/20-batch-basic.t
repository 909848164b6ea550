#!/usr/bin/env bash
# agentrt batch: JSON lines and shell lines, one record per task, ids and
# line numbers, --keep-order, -o, exit status, captured output and its cap,
# malformed lines, --strict.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 52

# --- a small mixed batch
cat >"$T/b1.jsonl" <<JSONL
{"id":"a","cmd":["$PROBE","exit","0"]}
{"id":"b","cmd":["$PROBE","flood","100"]}
{"cmd":"echo hello from sh; echo to-stderr >&2"}
echo shell line

# a comment, then a blank line
{"id":"e","cmd":["$PROBE","exit","3"]}
JSONL
artc batch "$T/b1.jsonl"
is "$ART_RC" 1 "a batch with one failing task exits 1"
is "$(count_records "$T/out")" 5 "one record per task (5), comments and blank lines skipped"
is "$(records "$T/out" line id status exit_code ok | sort -n | tr '\t\n' ', ')" \
	"1,a,exited,0,true 2,b,exited,0,true 3,3,exited,0,true 4,4,exited,0,true 7,e,exited,3,false " \
	"ids (default: the line number) and line numbers match the input"
rec=$(record_by "$T/out" id b)
is "$(json_get "$rec" stdout_bytes)" 100 "stdout is captured by default (stdout_bytes 100)"
is "$(json_get "$rec" stdout)" "$("$PROBE" flood 100)" "the record holds the captured stdout"
is "$(json_get "$rec" stdout_truncated)" false "small output is not truncated"
is "$(records "$T/out" id stdout stderr | grep -E '^3	')" "3	hello from sh\\n	to-stderr\\n" \
	"a string cmd runs under sh -c; stdout and stderr are captured apart"
is "$(records "$T/out" id stdout | grep -E '^4	')" "4	shell line\\n" "a line that is not JSON runs as a shell command"
is "$(records "$T/out" id exit_status | grep -E '^e	')" "e	3" "exit_status of the failing task"

# --- --keep-order, -o FILE
cat >"$T/b2.jsonl" <<JSONL
{"id":"slow","cmd":["$PROBE","sleep","1"]}
{"id":"q1","cmd":["$PROBE","exit","0"]}
{"id":"q2","cmd":["$PROBE","exit","0"]}
{"id":"q3","cmd":["$PROBE","exit","0"]}
JSONL
artc batch -j 4 "$T/b2.jsonl"
is "$ART_RC" 0 "all ok -> exit 0"
is "$(records "$T/out" id | tail -n 1)" slow "default: completion order (the slow task last)"
artc batch -j 4 --keep-order "$T/b2.jsonl"
is "$(records "$T/out" id | tr '\n' ' ')" "slow q1 q2 q3 " "--keep-order: input order"
artc batch -j 4 --keep-order -o "$T/o.jsonl" "$T/b2.jsonl"
is "$ART_RC/$(wc -c <"$T/out")" "0/0" "-o FILE: exit 0, nothing on stdout"
is "$(records "$T/o.jsonl" id | tr '\n' ' ')" "slow q1 q2 q3 " "-o FILE: the records are in the file"
is "$(records "$T/o.jsonl" line | tr '\n' ' ')" "1 2 3 4 " "-o FILE: with their line numbers"

# --- output capture: the cap keeps the tail
"$PROBE" flood 10000 | tail -c 1024 >"$T/tail1k"
"$PROBE" flood 100000 | tail -c 65536 >"$T/tail64k"
cat >"$T/b3.jsonl" <<JSONL
{"id":"cap1k","cmd":["$PROBE","flood","10000"],"output":{"cap":"1K"}}
{"id":"cap-stdout","cmd":["$PROBE","flood","10000"],"output":{"stdout":{"capture":"1K"}}}
{"id":"default","cmd":["$PROBE","flood","100000"]}
{"id":"err","cmd":["$PROBE","flood","500","err"]}
{"id":"discard","cmd":["$PROBE","flood","5000"],"output":{"stdout":"discard"}}
{"id":"tofile","cmd":["$PROBE","flood","3000"],"output":{"stdout":{"file":"$T/task-out.txt"}}}
{"id":"app1","cmd":["sh","-c","echo one"],"output":{"stdout":{"file":"$T/app.txt","append":true}}}
JSONL
printf 'zero\n' >"$T/app.txt"
artc batch -j 1 --keep-order -o "$T/o3.jsonl" "$T/b3.jsonl"
is "$ART_RC" 0 "output batch: exit 0"
r() { record_by "$T/o3.jsonl" id "$1"; }
rec=$(r cap1k)
is "$(json_get "$rec" stdout_bytes)/$(json_get "$rec" stdout_truncated)" "10000/true" \
	"output.cap 1K: all 10000 bytes counted, truncated true"
json_get "$rec" stdout | head -c -1 >"$T/got1k" # json_get adds a newline
cmp -s "$T/got1k" "$T/tail1k"
ok $? "output.cap 1K: the record keeps exactly the last 1024 bytes"
rec=$(r cap-stdout)
is "$(json_get "$rec" stdout_bytes)/$(json_get "$rec" stdout_truncated)" "10000/true" \
	"output.stdout {capture: 1K}: truncated too"
json_get "$rec" stdout | head -c -1 >"$T/got1k"
cmp -s "$T/got1k" "$T/tail1k"
ok $? "output.stdout {capture: 1K}: the last 1024 bytes"
rec=$(r default)
is "$(json_get "$rec" stdout_bytes)/$(json_get "$rec" stdout_truncated)" "100000/true" \
	"default cap: 100000 bytes counted, truncated"
json_get "$rec" stdout | head -c -1 >"$T/got64k"
cmp -s "$T/got64k" "$T/tail64k"
ok $? "default cap is 64K and keeps the tail"
rec=$(r err)
is "$(json_get "$rec" stderr_bytes)/$(json_get "$rec" stdout_bytes)" "500/0" "stderr is captured apart (500/0)"
rec=$(r discard)
is "$(json_get "$rec" stdout)/$(json_get "$rec" ok)" "/true" "output.stdout discard: nothing kept"
is "$(wc -c <"$T/task-out.txt" 2>/dev/null)" 3000 "output.stdout {file}: the file has the 3000 bytes"
is "$(cat "$T/app.txt")" "$(printf 'zero\none')" "output.stdout {file, append}: appended"

# --- records stay valid JSON (strict UTF-8) whatever the task writes:
# binary bytes, control characters, quotes, a UTF-8 character cut by the cap
cat >"$T/b4.jsonl" <<'JSONL'
{"id":"bin","cmd":["sh","-c","printf '\\377\\000\\376 bin'"]}
{"id":"ctl","cmd":["printf","a\\033b\\001\\t\"q\\\\"]}
{"id":"utf8cut","cmd":["sh","-c","i=0; while [ $i -lt 1500 ]; do printf '\\303\\251'; i=$((i+1)); done"],"output":{"cap":"1001"}}
JSONL
artc batch "$T/b4.jsonl"
is "$(records "$T/out" status | sort | uniq -c | tr -s ' ')" " 3 exited" "the three tasks ran"
bad=$(strict_jsonl "$T/out")
ok $? "binary, control and cut UTF-8 output: every record is strict UTF-8 JSON $bad"
# shellcheck disable=SC1003
is "$(json_get "$(record_by "$T/out" id ctl)" stdout)" "$(printf 'a\033b\001\t"q\\')" \
	"control characters, quotes and backslashes survive the round trip"
like "$(json_get "$(record_by "$T/out" id bin)" stdout | tr -d '\000')" " bin$" "binary output is kept (invalid bytes replaced)"
rec=$(record_by "$T/out" id utf8cut)
is "$(json_get "$rec" stdout_bytes)/$(json_get "$rec" stdout_truncated)" "3000/true" "a 2-byte character cut by the cap: counted and truncated"

# --- the record's keys, always in the documented order (docs/spec.md)
cat >"$T/keys.jsonl" <<JSONL
{"id":"plain","cmd":["true"],"labels":{"k":"v"}}
{"id":"nf","cmd":["/nonexistent/x"]}
JSONL
artc batch "$T/keys.jsonl"
keys_of() {
	_py -c '
import json, sys
for line in open(sys.argv[1]):
    pairs = json.loads(line, object_pairs_hook=lambda p: p)
    if dict(pairs).get("id") == sys.argv[2]:
        print(" ".join(k for k, _ in pairs))
' "$T/out" "$1"
}
common1="line id status ok exit_code signal exit_status"
common2="pid wall_s queue_s user_s system_s max_rss_bytes stdout_bytes stderr_bytes stdout stderr stdout_truncated stderr_truncated orphans_killed"
is "$(keys_of plain)" "$common1 $common2 labels" "keys in the documented order (labels last)"
is "$(keys_of nf)" "$common1 error $common2" "a start failure: error right after exit_status"

# --- exit statuses
printf '{"cmd":["true"]}\n{"cmd":["true"]}\n' >"$T/allok.jsonl"
artc batch "$T/allok.jsonl"
is "$ART_RC" 0 "every task ok -> 0"
printf '{"cmd":["true"]}\n{"cmd":["/nonexistent/x"]}\n' >"$T/startfail.jsonl"
artc batch "$T/startfail.jsonl"
is "$ART_RC" 1 "a start failure -> 1"
is "$(records "$T/out" line status error.code error.stage | sort -n | tail -n 1)" \
	"2	start_failed	ENOENT	exec" "the start failure's record: start_failed, ENOENT, exec"

# --- malformed lines
cat >"$T/bad.jsonl" <<JSONL
{"id":"good1","cmd":["touch","$T/ran1"]}
{"id":"x","cmd":
{"id":"y","cmd":["true"],"bogus_field":1}
{"id":"z","cmd":["true"],"limits":{"memory":"12Q"}}
{"id":"good5","cmd":["touch","$T/ran5"]}
JSONL
artc batch --keep-order "$T/bad.jsonl"
is "$ART_RC" 1 "malformed lines: exit 1"
like "$ERR" "agentrt: line 2: " "bad JSON is reported with its line number"
like "$ERR" "agentrt: line 3: .*bogus_field" "an unknown field is reported with its line and name"
like "$ERR" 'agentrt: line 4: limits.memory: "12Q" is not a size' "a bad size: line, field and value"
is "$(records "$T/out" line status ok | tr '\t\n' ', ')" \
	"1,exited,true 2,invalid,false 3,invalid,false 4,invalid,false 5,exited,true " \
	"the invalid lines get 'invalid' records; the others run"
msg=$(records "$T/out" line error.message | grep -E '^4	' | cut -f2)
like "$msg" 'limits.memory: "12Q" is not a size' "the invalid record carries error.message"
ok "$([ -e "$T/ran1" ] && [ -e "$T/ran5" ]; echo $?)" "the valid lines ran"

rm -f "$T/ran1" "$T/ran5"
artc batch --strict "$T/bad.jsonl"
is "$ART_RC" 2 "--strict: a malformed line -> exit 2"
like "$ERR" "line 2" "--strict: names the line"
ok "$([ ! -e "$T/ran1" ] && [ ! -e "$T/ran5" ]; echo $?)" "--strict: nothing ran"

# --- -o truncates an old file; empty input; a reader that goes away
printf 'old junk\nmore junk\n' >"$T/old.jsonl"
artc batch -o "$T/old.jsonl" "$T/allok.jsonl"
is "$(grep -c junk "$T/old.jsonl")/$(count_records "$T/old.jsonl")" "0/2" "-o FILE replaces what was in FILE"
: >"$T/empty.jsonl"
artc batch "$T/empty.jsonl"
is "$ART_RC/$(wc -c <"$T/out")" "0/0" "an empty input: exit 0, no records"
M=$(new_marker)
for i in $(seq 1 300); do printf '{"cmd":["%s","exit","0","%s"]}\n' "$PROBE" "$M"; done >"$T/many.jsonl"
t0=$(now_ms)
timeout 30 "$AGENTRT" batch -j 4 "$T/many.jsonl" 2>"$T/err" | head -n 1 >"$T/first"
rc=${PIPESTATUS[0]}
num_cmp $(($(now_ms) - t0)) '<' 25000 "stdout closed after one record: the batch still ends (rc $rc, $(($(now_ms) - t0)) ms)"
no_survivors "$M" "and leaves nothing behind"

# --- usage errors
artc batch --no-such-option "$T/allok.jsonl"
is "$ART_RC" 2 "batch: an unknown option -> 2"
artc batch "$T/does-not-exist.jsonl"
is "$ART_RC" 2 "batch: a missing input file -> 2"

done_testing
