"""The Result of a task: the fields of art_result (docs/spec.md, "Result
record"), as plain Python values."""
from __future__ import annotations

import dataclasses
import signal as _signal
from dataclasses import dataclass
from typing import Any

__all__ = ["Result"]


def _signal_name(sig: int) -> str:
    try:
        return _signal.Signals(sig).name
    except ValueError:
        if _signal.SIGRTMIN <= sig <= _signal.SIGRTMAX:
            return f"SIGRTMIN+{sig - _signal.SIGRTMIN}"
        return f"SIG{sig}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Result:
    """How a task ended and what it used. Frozen; compare, hash and pickle
    freely."""

    id: str | None
    #: exited, signaled, timeout, cancelled, start_failed, oom_killed,
    #: seccomp, limit, skipped, and for supervised tasks gave_up,
    #: unhealthy, watchdog, circuit_open
    status: str
    #: The exit code when status is "exited" (or "gave_up" after a last run
    #: that exited), else None.
    exit_code: int | None
    #: The signal that ended the process (also after a timeout or cancel).
    signal: int | None
    #: What a timeout(1)-like front end exits with: the exit code, 128+N
    #: after signal N, 124 after a timeout, 125-127 after a failed start.
    exit_status: int
    pid: int
    wall_s: float
    #: Seconds from submission to start; None if it never started.
    queue_s: float | None
    user_s: float
    system_s: float
    max_rss_bytes: int
    #: The last bytes of each captured stream (at most the cap, 64 KiB by
    #: default; `output={"cap": "1M"}` changes it).
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    orphans_killed: int = 0
    #: Times started (retries + 1); 0 if it never started.
    attempts: int = 0
    #: status "skipped": why ('dependency "build" failed (exit 1)').
    skip_reason: str | None = None
    #: A sentence for oom_killed, seccomp, limit and start failures.
    message: str | None = None
    start_errno: int | None = None
    start_stage: str | None = None
    start_detail: str | None = None
    #: The isolation level it ran at: none, limits or sandbox.
    sandbox: str = "none"
    #: status "seccomp": the denied system call.
    syscall: str | None = None
    #: status "limit": cpu_time, pids, file_size or output.
    limit: str | None = None
    #: Limits the spec set that could not be enforced (no usable cgroup).
    unenforced: tuple[str, ...] = ()
    #: Why they could not ("cgroup v1: ...: Permission denied").
    limits_diagnostic: str | None = None
    usage_from_cgroup: bool = False
    oom_kills: int = 0
    pids_peak: int = 0
    workspace_dir: str | None = None
    #: Workspace changes ("list"): (path, kind) pairs.
    changes: tuple[tuple[str, str], ...] = ()
    frozen_s: float = 0.0
    samples: int = 0
    peak_rss_bytes: int = 0
    peak_procs: int = 0
    peak_cpu_pct: float = 0.0
    io_read_bytes: int = 0
    io_write_bytes: int = 0
    #: Supervision (spec "restart", "notify", "health"): runs started again,
    #: whether it became ready, the last STATUS= it sent.
    restarts: int = 0
    ready: bool = False
    status_text: str | None = None
    #: Why it waited before it started, largest reasons first (the
    #: scheduler's art_task_explain): "waited 1.20s: dependencies 0.70s,
    #: group cap 0.40s, priority 0.10s", or "did not wait".
    waited: str | None = None

    @property
    def ok(self) -> bool:
        """True when the task exited with code 0."""
        return self.status == "exited" and self.exit_code == 0

    @property
    def oom_killed(self) -> bool:
        return self.status == "oom_killed"

    @property
    def timed_out(self) -> bool:
        return self.status == "timeout"

    @property
    def signal_name(self) -> str | None:
        """"SIGKILL", or None."""
        return _signal_name(self.signal) if self.signal else None

    @property
    def stdout_text(self) -> str:
        """stdout decoded as UTF-8 (invalid bytes become U+FFFD)."""
        return self.stdout.decode("utf-8", errors="replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")

    def describe(self) -> str:
        """One line: 'task "x": timeout after 2.00s (SIGTERM), exit status 124'."""
        who = f"task {self.id!r}" if self.id is not None else f"task (pid {self.pid})"
        if self.status == "exited":
            what = f"exited with code {self.exit_code}"
        elif self.status == "timeout":
            what = f"timed out after {self.wall_s:.2f}s"
        elif self.status == "skipped":
            what = f"skipped: {self.skip_reason}"
        else:
            what = self.status
        if self.signal and self.status != "exited":
            what += f" ({self.signal_name})"
        if self.message:
            what += f": {self.message}"
        return f"{who}: {what}, exit status {self.exit_status}"

    def check(self) -> "Result":
        """Returns self if ok, else raises the TaskFailed subclass that
        says how it failed (TaskTimeout, MemoryLimitExceeded, ...)."""
        if not self.ok:
            from ._errors import failure_for

            raise failure_for(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ok"] = self.ok
        return d
