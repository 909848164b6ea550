#!/usr/bin/env bash
# agentrt batch: scheduling. Dependencies (ok/any/failed, skips with the
# reason chain, cycles and unknown ids), priority order, group and kind
# caps and rates, admission by requests, retries, preemption, --explain.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 26

rec_of() { record_by "$T/out" id "$1"; }
field() { json_get "$(rec_of "$1")" "$2"; }

# --- dependencies
cat >"$T/dag.jsonl" <<'JSONL'
{"id":"build","cmd":["sh","-c","exit 1"]}
{"id":"test","cmd":["true"],"depends_on":["build"]}
{"id":"report","cmd":["true"],"depends_on":[{"id":"build","condition":"failed"}]}
{"id":"deploy","cmd":["true"],"depends_on":"test"}
{"id":"cleanup","cmd":["true"],"depends_on":[{"id":"deploy","condition":"any"}]}
{"id":"lint","cmd":["true"]}
{"id":"package","cmd":["true"],"depends_on":["lint"]}
JSONL
artc batch "$T/dag.jsonl"
is "$ART_RC" 1 "a failed task: batch exits 1"
is "$(field test status)" skipped "ok-dependent of a failed task: skipped"
is "$(field test error.message)" 'dependency "build" failed (exit 1)' "skip reason names the dependency and its end"
is "$(field deploy error.message)" 'dependency "test" skipped: dependency "build" failed (exit 1)' \
	"a skip propagates with the reason chain"
is "$(field report status)/$(field report exit_code)" exited/0 "failed-condition dependent runs"
is "$(field cleanup status)" exited "any-condition dependent of a skipped task runs"
is "$(field package status)" exited "ok-dependent of a success runs"

# --- errors: unknown ids and cycles
printf '%s\n' '{"id":"a","cmd":["true"],"depends_on":["b"]}' '{"id":"b","cmd":["true"],"depends_on":["a"]}' >"$T/cycle.jsonl"
artc batch --strict "$T/cycle.jsonl"
is "$ART_RC" 2 "--strict: a cycle refuses the file (exit 2)"
like "$ERR" 'dependency cycle: (a -> b -> a|b -> a -> b)' "the cycle is named"
is "$(count_records "$T/out")" 0 "nothing ran"
printf '%s\n' '{"id":"x","cmd":["true"],"depends_on":["nope"]}' >"$T/unknown.jsonl"
artc batch --strict "$T/unknown.jsonl"
like "$ERR" 'task "x": depends_on "nope": no such task' "--strict: an unknown id is named"
artc batch "$T/cycle.jsonl"
like "$(json_get "$(record_by "$T/out" line 1)" error.message)" 'depends_on "b": no such task' \
	"streaming: a forward reference is an invalid record naming the id"

# --- priority: with one slot, the queue drains by class (the blocker
# outranks everything, so it starts first however the lines arrive)
cat >"$T/prio.jsonl" <<'JSONL'
{"id":"blocker","cmd":["sleep","0.4"],"priority":{"class":"emergency","order":100}}
{"id":"low","cmd":["true"],"priority":"low"}
{"id":"normal","cmd":["true"]}
{"id":"high","cmd":["true"],"priority":"high"}
{"id":"high5","cmd":["true"],"priority":{"class":"high","order":5}}
{"id":"critical","cmd":["true"],"priority":"critical"}
{"id":"emergency","cmd":["true"],"priority":"emergency"}
JSONL
artc batch -j 1 "$T/prio.jsonl"
is "$(records "$T/out" id | tr '\n' ' ')" "blocker emergency critical high5 high normal low " \
	"-j 1: ends in class order, then by order within a class"

# --- caps and rates
printf '{"id":"g%d","cmd":["sleep","0.3"],"group":"g"}\n' 1 2 3 >"$T/group.jsonl"
artc batch -j 4 --group-max g=1 --explain "$T/group.jsonl"
num_cmp "$ART_MS" ">=" 850 "--group-max g=1: three 0.3 s tasks take ${ART_MS} ms (>= 850)"
like "$(records "$T/out" explain | tr '\n' ' ')" "group cap" "--explain names the group cap"
printf '{"id":"k%d","cmd":["true"],"kind":"fetch"}\n' 1 2 3 4 5 6 >"$T/rate.jsonl"
artc batch -j 6 --kind-rate fetch=5:1 "$T/rate.jsonl"
num_cmp "$ART_MS" ">=" 900 "--kind-rate fetch=5:1: six starts take ${ART_MS} ms (>= 900)"
num_cmp "$ART_MS" "<" 3000 "... and not much more"

# --- admission by requests
printf '{"id":"c%d","cmd":["sleep","0.3"],"requests":{"cpu":1}}\n' 1 2 3 >"$T/req.jsonl"
artc batch --capacity-cpus 1 "$T/req.jsonl"
num_cmp "$ART_MS" ">=" 850 "admission: three 1-CPU tasks on 1 CPU run one at a time (${ART_MS} ms)"
artc batch -j 3 "$T/req.jsonl"
num_cmp "$ART_MS" "<" 800 "-j 3 without admission: they run at once (${ART_MS} ms)"
printf '{"id":"m%d","cmd":["sleep","0.3"],"requests":{"cpu":"10m","memory":"600M"}}\n' 1 2 >"$T/mem.jsonl"
artc batch --capacity-memory 1G "$T/mem.jsonl"
num_cmp "$ART_MS" ">=" 550 "admission: two 600M tasks in 1G run one at a time (${ART_MS} ms)"

# --- retries: the runtime's, so a dependent waits for the last try
cat >"$T/retry.jsonl" <<JSONL
{"id":"flaky","cmd":["sh","-c","n=\$(cat $T/n 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $T/n; [ \$n -ge 3 ]"]}
{"id":"after","cmd":["true"],"depends_on":["flaky"]}
JSONL
artc batch --retries 4 "$T/retry.jsonl"
is "$(field flaky attempts)/$(field flaky ok)" "3/true" "--retries: succeeds on the third try, attempts 3"
is "$(field after status)" exited "its dependent ran after the last try"
is "$ART_RC" 0 "batch exits 0"

# --- preemption: an emergency task freezes a running low one
cat >"$T/preempt.jsonl" <<'JSONL'
{"id":"low","cmd":["sh","-c","i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done"],"priority":"low","requests":{"cpu":1}}
{"id":"gate","cmd":["sleep","0.2"],"requests":{"cpu":"100m"}}
{"id":"urgent","cmd":["sleep","0.4"],"priority":"emergency","requests":{"cpu":1},"depends_on":["gate"]}
JSONL
artc batch --preempt --capacity-cpus 1.5 --stats "$T/preempt.jsonl"
is "$(field low ok)/$(field urgent ok)" "true/true" "--preempt: both end well"
num_cmp "$(json_get "$(rec_of low)" frozen_s | awk '{printf "%d", $1 * 1000}')" ">=" 300 \
	"the low task was frozen while the urgent one ran (frozen_s $(field low frozen_s))"
like "$ERR" '"preemptions":1' "stats: one preemption"
