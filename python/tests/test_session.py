"""Sessions (Task.send, messages, request), Runtime(on_event=...) and
stdin="pipe" (docs/python.md, "Sessions and events")."""
import asyncio
import collections
import gc
import sys
import threading
import time

import pytest

import agentrt
from conftest import gone, pids_with, wait_until

# The session peer: answers {"id", "method", "params"} with {"id", "result":
# params} in the order it reads them. It says {"event": "ready"} first and
# {"event": "eof"} last; a line that is not JSON gets a plain log line back.
# "spam" prints N unsolicited messages, "hold" answers nothing until the
# next "release", "exit" ends it. argv[1] (optional) is a marker for /proc.
PEER = r"""
import json, sys
def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
say({"event": "ready"})
held = []
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        sys.stdout.write("log: not json: " + line.strip() + "\n")
        sys.stdout.flush()
        continue
    method = m.get("method")
    if method == "exit":
        break
    if method == "hold":
        held.append(m)
        continue
    if method == "release":
        for h in held:
            say({"id": h["id"], "result": "late"})
        held.clear()
    if method == "spam":
        for i in range(m["params"]):
            sys.stdout.write(json.dumps({"event": "spam", "n": i}) + "\n")
        sys.stdout.flush()
    say({"id": m.get("id"), "result": m.get("params")})
say({"event": "eof"})
"""


def peer(rt, *extra, **options):
    return rt.spawn([sys.executable, "-c", PEER, *extra], session=True, **options)


READY = {"event": "ready"}
EOF = {"event": "eof"}


# ------------------------------------------------------------ send, messages


def test_send_and_messages_round_trip(rt):
    t = peer(rt, id="peer")
    t.send({"id": 1, "method": "echo", "params": {"x": [1, 2]}})
    t.send('{"id": "two", "method": "echo", "params": "é"}')  # str: sent as it is
    t.send(b'{"id": 3, "method": "echo", "params": null}\n')  # its own newline
    t.send("not json")
    it = iter(t.messages())
    assert next(it).data == READY
    m = next(it)
    assert m == agentrt.Message({"id": 1, "result": {"x": [1, 2]}},
                                '{"id": 1, "result": {"x": [1, 2]}}', "1")
    assert m.is_json
    m = next(it)
    assert m.id == "two" and m.data["result"] == "é"
    assert next(it).id == "3"  # an integer id as written
    m = next(it)
    assert m.data is None and not m.is_json and m.id is None
    assert m.text == "log: not json: not json"
    assert t.state == "running"  # messages come while it runs
    assert t.close_stdin() is True
    assert [m.data for m in it] == [EOF]  # ends with the task
    r = t.wait(10)
    assert r.ok and r.stdout.endswith(b'{"event": "eof"}\n')  # the tail has them too
    assert t.messages() is t.messages()
    assert t.messages().ended and t.messages().get() is None


def test_many_threads_send_every_request_answered_once(rt):
    t = peer(rt)
    n_threads, per_thread = 8, 100
    barrier = threading.Barrier(n_threads)
    errors = []

    def sender(k):
        try:
            barrier.wait()
            for i in range(per_thread):
                t.send({"id": f"{k}-{i}", "method": "echo", "params": [k, i]})
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(n_threads)]
    for th in threads:
        th.start()
    seen = collections.Counter()
    last = {}
    for m in t.messages():
        if m.id is None:
            continue
        k, i = m.data["result"]
        assert m.id == f"{k}-{i}"
        assert i > last.get(k, -1)  # one thread's lines arrive in the order sent
        last[k] = i
        seen[m.id] += 1
        if len(seen) == n_threads * per_thread:
            break
    for th in threads:
        th.join(10)
    assert not errors, errors
    t.send({"method": "exit"})
    rest = list(t.messages())
    assert [m.data for m in rest] == [EOF]  # nothing answered twice
    assert set(seen.values()) == {1}
    assert t.wait(10).ok


