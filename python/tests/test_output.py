import threading

import agentrt
from conftest import wait_until


def test_stdout_lines(rt):
    t = rt.spawn(["sh", "-c", "for i in $(seq 1 200); do echo line $i; done; printf tail"])
    lines = list(t.stdout)
    assert lines == [f"line {i}\n" for i in range(1, 201)] + ["tail"]
    assert t.done()  # iteration ends at the task's end
    assert t.result().stdout_bytes == sum(len(x) for x in lines)


def test_lines_arrive_live(rt):
    t = rt.spawn(["sh", "-c", "echo first; sleep 30"])
    it = iter(t.stdout)
    assert next(it) == "first\n"
    assert t.state == "running"  # got the line while the task still runs
    t.cancel()
    assert list(it) == []
    assert t.wait(5).status == "cancelled"


def test_stderr_and_binary(rt):
    t = rt.spawn(["sh", "-c", r"printf 'a\377b\n' >&2; echo out"])
    assert list(t.stderr.lines(binary=True)) == [b"a\xffb\n"]
    assert list(t.stdout) == ["out\n"]
    t2 = rt.spawn(["sh", "-c", r"printf 'a\377b\n'"])
    assert list(t2.stdout) == ["a\ufffdb\n"]


def test_readline_timeout(rt):
    t = rt.spawn(["sh", "-c", "sleep 0.3; echo late"])
    assert t.stdout.readline(timeout=0.01) is None
    assert t.stdout.readline(timeout=10) == b"late\n"
    assert t.stdout.readline() == b""
    t.wait()


def test_stream_limit_drops_oldest(rt):
    t = rt.spawn(["sh", "-c", "seq 1 20000"], stream=1000)
    t.wait()
    data = t.stdout.read()
    assert len(data) <= 1000 and data.endswith(b"20000\n")
    assert t.stdout.dropped == t.result().stdout_bytes - len(data)


def test_stream_off(rt):
    t = rt.spawn(["echo", "x"], stream=False)
    t.wait()
    try:
        list(t.stdout)
    except agentrt.Error as e:
        assert "stream=False" in str(e)
    else:
        raise AssertionError("expected agentrt.Error")


def test_reader_thread_and_waiter_thread(rt):
    t = rt.spawn(["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.05; done"])
    got, res = [], []
    readers = [threading.Thread(target=lambda: got.extend(t.stdout)),
               threading.Thread(target=lambda: res.append(t.wait()))]
    for th in readers:
        th.start()
    for th in readers:
        th.join(10)
    assert got == ["1\n", "2\n", "3\n"] and res[0].ok
