"""Runtime and Task: the synchronous API over agentrt._agentrt."""
from __future__ import annotations

import atexit
import collections
import dataclasses
import datetime
import itertools
import json
import os
import sys
import threading
import types
import weakref
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Mapping
from typing import Any, Literal, overload

from . import _agentrt
from ._errors import Error, RuntimeClosed, SessionClosed, SpecError, TaskNotDone
from ._result import Result
from ._spec import build_spec

__all__ = ["Runtime", "Task", "OutputStream", "Message", "MessageStream"]

STDOUT = 1
STDERR = 2
# The limits a running task's cgroup can change (Task.set_limit).
_LIVE_LIMITS = frozenset({"memory", "memory_high", "swap", "cpu", "cpu_weight", "pids",
                          "io_weight"})
_UNLIMITED = (1 << 64) - 1

_live: "weakref.WeakSet[Runtime]" = weakref.WeakSet()
_live_lock = threading.Lock()


def _close_all() -> None:
    """At interpreter exit: every runtime still open is closed, which kills
    its tasks and what they started (their process groups, their cgroups),
    so that nothing outlives the interpreter."""
    with _live_lock:
        runtimes = list(_live)
    for rt in runtimes:
        try:
            rt.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass


def _abandon_all() -> None:
    """In a child made by fork(): the runtimes' loop threads are not there;
    forget the copies without touching the parent's tasks."""
    for rt in list(_live):
        rt._core.abandon()
    _live.clear()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_abandon_all)


