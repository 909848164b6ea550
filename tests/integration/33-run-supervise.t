#!/usr/bin/env bash
# agentrt run: supervision. A crash loop's restarts follow the backoff
# (exponential, fixed), the intensity limit gives up, a long healthy run
# resets the backoff, success exit codes, a stop by request never
# restarts, readiness and status through $AGENTRT_NOTIFY_FD, a missed
# watchdog and a failing health check each restart the task.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 23

# Each run appends the monotonic time in ms (from /proc/uptime) to FILE,
# sleeps SECS, exits CODE.
cat >"$T/run.sh" <<'SH'
awk '{printf "%d\n", $1 * 1000}' /proc/uptime >>"$1"
[ "$2" = 0 ] || sleep "$2"
exit "$3"
SH

# --- a crash loop under exponential backoff 200ms..800ms, no jitter
cat >"$T/loop.jsonl" <<JSONL
{"id":"loop","cmd":["sh","$T/run.sh","$T/runs","0","7"],"restart":{"policy":"on-failure","max_restarts":4,"window":"60s","backoff":"exponential:200ms:800ms","jitter":0}}
JSONL
artc batch "$T/loop.jsonl"
is "$(json_get "$(record_by "$T/out" id loop)" status)" gave_up "4 restarts in the window, then gave_up"
is "$(json_get "$(record_by "$T/out" id loop)" exit_code)" 7 "the last run's exit code is kept"
is "$(json_get "$(record_by "$T/out" id loop)" restarts)" 4 "restarts: 4"
mapfile -t runs <"$T/runs"
is "${#runs[@]}" 5 "five runs"
gaps=""
for i in 1 2 3 4; do gaps+="$((runs[i] - runs[i - 1])) "; done
note "gaps between runs (ms): $gaps"
want=(200 400 800 800)
bad=0
for i in 0 1 2 3; do
	g=$((runs[i + 1] - runs[i]))
	# /proc/uptime has 10 ms steps; a start costs a few ms more.
	if ((g < want[i] - 20 || g > want[i] + 150)); then bad=1; fi
done
is "$bad" 0 "backoff 200, 400, 800, 800 ms within tolerance (got $gaps)"

# --- spaced wider than the window: never gives up
rm -f "$T/n"
cat >"$T/spaced.jsonl" <<JSONL
{"id":"spaced","cmd":["sh","-c","n=\$(cat $T/n 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $T/n; [ \$n -ge 4 ]"],"restart":{"policy":"on-failure","max_restarts":1,"window":"100ms","backoff":"fixed:150ms","jitter":0}}
JSONL
artc batch "$T/spaced.jsonl"
is "$(json_get "$(record_by "$T/out" id spaced)" status)/$(json_get "$(record_by "$T/out" id spaced)" restarts)" \
	exited/3 "1 restart per 100 ms window, restarts 150 ms apart: never gives up, succeeds on run 4"

# --- a long run resets the backoff: runs of 0.5 s with reset 300ms keep
# the first delay (100 ms) instead of doubling
rm -f "$T/runs2"
cat >"$T/reset.jsonl" <<JSONL
{"id":"reset","cmd":["sh","$T/run.sh","$T/runs2","0.5","1"],"restart":{"policy":"on-failure","max_restarts":3,"window":"60s","backoff":"exponential:100ms:10s","jitter":0,"reset":"300ms"}}
JSONL
artc batch "$T/reset.jsonl"
mapfile -t r2 <"$T/runs2"
g3=$((r2[3] - r2[2]))
num_cmp "$g3" "<" 750 "after long runs the delay stays 100 ms (run 3 to 4: ${g3} ms; without the reset 900 ms)"

# --- success exit codes, and `always`
artc run --restart on-failure --success-exit-code 3 -- sh -c 'exit 3'
is "$ART_RC" 3 "exit 3 is a success: no restart, status 3"
rm -f "$T/c"
artc run --restart always --max-restarts 2 --backoff fixed:50ms -- sh -c "echo x >> $T/c"
is "$(wc -l <"$T/c")" 3 "always: restarts after a success too, until the limit"

