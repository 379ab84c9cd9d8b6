"""Question flows: the loaded flows, their sessions (from ``proj_flow_sessions``), start, reset.

The sessions table belongs to the flows service's read model; until it exists the lists
are empty and a reset finds no session.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query

from hilo.flowdefs import Flow, FlowSet, InvalidFlows, load_flows
from schemas import FlowSessionReset, FlowStartRequested
from services.inbox import cursors, queries
from services.inbox.auth import CurrentOperator
from services.inbox.models import (
    Accepted,
    ContactFlowSessions,
    FlowList,
    FlowOut,
    FlowQuestionOut,
    FlowSession,
    FlowSessionPage,
    FlowStartIn,
    Problem,
)
from services.inbox.routes.common import AUTH_ERRORS, contact_key, publish
from services.inbox.state import Inbox, inbox

router = APIRouter(tags=["flows"], responses=AUTH_ERRORS)
State = Annotated[Inbox, Depends(inbox)]
SessionState = Literal["active", "completed", "abandoned", "failed", "reset"]


def _flows(state: Inbox) -> FlowSet:
    try:
        return load_flows(state.settings.hilo_flows_dir)
    except InvalidFlows as exc:
        raise HTTPException(503, detail=f"the flow files are invalid: {exc}") from None


def _flow_out(flow: Flow) -> FlowOut:
    return FlowOut(
        id=flow.id,
        name=flow.name,
        language=flow.language,
        keywords=list(flow.trigger.keywords),
        questions=[
            FlowQuestionOut(
                id=q.id,
                type=q.type,
                text=q.text.in_language(flow.language),
                options=[o.in_language(flow.language) for o in q.options],
                required=q.required,
            )
            for q in flow.questions
        ],
        external_api=flow.external_api is not None,
    )


def _session(row: Any) -> FlowSession:
    return FlowSession.model_validate(dict(row))


@router.get("/flows", response_model=FlowList)
async def list_flows(_: CurrentOperator, state: State) -> FlowList:
    return FlowList(items=[_flow_out(f) for f in _flows(state).flows])


@router.get("/flows/sessions", response_model=FlowSessionPage)
async def list_sessions(
    _: CurrentOperator,
    state: State,
    flow: str | None = None,
    session_state: Annotated[SessionState | None, Query(alias="state")] = None,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> FlowSessionPage:
    try:
        rows, next_cursor = await queries.flow_sessions(
            state.runtime.db,
            flow=flow,
            state=session_state,
            cursor=cursor,
            limit=limit or state.settings.inbox_page_size,
        )
    except cursors.BadCursor as exc:
        raise HTTPException(422, detail=str(exc)) from None
    except asyncpg.UndefinedTableError:
        return FlowSessionPage(items=[], next_cursor=None)
    return FlowSessionPage(items=[_session(r) for r in rows], next_cursor=next_cursor)


async def _contact_sessions(state: Inbox, contact: str) -> list[FlowSession]:
    try:
        rows = await queries.contact_flow_sessions(state.runtime.db, contact)
    except asyncpg.UndefinedTableError:
        return []
    return [_session(r) for r in rows]


@router.get("/flows/sessions/{contact}", response_model=ContactFlowSessions)
async def contact_sessions(contact: str, _: CurrentOperator, state: State) -> ContactFlowSessions:
    key = contact_key(contact)
    sessions = await _contact_sessions(state, key)
    return ContactFlowSessions(
        contact=key, latest=sessions[0] if sessions else None, earlier=sessions[1:]
    )


@router.post(
    "/flows/start", status_code=202, response_model=Accepted, responses={404: {"model": Problem}}
)
async def start_flow(body: FlowStartIn, operator: CurrentOperator, state: State) -> Accepted:
    key = contact_key(body.contact)
    if _flows(state).get(body.flow) is None:
        raise HTTPException(404, detail=f"no flow {body.flow!r}")
    event = FlowStartRequested(
        conversation=key, flow_id=body.flow, source="api", requested_by=operator.label
    )
    await publish(state, event)
    return Accepted(event_id=event.event_id)


@router.post(
    "/flows/sessions/{contact}/reset",
    status_code=202,
    response_model=Accepted,
    responses={404: {"model": Problem}},
)
async def reset_session(contact: str, operator: CurrentOperator, state: State) -> Accepted:
    key = contact_key(contact)
    active = next((s for s in await _contact_sessions(state, key) if s.state == "active"), None)
    if active is None:
        raise HTTPException(404, detail=f"{key} has no active flow session")
    event = FlowSessionReset(
        conversation=key,
        session_id=active.session_id,
        flow_id=active.flow_id,
        operator=operator.label,
    )
    await publish(state, event)
    return Accepted(event_id=event.event_id)
