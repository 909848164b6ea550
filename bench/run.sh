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
#   sched    bench/sched_bench.c: the scheduler's queue operations with 10^2,
#            10^4 and 10^6 tasks queued (ns per operation); bench/out/sched.md
#   metrics  bench/metrics_bench.c: the cost of recording one observation
#            (counter, gauge, histogram, summary); bench/out/metrics.md
#   mixed    bench/mixed/mixed.py: a mixed workload (CPU-bound, memory-heavy,
#            sleep/IO-bound tasks from a seed): agentrt's admission against
#            GNU parallel's -j sweep and a fixed -j, in a memory-limited
#            cgroup (needs root and the cgroup v1 memory controller); builds
#            bench/mixed/work.c into BUILD_DIR/bench/; report bench/out/mixed.md
#   python   bench/python/executor.py: agentrt.Executor against
#            ProcessPoolExecutor and pebble (round trip, throughput, cancel,
#            timeout overshoot), Runtime.spawn against asyncio subprocesses;
#            builds the extension (make python); report bench/out/python.md
#
# The Markdown reports go to stdout and to bench/out/, progress to stderr.
# BUILD_DIR (default: build/ next to bench/) holds the agentrt CLI and
# library; without them only the peers are measured (spawn) or the section
# is skipped (sandbox). `make bench` runs this with the absolute build
# directory. Settings come from the environment (BENCH_QUICK, BENCH_TASKS,
# BENCH_ROUNDS, BENCH_SANDBOX_RUNS, BENCH_MIXED_*, ...): see bench/README.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build
case ${1:-} in
spawn | sandbox | mixed | sched | metrics | python | "") ;;
*) build=$1; shift ;;
esac
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
sections=${*:-spawn sandbox mixed sched metrics python}
for s in $sections; do
	case $s in
	spawn | sandbox | mixed | sched | metrics | python) ;;
	*) echo "bench: unknown section \"$s\" (spawn, sandbox, mixed, sched, metrics, python)" >&2; exit 2 ;;
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
	mixed)
		# shellcheck disable=SC2086
		$cc $cflags -o "$build/bench/work" "$here/mixed/work.c"
		command -v parallel >/dev/null || echo "bench: GNU parallel is missing (scripts/deps.sh installs it); skipping it" >&2
		[ -x "$build/agentrt" ] || echo "bench: $build/agentrt is missing (run make); measuring GNU parallel only" >&2
		"$python" "$here/mixed/mixed.py" --build "$build" --work "$build/bench/work" \
			--out "$here/out/mixed.md" || status=$?
		;;
	python)
		# Debian's interpreter: the one the extension is built for (make python).
		py=${PYTHON:-/usr/bin/python3}
		if ! make -s -C "$root" python PYTHON="$py" >&2; then
			echo "bench: the Python extension does not build (make python): skipping the python section" >&2
			continue
		fi
		"$py" -c 'import pebble' 2>/dev/null || echo "bench: pebble is missing (scripts/deps.sh installs python3-pebble); skipping it" >&2
		"$py" "$here/python/executor.py" --out "$here/out/python.md" || status=$?
		;;
	sched | metrics)
		# Micro-benchmarks of the library's internals: built against the
		# headers under src/, a Markdown table on stdout.
		if [ ! -f "$build/libagentrt.a" ]; then
			echo "bench: $build/libagentrt.a is missing (run make): skipping the $s section" >&2
			continue
		fi
		libs=$(pkg-config --libs jansson libseccomp 2>/dev/null || echo "-ljansson -lseccomp")
		# shellcheck disable=SC2086
		$cc $cflags -D_GNU_SOURCE -I"$root/include" -I"$root/src" -o "$build/bench/${s}_bench" \
			"$here/${s}_bench.c" "$build/libagentrt.a" $libs -lpthread -lm
		{
			echo "# agentrt benchmark: $s ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs)"
			echo
			"$build/bench/${s}_bench"
		} | tee "$here/out/$s.md" || status=$?
		;;
	esac
done
exit $status
