"""asyncio support. The C side writes an eventfd (a Notifier) when a task
that a coroutine waits on ends, writes output or (a session) prints a
message; each event loop watches its Notifier with add_reader, so
completions wake the loop directly, without polling and without a thread
per task."""
from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._agentrt import Notifier
from ._result import Result

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._runtime import Message, MessageStream, OutputStream, Task

__all__ = ["AsyncRuntime", "wait_async", "iter_lines", "iter_messages", "request_async"]


class _Bridge:
    """One per event loop: its Notifier and an asyncio.Event per watched task."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.notifier = Notifier()
        self.events: "weakref.WeakValueDictionary[int, asyncio.Event]" = (
            weakref.WeakValueDictionary())
        loop.add_reader(self.notifier.fileno(), self._ready)

    def _ready(self) -> None:
        for serial in self.notifier.drain():
            ev = self.events.get(serial)
            if ev is not None:
                ev.set()

    def event(self, serial: int) -> asyncio.Event:
        ev = self.events.get(serial)
        if ev is None:
            ev = asyncio.Event()
            self.events[serial] = ev
        return ev


_bridges: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Bridge]" = (
    weakref.WeakKeyDictionary())


def _bridge() -> _Bridge:
    loop = asyncio.get_running_loop()
    b = _bridges.get(loop)
    if b is None:
        b = _Bridge(loop)
        _bridges[loop] = b
    return b


async def wait_async(task: "Task") -> Result:
    h = task._h
    if h.done():
        return task._make_result()
    b = _bridge()
    ev = b.event(h.serial)
    try:
        while True:
            ev.clear()
            if h.watch(b.notifier):
                return task._make_result()
            await ev.wait()
    except asyncio.CancelledError:
        # The coroutine that waited is cancelled: so is the task (SIGTERM
        # to its process group now, SIGKILL after its grace).
        task.cancel()
        raise


async def iter_lines(task: "Task", stream: "OutputStream", binary: bool) -> AsyncIterator[Any]:
    h = task._h
    b = _bridge()
    ev = b.event(h.serial)
    while True:
        line = stream._pop_line()
        if line is not None:
            yield line if binary else line.decode("utf-8", errors="replace")
            continue
        if stream._eof:
            return
        ev.clear()
        h.watch(b.notifier)
        chunk = h.read(stream._stream, False)
        if chunk is None:
            await ev.wait()
            continue
        stream._feed(chunk)


async def iter_messages(stream: "MessageStream") -> AsyncIterator["Message"]:
    """As iter_lines: the loop thread writes the Notifier when a message
    comes (on_message), and the task's Event is set."""
    h = stream._h
    b = _bridge()
    ev = b.event(h.serial)
    while True:
        m = stream._pop()
        if m is not None:
            yield m
            continue
        if stream._eof:
            return
        ev.clear()
        h.watch(b.notifier)
        batch = h.recv(False)
        if batch is None:
            await ev.wait()
            continue
        stream._feed(batch)


async def request_async(task: "Task", msg: "Mapping[str, Any]",
                        timeout: float | None) -> "Message":
    from ._runtime import _request

    line, rid = _request(msg)
    h = task._h
    b = _bridge()
    ev = b.event(h.serial)
    h.expect(rid)
    try:
        h.send(line)
        async with asyncio.timeout(timeout):
            while True:
                ev.clear()
                h.watch(b.notifier)
                reply = h.reply(rid, False)
                if reply is not None:
                    break
                await ev.wait()
    except TimeoutError:
        h.unexpect(rid)
        raise TimeoutError(f"task {task.id!r}: no answer to request {rid!r} within "
                           f"{timeout} s") from None
    except BaseException:
        # Cancelled: the request is given up, the task goes on.
        h.unexpect(rid)
        raise
    return task._answer(rid, reply, timeout)


class AsyncRuntime:
    """A Runtime for asyncio code: `await rt.spawn(...)` gives a Task,
    `await task` (or `await rt.run(...)`) its Result. Takes the arguments
    of Runtime. Cancelling a coroutine that awaits a task cancels the task.

        async with agentrt.AsyncRuntime() as rt:
            task = await rt.spawn(["pytest", "-x"], timeout=600)
            async for line in task.stdout_async():
                ...
            result = await task
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from ._runtime import Runtime

        self.runtime: Runtime = Runtime(*args, **kwargs)

    async def spawn(self, cmd: str | list[str] | tuple[str, ...], *, stream: bool | int = True,
                    **options: Any) -> "Task":
        """Queues a task (see Runtime.spawn) and returns it."""
        return self.runtime.spawn(cmd, stream=stream, **options)

    async def run(self, cmd: str | list[str] | tuple[str, ...], *, check: bool = False,
                  **options: Any) -> Result:
        """Runs a task to its end; cancelling this coroutine cancels it."""
        options.setdefault("stream", False)
        task = self.runtime.spawn(cmd, **options)
        result = await wait_async(task)
        return result.check() if check else result

    def cancel_all(self) -> None:
        self.runtime.cancel_all()

    def stats(self) -> dict[str, Any]:
        return self.runtime.stats()

    @property
    def closed(self) -> bool:
        return self.runtime.closed

    def close(self) -> None:
        """Kills every task and waits until they are reaped (milliseconds:
        SIGKILL, no grace)."""
        self.runtime.close()

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.runtime.close)

    async def __aenter__(self) -> "AsyncRuntime":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> "AsyncRuntime":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<agentrt.AsyncRuntime {'closed' if self.closed else 'open'}>"

