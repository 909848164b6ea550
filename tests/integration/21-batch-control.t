#!/usr/bin/env bash
# agentrt batch: --stop-on-failure, --retries, -j (sequential and parallel),
# the default --timeout.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 33

# --- --stop-on-failure, sequential: the tasks after the failure never start
cat >"$T/sof.jsonl" <<JSONL
{"id":"t1","cmd":["touch","$T/ran1"]}
{"id":"t2","cmd":["$PROBE","exit","1"]}
{"id":"t3","cmd":["touch","$T/ran3"]}
{"id":"t4","cmd":["touch","$T/ran4"]}
JSONL
artc batch -j 1 --stop-on-failure --keep-order "$T/sof.jsonl"
is "$ART_RC" 1 "--stop-on-failure: exit 1"
is "$(records "$T/out" id status ok | tr '\t\n' ', ')" \
	"t1,exited,true t2,exited,false t3,cancelled,false t4,cancelled,false " \
	"the unstarted tasks are reported cancelled"
ok "$([ -e "$T/ran1" ] && [ ! -e "$T/ran3" ] && [ ! -e "$T/ran4" ]; echo $?)" \
	"the task before ran, the ones after did not"
rec=$(record_by "$T/out" id t3)
is "$(json_get "$rec" exit_status)/$(json_get "$rec" pid)/$(json_get "$rec" queue_s)" "130/0/null" \
	"a task that never ran: exit_status 130, pid 0, queue_s null (docs/spec.md)"

# --- --stop-on-failure, parallel: a running task is cancelled
N=$(new_num_marker)
cat >"$T/sof2.jsonl" <<JSONL
{"id":"long","cmd":["sleep","60.$N"]}
{"id":"fail","cmd":["sh","-c","sleep 0.3; exit 1"]}
JSONL
artc batch -j 2 --stop-on-failure "$T/sof2.jsonl"
is "$ART_RC" 1 "--stop-on-failure -j 2: exit 1"
num_cmp "$ART_MS" '<' 10000 "the running task was stopped, not waited for (${ART_MS} ms)"
is "$(records "$T/out" id status | sort | tr '\t\n' ', ')" "fail,exited long,cancelled " \
	"the running task is reported cancelled"
rec=$(record_by "$T/out" id long)
is "$(json_get "$rec" signal)/$(json_get "$rec" exit_status)" "SIGTERM/143" \
	"a cancelled running task: the signal that ended it and 128+N (docs/spec.md)"
no_survivors "$N" "the cancelled task is gone"

# Without --stop-on-failure everything runs.
rm -f "$T/ran1" "$T/ran3" "$T/ran4"
artc batch -j 1 "$T/sof.jsonl"
ok "$([ -e "$T/ran1" ] && [ -e "$T/ran3" ] && [ -e "$T/ran4" ]; echo $?)" \
	"without --stop-on-failure every task runs (rc $ART_RC)"

# --- --retries
cat >"$T/retry.jsonl" <<JSONL
{"id":"flaky","cmd":["sh","-c","n=\$(cat '$T/count' 2>/dev/null || echo 0); n=\$((n+1)); echo \$n >'$T/count'; [ \$n -ge 3 ]"]}
JSONL
artc batch --retries 2 "$T/retry.jsonl"
rec=$(record_by "$T/out" id flaky)
is "$ART_RC" 0 "--retries 2: a task that fails twice then succeeds -> exit 0"
is "$(json_get "$rec" attempts)/$(json_get "$rec" ok)/$(json_get "$rec" status)" "3/true/exited" \
	"its record: attempts 3, ok true, exited"
is "$(cat "$T/count")" 3 "it ran 3 times"
is "$(count_records "$T/out")" 1 "one record per task, not per attempt"

rm -f "$T/count"
artc batch --retries 1 "$T/retry.jsonl"
rec=$(record_by "$T/out" id flaky)
is "$ART_RC/$(json_get "$rec" attempts)/$(json_get "$rec" ok)" "1/2/false" \
	"--retries 1: fails twice -> exit 1, attempts 2, ok false"

N=$(new_num_marker)
printf '{"id":"slow","cmd":["sleep","30.%s"],"timeout":"200ms"}\n' "$N" >"$T/slow.jsonl"
artc batch --retries 1 "$T/slow.jsonl"
rec=$(record_by "$T/out" id slow)
is "$(json_get "$rec" status)/$(json_get "$rec" attempts)/$ART_RC" "timeout/2/1" \
	"--retries 1 with a task that times out: retried once, still timeout, exit 1"
no_survivors "$N" "no attempt left anything behind"

