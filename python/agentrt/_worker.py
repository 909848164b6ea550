"""The worker process of agentrt.Executor: run as `python3 -m
agentrt._worker` (or by path). It takes its settings from the environment
that the executor sets, connects to the executor's Unix socket, sends the
token, receives the claim table (a memfd, see _claim.c), and then runs the
calls it receives, in order:

    request:  header (length, slot, generation: 3 x 4 bytes big-endian),
              pickle of (fn, args, kwargs), or of (None, fn, chunk) for a
              chunk of map(): [fn(*args) for args in chunk]
    reply:    the same header, pickle of (ok, value_or_exception, traceback_text)

The executor may send calls ahead of the one running. Each is claimed in
the table before it runs: one the executor withdrew meanwhile is skipped,
and if the executor stopped the running one (cancel, timeout), the worker
exits at once instead of starting the next.

It imports nothing from the agentrt package but the small _claim module,
loaded by file name (no runtime, no threads), so that a worker starts
fast. It exits when the socket closes (the executor retires it) or when it
is killed.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import os
import socket
import struct
import sys
import traceback

_HEAD = struct.Struct(">III")

import pickle
from typing import Any

try:  # by name: cloudpickle is optional and has no type stubs
    _pickler: Any = importlib.import_module("cloudpickle")
except ImportError:  # pragma: no cover - depends on the host
    _pickler = pickle


def _load_claim(path: str):  # type: ignore[no-untyped-def]
    """agentrt._claim from its file, without importing the package."""
    loader = importlib.machinery.ExtensionFileLoader("agentrt._claim", path)
    spec = importlib.util.spec_from_file_location("agentrt._claim", path, loader=loader)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def _call(request: bytes) -> tuple[bool, object, str]:
    try:
        fn, args, kwargs = _pickler.loads(request)
        if fn is None:  # a chunk of map(): args is the function, kwargs the chunk
            return True, [args(*a) for a in kwargs], ""
        return True, fn(*args, **kwargs), ""
    except BaseException as e:  # noqa: BLE001 - everything goes back to the caller
        tb = "".join(traceback.format_exception(e))
        e.__traceback__ = None
        e.__context__ = None
        return False, e, tb


def _dumps_reply(ok: bool, value: object, tb: str) -> bytes:
    data: bytes
    try:
        data = _pickler.dumps((ok, value, tb), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # the value (or exception) cannot be pickled
        what = "result" if ok else "exception"
        err = RuntimeError(f"agentrt worker: cannot pickle the {what} "
                           f"({type(value).__name__}): {e!r}")
        text = tb or "".join(traceback.format_exception(e))
        data = _pickler.dumps((False, err, text), protocol=pickle.HIGHEST_PROTOCOL)
    return data


def _load_main(spec: str) -> None:
    """The caller's __main__ as __mp_main__ (as multiprocessing's spawn
    does), so that functions defined there can be unpickled by name; the
    `if __name__ == "__main__":` block does not run."""
    import runpy
    import types

    kind, _, name = spec.partition(":")
    try:
        if kind == "module":
            ns = runpy.run_module(name, run_name="__mp_main__", alter_sys=True)
        else:
            ns = runpy.run_path(name, run_name="__mp_main__")
    except BaseException as e:  # noqa: BLE001
        print(f"agentrt worker: cannot load the caller's main module {name}: {e!r}",
              file=sys.stderr)
        return
    mod = types.ModuleType("__mp_main__")
    mod.__dict__.update(ns)
    sys.modules["__main__"] = sys.modules["__mp_main__"] = mod


def main() -> int:
    path = os.environ.pop("AGENTRT_EXECUTOR_SOCKET")
    token = os.environ.pop("AGENTRT_EXECUTOR_TOKEN").encode()
    setup = os.environ.pop("AGENTRT_EXECUTOR_SETUP", "")
    sys_path = os.environ.pop("AGENTRT_EXECUTOR_PATH", "")
    if sys_path:
        sys.path[:] = json.loads(sys_path)
    main_name = os.environ.pop("AGENTRT_EXECUTOR_MAIN", "")
    if main_name:
        _load_main(main_name)
    if setup:
        # (preload, initializer, initargs), pickled by the executor, hex.
        preload, initializer, initargs = _pickler.loads(bytes.fromhex(setup))
        for name in preload:
            importlib.import_module(name)
        if initializer is not None:
            initializer(*initargs)

    claim_path = os.environ.pop("AGENTRT_EXECUTOR_CLAIM")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall(token + struct.pack(">I", os.getpid()))
    msg, fds, _, _ = socket.recv_fds(sock, 16, 1)
    if not fds:
        return 0  # refused, or the executor is gone
    table = _load_claim(claim_path).Table(fds[0], int(msg.decode()))
    os.close(fds[0])

    buf = bytearray()
    calls: list[tuple[int, int, bytes]] = []
    at = 0  # calls[at:] are still to run
    while True:
        if at == len(calls):
            calls.clear()
            at = 0
            data = sock.recv(1 << 16)
            if not data:
                return 0
            buf += data
            off = 0
            while len(buf) - off >= _HEAD.size:
                n, slot, gen = _HEAD.unpack_from(buf, off)
                if len(buf) - off - _HEAD.size < n:
                    break
                calls.append((slot, gen, bytes(buf[off + _HEAD.size:off + _HEAD.size + n])))
                off += _HEAD.size + n
            del buf[:off]
            continue
        slot, gen, request = calls[at]
        at += 1
        if not table.claim(slot, gen):
            continue  # withdrawn: cancelled, or moved to another worker
        ok, value, tb = _call(request)
        del request
        reply = _dumps_reply(ok, value, tb)
        del value
        if not table.finish(slot, gen):
            os._exit(0)  # stopped: the executor is killing this worker
        sock.sendall(_HEAD.pack(len(reply), slot, gen) + reply)


if __name__ == "__main__":
    sys.exit(main())
