#!/usr/bin/env python3
"""bench/python/executor.py - agentrt's Python package against its peers,
side by side, in interleaved rounds (bench/README.md, "python"):

  - no-op round trip (submit -> result, one at a time) p50/p99, and
    throughput (N no-ops submitted at once): agentrt.Executor,
    concurrent.futures.ProcessPoolExecutor, pebble.ProcessPool;
  - cancel of a running call until its worker process is gone (/proc/PID),
    and timeout overshoot: agentrt.Executor, pebble.ProcessPool;
  - subprocess throughput: Runtime.spawn vs asyncio.create_subprocess_exec
    (N /bin/true).

Writes a Markdown report (--out) and prints it.
"""
import argparse
import asyncio
import concurrent.futures
import os
import select
import statistics
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(here)), "python"))

import agentrt  # noqa: E402
import work  # noqa: E402

try:
    import pebble
except ImportError:  # scripts/deps.sh installs python3-pebble
    pebble = None

Q = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = int(os.environ.get("BENCH_PY_ROUNDS", "2" if Q else "5"))
RT_N = int(os.environ.get("BENCH_PY_ROUNDTRIPS", "100" if Q else "400"))
TP_N = int(os.environ.get("BENCH_PY_THROUGHPUT", "500" if Q else "2000"))
KILLS = int(os.environ.get("BENCH_PY_KILLS", "2" if Q else "4"))
SP_N = int(os.environ.get("BENCH_PY_SPAWNS", "100" if Q else "300"))
WORKERS = int(os.environ.get("BENCH_PY_WORKERS", str(min(4, os.cpu_count() or 1))))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Pool:
    """One peer behind the same three calls."""

    def __init__(self, name):
        self.name = name
        if name == "agentrt":
            self.p = agentrt.Executor(WORKERS)
        elif name == "ProcessPoolExecutor":
            self.p = concurrent.futures.ProcessPoolExecutor(WORKERS)
        else:
            self.p = pebble.ProcessPool(max_workers=WORKERS)

    def submit(self, fn, *args, timeout=None):
        if self.name == "pebble":
            return self.p.schedule(fn, args=args, timeout=timeout)
        if timeout is not None:
            return self.p.submit_with(fn, args, timeout=timeout)
        return self.p.submit(fn, *args)

    def close(self):
        if self.name == "pebble":
            self.p.close()
            self.p.join()
        else:
            self.p.shutdown()


def warm(pool):
    for f in [pool.submit(work.noop, i) for i in range(WORKERS * 4)]:
        f.result()


def roundtrips(pool):
    lat = []
    for i in range(RT_N):
        t = time.perf_counter()
        pool.submit(work.noop, i).result()
        lat.append(time.perf_counter() - t)
    return lat


def throughput(pool):
    t = time.perf_counter()
    fs = [pool.submit(work.noop, i) for i in range(TP_N)]
    for f in fs:
        f.result()
    return TP_N / (time.perf_counter() - t)


def cancel_ms(pool, tmp):
    """(exited, reaped) ms after cancel() of a running call: exited when
    the worker's pidfd turns readable (it has died), reaped when its /proc
    entry is gone (its parent collected it). Both are waited for without
    spinning, which would take one of the 2 CPUs from the dying process."""
    out = []
    for k in range(KILLS):
        path = os.path.join(tmp, f"{pool.name}-{k}-{time.monotonic_ns()}")
        f = pool.submit(work.sleep_reporting_pid, path, 30)
        while not os.path.exists(path):
            time.sleep(0.001)
        pid = int(open(path).read())
        pidfd = os.pidfd_open(pid)
        time.sleep(0.02)
        t = time.perf_counter()
        ok = f.cancel()
        select.select([pidfd], [], [], 5)
        exited = time.perf_counter() - t
        os.close(pidfd)
        while os.path.exists(f"/proc/{pid}") and time.perf_counter() - t < 5:
            time.sleep(0.0001)
        reaped = time.perf_counter() - t
        out.append((exited * 1e3, reaped * 1e3) if ok else (float("nan"), float("nan")))
        warm(pool)  # a replacement is ready before the next measurement
    return out


def overshoot_ms(pool, tmp, timeout=0.1):
    out = []
    for k in range(KILLS):
        path = os.path.join(tmp, f"t-{pool.name}-{k}-{time.monotonic_ns()}")
        t = time.perf_counter()
        f = pool.submit(work.sleep_reporting_pid, path, 30, timeout=timeout)
        try:
            f.result()
        except (TimeoutError, concurrent.futures.TimeoutError):
            pass
        out.append((time.perf_counter() - t - timeout) * 1e3)
        warm(pool)
    return out


def spawn_rate(rt):
    t = time.perf_counter()
    tasks = [rt.spawn(["/bin/true"], stream=False) for _ in range(SP_N)]
    for task in tasks:
        task.wait()
    return SP_N / (time.perf_counter() - t)


