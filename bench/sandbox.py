#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sandbox.py - sandbox start latency and workspace clone time, agentrt
against bubblewrap and unshare(1). Driven by bench/run.sh (section
"sandbox").

    sandbox.py --build DIR --tool PATH [--out FILE]

1. Start latency of one /bin/true, one task at a time: agentrt's library
   (levels none, limits, sandbox: submit to on_exit), agentrt's CLI
   (`agentrt run`), bwrap and unshare (spawn to waitpid), and a plain
   /bin/true. Interleaved: R rounds, each one invocation of sandbox_start
   running N/R tasks of every contender in turn, the order rotating from
   one round to the next. p50/p90/p99 over all N runs per contender.
2. Workspace clone time: the same for a sandboxed /bin/true with a
   copy-on-write workspace of a 10 MiB and a 1 GiB base, against a plain
   sandboxed /bin/true in the same rounds; the difference of the p50s is
   the clone's cost. `cp -a` of each base is timed once, for reference.
3. Optional: `strace -c -f` of a few lib-sandbox tasks and bwrap runs
   (system calls per task).
4. Targets: library p50 <= 0.5x bwrap's p50 (the CLI's judged too);
   workspace time independent of the base's size.

The Markdown report goes to stdout and to --out; progress to stderr.
Environment (all optional):
  BENCH_QUICK=1                 a smoke test (100 runs, 2 rounds)
  BENCH_SANDBOX_RUNS=N          runs per contender for the start latency (1000)
  BENCH_SANDBOX_WS_RUNS=N       runs per contender for the workspaces (1000)
  BENCH_SANDBOX_ROUNDS=R        rounds (10)
  BENCH_SANDBOX_WARMUP=W        untimed runs per contender and round (10)
  BENCH_SANDBOX_SCRATCH=DIR     where the bases are made (/var/tmp)
  BENCH_SANDBOX_PROFILE=0       skip the strace profile
  BENCH_SANDBOX_PARTS=0         skip the variants for the breakdown (host
                                network, no seccomp, bwrap --share-net)
  BENCH_QUIET_WAIT, BENCH_MAX_OTHER, BENCH_RETRIES: as for bench.py
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (shared helpers: machine info, quiet wait, strace parsing)

CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1

BWRAP_ARGS = ["--unshare-all", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
              "--tmpfs", "/tmp", "--die-with-parent", "/bin/true"]
UNSHARE_ARGS = ["-Urpfm", "--mount-proc", "/bin/true"]

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
# (label, total bytes, file size)
BASES = [("10 MiB", 10 * MIB, 128 * KIB), ("1 GiB", GIB, MIB)]


def log(msg):
    print("bench: sandbox: " + msg, file=sys.stderr, flush=True)


class Config:
    def __init__(self):
        quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
        self.quick = quick
        self.runs = bench.env_int("BENCH_SANDBOX_RUNS", 100 if quick else 1000)
        self.ws_runs = bench.env_int("BENCH_SANDBOX_WS_RUNS", 100 if quick else 1000)
        self.rounds = bench.env_int("BENCH_SANDBOX_ROUNDS", 2 if quick else 10)
        self.warmup = bench.env_int("BENCH_SANDBOX_WARMUP", 10)
        self.scratch = os.environ.get("BENCH_SANDBOX_SCRATCH", "/var/tmp")
        self.profile = os.environ.get("BENCH_SANDBOX_PROFILE", "1") not in ("", "0")
        self.parts = os.environ.get("BENCH_SANDBOX_PARTS", "1") not in ("", "0")
        self.quiet_wait = float(os.environ.get("BENCH_QUIET_WAIT", "0" if quick else "10"))
        self.max_other = float(os.environ.get("BENCH_MAX_OTHER", "0.25"))
        self.retries = int(os.environ.get("BENCH_RETRIES", "0" if quick else "3"))


