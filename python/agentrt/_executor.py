"""agentrt.Executor: a concurrent.futures.Executor whose workers are warm
Python processes, each an agentrt task (docs/python.md, "Executor").

One dispatcher thread owns a selector over the executor's listening Unix
socket, the workers' sockets and a wake-up pipe; its select() timeout is
the nearest per-task deadline. A submitting thread hands a task straight to
an idle worker when there is one (one hop less), else queues it. A worker's
end (agentrt's Result) is reported by a small thread per worker that waits
on its Task with the GIL released.
"""
from __future__ import annotations

import concurrent.futures
import hmac
import itertools
import json
import os
import pickle
import secrets
import selectors
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures._base import (  # type: ignore[attr-defined]
    CANCELLED,
    CANCELLED_AND_NOTIFIED,
    FINISHED,
    PENDING,
    RUNNING,
)
from typing import Any

from ._errors import MemoryLimitExceeded, TaskTimeout, WorkerCrashed
from ._result import Result
from ._runtime import Runtime, Task, _bytes

try:
    import cloudpickle as _pickler
except ImportError:  # pragma: no cover - depends on the host
    _pickler = pickle  # type: ignore[assignment]

__all__ = ["Executor", "ExecutorFuture", "RemoteTraceback"]

_LEN = struct.Struct(">I")
_WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker.py")
_TOKEN_LEN = 32
_HELLO = _TOKEN_LEN + 4
_START_FAILURES = 3  # workers in a row that die before connecting: the pool is broken


