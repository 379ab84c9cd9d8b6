"""Tasks: listed with filters, changed by a person (status, assignee, due) as events."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from schemas import TaskEdited
from services.inbox import cursors, queries
from services.inbox.auth import CurrentOperator
from services.inbox.models import Accepted, Problem, TaskOut, TaskPage, TaskPatch
from services.inbox.routes.common import AUTH_ERRORS, contact_key, publish
from services.inbox.state import Inbox, inbox

router = APIRouter(tags=["tasks"], responses=AUTH_ERRORS)
State = Annotated[Inbox, Depends(inbox)]


@router.get("/tasks", response_model=TaskPage)
async def list_tasks(
    _: CurrentOperator,
    state: State,
    status: Literal["open", "done", "cancelled"] | None = None,
    contact: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> TaskPage:
    try:
        rows, next_cursor = await queries.tasks(
            state.runtime.db,
            status=status,
            contact=contact_key(contact) if contact else None,
            cursor=cursor,
            limit=limit or state.settings.inbox_page_size,
        )
    except cursors.BadCursor as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return TaskPage(items=[TaskOut.model_validate(dict(r)) for r in rows], next_cursor=next_cursor)


@router.patch(
    "/tasks/{task_id}",
    status_code=202,
    response_model=Accepted,
    responses={404: {"model": Problem}, 422: {"model": Problem}},
)
async def edit_task(
    task_id: uuid.UUID, body: TaskPatch, operator: CurrentOperator, state: State
) -> Accepted:
    changed = tuple(f for f in ("status", "assignee", "due") if f in body.model_fields_set)
    if not changed:
        raise HTTPException(422, detail="give at least one of status, assignee, due")
    if "status" in changed and body.status is None:
        raise HTTPException(422, detail="status must be open, done or cancelled")
    task = await queries.task(state.runtime.db, task_id)
    if task is None:
        raise HTTPException(404, detail=f"no task {task_id}")
    event = TaskEdited(
        conversation=task["contact"],
        task_id=task_id,
        operator=operator.label,
        changed=changed,
        status=body.status,
        assignee=body.assignee,
        due=body.due,
    )
    await publish(state, event)
    return Accepted(event_id=event.event_id)
