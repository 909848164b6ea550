#!/usr/bin/env bash
# agentrt batch --metrics-listen: GET /metrics while the batch runs
# (Prometheus text, OpenMetrics on request, promtool's verdict, counters
# that grow), 404 elsewhere, only the given address bound, a bad address,
# a port in use, and the server gone with the batch.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
require_binaries
plan 18

# http_get URL [ACCEPT]: the body into $T/body; prints "CODE CONTENT-TYPE"
# ("000" when nothing answered). curl, else python3's urllib.
http_get() {
	local url=$1 accept=${2:-}
	: >"$T/body"
	if command -v curl >/dev/null; then
		curl -s -m 5 -o "$T/body" -w '%{http_code} %{content_type}' \
			${accept:+-H "Accept: $accept"} "$url"
		return 0
	fi
	_py -c '
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if sys.argv[2]:
    req.add_header("Accept", sys.argv[2])
try:
    r = urllib.request.urlopen(req, timeout=5)
    code, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
except urllib.error.HTTPError as e:
    code, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read()
except Exception:
    code, ctype, body = 0, "", b""
open(sys.argv[3], "wb").write(body)
sys.stdout.write("%03d %s" % (code, ctype))
' "$url" "$accept" "$T/body"
}

# The value of one sample line ("NAME{LABELS}") in a file, or "none".
sample() {
	local v
	v=$(grep -F "$2 " "$1" 2>/dev/null | grep -v '^#' | head -n 1 | awk '{print $NF}')
	echo "${v:-none}"
}

# --- a bad address is a usage error
artc batch --metrics-listen nonsense /dev/null
is "$ART_RC" 2 "--metrics-listen without a port: usage error (exit 2)"
like "$ERR" 'metrics-listen: "nonsense" is not ADDRESS:PORT' "... and says what it wants"

# --- 20 tasks of 0.2 s, two at a time: about 2 s of batch
for i in $(seq 20); do echo "sleep 0.2"; done >"$T/tasks"
timeout -k 3 30 "$AGENTRT" batch -j 2 --metrics-listen 127.0.0.1:0 "$T/tasks" >"$T/bg.out" 2>"$T/bg.err" &
pid=$!
url_line() { grep -o 'http://127\.0\.0\.1:[0-9]*/metrics' "$T/bg.err"; }
wait_for 10 url_line >/dev/null
url=$(url_line)
like "$url" '^http://127\.0\.0\.1:[0-9]+/metrics$' "the URL is printed on stderr, with the port chosen" ||
	diag_file "$T/bg.err"
port=${url##*:}
port=${port%%/*}

got=$(http_get "$url")
like "$got" '^200 text/plain; version=0\.0\.4' "GET /metrics: 200, Prometheus text 0.0.4"
cp "$T/body" "$T/m1"
is "$(sample "$T/m1" agentrt_tasks_submitted_total)" 20 "all 20 tasks are counted as submitted"
like "$(sample "$T/m1" 'agentrt_tasks_running{group="default"}')" '^[0-2]$' "running tasks: at most 2"
like "$(cat "$T/m1")" 'process_resident_memory_bytes [0-9]' "the process metrics are there"

if command -v promtool >/dev/null; then
	promtool check metrics <"$T/m1" >"$T/promtool" 2>&1
	ok $? "promtool check metrics accepts the scrape" || diag_file "$T/promtool"
else
	skip 1 "promtool not installed (Debian package prometheus)"
fi

# The ended counter grows while the batch runs.
first=$(sample "$T/m1" 'agentrt_tasks_ended_total{reason="exited"}')
grown() {
	http_get "$url" >/dev/null
	cp "$T/body" "$T/m2"
	[ "$(sample "$T/m2" 'agentrt_tasks_ended_total{reason="exited"}')" -gt "$first" ] 2>/dev/null
}
wait_for 10 grown
num_cmp "$(sample "$T/m2" 'agentrt_tasks_ended_total{reason="exited"}')" ">" "$first" \
	"agentrt_tasks_ended_total{reason=\"exited\"} grows ($first, then more)"

got=$(http_get "$url" "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
like "$got" '^200 application/openmetrics-text; version=1\.0\.0' "Accept: OpenMetrics gets OpenMetrics"
is "$(tail -n 1 "$T/body")" "# EOF" "... ending in # EOF"

got=$(http_get "http://127.0.0.1:$port/nope")
like "$got" '^404' "another path: 404"

# Only the address asked for is bound.
if command -v ss >/dev/null; then
	is "$(ss -Hltn "sport = :$port" | awk '{print $4}' | sort -u | tr '\n' ' ')" "127.0.0.1:$port " \
		"only 127.0.0.1:$port listens"
else
	skip 1 "ss not installed (iproute2)"
fi

# A port in use: the second batch cannot start its server, and runs nothing.
artc batch --metrics-listen "127.0.0.1:$port" "$T/tasks"
is "$ART_RC" 125 "a port in use: exit 125"
like "$ERR" "metrics-listen: 127\.0\.0\.1:$port: Address already in use" "... saying so"

wait_exit "$pid" 20
wait "$pid"
rc=$?
is "$rc" 0 "the batch exits 0"
is "$(count_records "$T/bg.out")" 20 "20 records"
got=$(http_get "$url")
like "$got" '^000' "the server stopped with the batch"
