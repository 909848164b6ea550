"""agentrt: run many concurrent agent tasks (processes) with timeouts,
resource limits and clean teardown. The Python binding of libagentrt.

    import agentrt

    with agentrt.Runtime() as rt:
        r = rt.run(["pytest", "-x"], timeout=600, limits={"memory": "2G"})
        print(r.status, r.exit_status, r.stdout_text)

See docs/python.md.
"""
from ._agentrt import LIB_VERSION as lib_version
from ._aio import AsyncRuntime
from ._errors import (
    Error,
    MemoryLimitExceeded,
    RuntimeClosed,
    SessionClosed,
    SessionQueueFull,
    SpecError,
    TaskCancelled,
    TaskFailed,
    TaskNotDone,
    TaskStartFailed,
    TaskTimeout,
    WorkerCrashed,
)
from ._executor import Executor, ExecutorFuture, RemoteTraceback
from ._result import Result
from ._runtime import Message, MessageStream, OutputStream, Runtime, Task

__version__ = "0.1.0"

__all__ = [
    "Runtime",
    "AsyncRuntime",
    "Task",
    "Result",
    "OutputStream",
    "Message",
    "MessageStream",
    "Error",
    "SpecError",
    "RuntimeClosed",
    "SessionClosed",
    "SessionQueueFull",
    "TaskNotDone",
    "TaskFailed",
    "TaskTimeout",
    "TaskCancelled",
    "MemoryLimitExceeded",
    "TaskStartFailed",
    "WorkerCrashed",
    "Executor",
    "ExecutorFuture",
    "RemoteTraceback",
    "lib_version",
]
