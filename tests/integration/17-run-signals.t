#!/usr/bin/env bash
# agentrt run interrupted: SIGINT or SIGTERM to agentrt cancels the task;
# agentrt exits (130 for SIGINT), records status "cancelled", and nothing
# the task started survives, even a child that ignores SIGTERM.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 12

# interrupt SIGNAL WANT_RC_REGEX
interrupt() {
	local sig=$1 want=$2 M bpid t0 waited rc rec
	M=$(new_marker)
	# env: a background job of a non-interactive shell starts with SIGINT
	# ignored; put the default back as a terminal would have it.
	env --default-signal=INT,TERM "$AGENTRT" run --grace 500ms --result-file "$T/res-$sig.json" -- \
		sh -c "'$PROBE' ignore-term 60 $M & '$PROBE' daemonize '$T/d-$sig.pid' 60 $M; '$PROBE' sleep 60 $M" \
		>"$T/out" 2>"$T/err" &
	bpid=$!
	wait_for 15 have_procs "$M" 4
	ok $? "$sig: the task and its children are running"
	t0=$(now_ms)
	kill "-$sig" "$bpid"
	wait_exit "$bpid" 20
	waited=$?
	wait "$bpid"
	rc=$?
	ok "$waited" "$sig: agentrt run exits ($(($(now_ms) - t0)) ms)"
	like "$rc" "$want" "$sig: exit status $rc (want $want)"
	num_cmp $(($(now_ms) - t0)) '<' 5000 "$sig: within the 500ms grace and some margin"
	rec=$(last_json_line "$T/res-$sig.json" 2>/dev/null)
	is "$(json_get "$rec" status)" cancelled "$sig: the record says cancelled"
	no_survivors "$M" "$sig: nothing the task started survives"
	[ "$waited" = 0 ] || { diag "agentrt stderr:"; diag_file "$T/err"; }
}

interrupt INT '^130$'
interrupt TERM '^(130|143)$'

done_testing