printf '{"id":"fine","cmd":["true"]}\n' >"$T/fine.jsonl"
artc batch --retries 3 "$T/fine.jsonl"
rec=$(record_by "$T/out" id fine)
like "$(json_get "$rec" attempts)" "^(<absent>|1)$" "a task that succeeds at once is not retried (no attempts > 1)"

# --- -j 1: sequential
cat >"$T/seq.jsonl" <<JSONL
{"id":"s1","cmd":["sh","-c","echo start s1 >>'$T/seq.log'; sleep 0.2; echo end s1 >>'$T/seq.log'"]}
{"id":"s2","cmd":["sh","-c","echo start s2 >>'$T/seq.log'; sleep 0.2; echo end s2 >>'$T/seq.log'"]}
{"id":"s3","cmd":["sh","-c","echo start s3 >>'$T/seq.log'; sleep 0.2; echo end s3 >>'$T/seq.log'"]}
JSONL
artc batch -j 1 "$T/seq.jsonl"
is "$ART_RC" 0 "-j 1: exit 0"
is "$(tr '\n' ' ' <"$T/seq.log")" "start s1 end s1 start s2 end s2 start s3 end s3 " \
	"-j 1: one at a time, in input order"

# --- -j 4: 4 at once; -j 2: never more than 2
cat >"$T/par.jsonl" <<JSONL
{"cmd":["sleep","1"]}
{"cmd":["sleep","1"]}
{"cmd":["sleep","1"]}
{"cmd":["sleep","1"]}
JSONL
artc batch -j 4 "$T/par.jsonl"
is "$ART_RC" 0 "-j 4: exit 0"
num_cmp "$ART_MS" '<' 2500 "-j 4: four 1 s sleeps take < 2.5 s (${ART_MS} ms)"
artc batch -j 2 "$T/par.jsonl"
num_cmp "$ART_MS" '>=' 1900 "-j 2: four 1 s sleeps take >= 2 s (${ART_MS} ms)"

mkdir "$T/running"
# shellcheck disable=SC2016 # expanded by the task's sh
conc='touch "$0/running/$$"; ls "$0/running" | wc -l >>"$0/conc.log"; sleep 0.3; rm -f "$0/running/$$"'
for i in 1 2 3 4 5 6; do
	printf '{"cmd":["sh","-c","%s","%s"]}\n' "${conc//\"/\\\"}" "$T"
done >"$T/conc.jsonl"
artc batch -j 2 "$T/conc.jsonl"
is "$ART_RC" 0 "-j 2 concurrency probe: exit 0"
is "$(sort -n "$T/conc.log" | tail -n 1)" 2 "-j 2: at most 2 tasks ran at once (and 2 did)"

# Without -j: as many at once as there are CPUs.
ncpu=$(nproc)
if [ "$ncpu" -le 16 ]; then
	for ((i = 0; i <= ncpu; i++)); do printf '{"cmd":["sleep","1"]}\n'; done >"$T/cpus.jsonl"
	head -n "$ncpu" "$T/cpus.jsonl" >"$T/cpus-n.jsonl"
	artc batch "$T/cpus-n.jsonl"
	num_cmp "$ART_MS" '<' 1900 "default -j: $ncpu tasks (one per CPU) run at once (${ART_MS} ms)"
	artc batch "$T/cpus.jsonl"
	num_cmp "$ART_MS" '>=' 1900 "default -j: $((ncpu + 1)) tasks need two rounds (${ART_MS} ms)"
else
	skip 2 "$ncpu CPUs: too many sleeps for this check"
fi

# -j 0 or a bad -j is a usage error
artc batch -j banana "$T/fine.jsonl"
is "$ART_RC" 2 "-j banana -> 2"

# --- the default per-task timeout, and a spec's own timeout winning
N=$(new_num_marker)
cat >"$T/to.jsonl" <<JSONL
{"id":"default","cmd":["sleep","30.$N"]}
{"id":"own","cmd":["$PROBE","sleep","0.8"],"timeout":"10s"}
JSONL
artc batch -j 2 --timeout 300ms "$T/to.jsonl"
is "$ART_RC" 1 "--timeout 300ms: a task timed out -> exit 1"
num_cmp "$ART_MS" '<' 5000 "and it was stopped quickly (${ART_MS} ms)"
rec=$(record_by "$T/out" id default)
is "$(json_get "$rec" status)/$(json_get "$rec" exit_status)" "timeout/124" \
	"--timeout applies to a spec without one (status timeout, exit_status 124)"
rec=$(record_by "$T/out" id own)
is "$(json_get "$rec" status)/$(json_get "$rec" ok)" "exited/true" "a spec's own timeout wins over --timeout"
no_survivors "$N" "the timed-out task is gone"

done_testing