def _ns(name: str, value: Any) -> int | None:
    """Seconds (int, float), a timedelta or a duration string -> ns."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, str):
        return _agentrt.parse_duration(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name}: must be a number of seconds >= 0, a timedelta or a "
                         f"duration string")
    return int(value * 1_000_000_000)


def _bytes(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _agentrt.parse_size(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: must be a number of bytes or a size string such as '4G'")
    return value


def _stream_limit(stream: bool | int) -> int:
    if stream is True:
        return _agentrt.STREAM_LIMIT_DEFAULT
    if stream is False or stream is None:
        return 0
    if isinstance(stream, int) and stream > 0:
        return stream
    raise ValueError("stream: must be True, False or a number of bytes > 0")


def _deliver_events(queue: _agentrt.EventQueue,
                    on_event: Callable[[dict[str, Any]], object]) -> None:
    """The event thread of a Runtime(on_event=...): takes the lines the
    loop thread queued (it copies them and never waits for Python) and
    calls on_event with each, in order, until the runtime is closed and
    every event was delivered. An exception in the callback is reported
    (sys.unraisablehook) and the next event is delivered."""
    while True:
        lines = queue.get()
        if lines is None:
            return
        for line in lines:
            try:
                on_event(json.loads(line))
            except Exception as e:
                # UnraisableHookArgs cannot be made from Python; the hook
                # reads these attributes.
                sys.unraisablehook(types.SimpleNamespace(  # type: ignore[arg-type]
                    exc_type=type(e), exc_value=e, exc_traceback=e.__traceback__,
                    err_msg="Exception in agentrt.Runtime's on_event callback", object=on_event))


class Runtime:
    """A set of concurrent tasks with their own event loop, on a native
    thread of their own. Use it as a context manager, or call close().

    Any thread may call spawn() and run() at any time. close() (and the
    end of a `with` block) kills every task still running, with whatever
    it started, and waits until all are reaped. A runtime still open at
    interpreter exit is closed then.

    max_running: tasks running at once (None: the number of CPUs).
    kill_orphans: make the runtime a child subreaper and kill what tasks
        leave behind outside their process group. Only for a process that
        starts no children of its own: it would kill the children of
        subprocess, multiprocessing and asyncio as strangers. Without it
        (the default), a task's process group is killed when it ends, and
        its cgroup's every process when it has one (limits, sandbox).
    admission: start a task only when its CPU and memory requests fit
        (docs/scheduling.md). require_limits: a task whose cgroup limits
        cannot be enforced fails to start instead of running without them.
    preempt: emergency/critical tasks may freeze low ones.
    sample_interval: sample every task's CPU, memory, processes and I/O
        at this interval (seconds); peaks go into the Result and the last
        sample into Task.stats().
    stream_limit: the default for spawn(stream=True): the live output kept
        per stream for iteration until it is read (older bytes are dropped).
    on_event: called with each event of every task as a dict (docs/metrics.md,
        "Events": {"event": "started", "id": ..., "pid": ..., ...}), the
        events of one task in the order they happened. It runs on a thread
        of its own ("agentrt-events"), never on the runtime's loop thread:
        that thread only copies each event into a queue, so a slow callback
        delays neither the tasks nor the loop (beyond 65536 undelivered
        events, new ones are dropped: stats()["events_dropped"]). The
        callback may call the runtime (spawn, cancel, close). close()
        returns once every event, the last tasks' "exited" included, was
        delivered. From asyncio, hand events over with
        loop.call_soon_threadsafe.
    The other arguments are art_runtime_config's (include/agentrt.h).
    """

    def __init__(
        self,
        max_running: int | None = None,
        *,
        kill_orphans: bool = False,
        admission: bool = False,
        require_limits: bool = False,
        preempt: bool = False,
        cgroup_parent: str | os.PathLike[str] | None = None,
        workspace_dir: str | os.PathLike[str] | None = None,
        warm_sandboxes: int = 0,
        cpu_capacity: float | None = None,
        memory_capacity: int | str | None = None,
        aging_step: float | str | datetime.timedelta | None = None,
        pressure_psi_pct: int | None = None,
        pressure_min_available: float | None = None,
        dep_history: int | None = None,
        sample_interval: float | str | datetime.timedelta | None = None,
        task_nofile_default: int | None = None,
        stream_limit: int = _agentrt.STREAM_LIMIT_DEFAULT,
        on_event: Callable[[dict[str, Any]], object] | None = None,
    ) -> None:
        if on_event is not None and not callable(on_event):
            raise TypeError("on_event: must be a callable taking one dict, or None")
        flags = 0
        if kill_orphans:
            flags |= _agentrt.RT_KILL_ORPHANS
        if require_limits:
            flags |= _agentrt.RT_REQUIRE_LIMITS
        if admission:
            flags |= _agentrt.RT_ADMISSION
        if preempt:
            flags |= _agentrt.RT_PREEMPT
        if max_running is not None and (isinstance(max_running, bool) or max_running < 1):
            raise ValueError("max_running: must be an integer >= 1, or None for the CPUs")
        cfg: dict[str, Any] = {
            "max_running": max_running or 0,
            "flags": flags,
            "cgroup_parent": os.fspath(cgroup_parent) if cgroup_parent is not None else None,
            "workspace_dir": os.fspath(workspace_dir) if workspace_dir is not None else None,
            "warm_sandboxes": warm_sandboxes,
            "cpu_capacity": None if cpu_capacity is None else round(cpu_capacity * 1000),
            "memory_capacity": _bytes("memory_capacity", memory_capacity),
            "aging_step_ns": _ns("aging_step", aging_step),
            "pressure_psi_pct": pressure_psi_pct,
            "pressure_min_available_permille": None if pressure_min_available is None
            else round(pressure_min_available * 1000),
            "dep_history": dep_history,
            "sample_interval_ns": _ns("sample_interval", sample_interval),
            "task_nofile_default": task_nofile_default,
            "events": on_event is not None,
        }
        if not isinstance(stream_limit, int) or stream_limit <= 0:
            raise ValueError("stream_limit: must be a number of bytes > 0")
        self._stream_limit = stream_limit
        self._core = _agentrt.Core(cfg)
        self._event_thread: threading.Thread | None = None
        if on_event is not None:
            # A daemon: interpreter exit joins non-daemon threads before
            # the atexit handler that closes the runtime, which ends it.
            self._event_thread = threading.Thread(
                target=_deliver_events, args=(self._core.event_queue(), on_event),
                name="agentrt-events", daemon=True)
            self._event_thread.start()
        with _live_lock:
            _live.add(self)

    # -------------------------------------------------------------- tasks

    def spawn(self, cmd: str | list[str] | tuple[str, ...], *, stream: bool | int = True,
              **options: Any) -> "Task":
        """Queues a task and returns at once.

        cmd: an argument vector, or a string for /bin/sh -c. options are
        the job spec's fields (docs/spec.md): id, env, inherit_env, cwd,
        stdin, input (str or bytes fed to stdin), timeout and grace
        (seconds, a timedelta or "30s"), limits ({"memory": "512M",
        "cpu_time": 10, "pids": 64, ...}), output, labels, sandbox,
        priority, group, kind, depends_on (ids or Tasks), requests,
        retries. A bad value raises SpecError naming the field.

        session=True makes the task a long-running peer spoken to in JSON
        lines (docs/sessions.md): Task.send() and request() write to its
        stdin, and each line it prints on stdout is a Message of
        Task.messages(). stdin="pipe" gives a stdin that Task.write_stdin()
        writes and close_stdin() ends.

        stream: keep live output for `for line in task.stdout` (True: up
        to the runtime's stream_limit per stream, unread; an int: that
        many bytes; False: none, only the Result's tails). For a session,
        the same limit applies to its unread messages.
        """
        spec = build_spec(cmd, options)
        limit = self._stream_limit if stream is True else _stream_limit(stream)
        handle = self._core.submit(spec, limit)
        task = Task(handle, self)
        if options.get("stdin") == "pipe" and not handle.session:
            task._stdin_pipe = True
        return task

    def spawn_batch(self, entries: Iterable[Mapping[str, Any]], *,
                    stream: bool | int = True) -> list["Task"]:
        """Queues several tasks at once (art_runtime_submit_batch): each
        entry is a dict of spawn's options with its "cmd". Their depends_on
        may name each other in any order, and they are taken or refused
        together: an unknown id or a cycle raises SpecError naming them
        (`dependency cycle: a -> b -> a`), and nothing is queued."""
        limit = self._stream_limit if stream is True else _stream_limit(stream)
        specs = []
        for i, entry in enumerate(entries):
            options = dict(entry)
            if "cmd" not in options:
                raise SpecError(f"entry {i}: cmd: required field is missing")
            cmd = options.pop("cmd")
            specs.append((build_spec(cmd, options), limit, options.get("stdin") == "pipe"))
        handles = self._core.submit_batch([(spec, lim) for spec, lim, _ in specs])
        tasks = []
        for handle, (_, _, pipe) in zip(handles, specs):
            task = Task(handle, self)
            if pipe and not handle.session:
                task._stdin_pipe = True
            tasks.append(task)
        return tasks

    def run(self, cmd: str | list[str] | tuple[str, ...], *, check: bool = False,
            **options: Any) -> Result:
        """Runs one task to its end and returns its Result; the calling
        thread waits with the GIL released. check=True raises TaskFailed
        (TaskTimeout, MemoryLimitExceeded, ...) unless it exited 0. If the
        wait is interrupted (KeyboardInterrupt), the task is cancelled."""
        options.setdefault("stream", False)
        task = self.spawn(cmd, **options)
        try:
            result = task.wait()
        except BaseException:
            task.cancel()
            raise
        assert result is not None
        return result.check() if check else result

    def cancel_all(self) -> None:
        """Cancels every queued and running task."""
        self._core.cancel_all()

    # -------------------------------------------------------------- control

    def set_max_running(self, n: int | None) -> None:
        self._core.set_max_running(n or 0)

    def set_warm_sandboxes(self, n: int) -> None:
        self._core.set_warm_sandboxes(n)

    def group_weight(self, group: str, weight: int) -> None:
        self._core.control("group_weight", group, weight)

    def group_max_running(self, group: str, n: int) -> None:
        self._core.control("group_max_running", group, n)

    def group_rate(self, group: str, per_second: float, burst: int = 1) -> None:
        self._core.control("group_rate", group, 0, per_second, burst)

    def kind_max_running(self, kind: str, n: int) -> None:
        self._core.control("kind_max_running", kind, n)

    def kind_rate(self, kind: str, per_second: float, burst: int = 1) -> None:
        self._core.control("kind_rate", kind, 0, per_second, burst)

    def cancel_group(self, group: str) -> None:
        self._core.control("cancel_group", group)

    def stats(self) -> dict[str, Any]:
        """The runtime's counters (art_runtime_stats; approximate while
        tasks move)."""
        return self._core.stats()

    def metrics(self, openmetrics: bool = False) -> str:
        """Prometheus text (or OpenMetrics) of the runtime (docs/metrics.md)."""
        return self._core.metrics(_agentrt.METRICS_OPENMETRICS if openmetrics
                                  else _agentrt.METRICS_PROMETHEUS)

    # -------------------------------------------------------------- lifetime

    @property
    def closed(self) -> bool:
        return self._core.closed

    def close(self) -> None:
        """Kills every task (SIGKILL to its process group, and to its
        cgroup when it has one), reaps everything, and stops the loop
        thread. Tasks not yet ended end as "cancelled". Idempotent. With
        on_event, returns once every event was delivered (unless called
        from the callback itself)."""
        self._core.close()
        th = self._event_thread
        if th is not None and th is not threading.current_thread():
            th.join()
        with _live_lock:
            _live.discard(self)

    def __enter__(self) -> "Runtime":
        if self.closed:
            raise RuntimeClosed("the runtime is closed")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<agentrt.Runtime {'closed' if self.closed else 'open'}>"


class OutputStream:
    """The live stdout or stderr of a task, for `for line in task.stdout`.
    Lines are str (UTF-8, invalid bytes replaced) with their "\\n"; use
    lines(binary=True) for bytes. Iteration blocks (GIL released) until a
    line comes and ends when the task has ended and everything was read.
    Each chunk is read once: one consumer per stream."""

    __slots__ = ("_h", "_stream", "_buf", "_scan", "_eof", "_lock", "name")

    def __init__(self, handle: _agentrt.Handle, stream: int, name: str) -> None:
        self._h = handle
        self._stream = stream
        self._buf = bytearray()
        self._scan = 0
        self._eof = False
        self._lock = threading.Lock()
        self.name = name

    # The line splitter, shared with the async iterator.
    def _pop_line(self) -> bytes | None:
        i = self._buf.find(b"\n", self._scan)
        if i >= 0:
            line = bytes(self._buf[: i + 1])
            del self._buf[: i + 1]
            self._scan = 0
            return line
        self._scan = len(self._buf)
        if self._eof and self._buf:
            line = bytes(self._buf)
            self._buf.clear()
            self._scan = 0
            return line
        return None

    def _feed(self, chunk: bytes) -> None:
        if chunk:
            self._buf += chunk
        else:
            self._eof = True

    def readline(self, timeout: float | None = None) -> bytes | None:
        """The next line as bytes; b"" at the end; None if none came
        within timeout seconds."""
        with self._lock:
            while True:
                line = self._pop_line()
                if line is not None:
                    return line
                if self._eof:
                    return b""
                chunk = self._h.read(self._stream, True, timeout)
                if chunk is None:
                    return None
                self._feed(chunk)

    @overload
    def lines(self, *, binary: Literal[False] = ...) -> Iterator[str]: ...
    @overload
    def lines(self, *, binary: Literal[True]) -> Iterator[bytes]: ...

    def lines(self, *, binary: bool = False) -> Iterator[Any]:
        """The lines until the end of the task, as str (or bytes)."""
        while True:
            line = self.readline()
            if not line:
                return
            yield line if binary else line.decode("utf-8", errors="replace")

    def __iter__(self) -> Iterator[str]:
        return self.lines()

    def read(self) -> bytes:
        """Everything until the end of the task."""
        parts = []
        with self._lock:
            parts.append(bytes(self._buf))
            self._buf.clear()
            self._scan = 0
            while not self._eof:
                chunk = self._h.read(self._stream, True, None)
                if chunk is None:  # cannot happen without a timeout
                    continue
                self._feed(chunk)
                parts.append(chunk)
        return b"".join(parts)

    @property
    def dropped(self) -> int:
        """Bytes dropped because nobody read them within the stream limit."""
        return self._h.dropped(self._stream)

    def __repr__(self) -> str:
        return f"<agentrt.OutputStream {self.name}>"


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One line a session task printed on stdout (docs/sessions.md).

    data: the parsed JSON object when the line is exactly one (a dict),
        else None (a log line, an array, a half-written object).
    text: the line as str (UTF-8, invalid bytes replaced), without its
        newline.
    id: the object's top-level "id" as a string (an integer as written:
        "42"), else None.
    """

    data: Any
    text: str
    id: str | None

    @property
    def is_json(self) -> bool:
        return self.data is not None