def test_many_threads_request_at_once(rt):
    t = peer(rt)
    n_threads, per_thread = 8, 50
    barrier = threading.Barrier(n_threads)
    answers, errors, unsolicited = {}, [], []
    reader = threading.Thread(target=lambda: unsolicited.extend(t.messages()))
    reader.start()

    def worker(k):
        try:
            barrier.wait()
            for i in range(per_thread):
                msg = {"method": "echo", "params": [k, i]}
                if i % 2:
                    msg["id"] = f"own-{k}-{i}"
                answers[(k, i)] = t.request(msg, timeout=30)
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    assert len(answers) == n_threads * per_thread
    for (k, i), m in answers.items():
        assert m.data["result"] == [k, i]
        assert m.id == (f"own-{k}-{i}" if i % 2 else m.data["id"])
    assert len({m.id for m in answers.values()}) == len(answers)
    t.send({"method": "exit"})
    reader.join(10)
    # The answers went to their requests alone, never to messages().
    assert [m.data for m in unsolicited] == [READY, EOF]
    assert t.wait(10).ok


def test_request_timeout_and_late_answer(rt):
    t = peer(rt)
    with pytest.raises(TimeoutError, match="h1"):
        t.request({"id": "h1", "method": "hold"}, timeout=0.2)
    # A second request with an id still waiting is refused.
    timed_out = []

    def hold():
        try:
            t.request({"id": "dup", "method": "hold"}, timeout=1)
        except TimeoutError as e:
            timed_out.append(e)

    waiting = threading.Thread(target=hold)
    waiting.start()
    time.sleep(0.3)
    with pytest.raises(ValueError, match="already waiting"):
        t.request({"id": "dup", "method": "echo"}, timeout=1)
    waiting.join(10)
    assert len(timed_out) == 1
    assert t.request({"method": "release", "params": 1}, timeout=10).data["result"] == 1
    t.send({"method": "exit"})
    # Answers that came after their request gave up go to messages().
    late = [m.id for m in t.messages() if m.data.get("result") == "late"]
    assert late == ["h1", "dup"]
    assert t.wait(10).ok


def test_unread_messages_beyond_the_limit_are_dropped(rt):
    t = peer(rt, stream=2000)
    t.send({"method": "spam", "params": 500})
    t.send({"method": "exit"})
    assert t.wait(10).ok
    msgs = list(t.messages())
    assert t.messages().dropped > 0
    assert msgs[-1].data == EOF  # the newest are kept
    assert sum(len(m.text) + 1 for m in msgs) <= 2000


# ------------------------------------------------------------ asyncio


def test_async_iteration_and_requests(rt):
    async def main():
        t = peer(rt)
        got = []

        async def reader():
            async for m in t.messages():
                got.append(m)

        rd = asyncio.create_task(reader())
        ticks = 0

        async def ticker():  # the event loop is never blocked
            nonlocal ticks
            while not rd.done():
                ticks += 1
                await asyncio.sleep(0.005)

        tk = asyncio.create_task(ticker())
        answers = await asyncio.gather(*(t.request_async({"method": "echo", "params": i},
                                                         timeout=10) for i in range(50)))
        assert [a.data["result"] for a in answers] == list(range(50))
        t.send({"id": "x", "method": "echo", "params": "via send"})
        t.send({"method": "exit"})
        await asyncio.wait_for(rd, 10)
        await tk
        assert [m.data for m in got] == [READY, {"id": "x", "result": "via send"}, EOF]
        assert ticks > 0
        assert (await t).ok

        # messages_async(), like stdout_async(); a cancelled request gives
        # itself up and leaves the task running.
        t = peer(rt)
        it = t.messages_async()
        assert (await it.__anext__()).data == READY
        req = asyncio.create_task(t.request_async({"id": "h", "method": "hold"}))
        await asyncio.sleep(0.1)
        req.cancel()
        with pytest.raises(asyncio.CancelledError):
            await req
        assert t.state == "running"
        with pytest.raises(TimeoutError):
            await t.request_async({"method": "hold"}, timeout=0.1)
        t.send({"method": "release"})
        t.send({"method": "exit"})
        rest = [m async for m in it]
        late = [m.id for m in rest if m.data and m.data.get("result") == "late"]
        assert len(late) == 2 and late[0] == "h" and late[1].startswith("agentrt-")
        assert rest[-1].data == EOF
        assert (await t).ok

    asyncio.run(main())


# ------------------------------------------------------------ the end of a session


