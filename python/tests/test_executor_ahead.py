"""agentrt.Executor: calls sent ahead to busy workers (the claim table),
and map() in chunks."""
import concurrent.futures
import os
import time

import pytest

import agentrt


def sleeper(s):
    time.sleep(s)
    return os.getpid()


def touch(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    return os.getpid()


def exit_after(s, code):
    time.sleep(s)
    os._exit(code)


def square(x):
    return x * x


def fail_at(x, bad):
    if x == bad:
        raise ValueError(f"bad {x}")
    return x


def alive(p):
    return os.path.exists(f"/proc/{p}")


def wait_for(cond, seconds=10):
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.002)


def test_sent_ahead_cancels_without_a_kill(tmp_path):
    with agentrt.Executor(1, prefetch=3) as ex:
        a = ex.submit(sleeper, 0.5)
        wait_for(a.started)
        marker = tmp_path / "b-ran"
        b = ex.submit(touch, str(marker))
        # b waits at a's worker: running (as in ProcessPoolExecutor), not started.
        wait_for(lambda: b.pid is not None)
        assert b.running() and not b.started()
        assert b.pid == a.pid
        assert b.cancel() is True
        assert b.cancelled()
        # The worker was not killed: a ends normally, in the same process.
        assert a.result(timeout=10) == a.pid and alive(a.pid)
        assert ex.submit(sleeper, 0).result(timeout=10) == a.pid
        assert not marker.exists()


def test_cancel_of_the_running_call_requeues_those_sent_ahead(tmp_path):
    with agentrt.Executor(1, prefetch=3) as ex:
        a = ex.submit(sleeper, 30)
        wait_for(a.started)
        rest = [ex.submit(touch, str(tmp_path / f"m{i}")) for i in range(3)]
        wait_for(lambda: all(f.pid == a.pid for f in rest))
        victim = a.pid
        assert a.cancel() is True
        # Each ran exactly once, in a fresh worker.
        pids = [f.result(timeout=10) for f in rest]
        assert victim not in pids
        assert all((tmp_path / f"m{i}").read_text() == str(pids[i]) for i in range(3))
        wait_for(lambda: not alive(victim), 5)


def test_idle_worker_takes_calls_sent_ahead_to_a_busy_one():
    with agentrt.Executor(2, prefetch=3) as ex:
        long = ex.submit(sleeper, 3)
        short = ex.submit(sleeper, 0.2)
        wait_for(lambda: long.started() and short.started())
        t0 = time.monotonic()
        later = [ex.submit(sleeper, 0.05) for _ in range(6)]
        # Some of them were sent ahead behind the long call; the worker
        # that ends its short call takes them back instead of waiting 3 s.
        pids = [f.result(timeout=2.5) for f in later]
        assert time.monotonic() - t0 < 2.0
        assert not long.done()
        assert set(pids) == {short.pid}
        assert long.result(timeout=10) == long.pid


def test_timeout_counts_from_the_start_in_the_worker():
    with agentrt.Executor(1, prefetch=3) as ex:
        a = ex.submit(sleeper, 0.6)
        wait_for(a.started)
        ok = ex.submit_with(sleeper, (0.1,), timeout=0.4)  # waits 0.6 s, runs 0.1 s
        late = ex.submit_with(sleeper, (30,), timeout=0.3)
        assert ok.result(timeout=10) == a.pid
        t0 = time.monotonic()
        with pytest.raises(agentrt.TaskTimeout):
            late.result(timeout=10)
        # late started right after ok: it ends about 0.3 s after that.
        assert time.monotonic() - t0 < 0.3 + 0.25


def test_crash_fails_only_the_running_call():
    with agentrt.Executor(1, prefetch=3) as ex:
        a = ex.submit(exit_after, 0.3, 3)
        wait_for(a.started)
        rest = [ex.submit(sleeper, 0) for _ in range(3)]
        wait_for(lambda: all(f.pid is not None for f in rest))
        with pytest.raises(agentrt.WorkerCrashed) as e:
            a.result(timeout=10)
        assert e.value.exit_code == 3
        pids = [f.result(timeout=10) for f in rest]
        assert a.pid not in pids


def test_prefetch_zero_sends_one_call_per_worker():
    with agentrt.Executor(1, prefetch=0) as ex:
        a = ex.submit(sleeper, 0.3)
        wait_for(a.started)
        b = ex.submit(sleeper, 0)
        time.sleep(0.05)
        assert b.pid is None and not b.running()
        assert b.result(timeout=10) == a.result(timeout=10)
    with pytest.raises(ValueError, match="prefetch"):
        agentrt.Executor(1, prefetch=-1)


def test_many_calls_each_answered_once():
    with agentrt.Executor(2, prefetch=3) as ex:
        futs = [ex.submit(square, i) for i in range(3000)]
        assert [f.result(timeout=60) for f in futs] == [i * i for i in range(3000)]


def test_map_chunksize():
    with agentrt.Executor(2) as ex:
        assert list(ex.map(square, range(100), chunksize=7)) == [i * i for i in range(100)]
        assert list(ex.map(pow, [2, 3], [5, 2], chunksize=4)) == [32, 9]
        assert list(ex.map(square, [], chunksize=3)) == []
        it = ex.map(fail_at, range(20), [13] * 20, chunksize=5)
        assert [next(it) for _ in range(10)] == list(range(10))
        with pytest.raises(ValueError, match="bad 13"):
            next(it)
        with pytest.raises(ValueError, match="chunksize"):
            ex.map(square, range(3), chunksize=0)


