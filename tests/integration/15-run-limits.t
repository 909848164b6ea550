#!/usr/bin/env bash
# agentrt run: each rlimit is set and hits: --address-space, --cpu-time, --nofile,
# --fsize, --nproc (non-root only); probe limits shows the values.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 25

lim() { grep "^$1 " <<<"$OUT" | cut -d' ' -f2; }

# A probe built with AddressSanitizer (make check-asan builds it with SAN)
# cannot start under an address-space limit (ASan reserves terabytes of
# shadow) and its leak checker fails when descriptors run out. The memory
# checks are then skipped; LSan is turned off in the probe for the rest.
probe_asan=""
noleak=()
if is_asan "$PROBE"; then
	probe_asan="the probe is built with ASan, which cannot run under RLIMIT_AS"
	noleak=(--env ASAN_OPTIONS=detect_leaks=0)
fi

# --- the values as the task sees them
mem=(--address-space 256M)
[ -n "$probe_asan" ] && mem=()
artc run "${mem[@]}" --cpu-time 30s --nofile 64 --nproc 500 --fsize 10M -- "$PROBE" limits
is "$ART_RC" 0 "probe limits runs under every limit"
if [ -n "$probe_asan" ]; then
	skip 1 "$probe_asan"
else
	is "$(lim as)" 268435456 "--address-space 256M -> RLIMIT_AS 268435456"
fi
is "$(lim cpu)" 30 "--cpu-time 30s -> RLIMIT_CPU 30"
is "$(lim nofile)" 64 "--nofile 64 -> RLIMIT_NOFILE 64"
is "$(lim nproc)" 500 "--nproc 500 -> RLIMIT_NPROC 500"
is "$(lim fsize)" 10485760 "--fsize 10M -> RLIMIT_FSIZE 10485760"

artc run --cpu-time 1500ms -- "$PROBE" limits
is "$(lim cpu)" 2 "--cpu-time 1500ms is rounded up to 2 s"

# Without --nofile the task gets the caller's soft limit, even if agentrt
# raised its own to run many tasks.
hard=$(ulimit -Hn)
soft=1000
[ "$hard" != unlimited ] && [ "$hard" -lt 1000 ] && soft=$hard
(ulimit -Sn "$soft" && art run -- "$PROBE" limits >"$T/out" 2>"$T/err")
OUT=$(cat "$T/out")
is "$(lim nofile)" "$soft" "no --nofile: the task keeps the caller's soft RLIMIT_NOFILE ($soft)"

# --- memory
if [ -n "$probe_asan" ]; then
	skip 3 "$probe_asan"
else
	artc run --address-space 64M -- "$PROBE" alloc 512M
	is "$ART_RC" 3 "--address-space 64M: alloc 512M fails (exit 3)"
	is "$ERR" "alloc failed" "and the probe says so"
	artc run --address-space 64M -- "$PROBE" alloc 8M
	is "$ART_RC/$OUT" "0/allocated" "--address-space 64M: alloc 8M still works"
fi

# --- cpu time
artc run --json --cpu-time 1s -- "$PROBE" spin 10
rec=$(json_record)
like "$ART_RC" "^(152|137)$" "--cpu-time 1s: spin 10 is killed by SIGXCPU or SIGKILL (rc $ART_RC)"
num_cmp "$ART_MS" '<' 8000 "well before it would have finished (${ART_MS} ms)"
is "$(json_get "$rec" status)/$(json_get "$rec" limit)" limit/cpu_time "--json: status limit, limit cpu_time"
like "$(json_get "$rec" signal)" "^SIG(XCPU|KILL)$" "--json: signal SIGXCPU or SIGKILL"

# --- descriptors
artc run --nofile 16 "${noleak[@]}" -- "$PROBE" open-files 100
is "$ART_RC" 5 "--nofile 16: open-files 100 fails (exit 5)"
num_cmp "${OUT:-999}" '<' 16 "fewer than 16 opened ($OUT)"
like "$ERR" "EMFILE" "with EMFILE"

# --- file size
artc run --json --fsize 1M -- "$PROBE" fill-file "$T/big" 4M
rec=$(json_record)
is "$ART_RC" 153 "--fsize 1M: fill-file 4M is killed by SIGXFSZ (153)"
is "$(json_get "$rec" status)/$(json_get "$rec" limit)/$(json_get "$rec" signal)" "limit/file_size/SIGXFSZ" \
	"--json: status limit, limit file_size, SIGXFSZ"
is "$(stat -c %s "$T/big" 2>/dev/null)" 1048576 "the file stopped at 1 MiB"
artc run --fsize 1M -- "$PROBE" fill-file "$T/small" 512k
is "$ART_RC" 0 "--fsize 1M: a 512 KiB file is fine"

# --- processes
if is_root; then
	skip 3 "RLIMIT_NPROC is not enforced for root (CAP_SYS_RESOURCE/CAP_SYS_ADMIN); run as a non-root user"
else
	# The kernel counts every process of the user, so 1 is already used up
	# by the probe itself: its first fork must fail.
	artc run --nproc 1 -- "$PROBE" fork 3 1
	is "$ART_RC" 6 "--nproc 1: fork fails (probe exit 6)"
	like "$ERR" "fork failed: EAGAIN" "with EAGAIN"
	is "$OUT" "" "no child was started"
fi

done_testing