def test_session_ends_when_cancelled(rt, marker):
    t = peer(rt, marker, grace=2)
    assert t.request({"method": "echo", "params": 1}, timeout=10).data["result"] == 1
    got, failed = [], []
    reader = threading.Thread(target=lambda: got.extend(t.messages()))
    reader.start()

    def waiting_request():
        try:
            t.request({"method": "hold"})
        except agentrt.SessionClosed as e:
            failed.append(e)

    requester = threading.Thread(target=waiting_request)
    requester.start()
    assert wait_until(lambda: pids_with(marker))
    time.sleep(0.1)
    assert t.cancel()
    reader.join(10)
    requester.join(10)
    assert not reader.is_alive() and not requester.is_alive()
    assert [m.data for m in got] == [READY]
    assert len(failed) == 1 and "ended before it answered" in str(failed[0])
    r = t.wait(10)
    assert r.status == "cancelled"
    assert gone(marker)
    assert t.messages().ended


def test_send_after_end_raises_typed_error(rt):
    t = peer(rt, id="s1")
    t.send({"method": "exit"})
    assert t.wait(10).ok
    with pytest.raises(agentrt.SessionClosed, match="task 's1': it has ended") as ei:
        t.send({"method": "echo"})
    assert isinstance(ei.value, agentrt.Error) and isinstance(ei.value, BrokenPipeError)
    with pytest.raises(agentrt.SessionClosed):
        t.request({"method": "echo"}, timeout=1)
    assert t.close_stdin() is False


def test_close_stdin_writes_what_was_sent_first(rt):
    t = peer(rt)
    t.send({"id": 1, "method": "echo", "params": "last"})
    assert t.close_stdin() is True
    with pytest.raises(agentrt.SessionClosed, match=r"close_stdin\(\)"):
        t.send({"id": 2})
    assert [m.data for m in t.messages()] == [READY, {"id": 1, "result": "last"}, EOF]
    assert t.wait(10).ok


def test_send_queue_full(rt):
    t = rt.spawn(["sleep", "30"], session=True, stream=False)  # reads nothing
    line = b"x" * (1 << 20)
    with pytest.raises(agentrt.SessionQueueFull):
        for _ in range(20):  # 16 MiB wait, beyond what the pipe took
            t.send(line)
    t.cancel()
    assert t.wait(10).status == "cancelled"


def test_wrong_uses(rt):
    t = rt.spawn(["true"])
    with pytest.raises(agentrt.Error, match="session=True"):
        t.messages()
    with pytest.raises(agentrt.Error, match="session=True"):
        t.send({"a": 1})
    with pytest.raises(agentrt.Error, match='stdin="pipe"'):
        t.write_stdin(b"x")
    with pytest.raises(agentrt.Error, match='stdin="pipe"'):
        t.close_stdin()
    s = peer(rt)
    with pytest.raises(agentrt.Error, match="messages"):
        list(s.stdout)
    with pytest.raises(agentrt.Error, match="send"):
        s.write_stdin(b"x")
    with pytest.raises(ValueError, match="newline"):
        s.send("a\nb")
    with pytest.raises(TypeError):
        s.send(42)
    with pytest.raises(ValueError):
        s.request({"id": 1.5})
    with pytest.raises(ValueError):
        s.send({"x": float("nan")})  # not JSON
    with pytest.raises(agentrt.Error, match="stream=False"):
        list(rt.spawn(["true"], session=True, stream=False).messages())
    s.send({"method": "exit"})
    assert s.wait(10).ok
    t.wait(10)


# ------------------------------------------------------------ on_event


def test_on_event_delivers_every_event_in_order():
    events, threads = [], set()
    release = threading.Event()

    def on_event(ev):
        threads.add(threading.current_thread().name)
        release.wait(10)  # a slow consumer: the tasks must not wait for it
        events.append(ev)

    with agentrt.Runtime(on_event=on_event) as rt:
        tasks = [rt.spawn(["sh", "-c", f"exit {i}"], id=f"t{i}", stream=False)
                 for i in range(5)]
        t0 = time.monotonic()
        assert all(t.wait(10) is not None for t in tasks)
        assert time.monotonic() - t0 < 5
        assert not events  # still held by the first callback
        release.set()
    # close() returned: every event was delivered.
    assert threads == {"agentrt-events"}
    for i, t in enumerate(tasks):
        mine = [e for e in events if e["id"] == f"t{i}"]
        kinds = [e["event"] for e in mine]
        assert kinds[0] == "queued" and kinds[-1] == "exited"
        assert kinds.count("started") == 1 and kinds.count("exited") == 1
        assert kinds.index("started") < kinds.index("exited")
        started = mine[kinds.index("started")]
        assert started["pid"] == t.pid and started["attempt"] == 1
        assert mine[-1]["exit_code"] == i and mine[-1]["ok"] == (i == 0)
        ts = [e["ts"] for e in mine]
        assert ts == sorted(ts)


