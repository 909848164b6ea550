"""The worker process of agentrt.Executor: run as `python3 -m
agentrt._worker` (or by path). It takes its settings from the environment
that the executor sets, connects to the executor's Unix socket, sends the
token, and then runs the callables it receives:

    request:  4-byte big-endian length, pickle of (fn, args, kwargs)
    reply:    4-byte big-endian length, pickle of (ok, value_or_exception, traceback_text)

It imports nothing from the agentrt package (no extension, no runtime), so
that a worker starts fast and owns no threads. It exits when the socket
closes (the executor retires it) or when it is killed.
"""
from __future__ import annotations

import importlib
import json
import os
import socket
import struct
import sys
import traceback

_LEN = struct.Struct(">I")

try:
    import cloudpickle as _pickler
except ImportError:  # pragma: no cover - depends on the host
    import pickle as _pickler  # type: ignore[no-redef]
import pickle


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _dumps_reply(ok: bool, value: object, tb: str) -> bytes:
    try:
        return _pickler.dumps((ok, value, tb), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # the value (or exception) cannot be pickled
        what = "result" if ok else "exception"
        err = RuntimeError(f"agentrt worker: cannot pickle the {what} "
                           f"({type(value).__name__}): {e!r}")
        text = tb or "".join(traceback.format_exception(e))
        return _pickler.dumps((False, err, text), protocol=pickle.HIGHEST_PROTOCOL)


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

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.sendall(token + _LEN.pack(os.getpid()))
    while True:
        head = _recv_exact(sock, 4)
        if head is None:
            return 0
        body = _recv_exact(sock, _LEN.unpack(head)[0])
        if body is None:
            return 0
        try:
            fn, args, kwargs = _pickler.loads(body)
            reply = _dumps_reply(True, fn(*args, **kwargs), "")
        except BaseException as e:  # noqa: BLE001 - everything goes back to the caller
            tb = "".join(traceback.format_exception(e))
            e.__traceback__ = None
            e.__context__ = None
            reply = _dumps_reply(False, e, tb)
            del e
        sock.sendall(_LEN.pack(len(reply)) + reply)


if __name__ == "__main__":
    sys.exit(main())
