import os
import pickle
import signal
import time

import pytest

import agentrt
from conftest import gone, pids_with, wait_until


def test_run_argv(rt):
    r = rt.run(["echo", "hello"])
    assert isinstance(r, agentrt.Result)
    assert r.status == "exited" and r.ok
    assert r.exit_code == 0 and r.exit_status == 0 and r.signal is None
    assert r.stdout == b"hello\n" and r.stdout_text == "hello\n"
    assert r.stdout_bytes == 6 and not r.stdout_truncated
    assert r.pid > 0 and r.wall_s >= 0 and r.queue_s is not None
    assert r.attempts == 1


def test_run_shell_string_exit_code(rt):
    r = rt.run("echo out; echo err >&2; exit 3", id="sh")
    assert r.id == "sh"
    assert r.status == "exited" and not r.ok
    assert r.exit_code == 3 and r.exit_status == 3
    assert r.stdout == b"out\n" and r.stderr == b"err\n"


def test_run_options(rt, tmp_path):
    r = rt.run(["sh", "-c", 'pwd; echo "$FOO"; cat'], cwd=tmp_path, env={"FOO": "bar"},
               input="from stdin")
    assert r.stdout.decode().split("\n") == [str(tmp_path), "bar", "from stdin"]
    r = rt.run(["od", "-An", "-tx1"], input=b"\x00\xff")
    assert r.stdout.split() == [b"00", b"ff"]
    r = rt.run(["env"], inherit_env=False, env={"ONLY": "1"})
    assert r.stdout == b"ONLY=1\n"
    f = tmp_path / "in.txt"
    f.write_text("file input")
    assert rt.run(["cat"], stdin=f).stdout == b"file input"


def test_start_failed(rt):
    r = rt.run(["/nonexistent/tool", "--flag"])
    assert r.status == "start_failed" and r.exit_status == 127
    assert r.start_stage == "exec" and r.start_errno == 2
    with pytest.raises(agentrt.TaskStartFailed) as e:
        rt.run(["/nonexistent/tool"], check=True)
    assert e.value.result.exit_status == 127


def test_spec_errors_name_the_field(rt):
    with pytest.raises(agentrt.SpecError, match=r'^limits\.memory: "12Q" is not a size$'):
        rt.spawn(["true"], limits={"memory": "12Q"})
    with pytest.raises(ValueError, match="frobnicate: unknown field"):
        rt.spawn(["true"], frobnicate=1)
    with pytest.raises(agentrt.SpecError, match="timeout"):
        rt.spawn(["true"], timeout=-3)
    with pytest.raises(agentrt.SpecError, match=r"cmd\[1\]"):
        rt.spawn(["true", object()])
    with pytest.raises(agentrt.SpecError, match="depends_on"):
        rt.spawn(["true"], depends_on="no-such-task")
    with pytest.raises(agentrt.SpecError, match="restart: \"sometimes\" is not one of"):
        rt.spawn(["true"], restart="sometimes")
    assert issubclass(agentrt.SpecError, agentrt.Error)


def test_spawn_wait_result(rt):
    t = rt.spawn(["sh", "-c", "sleep 0.2; echo done"], id="w")
    assert t.id == "w"
    assert not t.done()
    with pytest.raises(agentrt.TaskNotDone):
        t.result()
    assert t.wait(timeout=0.01) is None
    r = t.wait()
    assert t.done() and t.state == "done"
    assert r is t.result() and r.stdout == b"done\n"
    assert t.result(raise_on_failure=True).ok


def test_cancel_running_task_kills_it(rt, marker):
    t = rt.spawn(["sleep", marker])
    assert wait_until(lambda: t.state == "running" and t.pid)
    assert wait_until(lambda: pids_with(marker))
    pid = t.pid
    assert t.cancel()
    r = t.wait(10)
    assert r is not None
    assert r.status == "cancelled" and r.signal == signal.SIGTERM
    assert r.exit_status == 128 + signal.SIGTERM
    assert gone(marker)
    assert not os.path.exists(f"/proc/{pid}") or pid not in pids_with(marker)
    assert not t.cancel()  # already done
    with pytest.raises(agentrt.TaskCancelled):
        t.result(raise_on_failure=True)


