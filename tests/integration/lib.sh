# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034  # ART_*, OUT, ERR, T are for the tests
#
# Shared helpers for the integration tests (tests/integration/*.t). Each test
# is a bash script that sources this file and prints TAP; prove runs it:
#
#   prove --exec '' tests/integration/
#
# Environment:
#   AGENTRT  the CLI binary   (default: build/agentrt next to this tree)
#   PROBE    the probe binary (default: build/probe)
#
# What it gives a test:
#   plan N | done_testing | skip_all REASON | bail_out REASON | require_binaries
#   ok STATUS DESC           passes when STATUS (an exit status) is 0
#   is GOT WANT DESC         string equality
#   isnt GOT WANT DESC
#   like GOT REGEX DESC      bash [[ =~ ]] (extended regex)
#   unlike GOT REGEX DESC
#   num_cmp A OP B DESC      integer comparison: OP is one of < <= > >= == !=
#   skip N REASON            N skipped tests ("ok N # skip REASON")
#   diag TEXT... / note TEXT... / diag_file FILE [LINES] / diag_outputs
#   $T                       a private temp dir, removed at exit
#   $PROBE_DIR               the probe's directory, for --ro-bind into sandboxes
#   new_marker               prints a unique token to pass as an extra argument
#   new_num_marker           the same, digits only (sleep 100.MARKER)
#   survivors MARKER         lists the processes whose cmdline has MARKER
#   no_survivors MARKER DESC passes when there is none (pgrep -f)
#   have_procs MARKER N      true when at least N such processes run
#   art ARGS...              runs "$AGENTRT" ARGS under a guard (see below),
#                            sets ART_RC, ART_MS (elapsed ms), ART_HUNG
#   artc ARGS...             art with stdout/stderr in $T/out, $T/err, OUT, ERR
#   json_record              the --json record (last JSON line of $T/err)
#   json_get JSON PATH       prints one field of a JSON object ("a.b", "a.0")
#   records FILE FIELD...    prints one tab-separated line per JSON line
#   record_by FILE FIELD VAL the first JSON line whose FIELD is VAL
#   count_records FILE       how many lines are JSON objects
#   strict_jsonl FILE        every line is a JSON object in strict UTF-8
#   wait_for SECS CMD...     polls CMD until it succeeds
#   wait_exit PID SECS       waits for a background child (SIGKILL after SECS)
#   now_ms                   wall clock in milliseconds
#   is_root / is_asan BINARY
#
# Every process whose command line holds a marker of this script is killed
# at exit, so a failing test leaves nothing behind for the next one.
#
# Stdin of the test script is /dev/null, so that tasks which inherit stdin
# never read the terminal of whoever runs prove. Tests that need a stdin pipe
# it explicitly.

set -u

_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_root_dir=$(cd "$_lib_dir/../.." && pwd)
: "${AGENTRT:=$_root_dir/build/agentrt}"
: "${PROBE:=$_root_dir/build/probe}"
export AGENTRT PROBE
# A sandbox sees the host's root read-only but a private /tmp: tests that
# run the probe inside bind its directory (a checkout may live under /tmp).
PROBE_DIR=$(cd "$(dirname "$PROBE")" 2>/dev/null && pwd -P || dirname "$PROBE")

# The longest any single agentrt invocation may take before the test kills it
# and reports a hang (seconds). Tests lower or raise it per call: ART_GUARD=5 art ...
: "${ART_GUARD_DEFAULT:=30}"

exec </dev/null

_tap_n=0
_tap_failed=0
_tap_planned=""

T=$(mktemp -d "${TMPDIR:-/tmp}/agentrt-it.XXXXXXXX")
chmod 755 "$T"

_lib_cleanup() {
	local rc=$? m
	# Whatever a failing test left behind: kill it so the next test and
	# the machine are clean. A survivor was already reported as a failure.
	for m in "${_tap_markers[@]}"; do
		pkill -KILL -f -- "$m" 2>/dev/null
	done
	rm -rf "$T"
	if [ -z "$_tap_planned" ] && [ "$_tap_n" -gt 0 ] && [ -z "${_tap_done:-}" ]; then
		echo "# test script ended without a plan (exit $rc)"
	fi
	if [ "$_tap_failed" -gt 0 ]; then
		echo "# failed $_tap_failed of $_tap_n"
	fi
}
trap _lib_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

