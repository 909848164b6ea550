#!/usr/bin/env bash
# agentrt run --sandbox sandbox: the view from inside. The root is
# read-only, /tmp a private sized tmpfs, binds (rw, ro, missing source),
# --tmpfs; the namespaces (hostname, uid 0, pid 2 and a private /proc, a
# network with only an UP loopback, --network host); /dev, /home, /root;
# the environment scrubbed; no capabilities, no_new_privs, seccomp; the
# working directory. Workspaces: list, keep, discard, two at once on one
# base. A shell pipeline; SIGTERM to agentrt reaches the task and nothing
# survives.
#
# Runs as the caller (root: the sandbox's root is then uid 65534 outside).
# shellcheck source-path=SCRIPTDIR source=lib.sh
# shellcheck disable=SC2016,SC2012  # $1.. belong to sh -c; ls on names of our own
. "$(dirname "$0")/lib.sh"
require_binaries
# The tasks run from other directories: absolute paths only.
case $AGENTRT in /*) ;; *) AGENTRT=$PWD/$AGENTRT ;; esac
case $PROBE in /*) ;; *) PROBE=$PWD/$PROBE ;; esac
plan 60

TEST_USER=agentrt-test
mark=$(new_marker)
nummark=$(new_num_marker)
host_tmp_file=/tmp/agentrt-view-$mark
sleeper=""
cleanup_fixtures() {
	[ -n "$sleeper" ] && kill -KILL "$sleeper" 2>/dev/null
	rm -f "$host_tmp_file" "/tmp/agentrt-in-$mark" "/usr/agentrt-$mark" "/agentrt-$mark" 2>/dev/null
	# A kept workspace holds the overlay's work/work, mode 0: let rm in.
	chmod -R u+rwx "$T" 2>/dev/null
	return 0
}
trap 'rc=$?; cleanup_fixtures; (exit $rc); _lib_cleanup' EXIT

SB=(--sandbox sandbox --timeout 20s --ro-bind "$PROBE_DIR")
# sb ARGS... -- CMD...: one sandboxed run, from $T, with the record kept.
sb() {
	local here=$PWD
	cd "$T" || return 1
	artc run --json "${SB[@]}" "$@"
	cd "$here" || return 1
	REC=$(json_record)
	return "$ART_RC"
}
# The task's own stdout, without agentrt's lines (agentrt writes only to stderr).
lines() { tr '\n' ' ' <<<"$1" | sed 's/ *$//'; }

# ---------------------------------------------------------------------------
# It starts at all: everything below needs it.
sb -- true
is "$ART_RC/$(json_get "$REC" sandbox)" "0/sandbox" "--sandbox sandbox -- true: exit 0, record says sandbox" ||
	diag_outputs 5

# --- the root is read-only
sb -- "$PROBE" fill-file "/usr/agentrt-$mark" 1
is "$ART_RC/$(head -n1 <<<"$ERR")" "4/open failed: EROFS" "creating a file in /usr fails with EROFS"
sb -- "$PROBE" fill-file "/agentrt-$mark" 1
is "$ART_RC/$(head -n1 <<<"$ERR")" "4/open failed: EROFS" "creating a file in / fails with EROFS"
ok "$( [ ! -e "/usr/agentrt-$mark" ] && [ ! -e "/agentrt-$mark" ] && echo 0 || echo 1)" \
	"nothing was created in the host's / or /usr"

# --- /tmp: a private tmpfs, writable, sized by --tmp-size
echo host >"$host_tmp_file" || bail_out "fixture: cannot write $host_tmp_file"
sb -- sh -c 'echo hi >"/tmp/agentrt-in-$1" && cat "/tmp/agentrt-in-$1" &&
	awk "\$2 == \"/tmp\" {print \$3}" /proc/mounts' sh "$mark"
is "$(lines "$OUT")" "hi tmpfs" "/tmp is a writable tmpfs"
ok "$( [ ! -e "/tmp/agentrt-in-$mark" ] && echo 0 || echo 1)" "a file the task wrote in /tmp is not on the host"
sb -- sh -c 'ls "$1" 2>&1; echo "rc=$?"' sh "$host_tmp_file"
like "$OUT" "No such file.*"$'\n'"rc=[12]$" "a file in the host's /tmp is not visible in the sandbox's"
sb --tmp-size 1M -- sh -c '"$1" fill-file /tmp/small 512k && echo small-ok; "$1" fill-file /tmp/big 2M' sh "$PROBE"
is "$ART_RC/$OUT/$(head -n1 <<<"$ERR")" "4/small-ok/write failed: ENOSPC" \
	"--tmp-size 1M: 512 KiB fits, 2 MiB more fails with ENOSPC"

# --- binds
RW=$T/rw RO=$T/ro
mkdir -p "$RW" "$RO" || bail_out "fixture: mkdir in $T"
# World-writable: as root, the sandbox's root is another uid outside.
chmod 777 "$RW"
echo ro-content >"$RO/f"
sb --bind "$RW" -- sh -c 'echo from-task >"$1/same"' sh "$RW"
is "$ART_RC/$(cat "$RW/same" 2>/dev/null)" "0/from-task" "--bind SRC: a write lands in the host's directory"
sb --bind "$RW:/data" -- sh -c 'echo via-data >/data/other'
is "$ART_RC/$(cat "$RW/other" 2>/dev/null)" "0/via-data" "--bind SRC:DST: a write to DST lands in SRC on the host"
sb --ro-bind "$RO:/ro" -- sh -c 'cat /ro/f; "$1" fill-file /ro/g 1' sh "$PROBE"
is "$ART_RC/$OUT/$(head -n1 <<<"$ERR")" "4/ro-content/open failed: EROFS" \
	"--ro-bind: readable, a write fails with EROFS"
is "$(ls -A "$RO" | tr '\n' ' ')" "f " "the read-only bind's source is unchanged"
sb --bind "$T/no-such-dir:/data" -- true
is "$ART_RC/$(json_get "$REC" status)" "125/start_failed" "--bind with a missing source: exit 125, start_failed"
like "$ERR" "$T/no-such-dir" "and the message names the missing path"

# --- --tmpfs DST:SIZE
sb --tmpfs /scratch:1M -- sh -c 'awk "\$2 == \"/scratch\" {print \$3}" /proc/mounts;
	"$1" fill-file /scratch/small 512k && echo small-ok; "$1" fill-file /scratch/big 2M' sh "$PROBE"
is "$ART_RC/$(lines "$OUT")/$(head -n1 <<<"$ERR")" "4/tmpfs small-ok/write failed: ENOSPC" \
	"--tmpfs /scratch:1M: a tmpfs, 512 KiB fits, 2 MiB fails with ENOSPC"

# --- namespaces: uts, user, pid
host0=$(cat /proc/sys/kernel/hostname)
sb -- hostname
is "$OUT" agentrt "the hostname is agentrt by default"
sb --hostname "box-${mark:0:20}" -- hostname
is "$OUT" "box-${mark:0:20}" "--hostname sets it"
is "$(cat /proc/sys/kernel/hostname)" "$host0" "the host's hostname is unchanged"
sb -- id -u
is "$OUT" 0 "id -u is 0 inside"
sb -- sh -c 'echo $$; cut -d" " -f1 /proc/self/stat'
is "$(lines "$OUT")" "2 3" "pid namespace: the task is pid 2 (and its child pid 3)"

sleep "100.$nummark" &
sleeper=$!
disown
# /proc lists the sandbox's processes only: its init, the shell, and the
# shell's own children; never the host's sleeper.
sb -- sh -c 'for d in /proc/[0-9]*; do read -r c <"$d/comm" && echo "$c"; done'
ok "$(kill -0 "$sleeper" 2>/dev/null && echo 0 || echo 1)" "(the host's sleeper runs)"
n=$(grep -c . <<<"$OUT")
num_cmp "$n" '<=' 3 "/proc shows only the sandbox's processes ($(lines "$OUT"))"
unlike "$OUT" "sleep" "the host's sleeper is not among them"

# --- network
sb -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "'
is "$(lines "$OUT")" lo "--network none (default): /proc/net/dev lists only lo"
# /sys must show the sandbox's network namespace too, not the host's.
sb -- ls /sys/class/net
is "$(lines "$OUT")" lo "--network none: /sys/class/net lists only lo"
sb -- "$_python" -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
c = socket.create_connection(s.getsockname(), timeout=5)
a, _ = s.accept(); c.sendall(b"up"); print(a.recv(2).decode())'
is "$ART_RC/$OUT" "0/up" "lo is up: a connection to 127.0.0.1 inside works"
host_ifs=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ')
sb --network host -- sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort | tr "\n" " "'
is "$OUT" "$host_ifs" "--network host: the host's interfaces ($host_ifs)"

# --- /dev
sb -- sh -c 'for n in null zero full random urandom tty; do [ -c "/dev/$n" ] && echo "$n"; done'
is "$(lines "$OUT")" "null zero full random urandom tty" "/dev has null zero full random urandom tty"
sb -- sh -c 'echo x >/dev/null && head -c 5 /dev/zero | wc -c'
is "$ART_RC/$OUT" "0/5" "writing /dev/null and reading /dev/zero work"
sb -- sh -c 'ls /dev/mem 2>&1; echo "rc=$?"'
like "$OUT" "No such file.*"$'\n'"rc=[12]$" "/dev/mem is absent"
sb -- sh -c 'echo "$(ls -A /home | wc -l) $(ls -A /root | wc -l)"'
is "$OUT" "0 0" "/home and /root are empty (the host's have $(ls -A /home | wc -l) and $(ls -A /root 2>/dev/null | wc -l) entries)"

# --- the environment
(
	export SECRET_TOKEN=1
	sb --env "AGENTRT_K=v-$mark" -- "$PROBE" env
	printf '%s\n' "$OUT" >"$T/env"
)
env_in=$(cat "$T/env")
unlike "$env_in" "(^|"$'\n'")SECRET_TOKEN=" "a variable of the caller (SECRET_TOKEN) is not inside"
like "$env_in" "(^|"$'\n'")PATH=/" "PATH is inside"
like "$env_in" "(^|"$'\n'")AGENTRT_K=v-$mark(\$|"$'\n'")" "--env K=V is inside"
like "$env_in" "(^|"$'\n'")HOME=/root(\$|"$'\n'")" "HOME=/root"

# --- privileges
sb -- grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status
caps=$(grep '^Cap' <<<"$OUT" | awk '{print $2}' | sort -u | tr '\n' ' ')
is "$(grep -c '^Cap' <<<"$OUT")/$caps" "5/0000000000000000 " "every capability set is empty"
is "$(awk '$1 == "NoNewPrivs:" {print $2}' <<<"$OUT")" 1 "NoNewPrivs is 1"
is "$(awk '$1 == "Seccomp:" {print $2}' <<<"$OUT")" 2 "Seccomp is 2 (filter)"

# --- working directory (agentrt runs from $T)
sb -- "$PROBE" cwd
is "$OUT" / "the working directory defaults to / (not the caller's)"

# ---------------------------------------------------------------------------
# Workspaces. The base: the caller's files, made as any file would be.
make_base() {
	if ! { mkdir -p "$1/sub" &&
		echo keep >"$1/keep.txt" && echo mod >"$1/mod.txt" && echo del >"$1/del.txt" &&
		echo s >"$1/sub/s.txt" && chmod 755 "$1"; }; then
		bail_out "fixture: base $1"
	fi
}
tree_sum() { (cd "$1" && find . -printf '%p %m %s\n' | sort && find . -type f -exec cat {} + | md5sum); }
# "path:kind ..." sorted, from a record's "changes".
changes_of() {
	_py -c '
import json, sys
try:
    ch = json.loads(sys.stdin.read()).get("changes")
except Exception:
    print("<not json>"); sys.exit(0)
if ch is None:
    print("<absent>"); sys.exit(0)
print(" ".join(sorted("%s:%s" % (c.get("path"), c.get("kind")) for c in ch)))' <<<"$1"
}
BASE=$T/base
make_base "$BASE"
sum0=$(tree_sum "$BASE")
edit='pwd; ls | tr "\n" " "; echo; echo changed >>mod.txt && echo mod-ok; cat mod.txt | tr "\n" " "; echo;
	rm del.txt && echo del-ok; echo new >add.txt && echo add-ok'

sb --workspace "$BASE" --workspace-changes list --workspace-dir "$T/wsl" -- sh -c "$edit"
is "$(head -n2 <<<"$OUT" | tr '\n' '|')" "/workspace|del.txt keep.txt mod.txt sub |" \
	"--workspace BASE: the task starts in /workspace and sees the base's files"
like "$OUT" $'\nmod-ok\nmod changed \n' "the task modifies a file of the base (its own copy)" ||
	diag_outputs 8
like "$ART_RC/$OUT" $'^0/.*\ndel-ok\nadd-ok$' "the task deletes one and adds one"
is "$(changes_of "$REC")" "add.txt:added del.txt:deleted mod.txt:modified" \
	"--workspace-changes list: the record lists exactly these changes"
is "$(tree_sum "$BASE")" "$sum0" "the base is unchanged on the host"
is "$(ls -A "$T/wsl" 2>/dev/null)" "" "list: nothing is left under --workspace-dir"

sb --workspace "$BASE" --workspace-changes keep --workspace-dir "$T/wsk" -- sh -c "$edit"
wsdir=$(json_get "$REC" workspace_dir)
like "$wsdir" "^$T/wsk/" "keep: the record gives workspace_dir under --workspace-dir ($wsdir)"
# The kept layer: add.txt as written, del.txt as an overlay whiteout (0/0).
kept="$(cat "$wsdir/add.txt" 2>/dev/null)/$(stat -c '%F %t:%T' "$wsdir/del.txt" 2>/dev/null)"
is "$kept" "new/character special file 0:0" "keep: workspace_dir holds the changes (add.txt, del.txt's whiteout)"
is "$(tree_sum "$BASE")" "$sum0" "keep: the base is still unchanged"

sb --workspace "$BASE" --workspace-changes discard --workspace-dir "$T/wsd" -- sh -c "$edit"
is "$ART_RC/$(json_get "$REC" workspace_dir)/$(json_get "$REC" changes)" "0/<absent>/<absent>" \
	"discard: the record has neither workspace_dir nor changes"
is "$(ls -A "$T/wsd" 2>/dev/null)" "" "discard: nothing is left under --workspace-dir"

# Two tasks on the same base at once: each sees only its own file.
for who in a b; do
	printf '{"id":"ws-%s","cmd":["sh","-c","echo %s >%s.txt; sleep 1; ls | tr \\"\\\\n\\" \\" \\""],"timeout":"20s","sandbox":{"level":"sandbox","binds":["'"$PROBE_DIR"'"],"workspace":{"base":"%s","changes":"list"}}}\n' \
		"$who" "$who" "$who" "$BASE"
done >"$T/ws2.jsonl"
artc batch -j 2 --workspace-dir "$T/ws2" "$T/ws2.jsonl"
ra=$(record_by "$T/out" id ws-a)
rb=$(record_by "$T/out" id ws-b)
is "$(json_get "$ra" stdout)|$(json_get "$rb" stdout)" \
	"a.txt del.txt keep.txt mod.txt sub |b.txt del.txt keep.txt mod.txt sub " \
	"batch -j 2, one base: each task sees its own new file, not the other's" || diag_outputs 4
is "$(changes_of "$ra")|$(changes_of "$rb")" "a.txt:added|b.txt:added" "and each record lists only its own change"
num_cmp "$ART_MS" '<' 1900 "the two ran at the same time (${ART_MS} ms for two 1 s tasks)"
is "$(tree_sum "$BASE")" "$sum0" "the base is unchanged after both"

# The same list run as the unprivileged user, on a base of its own.
why=""
if ! is_root; then
	why="the test does not run as root"
elif ! id -u "$TEST_USER" >/dev/null 2>&1; then
	why="no user $TEST_USER"
elif ! command -v setpriv >/dev/null 2>&1; then
	why="setpriv is not installed"
else
	asuser=(setpriv --reuid="$(id -u "$TEST_USER")" --regid="$(id -g "$TEST_USER")" --clear-groups --)
	"${asuser[@]}" "$AGENTRT" run -- true >/dev/null 2>&1 ||
		why="$TEST_USER cannot run $AGENTRT (directory permissions?)"
fi
if [ -n "$why" ]; then
	skip 2 "no unprivileged pass: $why"
else
	make_base "$T/ubase"
	mkdir -p "$T/uws"
	chown -R "$TEST_USER:$(id -gn "$TEST_USER")" "$T/ubase" "$T/uws"
	usum0=$(tree_sum "$T/ubase")
	(cd "$T" && timeout -k 3 30 "${asuser[@]}" "$AGENTRT" run --json "${SB[@]}" --workspace "$T/ubase" \
		--workspace-changes list --workspace-dir "$T/uws" -- sh -c "$edit" >"$T/out" 2>"$T/err")
	REC=$(json_record)
	is "$(changes_of "$REC")" "add.txt:added del.txt:deleted mod.txt:modified" \
		"as $TEST_USER: list gives exactly the three changes" || diag_outputs 8
	is "$(tree_sum "$T/ubase")" "$usum0" "as $TEST_USER: the base is unchanged"
fi

# ---------------------------------------------------------------------------
# A shell pipeline in the sandbox, and its exit status.
sb -- sh -c 'printf "a\nb\nc\n" | grep -v b | wc -l; exit 7'
is "$ART_RC/$OUT" "7/2" "a shell pipeline runs in the sandbox and its exit status comes back (7)"

# SIGTERM to agentrt run: the task gets it (its trap runs), nothing survives.
tm=$(new_num_marker)
(cd "$T" && exec env --default-signal=INT,TERM "$AGENTRT" run --sandbox sandbox --ro-bind "$PROBE_DIR" --grace 2s --timeout 30s -- \
	sh -c 'trap "echo got-term; exit 143" TERM; sleep "30.$1" & wait' sh "$tm") >"$T/out" 2>"$T/err" &
bpid=$!
wait_for 10 sh -c "pgrep -f '^sleep 30.$tm' >/dev/null"
ok $? "the trapping task runs (its sleep is up)"
kill -TERM "$bpid"
wait_exit "$bpid" 10
waited=$?
wait "$bpid"
rc=$?
is "$waited/$rc/$(cat "$T/out")" "0/143/got-term" \
	"SIGTERM to agentrt: the task's TERM trap runs (got-term) and agentrt exits 143" || diag_outputs 5
no_survivors "$tm" "nothing of the task survives (its sleep is gone)"

done_testing