def test_map_chunksize_timeout_cancels_the_rest():
    with agentrt.Executor(1) as ex:
        it = ex.map(sleeper, [0.05, 30, 30, 30], chunksize=2, timeout=0.5)
        with pytest.raises(TimeoutError):
            list(it)
        # The worker running the 30 s chunk was killed; a new one answers.
        assert ex.submit(square, 3).result(timeout=10) == 9


def allocate(mb):
    b = bytearray(mb << 20)
    for i in range(0, len(b), 4096):
        b[i] = 1
    return os.getpid()


def test_per_call_memory_limit_in_a_warm_worker():
    with agentrt.Executor(1) as ex:
        wait_for(lambda: len(ex.worker_pids()) == 2)
        warm = set(ex.worker_pids())
        # Within its limit: it runs in a worker already started.
        try:
            p = ex.submit_with(allocate, (32,), memory_limit="256M").result(timeout=30)
        except agentrt.TaskStartFailed as e:
            # No cgroups for us here: the call fails rather than run unlimited.
            assert "cannot be enforced" in str(e)
            assert ex.submit(sleeper, 0).result(timeout=10) in warm  # the pool is fine
            pytest.skip("cgroup memory limits cannot be enforced here")
        assert p in warm
        f = ex.submit_with(allocate, (512,), memory_limit="128M")
        try:
            f.result(timeout=30)
        except agentrt.MemoryLimitExceeded as e:
            assert e.result.status == "oom_killed"
        else:
            pytest.skip("cgroup memory limits are not enforced here")
        # The limit was the call's alone: the next worker has none.
        p = ex.submit(allocate, 400).result(timeout=30)
        assert p != f.pid
        # Calls waiting behind a limited one are not sent ahead to it.
        slow = ex.submit_with(sleeper, (0.3,), memory_limit="256M")
        wait_for(slow.started)
        after = ex.submit(sleeper, 0)
        time.sleep(0.05)
        assert after.pid is None
        assert after.result(timeout=10) == slow.result(timeout=10)


def test_result_waits_on_the_worker_socket():
    # A lone call: result() reads the worker's socket itself. Its timeout,
    # a cancel from another thread and a second waiting thread still work.
    import concurrent.futures
    import threading
    with agentrt.Executor(1) as ex:
        f = ex.submit(sleeper, 30)
        wait_for(f.started)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            f.result(timeout=0.2)
        assert 0.19 < time.monotonic() - t0 < 1.0
        assert f.running()
        got = []
        other = threading.Thread(target=lambda: got.append(
            pytest.raises(concurrent.futures.CancelledError, f.result, 10)))
        other.start()
        threading.Timer(0.2, f.cancel).start()
        t0 = time.monotonic()
        with pytest.raises(concurrent.futures.CancelledError):
            f.result(timeout=10)
        assert time.monotonic() - t0 < 1.0
        other.join(10)
        assert got
        # Both threads, then a new call: the socket went back to the dispatcher.
        g = ex.submit(sleeper, 0.1)
        h = ex.submit(sleeper, 0)  # waits behind g: read by the dispatcher
        assert h.result(timeout=10) == g.result(timeout=10)
        done, _ = concurrent.futures.wait([ex.submit(square, 4)], timeout=10)
        assert [d.result() for d in done] == [16]


def cgroup_value(ctrl, name):
    """(pid, the value of this process's cgroup file ctrl/name), None if absent."""
    for line in open("/proc/self/cgroup"):
        _, ctrls, path = line.rstrip("\n").split(":", 2)
        if ctrl in ctrls.split(","):
            try:
                with open(f"/sys/fs/cgroup/{ctrl}{path}/{name}") as f:
                    return os.getpid(), f.read().strip()
            except OSError:
                return os.getpid(), None
    return os.getpid(), None


def nofile():
    import resource
    return os.getpid(), resource.getrlimit(resource.RLIMIT_NOFILE)


def test_per_call_limits_live_and_rlimits_in_a_worker_of_their_own():
    with agentrt.Executor(1, limits={"pids": 64}) as ex:
        try:
            ex.submit(sleeper, 0).result(timeout=30)
        except concurrent.futures.BrokenExecutor as e:
            assert "cgroup" in str(e)
            pytest.skip("no pids cgroup for tasks here: the executor refuses its limit")
        wait_for(lambda: len(ex.worker_pids()) == 2)
        warm = set(ex.worker_pids())
        pid, pids_max = ex.submit(cgroup_value, "pids", "pids.max").result(timeout=10)
        if pids_max is None:
            pytest.skip("no pids cgroup for tasks here")
        assert pids_max == "64"
        # cgroup limits for one call, in a warm worker, then back.
        pid, quota = ex.submit_with(cgroup_value, ("cpu", "cpu.cfs_quota_us"),
                                    limits={"cpu": 0.5, "pids": 32}).result(timeout=10)
        assert pid in warm and quota == "50000"
        assert ex.submit_with(cgroup_value, ("pids", "pids.max"),
                              limits={"pids": 32}).result(timeout=10)[1] == "32"
        for _ in range(3):  # every warm worker has its own limits back
            assert ex.submit(cgroup_value, "cpu", "cpu.cfs_quota_us").result(timeout=10)[1] == "-1"
            assert ex.submit(cgroup_value, "pids", "pids.max").result(timeout=10)[1] == "64"
        # An rlimit is set at exec: a worker of its own.
        pid, (soft, hard) = ex.submit_with(nofile, limits={"nofile": 64}).result(timeout=30)
        assert (soft, hard) == (64, 64) and pid not in warm
        with pytest.raises(agentrt.SpecError, match="cpu"):
            ex.submit_with(nofile, limits={"cpu": "lots"})
    with pytest.raises(agentrt.SpecError, match="limits"):
        agentrt.Executor(1, limits={"bogus": 1})