class RemoteTraceback(Exception):
    """The traceback text of an exception raised in a worker; set as the
    __cause__ of the exception re-raised in the caller."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return "\n\"\"\"\n" + self.tb.rstrip("\n") + "\n\"\"\""


class ExecutorFuture(concurrent.futures.Future):  # type: ignore[type-arg]
    """The Future of Executor.submit. Unlike concurrent.futures, cancel()
    also works on a RUNNING future: the worker running it is killed (its
    process tree, SIGKILL), the future ends cancelled (result() raises
    CancelledError) and a warm spare worker takes its place. `pid` is the
    pid of the worker process running it (None before it runs)."""

    def __init__(self, executor: "Executor") -> None:
        super().__init__()
        self._executor = executor
        self._worker: _Worker | None = None

    @property
    def pid(self) -> int | None:
        w = self._worker
        return w.pid if w is not None else None

    def cancel(self) -> bool:
        with self._condition:
            if self._state == FINISHED:
                return False
            if self._state in (CANCELLED, CANCELLED_AND_NOTIFIED):
                return True
            if self._state == PENDING:
                self._state = CANCELLED
                self._condition.notify_all()
                running = False
            else:
                running = True
        if not running:
            self._invoke_callbacks()
            return True
        return self._executor._cancel_running(self)

    def _set_cancelled_running(self) -> bool:
        """RUNNING -> cancelled, with the waiters of wait()/as_completed
        told (as set_running_or_notify_cancel does for a pending one)."""
        with self._condition:
            if self._state != RUNNING:
                return self._state in (CANCELLED, CANCELLED_AND_NOTIFIED)
            self._state = CANCELLED_AND_NOTIFIED
            for waiter in self._waiters:
                waiter.add_cancelled(self)
            self._condition.notify_all()
        self._invoke_callbacks()
        return True


class _Item:
    __slots__ = ("future", "payload", "timeout", "memory")

    def __init__(self, future: ExecutorFuture, payload: bytes, timeout: float | None,
                 memory: int | None) -> None:
        self.future = future
        self.payload = payload
        self.timeout = timeout
        self.memory = memory


class _Worker:
    __slots__ = ("task", "pid", "sock", "state", "item", "deadline", "ntasks", "rbuf",
                 "dedicated", "killed", "id", "pidfd")

    def __init__(self, task: Task, wid: int, dedicated: _Item | None) -> None:
        self.task = task
        self.id = wid
        self.pid: int | None = None
        self.sock: socket.socket | None = None
        # starting -> idle <-> busy -> retired | dead
        self.state = "starting"
        self.item: _Item | None = None
        self.deadline: float | None = None
        self.ntasks = 0
        self.rbuf = bytearray()
        self.dedicated = dedicated  # the one item this worker was started for
        self.killed: str | None = None  # "cancel", "timeout", "shutdown"
        self.pidfd: int | None = None


def _dumps(obj: Any) -> bytes:
    return _pickler.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


class Executor(concurrent.futures.Executor):
    """Runs Python callables in warm worker processes, each an agentrt
    task: max_workers of them run callables, and one more is kept started
    and connected so that a worker that is killed (cancel, timeout) or
    crashes is replaced at once.

    max_workers: callables running at once (None: the number of CPUs).
    initializer(*initargs): run in each worker when it starts; preload:
        modules imported in each worker when it starts.
    max_tasks_per_child: a worker is retired and replaced after that many.
    timeout: the default per-task timeout in seconds (TaskTimeout).
    memory_limit: every worker's memory limit ("512M", bytes), a cgroup
        limit; a callable that goes over it fails with MemoryLimitExceeded.
    runtime: an agentrt.Runtime to start the workers in (default: one of
        the executor's own, closed by shutdown()).

    Per-task options: submit_with(fn, args, kwargs, timeout=..., memory_limit=...).
    """

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        preload: Iterable[str] = (),
        max_tasks_per_child: int | None = None,
        timeout: float | None = None,
        memory_limit: int | str | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError("max_workers: must be an integer >= 1")
        if max_tasks_per_child is not None and (not isinstance(max_tasks_per_child, int)
                                                or max_tasks_per_child < 1):
            raise ValueError("max_tasks_per_child: must be an integer >= 1 or None")
        self._max_workers = max_workers
        self._max_tasks = max_tasks_per_child
        self._timeout = _seconds("timeout", timeout)
        self._memory = _bytes("memory_limit", memory_limit)
        self._own_runtime = runtime is None
        self._rt = runtime if runtime is not None else Runtime(max_running=2 * max_workers + 2)
        setup = None
        preload = tuple(preload)
        if initializer is not None or preload:
            setup = _dumps((preload, initializer, tuple(initargs))).hex()

        self._dir = tempfile.mkdtemp(prefix="agentrt-executor-")
        os.chmod(self._dir, 0o700)
        path = os.path.join(self._dir, "s")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(256)
        self._listener.setblocking(False)
        self._token = secrets.token_hex(_TOKEN_LEN // 2)
        env = {"AGENTRT_EXECUTOR_SOCKET": path, "AGENTRT_EXECUTOR_TOKEN": self._token,
               "AGENTRT_EXECUTOR_PATH": json.dumps([p for p in sys.path if isinstance(p, str)])}
        if setup is not None:
            env["AGENTRT_EXECUTOR_SETUP"] = setup
        main = _main_spec()
        if main:
            env["AGENTRT_EXECUTOR_MAIN"] = main
        self._env = env

        self._lock = threading.Lock()
        self._pending: deque[_Item] = deque()
        self._workers: dict[int, _Worker] = {}
        self._by_pid: dict[int, _Worker] = {}
        self._idle: deque[_Worker] = deque()
        self._busy = 0
        self._events: deque[tuple[_Worker, Result]] = deque()
        self._ids = itertools.count(1)
        self._shutdown = False
        self._broken: str | None = None
        self._start_failures = 0

        self._woken = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._sel.register(self._listener, selectors.EVENT_READ, "listen")

        with self._lock:
            self._fill()
        self._thread = threading.Thread(target=self._run, name="agentrt-executor",
                                        daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- API

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> ExecutorFuture:
        """Runs fn(*args, **kwargs) in a worker; the executor's timeout
        and memory limit apply."""
        return self.submit_with(fn, args, kwargs)

    def submit_with(self, fn: Callable[..., Any], args: Iterable[Any] = (),
                    kwargs: Mapping[str, Any] | None = None, *,
                    timeout: float | None = None,
                    memory_limit: int | str | None = None) -> ExecutorFuture:
        """submit() with per-task options: timeout (seconds; overrides the
        executor's), memory_limit (runs the call in a worker of its own,
        started for it with that limit, and retired after it)."""
        tmo = _seconds("timeout", timeout)
        if tmo is None:
            tmo = self._timeout
        mem = _bytes("memory_limit", memory_limit)
        payload = _dumps((fn, tuple(args), dict(kwargs or {})))
        fut = ExecutorFuture(self)
        item = _Item(fut, payload, tmo, mem)
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._broken:
                raise concurrent.futures.BrokenExecutor(self._broken)
            if mem is not None:
                self._spawn(item)
                return fut
            if not self._pending and self._idle and self._busy < self._max_workers:
                w = self._idle.popleft()
                if self._start(w, item):
                    if tmo is None:
                        return fut
                    self._wake()  # the dispatcher's select() needs the new deadline
                    return fut
            self._pending.append(item)
        self._wake()
        return fut

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any],
            timeout: float | None = None, chunksize: int = 1) -> Any:
        """As concurrent.futures: results in order; `timeout` is for the
        whole iteration (on expiry the calls not yet done are cancelled,
        running ones included). chunksize is accepted and ignored."""
        return super().map(fn, *iterables, timeout=timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new submissions; the workers exit once the queued and running
        calls are done. cancel_futures=True cancels the queued calls and
        also the running ones (their workers are killed). wait=True waits
        until every worker process is gone."""
        to_cancel: list[ExecutorFuture] = []
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                to_cancel = [i.future for i in self._pending]
                self._pending.clear()
                to_cancel += [w.item.future for w in self._workers.values() if w.item]
        for f in to_cancel:
            f.cancel()
        self._wake()
        if wait and self._thread is not threading.current_thread():
            self._thread.join()

    def worker_pids(self) -> list[int]:
        """The pids of the worker processes now started (idle, busy or
        spare)."""
        with self._lock:
            return [w.pid for w in self._workers.values()
                    if w.pid is not None and w.state in ("idle", "busy")]

    @property
    def runtime(self) -> Runtime:
        return self._rt

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True)

    # ---------------------------------------------------------------- internals (lock held)

    def _wake(self) -> None:
        if self._woken:  # one byte in the pipe is enough until it is drained
            return
        self._woken = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _spawn(self, dedicated: _Item | None = None) -> None:
        wid = next(self._ids)
        opts: dict[str, Any] = {"grace": 0, "stream": False, "env": self._env,
                                "id": f"agentrt-executor-worker-{wid}"}
        mem = dedicated.memory if dedicated is not None else self._memory
        if mem is not None:
            opts["limits"] = {"memory": mem}
        task = self._rt.spawn([sys.executable, _WORKER], **opts)
        w = _Worker(task, wid, dedicated)
        self._workers[wid] = w
        threading.Thread(target=self._reap, args=(w,), name=f"agentrt-executor-reap-{wid}",
                         daemon=True).start()

    def _fill(self) -> None:
        if self._shutdown or self._broken:
            return
        live = sum(1 for w in self._workers.values()
                   if w.dedicated is None and w.state in ("starting", "idle", "busy"))
        for _ in range(self._max_workers + 1 - live):
            self._spawn()

    def _start(self, w: _Worker, item: _Item) -> bool:
        """Sends item to the idle worker w. False if the future was
        cancelled meanwhile (w goes back to the idle ones)."""
        if not item.future.set_running_or_notify_cancel():
            self._idle.appendleft(w)
            return False
        assert w.sock is not None
        w.state = "busy"
        w.item = item
        item.future._worker = w
        self._busy += 1
        w.deadline = time.monotonic() + item.timeout if item.timeout is not None else None
        try:
            w.sock.sendall(_LEN.pack(len(item.payload)) + item.payload)
        except OSError:
            # It died before we noticed: its reaper reports how.
            self._lose(w, None)
        return True

    def _lose(self, w: _Worker, killed: str | None) -> None:
        """w is gone or going: no more work for it."""
        if w.state == "busy":
            self._busy -= 1
        if w.state == "idle":
            try:
                self._idle.remove(w)
            except ValueError:
                pass
        w.state = "dead"
        if killed and w.pidfd is not None:
            # SIGKILL to the worker at once, from this thread, race-free
            # (a pidfd); the Task's cancel then kills its group/cgroup.
            try:
                signal.pidfd_send_signal(w.pidfd, signal.SIGKILL)
            except OSError:
                pass
        if killed and not w.killed:
            w.killed = killed
        if w.sock is not None:
            try:
                self._sel.unregister(w.sock)
            except (KeyError, ValueError):
                pass
            w.sock.close()
            w.sock = None

    def _kill(self, w: _Worker, why: str) -> None:
        # The replacement is spawned once w is reaped (_dead): the spare
        # takes the next call meanwhile, and the runtime's loop reaps w
        # first instead of starting a process.
        self._lose(w, why)
        w.task.cancel()

    def _cancel_running(self, fut: ExecutorFuture) -> bool:
        with self._lock:
            w = fut._worker
            if w is None or w.item is None or w.item.future is not fut:
                return fut.cancelled()
            w.item = None
            self._kill(w, "cancel")
        self._wake()
        return fut._set_cancelled_running()

    # ---------------------------------------------------------------- dispatcher

    def _reap(self, w: _Worker) -> None:
        r = w.task.wait()
        assert r is not None
        self._events.append((w, r))
        self._wake()

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._close()

    def _loop(self) -> None:
        sel = self._sel
        while True:
            with self._lock:
                now = time.monotonic()
                deadlines = [w.deadline for w in self._workers.values()
                             if w.deadline is not None and w.state == "busy"]
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            for key, _ in sel.select(timeout):
                if key.data is None:
                    # Drain, then clear the flag: a waker that found it set
                    # queued its work before, and that work is looked at
                    # below, after this.
                    try:
                        while os.read(self._wake_r, 4096):
                            pass
                    except BlockingIOError:
                        pass
                    self._woken = False
                elif key.data == "listen":
                    self._accept()
                else:
                    self._readable(key.data)
            done: list[tuple[ExecutorFuture, BaseException]] = []
            with self._lock:
                now = time.monotonic()
                for w in list(self._workers.values()):
                    if w.state == "busy" and w.deadline is not None and now >= w.deadline:
                        item = w.item
                        w.item = None
                        self._kill(w, "timeout")
                        if item is not None:
                            done.append((item.future, TaskTimeout(
                                None, f"the call timed out after {item.timeout:g}s "
                                      f"(worker pid {w.pid} killed)")))
                while self._events:
                    w, r = self._events.popleft()
                    self._dead(w, r, done)
                self._dispatch()
                finished = self._shutdown and not self._pending and self._busy == 0 and \
                    not any(w.dedicated is not None and w.state != "dead"
                            for w in self._workers.values())
            for fut, exc in done:
                _finish(fut, exc=exc)
            if finished:
                return

    def _dispatch(self) -> None:
        while self._pending and self._idle and self._busy < self._max_workers:
            item = self._pending.popleft()
            w = self._idle.popleft()
            self._start(w, item)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            try:
                conn.settimeout(5.0)
                hello = b""
                while len(hello) < _HELLO:
                    chunk = conn.recv(_HELLO - len(hello))
                    if not chunk:
                        break
                    hello += chunk
                conn.settimeout(None)
            except OSError:
                conn.close()
                continue
            if len(hello) != _HELLO or not hmac.compare_digest(
                    hello[:_TOKEN_LEN], self._token.encode()):
                conn.close()
                continue
            pid = _LEN.unpack(hello[_TOKEN_LEN:])[0]
            with self._lock:
                w = next((x for x in self._workers.values()
                          if x.state == "starting" and x.task.pid == pid), None)
                if w is None:
                    conn.close()
                    continue
                w.pid = pid
                w.sock = conn
                try:
                    w.pidfd = os.pidfd_open(pid)
                except OSError:
                    w.pidfd = None
                self._by_pid[pid] = w
                self._start_failures = 0
                self._sel.register(conn, selectors.EVENT_READ, w)
                w.state = "idle"
                if w.dedicated is not None:
                    item, w.dedicated = w.dedicated, _DONE
                    self._start(w, item)
                    if w.state == "idle":  # cancelled before it started
                        self._idle.remove(w)
                        self._retire(w)
                else:
                    self._idle.append(w)

    def _retire(self, w: _Worker) -> None:
        """Closes w's socket: it exits by itself (code 0)."""
        if w.state == "busy":
            self._busy -= 1
        if w.state == "idle":
            try:
                self._idle.remove(w)
            except ValueError:
                pass
        w.state = "retired"
        if w.sock is not None:
            try:
                self._sel.unregister(w.sock)
            except (KeyError, ValueError):
                pass
            w.sock.close()
            w.sock = None

    def _readable(self, w: _Worker) -> None:
        sock = w.sock
        if sock is None:
            return
        try:
            data = sock.recv(1 << 20)
        except OSError:
            data = b""
        replies: list[tuple[ExecutorFuture, bytes]] = []
        with self._lock:
            if w.sock is not sock:
                return
            if not data:
                # The worker died (or closed): its reaper will say how; the
                # socket is done.
                item = w.item
                self._lose(w, None)
                w.item = item
                return
            w.rbuf += data
            while len(w.rbuf) >= 4:
                n = _LEN.unpack_from(w.rbuf)[0]
                if len(w.rbuf) < 4 + n:
                    break
                body = bytes(w.rbuf[4:4 + n])
                del w.rbuf[:4 + n]
                item = w.item
                w.item = None
                w.deadline = None
                if item is None:
                    continue
                replies.append((item.future, body))
                w.ntasks += 1
                if w.dedicated is not None or (self._max_tasks is not None
                                               and w.ntasks >= self._max_tasks):
                    self._retire(w)
                    self._fill()
                else:
                    self._busy -= 1
                    w.state = "idle"
                    self._idle.append(w)
            self._dispatch()
        for fut, body in replies:
            try:
                ok, value, tb = _pickler.loads(body)
            except Exception as e:  # an exception class the caller cannot import, ...
                _finish(fut, exc=e)
                continue
            if ok:
                _finish(fut, value=value)
            else:
                if isinstance(value, BaseException) and value.__cause__ is None and tb:
                    value.__cause__ = RemoteTraceback(tb)
                _finish(fut, exc=value)

    def _dead(self, w: _Worker, r: Result, done: list[tuple[ExecutorFuture, BaseException]]
              ) -> None:
        """w's process has ended with Result r (lock held)."""
        was = w.state
        item = w.item
        w.item = None
        if w.state != "dead" and w.state != "retired":
            self._lose(w, None)
        self._workers.pop(w.id, None)
        if w.pidfd is not None:
            os.close(w.pidfd)
            w.pidfd = None
        if w.pid is not None:
            self._by_pid.pop(w.pid, None)
        if w.killed is not None:
            pass  # cancel, timeout, shutdown: the future was already told
        elif item is not None:
            if r.status == "oom_killed":
                exc: BaseException = MemoryLimitExceeded(r)
            else:
                exc = WorkerCrashed(r, _crash_message(w, r))
            done.append((item.future, exc))
        elif was == "starting" and not self._shutdown:
            self._start_failures += 1
            if w.dedicated is not None and w.dedicated is not _DONE:
                done.append((w.dedicated.future, WorkerCrashed(r, _crash_message(w, r))))
            if self._start_failures >= _START_FAILURES:
                self._broken = ("agentrt.Executor: workers die before they start: "
                                + _crash_message(w, r))
                for it in self._pending:
                    done.append((it.future, concurrent.futures.BrokenExecutor(self._broken)))
                self._pending.clear()
                return
        self._fill()

    def _close(self) -> None:
        with self._lock:
            workers = list(self._workers.values())
            for w in workers:
                if w.state == "starting":  # not connected: nothing to tell it
                    w.task.cancel()
                if w.state != "dead":
                    self._retire(w)
        # Retired workers exit on EOF; give them a moment, then kill.
        deadline = time.monotonic() + 1.0
        for w in workers:
            if w.task.wait(max(0.0, deadline - time.monotonic())) is None:
                w.task.cancel()
        for w in workers:
            w.task.wait()
        if self._own_runtime:
            self._rt.close()
        self._sel.close()
        self._listener.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        shutil.rmtree(self._dir, ignore_errors=True)


