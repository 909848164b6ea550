#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mixed.py - a mixed workload: agentrt's admission against fixed -j.
Driven by bench/run.sh (section `mixed`).

    mixed.py --build DIR --work PATH [--out FILE]

N tasks drawn from a seed: CPU-bound ("compile"), memory-heavy ("embed")
and sleep- or I/O-bound ("fetch"), shuffled. Every contender runs the same
tasks in a memory cgroup made for the benchmark (limit BENCH_MIXED_MEMORY),
so that the OOM killer acts there and not on the host:

  GNU parallel at its default -j (one job per CPU thread) and at every -j of
  a sweep; `agentrt batch FILE` (admission, no tuning); `agentrt batch
  --no-admission -j N FILE` (a fixed cap).

R rounds, each running every contender once, the order rotating from round
to round; the median makespan is reported, with failed tasks (OOM kills)
and the cgroup's peak memory. The Markdown report goes to stdout and to
--out, progress to stderr.

Environment (all optional):
  BENCH_QUICK=1               a smoke test: 40 tasks, 1 round, -j 2 8 32
  BENCH_MIXED_TASKS=N         tasks (120; 40 quick)
  BENCH_MIXED_SEED=S          the seed of the workload (42)
  BENCH_MIXED_ROUNDS=R        rounds (3; 1 quick); BENCH_ROUNDS is not used
  BENCH_MIXED_ROUNDS_SLOW=R   rounds for the slow fixed contenders, -j 1 of
                              the sweep (1): they take as long as all the
                              others together and are never in contention
  BENCH_MIXED_JOBS="1 2 4 8 16 32"  GNU parallel's sweep (quick: "2 8 32")
  BENCH_MIXED_FIXED="2 8"     the -j of `agentrt batch --no-admission`
  BENCH_MIXED_MEMORY=6G       the memory limit of the bench cgroup
  BENCH_MIXED_SCRATCH=/var/tmp  where the io tasks write ($TMPDIR of the runs)
  BENCH_MIXED_TIMEOUT=S       a run still going after S seconds is stopped (900)
  BENCH_QUIET_WAIT=S          before each run, wait up to S seconds (5; 0
                              quick) for other processes to use under 15%
                              of the CPUs
  BENCH_MAX_OTHER=F           a run during which other processes used more
                              than this share of the CPUs (0.25) is run again,
  BENCH_RETRIES=K             at most K times (1; 0 quick), keeping the quietest
                              (not GNU parallel -j 1: it is never close)
