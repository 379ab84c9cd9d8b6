"""What operators did through the operator API: facts naming the person (the audit trail).

The takeover and handback requests live in :mod:`schemas.conversations` beside the
router's decisions; a person's reply is a ``reply.ready`` with ``author="human"``.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from schemas.envelope import Event

TaskStatus = Literal["open", "done", "cancelled"]
TaskField = Literal["status", "assignee", "due"]


class ConversationReadMarked(Event):
    """A person read the conversation up to now: its unread count starts again from zero."""

    type: Literal["conversation.read_marked"] = "conversation.read_marked"
    schema_version: int = 1
    operator: str


class TaskEdited(Event):
    """A person changed a task: only the fields named in ``changed`` were set.

    The analyzer reads it too: a task a person closed is never reopened or renamed by a
    later analysis.
    """

    type: Literal["task.edited"] = "task.edited"
    schema_version: int = 1
    task_id: uuid.UUID
    operator: str
    changed: tuple[TaskField, ...]
    status: TaskStatus | None = None
    assignee: str | None = None
    due: date | None = None