def test_cancel_queued_task(marker):
    with agentrt.Runtime(max_running=1) as rt:
        first = rt.spawn(["sleep", marker])
        queued = rt.spawn(["echo", "never"])
        assert wait_until(lambda: first.state == "running")
        assert queued.state == "queued"
        queued.cancel()
        r = queued.wait(5)
        assert r.status == "cancelled" and r.pid == 0 and r.queue_s is None
        first.cancel()
        first.wait(5)
    assert gone(marker)


def test_timeout(rt):
    t0 = time.monotonic()
    r = rt.run(["sleep", "10"], timeout=0.3)
    assert r.status == "timeout" and r.exit_status == 124
    assert 0.25 < r.wall_s < 3 and time.monotonic() - t0 < 5
    assert r.timed_out
    with pytest.raises(agentrt.TaskTimeout) as e:
        rt.run(["sleep", "10"], timeout="100ms", check=True)
    assert isinstance(e.value, TimeoutError) and isinstance(e.value, agentrt.TaskFailed)
    assert e.value.result.status == "timeout"


def test_timeout_grace_then_sigkill(rt):
    # Ignores SIGTERM: killed with SIGKILL when the grace ends.
    r = rt.run(["sh", "-c", "trap '' TERM; sleep 10; sleep 10"], timeout=0.2, grace=0.2)
    assert r.status == "timeout" and r.signal == signal.SIGKILL
    assert r.wall_s < 3


def test_close_kills_running_tasks(marker):
    rt = agentrt.Runtime(max_running=8)
    tasks = [rt.spawn(["sh", "-c", f"sleep {marker} & sleep {marker}"]) for _ in range(3)]
    # each task: sh and its two sleeps
    assert wait_until(lambda: len(pids_with(marker)) == 9)
    t0 = time.monotonic()
    rt.close()
    assert time.monotonic() - t0 < 3
    assert rt.closed
    for t in tasks:
        assert t.done() and t.result().status == "cancelled"
    assert gone(marker)
    with pytest.raises(agentrt.RuntimeClosed):
        rt.spawn(["true"])
    rt.close()  # idempotent


def test_stats_while_running(marker):
    with agentrt.Runtime(sample_interval=0.05) as rt:
        t = rt.spawn(["sleep", marker])
        assert wait_until(lambda: t.pid is not None)
        assert wait_until(lambda: t.stats()["sample"] is not None)
        s = t.stats()
        assert s["state"] == "running" and s["pid"] == t.pid and s["attempt"] == 1
        assert s["elapsed_s"] > 0
        assert "rss_bytes" in s["sample"]
        t.cancel()
        r = t.wait(5)
        assert r.samples >= 1


def test_pause_after_the_end_is_false(rt):
    t = rt.spawn(["true"])
    t.wait()
    assert t.pause() is False
    assert t.resume() is False


def test_depends_on_tasks(rt):
    build = rt.spawn(["sh", "-c", "sleep 0.1; exit 1"], id="build")
    test = rt.spawn(["echo", "test"], id="test", depends_on=build)
    notify = rt.spawn(["echo", "notify"], id="notify",
                      depends_on=[{"id": "build", "condition": "failed"}])
    assert test.wait(5).status == "skipped"
    assert 'dependency "build" failed' in test.result().skip_reason
    assert notify.wait(5).ok


def test_result_is_frozen_and_picklable(rt):
    r = rt.run(["echo", "x"])
    with pytest.raises(AttributeError):
        r.status = "other"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(r)) == r
    assert r.to_dict()["ok"] is True
    e = agentrt.TaskFailed(r)
    assert pickle.loads(pickle.dumps(e)).result == r