"""
import argparse
import hashlib
import json
import os
import platform
import random
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
GIB = 1024 ** 3
MIB = 1024 ** 2

# The workload's families: (share of the tasks, kind, what they do).
CPU_SHARE, MEM_SHARE = 0.25, 0.15
CPU_MS = (200, 1500)          # CPU time of a "compile" task
MEM_MB = (1024, 1843)         # MiB of an "embed" task (1-1.8 GiB) ...
MEM_HOLD_MS = (500, 2000)     # ... held this long after touching it all
WAIT_MS = (200, 1500)         # wall time of a "fetch" task
IO_SHARE = 1 / 3              # of the fetch tasks: io (the rest sleep)
IO_MB = (8, 64)               # MiB written, fsynced, read back


def log(msg):
    print("mixed: " + msg, file=sys.stderr, flush=True)


def env_int(name, default, minimum=1):
    v = os.environ.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        sys.exit("mixed: %s=%r is not a number" % (name, v))
    if n < minimum:
        sys.exit("mixed: %s must be at least %d" % (name, minimum))
    return n


def env_list(name, default):
    v = os.environ.get(name)
    if v is None or not v.strip():
        return default
    try:
        out = [int(x) for x in v.replace(",", " ").split()]
    except ValueError:
        sys.exit("mixed: %s=%r is not a list of numbers" % (name, v))
    if any(x < 1 for x in out):
        sys.exit("mixed: %s: every -j must be at least 1" % name)
    return out


def parse_size(s):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", s, re.I)
    if not m:
        sys.exit("mixed: BENCH_MIXED_MEMORY=%r is not a size (e.g. 6G)" % s)
    mult = {"": 1, "K": 1024, "M": MIB, "G": GIB, "T": 1024 * GIB}[m.group(2).upper()]
    return int(float(m.group(1)) * mult)


class Config:
    def __init__(self):
        quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        self.quick = quick
        self.tasks = env_int("BENCH_MIXED_TASKS", 40 if quick else 120)
        self.seed = env_int("BENCH_MIXED_SEED", 42, minimum=0)
        self.rounds = env_int("BENCH_MIXED_ROUNDS", 1 if quick else 3)
        self.slow_rounds = min(self.rounds, env_int("BENCH_MIXED_ROUNDS_SLOW", 1))
        self.jobs = env_list("BENCH_MIXED_JOBS", [2, 8, 32] if quick else [1, 2, 4, 8, 16, 32])
        self.fixed = env_list("BENCH_MIXED_FIXED", [2, 8])
        self.memory = parse_size(os.environ.get("BENCH_MIXED_MEMORY") or "6G")
        self.scratch = os.environ.get("BENCH_MIXED_SCRATCH") or "/var/tmp"
        self.timeout = env_int("BENCH_MIXED_TIMEOUT", 900)
        self.retries = env_int("BENCH_RETRIES", 0 if quick else 1, minimum=0)
        mo = os.environ.get("BENCH_MAX_OTHER")
        try:
            self.max_other = float(mo) if mo not in (None, "") else 0.25
        except ValueError:
            sys.exit("mixed: BENCH_MAX_OTHER=%r is not a number" % mo)
        qw = os.environ.get("BENCH_QUIET_WAIT")
        try:
            self.quiet_wait = float(qw) if qw not in (None, "") else (0.0 if quick else 5.0)
        except ValueError:
            sys.exit("mixed: BENCH_QUIET_WAIT=%r is not a number" % qw)


# ------------------------------------------------------------------ workload

def make_workload(n, seed, work):
    """[(kind, argv)] in run order, the same for every contender."""
    rng = random.Random(seed)
    n_cpu = round(n * CPU_SHARE)
    n_mem = round(n * MEM_SHARE)
    n_wait = n - n_cpu - n_mem
    tasks = []
    for _ in range(n_cpu):
        tasks.append(("compile", [work, "cpu", str(rng.randint(*CPU_MS))]))
    for _ in range(n_mem):
        tasks.append(("embed", [work, "mem", str(rng.randint(*MEM_MB)),
                                str(rng.randint(*MEM_HOLD_MS))]))
    for _ in range(n_wait):
        ms = rng.randint(*WAIT_MS)
        if rng.random() < IO_SHARE:
            tasks.append(("fetch", [work, "io", str(rng.randint(*IO_MB)), str(ms)]))
        else:
            tasks.append(("fetch", [work, "sleep", str(ms)]))
    rng.shuffle(tasks)
    return tasks


def describe_workload(tasks):
    d = {"compile": 0, "embed": 0, "fetch_sleep": 0, "fetch_io": 0,
         "cpu_s": 0.0, "mem_gib_s": 0.0, "mem_hold_s": 0.0, "wait_s": 0.0,
         "io_mib": 0, "mem_max_gib": 0.0}
    for kind, argv in tasks:
        if kind == "compile":
            d["compile"] += 1
            d["cpu_s"] += int(argv[2]) / 1000
        elif kind == "embed":
            d["embed"] += 1
            gib, hold = int(argv[2]) / 1024, int(argv[3]) / 1000
            d["mem_gib_s"] += gib * hold
            d["mem_hold_s"] += hold
            d["mem_max_gib"] = max(d["mem_max_gib"], gib)
        elif argv[1] == "io":
            d["fetch_io"] += 1
            d["io_mib"] += int(argv[2])
            d["wait_s"] += int(argv[3]) / 1000
        else:
            d["fetch_sleep"] += 1
            d["wait_s"] += int(argv[2]) / 1000
    return d


def write_inputs(tasks, outdir):
    os.makedirs(outdir, exist_ok=True)
    jsonl = os.path.join(outdir, "tasks.jsonl")
    cmds = os.path.join(outdir, "commands.txt")
    with open(jsonl, "w") as f:
        for i, (kind, argv) in enumerate(tasks, 1):
            f.write(json.dumps({"id": "t%d" % i, "cmd": argv, "kind": kind}) + "\n")
    with open(cmds, "w") as f:
        for _, argv in tasks:
            f.write(" ".join(shell_quote(a) for a in argv) + "\n")
    return jsonl, cmds


# ------------------------------------------------------------------ cgroup

def read_file(path):
    with open(path) as f:
        return f.read()


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)


class BenchCgroup:
    """A cgroup v1 memory cgroup below the harness's own, with a limit.
    Contenders join it before exec; everything they start stays in it (or
    below it: use_hierarchy=1), so the OOM killer acts within it only."""

    MOUNT = "/sys/fs/cgroup/memory"

    def __init__(self, limit):
        self.limit = limit
        self.path = None

    @classmethod
    def unusable(cls):
        """None if a memory cgroup can be made here, else why not."""
        if os.geteuid() != 0:
            return "not root: the memory cgroup of the benchmark cannot be made"
        if not os.path.isfile(os.path.join(cls.MOUNT, "memory.limit_in_bytes")):
            return ("no cgroup v1 memory controller at %s (cgroup v2 is not supported "
                    "by this section yet)" % cls.MOUNT)
        return None

    @classmethod
    def own_dir(cls):
        for line in read_file("/proc/self/cgroup").splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3 and "memory" in parts[1].split(","):
                d = os.path.normpath(cls.MOUNT + "/" + parts[2].lstrip("/"))
                if os.path.isdir(d):
                    return d
        return cls.MOUNT

    def create(self):
        parent = self.own_dir()
        self.path = os.path.join(parent, "agentrt-bench-mixed-%d" % os.getpid())
        os.mkdir(self.path)
        try:
            if read_file(self.f("memory.use_hierarchy")).strip() != "1":
                try:
                    write_file(self.f("memory.use_hierarchy"), "1")
                except OSError:
                    pass
            if read_file(self.f("memory.use_hierarchy")).strip() != "1":
                raise OSError("memory.use_hierarchy is 0 in %s: the limit would not "
                              "cover the cgroups agentrt makes" % self.path)
            write_file(self.f("memory.limit_in_bytes"), str(self.limit))
            if os.path.exists(self.f("memory.memsw.limit_in_bytes")):
                # No swapping either: over the limit is an OOM kill.
                write_file(self.f("memory.memsw.limit_in_bytes"), str(self.limit))
            got = int(read_file(self.f("memory.limit_in_bytes")))
            if got > self.limit or got < self.limit - 65536:
                raise OSError("memory.limit_in_bytes reads %d, not %d" % (got, self.limit))
            write_file(self.f("memory.oom_control"), "0")  # the OOM killer on
        except BaseException:
            self.remove()
            raise
        return self.path

    def f(self, name, sub=None):
        return os.path.join(sub or self.path, name)

    def join_fn(self):
        procs = self.f("cgroup.procs")

        def join():
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        return join

    def subdirs(self):
        """This cgroup and every one below it, deepest first."""
        out = []
        for d, _, _ in os.walk(self.path):
            out.append(d)
        return sorted(out, key=lambda p: -p.count("/"))

    def members(self):
        pids = set()
        for d in self.subdirs():
            try:
                pids.update(int(x) for x in read_file(self.f("cgroup.procs", d)).split())
            except (OSError, ValueError):
                pass
        return pids

    def counters(self):
        oom = 0
        for line in read_file(self.f("memory.oom_control")).splitlines():
            k, _, v = line.partition(" ")
            if k == "oom_kill":
                oom = int(v)
        return {"oom_kill": oom, "failcnt": int(read_file(self.f("memory.failcnt")))}

    def reset_peak(self):
        write_file(self.f("memory.max_usage_in_bytes"), "0")

    def peak(self):
        return int(read_file(self.f("memory.max_usage_in_bytes")))

    def kill_members(self, wait=10.0):
        """Kills what is left in the cgroup (processes the harness started,
        and theirs), by pid, until it is empty or `wait` seconds passed."""
        killed = 0
        deadline = time.monotonic() + wait
        while True:
            pids = self.members()
            if not pids:
                return killed
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except ProcessLookupError:
                    pass
            if time.monotonic() >= deadline:
                return killed
            time.sleep(0.1)

    def wait_empty(self, wait):
        deadline = time.monotonic() + wait
        while self.members():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def remove(self):
        if not self.path or not os.path.isdir(self.path):
            return True
        self.kill_members()
        ok = True
        for d in self.subdirs():
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                ok = False
        if ok:
            log("removed the cgroup %s" % self.path)
        else:
            log("could not remove the cgroup %s" % self.path)
        return ok


# ------------------------------------------------------------------ runs

def cpu_jiffies():
    """(busy, steal) jiffies of all CPUs together, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6], v[7]


