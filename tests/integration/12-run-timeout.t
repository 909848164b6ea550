#!/usr/bin/env bash
# agentrt run --timeout/--grace: 124 on timeout, SIGTERM then SIGKILL after
# the grace, nothing left behind, and tasks that end in time are unaffected.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 22

# --- a plain timeout: sleep honours SIGTERM
N=$(new_num_marker)
artc run --timeout 300ms -- sleep "30.$N"
is "$ART_RC" 124 "--timeout 300ms -- sleep 30 -> 124"
num_cmp "$ART_MS" '<' 3000 "and returns quickly (${ART_MS} ms; generous bound 3 s)"
num_cmp "$ART_MS" '>=' 250 "but not before the timeout (${ART_MS} ms >= 250)"
no_survivors "$N" "the sleep is gone"

artc run --json --timeout 300ms -- sleep "30.$N"
rec=$(json_record)
is "$(json_get "$rec" status)/$(json_get "$rec" exit_status)/$(json_get "$rec" ok)" \
	"timeout/124/false" "--json: status timeout, exit_status 124, ok false"
like "$(json_get "$rec" signal)" "^SIG(TERM|KILL)$" "--json: signal names what stopped it"
wall=$(json_get "$rec" wall_s)
like "$wall" "^0\.[2-9]|^[12]\." "--json: wall_s about the timeout ($wall)"

# --- a task that ignores SIGTERM is killed after the grace
M=$(new_marker)
artc run --json --timeout 300ms --grace 500ms -- "$PROBE" ignore-term 30 "$M"
rec=$(json_record)
is "$ART_RC" 124 "ignore-term: still 124"
num_cmp "$ART_MS" '>=' 700 "it waited for the grace after SIGTERM (${ART_MS} ms >= 700)"
num_cmp "$ART_MS" '<' 5000 "and killed it soon after the grace (${ART_MS} ms < 5000)"
is "$(json_get "$rec" status)/$(json_get "$rec" signal)" "timeout/SIGKILL" \
	"--json: status timeout, signal SIGKILL"
like "$OUT" "^ready" "the probe had started (printed ready)"
no_survivors "$M" "the SIGTERM-ignoring probe is gone"

# --- the default grace is 5 s
M=$(new_marker)
artc run --timeout 200ms -- "$PROBE" ignore-term 30 "$M"
is "$ART_RC" 124 "default grace: 124"
num_cmp "$ART_MS" '>=' 4500 "default grace is about 5 s (${ART_MS} ms >= 4500)"
num_cmp "$ART_MS" '<' 10000 "default grace is about 5 s (${ART_MS} ms < 10000)"
no_survivors "$M" "nothing left after the default grace"

# --- tasks that end in time
artc run --timeout 10s -- "$PROBE" sleep 0.2
is "$ART_RC" 0 "a task that ends before its timeout exits 0"
num_cmp "$ART_MS" '<' 5000 "and agentrt returns when it ends, not at the timeout (${ART_MS} ms)"
artc run --timeout 10s -- "$PROBE" exit 7
is "$ART_RC" 7 "its exit code is kept (7)"
artc run --json --timeout 10s -- "$PROBE" kill-self 15
rec=$(json_record)
is "$ART_RC/$(json_get "$rec" status)" "143/signaled" \
	"a task killed by SIGTERM on its own before the timeout is 'signaled', not 'timeout'"

# --- a shell with children hits the timeout: all of them go
N=$(new_num_marker)
artc run --timeout 300ms -- sh -c "sleep 30.$N & sleep 30.$N & sleep 30.$N; wait"
no_survivors "$N" "timeout kills the task's children too (rc $ART_RC)"

done_testing