def _message(item: tuple[str, bool, str | None]) -> Message:
    text, is_json, mid = item
    data = None
    if is_json:
        try:
            data = json.loads(text)
        except ValueError:  # valid JSON Python refuses: an integer of > 4300 digits
            pass
    return Message(data, text, mid)


def _line(msg: Any) -> bytes | bytearray | memoryview:
    """One line for a session: JSON for a dict or list, as given for str
    and bytes."""
    if isinstance(msg, (bytes, bytearray, memoryview)):
        return msg
    if isinstance(msg, str):
        return msg.encode("utf-8")
    if isinstance(msg, (Mapping, list, tuple)):
        if isinstance(msg, Mapping) and not isinstance(msg, dict):
            msg = dict(msg)
        try:
            return json.dumps(msg, ensure_ascii=False, allow_nan=False,
                              separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: \u escapes are valid JSON
            return json.dumps(msg, allow_nan=False, separators=(",", ":")).encode("ascii")
    raise TypeError(f"a message is a dict or list (sent as JSON), or a str or bytes line, "
                    f"not {type(msg).__name__}")


_request_ids = itertools.count(1)


def _request(msg: Any) -> tuple[bytes | bytearray | memoryview, str]:
    """The line of a request and the id its answer will carry: the
    message's "id", or a fresh one put in."""
    if not isinstance(msg, Mapping):
        raise TypeError(f"a request is a dict (a JSON object), not {type(msg).__name__}")
    rid = msg.get("id")
    if rid is None:
        rid = f"agentrt-{next(_request_ids)}"
        msg = {"id": rid, **{k: v for k, v in msg.items() if k != "id"}}
    elif isinstance(rid, bool) or not isinstance(rid, (str, int)):
        raise ValueError(f"a request's id must be a string or an integer, not {rid!r}")
    # The runtime hands over an integer id as written: 42 comes back as "42".
    return _line(msg), rid if isinstance(rid, str) else str(rid)


class MessageStream:
    """The messages of a session task (Task.messages()): each line it
    prints on stdout, as a Message, in order. `for m in stream` blocks
    (GIL released) until one comes and ends when the task has ended and
    every message was read; `async for m in stream` does the same without
    blocking the event loop (woken through its eventfd, no polling).

    Each message is read once: use one consumer. The answers to request()
    never come here. Unread messages are kept up to the task's stream
    limit (spawn's `stream`), beyond which the oldest are dropped
    (`dropped` counts them)."""

    __slots__ = ("_h", "_buf", "_eof", "_lock", "__weakref__")

    def __init__(self, handle: _agentrt.Handle) -> None:
        self._h = handle
        self._buf: collections.deque[tuple[str, bool, str | None]] = collections.deque()
        self._eof = False
        self._lock = threading.Lock()

    # Shared with the async iterator (_aio.iter_messages).
    def _pop(self) -> Message | None:
        try:
            return _message(self._buf.popleft())
        except IndexError:
            return None

    def _feed(self, batch: list[tuple[str, bool, str | None]]) -> None:
        if batch:
            self._buf.extend(batch)
        else:
            self._eof = True

    def get(self, timeout: float | None = None) -> Message | None:
        """The next message; None if none came within timeout seconds, or
        at the end (the task has ended and every message was read: then
        `ended` is True)."""
        with self._lock:
            while True:
                m = self._pop()
                if m is not None or self._eof:
                    return m
                batch = self._h.recv(True, timeout)
                if batch is None:
                    return None
                self._feed(batch)

    @property
    def ended(self) -> bool:
        """Whether the task has ended and every message was read."""
        with self._lock:
            if not self._buf and not self._eof:
                batch = self._h.recv(False)
                if batch is not None:
                    self._feed(batch)
            return self._eof and not self._buf

    @property
    def dropped(self) -> int:
        """Messages dropped because nobody read them within the limit."""
        return self._h.messages_dropped

    def __iter__(self) -> Iterator[Message]:
        while True:
            m = self.get()
            if m is None:
                return
            yield m

    def __aiter__(self) -> AsyncIterator[Message]:
        from ._aio import iter_messages

        return iter_messages(self)

    def __repr__(self) -> str:
        return f"<agentrt.MessageStream of {self._h.id!r}>"


_messages_lock = threading.Lock()


class Task:
    """One task of a Runtime (from spawn). Thread-safe. Awaitable: `await
    task` gives its Result, and cancelling the awaiting coroutine cancels
    the task."""

    __slots__ = ("_h", "_runtime", "_result", "_messages", "_stdin_pipe", "stdout", "stderr",
                 "__weakref__")

    def __init__(self, handle: _agentrt.Handle, runtime: Runtime) -> None:
        self._h = handle
        self._runtime = runtime
        self._result: Result | None = None
        self._messages: MessageStream | None = None  # made on first use
        self._stdin_pipe = False  # spawned with stdin="pipe"
        self.stdout = OutputStream(handle, STDOUT, "stdout")
        self.stderr = OutputStream(handle, STDERR, "stderr")

    @property
    def id(self) -> str | None:
        return self._h.id

    @property
    def pid(self) -> int | None:
        """The leader's pid once started (a sandbox's init); None before."""
        return self._h.pid

    @property
    def state(self) -> Literal["queued", "running", "stopping", "done"]:
        ph = self._h.phase
        if ph == "held":
            return "queued"
        if ph == "frozen":
            return "running"
        return ph  # type: ignore[return-value]

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    def done(self) -> bool:
        return self._h.done()

    def cancel(self) -> bool:
        """Stops the task: a queued one ends at once; a running one's
        process group gets SIGTERM, then SIGKILL after its grace (spec
        "grace", 5 s by default). It ends as "cancelled". Returns False if
        it had already ended. Does not wait."""
        return self._h.cancel()

    def _make_result(self) -> Result:
        if self._result is None:
            d = self._h.result()
            if d is None:
                raise TaskNotDone(f"task {self.id!r} has not ended")
            self._result = Result(**d)
        return self._result

    def wait(self, timeout: float | None = None) -> Result | None:
        """Waits until the task ends (GIL released) and returns its
        Result, or None after timeout seconds."""
        if not self._h.wait(timeout):
            return None
        return self._make_result()

    def result(self, *, raise_on_failure: bool = False) -> Result:
        """The Result of a task that has ended; TaskNotDone if it has not.
        raise_on_failure=True raises TaskFailed (or its subclass for a
        timeout, cancel, OOM kill, failed start) unless it exited 0."""
        r = self._make_result()
        return r.check() if raise_on_failure else r

    def stats(self) -> dict[str, Any]:
        """What is known now: state, phase (also "held", "frozen"), pid,
        attempt, elapsed_s (since it started), queued_s, stdout_bytes and
        stderr_bytes so far, and with Runtime(sample_interval=...) the last
        sample (cpu_pct, rss_bytes, procs, io_*)."""
        info = self._h.info()
        info["state"] = self.state
        sample = info.pop("sample")
        if sample:
            s = json.loads(sample)
            info["sample"] = {k: v for k, v in s.items() if k not in ("ts", "event", "id")}
        else:
            info["sample"] = None
        return info

    def pause(self) -> bool:
        """Stops the running task where it is (its cgroup's freezer, else
        SIGSTOP of its process group); its timeout stops too. False if it
        has ended. Takes effect at the runtime loop's next turn."""
        return bool(self._h.pause())

    def resume(self) -> bool:
        """Lets a paused task go on. False if it has ended."""
        return bool(self._h.resume())

    def explain(self, timeout: float = 1.0) -> str | None:
        """Why the task waits (or waited) before it starts, largest reasons
        first, as the scheduler sees it now: "waited 1.20s: dependencies
        0.70s, group cap 0.40s, priority 0.10s", or "did not wait". Once
        the task has ended: its Result's `waited`. None if the runtime's
        loop did not answer within timeout seconds."""
        text = self._h.explain(timeout)
        if text is None and self._h.done():
            r = self.wait(0)
            return r.waited if r is not None else None
        return text

    def set_limit(self, name: str, value: Any) -> bool:
        """Changes a cgroup limit of the running task until its run ends
        (art_task_set_limit): "memory", "memory_high", "swap" (bytes or
        "512M"), "pids" (a count), "cpu" (CPUs, 1.5) - None for no limit -,
        "cpu_weight", "io_weight" (1..10000). As at the start, a memory
        limit comes without swap unless the spec set swap. False if the
        task has ended. Raises ValueError for a limit that cannot change
        while the task runs (rlimits) or a value out of range, and
        agentrt.Error when the task has no cgroup of its own (sandbox
        "none") or the kernel refuses (cgroup v1: memory below what the
        task uses)."""
        if name not in _LIVE_LIMITS:
            raise ValueError(f"set_limit: {name!r} cannot change while a task runs "
                             f"(one of {', '.join(sorted(_LIVE_LIMITS))})")
        if value is None:
            if name not in ("memory", "memory_high", "swap", "pids", "cpu"):
                raise ValueError(f"set_limit: {name} needs a value")
            v = _UNLIMITED
        elif name in ("memory", "memory_high", "swap"):
            v = _bytes(name, value) or 0  # not None: value is not None
        elif name == "cpu":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError("set_limit: cpu must be a number of CPUs > 0")
            v = max(1, round(value * 1000))
        else:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"set_limit: {name} must be an integer")
            v = value
        return bool(self._h.set_limit(name, v))

    def live(self) -> dict[str, Any] | None:
        """State and usage read now from the task's cgroup or /proc:
        state, paused, frozen, pid, attempts, uptime_s, cpu_s, rss_bytes,
        procs, stopped_s (paused or frozen so far). None once it ended."""
        live: dict[str, Any] | None = self._h.live()
        return live

    # -------------------------------------------------------------- sessions, stdin

    def send(self, msg: Any) -> None:
        """Sends one line to a session task (spawned with session=True): a
        dict or list as JSON, a str or bytes as it is (a newline is added
        unless it ends with one; none may be inside). Any thread; never
        blocks; also before the task starts (the line waits for it).
        Lines from one thread arrive in order and lines are never
        interleaved. Raises SessionClosed once the task has ended,
        stopped reading its stdin or close_stdin() was called, and
        SessionQueueFull when 16 MiB wait to be written."""
        self._h.send(_line(msg))

    def messages(self) -> MessageStream:
        """The lines the session task prints on stdout, as Messages:
        `for m in task.messages()` or `async for m in task.messages()`.
        Always the same stream for a task."""
        if not self._h.session:
            raise Error("not a session task: spawn it with session=True")
        if self._messages is None:
            with _messages_lock:
                if self._messages is None:
                    self._messages = MessageStream(self._h)
        return self._messages

    def messages_async(self) -> AsyncIterator[Message]:
        """`async for m in task.messages_async()`, as for stdout_async()."""
        return self.messages().__aiter__()

    def request(self, msg: Mapping[str, Any], timeout: float | None = None) -> Message:
        """Sends msg (a dict) to the session and returns the first message
        that carries its id; an "id" is put in if it has none. The answer
        goes to this call alone, never to messages(), so many threads may
        make requests at once beside a reader of messages(). Waits with
        the GIL released; TimeoutError after timeout seconds (an answer
        that comes later goes to messages()); SessionClosed if the task
        ends first. Ids are compared as strings: 42 and "42" are one."""
        line, rid = _request(msg)
        h = self._h
        h.expect(rid)
        try:
            h.send(line)
            reply = h.reply(rid, True, timeout)
        except BaseException:
            h.unexpect(rid)
            raise
        return self._answer(rid, reply, timeout)

    def _answer(self, rid: str, reply: Any, timeout: float | None) -> Message:
        if reply is None:
            self._h.unexpect(rid)
            raise TimeoutError(f"task {self.id!r}: no answer to request {rid!r} within "
                               f"{timeout} s")
        if reply is False:
            raise SessionClosed(f"task {self.id!r} ended before it answered request {rid!r}")
        return _message(reply)

    def write_stdin(self, data: bytes | bytearray | memoryview | str,
                    timeout: float | None = None) -> int:
        """Writes to the stdin of a task spawned with stdin="pipe" (str as
        UTF-8). Waits, the GIL released, until the task has started and
        has read what does not fit in the pipe. Returns the bytes written:
        all, unless timeout seconds passed first. One call's bytes are
        never interleaved with another's. SessionClosed once the task
        has ended, stopped reading or close_stdin() was called."""
        if not self._stdin_pipe:
            if self._h.session:
                raise Error("a session's stdin is written with send() and request()")
            raise Error('stdin is not a pipe: spawn the task with stdin="pipe"')
        if isinstance(data, str):
            data = data.encode("utf-8")
        n: int = self._h.write_stdin(data, timeout)
        return n

    def close_stdin(self) -> bool:
        """Ends the task's input: it reads end of file once what was
        written (or sent, for a session) is read. Before the task starts,
        it reads end of file at once. False if it was closed already or
        the task has ended. The stdin also closes when the Task object
        goes, as a file's would."""
        if not self._stdin_pipe and not self._h.session:
            raise Error('stdin is not a pipe: spawn the task with stdin="pipe" or session=True')
        return bool(self._h.close_stdin())

    # -------------------------------------------------------------- asyncio

    async def wait_async(self) -> Result:
        """Waits without blocking the event loop (woken through an eventfd
        the loop watches, no polling). If the awaiting coroutine is
        cancelled, the task is cancelled too."""
        from ._aio import wait_async

        return await wait_async(self)

    def __await__(self) -> Generator[Any, None, Result]:
        return self.wait_async().__await__()

    @overload
    def stdout_async(self, *, binary: Literal[False] = ...) -> AsyncIterator[str]: ...
    @overload
    def stdout_async(self, *, binary: Literal[True]) -> AsyncIterator[bytes]: ...

    def stdout_async(self, *, binary: bool = False) -> AsyncIterator[Any]:
        """`async for line in task.stdout_async()`: the live stdout lines."""
        from ._aio import iter_lines

        return iter_lines(self, self.stdout, binary)

    @overload
    def stderr_async(self, *, binary: Literal[False] = ...) -> AsyncIterator[str]: ...
    @overload
    def stderr_async(self, *, binary: Literal[True]) -> AsyncIterator[bytes]: ...

    def stderr_async(self, *, binary: bool = False) -> AsyncIterator[Any]:
        from ._aio import iter_lines

        return iter_lines(self, self.stderr, binary)

    async def request_async(self, msg: Mapping[str, Any],
                            timeout: float | None = None) -> Message:
        """request() without blocking the event loop. Cancelling the
        awaiting coroutine gives the request up, not the task."""
        from ._aio import request_async

        return await request_async(self, msg, timeout)

    def __repr__(self) -> str:
        pid = self.pid
        return (f"<agentrt.Task id={self.id!r} pid={pid} state={self.state!r}>")
