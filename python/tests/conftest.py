import os
import random
import time

import pytest

import agentrt


@pytest.fixture
def rt():
    runtime = agentrt.Runtime(max_running=32)
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def marker():
    """A number of seconds no other process uses: `sleep MARKER` can be
    found in /proc by its command line."""
    return f"{random.randint(500, 999)}.{random.randint(10**8, 10**9 - 1)}"


def pids_with(marker):
    """Live (not zombie) processes whose command line contains marker."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(name))
    return found


def wait_until(pred, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def gone(marker, timeout=5.0):
    return wait_until(lambda: not pids_with(marker), timeout)
