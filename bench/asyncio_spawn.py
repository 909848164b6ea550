#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""asyncio_spawn.py - the Python asyncio peer for the spawn benchmark.

Runs N copies of a program (default /bin/true) with at most J in flight:
asyncio.create_subprocess_exec(..., stdin/stdout/stderr=DEVNULL) under an
asyncio.Semaphore(J), then proc.wait().

    asyncio_spawn.py -j J -n N [--watcher pidfd|threaded|default] [PROGRAM [ARG...]]

Child watcher (Python 3.8-3.11 on Linux): the default is ThreadedChildWatcher,
one thread per child blocked in waitpid. PidfdChildWatcher (3.9+, Linux 5.3+)
watches a pidfd per child on the event loop instead; it is what Python 3.12
uses by default and is usually the faster, so --watcher pidfd is the default
here when it exists (the best asyncio can do without third-party loops).

Prints "asyncio: n=N j=J failed=F seconds=S rate=R/s watcher=W" on stderr.
Exits 0 when every child exited 0, 1 otherwise.
"""
import argparse
import asyncio
import sys
import time
import warnings


def pick_watcher(name):
    if name == "default":
        return None
    if name == "pidfd":
        cls = getattr(asyncio, "PidfdChildWatcher", None)
        if cls is None:
            return None
        return cls()
    if name == "threaded":
        return asyncio.ThreadedChildWatcher()
    raise SystemExit("asyncio_spawn: unknown watcher " + name)


async def main_async(args, argv):
    sem = asyncio.Semaphore(args.jobs)
    failed = 0

    async def one():
        nonlocal failed
        async with sem:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            if await proc.wait() != 0:
                failed += 1

    # Creating all N coroutines up front is what a naive program does; the
    # semaphore keeps J in flight. N tasks of a few hundred bytes each.
    await asyncio.gather(*(one() for _ in range(args.total)))
    return failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", dest="jobs", type=int, default=1)
    ap.add_argument("-n", dest="total", type=int, default=1)
    ap.add_argument("--watcher", default="pidfd", choices=["pidfd", "threaded", "default"])
    ap.add_argument("-q", dest="quiet", action="store_true")
    ap.add_argument("argv", nargs="*")
    args = ap.parse_args()
    argv = args.argv or ["/bin/true"]

    watcher_name = "default"
    with warnings.catch_warnings():
        # The child watcher API is deprecated in 3.12 (and gone in 3.14);
        # 3.12+ picks the pidfd watcher itself.
        warnings.simplefilter("ignore", DeprecationWarning)
        if sys.version_info < (3, 12):
            w = pick_watcher(args.watcher)
            if w is not None:
                asyncio.set_child_watcher(w)
                watcher_name = args.watcher
        t0 = time.perf_counter()
        loop = asyncio.new_event_loop()
        if sys.version_info < (3, 12) and watcher_name != "default":
            asyncio.get_child_watcher().attach_loop(loop)
        try:
            failed = loop.run_until_complete(main_async(args, argv))
        finally:
            loop.close()
        secs = time.perf_counter() - t0
    if not args.quiet:
        print(
            "asyncio: n=%d j=%d failed=%d seconds=%.3f rate=%.0f/s watcher=%s"
            % (args.total, args.jobs, failed, secs, args.total / secs, watcher_name),
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
