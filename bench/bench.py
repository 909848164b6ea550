#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench.py - agentrt against its peers, side by side. Driven by bench/run.sh.

    bench.py --build DIR --ceiling PATH [--out FILE]

1. Throughput: N /bin/true tasks at each -j, for every contender, interleaved
   (each round runs every contender once per -j, the order rotating from one
   round to the next); the median over rounds is reported.
2. Memory per running task: VmRSS of `agentrt batch -j N` holding N `sleep`
   tasks at once, minus the same with 1 task, divided by N.
3. Profile: perf stat, strace -c and perf record of agentrt and the ceiling.
4. Targets, judged from the measured figures.

The Markdown report goes to stdout and to --out; progress goes to stderr.
Environment (all optional):
  BENCH_QUICK=1           a smoke test: 2,000 tasks, 1 round, 1,000 sleeping
  BENCH_TASKS=N           tasks per throughput run (20000)
  BENCH_PARALLEL_TASKS=N  tasks per GNU parallel run (2000: it is slow)
  BENCH_ROUNDS=R          rounds (5)
  BENCH_JOBS="2 16 64"    the -j values
  BENCH_MEM_TASKS=N       tasks held at once for the memory figure (10000)
  BENCH_MEM_SLEEP=S       seconds each of those sleeps (4; doubled up to
                          twice when not all N were seen running at once)
  BENCH_PROFILE=0         skip the profile
  BENCH_PROFILE_TASKS=N   tasks per profiled run (5000)
  BENCH_ONLY=LIST         comma list of sections: throughput,memory,profile
  BENCH_MAX_OTHER=F       a timed run during which other processes used more
                          than this share of the CPUs (0.25) is run again,
  BENCH_RETRIES=K         at most K times (3; 0 in quick mode)
  BENCH_QUIET_WAIT=S      before each timed run, wait up to S seconds (10;
                          0 in quick mode) for other processes to use under
                          15% of the CPUs: the machine may be shared
"""
import argparse
import hashlib
import json
import os
import platform
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def env_int(name, default):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        sys.exit("bench: %s=%r is not a number" % (name, v))
    if n < 1:
        sys.exit("bench: %s must be at least 1" % name)
    return n


class Config:
    def __init__(self):
        quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        self.quick = quick
        self.tasks = env_int("BENCH_TASKS", 2000 if quick else 20000)
        self.parallel_tasks = env_int("BENCH_PARALLEL_TASKS",
                                      min(self.tasks, 200 if quick else 2000))
        self.rounds = env_int("BENCH_ROUNDS", 1 if quick else 5)
        jobs = os.environ.get("BENCH_JOBS", "2 16 64").replace(",", " ").split()
        try:
            self.jobs = [int(j) for j in jobs]
        except ValueError:
            sys.exit("bench: BENCH_JOBS=%r is not a list of numbers" % jobs)
        self.mem_tasks = env_int("BENCH_MEM_TASKS", 1000 if quick else 10000)
        self.mem_sleep = env_int("BENCH_MEM_SLEEP", 4)
        self.profile = os.environ.get("BENCH_PROFILE", "1") not in ("", "0")
        self.profile_tasks = env_int("BENCH_PROFILE_TASKS",
                                     min(self.tasks, 1000 if quick else 5000))
        # Before each timed run, wait up to this many seconds for other
        # processes to leave the CPUs alone (0: never wait).
        self.quiet_wait = float(os.environ.get("BENCH_QUIET_WAIT", "0" if quick else "10"))
        # A timed run during which other processes used more than this
        # share of the CPUs is run again, at most BENCH_RETRIES times.
        self.max_other = float(os.environ.get("BENCH_MAX_OTHER", "0.25"))
        self.retries = int(os.environ.get("BENCH_RETRIES", "0" if quick else "3"))
        only = os.environ.get("BENCH_ONLY", "")
        self.sections = set(s.strip() for s in only.split(",") if s.strip()) or {
            "throughput", "memory", "profile"}
        if not self.profile:
            self.sections.discard("profile")


# ------------------------------------------------------------------ running

class RunResult:
    def __init__(self):
        self.rc = None
        self.secs = None
        self.self_cpu = None      # seconds: the launcher process (all its threads)
        self.children_cpu = None  # seconds: the children it reaped
        self.timed_out = False
        self.stderr_tail = ""
        self.foreign = None  # share of all CPUs busy with other work meanwhile
        self.steal = None    # share of all CPUs stolen by the hypervisor
        self.quiet = None    # whether the machine was quiet when it started


def proc_stat_fields(pid):
    """(state, ppid, utime, stime, cutime, cstime) from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        s = f.read()
    rest = s[s.rindex(b")") + 2:].split()
    # rest[0] is field 3 (state); utime is field 14.
    return (rest[0].decode(), int(rest[1]), int(rest[11]), int(rest[12]),
            int(rest[13]), int(rest[14]))


def cpu_jiffies():
    """(busy, steal) jiffies of all CPUs together, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice
    return v[0] + v[1] + v[2] + v[5] + v[6], v[7]


NCPU = os.cpu_count() or 1


QUIET_WAIT = 0.0  # set from BENCH_QUIET_WAIT


def wait_for_quiet(max_wait, threshold=0.15, window=0.5):
    """On a shared machine, waits (at most max_wait seconds) until other
    processes use under `threshold` of all CPUs over a `window`."""
    deadline = time.perf_counter() + max_wait
    while True:
        b0, _ = cpu_jiffies()
        time.sleep(window)
        b1, _ = cpu_jiffies()
        if (b1 - b0) / CLK_TCK / (window * NCPU) < threshold:
            return True
        if time.perf_counter() >= deadline:
            return False


def stop_process(p):
    """A hung contender: SIGTERM (agentrt then stops its tasks), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            p.wait(wait)
            return
        except subprocess.TimeoutExpired:
            pass