def wait_for_quiet(max_wait, threshold=0.15, window=0.5):
    deadline = time.monotonic() + max_wait
    while True:
        b0, _ = cpu_jiffies()
        time.sleep(window)
        b1, _ = cpu_jiffies()
        if (b1 - b0) / CLK_TCK / (window * NCPU) < threshold:
            return True
        if time.monotonic() >= deadline:
            return False


class Contender:
    def __init__(self, key, label, kind, argv_fn, stdin=None, slow=False, alias=None):
        self.key = key
        self.label = label
        self.kind = kind          # "parallel" or "agentrt"
        self.argv_fn = argv_fn    # (result path) -> argv
        self.stdin = stdin
        self.slow = slow          # run only in the first BENCH_MIXED_ROUNDS_SLOW rounds
        self.alias = alias        # the key of the contender whose runs are also ours
        self.unavailable = None   # why it cannot run (agentrt lacking a feature)
        self.reruns = 0
        self.runs = []


def max_overlap(intervals):
    """The most intervals (start, end) that overlap at one time, by more
    than 10 ms (the records' clocks are read at slightly different points:
    a task seems to start just before the one it replaces ends)."""
    intervals = [(a, b - 0.01) for a, b in intervals if b - 0.01 > a]
    ev = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals],
                key=lambda e: (e[0], e[1]))
    cur = best = 0
    for _, d in ev:
        cur += d
        best = max(best, cur)
    return best


def overlap_stats(r, spans):
    """spans: [(kind, start, end)] -> max tasks and max embed tasks at once."""
    r["max_at_once"] = max_overlap([(a, b) for _, a, b in spans])
    r["max_embed"] = max_overlap([(a, b) for k, a, b in spans if k == "embed"])


def parse_joblog(path, n, kinds):
    """Failed tasks from GNU parallel's --joblog: Exitval and Signal."""
    r = {"done": 0, "failed": 0, "sigkill": 0, "errors": []}
    spans = []
    try:
        lines = read_file(path).splitlines()[1:]
    except OSError:
        lines = []
    for line in lines:
        cols = line.split("\t")
        if len(cols) < 9:
            continue
        r["done"] += 1
        seq, start, runtime = int(cols[0]), float(cols[2]), float(cols[3])
        spans.append((kinds[seq - 1] if 0 < seq <= len(kinds) else "?", start, start + runtime))
        exitval, sig = int(cols[6]), int(cols[7])
        if exitval == 0 and sig == 0:
            continue
        r["failed"] += 1
        if sig == 9 or exitval == 137:
            r["sigkill"] += 1
        else:
            r["errors"].append("exit %d signal %d" % (exitval, sig))
    r["lost"] = max(0, n - r["done"])
    overlap_stats(r, spans)
    return r


