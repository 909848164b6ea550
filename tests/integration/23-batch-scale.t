#!/usr/bin/env bash
# agentrt batch at scale: 10,000 tasks of /bin/true with -j 8 all run and
# are all reported ok; agentrt leaks no descriptor and no memory per task.
#
# Leak check (batch --stats prints {"stats":{...}} on stderr at the end):
#  - fds_end == fds_start: every pipe, pidfd and file of every task closed.
#  - rss_end_kb - rss_warm_kb < 512 KiB: rss_warm_kb is taken when the first
#    window of tasks has been reported (pools and buffers warmed up). From
#    there to the end, over ~10,000 tasks, RSS may grow by < 512 KiB, i.e.
#    ~50 bytes per task. Measured without leaks: 0-200 KiB (malloc noise,
#    not growing with the task count: 2k, 10k, 20k, 40k tasks all alike).
#    A leak of one 32-byte malloc chunk per task adds ~310 KiB, which with
#    the noise is near the edge; anything of 64 bytes or more per task (a
#    record, a spec, an argv) breaks it clearly.
#    The runtime remembers ended tasks for later depends_on (about 200
#    bytes each, up to --dep-history of them): bounded, not a leak, but it
#    would read as one here, so the history is kept at 1000 (full after
#    the warm-up) and the check sees only what is not bounded.
#  - rss_end_kb - rss_start_kb < 8 MiB: the whole footprint of running
#    10,000 tasks, warm-up included, stays small (measured: ~1.3 MiB).
# Under AddressSanitizer (make check-asan) freed memory sits in ASan's
# quarantine, so RSS says nothing; the RSS checks are skipped there and
# ASan's own leak checker (detect_leaks=1) does that job.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 14

N=10000
yes '{"cmd":["/bin/true"]}' | head -n "$N" >"$T/scale.jsonl"
ART_GUARD=100 artc batch -j 8 --stats --dep-history 1000 -o "$T/scale-out.jsonl" "$T/scale.jsonl"
is "$ART_RC" 0 "$N tasks: exit 0"
num_cmp "$ART_MS" '<' 60000 "$N tasks in ${ART_MS} ms (bound 60 s; ~4 s measured on 2 idle cores, ~35 s with both cores busy)"
diag "$N tasks of /bin/true with -j 8: ${ART_MS} ms"

summary=$(_py -c '
import json, sys
n = int(sys.argv[2]); ok = 0; ids = set(); lines = set(); bad = []
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("ok") is True and r.get("status") == "exited" and r.get("exit_code") == 0:
        ok += 1
    elif len(bad) < 3:
        bad.append(l.strip()[:200])
    ids.add(r.get("id")); lines.add(r.get("line"))
print(ok, len(ids) == n and ids == {str(i) for i in range(1, n + 1)},
      lines == set(range(1, n + 1)))
for b in bad: print("#", b)
' "$T/scale-out.jsonl" "$N" 2>&1)
first=$(head -n 1 <<<"$summary")
is "$(count_records "$T/scale-out.jsonl")" "$N" "$N records"
is "${first%% *}" "$N" "all $N ok"
is "${first#* }" "True True" "ids and line numbers are 1..$N, each once"
[ "${first%% *}" = "$N" ] || diag "$(tail -n +2 <<<"$summary")"

stats=$(grep -E '^\{"stats"' "$T/err" | tail -n 1)
like "$stats" '^\{"stats":' "--stats prints a stats line on stderr"
diag "$stats"
s() { json_get "$stats" "stats.$1"; }
is "$(s ended)" "$N" "stats: $N tasks ended"
is "$(s fds_end)" "$(s fds_start)" "no descriptor leak: fds_end == fds_start"
diff_kb() { # A B: A - B, or "?" when either is not a number
	if [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]]; then echo $(($1 - $2)); else echo "?"; fi
}
leak=$(diff_kb "$(s rss_end_kb)" "$(s rss_warm_kb)")
total=$(diff_kb "$(s rss_end_kb)" "$(s rss_start_kb)")
if is_asan "$AGENTRT"; then
	skip 2 "agentrt is built with AddressSanitizer: RSS includes ASan's quarantine"
else
	num_cmp "$leak" '<' 512 "no per-task memory leak: rss_end - rss_warm = $leak KiB < 512 KiB"
	num_cmp "$total" '<' 8192 "footprint: rss_end - rss_start = $total KiB < 8192 KiB"
fi

# --- many tasks that each leave a daemon behind: all killed and reaped
M=$(new_marker)
for i in $(seq 1 200); do
	printf '{"cmd":["%s","daemonize","%s/pid.%d","100","%s"]}\n' "$PROBE" "$T" "$i" "$M"
done >"$T/daemons.jsonl"
ART_GUARD=60 artc batch -j 8 --stats -o "$T/daemons-out.jsonl" "$T/daemons.jsonl"
is "$ART_RC/$(count_records "$T/daemons-out.jsonl")" "0/200" "200 daemonizing tasks: exit 0, 200 records"
no_survivors "$M" "none of their daemons survives"
stats=$(grep -E '^\{"stats"' "$T/err" | tail -n 1)
is "$(s fds_end)" "$(s fds_start)" "no descriptor leak with orphans either"
# Each task's leader waits for the intermediate child, which exits after
# forking the daemon: exactly one orphan per task.
is "$(s orphans_killed)" 200 "stats: orphans_killed 200 (one daemon per task)"

done_testing
