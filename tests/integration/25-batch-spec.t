#!/usr/bin/env bash
# agentrt batch: the fields of a task spec: env (null unsets), inherit_env
# (false, allow-list), cwd, limits, timeout and grace, labels, output
# inherit; and a task's survivors in batch mode.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 23

export AGT_KEEP=1 AGT_ALSO=2 AGTX_DROP=3 HOME=/home/agentrt-home-marker
mkdir -p "$T/work dir"
M=$(new_marker)
cat >"$T/spec.jsonl" <<JSONL
{"id":"env","cmd":["$PROBE","env"],"env":{"FOO":"bar","HOME":null}}
{"id":"noinherit","cmd":["$PROBE","env"],"inherit_env":false,"env":{"ONLY":"1"}}
{"id":"allow","cmd":["$PROBE","env"],"inherit_env":["AGT_*","PATH"]}
{"id":"cwd","cmd":["$PROBE","cwd"],"cwd":"$T/work dir"}
{"id":"limits","cmd":["$PROBE","limits"],"limits":{"address_space":"256M","cpu_time":"30s","nofile":64,"nproc":500,"file_size":"10M","core":0}}
{"id":"mem","cmd":["$PROBE","alloc","512M"],"limits":{"address_space":"64M"}}
{"id":"to","cmd":["$PROBE","ignore-term","30","$M"],"timeout":"300ms","grace":"300ms"}
{"id":"labels","cmd":["true"],"labels":{"agent":"a7","step":"3"}}
{"id":"daemon","cmd":["$PROBE","daemonize","$T/d.pid","100","$M"]}
JSONL
artc batch -j 4 "$T/spec.jsonl"
rec_of() { record_by "$T/out" id "$1"; }
stdout_of() { json_get "$(rec_of "$1")" stdout; }

env_out=$(stdout_of env)
like "$env_out" $'(^|\n)FOO=bar(\n|$)' "env: FOO set"
unlike "$env_out" $'(^|\n)HOME=' "env: HOME null unsets it"
like "$env_out" $'(^|\n)AGT_KEEP=1(\n|$)' "env: the rest is inherited"
is "$(stdout_of noinherit)" "ONLY=1" "inherit_env false: only the spec's env"
is "$(stdout_of allow | grep -v '^$' | sort | cut -d= -f1 | tr '\n' ' ')" "AGT_ALSO AGT_KEEP PATH " \
	"inherit_env [\"AGT_*\",\"PATH\"]: an allow-list with a prefix"
is "$(stdout_of cwd)" "$(cd "$T/work dir" && pwd -P)" "cwd"

if is_asan "$PROBE"; then
	# See 15-run-limits.t: an ASan probe cannot start under RLIMIT_AS.
	skip 2 "the probe is built with ASan, which cannot run under RLIMIT_AS"
else
	lim=$(stdout_of limits)
	is "$(tr '\n' ' ' <<<"$lim")" "as 268435456 cpu 30 nofile 64 nproc 500 fsize 10485760 core 0 " \
		"limits: address_space, cpu_time, nofile, nproc, file_size, core"
	rec=$(rec_of mem)
	is "$(json_get "$rec" exit_code)/$(json_get "$rec" stderr)" "3/alloc failed" \
		"limits.address_space 64M: alloc 512M fails, stderr captured"
fi

rec=$(rec_of to)
is "$(json_get "$rec" status)/$(json_get "$rec" signal)/$(json_get "$rec" exit_status)" \
	"timeout/SIGKILL/124" "timeout + grace: a SIGTERM-ignoring task is killed (timeout, SIGKILL)"
wall=$(json_get "$rec" wall_s)
_py -c "import sys; sys.exit(0 if 0.5 <= float(sys.argv[1]) < 4 else 1)" "$wall" 2>/dev/null
ok $? "its wall_s is about timeout + grace ($wall)"

rec=$(rec_of labels)
is "$(json_get "$rec" labels.agent)/$(json_get "$rec" labels.step)" "a7/3" "labels are in the record"

rec=$(rec_of daemon)
is "$(json_get "$rec" status)/$(json_get "$rec" ok)" "exited/true" "a daemonizing task exits ok"
no_survivors "$M" "no task left anything behind in batch mode"
is "$ART_RC" 1 "exit 1 (mem and to failed)"

# --- queue_s: a task that waited for a slot says so
cat >"$T/q.jsonl" <<JSONL
{"id":"first","cmd":["$PROBE","sleep","0.5"]}
{"id":"second","cmd":["true"]}
JSONL
artc batch -j 1 "$T/q.jsonl"
q=$(json_get "$(rec_of second)" queue_s)
_py -c "import sys; sys.exit(0 if 0.3 <= float(sys.argv[1]) < 5 else 1)" "$q" 2>/dev/null
ok $? "-j 1: the second task's queue_s counts its wait ($q)"

# --- output inherit: the task writes straight to agentrt's stdout/stderr
printf '{"id":"inh","cmd":["sh","-c","echo direct-out; echo direct-err >&2"],"output":{"stdout":"inherit","stderr":"inherit"}}\n' \
	>"$T/inh.jsonl"
artc batch -o "$T/inh-res.jsonl" "$T/inh.jsonl"
is "$OUT" "direct-out" "output inherit: stdout goes to agentrt's stdout"
like "$ERR" "direct-err" "output inherit: stderr goes to agentrt's stderr"
rec=$(record_by "$T/inh-res.jsonl" id inh)
is "$(json_get "$rec" stdout)/$(json_get "$rec" stdout_bytes)" "/0" "and nothing is captured"

# --- malformed fields
cat >"$T/badspec.jsonl" <<JSONL
{"id":"nocmd"}
{"id":"emptycmd","cmd":[]}
{"id":"badtimeout","cmd":["true"],"timeout":"soon"}
{"id":"badlimit","cmd":["true"],"limits":{"nofile":"many"}}
JSONL
artc batch "$T/badspec.jsonl"
is "$(records "$T/out" line status | sort -n | tr '\t\n' ', ')" \
	"1,invalid 2,invalid 3,invalid 4,invalid " "missing/empty cmd, bad timeout, bad limit: all invalid"
like "$ERR" "line 3: timeout" "a bad timeout is reported with its field"
like "$ERR" "line 4: limits.nofile" "a bad limit is reported with its field"

# --- documented details of the spec (docs/spec.md)
cat >"$T/doc.jsonl" <<JSONL
{"id":"dup","cmd":["true"],"cmd":["false"]}
{"id":"reserved","cmd":["true"],"hooks":1}
{"id":"numtimeout","cmd":["sleep","5"],"timeout":0.3}
{"id":"nullfield","cmd":["true"],"timeout":null,"cwd":null}
   {"id":"indented","cmd":["true"]}
JSONL
artc batch "$T/doc.jsonl"
is "$(records "$T/out" line status | sort -n | tr '\t\n' ', ')" \
	"1,invalid 2,invalid 3,timeout 4,exited 5,exited " \
	"a key given twice and a reserved field are rejected; a number is seconds; null is the default; leading blanks before {"
like "$ERR" "line 2: hooks: not supported by this version of agentrt" "a reserved field says so"

done_testing