def parse_agentrt(path, n, kinds):
    """Failed tasks from agentrt's records. The spans are approximate: from
    queue_s (since the task's submission; batch submits as it reads, all
    within milliseconds here) for wall_s."""
    r = {"done": 0, "failed": 0, "sigkill": 0, "errors": [], "invalid": None}
    spans = []
    try:
        lines = read_file(path).splitlines()
    except OSError:
        lines = []
    for line in lines:
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("status") == "invalid":
            if r["invalid"] is None:
                r["invalid"] = (rec.get("error") or {}).get("message", "invalid line")
            continue
        r["done"] += 1
        if rec.get("queue_s") is not None:
            m = re.fullmatch(r"t(\d+)", str(rec.get("id")))
            i = int(m.group(1)) if m else 0
            a = rec["queue_s"]
            spans.append((kinds[i - 1] if 0 < i <= len(kinds) else "?", a,
                          a + (rec.get("wall_s") or 0)))
        if rec.get("ok"):
            continue
        r["failed"] += 1
        if rec.get("status") == "oom_killed" or rec.get("signal") == "SIGKILL":
            r["sigkill"] += 1
        else:
            r["errors"].append("%s %s" % (rec.get("status"), rec.get("exit_status")))
    r["lost"] = max(0, n - r["done"])
    overlap_stats(r, spans)
    return r


class Runner:
    def __init__(self, cfg, cg, workdir, kinds):
        self.kinds = kinds
        n = len(kinds)
        self.cfg = cfg
        self.cg = cg
        self.workdir = workdir
        self.n = n
        self.current = None
        self.tmpdir = os.path.join(cfg.scratch, "agentrt-bench-mixed-%d" % os.getpid())

    def run(self, c, label):
        """One run of contender c; returns a dict (makespan, failures, ...)."""
        cfg, cg = self.cfg, self.cg
        res_path = os.path.join(self.workdir, "%s.%s" % (c.key, label))
        err_path = res_path + ".stderr"
        for p in (res_path, err_path):
            if os.path.exists(p):
                os.unlink(p)
        env = dict(os.environ, TMPDIR=self.tmpdir)
        quiet = wait_for_quiet(cfg.quiet_wait) if cfg.quiet_wait > 0 else None
        if not cg.wait_empty(10):
            log("the cgroup still has processes before %s: killing them" % c.key)
            cg.kill_members()
        before = cg.counters()
        cg.reset_peak()
        argv = c.argv_fn(res_path)
        timed_out = False
        with open(c.stdin or "/dev/null", "rb") as inf, open(err_path, "wb") as errf:
            busy0, steal0 = cpu_jiffies()
            t0 = time.monotonic()
            p = subprocess.Popen(argv, stdin=inf, stdout=subprocess.DEVNULL, stderr=errf,
                                 env=env, preexec_fn=cg.join_fn())
            self.current = p
            pfd = os.pidfd_open(p.pid)
            poller = select.poll()
            poller.register(pfd, select.POLLIN)
            if not poller.poll(cfg.timeout * 1000):
                timed_out = True
                log("%s ran past %d s: stopping it" % (c.key, cfg.timeout))
                p.send_signal(signal.SIGTERM)
                if not poller.poll(15000):
                    p.kill()
            os.close(pfd)
            _, status, ru = os.wait4(p.pid, 0)
            t1 = time.monotonic()
            busy1, steal1 = cpu_jiffies()
            p.returncode = os.waitstatus_to_exitcode(status)
            self.current = None
        leftovers = 0
        if not cg.wait_empty(10):
            leftovers = cg.kill_members()
        after = cg.counters()
        peak = cg.peak()
        secs = t1 - t0
        mine = ru.ru_utime + ru.ru_stime
        cap = secs * NCPU
        r = {"secs": secs, "rc": p.returncode, "timed_out": timed_out,
             "peak": peak, "oom_kill": after["oom_kill"] - before["oom_kill"],
             "failcnt": after["failcnt"] - before["failcnt"], "cpu": mine,
             "other": max(0.0, ((busy1 - busy0) / CLK_TCK - mine) / cap) if cap > 0 else 0.0,
             "steal": (steal1 - steal0) / CLK_TCK / cap if cap > 0 else 0.0,
             "quiet": quiet, "leftovers": leftovers}
        try:
            with open(err_path, "rb") as f:
                r["stderr"] = f.read()[-2000:].decode(errors="replace")
        except OSError:
            r["stderr"] = ""
        if c.kind == "parallel":
            r.update(parse_joblog(res_path, self.n, self.kinds))
        else:
            r.update(parse_agentrt(res_path, self.n, self.kinds))
        return r

    def stop_current(self):
        p = self.current
        if p and p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                p.kill()


def agentrt_problem(stderr, rc, parsed):
    """Why an agentrt run says nothing about the benchmark, or None."""
    if parsed.get("invalid"):
        return parsed["invalid"]
    if rc == 2:
        first = [ln for ln in stderr.splitlines() if ln.strip()]
        return first[0] if first else "usage error (exit 2)"
    return None


