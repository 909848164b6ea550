"""The interpreter's own life: exit with tasks running, SIGINT while waiting."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import agentrt
from conftest import gone, pids_with, wait_until

PYTHONPATH = os.path.dirname(os.path.dirname(os.path.abspath(agentrt.__file__)))


def _python(code, **kw):
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _communicate(p, timeout):
    try:
        return p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise


def test_interpreter_exit_leaves_no_orphans(marker):
    code = f"""
        import threading, time, agentrt
        rt = agentrt.Runtime(max_running=16)
        tasks = [rt.spawn(["sh", "-c", "sleep {marker} & sleep {marker}"]) for _ in range(3)]
        tasks.append(rt.spawn(["sleep", "{marker}"]))
        # a daemon thread blocked in wait() at exit
        threading.Thread(target=tasks[0].wait, daemon=True).start()
        while any(t.state != "running" for t in tasks):
            time.sleep(0.01)
        time.sleep(0.2)
        print("spawned", flush=True)
        # no close(): the interpreter exits with the tasks running
    """
    p = _python(code)
    t0 = time.monotonic()
    out, err = _communicate(p, 30)
    took = time.monotonic() - t0
    assert p.returncode == 0, err
    assert out == "spawned\n"
    assert took < 10
    assert gone(marker, timeout=5), pids_with(marker)


def test_sigint_while_waiting_cancels_the_task(marker):
    code = f"""
        import agentrt
        rt = agentrt.Runtime()
        print("ready", flush=True)
        try:
            rt.run(["sleep", "{marker}"])
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """
    p = _python(code)
    assert p.stdout.readline() == "ready\n"
    # the marker is in the script's own command line too
    assert wait_until(lambda: set(pids_with(marker)) - {p.pid})
    p.send_signal(signal.SIGINT)
    out, err = _communicate(p, 30)
    assert "interrupted" in out, err
    assert p.returncode == 0
    assert gone(marker)


def test_fork_child_does_not_touch_parent_tasks(rt, marker):
    t = rt.spawn(["sleep", marker])
    assert wait_until(lambda: t.state == "running")
    pid = os.fork()
    if pid == 0:  # the child: its copy of the runtime is abandoned
        code = 0
        try:
            rt.spawn(["true"])
            code = 1
        except agentrt.RuntimeClosed:
            pass
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert t.state == "running" and pids_with(marker)
    t.cancel()
    t.wait(5)
    assert gone(marker)
