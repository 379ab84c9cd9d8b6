"""The conversation list and one conversation; a person reads, answers, takes over, hands back."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from fastapi.responses import JSONResponse

from hilo.projections.conversation import timeline
from schemas import (
    ConversationHandbackRequested,
    ConversationReadMarked,
    ConversationTakeoverRequested,
    ReplyReady,
    TemplateRef,
    derived_id,
    utc_now,
)
from services.inbox import cursors, queries, replies, search
from services.inbox.auth import CurrentOperator
from services.inbox.models import (
    Accepted,
    Analysis,
    ConversationDetail,
    ConversationPage,
    ConversationSummary,
    Problem,
    ReplyAccepted,
    ReplyIn,
    ReplyRefused,
    TaskOut,
    TemplateOption,
    TimelineItem,
)
from services.inbox.routes.common import AUTH_ERRORS, contact_key, publish
from services.inbox.routes.shapes import calendar_event_out
from services.inbox.state import Inbox, inbox

router = APIRouter(tags=["conversations"], responses=AUTH_ERRORS)
State = Annotated[Inbox, Depends(inbox)]
ModeName = Literal["analyzer", "voice_agent", "flow", "human", "nobody"]
SentimentName = Literal["positive", "negative", "neutral", "urgent"]


@router.get("/conversations", response_model=ConversationPage)
async def list_conversations(
    _: CurrentOperator,
    state: State,
    q: Annotated[
        str | None, Query(max_length=200, pattern="^[^\\x00]*$", description="name, number or text")
    ] = None,
    channel: Literal["whatsapp", "voice"] | None = None,
    mode: ModeName | None = None,
    unread: bool | None = None,
    has_tasks: bool | None = None,
    sentiment: SentimentName | None = None,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> ConversationPage:
    query = search.tsquery(q) if q else None
    if q and query is None:
        return ConversationPage(items=[], next_cursor=None)
    found = queries.ConversationFilter(query, channel, mode, unread, has_tasks, sentiment)
    try:
        rows, next_cursor = await queries.conversations(
            state.runtime.db, found, cursor, limit or state.settings.inbox_page_size
        )
    except cursors.BadCursor as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return ConversationPage(
        items=[ConversationSummary.model_validate(dict(r)) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/conversations/{contact}",
    response_model=ConversationDetail,
    responses={404: {"model": Problem}},
)
async def get_conversation(contact: str, _: CurrentOperator, state: State) -> ConversationDetail:
    key = contact_key(contact)
    found = await queries.conversation(state.runtime.db, key)
    if found.inbox is None and found.conversation is None:
        raise HTTPException(404, detail=f"no conversation with {key}")
    doc: dict[str, Any] = found.conversation["doc"] if found.conversation else {}
    row = found.inbox
    tasks = await queries.contact_tasks(state.runtime.db, key)
    events = await queries.calendar(state.runtime.db, since=None, until=None, contact=key)
    last_inbound = (found.conversation or row or {}).get("last_inbound_at")
    analysis = doc.get("latest_analysis")
    return ConversationDetail(
        contact=key,
        name=(row["name"] if row else None) or doc.get("contact_name"),
        mode=(row["mode"] if row else None) or doc.get("mode") or "analyzer",
        opted_out=bool(row["opted_out"] if row else doc.get("opted_out")),
        unread=row["unread"] if row else 0,
        window_open_until=replies.window_open_until(last_inbound),
        items=[TimelineItem.model_validate(item) for item in timeline(doc)] if doc else [],
        analysis=Analysis.model_validate(analysis) if analysis else None,
        tasks=[TaskOut.model_validate(dict(t)) for t in tasks],
        events=[calendar_event_out(e) for e in events],
    )


@router.post("/conversations/{contact}/read", status_code=202, response_model=Accepted)
async def mark_read(contact: str, operator: CurrentOperator, state: State) -> Accepted:
    event = ConversationReadMarked(conversation=contact_key(contact), operator=operator.label)
    await publish(state, event)
    return Accepted(event_id=event.event_id)


@router.post(
    "/conversations/{contact}/messages",
    status_code=202,
    response_model=ReplyAccepted,
    responses={404: {"model": Problem}, 409: {"model": ReplyRefused}},
)
async def reply(
    contact: str,
    body: ReplyIn,
    operator: CurrentOperator,
    state: State,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="the same key again answers the same reply_id"),
    ] = None,
) -> Any:
    key = contact_key(contact)
    rules = await queries.reply_rules(state.runtime.db, key)
    if rules is None:
        raise HTTPException(404, detail=f"no conversation with {key}")
    last_inbound_at, opted_out = rules
    refused = replies.refusal(last_inbound_at, opted_out, utc_now(), template=bool(body.template))
    if refused is not None:
        offered = [] if refused.reason == "opted_out" else state.settings.templates()
        problem = ReplyRefused(
            detail=refused.detail,
            reason=refused.reason,
            templates=[TemplateOption(name=n, language=lang) for n, lang in offered],
        )
        return JSONResponse(problem.model_dump(), status_code=409)
    reply_id = (
        derived_id(f"{operator.label}:{key}:{idempotency_key}", "inbox.reply")
        if idempotency_key
        else uuid.uuid4()
    )
    template = (
        TemplateRef(
            name=body.template.name,
            language=body.template.language,
            variables=body.template.variables,
        )
        if body.template
        else None
    )
    event = ReplyReady(
        event_id=derived_id(reply_id, "reply.ready"),
        conversation=key,
        reply_id=reply_id,
        author="human",
        operator=operator.label,
        text=body.text,
        template=template,
        business_initiated=template is not None,
        language=template.language if template else None,
    )
    await publish(state, event)
    return ReplyAccepted(reply_id=reply_id)


@router.post("/conversations/{contact}/takeover", status_code=202, response_model=Accepted)
async def takeover(contact: str, operator: CurrentOperator, state: State) -> Accepted:
    """A person answers from now on; the router switches the mode to human."""
    event = ConversationTakeoverRequested(
        conversation=contact_key(contact), operator=operator.label
    )
    await publish(state, event)
    return Accepted(event_id=event.event_id)


@router.post("/conversations/{contact}/handback", status_code=202, response_model=Accepted)
async def handback(contact: str, operator: CurrentOperator, state: State) -> Accepted:
    """Automatic answering resumes; the router switches the mode back."""
    event = ConversationHandbackRequested(
        conversation=contact_key(contact), operator=operator.label
    )
    await publish(state, event)
    return Accepted(event_id=event.event_id)