def test_output_cap_and_truncation(rt):
    r = rt.run(["sh", "-c", "head -c 100000 /dev/zero"], output={"cap": "1K"})
    assert r.stdout_bytes == 100000 and len(r.stdout) == 1024 and r.stdout_truncated


def test_task_outlives_runtime_object(marker):
    rt = agentrt.Runtime()
    t = rt.spawn(["echo", "hi"])
    t.wait(5)
    rt.close()
    del rt
    assert t.result().stdout == b"hi\n"


def test_python_values_converted(rt, tmp_path):
    import datetime
    r = rt.run(["sleep", "5"], timeout=datetime.timedelta(milliseconds=200))
    assert r.status == "timeout"
    assert rt.run(["pwd"], cwd=tmp_path).stdout == f"{tmp_path}\n".encode()
    assert rt.run(["echo", 1, 2.5, tmp_path]).stdout == f"1 2.5 {tmp_path}\n".encode()
    with pytest.raises(agentrt.SpecError, match="null, inherit, pipe"):  # tests/test_session.py
        rt.spawn(["cat"], stdin="some text")
    with pytest.raises(agentrt.SpecError, match="input="):
        rt.spawn(["cat"], stdin="some text")
    anonymous = rt.spawn(["true"])
    with pytest.raises(agentrt.SpecError, match="without an id"):
        rt.spawn(["true"], depends_on=anonymous)
    anonymous.wait()


def test_runtime_config_errors():
    with pytest.raises(ValueError):
        agentrt.Runtime(max_running=0)
    with pytest.raises(ValueError):
        agentrt.Runtime(sample_interval="fast")
    with pytest.raises(ValueError):
        agentrt.Runtime(memory_capacity="12Q")


def test_result_says_why_the_task_waited():
    with agentrt.Runtime(max_running=1) as rt:
        a = rt.spawn(["sleep", "0.3"], id="first", stream=False)
        b = rt.spawn(["true"], id="after", depends_on=["first"], stream=False)
        c = rt.spawn(["true"], id="capped", stream=False)
        assert a.wait().waited == "did not wait"
        assert "dependencies" in b.wait().waited
        assert "cap" in c.wait().waited


def test_spawn_batch_with_forward_dependencies():
    with agentrt.Runtime() as rt:
        deploy, test, build = rt.spawn_batch([
            {"cmd": ["true"], "id": "deploy", "depends_on": ["test"]},
            {"cmd": ["sh", "-c", "exit 1"], "id": "test", "depends_on": ["build"]},
            {"cmd": ["true"], "id": "build"},
        ], stream=False)
        assert build.wait().ok
        assert test.wait().exit_code == 1
        r = deploy.wait()
        assert r.status == "skipped" and "test" in r.skip_reason
        # Refused together: a cycle, or an unknown id, queues nothing.
        with pytest.raises(agentrt.SpecError, match="cycle"):
            rt.spawn_batch([{"cmd": ["true"], "id": "a", "depends_on": ["b"]},
                            {"cmd": ["true"], "id": "b", "depends_on": ["a"]}])
        with pytest.raises(agentrt.SpecError, match="nope"):
            rt.spawn_batch([{"cmd": ["true"], "id": "c"},
                            {"cmd": ["true"], "id": "d", "depends_on": ["nope"]}])
        with pytest.raises(agentrt.SpecError, match="entry 0: cmd"):
            rt.spawn_batch([{"id": "e"}])
        assert rt.stats()["submitted"] == 3


def test_explain_while_a_task_waits():
    with agentrt.Runtime(max_running=1) as rt:
        first = rt.spawn(["sleep", "0.5"], id="first", stream=False)
        after = rt.spawn(["true"], id="after", depends_on=["first"], stream=False)
        time.sleep(0.2)
        assert first.explain() == "did not wait"
        now = after.explain()
        assert now.startswith("waited ") and "dependencies" in now
        assert after.wait().waited.startswith("waited ")
        assert after.explain() == after.result().waited  # once ended: the Result's
