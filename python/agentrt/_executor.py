"""agentrt.Executor: a concurrent.futures.Executor whose workers are warm
Python processes, each an agentrt task (docs/python.md, "Executor").

One dispatcher thread owns a selector over the executor's listening Unix
socket, the workers' sockets and a wake-up pipe; its select() timeout is
the nearest per-task deadline. A submitting thread hands a task straight to
an idle worker when there is one (one hop less), else queues it. While
calls wait, busy workers are sent some ahead; the claim table (_claim.c)
settles, for each call sent, whether the worker started it or the executor
took it back. A worker's end (agentrt's Result) is reported by a small
thread per worker that waits on its Task with the GIL released.
"""
from __future__ import annotations

import concurrent.futures
import hmac
import importlib
import itertools
import json
import os
import pickle
import secrets
import select
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
from concurrent.futures._base import (
    CANCELLED,
    CANCELLED_AND_NOTIFIED,
    FINISHED,
    PENDING,
    RUNNING,
)
from typing import TYPE_CHECKING, Any

from . import _agentrt, _claim
from ._errors import (
    Error,
    MemoryLimitExceeded,
    SpecError,
    TaskStartFailed,
    TaskTimeout,
    WorkerCrashed,
)
from ._result import Result
from ._runtime import _LIVE_LIMITS, Runtime, Task, _bytes
from ._spec import build_spec

try:  # by name: cloudpickle is optional and has no type stubs
    _pickler: Any = importlib.import_module("cloudpickle")
except ImportError:  # pragma: no cover - depends on the host
    _pickler = pickle

# os.eventfd and its flags (Python 3.10+), which the typeshed of Debian 12's
# mypy does not know yet.
_os: Any = os

__all__ = ["Executor", "ExecutorFuture", "RemoteTraceback"]

