#!/usr/bin/env bash
# agentrt batch interrupted: SIGINT -> 130, SIGTERM -> 143; the results of
# the tasks that finished are written (as they finish: they are in -o FILE
# before the signal), the running ones are reported cancelled, and nothing
# is left behind. Then Ctrl-C typed on a real pseudo-terminal (script(1)):
# the byte \003 goes through the terminal's line discipline, which sends
# SIGINT to the foreground process group, as a user's Ctrl-C does.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 31

have_records() { [ "$(count_records "$1")" -ge "$2" ]; }
write_batch() { # FILE MARKER
	cat >"$1" <<JSONL
{"id":"q1","cmd":["$PROBE","exit","0"]}
{"id":"q2","cmd":["$PROBE","exit","0"]}
{"id":"q3","cmd":["$PROBE","exit","0"]}
{"id":"l1","cmd":["$PROBE","sleep","60","$2"]}
{"id":"l2","cmd":["sh","-c","'$PROBE' sleep 60 $2 & '$PROBE' sleep 60 $2; wait"]}
{"id":"l3","cmd":["$PROBE","ignore-term","60","$2"],"grace":"500ms"}
JSONL
}

# interrupt SIGNAL WANT_RC
interrupt() {
	local sig=$1 want=$2 M rc t0 waited
	M=$(new_marker)
	write_batch "$T/int-$sig.jsonl" "$M"
	# A background job of a non-interactive shell starts with SIGINT
	# ignored; env puts the default back, as a terminal would have it.
	env --default-signal=INT,TERM "$AGENTRT" batch -j 8 -o "$T/res-$sig.jsonl" \
		"$T/int-$sig.jsonl" >"$T/bout" 2>"$T/berr" &
	local bpid=$!
	wait_for 15 have_records "$T/res-$sig.jsonl" 3
	ok $? "$sig: the 3 quick results are in -o FILE while the batch still runs"
	wait_for 15 have_procs "$M" 4
	ok $? "$sig: the long tasks are running"
	t0=$(now_ms)
	kill "-$sig" "$bpid"
	wait_exit "$bpid" 20
	waited=$?
	wait "$bpid"
	rc=$?
	ok "$waited" "$sig: agentrt exits after the signal ($(($(now_ms) - t0)) ms)"
	is "$rc" "$want" "$sig: exit status $want"
	num_cmp $(($(now_ms) - t0)) '<' 5000 "$sig: quickly (the SIGTERM-ignoring task had a 500ms grace)"
	is "$(records "$T/res-$sig.jsonl" id status | sort | tr '\t\n' ', ')" \
		"l1,cancelled l2,cancelled l3,cancelled q1,exited q2,exited q3,exited " \
		"$sig: finished results kept, running tasks reported cancelled"
	no_survivors "$M" "$sig: no task process is left"
	if [ "$rc" != "$want" ] || [ "$waited" != 0 ]; then
		diag "agentrt stderr:"
		diag_file "$T/berr"
	fi
}

interrupt INT 130
interrupt TERM 143

# --- Unstarted tasks when interrupted
M=$(new_marker)
cat >"$T/queue.jsonl" <<JSONL
{"id":"r1","cmd":["$PROBE","sleep","60","$M"]}
{"id":"r2","cmd":["$PROBE","sleep","60","$M"]}
{"id":"u3","cmd":["touch","$T/u3-ran"]}
{"id":"u4","cmd":["touch","$T/u4-ran"]}
JSONL
env --default-signal=INT "$AGENTRT" batch -j 2 -o "$T/res-queue.jsonl" "$T/queue.jsonl" \
	>"$T/bout" 2>"$T/berr" &
bpid=$!
wait_for 15 have_procs "$M" 2
kill -INT "$bpid"
wait_exit "$bpid" 20
wait "$bpid"
rc=$?
is "$rc" 130 "-j 2 with queued tasks: SIGINT -> 130"
ok "$([ ! -e "$T/u3-ran" ] && [ ! -e "$T/u4-ran" ]; echo $?)" "the queued tasks never started"
is "$(records "$T/res-queue.jsonl" id status | sort | tr '\t\n' ', ')" \
	"r1,cancelled r2,cancelled u3,cancelled u4,cancelled " \
	"every task has a record: running and queued ones cancelled"
