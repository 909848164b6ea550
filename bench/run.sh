#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh [BUILD_DIR] [SECTION...] - agentrt against its peers, side by side.
#
# Sections (default: all of them, in this order):
#   spawn    bench/bench.py: throughput, memory per task, profile; builds
#            bench/ceiling.c into BUILD_DIR/bench/; report bench/out/latest.md
#   sandbox  bench/sandbox.py: sandbox start latency against bwrap and
#            unshare, workspace clone time; builds bench/sandbox_start.c
#            against BUILD_DIR/libagentrt.a; report bench/out/sandbox.md
#
# The Markdown reports go to stdout and to bench/out/, progress to stderr.
# BUILD_DIR (default: build/ next to bench/) holds the agentrt CLI and
# library; without them only the peers are measured (spawn) or the section
# is skipped (sandbox). `make bench` runs this with the absolute build
# directory. Settings come from the environment (BENCH_QUICK, BENCH_TASKS,
# BENCH_ROUNDS, BENCH_SANDBOX_RUNS, ...): see bench/README.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build
case ${1:-} in
spawn | sandbox | "") ;;
*) build=$1; shift ;;
esac
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
sections=${*:-spawn sandbox}
for s in $sections; do
	case $s in
	spawn | sandbox) ;;
	*) echo "bench: unknown section \"$s\" (spawn, sandbox)" >&2; exit 2 ;;
	esac
done

mkdir -p "$build/bench" "$here/out"
cc=${CC:-cc}
cflags="-std=gnu11 -O2 -Wall -Wextra"

for tool in python3 pgrep; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
# The interpreter itself, not a wrapper such as a pyenv shim (a shell
# script), so that the asyncio peer's start-up is Python's alone.
python=$(python3 -c 'import sys; print(sys.executable)')

status=0
for s in $sections; do
	case $s in
	spawn)
		$cc $cflags -o "$build/bench/ceiling" "$here/ceiling.c"
		command -v parallel >/dev/null || echo "bench: GNU parallel is missing (scripts/deps.sh installs it); skipping it" >&2
		command -v perf >/dev/null || echo "bench: perf is missing; the profile has no perf figures" >&2
		command -v strace >/dev/null || echo "bench: strace is missing; the profile has no syscall counts" >&2
		"$python" "$here/bench.py" --build "$build" --ceiling "$build/bench/ceiling" \
			--cc "$cc $cflags" --out "$here/out/latest.md" || status=$?
		;;
	sandbox)
		if [ ! -f "$build/libagentrt.a" ]; then
			echo "bench: $build/libagentrt.a is missing (run make): skipping the sandbox section" >&2
			continue
		fi
		libs=$(pkg-config --libs jansson libseccomp 2>/dev/null || echo "-ljansson -lseccomp")
		# shellcheck disable=SC2086
		$cc $cflags -I"$root/include" -o "$build/bench/sandbox_start" "$here/sandbox_start.c" \
			"$build/libagentrt.a" $libs -lpthread
		command -v bwrap >/dev/null || echo "bench: bwrap (bubblewrap) is missing; skipping it" >&2
		command -v strace >/dev/null || echo "bench: strace is missing; no syscall counts" >&2
		"$python" "$here/sandbox.py" --build "$build" --tool "$build/bench/sandbox_start" \
			--cc "$cc $cflags" --out "$here/out/sandbox.md" || status=$?
		;;
	esac
done
exit $status