# --- a stop by request never restarts
N=$(new_num_marker)
"$AGENTRT" run --restart always --backoff fixed:50ms -- sh "$T/run.sh" "$T/stop" "30.$N" 0 &
pid=$!
# The task's first line, not the marker (agentrt's own command line has it).
wait_for 5 test -s "$T/stop"
kill -TERM "$pid"
wait_exit "$pid" 10
no_survivors "30.$N" "SIGTERM to agentrt run: the task stops..."
is "$(wc -l <"$T/stop")" 1 "... and is not restarted"

# --- readiness and status through the notify channel
artc run --json --notify -- sh -c 'echo READY=1 >&$AGENTRT_NOTIFY_FD; echo STATUS=serving >&$AGENTRT_NOTIFY_FD'
is "$(json_get "$(json_record)" status_text)" serving "STATUS= reaches the result"
artc run -- sh -c 'echo "${AGENTRT_NOTIFY_FD:-unset}"'
is "$OUT" unset "no notify channel unless asked for"

# --- a missed watchdog restarts the task, then gives up
rm -f "$T/w"
artc run --json --watchdog 200ms --restart on-failure --max-restarts 1 --backoff fixed:50ms -- \
	sh -c "echo x >> $T/w; echo WATCHDOG=1 >&\$AGENTRT_NOTIFY_FD; sleep 0.1; echo WATCHDOG=1 >&\$AGENTRT_NOTIFY_FD; sleep 5"
is "$(wc -l <"$T/w")" 2 "watchdog missed: restarted once"
is "$(json_get "$(json_record)" status)" gave_up "... then gave up"
num_cmp "$ART_MS" "<" 2500 "each run ended ~200 ms after its last ping (${ART_MS} ms in all)"

# --- a failing health check restarts the task
rm -f "$T/h"
touch "$T/healthy"
(sleep 0.5; rm -f "$T/healthy") &
artc run --json --health-cmd "test -f $T/healthy" --health-interval 100ms --health-retries 2 \
	--restart on-failure --max-restarts 1 --backoff fixed:50ms -- sh -c "echo x >> $T/h; sleep 5"
is "$(wc -l <"$T/h")" 2 "unhealthy: restarted once"
is "$(json_get "$(json_record)" status)" gave_up "... and unhealthy again: gave up"

# --- a circuit breaker per kind (batch --breaker): two failures of four
# open it, the rest of the kind is turned away at once
for i in 1 2 3 4 5 6; do
	printf '{"id":"b%d","cmd":["sh","-c","exit 1"],"kind":"flaky"}\n' "$i"
done >"$T/breaker.jsonl"
printf '{"id":"other","cmd":["true"],"kind":"steady"}\n' >>"$T/breaker.jsonl"
artc batch -j 1 --breaker flaky=0.5:2:4:10s "$T/breaker.jsonl"
is "$(records "$T/out" id status | sort | tr '\t\n' ': ')" \
	"b1:exited b2:exited b3:circuit_open b4:circuit_open b5:circuit_open b6:circuit_open other:exited " \
	"the breaker opens after 2 failed runs and turns the kind's next tasks away"
is "$(json_get "$(record_by "$T/out" id b3)" exit_status)" 125 "a task turned away exits 125 (it never ran)"

# --- hooks (batch --on EVENT=CMD): in order, with each event's JSON on stdin
printf '%s\n' '{"id":"a","cmd":["true"]}' \
	'{"id":"b","cmd":["sh","-c","exit 2"],"restart":{"policy":"on-failure","max_restarts":1,"backoff":"fixed:50ms"}}' \
	>"$T/hooks.jsonl"
artc batch -j 1 --on "start=cat >>$T/hooks.log" --on "exit=cat >>$T/hooks.log" \
	--on "restart=cat >>$T/hooks.log" "$T/hooks.jsonl"
is "$(count_records "$T/out")" 2 "hooks make no records of their own"
strict_jsonl "$T/hooks.log"
ok $? "each hook got one JSON line on its stdin"
is "$(records "$T/hooks.log" event id | tr '\t\n' ': ')" \
	"started:a exited:a started:b retry:b started:b exited:b " \
	"hooks fire one at a time, in the order of the events"