def test_on_event_errors_and_reentry(monkeypatch):
    reported, spawned, events = [], [], []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def on_event(ev):
        events.append(ev)
        if ev["event"] == "started" and ev["id"] == "first":
            spawned.append(rt.spawn(["true"], id="second", stream=False))  # from the callback
            raise RuntimeError("boom")

    rt = agentrt.Runtime(on_event=on_event)
    try:
        assert rt.run(["true"], id="first").ok
        assert wait_until(lambda: spawned and spawned[0].done())
        assert wait_until(lambda: any(e["event"] == "exited" and e["id"] == "second"
                                      for e in events))
    finally:
        rt.close()
    assert len(reported) == 1 and str(reported[0].exc_value) == "boom"
    assert [e["event"] for e in events if e["id"] == "first"][-1] == "exited"
    with pytest.raises(TypeError):
        agentrt.Runtime(on_event=42)


# ------------------------------------------------------------ stdin="pipe"


def test_stdin_pipe_write_and_close(rt):
    t = rt.spawn(["cat"], stdin="pipe")
    assert t.write_stdin("hello ") == 6
    assert t.write_stdin(b"world\n") == 6
    assert t.stdout.readline(timeout=10) == b"hello world\n"  # live, before the end of file
    assert t.state == "running"
    assert t.close_stdin() is True
    assert t.close_stdin() is False
    r = t.wait(10)
    assert r.ok and r.stdout == b"hello world\n"
    with pytest.raises(agentrt.SessionClosed, match="ended"):
        t.write_stdin(b"late")


def test_stdin_pipe_large_writes_from_threads(rt):
    t = rt.spawn(["wc", "-c"], stdin="pipe", stream=False)
    chunk = b"y" * (1 << 20)  # far more than a pipe holds
    written = []
    threads = [threading.Thread(target=lambda: written.append(t.write_stdin(chunk)))
               for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert written == [1 << 20] * 4
    t.close_stdin()
    r = t.wait(10)
    assert r.ok and int(r.stdout) == 4 << 20


def test_stdin_pipe_before_start():
    with agentrt.Runtime(max_running=1) as rt:
        blocker = rt.spawn(["sleep", "30"], stream=False)
        t = rt.spawn(["cat"], stdin="pipe")
        assert t.write_stdin(b"x", timeout=0.2) == 0  # queued: nothing written yet
        res = []
        writer = threading.Thread(target=lambda: res.append(t.write_stdin(b"early\n")))
        writer.start()
        time.sleep(0.1)
        assert writer.is_alive()  # waits for the start
        blocker.cancel()
        writer.join(10)
        assert res == [6]
        t.close_stdin()
        assert t.wait(10).stdout == b"early\n"
        # Closed before it started: it reads end of file at once.
        blocker = rt.spawn(["sleep", "30"], stream=False)
        t = rt.spawn(["cat"], stdin="pipe")
        assert t.close_stdin() is True
        blocker.cancel()
        r = t.wait(10)
        assert r.ok and r.stdout == b""


def test_stdin_pipe_timeout_and_reader_gone(rt):
    t = rt.spawn(["sleep", "30"], stdin="pipe", stream=False)  # never reads
    n = t.write_stdin(b"z" * (4 << 20), timeout=0.3)
    assert 0 < n < 4 << 20  # what the pipe took, then the timeout
    t.cancel()
    assert t.wait(10).status == "cancelled"
    # A task that closes its stdin: the write fails (EPIPE, no SIGPIPE).
    t = rt.spawn(["sh", "-c", "exec 0<&-; echo closed; sleep 30"], stdin="pipe")
    assert t.stdout.readline(timeout=10) == b"closed\n"
    with pytest.raises(agentrt.SessionClosed, match="stopped reading"):
        t.write_stdin(b"x" * 100)
    t.cancel()
    t.wait(10)


def test_dropping_the_task_closes_its_stdin():
    ended = []
    with agentrt.Runtime(on_event=lambda e: e["event"] == "exited" and ended.append(e)) as rt:
        t = rt.spawn(["cat"], stdin="pipe", id="dropped-cat")
        t.write_stdin(b"x")
        del t
        gc.collect()
        assert wait_until(lambda: ended, 10)
    assert ended[0]["id"] == "dropped-cat" and ended[0]["ok"]