class Contender:
    def __init__(self, key, label, spec, timed, note="", part=False):
        self.key = key      # the name sandbox_start reports
        self.label = label  # the report's name
        self.spec = spec    # lib:LEVEL, lib:ws:BASE or spawn:ARGV
        self.timed = timed  # what the latency covers
        self.note = note
        self.part = part    # a variant for the breakdown, not a main contender

    def arg(self):
        return "%s=%s" % (self.key, self.spec)


def spawn_spec(argv):
    for a in argv:
        if " " in a or not a:
            sys.exit("bench: sandbox: %r: sandbox_start splits commands on spaces" % a)
    return "spawn:" + " ".join(argv)


# ------------------------------------------------------------------ running

def cpu_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6], v[7]


def run_rounds(cfg, tool, contenders, total, tmpdir, tag):
    """R invocations of sandbox_start, each running total/R tasks of every
    contender, the order rotating; returns ({key: [samples]}, rounds info).
    A sample is (round, latency, setup, run, finish) in ns."""
    samples = {c.key: [] for c in contenders}
    info = []
    rounds = min(cfg.rounds, total)
    for r in range(rounds):
        per = total // rounds + (1 if r < total % rounds else 0)
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        kept = None
        for attempt in range(cfg.retries + 1):
            quiet = bench.wait_for_quiet(cfg.quiet_wait) if cfg.quiet_wait > 0 else None
            raw = os.path.join(tmpdir, "%s_round%d_%d.txt" % (tag, r, attempt))
            argv = [tool, "-n", str(per), "-r", "1", "-w", str(cfg.warmup), "-o", raw] + [
                c.arg() for c in order]
            own_cpu_delta()
            b0, s0 = cpu_jiffies()
            t0 = time.monotonic()
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wall = time.monotonic() - t0
            b1, s1 = cpu_jiffies()
            # The CPU that sandbox_start and everything it ran used (its
            # tasks and commands are reaped by it or by their own parents).
            own = own_cpu_delta()
            lines = [json.loads(ln) for ln in p.stdout.splitlines() if ln.startswith("{")]
            if p.returncode == 2 or not lines:
                sys.exit("bench: sandbox: sandbox_start failed (exit %s): %s" % (
                    p.returncode, p.stderr.strip()[-500:]))
            failed = {d["name"]: (d["failed"], d.get("first_error", "")) for d in lines
                      if d.get("failed")}
            # Kernel work done on our behalf in kworkers (namespace and
            # cgroup teardown) counts as "other": a few percent.
            other = max(0.0, (b1 - b0) / CLK_TCK - own) / (wall * NCPU)
            cur = {"round": r, "wall": wall, "other": other,
                   "steal": (s1 - s0) / CLK_TCK / (wall * NCPU), "quiet": quiet,
                   "attempt": attempt, "failed": failed, "raw": raw}
            if kept is None or other < kept["other"]:
                kept = cur
            if other <= cfg.max_other:
                break
            log("%s round %d: other processes used %.0f%% of the CPUs%s" % (
                tag, r + 1, other * 100, "; again" if attempt < cfg.retries else ""))
        info.append(kept)
        with open(kept["raw"]) as f:
            for line in f:
                name, rr, lat, a, b, c = line.split()
                samples[name].append((r, int(lat), int(a), int(b), int(c)))
        for name, (n, e) in kept["failed"].items():
            log("%s round %d: %s: %d run(s) failed (%s)" % (tag, r + 1, name, n, e))
        log("%s round %d/%d: %.1fs, other processes %.0f%% of the CPUs" % (
            tag, r + 1, rounds, kept["wall"], kept["other"] * 100))
    return samples, info


_last_children = [None]