plan() {
	_tap_planned=$1
	echo "1..$1"
}

done_testing() {
	_tap_done=1
	[ -z "$_tap_planned" ] && echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}

skip_all() {
	echo "1..0 # SKIP $*"
	_tap_done=1
	exit 0
}

bail_out() {
	echo "Bail out! $*"
	exit 255
}

diag() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}
note() { diag "$@"; }

# Prints a file (or a part of it) as diagnostics, at most 20 lines.
diag_file() {
	[ -e "$1" ] || { diag "($1 does not exist)"; return; }
	head -n "${2:-20}" "$1" | while IFS= read -r line; do echo "#   $line"; done
}

ok() {
	local status=$1
	shift
	_tap_n=$((_tap_n + 1))
	if [ "$status" -eq 0 ] 2>/dev/null; then
		echo "ok $_tap_n - $*"
		return 0
	fi
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $*"
	# The first caller outside this file is where the test is.
	local i=1
	while [ "$i" -lt "${#BASH_SOURCE[@]}" ] && [ "${BASH_SOURCE[$i]}" = "${BASH_SOURCE[0]}" ]; do
		i=$((i + 1))
	done
	echo "#   Failed test '$*' at ${BASH_SOURCE[$i]:-?} line ${BASH_LINENO[$((i - 1))]:-?}."
	return 1
}

is() {
	local got=$1 want=$2
	shift 2
	if [ "$got" == "$want" ]; then
		ok 0 "$@"
	else
		ok 1 "$@"
		diag "     got: '$got'"
		diag "expected: '$want'"
		return 1
	fi
}

isnt() {
	local got=$1 want=$2
	shift 2
	if [ "$got" != "$want" ]; then
		ok 0 "$@"
	else
		ok 1 "$@"
		diag "     got: '$got'"
		diag "expected anything else"
		return 1
	fi
}

like() {
	local got=$1 re=$2
	shift 2
	if [[ $got =~ $re ]]; then
		ok 0 "$@"
	else
		ok 1 "$@"
		diag "                  '$got'"
		diag "    doesn't match '$re'"
		return 1
	fi
}

unlike() {
	local got=$1 re=$2
	shift 2
	if [[ ! $got =~ $re ]]; then
		ok 0 "$@"
	else
		ok 1 "$@"
		diag "                  '$got'"
		diag "          matches '$re'"
		return 1
	fi
}

num_cmp() {
	local a=$1 op=$2 b=$3 res=1
	shift 3
	if [[ $a =~ ^-?[0-9]+$ && $b =~ ^-?[0-9]+$ ]]; then
		case $op in
		'<') ((a < b)) && res=0 ;;
		'<=') ((a <= b)) && res=0 ;;
		'>') ((a > b)) && res=0 ;;
		'>=') ((a >= b)) && res=0 ;;
		'==') ((a == b)) && res=0 ;;
		'!=') ((a != b)) && res=0 ;;
		*) bail_out "num_cmp: bad operator $op" ;;
		esac
	fi
	if [ $res -eq 0 ]; then
		ok 0 "$@"
	else
		ok 1 "$@"
		diag "    '$a' $op '$b' is false"
		return 1
	fi
}

skip() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		_tap_n=$((_tap_n + 1))
		echo "ok $_tap_n # skip $*"
	done
}

now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# Markers are per-script tokens plus a random tail, so that the exit trap can
# kill whatever any marker of this script names, even markers made in a
# subshell ($(new_marker)).
_tap_token=$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')
_tap_numtoken=$(printf "%05d%05d" $RANDOM $RANDOM)
_tap_numtoken="97${_tap_numtoken}"
_tap_markers=("artmark$_tap_token" "$_tap_numtoken")

new_marker() {
	echo "artmark${_tap_token}x$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
}

# A numeric marker, for commands that only take numbers (sleep 100.MARK).
new_num_marker() {
	echo "${_tap_numtoken}$((RANDOM % 9000 + 1000))"
}

