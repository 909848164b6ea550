"""Callables for bench/python/executor.py (importable by every pool's workers)."""
import os
import time


def noop(x=None):
    return x


def sleep_reporting_pid(path, seconds):
    """Writes the worker's pid to path, then sleeps."""
    with open(path + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(path + ".tmp", path)
    time.sleep(seconds)