def own_cpu_delta():
    """CPU seconds of the children reaped since the last call (sandbox_start
    and, through it, every task and command it ran)."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cur = ru.ru_utime + ru.ru_stime
    prev = _last_children[0]
    _last_children[0] = cur
    return cur - prev if prev is not None else cur


def pct(sorted_v, q):
    """Nearest rank, as sandbox_start computes it."""
    n = len(sorted_v)
    if not n:
        return None
    k = max(1, min(n, int(q * n + 0.999999)))
    return sorted_v[k - 1]


def summarize(samples):
    out = {}
    for key, ss in samples.items():
        lat = sorted(s[1] for s in ss)
        d = {"n": len(lat)}
        if lat:
            d.update(p50=pct(lat, .5), p90=pct(lat, .9), p99=pct(lat, .99),
                     mean=statistics.mean(lat), min=lat[0], max=lat[-1])
            by_round = {}
            for s in ss:
                by_round.setdefault(s[0], []).append(s[1])
            meds = [pct(sorted(v), .5) for v in by_round.values()]
            d["round_min"], d["round_max"] = min(meds), max(meds)
            if any(s[3] for s in ss):
                d["setup"] = pct(sorted(s[2] for s in ss), .5)
                d["run"] = pct(sorted(s[3] for s in ss), .5)
                d["finish"] = pct(sorted(s[4] for s in ss), .5)
        out[key] = d
    return out


# ------------------------------------------------------------------ bases

def make_base(path, total, fsize):
    os.makedirs(path)
    os.chmod(path, 0o755)
    block = os.urandom(fsize)
    for i in range(total // fsize):
        with open(os.path.join(path, "f%04d" % i), "wb") as f:
            f.write(block)
    return total // fsize


def du_bytes(path):
    out = subprocess.run(["du", "-sb", path], stdout=subprocess.PIPE, text=True).stdout
    return int(out.split()[0])


def time_cp(base, dst):
    t0 = time.monotonic()
    subprocess.run(["cp", "-a", base, dst], check=True)
    t1 = time.monotonic()
    subprocess.run(["sync"], check=True)
    t2 = time.monotonic()
    shutil.rmtree(dst)
    return t1 - t0, t2 - t0


# ------------------------------------------------------------------ profile

def strace_profile(tool, contender, n, path):
    argv = ["strace", "-f", "-c", "-o", path, tool, "-n", str(n), "-r", "1", "-w", "0",
            contender.arg()]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        log("strace %s: exit %d: %s" % (contender.key, p.returncode, p.stderr.strip()[-300:]))
        return None
    calls, total = bench.parse_strace_c(path)
    return {"calls": calls, "total": total, "n": n}


# ------------------------------------------------------------------ report

def ms(ns):
    return "%.2f" % (ns / 1e6) if ns is not None else "-"


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"


def render(cfg, args, report):
    L = []
    m = report["machine"]
    L.append("# agentrt sandbox benchmarks")
    L.append("")
    L.append("- Date: %s UTC" % report["date_utc"])
    L.append("- Machine: %s CPUs (`nproc`), %s, %s RAM; kernel %s; %s" % (
        m["nproc"], m["cpu"], m["mem"], m["kernel"], m["os"]))
    L.append("- agentrt: %s; library: `%s` (sandbox_start, built with `%s`)" % (
        report.get("agentrt_version", "not built"), report["lib"], args.cc))
    L.append("- Peers: %s; %s" % (report["versions"].get("bwrap", "no bwrap"),
                                  report["versions"].get("unshare", "no unshare")))
    L.append("- Cgroups: %s; running as uid %d" % (report["cgroups"], os.getuid()))
    L.append("- Settings: %d runs per contender (workspaces: %d) in %d interleaved rounds, "
             "%d untimed warm-up runs per contender and round; each round waits up to %gs "
             "for a quiet machine and is run again (at most %d times) if other processes "
             "used over %.0f%% of the CPUs%s" % (
                 cfg.runs, cfg.ws_runs, cfg.rounds, cfg.warmup, cfg.quiet_wait, cfg.retries,
                 cfg.max_other * 100,
                 " (BENCH_QUICK smoke test: not for quoting)" if cfg.quick else ""))
    L.append("")

    st = report.get("start")
    if st:
        s = st["summary"]
        bw = s.get("bwrap", {}).get("p50")
        L.append("## Start latency of one sandboxed `/bin/true`")
        L.append("")
        L.append("One task at a time; milliseconds. Library rows: from just before "
                 "`art_runtime_submit` to the `on_exit` callback (one runtime, "
                 "`max_running` 1, `ART_RT_KILL_ORPHANS`; output discarded, stdin "
                 "/dev/null). Command rows: `posix_spawn` to `waitpid` from the same "
                 "process, stdio on /dev/null. \"÷ bwrap\" divides the p50 by bwrap's.")
        L.append("")
        L.append("| Contender | What it gives | Runs | p50 | p90 | p99 | mean | round p50 min–max | ÷ bwrap (p50) |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for c in st["contenders"]:
            if c.part:
                continue
            d = s[c.key]
            fail = st["failed"].get(c.key)
            L.append("| %s | %s | %d%s | %s | %s | %s | %s | %s–%s | %s |" % (
                c.label, c.note, d["n"], " (%d failed)" % fail if fail else "",
                ms(d.get("p50")), ms(d.get("p90")), ms(d.get("p99")), ms(d.get("mean")),
                ms(d.get("round_min")), ms(d.get("round_max")), ratio(d.get("p50"), bw)))
        L.append("")
        libs = [c for c in st["contenders"] if c.spec.startswith("lib:") and not c.part]
        if libs:
            L.append("Library tasks, median of each phase (from the task's result): *setup* "
                     "is submit to the start of the spawn (the queue, stdio, the cgroup's "
                     "creation); *run* is `art_result.wall_ns` (clone, the sandbox's set-up, "
                     "exec, exit, reap, killing the cgroup); *finish* is from there to "
                     "`on_exit` (the cgroup's removal, the orphan sweep).")
            L.append("")
            L.append("| Library level | p50 | setup | run | finish |")
            L.append("|---|---:|---:|---:|---:|")
            for c in libs:
                d = s[c.key]
                L.append("| %s | %s | %s | %s | %s |" % (
                    c.label, ms(d.get("p50")), ms(d.get("setup")), ms(d.get("run")),
                    ms(d.get("finish"))))
            L.append("")
        parts = [c for c in st["contenders"] if c.part]
        if parts:
            L.append("Where the time goes: variants measured in the same rounds, with one part "
                     "left out (public options: `art_spec_set_network_host(spec, 1)`, "
                     "`art_spec_set_seccomp(spec, \"none\")`; bwrap `--share-net`).")
            L.append("")
            L.append("| Variant | Runs | p50 | p99 |")
            L.append("|---|---:|---:|---:|")
            for c in parts:
                d = s[c.key]
                L.append("| %s | %d | %s | %s |" % (c.label, d["n"], ms(d.get("p50")),
                                                   ms(d.get("p99"))))
            L.append("")
            L.append("| Part (difference of p50s) | Cost |")
            L.append("|---|---:|")
            for what, a, b in (
                    ("agentrt: network namespace (sandbox − hostnet)", "lib-sandbox",
                     "lib-sandbox-hostnet"),
                    ("bwrap: network namespace (bwrap − `--share-net`)", "bwrap",
                     "bwrap-sharenet"),
                    ("agentrt: seccomp (sandbox − seccomp none)", "lib-sandbox",
                     "lib-sandbox-noseccomp"),
                    ("agentrt: a cgroup (level limits − none)", "lib-limits", "lib-none"),
                    ("agentrt: the rest of the sandbox (hostnet + no seccomp − limits)",
                     "lib-sandbox-bare", "lib-limits"),
                    ("the CLI's own cost, sandbox (CLI − library)", "cli-sandbox",
                     "lib-sandbox"),
                    ("the CLI's own cost, none (CLI − library)", "cli-none", "lib-none")):
                pa, pb = s.get(a, {}).get("p50"), s.get(b, {}).get("p50")
                if pa and pb:
                    L.append("| %s | %s |" % (what, ms(pa - pb)))
            L.append("")
        L.append("Rounds: other processes used a median of %.0f%% of the CPUs (max %.0f%%), "
                 "steal %.1f%% (max %.1f%%); %d round(s) run again." % rounds_line(st["info"]))
        L.append("")

    ws = report.get("workspace")
    if ws:
        s = ws["summary"]
        base_p50 = s.get("lib-sandbox", {}).get("p50")
        cli_p50 = s.get("cli-sandbox", {}).get("p50")
        L.append("## Workspace clone time")
        L.append("")
        L.append("A sandboxed `/bin/true` with a copy-on-write workspace of the base "
                 "(`art_spec_set_workspace(spec, BASE, NULL, ART_WORKSPACE_DISCARD)`; CLI: "
                 "`--workspace BASE`), against the same without a workspace, interleaved "
                 "in the same rounds; milliseconds. *Clone cost* = the workspace task's p50 "
                 "minus the plain sandboxed task's p50. `cp -a` copies the base once "
                 "(page cache warm), for reference; *+ sync* includes writing it out.")
        L.append("")
        L.append("| Base | Files | Library p50 | p99 | clone cost (lib) | CLI p50 | p99 | clone cost (CLI) | `cp -a` | `cp -a` + sync |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        L.append("| none (plain sandbox) | - | %s | %s | - | %s | %s | - | - | - |" % (
            ms(base_p50), ms(s.get("lib-sandbox", {}).get("p99")), ms(cli_p50),
            ms(s.get("cli-sandbox", {}).get("p99"))))
        for b in ws["bases"]:
            dl = s.get("lib-ws-" + b["key"], {})
            dc = s.get("cli-ws-" + b["key"], {})
            L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %.0f | %.0f |" % (
                b["label"], b["files"], ms(dl.get("p50")), ms(dl.get("p99")),
                ms(dl["p50"] - base_p50) if dl.get("p50") and base_p50 else "-",
                ms(dc.get("p50")), ms(dc.get("p99")),
                ms(dc["p50"] - cli_p50) if dc.get("p50") and cli_p50 else "-",
                b["cp"] * 1e3, b["cp_sync"] * 1e3))
        L.append("")
        L.append("| Contender | Runs | round p50 min–max | setup | run | finish |")
        L.append("|---|---:|---:|---:|---:|---:|")
        for c in ws["contenders"]:
            d = s[c.key]
            fail = ws["failed"].get(c.key)
            L.append("| %s | %d%s | %s–%s | %s | %s | %s |" % (
                c.label, d["n"], " (%d failed)" % fail if fail else "", ms(d.get("round_min")),
                ms(d.get("round_max")), ms(d.get("setup")), ms(d.get("run")),
                ms(d.get("finish"))))
        L.append("")
        L.append("Rounds: other processes used a median of %.0f%% of the CPUs (max %.0f%%), "
                 "steal %.1f%% (max %.1f%%); %d round(s) run again." % rounds_line(ws["info"]))
        L.append("")

    prof = report.get("profile")
    if prof:
        L.append("## System calls per run (`strace -f -c`)")
        L.append("")
        L.append("Every process of the run (for the library: the runtime's thread, the "
                 "sandbox's init and the task), divided by the runs. Counts, not times: "
                 "strace slows every call down.")
        L.append("")
        keys = [k for k in prof if prof[k]]
        names = set()
        for k in keys:
            names.update(prof[k]["calls"])
        top = sorted(names, key=lambda nm: -max(prof[k]["calls"].get(nm, (0, 0))[0] / prof[k]["n"]
                                                 for k in keys))[:20]
        L.append("| System call | " + " | ".join(keys) + " |")
        L.append("|---|" + "---:|" * len(keys))
        L.append("| **all** | " + " | ".join("%.0f" % (prof[k]["total"] / prof[k]["n"])
                                             for k in keys) + " |")
        for nm in top:
            L.append("| %s | " % nm + " | ".join(
                "%.1f" % (prof[k]["calls"].get(nm, (0, 0))[0] / prof[k]["n"]) for k in keys) + " |")
        L.append("")

    L.append("## Targets")
    L.append("")
    L.append("| Target | Measured | Met |")
    L.append("|---|---|---|")
    for t in report["targets"]:
        L.append("| %s | %s | %s |" % t)
    L.append("")
    L.append("## Exact commands")
    L.append("")
    L.append("```")
    for line in report["commands"]:
        L.append(line)
    L.append("```")
    return "\n".join(L)


def rounds_line(info):
    others = [i["other"] * 100 for i in info] or [0]
    steals = [i["steal"] * 100 for i in info] or [0]
    reruns = sum(i["attempt"] for i in info)
    return (statistics.median(others), max(others), statistics.median(steals), max(steals),
            reruns)


def cgroup_desc():
    try:
        with open("/proc/self/mounts") as f:
            mounts = f.read()
    except OSError:
        return "?"
    if " /sys/fs/cgroup cgroup2 " in mounts:
        return "v2"
    if " cgroup " in mounts:
        return "v1"
    return "none found"


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--tool", required=True, help="sandbox_start, built against BUILD")
    ap.add_argument("--out")
    ap.add_argument("--cc", default="cc -O2")
    args = ap.parse_args()
    args.root = os.path.dirname(HERE)
    cfg = Config()

    report = {"machine": bench.machine_info(), "versions": {},
              "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
              "lib": os.path.relpath(os.path.join(args.build, "libagentrt.a"), args.root),
              "cgroups": cgroup_desc(), "targets": [], "commands": []}
    bwrap = shutil.which("bwrap")
    unshare = shutil.which("unshare")
    if bwrap:
        report["versions"]["bwrap"] = bench.tool_version([bwrap, "--version"])
    else:
        log("bwrap is missing; not measured")
    if unshare:
        report["versions"]["unshare"] = bench.tool_version([unshare, "--version"])
    else:
        log("unshare is missing; not measured")

    tmpdir = tempfile.mkdtemp(prefix="agentrt-sbench-")
    os.chmod(tmpdir, 0o755)
    scratch = None
    try:
        # Private copies: a `make` elsewhere during the run cannot swap them.
        tool = os.path.join(tmpdir, "sandbox_start")
        shutil.copy2(args.tool, tool)
        agentrt = os.path.join(args.build, "agentrt")
        if os.path.isfile(agentrt) and os.access(agentrt, os.X_OK):
            snap = os.path.join(tmpdir, "agentrt")
            shutil.copy2(agentrt, snap)
            with open(snap, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()[:12]
            report["agentrt_version"] = "%s (%s, sha256 %s…, built %s)%s" % (
                bench.tool_version([snap, "--version"]),
                os.path.relpath(agentrt, args.root), digest,
                time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(snap))),
                bench.source_state(args.root))
            agentrt = snap
        else:
            log("%s is missing: the CLI is not measured" % agentrt)
            agentrt = None
        shown = {tool: os.path.relpath(args.tool, args.root)}
        if agentrt:
            shown[agentrt] = os.path.relpath(os.path.join(args.build, "agentrt"), args.root)

        def show(argv):
            out = []
            for a in argv:
                for path, name in shown.items():
                    a = a.replace(path, name)
                out.append(bench.shell_quote(a))
            return " ".join(out)

        # ---- 1. start latency
        cs = [
            Contender("lib-none", "agentrt library, level none", "lib:none", "submit→on_exit",
                      "rlimits only"),
            Contender("lib-limits", "agentrt library, level limits", "lib:limits",
                      "submit→on_exit", "a cgroup"),
            Contender("lib-sandbox", "**agentrt library, level sandbox**", "lib:sandbox",
                      "submit→on_exit",
                      "user/pid/mount/net/ipc/uts/cgroup ns, read-only root, tmpfs /tmp, "
                      "seccomp, a cgroup"),
        ]
        if agentrt:
            cs.append(Contender("cli-none", "`agentrt run -- /bin/true`",
                                spawn_spec([agentrt, "run", "--", "/bin/true"]),
                                "spawn→waitpid", "the CLI, rlimits only"))
            cs.append(Contender("cli-sandbox", "**`agentrt run --sandbox sandbox -- /bin/true`**",
                                spawn_spec([agentrt, "run", "--sandbox", "sandbox", "--",
                                            "/bin/true"]),
                                "spawn→waitpid", "as the library's sandbox level"))
        if bwrap:
            cs.append(Contender("bwrap", "**bwrap**", spawn_spec([bwrap] + BWRAP_ARGS),
                                "spawn→waitpid",
                                "user/pid/mount/net/ipc/uts/cgroup ns, read-only root, "
                                "/dev, /proc, tmpfs /tmp; no seccomp, no cgroup"))
        if unshare:
            cs.append(Contender("unshare", "unshare -Urpfm --mount-proc",
                                spawn_spec([unshare] + UNSHARE_ARGS), "spawn→waitpid",
                                "user/pid/mount ns, a new /proc; root stays writable"))
        cs.append(Contender("true", "/bin/true", spawn_spec(["/bin/true"]), "spawn→waitpid",
                            "no isolation: fork+exec+wait alone"))
        if cfg.parts:
            cs.append(Contender("lib-sandbox-hostnet", "library, sandbox, host network",
                                "lib:sandbox,hostnet", "submit→on_exit", part=True))
            cs.append(Contender("lib-sandbox-noseccomp", "library, sandbox, seccomp none",
                                "lib:sandbox,seccomp=none", "submit→on_exit", part=True))
            cs.append(Contender("lib-sandbox-bare", "library, sandbox, host network, seccomp none",
                                "lib:sandbox,hostnet,seccomp=none", "submit→on_exit",
                                part=True))
            if bwrap:
                cs.append(Contender("bwrap-sharenet", "bwrap --share-net",
                                    spawn_spec([bwrap, "--unshare-all", "--share-net"] +
                                               BWRAP_ARGS[1:]), "spawn→waitpid", part=True))
        log("start latency: %d runs x %d contenders in %d rounds" % (
            cfg.runs, len(cs), cfg.rounds))
        samples, info = run_rounds(cfg, tool, cs, cfg.runs, tmpdir, "start")
        failed = {}
        for i in info:
            for k, (n, _) in i["failed"].items():
                failed[k] = failed.get(k, 0) + n
        report["start"] = {"contenders": cs, "summary": summarize(samples), "info": info,
                           "failed": failed}
        report["commands"].append("# start latency, per round (-n: runs / rounds):")
        report["commands"].append(show([tool, "-n", str(cfg.runs // cfg.rounds), "-r", "1",
                                        "-w", str(cfg.warmup)] + [c.arg() for c in cs]))
        for c in cs:
            if c.spec.startswith("spawn:"):
                report["commands"].append("#   %s: %s" % (c.key, show(c.spec[6:].split(" "))))

        # ---- 2. workspaces
        os.makedirs(cfg.scratch, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix="agentrt-ws-bench-", dir=cfg.scratch)
        # The sandbox's root maps to an unprivileged id outside: the bases
        # must be readable by others, as a shared checkout would be.
        os.chmod(scratch, 0o755)
        bases = []
        for label, total, fsize in BASES:
            key = label.replace(" ", "").replace("i", "").lower()  # "10mb", "1gb"
            path = os.path.join(scratch, "base-" + key)
            log("workspace: making %s (%s in files of %d KiB)" % (path, label, fsize // KIB))
            files = make_base(path, total, fsize)
            bases.append({"key": key, "label": label, "path": path, "files": files,
                          "bytes": du_bytes(path), "fsize": fsize})
        subprocess.run(["sync"], check=True)
        for b in bases:
            b["cp"], b["cp_sync"] = time_cp(b["path"], b["path"] + ".copy")
            log("workspace: cp -a %s: %.3fs (%.3fs with sync)" % (b["label"], b["cp"],
                                                                   b["cp_sync"]))
        wcs = [Contender("lib-sandbox", "library, sandbox, no workspace", "lib:sandbox",
                         "submit→on_exit")]
        for b in bases:
            wcs.append(Contender("lib-ws-" + b["key"], "library, workspace of %s" % b["label"],
                                 "lib:ws:" + b["path"], "submit→on_exit"))
        if agentrt:
            wcs.append(Contender("cli-sandbox", "CLI, sandbox, no workspace",
                                 spawn_spec([agentrt, "run", "--sandbox", "sandbox", "--",
                                             "/bin/true"]), "spawn→waitpid"))
            for b in bases:
                wcs.append(Contender("cli-ws-" + b["key"], "CLI, workspace of %s" % b["label"],
                                     spawn_spec([agentrt, "run", "--sandbox", "sandbox",
                                                 "--workspace", b["path"], "--", "/bin/true"]),
                                     "spawn→waitpid"))
        log("workspace: %d runs x %d contenders in %d rounds" % (
            cfg.ws_runs, len(wcs), cfg.rounds))
        wsamples, winfo = run_rounds(cfg, tool, wcs, cfg.ws_runs, tmpdir, "workspace")
        wfailed = {}
        for i in winfo:
            for k, (n, _) in i["failed"].items():
                wfailed[k] = wfailed.get(k, 0) + n
        report["workspace"] = {"contenders": wcs, "summary": summarize(wsamples),
                               "info": winfo, "failed": wfailed, "bases": bases}
        report["commands"].append("# workspaces (BASE: %d files of %d KiB / %d files of %d KiB, "
                                  "under %s):" % (bases[0]["files"], bases[0]["fsize"] // KIB,
                                                  bases[1]["files"], bases[1]["fsize"] // KIB,
                                                  cfg.scratch))
        report["commands"].append(show([tool, "-n", str(cfg.ws_runs // cfg.rounds), "-r", "1",
                                        "-w", str(cfg.warmup)] + [c.arg() for c in wcs]))
        report["commands"].append("cp -a BASE COPY; sync; rm -r COPY")

        # ---- 3. profile
        if cfg.profile and shutil.which("strace"):
            prof = {}
            n = 50
            for c in cs:
                if c.key in ("lib-sandbox", "bwrap", "unshare"):
                    log("profile: strace -f -c, %d runs of %s" % (n, c.key))
                    prof[c.key] = strace_profile(tool, c, n,
                                                 os.path.join(tmpdir, "strace_%s.txt" % c.key))
            report["profile"] = prof
            if args.out:
                rawdir = os.path.join(os.path.dirname(args.out), "sandbox-profile")
                shutil.rmtree(rawdir, ignore_errors=True)
                os.makedirs(rawdir, exist_ok=True)
                for fn in os.listdir(tmpdir):
                    if fn.startswith("strace_"):
                        shutil.copy(os.path.join(tmpdir, fn), rawdir)
            report["commands"].append("strace -f -c -o FILE %s -n %d -r 1 -w 0 CONTENDER" % (
                shown[tool], n))

        # ---- 4. targets
        s = report["start"]["summary"]
        bw = s.get("bwrap", {}).get("p50")
        for key, what in (("lib-sandbox", "library"), ("cli-sandbox", "CLI")):
            p = s.get(key, {}).get("p50")
            if p and bw:
                r = p / bw
                report["targets"].append((
                    "sandbox start p50 ≤ 0.5× bwrap's (%s)" % what,
                    "%.2f× (%s ms vs %s ms)" % (r, ms(p), ms(bw)),
                    "yes" if r <= 0.5 else "**no**"))
        ws_s = report["workspace"]["summary"]
        for pre, what in (("lib-ws-", "library"), ("cli-ws-", "CLI")):
            a = ws_s.get(pre + bases[0]["key"], {}).get("p50")
            b = ws_s.get(pre + bases[-1]["key"], {}).get("p50")
            if a and b:
                # Independent: the 1 GiB workspace's p50 within 10% of the
                # 10 MiB one's (cp -a differs by ~100x).
                r = b / a
                report["targets"].append((
                    "workspace time independent of the base's size (%s): p50 with %s "
                    "within ±10%% of p50 with %s" % (what, bases[-1]["label"], bases[0]["label"]),
                    "%.2f× (%s ms vs %s ms; cp -a: %.0f×)" % (
                        r, ms(b), ms(a), bases[-1]["cp"] / max(bases[0]["cp"], 1e-9)),
                    "yes" if 0.9 <= r <= 1.1 else "**no**"))

        md = render(cfg, args, report)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print(md)
    if args.out:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(md + "\n")
        log("wrote %s" % args.out)


if __name__ == "__main__":
    main()