# Lists the processes whose command line contains MARKER ("pid cmdline").
survivors() {
	pgrep -a -f -- "$1" 2>/dev/null | grep -v -e ' pgrep ' || true
}

# no_survivors MARKER DESC [SETTLE_SECONDS]: no process with MARKER in its
# command line. The contract says nothing outlives its task once agentrt has
# returned, so it checks at once; if something is there, it waits up to
# SETTLE (default 1 s) to tell "slow to go" from "left behind" in the
# diagnostics, but fails either way.
no_survivors() {
	local marker=$1 desc=$2 settle=${3:-1} found waited=0
	found=$(survivors "$marker")
	if [ -z "$found" ]; then
		ok 0 "$desc"
		return 0
	fi
	local deadline=$(($(now_ms) + settle * 1000)) left
	while [ "$(now_ms)" -lt "$deadline" ]; do
		sleep 0.05
		left=$(survivors "$marker")
		[ -z "$left" ] && { waited=1; break; }
	done
	ok 1 "$desc"
	diag "processes with marker $marker were alive after agentrt returned:"
	diag "$found"
	if [ "$waited" = 1 ]; then
		diag "(they were gone within ${settle}s: killed but not reaped before exit?)"
	else
		diag "(still alive ${settle}s later; killing them)"
		pkill -KILL -f -- "$marker" 2>/dev/null
	fi
	return 1
}