_HEAD = struct.Struct(">III")  # length, claim slot, generation (_worker.py)
_SLOTS = 1 << 16  # calls in flight at most (the table is 1 MiB, touched as used)
# Calls sent ahead wait in the worker's socket buffer (about 200 KiB by
# default): with at most this much in a worker's calls, they fit, so that
# sending to a busy worker never blocks the dispatcher.
_AHEAD_MAX_BYTES = 64 << 10
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
    CancelledError) and a warm spare worker takes its place. A call sent
    ahead to a busy worker is RUNNING too (as in ProcessPoolExecutor); its
    cancel() takes it back without a kill. `pid` is the pid of the worker
    process it was sent to (None while it waits)."""

    # concurrent.futures.Future's internals, used as Future itself does
    # (its stub leaves them out).
    _state: str
    _condition: threading.Condition
    _waiters: list[Any]
    if TYPE_CHECKING:
        def _invoke_callbacks(self) -> None: ...

    def __init__(self, executor: "Executor") -> None:
        super().__init__()
        self._executor = executor
        self._item: _Item | None = None
        self._poke: int | None = None  # the eventfd of a thread in _wait_direct

    def result(self, timeout: float | None = None) -> Any:
        if self._state in (PENDING, RUNNING):
            timeout = self._executor._wait_direct(self, timeout)
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if self._state in (PENDING, RUNNING):
            timeout = self._executor._wait_direct(self, timeout)
        return super().exception(timeout)

    def set_result(self, result: Any) -> None:
        super().set_result(result)
        self._wake_direct()

    def set_exception(self, exception: BaseException | None) -> None:
        super().set_exception(exception)
        self._wake_direct()

    def _wake_direct(self) -> None:
        fd = self._poke
        if fd is not None:
            try:
                _os.eventfd_write(fd, 1)
            except OSError:
                pass

    @property
    def pid(self) -> int | None:
        it = self._item
        return it.pid if it is not None else None

    def started(self) -> bool:
        """True once a worker has begun the call (a RUNNING future may
        still be waiting at its worker, sent ahead)."""
        return self._executor._started(self)

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
            self._wake_direct()
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
        self._wake_direct()
        self._invoke_callbacks()
        return True


class _Item:
    __slots__ = ("future", "payload", "timeout", "limits", "worker", "slot", "gen", "pid")

    def __init__(self, future: ExecutorFuture, payload: bytes, timeout: float | None,
                 limits: dict[str, Any] | None) -> None:
        self.future = future
        self.payload = payload
        self.timeout = timeout
        self.limits = limits  # its own (submit_with), set on its worker for it
        self.worker: _Worker | None = None  # the worker it was sent to
        self.slot = -1  # its slot in the claim table while sent
        self.gen = 0
        self.pid: int | None = None  # of the worker it was sent to, kept once done


class _Worker:
    __slots__ = ("task", "id", "pid", "sock", "state", "q", "deadline", "ntasks", "rbuf",
                 "dedicated", "killed", "pidfd", "limited", "waiting")

    def __init__(self, task: Task, wid: int, dedicated: _Item | None) -> None:
        self.task = task
        self.id = wid
        self.pid: int | None = None
        self.sock: socket.socket | None = None
        # starting -> ready -> retired | dead. A ready worker is idle when
        # q is empty, busy otherwise.
        self.state = "starting"
        # The calls sent to it without a reply yet, in order: q[0] runs (or
        # is about to), the others were sent ahead.
        self.q: deque[_Item] = deque()
        self.deadline: float | None = None  # when q[0]'s timeout is next looked at
        self.ntasks = 0
        self.rbuf = bytearray()
        self.dedicated = dedicated  # the one item this worker was started for
        self.killed: str | None = None  # "cancel", "timeout", "shutdown"
        self.pidfd: int | None = None
        self.limited: tuple[str, ...] = ()  # the limits set for the call it runs
        self.waiting = 0  # threads reading its socket in result() (_wait_direct)


def _dumps(obj: Any) -> bytes:
    data: bytes = _pickler.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return data


class Executor(concurrent.futures.Executor):
    """Runs Python callables in warm worker processes, each an agentrt
    task: max_workers of them run callables, and one more is kept started
    and connected so that a worker that is killed (cancel, timeout) or
    crashes is replaced at once.

    max_workers: callables running at once (None: the number of CPUs).
    initializer(*initargs): run in each worker when it starts; preload:
        modules imported in each worker when it starts.
    max_tasks_per_child: a worker is retired and replaced after that many.
    timeout: the default per-task timeout in seconds (TaskTimeout), counted
        from the call's start in its worker.
    memory_limit: every worker's memory limit ("512M", bytes), a cgroup
        limit; a callable that goes over it fails with MemoryLimitExceeded.
    limits: every worker's other limits, as the spec's ({"cpu": 1.5,
        "pids": 256, "cpu_time": 600, "nofile": 1024, ...}).
    prefetch: while calls wait for a worker, each busy worker is sent up to
        this many more (up to 64 KiB pickled in all), so that it never
        waits for the executor between calls. A call sent ahead still
        cancels without a kill, and moves to a worker that falls idle
        (docs/python.md, "Calls sent ahead"). 0: one call per worker.
    runtime: an agentrt.Runtime to start the workers in (default: one of
        the executor's own with require_limits, closed by shutdown(): a
        limit that cannot be enforced here fails rather than being ignored).

    Per-task options: submit_with(fn, args, kwargs, timeout=..., memory_limit=...,
    limits=...).
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
        limits: Mapping[str, Any] | None = None,
        prefetch: int = 7,
        runtime: Runtime | None = None,
    ) -> None:
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError("max_workers: must be an integer >= 1")
        if max_tasks_per_child is not None and (not isinstance(max_tasks_per_child, int)
                                                or max_tasks_per_child < 1):
            raise ValueError("max_tasks_per_child: must be an integer >= 1 or None")
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
            raise ValueError("prefetch: must be an integer >= 0")
        self._max_workers = max_workers
        self._max_tasks = max_tasks_per_child
        self._timeout = _seconds("timeout", timeout)
        # What every worker is started with: its limits to go back to after
        # a call of its own (submit_with).
        self._limits = _check_limits("limits", dict(limits or {}))
        memory = _bytes("memory_limit", memory_limit)
        if memory is not None:
            self._limits["memory"] = memory
        self._ahead = prefetch
        setup = None
        preload = tuple(preload)
        if initializer is not None or preload:
            setup = _dumps((preload, initializer, tuple(initargs))).hex()

        self._table_fd = os.memfd_create("agentrt-executor-claims", os.MFD_CLOEXEC)
        os.ftruncate(self._table_fd, _SLOTS * _claim.SLOT_BYTES)
        self._table = _claim.Table(self._table_fd, _SLOTS)
        self._free = list(range(_SLOTS - 1, -1, -1))
        self._gens = [0] * _SLOTS
        self._own_runtime = runtime is None
        # require_limits: a limit asked for is enforced, or the worker does
        # not start (a call of its own fails with TaskStartFailed; an
        # executor-wide limit breaks the executor, saying why).
        self._rt = runtime if runtime is not None else Runtime(
            max_running=2 * max_workers + 2, require_limits=True)

        self._dir = tempfile.mkdtemp(prefix="agentrt-executor-")
        os.chmod(self._dir, 0o700)
        path = os.path.join(self._dir, "s")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(256)
        self._listener.setblocking(False)
        self._token = secrets.token_hex(_TOKEN_LEN // 2)
        env = {"AGENTRT_EXECUTOR_SOCKET": path, "AGENTRT_EXECUTOR_TOKEN": self._token,
               "AGENTRT_EXECUTOR_CLAIM": _claim.__file__,
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
        self._idle: list[_Worker] = []  # a stack: the worker that was busy last is warmest
        self._busy = 0  # ready workers with calls
        self._events: deque[tuple[_Worker, Result]] = deque()
        self._ids = itertools.count(1)
        self._shutdown = False
        self._broken: str | None = None
        self._start_failures = 0
        # Lost workers' sockets, closed by the dispatcher once no thread
        # waits on them in result() (a number closed under a poll() could be
        # reused by then).
        self._closing: list[tuple[_Worker, socket.socket]] = []
        self._rbuf = bytearray(1 << 16)  # the dispatcher's receive buffer
        self._rview = memoryview(self._rbuf)

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
        and limits apply."""
        return self._submit(_dumps((fn, args, kwargs)), self._timeout, None)

    def submit_with(self, fn: Callable[..., Any], args: Iterable[Any] = (),
                    kwargs: Mapping[str, Any] | None = None, *,
                    timeout: float | None = None,
                    memory_limit: int | str | None = None,
                    limits: Mapping[str, Any] | None = None) -> ExecutorFuture:
        """submit() with per-task options: timeout (seconds; overrides the
        executor's); memory_limit and limits (as the spec's: "cpu",
        "pids", "cpu_time", ...) for this call alone. The call runs alone in
        a warm worker whose cgroup gets the cgroup limits (memory, cpu,
        pids, weights) for the call and the executor's back after it. With
        an rlimit among them (cpu_time, nofile, ...), or where a limit
        cannot be set live (no cgroups; v1 refuses memory below what the
        worker uses), it runs in a worker of its own, started with the
        limits and retired after it."""
        tmo = _seconds("timeout", timeout)
        if tmo is None:
            tmo = self._timeout
        own = _check_limits("limits", dict(limits or {}))
        mem = _bytes("memory_limit", memory_limit)
        if mem is not None:
            own["memory"] = mem
        return self._submit(_dumps((fn, tuple(args), dict(kwargs or {}))), tmo, own or None)

    def _submit(self, payload: bytes, tmo: float | None,
                limits: dict[str, Any] | None) -> ExecutorFuture:
        fut = ExecutorFuture(self)
        item = _Item(fut, payload, tmo, limits)
        fut._item = item
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._broken:
                raise concurrent.futures.BrokenExecutor(self._broken)
            if limits is not None and not _LIVE_LIMITS.issuperset(limits):
                self._spawn(item)  # rlimits are set at exec: a worker of its own
                return fut
            if not self._pending and self._idle and self._busy < self._max_workers:
                # Straight to an idle worker from this thread: one hop less.
                w = self._idle.pop()
                if limits is not None and not self._limit(w, limits):
                    self._idle.append(w)
                    self._spawn(item)
                    return fut
                self._offer(w, [item])
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
        running ones included). chunksize > 1 sends the calls in chunks of
        that many, each chunk one call in a worker (the executor's timeout
        then applies to the whole chunk); an exception ends the chunk."""
        if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
            raise ValueError("chunksize: must be an integer >= 1")
        if chunksize == 1:
            return super().map(fn, *iterables, timeout=timeout)
        end = None if timeout is None else time.monotonic() + timeout
        args = zip(*iterables)
        futures = []
        while chunk := tuple(itertools.islice(args, chunksize)):
            futures.append(self._submit(_dumps((None, fn, chunk)), self._timeout, None))

        def results() -> Any:
            try:
                futures.reverse()
                while futures:
                    f = futures.pop()
                    try:
                        chunk = (f.result() if end is None
                                 else f.result(max(0.0, end - time.monotonic())))
                    finally:
                        f.cancel()  # a no-op once done; on a timeout, it stops f
                    yield from chunk
            finally:
                for f in futures:
                    f.cancel()
        return results()

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
                to_cancel += [i.future for w in self._workers.values() for i in w.q]
        for f in to_cancel:
            f.cancel()
        self._wake()
        if wait and self._thread is not threading.current_thread():
            self._thread.join()

    def worker_pids(self) -> list[int]:
        """The pids of the worker processes now started and connected
        (idle, busy or spare)."""
        with self._lock:
            return [w.pid for w in self._workers.values()
                    if w.pid is not None and w.state == "ready"]

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
        # A cgroup of its own ("limits"): its memory limit can change for a
        # call (submit_with), and a kill takes whatever the call started.
        opts: dict[str, Any] = {"grace": 0, "stream": False, "env": self._env,
                                "sandbox": "limits", "id": f"agentrt-executor-worker-{wid}"}
        limits = dict(self._limits)
        if dedicated is not None and dedicated.limits:
            limits.update(dedicated.limits)
        if limits:
            opts["limits"] = limits
        task = self._rt.spawn([sys.executable, _WORKER], **opts)
        w = _Worker(task, wid, dedicated)
        self._workers[wid] = w
        threading.Thread(target=self._reap, args=(w,), name=f"agentrt-executor-reap-{wid}",
                         daemon=True).start()

    def _limit(self, w: _Worker, limits: dict[str, Any]) -> bool:
        """Sets the idle w's cgroup limits for a call of its own. False
        where one cannot be set live (no cgroup of its own; v1 refuses
        memory below what the worker uses): then w has its own back."""
        done: list[str] = []
        for name, value in limits.items():
            try:
                ok = w.task.set_limit(name, value)
            except (Error, ValueError):
                ok = False
            if not ok:
                w.limited = tuple(done)
                self._unlimit(w)
                return False
            done.append(name)
        w.limited = tuple(done)
        return True

    def _unlimit(self, w: _Worker) -> bool:
        """Gives w back the executor's limits after a call of its own.
        False if one cannot be: w must not run another call."""
        ok = True
        for name in w.limited:
            try:
                ok = w.task.set_limit(name, self._limits.get(name, _NO_LIMIT[name])) and ok
            except (Error, ValueError):
                ok = False
        w.limited = ()
        return ok

    def _fill(self) -> None:
        if self._shutdown or self._broken:
            return
        live = sum(1 for w in self._workers.values()
                   if w.dedicated is None and w.state in ("starting", "ready"))
        for _ in range(self._max_workers + 1 - live):
            self._spawn()

    def _offer(self, w: _Worker, items: list[_Item]) -> None:
        """Sends items to the ready worker w (idle, or busy: then they are
        sent ahead). Items whose future was cancelled meanwhile are dropped;
        an idle worker given none stays idle."""
        frames: list[bytes] = []
        was_idle = not w.q
        for n, it in enumerate(items):
            if not self._free:  # _SLOTS calls in flight: wait for one to end
                self._pending.extendleft(reversed(items[n:]))
                break
            f = it.future
            if f._state == PENDING:
                if not f.set_running_or_notify_cancel():
                    continue
            elif f._state != RUNNING:  # cancelled while requeued
                continue
            slot = self._free.pop()
            gen = self._gens[slot] = (self._gens[slot] + 1) & 0xFFFFFFFF or 1
            self._table.offer(slot, gen)
            it.worker, it.slot, it.gen, it.pid = w, slot, gen, w.pid
            w.q.append(it)
            frames.append(_HEAD.pack(len(it.payload), slot, gen))
            frames.append(it.payload)
        if not frames:
            if was_idle:
                self._idle.append(w)
            return
        if was_idle:
            self._busy += 1
            self._head_changed(w)
        assert w.sock is not None
        try:
            w.sock.sendall(b"".join(frames))
        except OSError:
            # It died before we noticed: its reaper reports how, and its
            # calls are requeued or failed then (_dead).
            self._lose(w, None)

    def _release(self, it: _Item) -> None:
        """it is no longer at a worker: its slot is free."""
        if it.slot >= 0:
            self._free.append(it.slot)
            it.slot = -1
        it.worker = None

    def _head_changed(self, w: _Worker) -> None:
        """w.q[0] is new: when to look at its timeout. A timeout counts
        from the call's start, which the claim table records; a call not
        started yet cannot time out before now + timeout."""
        head = w.q[0] if w.q else None
        if head is None or head.timeout is None:
            w.deadline = None
        elif self._table.state(head.slot, head.gen) == _claim.RUNNING:
            w.deadline = self._table.started(head.slot) + head.timeout
        else:
            w.deadline = time.monotonic() + head.timeout

    def _now_idle(self, w: _Worker) -> None:
        """The ready worker w has no call left: it takes the next, or is
        retired once it has run max_tasks_per_child (or its one call)."""
        self._busy -= 1
        w.deadline = None
        if w.limited and not self._unlimit(w):
            self._retire(w)  # its call's limits would stay: a fresh one instead
            self._fill()
        elif w.dedicated is not None or (self._max_tasks is not None
                                         and w.ntasks >= self._max_tasks):
            self._retire(w)
            self._fill()
        else:
            self._idle.append(w)

    def _lose(self, w: _Worker, killed: str | None) -> None:
        """w is gone or going: no more work for it. Its calls stay in w.q
        until it is reaped (_dead)."""
        if w.state == "ready":
            if w.q:
                self._busy -= 1
            else:
                try:
                    self._idle.remove(w)
                except ValueError:
                    pass
        w.state = "dead"
        w.deadline = None
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
            # Closed by the dispatcher, which may be reading it right now
            # (a number closed here could be reused under its recv).
            try:
                w.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._closing.append((w, w.sock))
            w.sock = None

    def _kill(self, w: _Worker, why: str, target: _Item,
              replies: list[tuple[ExecutorFuture, bytes]]) -> None:
        """Kills w, whose running call `target` was stopped in the claim
        table. The replies already in its socket are collected first; the
        calls sent ahead of it go back to the front of the queue (a stopped
        worker starts none of them). The replacement is spawned once w is
        reaped (_dead): the spare takes the next call meanwhile, and the
        runtime's loop reaps w first instead of starting a process."""
        self._drain(w, replies)
        self._lose(w, why)
        back = []
        for it in list(w.q):
            if it is target or self._table.withdraw(it.slot, it.gen):
                w.q.remove(it)
                self._release(it)
                if it is not target:
                    it.pid = None
                    back.append(it)
        self._pending.extendleft(reversed(back))
        w.task.cancel()

    def _wait_direct(self, fut: ExecutorFuture, timeout: float | None) -> float | None:
        """result() of a call sent to a worker, alone there and with none
        waiting: the waiting thread reads the worker's socket itself, so
        that the reply wakes it directly rather than the dispatcher, which
        would then wake it (one thread hop less on each round trip; with
        calls streaming through, the dispatcher's batches are cheaper, and
        it keeps them). The worker's socket leaves the dispatcher's
        selector meanwhile. An eventfd of the thread's wakes it when the
        future ends another way (cancel, crash, a call moved to another
        worker). Returns what is left of timeout."""
        if threading.current_thread() is self._thread:
            return timeout
        efd = _thread_eventfd()
        with self._lock:
            if fut._poke is not None:  # another thread waits so: the condition it is
                return timeout
            fut._poke = efd
        deadline = None if timeout is None else time.monotonic() + timeout
        held: _Worker | None = None  # the worker whose socket this thread watches
        sock: socket.socket | None = None
        poller = select.poll()
        try:
            while True:
                replies: list[tuple[ExecutorFuture, bytes]] = []
                with self._lock:
                    if fut._state not in (PENDING, RUNNING):
                        break
                    it = fut._item
                    w = it.worker if it is not None else None
                    if w is not held:
                        if held is not None:
                            self._unwatch(held)
                            if sock is not None:
                                poller.unregister(sock)
                        held = None
                        if w is None or w.state != "ready" or w.sock is None or \
                                len(w.q) > 1 or self._pending:
                            # Waits in the executor, or calls stream through:
                            # the dispatcher reads in batches and tells.
                            break
                        self._watch(w)
                        held = w
                        sock = w.sock
                        poller.register(sock, select.POLLIN)
                        poller.register(efd, select.POLLIN)
                    if held is None:
                        break  # waits in the executor: the dispatcher tells
                    if held.sock is not sock:
                        break  # lost: the reaper tells
                    if self._drain(held, replies):
                        self._lose(held, None)
                    self._dispatch()
                _deliver(replies)
                if fut._state not in (PENDING, RUNNING):
                    break
                if deadline is None:
                    ms = -1
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    ms = max(1, int(left * 1000 + 0.999))
                for fd, _ in poller.poll(ms):
                    if fd == efd:
                        try:
                            _os.eventfd_read(efd)
                        except BlockingIOError:
                            pass
        finally:
            if held is not None:
                with self._lock:
                    self._unwatch(held)
            fut._poke = None
        if deadline is None:
            return None
        return max(0.0, deadline - time.monotonic())

    def _watch(self, w: _Worker) -> None:
        w.waiting += 1
        if w.waiting == 1 and w.sock is not None:
            try:
                self._sel.unregister(w.sock)
            except (KeyError, ValueError):
                pass

    def _unwatch(self, w: _Worker) -> None:
        w.waiting -= 1
        if w.waiting == 0 and w.sock is None:
            self._wake()  # its socket waits in _closing for this
        elif w.waiting == 0 and w.state == "ready" and w.sock is not None:
            # epoll reports what came meanwhile, even to a select() under way.
            try:
                self._sel.register(w.sock, selectors.EVENT_READ, w)
            except (KeyError, ValueError):
                pass

    def _started(self, fut: ExecutorFuture) -> bool:
        with self._lock:
            it = fut._item
            if it is None or it.worker is None:
                return fut.done() and not fut.cancelled()
            return self._table.state(it.slot, it.gen) in (_claim.RUNNING, _claim.DONE,
                                                           _claim.STOPPED)

    def _cancel_running(self, fut: ExecutorFuture) -> bool:
        replies: list[tuple[ExecutorFuture, bytes]] = []
        with self._lock:
            it = fut._item
            w = it.worker if it is not None else None
            if it is None:
                return fut.cancelled()
            if w is None:  # requeued after its worker died
                try:
                    self._pending.remove(it)
                except ValueError:
                    return fut.cancelled()
            elif it not in w.q:  # its reply is being handled
                return fut.cancelled()
            elif self._table.withdraw(it.slot, it.gen):  # sent ahead, not started
                was_head = w.q[0] is it
                w.q.remove(it)
                self._release(it)
                if w.state == "ready" and not w.q:
                    self._now_idle(w)
                elif w.state == "ready" and was_head:
                    self._head_changed(w)
                self._dispatch()
            elif self._table.stop(it.slot, it.gen):
                self._kill(w, "cancel", it, replies)
                self._dispatch()
            else:
                return False  # done: its result is on the way
        self._wake()
        _deliver(replies)
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
                deadlines = [w.deadline for w in self._workers.values()
                             if w.deadline is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            woken = False
            for key, _ in sel.select(timeout):
                if key.data is None:
                    woken = True
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
                    woken = True
                else:
                    self._readable(key.data)
            if not (woken or deadlines or self._events or self._closing or self._shutdown):
                continue  # replies only: _readable dispatched already
            done: list[tuple[ExecutorFuture, BaseException]] = []
            replies: list[tuple[ExecutorFuture, bytes]] = []
            with self._lock:
                if self._closing:
                    for w, sock in self._closing:
                        if not w.waiting:
                            sock.close()
                    self._closing = [c for c in self._closing if c[0].waiting]
                if deadlines:
                    self._timeouts(done, replies)
                while self._events:
                    w, r = self._events.popleft()
                    self._dead(w, r, done, replies)
                self._dispatch()
                finished = self._shutdown and not self._pending and self._busy == 0 and \
                    not any(w.dedicated is not None and w.state != "dead"
                            for w in self._workers.values())
            _deliver(replies)
            for fut, exc in done:
                _finish(fut, exc=exc)
            if finished:
                return

    def _timeouts(self, done: list[tuple[ExecutorFuture, BaseException]],
                  replies: list[tuple[ExecutorFuture, bytes]]) -> None:
        now = time.monotonic()
        for w in list(self._workers.values()):
            if w.deadline is None or now < w.deadline or not w.q:
                continue
            head = w.q[0]
            assert head.timeout is not None
            state = self._table.state(head.slot, head.gen)
            if state == _claim.OFFERED:
                w.deadline = now + head.timeout
            elif state != _claim.RUNNING:
                w.deadline = None  # done: its reply is on the way
            elif (end := self._table.started(head.slot) + head.timeout) > now:
                w.deadline = end
            elif self._table.stop(head.slot, head.gen):
                self._kill(w, "timeout", head, replies)
                done.append((head.future, TaskTimeout(
                    None, f"the call timed out after {head.timeout:g}s "
                          f"(worker pid {w.pid} killed)")))
            else:
                w.deadline = None

    def _dispatch(self) -> None:
        pending = self._pending
        # Idle workers first, one call each.
        while pending and self._idle and self._busy < self._max_workers and self._free:
            it = pending.popleft()
            if it.future._state not in (PENDING, RUNNING):
                continue  # cancelled
            w = self._idle.pop()
            if it.limits is not None and not self._limit(w, it.limits):
                self._idle.append(w)
                self._spawn(it)
                continue
            self._offer(w, [it])
            if w.limited and not w.q and not self._unlimit(w):
                # Cancelled just now, and its limit would stay.
                self._idle.remove(w)
                self._retire(w)
                self._fill()
        if pending:
            if not self._ahead:
                return
            # Calls sent ahead to busy workers, as many as fit in one write.
            for w in self._workers.values():
                if not pending:
                    return
                if w.state != "ready" or not w.q or w.dedicated is not None or w.limited:
                    continue
                room = self._ahead + 1 - len(w.q)
                if self._max_tasks is not None:
                    room = min(room, self._max_tasks - w.ntasks - len(w.q))
                if room <= 0:
                    continue
                queued = sum(len(it.payload) for it in w.q)
                take = []
                while room > 0 and pending and pending[0].limits is None and \
                        queued + len(pending[0].payload) <= _AHEAD_MAX_BYTES:
                    queued += len(pending[0].payload)
                    take.append(pending.popleft())
                    room -= 1
                if take:
                    self._offer(w, take)
            return
        # Nothing waits: an idle worker takes a call sent ahead to a busy
        # one, if that call has not started.
        while self._idle and self._busy < self._max_workers:
            victim = max((w for w in self._workers.values() if w.state == "ready"),
                         key=lambda w: len(w.q))
            if len(victim.q) < 2:
                return
            it = victim.q[-1]
            if not self._table.withdraw(it.slot, it.gen):
                return
            victim.q.pop()
            self._release(it)
            self._offer(self._idle.pop(), [it])

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
            except OSError:
                conn.close()
                continue
            if len(hello) != _HELLO or not hmac.compare_digest(
                    hello[:_TOKEN_LEN], self._token.encode()):
                conn.close()
                continue
            pid = struct.unpack(">I", hello[_TOKEN_LEN:])[0]
            with self._lock:
                w = next((x for x in self._workers.values()
                          if x.state == "starting" and x.task.pid == pid), None)
                if w is None:
                    conn.close()
                    continue
                try:
                    socket.send_fds(conn, [str(_SLOTS).encode()], [self._table_fd])
                    conn.settimeout(None)
                except OSError:
                    conn.close()
                    continue
                w.pid = pid
                w.sock = conn
                try:
                    w.pidfd = os.pidfd_open(pid)
                except OSError:
                    w.pidfd = None
                self._start_failures = 0
                self._sel.register(conn, selectors.EVENT_READ, w)
                w.state = "ready"
                if w.dedicated is not None:
                    item, w.dedicated = w.dedicated, _DONE
                    self._offer(w, [item])
                    if not w.q:  # cancelled before it started
                        self._idle.remove(w)
                        self._retire(w)
                else:
                    self._idle.append(w)

    def _retire(self, w: _Worker) -> None:
        """Closes the idle w's socket: it exits by itself (code 0)."""
        w.state = "retired"
        if w.sock is not None:
            try:
                self._sel.unregister(w.sock)
            except (KeyError, ValueError):
                pass
            w.sock.close()
            w.sock = None

    def _readable(self, w: _Worker) -> None:
        replies: list[tuple[ExecutorFuture, bytes]] = []
        with self._lock:
            if w.sock is None:
                return
            if self._drain(w, replies):
                # The worker died (or closed): its reaper will say how.
                self._lose(w, None)
            self._dispatch()
        _deliver(replies)

    def _drain(self, w: _Worker, replies: list[tuple[ExecutorFuture, bytes]]) -> bool:
        """Collects the replies already in w's socket, without waiting;
        True at its end (the worker is gone). Every read of a worker's
        socket is made here, under the lock, so that the dispatcher and a
        thread waiting in result() may both read it: the bytes reach rbuf
        in order, whoever reads them."""
        sock = w.sock
        eof = False
        while sock is not None:
            try:
                n = sock.recv_into(self._rbuf, 0, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                n = 0
            if not n:
                eof = True
                break
            w.rbuf += self._rview[:n]
            if n < len(self._rbuf):
                break  # nothing more for now: saves the EAGAIN round
        self._parse(w, replies)
        return eof

    def _parse(self, w: _Worker, replies: list[tuple[ExecutorFuture, bytes]]) -> None:
        """The whole replies in w.rbuf end their calls."""
        buf = w.rbuf
        size = len(buf)
        off = 0
        q = w.q
        head = _HEAD.size
        while size - off >= head:
            n, slot, gen = _HEAD.unpack_from(buf, off)
            end = off + head + n
            if end > size:
                break
            body = bytes(buf[off + head:end])
            off = end
            # Replies come in the order the calls were sent, less those
            # withdrawn; a reply to none of them is for a call stopped meanwhile.
            it: _Item | None = q[0] if q and q[0].slot == slot and q[0].gen == gen else None
            if it is None:
                it = next((x for x in q if x.slot == slot and x.gen == gen), None)
            if it is None:
                continue
            if it is q[0]:
                q.popleft()
            else:
                q.remove(it)
            self._release(it)
            w.ntasks += 1
            replies.append((it.future, body))
        if not off:
            return
        del buf[:off]
        if w.state == "ready":
            if q:
                self._head_changed(w)
            else:
                self._now_idle(w)

    def _dead(self, w: _Worker, r: Result, done: list[tuple[ExecutorFuture, BaseException]],
              replies: list[tuple[ExecutorFuture, bytes]]) -> None:
        """w's process has ended with Result r (lock held). Its calls that
        never started go back to the front of the queue; the one it was
        running fails (unless a cancel or timeout already told it)."""
        was = w.state
        if w.sock is not None:
            self._drain(w, replies)
        if w.state not in ("dead", "retired"):
            self._lose(w, None)
        self._workers.pop(w.id, None)
        if w.pidfd is not None:
            os.close(w.pidfd)
            w.pidfd = None
        back = []
        for it in w.q:
            started = not self._table.withdraw(it.slot, it.gen)
            self._release(it)
            if not started:
                it.pid = None
                back.append(it)
            elif r.status == "oom_killed":
                done.append((it.future, MemoryLimitExceeded(r)))
            else:
                done.append((it.future, WorkerCrashed(r, _crash_message(w, r))))
        w.q.clear()
        self._pending.extendleft(reversed(back))
        own = w.dedicated is not None and w.dedicated is not _DONE
        if own and r.status == "start_failed" and r.start_stage == "cgroup":
            # A call's own limits that this host cannot enforce: that call
            # fails (require_limits), the pool is fine.
            assert w.dedicated is not None
            done.append((w.dedicated.future, TaskStartFailed(
                r, f"the call's limits cannot be enforced here: {r.start_detail or r.message}")))
        elif w.killed is None and was == "starting" and not self._shutdown:
            self._start_failures += 1
            if own:
                assert w.dedicated is not None
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
                if w.state == "ready" and not w.q:
                    self._idle.remove(w)
                if w.state in ("ready", "starting"):
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
        os.close(self._table_fd)
        for _, sock in self._closing:
            sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def _deliver(replies: list[tuple[ExecutorFuture, bytes]]) -> None:
    """Ends the futures of replies (outside the lock: callbacks run)."""
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


# What a limit lifted after a call of its own goes back to when the
# executor sets none (Task.set_limit's "no limit", the weights' default).
_NO_LIMIT: dict[str, Any] = {"memory": None, "memory_high": None, "swap": None, "cpu": None,
                             "pids": None, "cpu_weight": 100, "io_weight": 100}


def _check_limits(name: str, limits: dict[str, Any]) -> dict[str, Any]:
    """limits as the spec takes them (SpecError naming the field otherwise);
    None values are dropped."""
    limits = {k: v for k, v in limits.items() if v is not None}
    if limits:
        try:
            _agentrt.check_spec(build_spec(["true"], {"limits": limits}))
        except SpecError as e:
            raise SpecError(f"{name}: {e}") from None
    return limits


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name}: must be a number of seconds >= 0 or None")
    return float(value)


class _Eventfd:
    """An eventfd closed with its owner: a thread's, kept in _eventfds."""

    __slots__ = ("fd",)

    def __init__(self) -> None:
        self.fd: int = _os.eventfd(0, _os.EFD_CLOEXEC | _os.EFD_NONBLOCK)

    def __del__(self) -> None:
        os.close(self.fd)


_eventfds = threading.local()


def _thread_eventfd() -> int:
    """This thread's eventfd for _wait_direct."""
    e: _Eventfd | None = getattr(_eventfds, "e", None)
    if e is None:
        e = _eventfds.e = _Eventfd()
    return e.fd
