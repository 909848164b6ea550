"""The tool runner of docs/python.md ("A drop-in for a ThreadPoolExecutor
tool runner"), run on stand-in tools."""
import asyncio
import time
from dataclasses import dataclass

import agentrt
from conftest import gone


@dataclass
class ToolCall:
    name: str
    argv: list[str]


def tool_message(call, r):
    if r.ok:
        return {"tool": call.name, "content": r.stdout_text}
    return {"tool": call.name, "error": r.describe(), "stderr": r.stderr_text[-2000:]}


# -- as in docs/python.md ------------------------------------------------
def run_tool_calls(rt, calls, step_deadline=60.0):
    tasks = [rt.spawn(c.argv, timeout=30, grace=1, limits={"memory": "512M", "pids": 256},
                      labels={"tool": c.name}, stream=False)
             for c in calls]
    deadline = time.monotonic() + step_deadline
    results = []
    for t in tasks:
        r = t.wait(timeout=max(0.0, deadline - time.monotonic()))
        if r is None:          # the step's deadline passed: stop it, tree and all
            t.cancel()
            r = t.wait()
        results.append(r)
    return [tool_message(c, r) for c, r in zip(calls, results)]


async def run_tool_calls_async(rt, calls, step_deadline=60.0):
    async def one(c):
        return await rt.run(c.argv, timeout=30, limits={"memory": "512M"})
    try:
        async with asyncio.timeout(step_deadline):
            results = await asyncio.gather(*(one(c) for c in calls))
    except TimeoutError:
        return None  # every call still running was cancelled, with its processes
    return [tool_message(c, r) for c, r in zip(calls, results)]
# -------------------------------------------------------------------------


def test_sync_tool_runner(marker):
    calls = [ToolCall("echo", ["echo", "hi"]), ToolCall("fail", ["sh", "-c", "echo bad >&2; exit 2"]),
             ToolCall("hang", ["sh", "-c", f"sleep {marker} & sleep {marker}"])]
    with agentrt.Runtime(max_running=8) as rt:
        t0 = time.monotonic()
        out = run_tool_calls(rt, calls, step_deadline=0.5)
        assert time.monotonic() - t0 < 5
    assert out[0] == {"tool": "echo", "content": "hi\n"}
    assert "exited with code 2" in out[1]["error"] and out[1]["stderr"] == "bad\n"
    assert "cancelled" in out[2]["error"]
    assert gone(marker)


def test_async_tool_runner(marker):
    calls = [ToolCall("echo", ["echo", "hi"]), ToolCall("hang", ["sleep", marker])]

    async def main():
        async with agentrt.AsyncRuntime(max_running=8) as rt:
            assert await run_tool_calls_async(rt, calls[:1]) == [{"tool": "echo",
                                                                   "content": "hi\n"}]
            assert await run_tool_calls_async(rt, calls, step_deadline=0.3) is None
    asyncio.run(main())
    assert gone(marker)
