#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# demo.sh - runs the sample agent workload (examples/agent-tools.jsonl)
# through `agentrt batch`, prints its results as a table, then shows
# `agentrt run` stopping a command at its timeout.
#
#   examples/demo.sh [/path/to/agentrt]      (`make demo` passes build/agentrt)
#
# Works from any directory: the tasks run from the repository root. Uses jq to
# read the result records when it is installed, python3 otherwise. Exits 0 when
# the demo behaved as expected (some of its tasks fail on purpose, so the
# batch itself exits 1), 1 when something was not as expected.
set -u
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
art=${1:-$root/build/agentrt}
case $art in /*) ;; *) art=$PWD/$art ;; esac
if [ ! -x "$art" ]; then
	echo "demo: $art: not an executable (run \`make\` first, or \`make demo\`)" >&2
	exit 1
fi
workload=examples/agent-tools.jsonl

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agentrt-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1

# A secret in our environment that the env-scrub task must not see.
export API_KEY=demo-secret-do-not-leak

problems=0
problem() {
	echo "demo: UNEXPECTED: $*" >&2
	problems=$((problems + 1))
}

rule() { printf '%s\n' "------------------------------------------------------------------------------"; }

# ------------------------------------------------------------------ batch
n_tasks=$(grep -cEv '^[[:space:]]*(#|$)' "$workload")
echo "== agentrt batch: $n_tasks tasks from $workload, 4 at a time"
echo "\$ agentrt batch -j 4 --keep-order $workload > results.jsonl"
"$art" batch -j 4 --keep-order --no-progress "$workload" >"$tmp/results.jsonl" 2>"$tmp/stderr"
batch_rc=$?
sed 's/^/  (stderr) /' "$tmp/stderr"
echo

# One line per record, fields separated by US (0x1f) so that empty fields
# survive `read`: id, agent/tool, status, exit_status, wall_s, output.
# Output is the first line of stdout, else the last line of stderr.
if command -v jq >/dev/null 2>&1; then
	jq -r '
	  def lines: split("\n") | map(select(length > 0));
	  [ (.id // "-"),
	    (if .labels then "\(.labels.agent // "-")/\(.labels.tool // "-")" else "-" end),
	    .status,
	    ((.exit_status // "-") | tostring),
	    ((.wall_s // "-") | tostring),
	    ( if .status == "invalid" then "error: " + .error.message
	      elif .status == "start_failed" then "error: \(.error.stage): \(.error.message)"
	      elif (.stdout | lines | length) > 0 then
	        (if .stdout_truncated then "[\(.stdout_bytes) bytes, tail kept] " else "" end)
	        + (.stdout | lines | .[0])
	      elif (.stderr | lines | length) > 0 then "stderr: " + (.stderr | lines | .[-1])
	      else "" end ),
	    (if .stdout_truncated then "1" else "0" end),
	    ((.stdout // "") | length | tostring)
	  ] | join("\u001f")' "$tmp/results.jsonl" >"$tmp/rows"
	reader=jq
else
	python3 - "$tmp/results.jsonl" >"$tmp/rows" <<'PY'
import json, sys
for raw in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(raw)
    lab = r.get("labels")
    who = f"{lab.get('agent', '-')}/{lab.get('tool', '-')}" if lab else "-"
    lines = lambda s: [l for l in (s or "").split("\n") if l]
    if r["status"] == "invalid":
        out = "error: " + r["error"]["message"]
    elif r["status"] == "start_failed":
        out = f"error: {r['error']['stage']}: {r['error']['message']}"
    elif lines(r["stdout"]):
        out = (f"[{r['stdout_bytes']} bytes, tail kept] " if r["stdout_truncated"] else "")
        out += lines(r["stdout"])[0]
    elif lines(r["stderr"]):
        out = "stderr: " + lines(r["stderr"])[-1]
    else:
        out = ""
    es, wall = r.get("exit_status"), r.get("wall_s")
    print("\x1f".join([r["id"] or "-", who, r["status"],
                       "-" if es is None else str(es), "-" if wall is None else repr(wall),
                       out, "1" if r.get("stdout_truncated") else "0",
                       str(len(r.get("stdout") or ""))]))
PY
	reader=python3
fi

printf '%-13s %-18s %-12s %4s %7s  %s\n' ID AGENT/TOOL STATUS EXIT WALL_S OUTPUT
rule
declare -A status_of exit_of
n_rows=0 n_ok=0 flood_kept=-1 flood_trunc=0
while IFS=$'\x1f' read -r id who status es wall out trunc kept; do
	n_rows=$((n_rows + 1))
	[ "$es" = 0 ] && n_ok=$((n_ok + 1))
	status_of[$id]=$status
	exit_of[$id]=$es
	if [ "$id" = chatty-build ]; then flood_trunc=$trunc flood_kept=$kept; fi
	[ "$wall" = - ] || wall=$(printf '%.3f' "$wall")
	[ ${#out} -le 50 ] || out="${out:0:47}..."
	printf '%-13s %-18s %-12s %4s %7s  %s\n' "$id" "$who" "$status" "$es" "$wall" "$out"
done <"$tmp/rows"
rule
echo "(records read with $reader; one full record, for the task that timed out:)"
grep '"id":"gen-hangs"' "$tmp/results.jsonl"
echo
echo "agentrt batch exited $batch_rc: $n_ok of $n_rows tasks succeeded. That is expected:"
echo "  missing-tool, gen-hangs, gen-oom and gen-tests fail on purpose, and a batch"
echo "  exits 1 when any task failed (0 only if all succeeded)."
echo

# What the demo is meant to show; anything else is reported and fails it.
[ "$batch_rc" = 1 ] || problem "agentrt batch exited $batch_rc, expected 1"
[ "$n_rows" = "$n_tasks" ] || problem "$n_rows records for $n_tasks tasks"
expect() { # ID STATUS EXIT_STATUS
	[ "${status_of[$1]:-}/${exit_of[$1]:-}" = "$2/$3" ] ||
		problem "$1: status/exit_status ${status_of[$1]:-none}/${exit_of[$1]:-none}, expected $2/$3"
}
expect find-submit exited 0
expect http-get exited 0
expect compute exited 0
expect env-scrub exited 0
expect missing-tool start_failed 127
expect gen-hangs timeout 124
expect gen-oom exited 1
expect gen-tests exited 1
expect chatty-build exited 0
[ "$flood_trunc/$flood_kept" = 1/4096 ] ||
	problem "chatty-build: truncated/kept $flood_trunc/$flood_kept, expected 1/4096 (output.cap 4K)"
grep -q demo-secret-do-not-leak "$tmp/results.jsonl" && problem "API_KEY reached a task"

# ------------------------------------------------------------------ run
echo "== agentrt run: one command in the foreground, its exit status mirrored"
echo "\$ agentrt run --timeout 1s -- sleep 5"
start=$(date +%s%N)
"$art" run --timeout 1s -- sleep 5 2>&1
run_rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "exit code $run_rc after ${ms} ms (124: timed out, as with timeout(1))"
[ "$run_rc" = 124 ] || problem "agentrt run --timeout 1s -- sleep 5 exited $run_rc, expected 124"
echo

if [ "$problems" -gt 0 ]; then
	echo "demo: FAILED ($problems unexpected results)" >&2
	exit 1
fi
echo "demo: OK"
