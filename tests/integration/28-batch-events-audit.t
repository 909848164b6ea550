#!/usr/bin/env bash
# agentrt batch --events, --audit, --sample-interval: the event stream has,
# for each task, queued before started before exited (samples between); the
# audit log has one line per task (invalid lines too) with the SHA-256 of
# the input line, who asked and how it ended, written before the record:
# after a batch interrupted by SIGINT, every record has its audit line.
#
# spec_sha256 is the SHA-256 of the line's bytes without its end of line:
# here `printf %s "$line" | sha256sum`.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 29

# For each id in the events file: the order of its first queued, started
# and exited events, and how many samples came between started and exited.
event_order() {
	_py -c '
import json, sys
seen = {}
order = []
with open(sys.argv[1]) as f:
    for n, line in enumerate(f):
        e = json.loads(line)
        i = e["id"]
        if i not in seen:
            seen[i] = {}
            order.append(i)
        d = seen[i]
        ev = e["event"]
        if ev == "sample":
            if "started" in d and "exited" not in d:
                d["samples_between"] = d.get("samples_between", 0) + 1
            else:
                d["samples_outside"] = d.get("samples_outside", 0) + 1
        d.setdefault(ev, n)
bad = []
for i in order:
    d = seen[i]
    if not ("queued" in d and "exited" in d):
        bad.append("%s: %s" % (i, sorted(d)))
    elif "started" in d and not (d["queued"] < d["started"] < d["exited"]):
        bad.append("%s: out of order %s" % (i, d))
    elif d.get("samples_outside"):
        bad.append("%s: a sample outside started..exited" % i)
print("ok" if not bad else "; ".join(bad))
' "$1"
}

# Every audit line's spec_sha256 equals sha256sum of its input line.
check_hashes() { # AUDIT INPUT
	local line want got n bad=0
	while IFS=$'\t' read -r n got; do
		line=$(sed -n "${n}p" "$2")
		want=$(printf '%s' "$line" | sha256sum | cut -d' ' -f1)
		if [ "$want" != "$got" ]; then
			diag "line $n: audit says $got, sha256sum says $want"
			bad=1
		fi
	done < <(records "$1" line spec_sha256)
	return $bad
}