_DONE: Any = object()  # a dedicated worker whose item was sent


def _finish(fut: ExecutorFuture, *, value: Any = None, exc: BaseException | None = None) -> None:
    try:
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(value)
    except concurrent.futures.InvalidStateError:
        pass  # cancelled meanwhile


def _crash_message(w: _Worker, r: Result) -> str:
    how = (f"exited with code {r.exit_code}" if r.status == "exited"
           else f"was killed by {r.signal_name}" if r.signal else r.status)
    tail = r.stderr_text.strip()[-2000:]
    msg = f"the worker process (pid {r.pid}) {how}"
    if r.message:
        msg += f": {r.message}"
    if tail:
        msg += f"; its stderr ends with:\n{tail}"
    return msg


def _main_spec() -> str | None:
    """How a worker finds the caller's __main__ (as multiprocessing's
    spawn does): "module:NAME" for `python -m NAME`, "path:FILE" for a
    script; None for an interactive interpreter or a package's __main__."""
    main = sys.modules.get("__main__")
    if main is None:
        return None
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", None)
    if name:
        if name == "__main__" or name.endswith(".__main__"):
            return None
        return f"module:{name}"
    path = getattr(main, "__file__", None)
    if path and path.endswith(".py") and os.path.exists(path):
        return f"path:{os.path.abspath(path)}"
    return None


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name}: must be a number of seconds >= 0 or None")
    return float(value)
