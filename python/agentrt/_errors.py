"""agentrt's exceptions. Error, SpecError and RuntimeClosed are defined by
the extension (it raises them); the task failures are defined here."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._agentrt import Error, RuntimeClosed, SpecError

if TYPE_CHECKING:
    from ._result import Result

__all__ = [
    "Error",
    "SpecError",
    "RuntimeClosed",
    "TaskNotDone",
    "TaskFailed",
    "TaskTimeout",
    "TaskCancelled",
    "MemoryLimitExceeded",
    "TaskStartFailed",
    "failure_for",
]


class TaskNotDone(Error):
    """Task.result() was called before the task ended."""


class TaskFailed(Error):
    """A task did not succeed (it did not exit with code 0). `result` is
    its Result."""

    result: "Result"

    def __init__(self, result: "Result") -> None:
        self.result = result
        super().__init__(result.describe())

    def __reduce__(self) -> tuple[type, tuple["Result"]]:  # picklable (multiprocessing)
        return (type(self), (self.result,))


class TaskTimeout(TaskFailed, TimeoutError):
    """The task's timeout passed and it was stopped (status "timeout")."""


class TaskCancelled(TaskFailed):
    """The task was cancelled (status "cancelled")."""


class MemoryLimitExceeded(TaskFailed, MemoryError):
    """The kernel's OOM killer ended the task at its memory limit
    (status "oom_killed")."""


class TaskStartFailed(TaskFailed):
    """The command could not be started (status "start_failed"): not
    found, not executable, a bad cwd, ..."""


def failure_for(result: "Result") -> TaskFailed:
    """The exception that says how a result failed."""
    cls = {
        "timeout": TaskTimeout,
        "cancelled": TaskCancelled,
        "oom_killed": MemoryLimitExceeded,
        "start_failed": TaskStartFailed,
    }.get(result.status, TaskFailed)
    return cls(result)
