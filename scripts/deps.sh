#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing agentrt need,
# when they are missing. As root it uses apt-get; otherwise it prints the
# command to run. Called by `make demo` and `make check`.
set -eu

# Build: compiler, pkg-config, JSON. Tests: prove (perl), python3, procps
# (ps/pgrep to look for survivors), util-linux (script for a terminal),
# valgrind, iproute2 (ip, ss inside sandboxes). seccomp filters: libseccomp.
# The CLI's metrics endpoint: libmicrohttpd; promtool (prometheus) checks it.
# Benchmarks: GNU parallel and bubblewrap (peers we measure against).
# The Python package (python/): headers, setuptools, pytest and mypy (its
# types are checked) for Debian's python3; pebble: the peer of
# agentrt.Executor in bench/python/.
pkgs="gcc make pkg-config libjansson-dev libseccomp-dev libmicrohttpd-dev perl python3 procps util-linux valgrind parallel bubblewrap iproute2 prometheus python3-dev python3-setuptools python3-pytest python3-mypy python3-pebble"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "agentrt: missing packages:$missing" >&2
	echo "agentrt: run: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "agentrt: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# A stale package list makes installs fail on a fresh machine; refresh once.
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $missing >/dev/null
}
