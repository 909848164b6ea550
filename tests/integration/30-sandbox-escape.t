#!/usr/bin/env bash
# agentrt run --sandbox sandbox: the escape suite. Every attempt of the
# escape program (tests/escape.c, built as build/escape) runs as a task in
# the sandbox and must be stopped, either by the kernel (the program prints
# "blocked: ..." and exits 0) or by the seccomp filter (the runtime kills the
# task: the record's "end" field, or "status" where there is no "end", is
# "seccomp", "syscall" names the call, exit status 159). Then the
# host is checked: the sleeper the attempts aimed at still lives, the
# hostname is unchanged, nothing was written to /etc, /usr or the read-only
# bind, the listener on 127.0.0.1 saw no connection.
#
# Run as root, the suite runs twice: as root (the sandbox's root is then
# uid 65534 outside) and as the unprivileged user agentrt-test, if it exists.
#
# This test does not skip when the sandbox cannot start: user namespaces
# are available wherever this suite runs, so a sandbox that fails to start
# is a broken sandbox, and the test fails.
# shellcheck source-path=SCRIPTDIR source=lib.sh
# shellcheck disable=SC2034  # the table's arguments use variables through eval
. "$(dirname "$0")/lib.sh"
require_binaries
: "${ESCAPE:=$_root_dir/build/escape}"
[ -x "$ESCAPE" ] || bail_out "escape suite not built: $ESCAPE (make build/escape)"
# Attempts run from other directories (cwd_escape): absolute paths only.
case $AGENTRT in /*) ;; *) AGENTRT=$PWD/$AGENTRT ;; esac
case $ESCAPE in /*) ;; *) ESCAPE=$PWD/$ESCAPE ;; esac

TEST_USER=agentrt-test

# ---------------------------------------------------------------------------
# The attempts: name, accepted outcomes, a regex the "blocked:" line must
# match (- for any), a fixture the attempt needs (- for none), and its
# arguments (evaluated when it runs, so they may name the fixtures below).
#
# Outcomes, comma-separated when several are fine:
#   blocked          exit 0 and stdout "blocked: NAME: ..."
#   seccomp:CALL     the runtime ended the task for system call CALL
#   signaled:SIG     the task died of SIG (kill_all may take itself down)
# Regexes have no spaces (use . for one).
ATTEMPTS=$(
	cat <<'EOF'
write_root         blocked                   EROFS                    -     "$mark"
write_usr          blocked                   EROFS                    -     "$mark"
read_shadow        blocked                   EACCES|ENOENT            -
read_root_home     blocked                   -                        root  "$mark"
read_home          blocked                   -                        root  "$mark"
write_ro_bind      blocked                   EROFS                    -     "$RO"
remount_rw         seccomp:mount             -                        -     "$RO"
mount_tmpfs        seccomp:mount             -                        -
umount_proc        seccomp:umount2           -                        -
symlink_bind       blocked                   link:.*EROFS.*rel:.*EROFS.*writable:.yes - "$RW" "agentrt-escape-$mark"
write_sys          blocked                   -                        -
write_proc_sys     blocked                   -                        -
mknod_dev          blocked                   -                        -
chroot_escape      blocked                   -                        -     "$mark"
root_flags         blocked                   -                        -
rw_mounts          blocked                   -                        -     "$RW"
cgroup_escape      blocked                   -                        -     $cgprocs
see_host_procs     blocked                   -                        -     "$nummark"
proc1_root         blocked                   -                        -     "$mark"
proc_cwd           blocked                   -                        -     "$mark"
cwd_escape         blocked                   -                        -     "$mark"
dev_shm            blocked                   -                        shm   "$mark"
ipc_host           blocked                   EINVAL                   ipc   "$shmid"
kill_host          blocked                   ESRCH                    -     "$sleeper"
kill_all           blocked,signaled:SIGKILL  -                        -
ptrace_host        seccomp:ptrace            -                        -     "$sleeper"
ptrace_child       seccomp:ptrace            -                        -
process_vm_readv   seccomp:process_vm_readv  -                        -
proc_mem_init      blocked                   -                        -
steal_init_fds     blocked,seccomp:pidfd_getfd EPERM                  -
leaked_fds         blocked                   -                        -
init_fds           blocked                   -                        -
connect_host_port  blocked                   ECONNREFUSED|ENETUNREACH -     "$port"
abstract_unix      blocked                   ECONNREFUSED             -     "$sock"
net_ifaces         blocked                   -                        -
raw_socket         blocked                   -                        -
unshare_userns     seccomp:unshare           -                        -
unshare_ns         blocked,seccomp:unshare   EPERM                    -
clone_userns       seccomp:clone             -                        -
clone3_userns      blocked                   ENOSYS                   -
setns_host         seccomp:setns,blocked     -                        -     "$sleeper"
sethostname_host   blocked                   -                        -     "$newhost"
caps               blocked                   -                        -
no_new_privs       blocked                   -                        -
seccomp_on         blocked                   -                        -
uid_map            blocked                   -                        -     "$outside_uid"
setuid_gain        blocked                   euid.stayed              root  "$SUID/escape-suid"
exec_caps          blocked                   euid.stayed              -
overwrite_exe      blocked                   -                        -
settime            seccomp:clock_settime     -                        -
settimeofday       seccomp:settimeofday      -                        -
init_module        seccomp:init_module       -                        -
finit_module       seccomp:finit_module      -                        -
kexec_load         seccomp:kexec_load        -                        -
reboot             seccomp:reboot            -                        -
swapon             seccomp:swapon            -                        -
swapoff            seccomp:swapoff           -                        -
acct               seccomp:acct              -                        -
open_by_handle_at  seccomp:open_by_handle_at -                        -
keyctl             seccomp:keyctl            -                        -
add_key            seccomp:add_key           -                        -
request_key        seccomp:request_key       -                        -
bpf                seccomp:bpf               -                        -
perf_event_open    seccomp:perf_event_open   -                        -
userfaultfd        seccomp:userfaultfd       -                        -
syslog             seccomp:syslog            -                        -
open_dev_mem       blocked                   -                        -
open_dev_kmsg      blocked                   -                        -
dev_nodes          blocked                   -                        -
read_kcore         blocked                   -                        -
proc_masked        blocked                   -                        -
write_sysrq        blocked                   -                        -
tiocsti            blocked,seccomp:ioctl     -                        -
EOF
)
n_attempts=$(grep -c . <<<"$ATTEMPTS")
HOST_CHECKS=5
plan $((1 + 2 * (1 + n_attempts + HOST_CHECKS)))

is "$(awk '{print $1}' <<<"$ATTEMPTS" | sort)" "$("$ESCAPE" --list | sort)" \
	"the table names every attempt of escape --list, and only those"

# ---------------------------------------------------------------------------
# Fixtures on the host.
mark=$(new_marker)         # file names: /tmp/MARK, /root/MARK, /etc/agentrt-escape-MARK...
nummark=$(new_num_marker)  # in the sleeper's command line
sock="agentrt-escape-$mark"
newhost="escape-$mark"
host0=$(cat /proc/sys/kernel/hostname)
RW=$T/rw                   # --bind: planted symlinks
RO=$T/ro                   # --ro-bind: must stay empty
SUID=$T/suid               # --ro-bind: a setuid-root copy of the escape program
shmid=""
sleeper=""
listener=""
have_root="" have_ipc="" have_shm=""

cleanup_fixtures() {
	[ -n "$sleeper" ] && kill -KILL "$sleeper" 2>/dev/null
	[ -n "$listener" ] && kill -KILL "$listener" 2>/dev/null
	rm -f "/tmp/$mark" "/dev/shm/$mark" 2>/dev/null
	if is_root; then
		rm -f "/root/$mark" "/home/$mark" "/etc/agentrt-escape-$mark" "/usr/agentrt-escape-$mark"
		# A sandbox that let sethostname through: put the name back.
		if [ "$(cat /proc/sys/kernel/hostname)" != "$host0" ]; then
			echo "$host0" >/proc/sys/kernel/hostname 2>/dev/null
		fi
	fi
	[ -n "$shmid" ] && ipcrm -m "$shmid" 2>/dev/null
	return 0
}
trap 'rc=$?; cleanup_fixtures; (exit $rc); _lib_cleanup' EXIT

for f in "/etc/agentrt-escape-$mark" "/usr/agentrt-escape-$mark" "/tmp/$mark"; do
	[ -e "$f" ] && bail_out "fixture: $f exists already"
done

mkdir -p "$RW" "$RO" "$SUID" || bail_out "fixture: mkdir in $T"
# World-writable, so that only the sandbox stops a write there, whoever runs.
chmod 777 "$RW" "$RO"
ln -s /etc "$RW/link"
ln -s ../../../../../etc "$RW/rel"
touch "/tmp/$mark" || bail_out "fixture: cannot create /tmp/$mark"
if [ -d /dev/shm ] && touch "/dev/shm/$mark" 2>/dev/null; then
	have_shm=1
fi
if is_root; then
	touch "/root/$mark" "/home/$mark" &&
		install -m 4755 -o root -g root "$ESCAPE" "$SUID/escape-suid" &&
		have_root=1
fi
if command -v ipcmk >/dev/null 2>&1; then
	shmid=$(ipcmk -M 4096 2>/dev/null | grep -o '[0-9]*$')
	[ -n "$shmid" ] && have_ipc=1
fi

# Host cgroups an attempt tries to move itself into: this script's own.
cgprocs=""
while IFS=: read -r _ ctrl path; do
	case $ctrl in
	"") f=/sys/fs/cgroup$path/cgroup.procs ;;
	*memory* | *pids*) f=/sys/fs/cgroup/${ctrl#name=}$path/cgroup.procs ;;
	*) continue ;;
	esac
	f=${f//\/\//\/}
	[ -f "$f" ] && cgprocs="$cgprocs $f"
done </proc/self/cgroup

# A process of the host (kill_host, ptrace_host, setns_host, see_host_procs).
sleep "1000.$nummark" &
sleeper=$!
disown

# A listener on 127.0.0.1 (a free port) and on an abstract unix socket; it
# logs every connection to $T/conns.
_py -c '
import os, select, socket, sys
port_file, log, name = sys.argv[1:4]
t = socket.socket()
t.bind(("127.0.0.1", 0))
t.listen(16)
u = socket.socket(socket.AF_UNIX)
u.bind("\0" + name)
u.listen(16)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % t.getsockname()[1])
os.rename(port_file + ".tmp", port_file)
while True:
    for s in select.select([t, u], [], [])[0]:
        c, _ = s.accept()
        with open(log, "a") as f:
            f.write("connection on %s\n" % ("tcp" if s is t else "unix"))
        try:
            c.sendall(b"HOST-LISTENER\n")
        except OSError:
            pass
        c.close()
' "$T/port" "$T/conns" "$sock" "$mark" &
listener=$!
disown
wait_for 10 test -s "$T/port" || bail_out "fixture: the listener did not start"
port=$(cat "$T/port")
# The listener answers on the host (so a refused connection in the sandbox
# means something); this one connection is then forgotten.
banner=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$port"'; head -n1 <&3' 2>/dev/null)
[ "$banner" = HOST-LISTENER ] || bail_out "fixture: the listener on port $port does not answer"
: >"$T/conns"
kill -0 "$sleeper" 2>/dev/null || bail_out "fixture: the sleeper did not start"

# ---------------------------------------------------------------------------
# The escape program's directory is bound too: a checkout under /tmp is
# hidden by the sandbox's private /tmp.
ESCAPE_DIR=$(cd "$(dirname "$ESCAPE")" && pwd -P)
SB=(--sandbox sandbox --timeout 20s --bind "$RW" --ro-bind "$RO" --ro-bind "$SUID"
	--ro-bind "$ESCAPE_DIR")

# How the last artc ended: blocked, escaped, seccomp:CALL, signaled:SIG,
# hung, or other(...).
outcome_of() {
	local name=$1 rec end sys status sig
	if [ "$ART_HUNG" = 1 ]; then
		echo hung
		return
	fi
	rec=$(json_record)
	printf '%s\n' "$rec" >"$T/rec"
	IFS=$'\t' read -r end sys status sig < <(records "$T/rec" end syscall status signal)
	# "end" is the field the sandbox adds; before it, "status" said it.
	[ -z "$end" ] || [ "$end" = "<absent>" ] && end=$status
	if [ "$end" = seccomp ]; then
		if [ "$ART_RC" = 159 ]; then
			echo "seccomp:$sys"
		else
			echo "seccomp:$sys(exit-status-$ART_RC-not-159)"
		fi
		return
	fi
	case $OUT in
	"blocked: $name: "*)
		if [ "$ART_RC" = 0 ]; then
			echo blocked
			return
		fi
		;;
	"ESCAPED: "* | *$'\n'"ESCAPED: "*)
		echo escaped
		return
		;;
	esac
	if [ "$status" = signaled ]; then
		echo "signaled:$sig"
		return
	fi
	echo "other(exit-status-$ART_RC,end-${end:-none})"
}

# run_attempt WHO NAME OUTCOMES REGEX ARGS...: one test.
run_attempt() {
	local who=$1 name=$2 want=$3 re=$4 got here=$PWD cwd=()
	shift 4
	# The attempts that look at their working directory run in the rw
	# bind, a directory under the host's /tmp (where the marker is), both
	# as agentrt's own cwd and as --cwd; the others from /.
	case $name in
	cwd_escape | proc_cwd)
		cd "$RW" || return 1
		cwd=(--cwd "$RW")
		;;
	*) cd / || return 1 ;;
	esac
	artc run --json "${SB[@]}" "${cwd[@]}" -- "$ESCAPE" "$name" "$@"
	cd "$here" || return 1
	got=$(outcome_of "$name")
	if [[ ",$want," != *",$got,"* ]]; then
		ok 1 "$who: $name: $got (want $want)"
		diag_outputs 5
		return 1
	fi
	if [ "$got" = blocked ] && [ "$re" != - ] && ! [[ $OUT =~ $re ]]; then
		ok 1 "$who: $name: blocked, but not as expected (want /$re/)"
		diag "$OUT"
		return 1
	fi
	if [ "$got" = blocked ]; then
		got=${OUT#blocked: "$name": }
		[ "${#got}" -gt 160 ] && got="${got:0:157}..."
		ok 0 "$who: $name: $got"
	else
		ok 0 "$who: $name: $got"
	fi
}

host_checks() {
	local who=$1 left
	ok "$(kill -0 "$sleeper" 2>/dev/null && echo 0 || echo 1)" \
		"$who: the host's sleeper (pid $sleeper) is alive"
	is "$(cat /proc/sys/kernel/hostname)" "$host0" "$who: the host's hostname is unchanged"
	left=$(ls -d "/etc/agentrt-escape-$mark" "/usr/agentrt-escape-$mark" 2>/dev/null)
	is "$left" "" "$who: nothing was created in the host's /etc and /usr"
	is "$(ls -A "$RO")" "" "$who: the read-only bind is still empty"
	is "$(cat "$T/conns")" "" "$who: the host's listener saw no connection"
}

# run_suite WHO: the trial, every attempt, the host checks.
run_suite() {
	local who=$1 name want re needs args
	# The sandbox must start. A failure here fails the test, on purpose: it
	# must not pass as a skip on a machine where the sandbox is broken.
	artc run --json --sandbox sandbox -- true
	if [ "$ART_RC" != 0 ]; then
		ok 1 "$who: agentrt run --sandbox sandbox -- true starts and exits 0"
		diag "the sandbox does not work here: every escape attempt is skipped"
		diag_outputs 5
		skip $((n_attempts + HOST_CHECKS)) "the sandbox did not start"
		return
	fi
	ok 0 "$who: agentrt run --sandbox sandbox -- true starts and exits 0"
	while read -r name want re needs args; do
		case $needs in
		root) [ -n "$have_root" ] || { skip 1 "$name: the fixture needs root"; continue; } ;;
		ipc) [ -n "$have_ipc" ] || { skip 1 "$name: ipcmk is not installed"; continue; } ;;
		shm) [ -n "$have_shm" ] || { skip 1 "$name: no writable /dev/shm on the host"; continue; } ;;
		esac
		eval "set -- $args"
		run_attempt "$who" "$name" "$want" "$re" "$@"
	done <<<"$ATTEMPTS"
	host_checks "$who"
}

# ---------------------------------------------------------------------------
# Pass 1: as the caller. The sandbox's root is the caller's uid outside, or
# 65534 when the caller is root.
who=$(id -un)
outside_uid=$(id -u)
is_root && outside_uid=65534
run_suite "$who"

# Pass 2: as root, again as the unprivileged $TEST_USER (with the fixtures
# root made: the setuid copy, the markers in /root and /home).
why=""
if ! is_root; then
	why="the test does not run as root"
elif ! test_uid=$(id -u "$TEST_USER" 2>/dev/null); then
	why="no user $TEST_USER"
elif ! command -v setpriv >/dev/null 2>&1 && ! command -v runuser >/dev/null 2>&1; then
	why="neither setpriv nor runuser is installed"
else
	test_gid=$(id -g "$TEST_USER")
	# setpriv execs agentrt in place (runuser stays in between), so the
	# test's guard signals agentrt itself.
	if command -v setpriv >/dev/null 2>&1; then
		as_user=(setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups --)
	else
		as_user=(runuser -u "$TEST_USER" --)
	fi
	{
		echo "#!$BASH"
		printf 'exec'
		printf ' %q' "${as_user[@]}" "$AGENTRT"
		printf ' "$@"\n'
	} >"$T/as-user"
	chmod 755 "$T/as-user"
	# shellcheck disable=SC2016  # $1.. belong to sh -c
	if ! "${as_user[@]}" \
		sh -c 'test -x "$1" && test -x "$2" && test -r "$2" && test -w "$3"' \
		sh "$AGENTRT" "$ESCAPE" "$RW" 2>/dev/null; then
		why="$TEST_USER cannot run $AGENTRT and $ESCAPE (directory permissions?)"
	elif ! "$T/as-user" run -- true >/dev/null 2>&1; then
		why="$TEST_USER cannot run agentrt at all (agentrt run -- true fails)"
	fi
fi
if [ -n "$why" ]; then
	skip $((1 + n_attempts + HOST_CHECKS)) "no unprivileged pass: $why"
else
	real_agentrt=$AGENTRT
	AGENTRT=$T/as-user
	outside_uid=$test_uid
	run_suite "$TEST_USER"
	AGENTRT=$real_agentrt
fi

done_testing