# Waits until a command succeeds, polling; returns 1 on timeout.
#   wait_for SECONDS CMD ARGS...
wait_for() {
	local secs=$1
	shift
	local deadline=$(($(now_ms) + secs * 1000))
	while ! "$@"; do
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# art ARGS...: runs "$AGENTRT" ARGS with stdout/stderr as the caller
# redirects them, under a guard of ART_GUARD seconds (default 30). Sets
# ART_RC (its exit status), ART_MS (elapsed milliseconds) and ART_HUNG (1 when
# the guard had to kill it; ART_RC is then meaningless).
art() {
	local guard=${ART_GUARD:-$ART_GUARD_DEFAULT} t0 t1
	t0=$(now_ms)
	# timeout(1) puts itself in a process group of its own unless
	# --foreground; --foreground keeps agentrt where the test runs it.
	timeout --foreground -k 3 "$guard" "$AGENTRT" "$@"
	ART_RC=$?
	t1=$(now_ms)
	ART_MS=$((t1 - t0))
	ART_HUNG=0
	if [ "$ART_MS" -ge $((guard * 1000 - 200)) ]; then
		ART_HUNG=1
		echo "# agentrt $* did not return within ${guard}s; killed by the test guard" >&2
	fi
	return $ART_RC
}

# The system python3 first: a version manager's shim in PATH (pyenv) costs
# ~100 ms a call, and the tests make hundreds. Only the standard library is used.
if [ -x /usr/bin/python3 ]; then
	_python=/usr/bin/python3
else
	_python=$(command -v python3) || bail_out "python3 is needed (scripts/deps.sh installs it)"
fi
_py() { "$_python" "$@"; }

# json_get JSON PATH: prints a field: strings raw, null as "null", booleans
# as "true"/"false", numbers as JSON writes them, objects/arrays as JSON.
# An absent field prints "<absent>"; text that is not JSON prints "<not json>".
# The JSON goes through stdin: a record may be larger than one argv string.
json_get() {
	_py -c '
import json, sys
text, path = sys.stdin.read(), sys.argv[1]
try:
    v = json.loads(text)
except Exception:
    print("<not json>"); sys.exit(0)
for part in path.split(".") if path else []:
    if isinstance(v, dict) and part in v:
        v = v[part]
    elif isinstance(v, list) and part.lstrip("-").isdigit() and -len(v) <= int(part) < len(v):
        v = v[int(part)]
    else:
        print("<absent>"); sys.exit(0)
if v is None: print("null")
elif v is True: print("true")
elif v is False: print("false")
elif isinstance(v, str): sys.stdout.write(v + "\n")
else: print(json.dumps(v, sort_keys=True))
' "$2" <<<"$1"
}

# records FILE FIELD...: one line per JSON line of FILE, the fields
# tab-separated (same rendering as json_get; a line that is not JSON prints
# "<not json>"). Fields may be dotted paths. Strings have newlines and tabs
# escaped as \n and \t.
records() {
	local file=$1
	shift
	_py -c '
import json, sys
def get(v, path):
    for part in path.split("."):
        if isinstance(v, dict) and part in v:
            v = v[part]
        elif isinstance(v, list) and part.isdigit() and int(part) < len(v):
            v = v[int(part)]
        else:
            return "<absent>"
    if v is None: return "null"
    if v is True: return "true"
    if v is False: return "false"
    if isinstance(v, str): return v.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return json.dumps(v, sort_keys=True)
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        if not line.strip():
            continue
        try:
            v = json.loads(line)
        except Exception:
            print("<not json>"); continue
        print("\t".join(get(v, p) for p in sys.argv[2:]))
' "$file" "$@"
}

# Counts the lines of FILE that are JSON objects.
count_records() {
	_py -c '
import json, sys
n = 0
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        try:
            if isinstance(json.loads(line), dict): n += 1
        except Exception:
            pass
print(n)
' "$1"
}

# The last line of FILE that is a JSON object (or nothing).
last_json_line() {
	grep -E '^\{' "$1" | tail -n 1
}

# Checks that the binaries exist; stops the run (Bail out!) when they are not
# built, since every test would fail for the same reason.
require_binaries() {
	[ -x "$PROBE" ] || bail_out "probe not built: $PROBE (make build/probe)"
	[ -x "$AGENTRT" ] || bail_out "agentrt not built: $AGENTRT (make)"
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# artc ARGS...: art with stdout and stderr captured: OUT and ERR hold them
# (trailing newlines stripped), $T/out and $T/err the exact bytes.
artc() {
	art "$@" >"$T/out" 2>"$T/err"
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	return "$ART_RC"
}

# The JSON result record that `run --json` printed: the last line of $T/err
# that starts with '{'.
json_record() { last_json_line "$T/err"; }

# Shows what a failed command printed.
diag_outputs() {
	diag "exit status: ${ART_RC:-?} after ${ART_MS:-?} ms"
	diag "stdout:"
	diag_file "$T/out" "${1:-10}"
	diag "stderr:"
	diag_file "$T/err" "${1:-10}"
}

# record_by FILE FIELD VALUE: the first JSON line of FILE whose FIELD (a
# top-level field) renders as VALUE (numbers and strings alike).
record_by() {
	_py -c '
import json, sys
path, field, want = sys.argv[1:4]
with open(path, errors="replace") as f:
    for line in f:
        try:
            v = json.loads(line)
        except Exception:
            continue
        if isinstance(v, dict) and field in v and str(v[field]) == want:
            sys.stdout.write(line.rstrip("\n") + "\n")
            break
' "$1" "$2" "$3"
}

# is_asan BINARY: true when BINARY was built with AddressSanitizer.
is_asan() {
	{ ldd "$1" 2>/dev/null | grep -q 'libasan'; } ||
		grep -q -a '__asan_init' "$1" 2>/dev/null
}

# wait_exit PID SECONDS: waits for a background child of this shell to end
# (it may stay a zombie until `wait PID`); kills it with SIGKILL after
# SECONDS and returns 1 if it had to. Follow with `wait PID` for the status.
wait_exit() {
	local pid=$1 deadline=$(($(now_ms) + $2 * 1000))
	while [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
		if [ "$(now_ms)" -ge "$deadline" ]; then
			kill -KILL "$pid" 2>/dev/null
			return 1
		fi
		sleep 0.05
	done
	return 0
}

have_procs() { [ "$(survivors "$1" | wc -l)" -ge "$2" ]; }

# strict_jsonl FILE: every line of FILE is a JSON object in strict UTF-8
# (what a consumer in another language would demand). Prints the first bad
# line on failure.
strict_jsonl() {
	_py -c '
import json, sys
with open(sys.argv[1], "rb") as f:
    for n, raw in enumerate(f, 1):
        try:
            v = json.loads(raw.decode("utf-8"))
            assert isinstance(v, dict)
        except Exception as e:
            print("line %d: %s: %r" % (n, e, raw[:120])); sys.exit(1)
' "$1"
}