no_survivors "$M" "no task process is left"

# --- SIGINT while agentrt still waits for more specs on a pipe
M=$(new_marker)
mkfifo "$T/specs"
env --default-signal=INT "$AGENTRT" batch -o "$T/res-pipe.jsonl" - <"$T/specs" >"$T/bout" 2>"$T/berr" &
bpid=$!
exec 8>"$T/specs"
printf '{"id":"done1","cmd":["true"]}\n{"id":"long1","cmd":["%s","sleep","60","%s"]}\n' "$PROBE" "$M" >&8
wait_for 15 have_records "$T/res-pipe.jsonl" 1
wait_for 15 have_procs "$M" 1
kill -INT "$bpid"
wait_exit "$bpid" 20
waited=$?
wait "$bpid"
rc=$?
exec 8>&-
ok "$waited" "spec pipe still open: SIGINT ends the batch anyway"
is "$rc" 130 "spec pipe still open: exit 130"
is "$(records "$T/res-pipe.jsonl" id status | sort | tr '\t\n' ', ')" "done1,exited long1,cancelled " \
	"spec pipe still open: the finished and the cancelled task are reported"
no_survivors "$M" "spec pipe still open: nothing left"

# --- Ctrl-C on a pseudo-terminal
M=$(new_marker)
write_batch "$T/pty.jsonl" "$M"
mkfifo "$T/ctl"
# script(1) runs agentrt on a new pty as the foreground process group; our
# fifo is script's stdin, so what we write is "typed" on that terminal. As
# above, env undoes the SIGINT-ignored that a background job starts with
# (script and everything under it would inherit it).
env --default-signal=INT script -qec "'$AGENTRT' batch -j 8 -o '$T/res-pty.jsonl' '$T/pty.jsonl'" /dev/null \
	<"$T/ctl" >"$T/pty.out" 2>&1 &
spid=$!
exec 7>"$T/ctl"
wait_for 15 have_records "$T/res-pty.jsonl" 3
ok $? "pty: the quick results are in -o FILE"
wait_for 15 have_procs "$M" 4
ok $? "pty: the long tasks are running"
t0=$(now_ms)
printf '\003' >&7
wait_exit "$spid" 20
waited=$?
wait "$spid"
rc=$?
exec 7>&-
ok "$waited" "pty: Ctrl-C ends the batch ($(($(now_ms) - t0)) ms)"
is "$rc" 130 "pty: exit status 130 (through script -e)"
is "$(records "$T/res-pty.jsonl" id status | sort | tr '\t\n' ', ')" \
	"l1,cancelled l2,cancelled l3,cancelled q1,exited q2,exited q3,exited " \
	"pty: finished results kept, running tasks cancelled"
no_survivors "$M" "pty: no task process is left"
if [ "$rc" != 130 ]; then
	diag "terminal output:"
	diag "$(tr '\r' '\n' <"$T/pty.out" | tail -n 10)"
fi

# The progress line is on by default on a terminal and off with --no-progress
# when stderr is a file; it never goes to stdout.
printf '{"cmd":["true"]}\n{"cmd":["sleep","0.3"]}\n' >"$T/two.jsonl"
artc batch "$T/two.jsonl"
is "$(grep -vc '^{' "$T/out")/$(wc -c <"$T/err")" "0/0" \
	"no progress line when stderr is not a terminal (stdout has only records)"
artc batch --progress "$T/two.jsonl"
isnt "$(wc -c <"$T/err")" 0 "--progress: a progress line on stderr even when it is not a terminal"
is "$(grep -vc '^{' "$T/out")/$(count_records "$T/out")" "0/2" "--progress: stdout still has only the records"

done_testing