def probe_agentrt(c, runner, work):
    """Runs the contender on one tiny task with a kind: does this agentrt
    take its flags and the kind field?"""
    path = os.path.join(runner.workdir, "probe.jsonl")
    with open(path, "w") as f:
        f.write(json.dumps({"id": "probe", "cmd": [work, "sleep", "1"], "kind": "fetch"}) + "\n")
    res = os.path.join(runner.workdir, "probe.out")
    argv = c.argv_fn(res)[:-1] + [path]
    try:
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=60, preexec_fn=runner.cg.join_fn())
    except subprocess.TimeoutExpired:
        return "the probe (one 1 ms task) did not finish in 60 s"
    finally:
        runner.cg.wait_empty(5)
    parsed = parse_agentrt(res, 1, ["fetch"])
    why = agentrt_problem(p.stderr.decode(errors="replace"), p.returncode, parsed)
    if why is None and parsed["done"] != 1:
        why = "the probe gave %d results (exit %d): %s" % (
            parsed["done"], p.returncode, p.stderr.decode(errors="replace").strip()[:200])
    return why


# ------------------------------------------------------------------ report

def machine_info():
    info = {"nproc": NCPU, "kernel": platform.release(), "mem": "?", "cpu": "?"}
    try:
        info["nproc"] = int(subprocess.run(["nproc"], stdout=subprocess.PIPE,
                                           text=True).stdout.strip())
    except Exception:
        pass
    try:
        for line in read_file("/proc/meminfo").splitlines():
            if line.startswith("MemTotal:"):
                info["mem"] = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
            if line.startswith("SwapTotal:"):
                info["swap"] = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
        for line in read_file("/proc/cpuinfo").splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return info


def tool_version(argv):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=10).stdout
        return out.strip().splitlines()[0] if out.strip() else "?"
    except Exception:
        return "?"


def shell_quote(a):
    if re.fullmatch(r"[A-Za-z0-9_./:=,+%-]+", a):
        return a
    return "'" + a.replace("'", "'\\''") + "'"


DISPLAY = {}


def display(a):
    if a in DISPLAY:
        return DISPLAY[a]
    if os.path.isabs(a) and a.startswith(ROOT + "/"):
        return os.path.relpath(a, ROOT)
    return a


def command_line(c):
    argv = c.argv_fn("RESULTS")
    s = " ".join(shell_quote(display(a)) for a in argv)
    if c.stdin:
        s += " < " + display(c.stdin)
    return s


def gib(b):
    return "%.2f" % (b / GIB)


def summarize(c, n):
    """Median makespan and failure counts of a contender over its runs."""
    runs = c.runs
    if not runs:
        return None
    secs = [r["secs"] for r in runs]
    s = {"median": statistics.median(secs), "min": min(secs), "max": max(secs),
         "rounds": len(runs),
         "failed": [r["failed"] + r["lost"] for r in runs],
         "sigkill": [r["sigkill"] for r in runs],
         "lost": [r["lost"] for r in runs],
         "oom_kill": [r["oom_kill"] for r in runs],
         "peak": max(r["peak"] for r in runs),
         "max_at_once": max(r["max_at_once"] for r in runs),
         "max_embed": max(r["max_embed"] for r in runs),
         "other": statistics.median(r["other"] for r in runs),
         "timed_out": any(r["timed_out"] for r in runs),
         "other_errors": sorted({e for r in runs for e in r["errors"]})}
    s["clean"] = (sum(s["failed"]) == 0 and sum(s["oom_kill"]) == 0 and not s["timed_out"])
    return s


def per_round(v):
    return "+".join(str(x) for x in v) if len(v) > 1 else str(v[0])


