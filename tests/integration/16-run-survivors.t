#!/usr/bin/env bash
# agentrt run: when the task ends (normally, by timeout, by a signal),
# nothing it started survives: background children, double-forked daemons,
# setsid'd processes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 19

pid_alive() { kill -0 "$1" 2>/dev/null; }

# --- the task leads a process group and session of its own
artc run -- "$PROBE" pgid
read -r _ ppid _ ppgid _ psid <<<"$OUT"
is "${ppgid:-?}/${psid:-?}" "${ppid:-x}/${ppid:-x}" "the task leads its own process group and session ($OUT)"

# --- a double-forked daemon (setsid, stdio closed, re-parented)
M=$(new_marker)
art run --json -- sh -c "'$PROBE' daemonize '$T/daemon.pid' 100 $M
	i=0; while [ ! -s '$T/daemon.pid' ] && [ \$i -lt 250 ]; do sleep 0.02; i=\$((i+1)); done" \
	>"$T/out" 2>"$T/err"
rec=$(json_record)
is "$ART_RC" 0 "a task that daemonizes exits 0"
dpid=$(cat "$T/daemon.pid" 2>/dev/null)
like "$dpid" "^[0-9]+$" "the daemon ran (wrote its pid file)"
no_survivors "$M" "the daemon does not survive the task"
if [ -n "$dpid" ] && pid_alive "$dpid"; then ok 1 "daemon pid $dpid is gone"; else ok 0 "daemon pid $dpid is gone"; fi
num_cmp "$(json_get "$rec" orphans_killed)" '>=' 1 "--json: orphans_killed counts it"

# --- background children of a shell that exits at once
N=$(new_num_marker)
artc run -- sh -c "sleep 100.$N & sleep 100.$N & exit 0"
is "$ART_RC" 0 "sh with two background sleeps exits 0"
num_cmp "$ART_MS" '<' 5000 "agentrt returns when the shell exits (${ART_MS} ms)"
no_survivors "$N" "the background sleeps are gone"

# --- a child that calls setsid (its own session and process group)
M=$(new_marker)
artc run -- sh -c "'$PROBE' pgid >'$T/task.out'
	setsid sh -c '\"$PROBE\" pgid >\"$T/sid.out\"; exec \"$PROBE\" sleep 100 $M' &
	i=0; while [ ! -s '$T/sid.out' ] && [ \$i -lt 250 ]; do sleep 0.02; i=\$((i+1)); done; exit 0"
read -r _ _ _ _ _ tsid <"$T/task.out" 2>/dev/null
read -r _ _ _ spgid _ ssid <"$T/sid.out" 2>/dev/null
ok "$([ -n "${ssid:-}" ] && [ "$ssid" != "${tsid:-}" ] && [ "$ssid" = "${spgid:-}" ]; echo $?)" \
	"the child ran in a session of its own (task sid ${tsid:-?}, child sid ${ssid:-?})"
no_survivors "$M" "the setsid'd child is gone"

# --- the same on timeout, with a daemon, plain children and a SIGTERM-ignoring child
M=$(new_marker)
artc run --timeout 500ms --grace 300ms -- sh -c "'$PROBE' daemonize '$T/d2.pid' 100 $M
	'$PROBE' ignore-term 100 $M &
	'$PROBE' fork 3 100 $M"
is "$ART_RC" 124 "timeout with a daemon and children -> 124"
num_cmp "$ART_MS" '<' 5000 "returns soon after timeout + grace (${ART_MS} ms)"
no_survivors "$M" "nothing survives the timeout"

# --- the leader is killed by a signal while children run
M=$(new_marker)
artc run -- sh -c "'$PROBE' sleep 100 $M & '$PROBE' daemonize '$T/d3.pid' 100 $M; kill -9 \$\$"
is "$ART_RC" 137 "a shell that SIGKILLs itself -> 137"
no_survivors "$M" "its children and daemon are gone"

# --- a daemon that ignores SIGTERM: the leader exits normally
M=$(new_marker)
artc run -- sh -c "setsid '$PROBE' ignore-term 100 $M >/dev/null & sleep 0.2; exit 0"
is "$ART_RC" 0 "a task that leaves a SIGTERM-ignoring setsid child exits 0"
num_cmp "$ART_MS" '<' 8000 "and agentrt still returns in time (${ART_MS} ms)"
no_survivors "$M" "the SIGTERM-ignoring orphan is gone"

done_testing