# --- a batch with every kind of end
M=$(new_marker)
cat >"$T/in.jsonl" <<JSONL
{"id":"spin","cmd":["$PROBE","spin","0.6"]}
{"id":"hello","cmd":["sh","-c","echo hello; echo oops >&2"]}
echo a plain command line
{"id":"bad","cmd":
{"id":"fail","cmd":["false"],"retries":1}
{"id":"dep","cmd":["true"],"depends_on":"fail"}
{"id":"nf","cmd":["/nonexistent/$M"]}
JSONL
ids="spin hello 3 fail dep nf"
SUDO_USER=alice artc batch --sample-interval 100ms --events "$T/ev.jsonl" --events-output \
	--audit "$T/audit.jsonl" "$T/in.jsonl"
is "$ART_RC" 1 "the batch ran (some tasks failed: exit 1)"
ok "$(strict_jsonl "$T/ev.jsonl" >/dev/null; echo $?)" "--events: every line is a JSON object"
is "$(records "$T/ev.jsonl" id | sort -u | tr '\n' ' ')" "3 dep fail hello nf spin " \
	"--events: events for every task (not for the invalid line)"
is "$(event_order "$T/ev.jsonl")" ok "--events: queued before started before exited, samples between"
rec=$(record_by "$T/out" id spin)
n_samples=$(records "$T/ev.jsonl" event id | grep -c "^sample	spin$")
# One every 100 ms of the task's life (0.6 s of CPU: longer on a busy machine).
is "$(awk -v n="$n_samples" -v w="$(json_get "$rec" wall_s)" 'BEGIN { print (n >= 3 && n >= w * 10 - 3 && n <= w * 10 + 2) }')" 1 \
	"--sample-interval 100ms: a sample every 100 ms ($n_samples in $(json_get "$rec" wall_s) s)"
spin_cpu=$(records "$T/ev.jsonl" event id cpu_pct | awk -F'\t' '$1 == "sample" && $2 == "spin" && $3 > 50' | wc -l)
num_cmp "$spin_cpu" '>=' 1 "samples of a spinning task read more than 50% CPU"
is "$(records "$T/ev.jsonl" event id stream data | grep -P '^output\thello\t' | sort | tr '\t\n' ',;')" \
	"output,hello,stderr,oops\\n;output,hello,stdout,hello\\n;" "--events-output: output chunks as events"
is "$(records "$T/ev.jsonl" event id attempt after | grep -P '^retry\t' | tr '\t' ,)" "retry,fail,2,exited" \
	"a retry is an event"
is "$(records "$T/ev.jsonl" event id status | grep -P '^exited\t' | sort -k2 | cut -f2,3 | tr '\t\n' ',;')" \
	"3,exited;dep,skipped;fail,exited;hello,exited;nf,start_failed;spin,exited;" \
	"an exited event for every end, skips and start failures too"
num_cmp "$(json_get "$rec" peak_rss_bytes)" '>' 0 "the record has peak_rss_bytes"
num_cmp "$(json_get "$rec" peak_procs)" '>=' 1 "the record has peak_procs"
num_cmp "$(json_get "$rec" peak_cpu_pct | cut -d. -f1)" '>' 50 "the record has peak_cpu_pct"
is "$(json_get "$(record_by "$T/out" id nf)" peak_rss_bytes)" "<absent>" "no peaks when no sample was taken"

ok "$(strict_jsonl "$T/audit.jsonl" >/dev/null; echo $?)" "--audit: every line is a JSON object"
is "$(records "$T/audit.jsonl" line | sort -n | tr '\n' ' ')" "1 2 3 4 5 6 7 " \
	"--audit: one line per input line, the invalid one too"
is "$(records "$T/audit.jsonl" spec_sha256 | grep -cvE '^[0-9a-f]{64}$')" 0 "spec_sha256 is 64 hex digits"
check_hashes "$T/audit.jsonl" "$T/in.jsonl"
ok $? "spec_sha256 is sha256sum of the line's bytes (without the newline)"
is "$(records "$T/audit.jsonl" id status exit_status ok sandbox_level | sort | tr '\t\n' ',;')" \
	"3,exited,0,true,none;dep,skipped,125,false,none;fail,exited,1,false,none;hello,exited,0,true,none;nf,start_failed,127,false,none;null,invalid,null,false,null;spin,exited,0,true,none;" \
	"--audit: how each task ended and its sandbox level"
is "$(records "$T/audit.jsonl" requested_by.user requested_by.uid requested_by.sudo_user | sort -u | tr '\t' ,)" \
	"$(id -un),$(id -u),alice" "--audit: requested_by names the user, uid and \$SUDO_USER"
is "$(stat -c %a "$T/audit.jsonl")" 600 "--audit: the log is created 0600"
num_cmp "$(records "$T/audit.jsonl" ts | awk '$1 > 1600000000 && $1 ~ /\./' | wc -l)" '==' 7 \
	"--audit: ts is wall-clock seconds with fractions"

# Appended, never truncated; an events path like /dev/fd/N works.
artc batch --audit "$T/audit.jsonl" --events /dev/fd/3 "$T/in.jsonl" 3>"$T/ev3.jsonl"
is "$(count_records "$T/audit.jsonl")" 14 "--audit appends to an existing log"
is "$(event_order "$T/ev3.jsonl")" ok "--events /dev/fd/3 works"
is "$(grep -c '"event":"sample"' "$T/ev3.jsonl")" 0 "no samples without --sample-interval"

# --- interrupted: every record has its audit line
M=$(new_marker)
cat >"$T/int.jsonl" <<JSONL
{"id":"q1","cmd":["$PROBE","exit","0"]}
{"id":"q2","cmd":["$PROBE","exit","0"]}
{"id":"q3","cmd":["$PROBE","exit","0"]}
{"id":"l1","cmd":["$PROBE","sleep","60","$M"]}
{"id":"l2","cmd":["$PROBE","sleep","60","$M"]}
{"id":"l3","cmd":["$PROBE","ignore-term","60","$M"],"grace":"300ms"}
{"id":"w1","cmd":["$PROBE","sleep","60","$M"],"depends_on":"l1"}
JSONL
have_records() { [ "$(count_records "$1")" -ge "$2" ]; }
# A background job of a non-interactive shell starts with SIGINT ignored;
# env puts the default back (see 22-batch-interrupt.t).
env --default-signal=INT "$AGENTRT" batch -j 8 --sample-interval 50ms -o "$T/int-res.jsonl" \
	--audit "$T/int-audit.jsonl" --events "$T/int-ev.jsonl" "$T/int.jsonl" >"$T/bout" 2>"$T/berr" &
bpid=$!
wait_for 15 have_records "$T/int-res.jsonl" 3
wait_for 15 have_procs "$M" 3
kill -INT "$bpid"
wait_exit "$bpid" 20
wait "$bpid"
is "$?" 130 "interrupted: exit 130"
is "$(records "$T/int-res.jsonl" id status | sort | tr '\t\n' ',;')" \
	"l1,cancelled;l2,cancelled;l3,cancelled;q1,exited;q2,exited;q3,exited;w1,cancelled;" \
	"interrupted: a record for every task"
ok "$(strict_jsonl "$T/int-audit.jsonl" >/dev/null; echo $?)" "interrupted: every audit line is complete JSON"
is "$(records "$T/int-audit.jsonl" line id status | sort | tr '\t\n' ',;')" \
	"$(records "$T/int-res.jsonl" line id status | sort | tr '\t\n' ',;')" \
	"interrupted: every record has its audit line, with the same end"
no_survivors "$M" "interrupted: no task process is left"

done_testing
