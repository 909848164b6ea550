"""Python options -> the JSON task spec of docs/spec.md. The library parses
and validates the JSON (art_spec_from_json), so every field and its checks
come from there; this module only converts Python values (seconds, bytes,
paths, timedeltas, Tasks) into their JSON form."""
from __future__ import annotations

import base64
import datetime
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ._agentrt import SpecError

__all__ = ["build_spec", "SPEC_FIELDS"]

# The spec's fields (docs/spec.md). Unknown keywords are passed on too, so
# that the library's own error names them ("frobnicate: unknown field").
SPEC_FIELDS = frozenset({
    "id", "cmd", "env", "inherit_env", "cwd", "stdin", "timeout", "grace", "limits", "output",
    "labels", "sandbox", "priority", "group", "kind", "depends_on", "requests", "retries",
    "session", "restart", "health", "notify", "watchdog",
})


def _duration(name: str, value: Any) -> Any:
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bool):
        raise SpecError(f"{name}: must be a duration (seconds or a string such as \"30s\")")
    return value


def _path(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _cmd(cmd: Any) -> Any:
    if isinstance(cmd, (str, bytes, os.PathLike)):
        if isinstance(cmd, str):
            return cmd  # a shell command line: ["/bin/sh", "-c", cmd]
        return [os.fsdecode(cmd)]
    if isinstance(cmd, Sequence):
        out = []
        for i, a in enumerate(cmd):
            if isinstance(a, (str, bytes, os.PathLike)):
                out.append(os.fsdecode(a))
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                out.append(str(a))
            else:
                raise SpecError(f"cmd[{i}]: must be a string, not {type(a).__name__}")
        return out
    raise SpecError(f"cmd: must be a list of arguments or a shell command line, not "
                    f"{type(cmd).__name__}")


def _stdin(value: Any) -> Any:
    if value is None or isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        if value in ("null", "inherit", "pipe"):
            return value  # "pipe": Task.write_stdin() and close_stdin()
        raise SpecError(f"stdin: {value!r} is not one of null, inherit, pipe; give text or bytes "
                        f"with input=..., a file as a pathlib.Path or {{\"file\": PATH}}")
    if isinstance(value, os.PathLike):
        return {"file": os.fspath(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise SpecError(f"stdin: {type(value).__name__} is not a stdin")


def _input(value: Any) -> Any:
    if isinstance(value, str):
        if "\0" in value:
            value = value.encode()
        else:
            return {"text": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise SpecError(f"input: must be str or bytes, not {type(value).__name__}")


def _dep(item: Any) -> Any:
    from ._runtime import Task

    if isinstance(item, Task):
        if item.id is None:
            raise SpecError("depends_on: a task without an id cannot be depended on")
        return item.id
    return item


def _depends(value: Any) -> Any:
    from ._runtime import Task

    if isinstance(value, (str, Mapping, Task)):
        return _dep(value)
    if isinstance(value, Sequence):
        return [_dep(v) for v in value]
    return value


def _limits(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    out = {}
    for k, v in value.items():
        out[k] = _duration(f"limits.{k}", v) if k == "cpu_time" else v
    return out


def build_spec(cmd: Any, options: Mapping[str, Any]) -> bytes:
    """The JSON of one task spec, UTF-8."""
    spec: dict[str, Any] = {"cmd": _cmd(cmd)}
    for key, value in options.items():
        if key == "cmd":
            raise SpecError("cmd: given twice")
        if key == "input":
            if "stdin" in options and options["stdin"] is not None:
                raise SpecError("input: cannot be used with stdin")
            if value is not None:
                spec["stdin"] = _input(value)
            continue
        if key in ("timeout", "grace", "watchdog"):
            value = _duration(key, value)
        elif key == "cwd":
            value = _path(value)
        elif key == "stdin":
            if value is None and "input" in options:
                continue
            value = _stdin(value)
        elif key == "depends_on":
            value = _depends(value)
        elif key == "limits":
            value = _limits(value)
        elif key == "env" and isinstance(value, Mapping):
            value = {str(k): (None if v is None else os.fsdecode(_path(v)))
                     for k, v in value.items()}
        spec[key] = value
    try:
        return json.dumps(spec, ensure_ascii=False, allow_nan=False,
                          default=_json_default).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as e:
        raise SpecError(f"spec: {e}") from None


def _json_default(o: Any) -> Any:
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    if isinstance(o, datetime.timedelta):
        return o.total_seconds()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")