def run_timed(argv, stdin_path, timeout, stdout_path=None):
    """Runs argv once; wall time from just before the spawn to the child's
    exit. The child is waited for with WNOWAIT first so that its own CPU
    time (and its children's) can be read from /proc while it is a zombie."""
    r = RunResult()
    if QUIET_WAIT > 0:
        r.quiet = wait_for_quiet(QUIET_WAIT)
    errf = tempfile.TemporaryFile()
    outf = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    with open(stdin_path or "/dev/null", "rb") as inf:
        busy0, steal0 = cpu_jiffies()
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=inf, stdout=outf, stderr=errf)
        # A pidfd becomes readable when the child exits: the harness sleeps
        # in poll() meanwhile and takes no CPU from the contender.
        pfd = os.pidfd_open(p.pid)
        poller = select.poll()
        poller.register(pfd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            r.timed_out = True
            stop_process(p)
        os.close(pfd)
        if not r.timed_out:
            os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
        t1 = time.perf_counter()
        busy1, steal1 = cpu_jiffies()
    if not r.timed_out:
        try:
            _, _, ut, st, cut, cst = proc_stat_fields(p.pid)
            r.self_cpu = (ut + st) / CLK_TCK
            r.children_cpu = (cut + cst) / CLK_TCK
        except (OSError, ValueError, IndexError):
            pass
        p.wait()
        r.secs = t1 - t0
        cap = r.secs * NCPU
        if r.self_cpu is not None and cap > 0:
            mine = r.self_cpu + r.children_cpu
            r.foreign = max(0.0, ((busy1 - busy0) / CLK_TCK - mine) / cap)
            r.steal = (steal1 - steal0) / CLK_TCK / cap
    r.rc = p.returncode
    if outf is not subprocess.DEVNULL:
        outf.close()
    errf.seek(0)
    r.stderr_tail = errf.read()[-2000:].decode(errors="replace")
    errf.close()
    return r


# ------------------------------------------------------------------ contenders

class Contender:
    def __init__(self, key, label, tasks, argv_fn, stdin_key, note=""):
        self.key = key
        self.label = label
        self.tasks = tasks
        self.argv_fn = argv_fn  # j -> argv
        self.stdin_key = stdin_key
        self.note = note


def write_lines(path, line, n):
    with open(path, "w") as f:
        f.write((line + "\n") * n)


def shell_quote(a):
    if re.fullmatch(r"[A-Za-z0-9_./:=,+-]+", a):
        return a
    return "'" + a.replace("'", "'\\''") + "'"


def command_line(argv, stdin_path):
    s = " ".join(shell_quote(a) for a in argv)
    if stdin_path:
        s += " < " + stdin_path
    return s


SPEC_CAPTURE = '{"cmd":["/bin/true"]}'
SPEC_DISCARD = '{"cmd":["/bin/true"],"output":{"stdout":"discard","stderr":"discard"}}'


def make_contenders(cfg, agentrt, ceiling, python, have):
    n, np_ = cfg.tasks, cfg.parallel_tasks
    cs = []
    if agentrt:
        cs.append(Contender(
            "agentrt", "agentrt batch (capture, default)", n,
            lambda j: [agentrt, "batch", "-j", str(j), "--no-progress", "-o", "/dev/null"],
            "capture"))
        cs.append(Contender(
            "agentrt-discard", "agentrt batch (output discard)", n,
            lambda j: [agentrt, "batch", "-j", str(j), "--no-progress", "-o", "/dev/null"],
            "discard"))
    cs.append(Contender(
        "ceiling", "C ceiling (posix_spawn + waitpid)", n,
        lambda j: [ceiling, "-q", "-j", str(j), "-n", str(n)], None))
    cs.append(Contender(
        "asyncio", "Python asyncio (pidfd watcher)", n,
        lambda j: [python, os.path.join(HERE, "asyncio_spawn.py"), "-q", "-j", str(j),
                   "-n", str(n)], None))
    if have.get("xargs"):
        cs.append(Contender(
            "xargs", "xargs -P", n,
            lambda j: [have["xargs"], "-P", str(j), "-n", "1", "/bin/true"], "args"))
    if have.get("parallel"):
        cs.append(Contender(
            "parallel", "GNU parallel -u", np_,
            lambda j: [have["parallel"], "-j", str(j), "--will-cite", "-u", "/bin/true"],
            "args_parallel"))
    return cs


# ------------------------------------------------------------------ validation

def check_results_file(path, expected):
    """Counts result records and those that say the task exited 0. The
    record format is docs/spec.md's; this accepts the usual spellings."""
    lines = ok = bad_json = 0
    sample_bad = None
    with open(path, "rb") as f:
        for raw in f:
            raw = raw.strip()
            if not raw:
                continue
            lines += 1
            try:
                rec = json.loads(raw)
            except ValueError:
                bad_json += 1
                continue
            good = False
            if isinstance(rec, dict):
                if rec.get("ok") is True:
                    good = True
                elif rec.get("exit_code") == 0 and rec.get("end", rec.get("status", "exited")) in (
                        "exited", "ok", "success"):
                    good = True
            if good:
                ok += 1
            elif sample_bad is None:
                sample_bad = raw[:300].decode(errors="replace")
    return {"expected": expected, "records": lines, "ok": ok, "bad_json": bad_json,
            "sample_bad": sample_bad}


# ------------------------------------------------------------------ throughput

def bench_throughput(cfg, contenders, inputs, report):
    results = {}  # (key, j) -> [RunResult]
    timeout_for = lambda c: max(120.0, c.tasks / 20.0)

    log("warm-up: each contender once, 200 tasks")
    for c in contenders:
        warm = inputs["warm_" + (c.stdin_key or "none")]
        argv = c.argv_fn(cfg.jobs[0])
        if c.key in ("ceiling", "asyncio"):
            argv = argv[:-1] + ["200"]
        run_timed(argv, warm, 60)

    total_runs = cfg.rounds * len(cfg.jobs) * len(contenders)
    done = 0
    for rnd in range(cfg.rounds):
        for j in cfg.jobs:
            k = rnd % len(contenders)
            order = contenders[k:] + contenders[:k]
            for c in order:
                argv = c.argv_fn(j)
                r = run_timed(argv, inputs.get(c.stdin_key), timeout_for(c))
                # Other processes took a large share of the CPUs meanwhile:
                # run it again (a few times at most), keep the quietest.
                tries = 1
                while (r.rc == 0 and r.foreign is not None and r.foreign > cfg.max_other
                       and tries <= cfg.retries):
                    log("round %d -j %d %s: other load %.0f%% > %.0f%%: again" % (
                        rnd + 1, j, c.key, r.foreign * 100, cfg.max_other * 100))
                    r2 = run_timed(argv, inputs.get(c.stdin_key), timeout_for(c))
                    tries += 1
                    if r2.rc != 0 or r2.foreign is None or r2.foreign < r.foreign:
                        r = r2
                    report["reruns"] = report.get("reruns", 0) + 1
                results.setdefault((c.key, j), []).append(r)
                done += 1
                if r.timed_out:
                    log("round %d -j %d %s: TIMED OUT after %.0fs" % (
                        rnd + 1, j, c.key, timeout_for(c)))
                elif r.rc != 0:
                    log("round %d -j %d %s: exit %s: %s" % (
                        rnd + 1, j, c.key, r.rc, r.stderr_tail.strip()[-300:]))
                else:
                    log("[%d/%d] round %d -j %-3d %-16s %8.0f tasks/s  (other load %s)" % (
                        done, total_runs, rnd + 1, j, c.key, c.tasks / r.secs,
                        "%.0f%%" % (r.foreign * 100) if r.foreign is not None else "?"))
    report["throughput"] = results


def summarize_throughput(cfg, contenders, results):
    """(key, j) -> dict(rate, lo, hi, ok_runs, failed_runs, self_us, total_us)"""
    s = {}
    for c in contenders:
        for j in cfg.jobs:
            runs = results.get((c.key, j), [])
            good = [r for r in runs if not r.timed_out and r.rc == 0 and r.secs]
            d = {"runs": len(runs), "ok_runs": len(good),
                 "failed": [("timeout" if r.timed_out else "exit %s" % r.rc) for r in runs
                            if r not in good]}
            if good:
                rates = [c.tasks / r.secs for r in good]
                d["rate"] = statistics.median(rates)
                d["lo"], d["hi"] = min(rates), max(rates)
                selfs = [r.self_cpu for r in good if r.self_cpu is not None]
                tots = [r.self_cpu + r.children_cpu for r in good
                        if r.self_cpu is not None and r.children_cpu is not None]
                if selfs:
                    d["self_us"] = statistics.median(selfs) / c.tasks * 1e6
                if tots:
                    d["total_us"] = statistics.median(tots) / c.tasks * 1e6
            s[(c.key, j)] = d
    return s


# ------------------------------------------------------------------ memory

def count_running_children(pid):
    """Children of pid that are not zombies: `pgrep -c -P PID -r R,S,D`
    (the kernel here has no /proc/PID/task/TID/children)."""
    out = subprocess.run(["pgrep", "-c", "-P", str(pid), "-r", "R,S,D"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    try:
        return int(out.strip() or 0)
    except ValueError:
        return 0


def read_status_kib(pid):
    vals = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    vals[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return vals.get("VmRSS"), vals.get("VmHWM")


def threads_in_system():
    """Every task (thread) on the machine, from /proc/loadavg: O(1)."""
    with open("/proc/loadavg") as f:
        return int(f.read().split()[3].split("/")[1])


def mem_run(agentrt, n, jobs, sleep_s, tmpdir):
    """Runs `agentrt batch -j jobs` on n sleeping tasks. A sampler thread
    reads VmRSS/VmHWM every 50 ms; the main thread counts running children.

    Counting exactly (pgrep, which reads /proc/PID/stat of every process)
    costs ~30 ms of CPU per 1,000 processes, so while tasks are still
    starting it only watches the machine's thread count (/proc/loadavg), and
    counts exactly once at least n more threads exist than before the start.

    A task seen running by two exact counts ran throughout the time between
    them (each task starts once), so when two consecutive exact counts both
    see all n, every RSS sample taken between the end of the first and the
    start of the second was taken with all n running."""
    spec = ('{"cmd":["sleep","%d"],"output":{"stdout":"discard","stderr":"discard"}}'
            % sleep_s)
    path = os.path.join(tmpdir, "mem_%d_%d.jsonl" % (n, sleep_s))
    write_lines(path, spec, n)
    argv = [agentrt, "batch", "-j", str(jobs), "--no-progress", "-o", "/dev/null"]
    errf = tempfile.TemporaryFile()
    samples = []  # (t, rss, hwm)
    counts = []   # (t_start, t_end, count): exact counts only
    stop = threading.Event()
    if QUIET_WAIT > 0:
        wait_for_quiet(QUIET_WAIT)
    base_threads = threads_in_system()
    with open(path, "rb") as inf:
        t_start = time.perf_counter()
        p = subprocess.Popen(argv, stdin=inf, stdout=subprocess.DEVNULL, stderr=errf)

        def sampler():
            while not stop.is_set():
                rss, hwm = read_status_kib(p.pid)
                if rss is not None:
                    samples.append((time.perf_counter(), rss, hwm))
                stop.wait(0.05)

        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        deadline = t_start + sleep_s * 10 + n / 50.0 + 60
        last_hwm = None
        t_all = None  # when the thread count first allowed all n to run
        while p.poll() is None:
            if threads_in_system() - base_threads >= n:
                if t_all is None:
                    t_all = time.perf_counter()
                t_a = time.perf_counter()
                c = count_running_children(p.pid)
                t_b = time.perf_counter()
                counts.append((t_a, t_b, c))
            _, hwm = read_status_kib(p.pid)
            if hwm is not None:
                last_hwm = hwm
            if time.perf_counter() > deadline:
                log("memory: agentrt still running after %.0fs: stopping it" % (
                    time.perf_counter() - t_start))
                stop_process(p)
                break
            time.sleep(0.05)
        stop.set()
        th.join()
    p.wait()
    errf.seek(0)
    err = errf.read()[-1000:].decode(errors="replace")
    errf.close()

    peak = max((c for _, _, c in counts), default=0)
    full = []  # RSS samples taken with all n running
    for (a0, a1, ca), (b0, b1, cb) in zip(counts, counts[1:]):
        if ca == n and cb == n:
            full.extend(rss for (t, rss, _) in samples if a1 <= t <= b0)
    hwm_final = max([h for _, _, h in samples if h is not None] + [last_hwm or 0])
    return {
        "n": n, "jobs": jobs, "sleep": sleep_s, "rc": p.returncode, "stderr": err.strip(),
        "peak_running": peak, "counts": len(counts),
        "samples": len(samples), "full_samples": len(full),
        "rss_full_max": max(full) if full else None,
        "rss_full_median": statistics.median(full) if full else None,
        "rss_max": max((r for _, r, _ in samples), default=None),
        "hwm": hwm_final or None,
        "ramp_secs": (t_all - t_start) if t_all else None,
        "argv": argv, "input": path, "spec": spec,
        "count_secs": statistics.median([b - a for a, b, _ in counts]) if counts else None,
    }


def bench_memory(cfg, agentrt, tmpdir, report):
    n = cfg.mem_tasks
    sleep_s = cfg.mem_sleep
    for attempt in range(4):
        log("memory: %d tasks at -j %d (sleep %d)" % (n, n, sleep_s))
        big = mem_run(agentrt, n, n, sleep_s, tmpdir)
        log("memory: peak running %d of %d, %d RSS samples with all running, "
            "all started after ~%s s, rc %s" % (
                big["peak_running"], n, big["full_samples"],
                "%.1f" % big["ramp_secs"] if big["ramp_secs"] else "?", big["rc"]))
        if big["full_samples"] > 0:
            break
        if attempt < 3:
            sleep_s *= 2
            log("memory: all %d were not seen running at once; again with sleep %d" % (
                n, sleep_s))
    # Baselines: the same command with 1 task, and -j 1 with 1 task (what
    # -j N reserves up front shows as the difference between the two).
    log("memory: 1 task at -j %d (sleep %d)" % (n, sleep_s))
    base = mem_run(agentrt, 1, n, sleep_s, tmpdir)
    log("memory: 1 task at -j 1 (sleep %d)" % sleep_s)
    base1 = mem_run(agentrt, 1, 1, sleep_s, tmpdir)
    report["memory"] = {"base": base, "base1": base1, "big": big}


# ------------------------------------------------------------------ profile

def parse_perf_stat_csv(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) < 3 or line.startswith("#"):
                continue
            try:
                val = float(parts[0])
            except ValueError:
                continue
            out[parts[2]] = val
    return out


def parse_strace_c(path):
    """strace -c table -> {syscall: (calls, errors)}, and the total calls."""
    calls = {}
    total = 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 5 or not re.match(r"^[0-9.]+$", parts[0]):
                continue
            name = parts[-1]
            # columns: %time seconds usecs/call calls [errors] syscall
            nums = parts[1:-1]
            try:
                c = int(nums[2])
                e = int(nums[3]) if len(nums) > 3 else 0
            except (ValueError, IndexError):
                continue
            if name == "total":
                total = c
            else:
                calls[name] = (c, e)
    if not total:
        total = sum(c for c, _ in calls.values())
    return calls, total


def perf_samples(path):
    """Every sample of a `perf record -c PERIOD` file (equal weights), as
    {tid: [comm, samples, Counter((dso, symbol)), kernel samples]}. Counted
    from `perf script`: perf report's per-thread view mixes in the samples of
    vfork-style children here."""
    import collections
    threads = {}
    proc = subprocess.Popen(["perf", "script", "-i", path, "-F", "comm,tid,ip,sym,dso"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            errors="replace")
    pat = re.compile(r"^\s*(\S+)\s+(\d+)\s+([0-9a-f]+)\s+(.*?)\s*\(([^()]*)\)\s*$")
    for line in proc.stdout:
        m = pat.match(line)
        if not m:
            continue
        comm, tid, ip = m.group(1), int(m.group(2)), int(m.group(3), 16)
        sym = m.group(4) or "[unknown]"
        dso = os.path.basename(m.group(5)) if m.group(5).startswith("/") else m.group(5)
        t = threads.get(tid)
        if t is None:
            t = threads[tid] = [comm, 0, collections.Counter(), 0]
        t[0] = comm
        t[1] += 1
        t[2][(dso, sym)] += 1
        if ip >= 0xffff800000000000:
            t[3] += 1
    proc.wait()
    return threads


def perf_breakdown(path, comm, limit=12):
    """The launcher's own threads (named `comm`, with at least 0.5% of all
    samples; a child between clone and exec is named `comm` too but holds a
    sliver) and their top symbols."""
    threads = perf_samples(path)
    total = sum(t[1] for t in threads.values()) or 1
    mine, pre_exec, rest = [], 0, 0
    for tid, (name, n, syms, kern) in sorted(threads.items(), key=lambda kv: -kv[1][1]):
        if name == comm and n >= 0.005 * total:
            top = [(c * 100.0 / n, dso, sym) for (dso, sym), c in syms.most_common(limit)]
            mine.append((tid, n * 100.0 / total, top, kern * 100.0 / n))
        elif name == comm:
            pre_exec += n
        else:
            rest += n
    return mine, pre_exec * 100.0 / total, rest * 100.0 / total, total


def bench_profile(cfg, contenders, inputs, tmpdir, report):
    n = cfg.profile_tasks
    j = 16 if 16 in cfg.jobs else cfg.jobs[0]
    have_perf = shutil.which("perf") is not None
    have_strace = shutil.which("strace") is not None
    prof = {"n": n, "j": j, "rows": {}, "perf": have_perf, "strace": have_strace,
            "commands": []}
    inputs_p = {}
    for key, line in (("capture", SPEC_CAPTURE), ("discard", SPEC_DISCARD)):
        pth = os.path.join(tmpdir, "prof_%s.jsonl" % key)
        write_lines(pth, line, n)
        inputs_p[key] = pth
    for c in contenders:
        if c.key not in ("agentrt", "agentrt-discard", "ceiling"):
            continue
        argv = c.argv_fn(j)
        if c.key == "ceiling":
            argv = argv[:-1] + [str(n)]
        stdin = inputs_p.get(c.stdin_key)
        row = {"label": c.label}
        log("profile: %s, %d tasks, -j %d" % (c.key, n, j))
        r = run_timed(argv, stdin, max(120, n / 20))
        if r.rc == 0 and r.secs:
            row["wall_us"] = r.secs / n * 1e6
            row["self_us"] = (r.self_cpu or 0) / n * 1e6
            row["total_us"] = ((r.self_cpu or 0) + (r.children_cpu or 0)) / n * 1e6
        if have_perf:
            out = os.path.join(tmpdir, "perfstat_%s.csv" % c.key)
            pargv = ["perf", "stat", "-x,", "-o", out, "-e",
                     "task-clock,context-switches,cpu-migrations,page-faults", "--"] + argv
            prof["commands"].append(command_line(pargv, stdin))
            r = run_timed(pargv, stdin, max(120, n / 20))
            if r.rc == 0:
                st = parse_perf_stat_csv(out)
                row["perf"] = {k: v / n for k, v in st.items()}
            data = os.path.join(tmpdir, "perf_%s.data" % c.key)
            # A fixed period (200 µs of CPU): with -F, perf's adaptive
            # periods give a few start-up samples a large weight.
            pargv = ["perf", "record", "-q", "-e", "cpu-clock", "-c", "200000", "-o", data,
                     "--"] + argv
            prof["commands"].append(command_line(pargv, stdin))
            r = run_timed(pargv, stdin, max(120, n / 20))
            if r.rc == 0:
                comm = "agentrt" if c.key.startswith("agentrt") else "ceiling"
                threads, pre_exec, rest, nsamples = perf_breakdown(data, comm)
                row["perf_comm"] = comm
                row["perf_threads"] = threads
                row["perf_samples"] = nsamples
                row["perf_pre_exec"] = pre_exec
                row["perf_rest"] = rest
        if have_strace:
            for mode, extra in (("parent", []), ("tree", ["-f"])):
                out = os.path.join(tmpdir, "strace_%s_%s.txt" % (c.key, mode))
                sargv = ["strace", "-c"] + extra + ["-o", out, "--"] + argv
                prof["commands"].append(command_line(sargv, stdin))
                r = run_timed(sargv, stdin, max(300, n / 5))
                if r.rc == 0:
                    calls, total = parse_strace_c(out)
                    row["strace_" + mode] = {"total": total / n,
                                             "calls": {k: (v[0] / n, v[1] / n)
                                                       for k, v in calls.items()}}
        prof["rows"][c.key] = row
    report["profile"] = prof


# ------------------------------------------------------------------ report

def machine_info():
    info = {}
    info["nproc"] = subprocess.run(["nproc"], stdout=subprocess.PIPE, text=True).stdout.strip()
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpu"] = model
    info["kernel"] = platform.release()
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["mem"] = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        info["mem"] = "?"
    info["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    try:
        import resource
        info["nofile"] = "%d/%d" % resource.getrlimit(resource.RLIMIT_NOFILE)
    except Exception:
        info["nofile"] = "?"
    try:
        with open("/proc/sys/kernel/pid_max") as f:
            info["pid_max"] = f.read().strip()
    except OSError:
        info["pid_max"] = "?"
    try:
        info["os"] = platform.freedesktop_os_release().get("PRETTY_NAME", "?")
    except Exception:
        info["os"] = "?"
    return info


def tool_version(argv):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=10).stdout
        return out.strip().splitlines()[0] if out.strip() else "?"
    except Exception:
        return "?"


def source_state(root):
    """'; source: commit abc123 + N files changed', read-only git."""
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "src",
                                "cli", "include"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, timeout=10).stdout
        n = len([ln for ln in dirty.splitlines() if ln.strip()])
        if not head:
            return ""
        return "; source: commit %s%s" % (
            head, " + %d uncommitted change(s) in src/ cli/ include/" % n if n else "")
    except Exception:
        return ""


def fmt_rate(v):
    return "%.0f" % v if v is not None else "-"


def fmt_ratio(v):
    return "%.2f" % v if v is not None else "-"


def display_path(args, a):
    if a in args.display:
        return args.display[a]
    if os.path.isabs(a) and a.startswith(args.root + "/"):
        return os.path.relpath(a, args.root)
    return a


def render(cfg, args, contenders, report, inputs):
    L = []
    m = report["machine"]
    L.append("# agentrt benchmarks")
    L.append("")
    L.append("- Date: %s" % m["date"])
    L.append("- Machine: %s CPUs (`nproc`), %s, %s RAM; kernel %s; %s" % (
        m["nproc"], m["cpu"], m["mem"], m["kernel"], m["os"]))
    L.append("- Limits: NOFILE %s (soft/hard, the harness's), pid_max %s" % (
        m["nofile"], m["pid_max"]))
    L.append("- agentrt: %s" % report.get("agentrt_version", "not built"))
    L.append("- Peers: %s; %s; Python %s; ceiling built with `%s`" % (
        report["versions"].get("parallel", "no GNU parallel"),
        report["versions"].get("xargs", "no xargs"), platform.python_version(),
        report["versions"].get("cc", "cc -O2")))
    L.append("- Settings: %d tasks per run (GNU parallel: %d), %d round(s), -j %s; "
             "medians over rounds; each timed run waits up to %gs for the other "
             "processes to quiet down%s" % (
                 cfg.tasks, cfg.parallel_tasks, cfg.rounds,
                 ", ".join(str(j) for j in cfg.jobs), cfg.quiet_wait,
                 " (BENCH_QUICK smoke test: not for quoting)" if cfg.quick else ""))
    L.append("")

    summ = None
    if "throughput" in report:
        summ = summarize_throughput(cfg, contenders, report["throughput"])
        ref = "agentrt" if any(c.key == "agentrt" for c in contenders) else None
        L.append("## Throughput: `/bin/true` tasks per second")
        L.append("")
        L.append("Median of %d interleaved round(s). \"÷ agentrt\" is this contender's rate "
                 "divided by agentrt's (default, capturing) rate at the same -j: below 1 "
                 "means agentrt is faster." % cfg.rounds)
        L.append("")
        hdr = "| Contender | Tasks/run |"
        sep = "|---|---:|"
        for j in cfg.jobs:
            hdr += " -j %d tasks/s | ÷ agentrt |" % j
            sep += "---:|---:|"
        L.append(hdr)
        L.append(sep)
        for c in contenders:
            row = "| %s | %d |" % (c.label, c.tasks)
            for j in cfg.jobs:
                d = summ[(c.key, j)]
                rate = d.get("rate")
                rr = summ.get((ref, j), {}).get("rate") if ref else None
                cell = fmt_rate(rate)
                if d["failed"]:
                    cell += " (%d/%d runs failed: %s)" % (
                        len(d["failed"]), d["runs"], ", ".join(sorted(set(d["failed"]))))
                row += " %s | %s |" % (cell, fmt_ratio(rate / rr) if rate and rr else "-")
            L.append(row)
        if not ref:
            L.append("")
            L.append("agentrt was not measured: %s" % report.get("agentrt_missing", "not built"))
        L.append("")
        L.append("Spread (min–max tasks/s over rounds) and CPU per task, medians, in µs: "
                 "*launcher* is the launcher process itself (all its threads; for GNU "
                 "parallel the perl process, whose children are shells), *total* adds the "
                 "children it reaped (/proc/PID/stat utime+stime, cutime+cstime, read "
                 "while it is a zombie; 10 ms ticks).")
        L.append("")
        hdr = "| Contender |"
        sep = "|---|"
        for j in cfg.jobs:
            hdr += " -j %d min–max | launcher µs | total µs |" % j
            sep += "---:|---:|---:|"
        L.append(hdr)
        L.append(sep)
        for c in contenders:
            row = "| %s |" % c.label
            for j in cfg.jobs:
                d = summ[(c.key, j)]
                if "rate" in d:
                    row += " %s–%s | %s | %s |" % (
                        fmt_rate(d["lo"]), fmt_rate(d["hi"]),
                        "%.0f" % d["self_us"] if "self_us" in d else "-",
                        "%.0f" % d["total_us"] if "total_us" in d else "-")
                else:
                    row += " - | - | - |"
            L.append(row)
        L.append("")
        allruns = [r for runs in report["throughput"].values() for r in runs
                   if r.foreign is not None]
        if allruns:
            fo = [r.foreign * 100 for r in allruns]
            stl = [r.steal * 100 for r in allruns]
            L.append("Other load while the timed runs ran (share of all %d CPUs busy with "
                     "processes other than the contender, from /proc/stat): median %.0f%%, "
                     "max %.0f%%; hypervisor steal: median %.1f%%, max %.1f%%." % (
                         NCPU, statistics.median(fo), max(fo), statistics.median(stl),
                         max(stl)) +
                     (" %d of %d runs found the machine quiet (others under 15%% of the "
                      "CPUs) before they started." % (
                          sum(1 for r in allruns if r.quiet), len(allruns))
                      if cfg.quiet_wait > 0 else "") +
                     (" Runs during which others used over %.0f%% were run again, up to %d "
                      "times, keeping the quietest: %d re-run(s)." % (
                          cfg.max_other * 100, cfg.retries, report.get("reruns", 0))
                      if cfg.retries > 0 else ""))
            L.append("")
        if report.get("validation"):
            L.append("Result check (untimed, -j %d, `-o FILE`): " % report["validation_j"] +
                     "; ".join(
                         "%s: %d records of %d expected, %d say exited 0%s%s" % (
                             k, v["records"], v["expected"], v["ok"],
                             ", %d not JSON" % v["bad_json"] if v["bad_json"] else "",
                             ", agentrt exit %s" % v["rc"] if v.get("rc") else "")
                         for k, v in report["validation"].items()))
            for k, v in report["validation"].items():
                if v.get("sample_bad"):
                    L.append("")
                    L.append("First record not counted as ok (%s): `%s`" % (k, v["sample_bad"]))
            L.append("")

    mem = report.get("memory")
    if mem:
        b, b1, g = mem["base"], mem["base1"], mem["big"]
        L.append("## Memory per running task")
        L.append("")
        L.append("`agentrt batch -j N` holding N `sleep %d` tasks (output discarded; the "
                 "sleep is doubled from %d when the N were never all running at once); "
                 "VmRSS and VmHWM of the agentrt process sampled every 50 ms; running "
                 "children counted with `pgrep -c -P PID -r R,S,D` (one count took ~%.0f ms "
                 "at N=%d). Only RSS samples bracketed by two counts that both saw all N "
                 "running are used. The figure: (max such VmRSS at N tasks − the same "
                 "command's with 1 task) / N." % (
                     g["sleep"], cfg.mem_sleep, (g["count_secs"] or 0) * 1000, g["n"]))
        L.append("")
        L.append("| Run | Peak running | RSS samples with all running | VmRSS (all running, "
                 "max) | VmHWM | exit |")
        L.append("|---|---:|---:|---:|---:|---:|")
        for name, d in (("1 task, -j 1", b1), ("1 task, -j %d" % b["jobs"], b),
                        ("%d tasks, -j %d" % (g["n"], g["jobs"]), g)):
            L.append("| %s | %d | %d of %d | %s | %s | %s |" % (
                name, d["peak_running"], d["full_samples"], d["samples"],
                "%d KiB" % d["rss_full_max"] if d["rss_full_max"] else "-",
                "%d KiB" % d["hwm"] if d["hwm"] else "-", d["rc"]))
        L.append("")
        per = None
        if b["rss_full_max"] and g["rss_full_max"]:
            per = (g["rss_full_max"] - b["rss_full_max"]) / g["n"]
            per_hwm = (g["hwm"] - b["hwm"]) / g["n"] if g["hwm"] and b["hwm"] else None
            line = "**%.2f KiB per running task** (VmRSS; by VmHWM: %s KiB)." % (
                per, "%.2f" % per_hwm if per_hwm is not None else "-")
            if b1["rss_full_max"]:
                line += (" Counting what -j %d reserves before any task runs too "
                         "(baseline -j 1): %.2f KiB per task." % (
                             g["jobs"], (g["rss_full_max"] - b1["rss_full_max"]) / g["n"]))
            L.append(line)
            if g["ramp_secs"]:
                L.append("")
                L.append("Starting all %d took ~%.1f s (from the spawn of agentrt until "
                         "the machine held %d more threads)." % (
                             g["n"], g["ramp_secs"], g["n"]))
        else:
            L.append("**Not measured**: all %d tasks were never seen running at once "
                     "(peak %d), or the 1-task run was not; see the log." % (
                         g["n"], g["peak_running"]))
        for name, d in (("N tasks", g), ("1 task", b), ("1 task, -j 1", b1)):
            if d["rc"] not in (0, None) or d["stderr"]:
                L.append("")
                L.append("agentrt (%s) exit %s; stderr tail: `%s`" % (
                    name, d["rc"], d["stderr"][-300:]))
        report["mem_per_task"] = per
        L.append("")

    # Targets
    L.append("## Targets")
    L.append("")
    L.append("Judged from the figures above (agentrt ÷ peer at each -j).")
    L.append("")
    L.append("| Target | Measured | Met |")
    L.append("|---|---|---|")
    tgts = []
    if summ is not None:
        for key, label in (("agentrt", "agentrt"), ("agentrt-discard", "agentrt (discard)")):
            if not any(c.key == key for c in contenders):
                continue
            for peer, want, plabel in (("ceiling", 0.9, "C ceiling"), ("asyncio", 2.0, "asyncio"),
                                       ("parallel", 5.0, "GNU parallel")):
                if not any(c.key == peer for c in contenders):
                    continue
                for j in cfg.jobs:
                    a = summ[(key, j)].get("rate")
                    p = summ[(peer, j)].get("rate")
                    if a and p:
                        ratio = a / p
                        met = ratio >= want
                        L.append("| %s ≥ %.1f× %s at -j %d | %.2f× (%.0f vs %.0f/s) | %s |" % (
                            label, want, plabel, j, ratio, a, p, "yes" if met else "**no**"))
                        tgts.append(met)
                    else:
                        L.append("| %s ≥ %.1f× %s at -j %d | not measured | - |" % (
                            label, want, plabel, j))
    if "memory" in report:
        per = report.get("mem_per_task")
        if per is not None:
            L.append("| ≤ 16 KiB per running task | %.2f KiB | %s |" % (
                per, "yes" if per <= 16 else "**no**"))
            tgts.append(per <= 16)
        else:
            L.append("| ≤ 16 KiB per running task | not measured | - |")
    L.append("")
    if tgts:
        L.append("%d of %d target checks met." % (sum(tgts), len(tgts)))
        L.append("")

    prof = report.get("profile")
    if prof and prof["rows"]:
        L.append("## Profile: where the time per task goes (%d tasks, -j %d)" % (
            prof["n"], prof["j"]))
        L.append("")
        L.append("Per task. *wall*, *launcher* and *total* CPU as above, from a plain run; "
                 "perf stat counts the whole process tree (software events); strace -c "
                 "*parent* traces the launcher's first thread only (its own syscalls), "
                 "*tree* adds its threads and children (-f; strace slows everything, so "
                 "only counts matter).")
        L.append("")
        keys = [k for k in ("agentrt", "agentrt-discard", "ceiling") if k in prof["rows"]]
        L.append("| per task | " + " | ".join(prof["rows"][k]["label"] for k in keys) + " |")
        L.append("|---|" + "---:|" * len(keys))

        def cell(k, f):
            try:
                return f(prof["rows"][k])
            except (KeyError, TypeError):
                return "-"
        metrics = [
            ("wall µs", lambda r: "%.0f" % r["wall_us"]),
            ("launcher CPU µs", lambda r: "%.0f" % r["self_us"]),
            ("total CPU µs", lambda r: "%.0f" % r["total_us"]),
            ("perf task-clock µs (tree)", lambda r: "%.0f" % (r["perf"]["task-clock"] * 1000)),
            ("context switches (tree)", lambda r: "%.1f" % r["perf"]["context-switches"]),
            ("CPU migrations (tree)", lambda r: "%.2f" % r["perf"]["cpu-migrations"]),
            ("page faults (tree)", lambda r: "%.0f" % r["perf"]["page-faults"]),
            ("syscalls, launcher", lambda r: "%.1f" % r["strace_parent"]["total"]),
            ("syscalls, tree", lambda r: "%.1f" % r["strace_tree"]["total"]),
        ]
        for name, f in metrics:
            L.append("| %s | " % name + " | ".join(cell(k, f) for k in keys) + " |")
        L.append("")
        # Launcher syscalls per task, side by side.
        names = set()
        for k in keys:
            names.update(prof["rows"][k].get("strace_parent", {}).get("calls", {}).keys())

        def calls(k, nm):
            return prof["rows"][k].get("strace_parent", {}).get("calls", {}).get(nm, (0, 0))
        names = sorted(names, key=lambda nm: -max(calls(k, nm)[0] for k in keys))
        names = [nm for nm in names if max(calls(k, nm)[0] for k in keys) >= 0.05]
        if names:
            L.append("Launcher syscalls per task (strace -c, launcher's first thread; "
                     "errors in brackets):")
            L.append("")
            L.append("| syscall | " + " | ".join(prof["rows"][k]["label"] for k in keys) + " |")
            L.append("|---|" + "---:|" * len(keys))
            for nm in names[:25]:
                cells = []
                for k in keys:
                    c, e = calls(k, nm)
                    cells.append(("%.2f" % c) + (" (%.2f)" % e if e >= 0.005 else ""))
                L.append("| %s | %s |" % (nm, " | ".join(cells)))
            L.append("")
        for k in keys:
            r = prof["rows"][k]
            if r.get("perf_threads"):
                L.append("perf record (cpu-clock every 200 µs of CPU, the whole tree; "
                         "%d samples, counted with perf script), %s: the launcher's own "
                         "threads hold %s of all samples; children named `%s` (between "
                         "clone and exec) %.1f%%; everything else (the exec'd programs) "
                         "%.1f%%." % (
                             r["perf_samples"], r["label"],
                             " + ".join("%.1f%%" % pc for _, pc, _, _ in r["perf_threads"]),
                             r["perf_comm"], r["perf_pre_exec"], r["perf_rest"]))
                L.append("")
                for i, (tid, pc, top, kern) in enumerate(r["perf_threads"]):
                    L.append("Thread %d of the launcher (%.1f%% of all samples, %.0f%% of "
                             "its own in the kernel), top symbols:" % (i + 1, pc, kern))
                    L.append("")
                    L.append("| % of thread | object | symbol |")
                    L.append("|---:|---|---|")
                    for p_, dso, sym in top:
                        L.append("| %.1f | %s | `%s` |" % (p_, dso, sym.replace("|", "\\|")))
                    L.append("")

    L.append("## Commands")
    L.append("")
    L.append("Inputs (generated): `%s` has N lines `%s`; `%s` has N lines `%s`; "
             "`%s` has N lines `x` (N = %d; %d for GNU parallel)." % (
                 "capture.jsonl", SPEC_CAPTURE, "discard.jsonl", SPEC_DISCARD,
                 "args.txt", cfg.tasks, cfg.parallel_tasks))
    L.append("")
    L.append("```")
    names = {"capture": "capture.jsonl", "discard": "discard.jsonl", "args": "args.txt",
             "args_parallel": "args.txt"}
    for c in contenders:
        argv = c.argv_fn(cfg.jobs[0])
        argv = [("J" if a == str(cfg.jobs[0]) and i > 0 and argv[i - 1] in ("-j", "-P") else a)
                for i, a in enumerate(argv)]
        argv = [display_path(args, a) for a in argv]
        L.append(command_line(argv, names.get(c.stdin_key)))
    if mem:
        g = mem["big"]
        L.append("%s < mem.jsonl   # mem.jsonl: N lines %s" % (
            command_line([display_path(args, a) for a in g["argv"][:3]] + ["N"] +
                         g["argv"][4:], None), g["spec"]))
        L.append("#   N=%d at -j N; baselines: 1 line at -j %d, 1 line at -j 1" % (
            g["n"], g["n"]))
    L.append("```")
    L.append("")
    if prof and prof.get("commands"):
        L.append("Profile commands (inputs as above, %d tasks):" % prof["n"])
        L.append("")
        L.append("```")
        for cmdline in prof["commands"]:
            for path, shown in args.display.items():
                cmdline = cmdline.replace(path, shown)
            L.append(re.sub(r"\S*/(prof_\w+\.jsonl|perfstat_[\w-]+\.csv|perf_[\w-]+\.data|"
                            r"strace_[\w-]+\.txt)", r"\1", cmdline).replace(args.root + "/", ""))
        L.append("```")
        L.append("")
    return "\n".join(L)


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--ceiling", required=True)
    ap.add_argument("--out")
    ap.add_argument("--cc", default="cc -O2")
    args = ap.parse_args()
    args.root = os.path.dirname(HERE)
    args.display = {}  # path -> how the report names it
    cfg = Config()
    global QUIET_WAIT
    QUIET_WAIT = cfg.quiet_wait

    report = {"machine": machine_info(), "versions": {}}
    have = {"xargs": shutil.which("xargs"), "parallel": shutil.which("parallel")}
    if have["parallel"]:
        report["versions"]["parallel"] = tool_version([have["parallel"], "--version"])
    if have["xargs"]:
        report["versions"]["xargs"] = tool_version([have["xargs"], "--version"])
    report["versions"]["cc"] = args.cc

    agentrt = os.path.join(args.build, "agentrt")
    tmpdir = tempfile.mkdtemp(prefix="agentrt-bench-")
    if not (os.path.isfile(agentrt) and os.access(agentrt, os.X_OK)):
        report["agentrt_missing"] = "%s does not exist (run `make`)" % agentrt
        log("agentrt: %s; measuring the peers only" % report["agentrt_missing"])
        agentrt = None
    else:
        # A private copy: a `make` elsewhere during the run cannot swap the
        # binary between rounds.
        snap = os.path.join(tmpdir, "agentrt")
        shutil.copy2(agentrt, snap)
        with open(snap, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:12]
        agentrt = snap
        args.display[snap] = os.path.relpath(os.path.join(args.build, "agentrt"), args.root)
        report["agentrt_version"] = "%s (%s, sha256 %s…, built %s)%s" % (
            tool_version([agentrt, "--version"]),
            os.path.relpath(os.path.join(args.build, "agentrt"), args.root), digest,
            time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(snap))),
            source_state(args.root))

    contenders = make_contenders(cfg, agentrt, args.ceiling, sys.executable, have)
    try:
        inputs = {}
        for key, line, n in (("capture", SPEC_CAPTURE, cfg.tasks),
                             ("discard", SPEC_DISCARD, cfg.tasks),
                             ("args", "x", cfg.tasks),
                             ("args_parallel", "x", cfg.parallel_tasks)):
            inputs[key] = os.path.join(tmpdir, key + ".txt")
            write_lines(inputs[key], line, n)
            inputs["warm_" + key] = os.path.join(tmpdir, "warm_" + key + ".txt")
            write_lines(inputs["warm_" + key], line, min(n, 200))
        inputs["warm_none"] = None

        if agentrt and "throughput" in cfg.sections:
            # Untimed: does agentrt run every task, and say so?
            vj = 16 if 16 in cfg.jobs else cfg.jobs[-1]
            report["validation"] = {}
            report["validation_j"] = vj
            for c in contenders:
                if not c.key.startswith("agentrt"):
                    continue
                out = os.path.join(tmpdir, "results_%s.jsonl" % c.key)
                log("check: %s, %d tasks, -j %d, -o FILE" % (c.key, c.tasks, vj))
                argv = c.argv_fn(vj)
                argv[argv.index("-o") + 1] = out
                r = run_timed(argv, inputs[c.stdin_key], max(120, c.tasks / 20))
                v = check_results_file(out, c.tasks) if os.path.exists(out) else {
                    "expected": c.tasks, "records": 0, "ok": 0, "bad_json": 0,
                    "sample_bad": None}
                v["rc"] = "timeout" if r.timed_out else r.rc
                if r.rc != 0 or v["ok"] != c.tasks:
                    log("check: %s: exit %s, %d records, %d ok; stderr: %s" % (
                        c.key, v["rc"], v["records"], v["ok"], r.stderr_tail.strip()[-300:]))
                report["validation"][c.key] = v

        if "throughput" in cfg.sections:
            bench_throughput(cfg, contenders, inputs, report)
        if "memory" in cfg.sections:
            if agentrt:
                bench_memory(cfg, agentrt, tmpdir, report)
            else:
                log("memory: skipped, no agentrt")
        if "profile" in cfg.sections:
            bench_profile(cfg, contenders, inputs, tmpdir, report)
            # Keep the raw profile data next to the report.
            if args.out:
                rawdir = os.path.join(os.path.dirname(args.out), "profile")
                shutil.rmtree(rawdir, ignore_errors=True)
                os.makedirs(rawdir, exist_ok=True)
                for fn in os.listdir(tmpdir):
                    if fn.startswith(("perfstat_", "strace_")):
                        shutil.copy(os.path.join(tmpdir, fn), rawdir)
                    if fn.startswith("perf_") and fn.endswith(".data"):
                        # Per-thread sample counts and symbols, from perf script.
                        th = perf_samples(os.path.join(tmpdir, fn))
                        with open(os.path.join(rawdir, fn[:-5] + ".threads.txt"), "w") as f:
                            big = sorted(th.items(), key=lambda kv: -kv[1][1])
                            f.write("# tid comm samples kernel-samples; top symbols\n")
                            for tid, (name, n_, syms, kern) in big[:10]:
                                f.write("%d %s %d %d\n" % (tid, name, n_, kern))
                                for (dso, sym), c in syms.most_common(40):
                                    f.write("    %6d %s %s\n" % (c, dso, sym))

        md = render(cfg, args, contenders, report, inputs)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    print(md)
    if args.out:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(md + "\n")
        log("wrote %s" % args.out)


if __name__ == "__main__":
    main()
