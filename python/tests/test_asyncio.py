import asyncio
import time

import pytest

import agentrt
from conftest import gone, pids_with, wait_until


def test_await_task(rt):
    async def main():
        t = rt.spawn(["sh", "-c", "sleep 0.1; echo hi"])
        r = await t
        assert r.ok and r.stdout == b"hi\n"
        r2 = await t.wait_async()  # done already
        assert r2 is r
    asyncio.run(main())


def test_async_runtime_spawn_and_run():
    async def main():
        async with agentrt.AsyncRuntime(max_running=8) as rt:
            task = await rt.spawn(["echo", "spawned"])
            assert isinstance(task, agentrt.Task)
            r = await task
            assert r.stdout == b"spawned\n"
            r = await rt.run("exit 4")
            assert r.exit_code == 4
            with pytest.raises(agentrt.TaskFailed):
                await rt.run("exit 4", check=True)
            # Many at once, one event loop, no thread per task.
            t0 = time.monotonic()
            results = await asyncio.gather(*(rt.run(["sh", "-c", f"sleep 0.2; exit {i % 3}"])
                                             for i in range(100)))
            assert [r.exit_code for r in results] == [i % 3 for i in range(100)]
            assert time.monotonic() - t0 < 10
        assert rt.closed
    asyncio.run(main())


def test_async_line_iteration(rt):
    async def main():
        t = rt.spawn(["sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.05; done; "
                      "printf end"])
        lines = [line async for line in t.stdout_async()]
        assert lines == ["line 1\n", "line 2\n", "line 3\n", "end"]
        assert (await t).ok
        t = rt.spawn(["sh", "-c", r"printf 'x\377\n' >&2"])
        assert [b async for b in t.stderr_async(binary=True)] == [b"x\xff\n"]
    asyncio.run(main())


def test_async_lines_are_live(rt):
    async def main():
        t = rt.spawn(["sh", "-c", "echo ready; sleep 30"])
        async for line in t.stdout_async():
            assert line == "ready\n"
            assert t.state == "running"
            break
        t.cancel()
        assert (await t).status == "cancelled"
    asyncio.run(main())


def test_cancelling_the_awaiting_task_kills_the_tree(rt, marker):
    async def main():
        t = rt.spawn(["sh", "-c", f"sleep {marker} & sleep {marker}"])
        waiter = asyncio.create_task(t.wait_async())
        while len(pids_with(marker)) < 2:
            await asyncio.sleep(0.02)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        return t
    t = asyncio.run(main())
    r = t.wait(10)
    assert r is not None and r.status == "cancelled"
    assert gone(marker)  # the grandchild (the background sleep) too


def test_wait_for_timeout_cancels_task(marker):
    async def main():
        async with agentrt.AsyncRuntime() as rt:
            task = await rt.spawn(["sleep", marker])
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(task, 0.3)
            r = await asyncio.wait_for(task.wait_async(), 10)
            assert r.status == "cancelled"
            # Cancelling rt.run() cancels its task as well.
            run = asyncio.create_task(rt.run(["sleep", marker]))
            await asyncio.sleep(0.2)
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run
    asyncio.run(main())
    assert gone(marker)


def test_two_event_loops_in_turn(rt):
    for _ in range(3):
        async def main():
            return await rt.spawn(["echo", "x"])
        assert asyncio.run(main()).ok


def test_loop_is_not_blocked(rt):
    async def main():
        t = rt.spawn(["sleep", "0.5"])
        ticks = 0
        async def ticker():
            nonlocal ticks
            while not t.done():
                ticks += 1
                await asyncio.sleep(0.01)
        await asyncio.gather(t.wait_async(), ticker())
        assert ticks > 10
    asyncio.run(main())
