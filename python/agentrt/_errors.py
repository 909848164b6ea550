"""agentrt's exceptions. Error, SpecError, RuntimeClosed, SessionClosed and
SessionQueueFull are defined by the extension (it raises them); the task
failures are defined here."""
from __future__ import annotations

from concurrent.futures import CancelledError
from typing import TYPE_CHECKING

from ._agentrt import Error, RuntimeClosed, SessionClosed, SessionQueueFull, SpecError

if TYPE_CHECKING:
    from ._result import Result

__all__ = [
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
    "failure_for",
]


class TaskNotDone(Error):
    """Task.result() was called before the task ended."""


class TaskFailed(Error):
    """A task did not succeed (it did not exit with code 0). `result` is
    its Result; None where an agentrt.Executor raised it for a callable
    before the worker's process had been reaped (a timeout)."""

    result: "Result | None"

    def __init__(self, result: "Result | None", message: str | None = None) -> None:
        self.result = result
        self._message = message
        super().__init__(message if message is not None or result is None
                         else result.describe())

    def __reduce__(self) -> tuple[type, tuple["Result | None", str | None]]:  # picklable
        return (type(self), (self.result, self._message))


class TaskTimeout(TaskFailed, TimeoutError):
    """The task's timeout passed and it was stopped (status "timeout")."""


class TaskCancelled(TaskFailed, CancelledError):
    """The task was cancelled (status "cancelled"). Also a
    concurrent.futures.CancelledError."""


class MemoryLimitExceeded(TaskFailed, MemoryError):
    """The kernel's OOM killer ended the task at its memory limit
    (status "oom_killed")."""


class TaskStartFailed(TaskFailed):
    """The command could not be started (status "start_failed"): not
    found, not executable, a bad cwd, ..."""


class WorkerCrashed(TaskFailed):
    """An agentrt.Executor worker process died while it ran a callable
    (os._exit, a signal, a crash in C). `result` is the worker's Result:
    `exit_code`, `signal`, and `stderr` (the tail of what it wrote)."""

    @property
    def exit_code(self) -> int | None:
        return self.result.exit_code if self.result is not None else None

    @property
    def signal(self) -> int | None:
        return self.result.signal if self.result is not None else None

    @property
    def stderr(self) -> str:
        return self.result.stderr_text if self.result is not None else ""


def failure_for(result: "Result") -> TaskFailed:
    """The exception that says how a result failed."""
    cls = {
        "timeout": TaskTimeout,
        "cancelled": TaskCancelled,
        "oom_killed": MemoryLimitExceeded,
        "start_failed": TaskStartFailed,
    }.get(result.status, TaskFailed)
    return cls(result)
