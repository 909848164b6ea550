#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh [BUILD_DIR] - agentrt against its peers, side by side.
#
# Builds bench/ceiling.c into BUILD_DIR/bench/, then runs bench/bench.py:
# the Markdown report goes to stdout and to bench/out/latest.md, progress to
# stderr. BUILD_DIR (default: build/ next to bench/) holds the agentrt CLI;
# without it only the peers are measured. `make bench` runs this with the
# absolute build directory. Settings come from the environment (BENCH_QUICK,
# BENCH_TASKS, BENCH_ROUNDS, ...): see bench/README.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac

mkdir -p "$build/bench" "$here/out"
cc=${CC:-cc}
cflags="-std=gnu11 -O2 -Wall -Wextra"
$cc $cflags -o "$build/bench/ceiling" "$here/ceiling.c"

for tool in python3 pgrep; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
command -v parallel >/dev/null || echo "bench: GNU parallel is missing (scripts/deps.sh installs it); skipping it" >&2
command -v perf >/dev/null || echo "bench: perf is missing; the profile has no perf figures" >&2
command -v strace >/dev/null || echo "bench: strace is missing; the profile has no syscall counts" >&2

# The interpreter itself, not a wrapper such as a pyenv shim (a shell
# script), so that the asyncio peer's start-up is Python's alone.
python=$(python3 -c 'import sys; print(sys.executable)')

exec "$python" "$here/bench.py" --build "$build" --ceiling "$build/bench/ceiling" \
	--cc "$cc $cflags" --out "$here/out/latest.md"
