#!/usr/bin/env bash
# Containment: each bomb runs in the sandbox in an `agentrt batch -j 3`
# beside a normal task (sleep 1; echo ok). The bomb is stopped and reported
# (fork bomb: limit/pids; memory: oom_killed; descriptors: EMFILE; a full
# tmpfs: ENOSPC; an output flood: limit/output; a CPU spin: throttled,
# then timeout, or limit/cpu_time), while the runtime writes every record
# and the normal task ends ok.
#
# Run as root, a second pass runs as the unprivileged user agentrt-test
# (if it exists): no cgroup is writable there, so memory and pids come back
# "unenforced" with a warning, --require-limits refuses to start (exit 125,
# stage cgroup), and the containment that needs no cgroup (descriptors, the
# sized /tmp, output, CPU time) still holds.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
case $AGENTRT in /*) ;; *) AGENTRT=$PWD/$AGENTRT ;; esac
case $PROBE in /*) ;; *) PROBE=$PWD/$PROBE ;; esac
plan 61

TEST_USER=agentrt-test
mark=$(new_marker)
# A kept process count sampler, stopped at exit whatever happens.
sampler=""
trap 'rc=$?; [ -n "$sampler" ] && kill "$sampler" 2>/dev/null; (exit $rc); _lib_cleanup' EXIT

# float_cmp A OP B DESC: a comparison of reals.
float_cmp() {
	local a=$1 op=$2 b=$3
	shift 3
	_py -c "import sys; sys.exit(0 if float(sys.argv[1]) $op float(sys.argv[2]) else 1)" "$a" "$b" 2>/dev/null
	ok $? "$@" || diag "    '$a' $op '$b' is false"
}

NORMAL='{"id":"normal","cmd":"sleep 1; echo ok","timeout":"20s"}'
SBX='"level":"sandbox","binds":["'"$PROBE_DIR"'"]'

# contain WHO NAME SPEC: runs the bomb SPEC (its id must be "bomb") and the
# normal task in one batch (-j 3), from $T; BOMB and NRM are their records.
# Two tests: the runtime wrote both records and exited 1 (the bomb failed),
# and the normal task is ok.
contain() {
	local who=$1 name=$2 spec=$3 here=$PWD
	printf '%s\n%s\n' "$spec" "$NORMAL" >"$T/$name.jsonl"
	cd "$T" || return 1
	artc batch -j 3 "$T/$name.jsonl"
	cd "$here" || return 1
	BOMB=$(record_by "$T/out" id bomb)
	NRM=$(record_by "$T/out" id normal)
	is "$ART_RC/$ART_HUNG/$(count_records "$T/out")" "1/0/2" \
		"$who: $name: agentrt batch exits 1 with both records" || diag_outputs 4
	is "$(json_get "$NRM" status)/$(json_get "$NRM" ok)/$(json_get "$NRM" stdout)" "exited/true/ok" \
		"$who: $name: the normal task beside it ends ok"
}
field() { json_get "$BOMB" "$1"; }

# The bombs that need no cgroup; both passes run them.
# descriptors: 100000 opens under nofile 64.
nofile_bomb() {
	local who=$1
	contain "$who" nofile \
		"{\"id\":\"bomb\",\"cmd\":[\"$PROBE\",\"open-files\",\"100000\"],\"timeout\":\"20s\",\"sandbox\":{$SBX},\"limits\":{\"nofile\":64}}"
	is "$(field status)/$(field exit_code)/$(field stderr)" "exited/5/open failed: EMFILE" \
		"$who: descriptor bomb (nofile 64): fails with EMFILE"
	num_cmp "$(field stdout)" '<' 64 "$who: fewer than 64 descriptors opened ($(field stdout | tr -d '\n'))"
}
# a disk fill of the sized /tmp: 200 MiB into tmp_size 8M.
disk_bomb() {
	local who=$1 avail0 avail1
	avail0=$(df -Pk /tmp | awk 'NR == 2 {print $4}')
	contain "$who" disk \
		"{\"id\":\"bomb\",\"cmd\":[\"dd\",\"if=/dev/zero\",\"of=/tmp/fill-$mark\",\"bs=1M\",\"count=200\"],\"timeout\":\"20s\",\"sandbox\":{$SBX,\"tmp_size\":\"8M\"}}"
	avail1=$(df -Pk /tmp | awk 'NR == 2 {print $4}')
	is "$(field status)/$(field exit_code)" "exited/1" "$who: disk fill (tmp_size 8M): dd fails cleanly (exit 1)"
	like "$(field stderr)" "No space left on device.*8388608 bytes" "$who: with ENOSPC after exactly 8 MiB"
	ok "$([ ! -e "/tmp/fill-$mark" ] && echo 0 || echo 1)" "$who: the file is not in the host's /tmp"
	num_cmp $((avail0 - avail1)) '<' 102400 "$who: the host's /tmp lost no 200 MiB ($(((avail0 - avail1) / 1024)) MiB)"
}
# an output flood: yes under output 1M.
output_bomb() {
	local who=$1
	contain "$who" output \
		"{\"id\":\"bomb\",\"cmd\":[\"yes\",\"$mark\"],\"timeout\":\"20s\",\"sandbox\":{$SBX},\"limits\":{\"output\":\"1M\"}}"
	is "$(field status)/$(field limit)" "limit/output" "$who: output flood (output 1M): status limit, limit output"
	float_cmp "$(field wall_s)" '<' 3 "$who: killed quickly (wall_s $(field wall_s))"
	local n
	n=$(field stdout_bytes)
	num_cmp "$n" '<' $((4 << 20)) "$who: output stopped near 1 MiB ($n bytes)"
	no_survivors "$mark" "$who: nothing of it survives"
}
# CPU time: a 10 s spin under cpu_time 1s (an rlimit).
cpu_time_bomb() {
	local who=$1
	contain "$who" cpu-time \
		"{\"id\":\"bomb\",\"cmd\":[\"$PROBE\",\"spin\",\"10\"],\"timeout\":\"20s\",\"sandbox\":{$SBX},\"limits\":{\"cpu_time\":\"1s\"}}"
	is "$(field status)/$(field limit)" "limit/cpu_time" "$who: CPU spin (cpu_time 1s): status limit, limit cpu_time"
	float_cmp "$(field user_s)" '<' 2.5 "$who: user_s is about 1 s ($(field user_s))"
}

# ---------------------------------------------------------------------------
# Pass 1: as the caller.
who=$(id -un)
if ! is_root; then
	# Without cgroups, the fork and memory bombs would run free.
	skip 15 "the fork, memory and CPU-quota bombs need cgroups (run as root)"
else
	# --- fork bomb: pids 64; the host's process count must not explode.
	nm=$(new_num_marker)
	procs() { find /proc -maxdepth 1 -name '[0-9]*' 2>/dev/null | wc -l; }
	base=$(procs)
	echo "$base" >"$T/procs-max"
	(
		max=$base
		while :; do
			n=$(procs)
			[ "$n" -gt "$max" ] && max=$n && echo "$max" >"$T/procs-max"
			sleep 0.02
		done
	) &
	sampler=$!
	contain "$who" fork \
		"{\"id\":\"bomb\",\"cmd\":[\"sh\",\"-c\",\"while :; do sleep 5.$nm & done\"],\"timeout\":\"15s\",\"sandbox\":{$SBX},\"limits\":{\"pids\":64}}"
	kill "$sampler" 2>/dev/null
	wait "$sampler" 2>/dev/null
	sampler=""
	is "$(field status)/$(field limit)" "limit/pids" "$who: fork bomb (pids 64): status limit, limit pids"
	num_cmp "$(field pids_peak)" '<=' 64 "$who: pids_peak $(field pids_peak) <= 64"
	max=$(cat "$T/procs-max")
	num_cmp $((max - base)) '<=' 100 "$who: the host's process count rose by $((max - base)) at most (from $base)"
	no_survivors "$nm" "$who: none of its processes survives"

	# --- memory bomb: memory 64M.
	contain "$who" memory \
		"{\"id\":\"bomb\",\"cmd\":[\"$PROBE\",\"alloc\",\"1G\"],\"timeout\":\"20s\",\"sandbox\":{$SBX},\"limits\":{\"memory\":\"64M\"}}"
	is "$(field status)/$(field exit_status)" "oom_killed/137" "$who: memory bomb (memory 64M): status oom_killed, 137"
	num_cmp "$(field oom_kills)" '>=' 1 "$who: oom_kills $(field oom_kills) >= 1"
	# The peak counts the task's resident pages, the shared libraries too.
	num_cmp "$(field max_rss_bytes)" '<=' $((72 << 20)) "$who: max_rss_bytes $(field max_rss_bytes) stayed near 64 MiB"

	# --- CPU: a quota of 0.2 CPU, ended by the 2 s timeout.
	contain "$who" cpu-quota \
		"{\"id\":\"bomb\",\"cmd\":[\"$PROBE\",\"spin\",\"10\"],\"timeout\":\"2s\",\"grace\":\"1s\",\"sandbox\":{$SBX},\"limits\":{\"cpu\":0.2}}"
	is "$(field status)" "timeout" "$who: CPU spin (cpu 0.2, timeout 2s): ended by the timeout"
	# Unthrottled it would spin for the whole 2 s.
	float_cmp "$(field user_s)" '<' 1.0 "$who: throttled: user_s $(field user_s) < 1.0 (0.2 CPU for 2 s is 0.4)"
fi
nofile_bomb "$who"
disk_bomb "$who"
output_bomb "$who"
cpu_time_bomb "$who"

# ---------------------------------------------------------------------------
# Pass 2: as root, again as the unprivileged $TEST_USER.
why=""
if ! is_root; then
	why="the test does not run as root"
elif ! test_uid=$(id -u "$TEST_USER" 2>/dev/null); then
	why="no user $TEST_USER"
elif ! command -v setpriv >/dev/null 2>&1; then
	why="setpriv is not installed"
else
	test_gid=$(id -g "$TEST_USER")
	# setpriv execs agentrt in place, so the test's guard signals agentrt.
	printf '#!/bin/sh\nexec setpriv --reuid=%s --regid=%s --clear-groups -- %q "$@"\n' \
		"$test_uid" "$test_gid" "$AGENTRT" >"$T/as-user"
	chmod 755 "$T/as-user"
	if ! "$T/as-user" run -- "$PROBE" exit 0 >/dev/null 2>&1; then
		why="$TEST_USER cannot run $AGENTRT and $PROBE (directory permissions?)"
	fi
fi
if [ -n "$why" ]; then
	skip 26 "no unprivileged pass: $why"
else
	real_agentrt=$AGENTRT
	AGENTRT=$T/as-user
	who=$TEST_USER
	cd "$T" || bail_out "cd $T"
	# The sandbox level works; the cgroup limits are reported unenforced.
	artc run --json --sandbox sandbox --ro-bind "$PROBE_DIR" --memory 64M --pids 64 -- "$PROBE" exit 0
	rec=$(json_record)
	is "$ART_RC/$(json_get "$rec" status)/$(json_get "$rec" sandbox)" "0/exited/sandbox" \
		"$who: --sandbox sandbox --memory 64M --pids 64 runs (no cgroup)" || diag_outputs 4
	is "$(json_get "$rec" unenforced)" '["memory", "pids"]' "$who: the record says memory and pids are unenforced"
	warn=$(grep -c 'warning: limits not enforced (memory, pids)' "$T/err")
	is "$warn/$(grep -vc '^{' "$T/err")" "1/1" "$who: one warning line names them" || diag_outputs 4

	artc run --json --require-limits --sandbox sandbox --ro-bind "$PROBE_DIR" --memory 64M --pids 64 -- "$PROBE" exit 0
	rec=$(json_record)
	is "$ART_RC/$(json_get "$rec" status)/$(json_get "$rec" error.stage)" "125/start_failed/cgroup" \
		"$who: --require-limits: exit 125, start_failed at stage cgroup"
	# It does not run: no message may claim that it does.
	unlike "$ERR" "running with rlimits only" "$who: --require-limits: no warning that it runs anyway" ||
		diag_outputs 4
	printf '{"id":"req","cmd":["%s","exit","0"],"sandbox":{%s},"limits":{"pids":64}}\n' "$PROBE" "$SBX" >"$T/req.jsonl"
	artc batch --require-limits "$T/req.jsonl"
	rec=$(record_by "$T/out" id req)
	is "$ART_RC/$(json_get "$rec" exit_status)/$(json_get "$rec" error.stage)" "1/125/cgroup" \
		"$who: batch --require-limits: the task fails with 125, stage cgroup"

	nofile_bomb "$who"
	disk_bomb "$who"
	output_bomb "$who"
	cpu_time_bomb "$who"
	AGENTRT=$real_agentrt
fi

done_testing