def render(cfg, info, versions, wl, contenders, n, cgpath, workdir):
    by_key = {c.key: c for c in contenders}
    summ = {}
    for c in contenders:
        src = by_key[c.alias] if c.alias else c
        summ[c.key] = summarize(src, n)
    L = []
    L.append("# agentrt benchmark: a mixed workload")
    L.append("")
    L.append("- Date: %s" % info["date"])
    L.append("- Machine: %s CPUs (`nproc`), %s, %s RAM, swap %s; kernel %s" % (
        info["nproc"], info["cpu"], info["mem"], info.get("swap", "?"), info["kernel"]))
    L.append("- agentrt: %s%s; GNU parallel: %s (default -j: %s, one per CPU thread)" % (
        versions["agentrt"],
        " (**no admission yet**: `agentrt batch --help` has no `--no-admission`, so its "
        "default is a fixed -j, one per CPU)" if versions["admission"] is False else "",
        versions["parallel"], versions["parallel_default_j"]))
    L.append("- Bench cgroup: cgroup v1 memory, `memory.limit_in_bytes` = %s GiB "
             "(BENCH_MIXED_MEMORY; swap off for it), use_hierarchy=1; every contender "
             "and all it starts run in it (%s)" % (gib(cfg.memory), cgpath))
    L.append("- Settings: %d tasks, seed %d, %d round(s)%s, contender order rotating "
             "from round to round; medians over rounds; before each run the harness "
             "waits up to %gs for the other processes to quiet down%s" % (
                 n, cfg.seed, cfg.rounds,
                 " (GNU parallel -j 1: %d, BENCH_MIXED_ROUNDS_SLOW)" % cfg.slow_rounds
                 if cfg.slow_rounds < cfg.rounds and 1 in cfg.jobs else "",
                 cfg.quiet_wait, " (BENCH_QUICK smoke test: not for quoting)" if cfg.quick else ""))
    L.append("")
    L.append("## Workload")
    L.append("")
    L.append("| Kind (label in the spec) | Tasks | What each does | Total |")
    L.append("|---|---|---|---|")
    L.append("| `compile` | %d | `work cpu MS`: %d-%d ms of CPU time | %.1f CPU-s |" % (
        wl["compile"], CPU_MS[0], CPU_MS[1], wl["cpu_s"]))
    L.append("| `embed` | %d | `work mem MB MS`: %d-%d MiB, every page written, "
             "held %d-%d ms (written again every 200 ms) | %.1f GiB·s held, largest "
             "%.2f GiB |" % (wl["embed"], MEM_MB[0], MEM_MB[1], MEM_HOLD_MS[0],
                             MEM_HOLD_MS[1], wl["mem_gib_s"], wl["mem_max_gib"]))
    L.append("| `fetch` | %d + %d | `work sleep MS` / `work io MB MS` (%d-%d MiB written, "
             "fsynced, read back, then a sleep to MS): %d-%d ms | %.1f s waiting, %d MiB "
             "of I/O |" % (wl["fetch_sleep"], wl["fetch_io"], IO_MB[0], IO_MB[1],
                           WAIT_MS[0], WAIT_MS[1], wl["wait_s"], wl["io_mib"]))
    L.append("")
    L.append("The kinds are the labels a user would give; they are not hints "
             "(agentrt learns each kind's CPU and memory use itself). "
             "With %s GiB for the whole batch, %d `embed` tasks of the average size "
             "(%.2f GiB) fill it: more at once means OOM kills." % (
                 gib(cfg.memory), int(cfg.memory / ((MEM_MB[0] + MEM_MB[1]) / 2 * MIB)),
                 (MEM_MB[0] + MEM_MB[1]) / 2 / 1024))
    L.append("")

    par_default = summ.get("par-default")
    sweep = [c for c in contenders if c.kind == "parallel"]
    clean = [(summ[c.key]["median"], c) for c in sweep if summ[c.key] and summ[c.key]["clean"]]
    best = min(clean, key=lambda x: x[0])[1] if clean else None
    anyrun = [(summ[c.key]["median"], c) for c in contenders if summ[c.key]]
    fastest = min(anyrun, key=lambda x: x[0])[1] if anyrun else None
    ref_default = par_default["median"] if par_default else None
    ref_best = summ[best.key]["median"] if best else None

    L.append("## Makespan")
    L.append("")
    L.append("| Contender | Makespan (s), median [min-max] | ÷ parallel default | "
             "÷ parallel best clean -j | Tasks failed (of which SIGKILL / OOM kills in "
             "the cgroup), per round | Peak memory of the cgroup (GiB) | Most tasks at "
             "once (`embed`) | Notes |")
    L.append("|---|---|---|---|---|---|---|---|")
    for c in contenders:
        s = summ[c.key]
        if c.unavailable:
            L.append("| %s | unavailable | - | - | - | - | - | %s |" % (
                c.label, c.unavailable.replace("|", "\\|")))
            continue
        if not s:
            L.append("| %s | not run | - | - | - | - | - | |" % c.label)
            continue
        notes = []
        if c.alias:
            notes.append("the same command as %s: its runs" % by_key[c.alias].label)
        if sum(s["oom_kill"]) or sum(s["sigkill"]):
            notes.append("**lost tasks to the OOM killer**")
        if sum(s["lost"]):
            notes.append("%s task(s) without a result" % per_round(s["lost"]))
        if s["other_errors"]:
            notes.append("other failures: " + ", ".join(s["other_errors"][:3]))
        if s["timed_out"]:
            notes.append("**stopped after %d s**" % cfg.timeout)
        if ref_best and s["median"] > 1.5 * ref_best:
            notes.append("%.1f× the best clean -j" % (s["median"] / ref_best))
        if c is best:
            notes.append("best clean -j of GNU parallel")
        if c is fastest:
            notes.append("fastest overall")
        if s["other"] > cfg.max_other:
            notes.append("other processes used %.0f%% of the CPUs" % (100 * s["other"]))
        src = by_key[c.alias] if c.alias else c
        if src.reruns and not c.alias:
            notes.append("%d run(s) repeated: a busy machine" % src.reruns)
        failed = "%s (%s / %s)" % (per_round(s["failed"]), per_round(s["sigkill"]),
                                   per_round(s["oom_kill"]))
        L.append("| %s | %.1f [%.1f-%.1f]%s | %s | %s | %s | %s | %d (%d) | %s |" % (
            c.label, s["median"], s["min"], s["max"],
            "" if s["rounds"] == cfg.rounds else " (%d round%s)" % (
                s["rounds"], "" if s["rounds"] == 1 else "s"),
            "%.2f" % (s["median"] / ref_default) if ref_default else "-",
            "%.2f" % (s["median"] / ref_best) if ref_best else "-",
            failed, gib(s["peak"]), s["max_at_once"], s["max_embed"], "; ".join(notes)))
    L.append("")
    L.append("Ratios are makespan ÷ the reference: below 1 is faster. \"Best clean "
             "-j\" is the GNU parallel run (default or sweep) with the shortest median "
             "makespan among those that lost no task in any round%s. A task is "
             "failed when it did not exit 0 (or has no result); SIGKILL is what the "
             "OOM killer sends (GNU parallel's joblog: Signal 9; agentrt: status "
             "`oom_killed` or signal `SIGKILL`); OOM kills are the cgroup's "
             "`memory.oom_control` oom_kill count over the run. Peak memory: "
             "`memory.max_usage_in_bytes` of the bench cgroup (reset before each run; "
             "it includes the page cache of the io tasks), the maximum over rounds. "
             "Most tasks at once: the largest number of task intervals that overlap, "
             "over rounds (GNU parallel: the joblog's Starttime and JobRuntime; "
             "agentrt: each record's queue_s to queue_s + wall_s, approximate)." % (
                 (": %s" % best.label) if best else " (none was clean)"))
    L.append("")

    # Targets
    L.append("## Targets")
    L.append("")
    ag = by_key.get("agentrt")
    sa = summ.get("agentrt")
    lossy = [c.label for c in sweep if summ[c.key] and not summ[c.key]["clean"]]
    if ag is None or ag.unavailable or not sa:
        L.append("- agentrt with admission: %s; no target can be judged." % (
            "unavailable (%s)" % ag.unavailable if ag and ag.unavailable else "not run"))
    else:
        checks = []
        if ref_default:
            r = sa["median"] / ref_default
            checks.append((r <= 0.70, "makespan ≥ 30%% shorter than GNU parallel at its "
                           "default -j: %.1f s against %.1f s, %.0f%% shorter" % (
                               sa["median"], ref_default, 100 * (1 - r))))
        if ref_best:
            r = sa["median"] / ref_best
            checks.append((r <= 1.10, "within 10%% of GNU parallel's best clean -j (%s): "
                           "%.1f s against %.1f s, ×%.2f" % (best.label, sa["median"],
                                                             ref_best, r)))
        if lossy:
            checks.append((sa["clean"], "no task lost to memory exhaustion where GNU "
                           "parallel loses some (%s): agentrt lost %s" % (
                               ", ".join(lossy), per_round(sa["failed"]))))
        else:
            checks.append((sa["clean"], "no task lost (no GNU parallel -j of the sweep "
                           "lost one here either, so this target is not really tested): "
                           "agentrt lost %s" % per_round(sa["failed"])))
        for ok, text in checks:
            L.append("- %s %s" % ("**met**:" if ok else "**missed**:", text))
        L.append("")
        L.append("%d of %d target checks met." % (sum(ok for ok, _ in checks), len(checks)))
    L.append("")

    L.append("## Commands")
    L.append("")
    L.append("Every command runs with `TMPDIR=%s` (the io tasks' files, GNU parallel's "
             "output buffers; BENCH_MIXED_SCRATCH), its process moved into the bench "
             "cgroup before exec. Wall time runs from just before the spawn to the "
             "contender's exit." % os.path.join(cfg.scratch, "agentrt-bench-mixed-PID"))
    L.append("")
    L.append("```")
    for c in contenders:
        if not c.alias:
            L.append("%-28s %s" % (c.key, command_line(c)))
    L.append("```")
    L.append("")
    L.append("`%s` holds one spec per line, e.g. `%s`; `%s` the same commands, one a "
             "line. `RESULTS` is a file per run in %s." % (
                 display(os.path.join(workdir, "tasks.jsonl")),
                 read_file(os.path.join(workdir, "tasks.jsonl")).splitlines()[0].replace(
                     ROOT + "/", ""),
                 display(os.path.join(workdir, "commands.txt")), display(workdir)))
    L.append("")
    others = [r["other"] for c in contenders if not c.alias for r in c.runs]
    if others:
        L.append("Other processes on the machine used a median %.0f%% (max %.0f%%) of "
                 "the CPUs during the runs kept (/proc/stat busy time minus the "
                 "contender's own, per run; a run over %.0f%% was run again, up to %d "
                 "time(s), keeping the quietest)." % (
                     100 * statistics.median(others), 100 * max(others),
                     100 * cfg.max_other, cfg.retries))
        L.append("")
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", required=True, help="the work program (bench/mixed/work.c)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "mixed.md"))
    args = ap.parse_args()
    cfg = Config()

    why = BenchCgroup.unusable()
    if why:
        log("skipping the mixed workload: " + why)
        return 0
    work = os.path.abspath(args.work)
    if not os.access(work, os.X_OK):
        sys.exit("mixed: %s is not an executable" % work)
    agentrt = os.path.join(os.path.abspath(args.build), "agentrt")
    have_agentrt = os.access(agentrt, os.X_OK)
    if not have_agentrt:
        log("%s is missing: measuring GNU parallel only" % agentrt)
    parallel = subprocess.run(["sh", "-c", "command -v parallel"], stdout=subprocess.PIPE,
                              text=True).stdout.strip()
    if not parallel:
        log("GNU parallel is missing (scripts/deps.sh installs it): measuring agentrt only")

    outdir = os.path.dirname(os.path.abspath(args.out))
    workdir = os.path.join(outdir, "mixed")
    tasks = make_workload(cfg.tasks, cfg.seed, work)
    jsonl, cmds = write_inputs(tasks, workdir)
    wl = describe_workload(tasks)
    n = len(tasks)

    if have_agentrt:
        # One binary for the whole run, even if build/ is rebuilt meanwhile.
        snap = os.path.join(workdir, "agentrt")
        shutil.copy2(agentrt, snap)
        DISPLAY[snap] = display(agentrt)
        with open(snap, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()[:16]
        agentrt = snap
    versions = {"agentrt": ("%s, sha256 %s…, copied from %s at the start" % (
                    tool_version([agentrt, "--version"]), sha, DISPLAY[snap]))
                if have_agentrt else "not built",
                "parallel": tool_version([parallel, "--version"]) if parallel else "missing",
                "parallel_default_j": "?", "admission": None}
    if have_agentrt:
        help_text = subprocess.run([agentrt, "batch", "--help"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True).stdout
        versions["admission"] = "--no-admission" in help_text
    contenders = []
    if parallel:
        try:
            dj = int(subprocess.run([parallel, "--number-of-threads"], stdout=subprocess.PIPE,
                                    text=True, timeout=30).stdout.strip())
        except (ValueError, subprocess.TimeoutExpired):
            dj = None
        versions["parallel_default_j"] = str(dj) if dj else "?"
        contenders.append(Contender(
            "par-default", "GNU parallel (default -j)", "parallel",
            lambda res: [parallel, "--will-cite", "--joblog", res], stdin=cmds))
        for j in cfg.jobs:
            contenders.append(Contender(
                "par-j%d" % j, "GNU parallel -j %d" % j, "parallel",
                lambda res, j=j: [parallel, "--will-cite", "-j", str(j), "--joblog", res],
                stdin=cmds, slow=(j == 1), alias="par-default" if j == dj else None))
    if have_agentrt:
        contenders.append(Contender(
            "agentrt", "agentrt batch (admission, default)", "agentrt",
            lambda res: [agentrt, "batch", "--no-progress", "-o", res, jsonl]))
        for j in cfg.fixed:
            contenders.append(Contender(
                "agentrt-fixed-%d" % j, "agentrt batch --no-admission -j %d" % j, "agentrt",
                lambda res, j=j: [agentrt, "batch", "--no-admission", "-j", str(j),
                                  "--no-progress", "-o", res, jsonl]))
    if not contenders:
        sys.exit("mixed: neither agentrt nor GNU parallel is there")

    cg = BenchCgroup(cfg.memory)
    try:
        cgpath = cg.create()
    except OSError as e:
        log("skipping the mixed workload: cannot make the bench cgroup: %s" % e)
        return 0
    log("bench cgroup %s, limit %s GiB" % (cgpath, gib(cfg.memory)))
    runner = Runner(cfg, cg, workdir, [k for k, _ in tasks])
    try:
        os.makedirs(runner.tmpdir)
    except OSError as e:
        cg.remove()
        sys.exit("mixed: cannot make %s (BENCH_MIXED_SCRATCH): %s" % (runner.tmpdir, e))

    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    info = machine_info()
    try:
        for c in contenders:
            if c.kind == "agentrt":
                c.unavailable = probe_agentrt(c, runner, work)
                if c.unavailable:
                    log("%s: unavailable: %s" % (c.key, c.unavailable))
        active = [c for c in contenders if not c.alias and not c.unavailable]
        log("%d tasks (%d compile, %d embed, %d fetch), seed %d; %d contender(s), "
            "%d round(s)" % (n, wl["compile"], wl["embed"], wl["fetch_sleep"] + wl["fetch_io"],
                             cfg.seed, len(active), cfg.rounds))
        for rnd in range(cfg.rounds):
            k = rnd % len(active) if active else 0
            order = active[k:] + active[:k]
            for c in order:
                if c.unavailable or (c.slow and rnd >= cfg.slow_rounds):
                    continue
                r = runner.run(c, "r%d" % (rnd + 1))
                if c.kind == "agentrt":
                    why = agentrt_problem(r["stderr"], r["rc"], r)
                    if why:
                        c.unavailable = why
                        log("%s: unavailable: %s" % (c.key, why))
                        continue
                # The slow fixed contenders are never close: not worth a re-run.
                for t in range(0 if c.slow else cfg.retries):
                    if r["other"] <= cfg.max_other:
                        break
                    log("round %d/%d %-18s %6.1f s, but other processes used %.0f%% of "
                        "the CPUs: again" % (rnd + 1, cfg.rounds, c.key, r["secs"],
                                             100 * r["other"]))
                    r2 = runner.run(c, "r%d.%d" % (rnd + 1, t + 1))
                    r2["reruns"] = r.get("reruns", 0) + 1
                    if r2["other"] < r["other"]:
                        r = r2
                    else:
                        r["reruns"] = r2["reruns"]
                    c.reruns += 1
                c.runs.append(r)
                log("round %d/%d %-18s %6.1f s  failed %d (SIGKILL %d, no result %d), "
                    "OOM kills %d, peak %s GiB, others %.0f%%" % (
                        rnd + 1, cfg.rounds, c.key, r["secs"], r["failed"] + r["lost"],
                        r["sigkill"], r["lost"], r["oom_kill"], gib(r["peak"]),
                        100 * r["other"]))
    except BaseException:
        runner.stop_current()
        raise
    finally:
        cg.remove()
        shutil.rmtree(runner.tmpdir, ignore_errors=True)

    text = render(cfg, info, versions, wl, contenders, n, cgpath, workdir)
    with open(os.path.join(workdir, "runs.json"), "w") as f:
        json.dump({c.key: {"label": c.label, "unavailable": c.unavailable, "runs": c.runs}
                   for c in contenders}, f, indent=1)
    with open(args.out, "w") as f:
        f.write(text)
    sys.stdout.write(text)
    log("report written to %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