def asyncio_rate():
    async def one():
        p = await asyncio.create_subprocess_exec("/bin/true")
        await p.wait()

    async def main():
        t = time.perf_counter()
        sem = asyncio.Semaphore(64)

        async def lim():
            async with sem:
                await one()
        await asyncio.gather(*(lim() for _ in range(SP_N)))
        return SP_N / (time.perf_counter() - t)
    return asyncio.run(main())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    a = ap.parse_args()
    names = ["agentrt", "ProcessPoolExecutor"] + (["pebble"] if pebble else [])
    if not pebble:
        print("bench: pebble is missing (scripts/deps.sh installs python3-pebble)", file=sys.stderr)
    lat = {n: [] for n in names}
    tp = {n: [] for n in names}
    kill = {n: [] for n in names if n != "ProcessPoolExecutor"}
    over = {n: [] for n in kill}
    sp = {"Runtime.spawn": [], "asyncio": []}
    tmp = tempfile.mkdtemp(prefix="agentrt-bench-py-")
    pools = {n: Pool(n) for n in names}
    rt = agentrt.Runtime(max_running=64)
    try:
        for p in pools.values():
            warm(p)
        for r in range(ROUNDS):
            print(f"bench: python round {r + 1}/{ROUNDS}", file=sys.stderr)
            order = names if r % 2 == 0 else names[::-1]
            for n in order:
                lat[n] += roundtrips(pools[n])
                tp[n].append(throughput(pools[n]))
                if n in kill:
                    kill[n] += cancel_ms(pools[n], tmp)
                    over[n] += overshoot_ms(pools[n], tmp)
            for n in (["Runtime.spawn", "asyncio"] if r % 2 == 0 else ["asyncio", "Runtime.spawn"]):
                sp[n].append(spawn_rate(rt) if n == "Runtime.spawn" else asyncio_rate())
    finally:
        for p in pools.values():
            p.close()
        rt.close()

    def ratio(x, y):
        return f"{x / y:.2f}×" if y else "-"

    med = statistics.median
    L = [f"# agentrt benchmark: python ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
         f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {WORKERS} workers, "
         f"{ROUNDS} interleaved rounds)", ""]
    L += ["## Executors: no-op round trip and throughput", "",
          "| Executor | round trip p50 (µs) | p99 (µs) | throughput (calls/s, median) |",
          "|---|---:|---:|---:|"]
    for n in names:
        L.append(f"| {n} | {pct(lat[n], 50) * 1e6:.0f} | {pct(lat[n], 99) * 1e6:.0f} | "
                 f"{med(tp[n]):.0f} |")
    L.append("")
    if kill:
        L += ["## Cancel of a running call, timeout overshoot", "",
              "| Executor | cancel → process exited p50 (ms) | max (ms) | "
              "→ reaped p50 (ms) | max (ms) | timeout overshoot p50 (ms) | max (ms) |",
              "|---|---:|---:|---:|---:|---:|---:|"]
        for n in kill:
            ex_ms = [e for e, _ in kill[n]]
            re_ms = [r for _, r in kill[n]]
            L.append(f"| {n} | {med(ex_ms):.2f} | {max(ex_ms):.2f} | {med(re_ms):.2f} | "
                     f"{max(re_ms):.2f} | {med(over[n]):.2f} | {max(over[n]):.2f} |")
        L.append("")
    L += ["## Subprocesses: N `/bin/true`", "",
          "| | tasks/s (median) |", "|---|---:|"]
    for n in sp:
        L.append(f"| {n} | {med(sp[n]):.0f} |")
    L.append("")
    L += ["## Targets", "", "| Target | Measured | |", "|---|---|---|"]

    def row(what, measured, ok):
        L.append(f"| {what} | {measured} | {'met' if ok else 'missed'} |")
    a50 = pct(lat["agentrt"], 50)
    if pebble:
        p50 = pct(lat["pebble"], 50)
        row("round trip ≤ 0.5× pebble's", f"{ratio(a50, p50)} ({a50 * 1e6:.0f} vs "
            f"{p50 * 1e6:.0f} µs p50)", a50 <= 0.5 * p50)
        row("throughput ≥ 2× pebble's", f"{ratio(med(tp['agentrt']), med(tp['pebble']))}",
            med(tp["agentrt"]) >= 2 * med(tp["pebble"]))
    ppe = pct(lat["ProcessPoolExecutor"], 50)
    L.append(f"| (round trip against ProcessPoolExecutor) | {ratio(a50, ppe)} | |")
    L.append(f"| (throughput against ProcessPoolExecutor) | "
             f"{ratio(med(tp['agentrt']), med(tp['ProcessPoolExecutor']))} | |")
    ex_ms = [e for e, _ in kill["agentrt"]]
    re_ms = [r for _, r in kill["agentrt"]]
    row("cancel ≤ 5 ms (until the worker has exited)",
        f"{med(ex_ms):.2f} ms p50, {max(ex_ms):.2f} max; reaped {med(re_ms):.2f} ms p50",
        med(ex_ms) <= 5)
    row("timeout overshoot ≤ 5 ms", f"{med(over['agentrt']):.2f} ms p50, "
        f"{max(over['agentrt']):.2f} max", med(over["agentrt"]) <= 5)
    row("subprocess throughput ≥ 2× asyncio's",
        ratio(med(sp["Runtime.spawn"]), med(sp["asyncio"])),
        med(sp["Runtime.spawn"]) >= 2 * med(sp["asyncio"]))
    L.append("")
    text = "\n".join(L)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
