import subprocess
import threading
import time

import agentrt


def test_many_threads_submit_at_once():
    n_threads, per_thread = 16, 50
    errors, results = [], {}
    barrier = threading.Barrier(n_threads)
    with agentrt.Runtime(max_running=32) as rt:
        def worker(k):
            try:
                barrier.wait()
                tasks = [(i, rt.spawn(["sh", "-c", "echo $0; exit $(($0 % 7))",
                                       str(k * 1000 + i)], stream=False))
                         for i in range(per_thread)]
                for i, t in tasks:
                    results[(k, i)] = t.wait(60)
            except BaseException as e:  # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        took = time.monotonic() - t0
        assert not errors, errors
        assert len(results) == n_threads * per_thread
        for (k, i), r in results.items():
            n = k * 1000 + i
            assert r.status == "exited"
            assert r.stdout == f"{n}\n".encode()
            assert r.exit_code == n % 7
        st = rt.stats()
        assert st["submitted"] == st["ended"] == n_threads * per_thread
    assert took < 60


def test_run_from_many_threads():
    with agentrt.Runtime() as rt:
        out = {}

        def worker(k):
            out[k] = rt.run(["sh", "-c", f"exit {k}"]).exit_code

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert out == {k: k for k in range(16)}


def test_host_subprocess_keeps_working(rt):
    """The runtime reaps only what it started: the host's own children
    (subprocess) are never stolen, while tasks start and end beside them."""
    tasks = [rt.spawn(["sh", "-c", f"sleep 0.0{i % 10}; exit {i % 5}"], stream=False)
             for i in range(100)]
    for i in range(50):
        p = subprocess.run(["true"])
        assert p.returncode == 0
        p = subprocess.run(["sh", "-c", f"exit {i % 7}"])
        assert p.returncode == i % 7
        with subprocess.Popen(["sleep", "0.01"]) as proc:
            assert proc.wait() == 0
    for i, t in enumerate(tasks):
        r = t.wait(30)
        assert r.status == "exited" and r.exit_code == i % 5
