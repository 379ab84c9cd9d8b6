"""The API's request and response bodies: what /api/openapi.json describes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.inbox.accounts import Role

TaskStatus = Literal["open", "done", "cancelled"]


class Problem(BaseModel):
    """An error: ``detail`` says what went wrong (4xx)."""

    detail: str


class Input(BaseModel):
    """A request body. PostgreSQL stores no NUL character (text or jsonb): refused here, a 422
    naming the field, rather than a 500 from the database (found by `make fuzz`)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = [*value.keys(), *value.values()] if isinstance(value, dict) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("must not contain the NUL character")
        return value


# --- auth ------------------------------------------------------------------------------


class LoginIn(Input):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class OperatorOut(BaseModel):
    id: str
    name: str = Field(description="the e-mail, or the API token's name")
    role: Role
    via: Literal["session", "token"]


class LoginOut(BaseModel):
    operator: OperatorOut
    csrf_token: str = Field(description="send it back as X-CSRF-Token on cookie mutations")


class OperatorAccount(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    created_at: datetime


# --- conversations ---------------------------------------------------------------------


class ConversationSummary(BaseModel):
    contact: str
    name: str | None
    last_message_at: datetime
    last_text: str | None
    unread: int
    mode: str
    sentiment: str | None
    open_tasks: int
    channel: str = Field(description="the channel of the last message: whatsapp or voice")
    channels: list[str]
    opted_out: bool


class ConversationPage(BaseModel):
    items: list[ConversationSummary]
    next_cursor: str | None


class TimelineItem(BaseModel):
    """One thing in the conversation; fields beyond these depend on ``kind``."""

    model_config = ConfigDict(extra="allow")

    key: str
    kind: str = Field(description="message, call, intent, calendar_event, task, mode_changed…")
    at: datetime
    direction: str | None = None
    channel: str | None = None
    text: str | None = None
    author: str | None = Field(
        default=None, description="who answered: analyzer, voice_agent, flow, human, system"
    )
    operator: str | None = Field(default=None, description="the person, when author is human")
    answerer: str | None = Field(
        default=None, description="an inbound message: who was to answer it (the router's call)"
    )
    status: str | None = None


class Analysis(BaseModel):
    model_config = ConfigDict(extra="allow")

    intent: str | None = None
    sentiment: str | None = None
    language: str | None = None
    summary: str | None = None
    entities: list[dict[str, Any]] = []


class TaskOut(BaseModel):
    task_id: uuid.UUID
    contact: str
    title: str
    type: str
    priority: int
    due: date | None
    status: TaskStatus
    assignee: str | None
    closed_by: str | None
    created_at: datetime
    updated_at: datetime


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class CalendarEventOut(BaseModel):
    calendar_event_id: uuid.UUID
    contact: str
    title: str
    start: datetime | date
    end: datetime | None
    timezone: str
    location: str | None
    kind: str
    status: str


class CalendarPage(BaseModel):
    items: list[CalendarEventOut]


class ConversationDetail(BaseModel):
    contact: str
    name: str | None
    mode: str
    opted_out: bool
    unread: int
    window_open_until: datetime | None = Field(
        description="free-form replies are allowed until then (24 h after the last message)"
    )
    items: list[TimelineItem] = Field(description="the timeline, oldest first")
    analysis: Analysis | None
    tasks: list[TaskOut]
    events: list[CalendarEventOut] = Field(description="calendar events agreed")


class TemplateIn(Input):
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(default="es", min_length=2, max_length=16)
    variables: dict[str, str] = {}


class ReplyIn(Input):
    text: str | None = Field(default=None, min_length=1, max_length=4096)
    template: TemplateIn | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ReplyIn:
        if (self.text is None) == (self.template is None):
            raise ValueError("give either text or template")
        return self


class ReplyAccepted(BaseModel):
    reply_id: uuid.UUID


class TemplateOption(BaseModel):
    name: str
    language: str


class ReplyRefused(BaseModel):
    """409: WhatsApp's rules forbid this reply now."""

    detail: str
    reason: Literal["window_closed", "opted_out"]
    templates: list[TemplateOption] = Field(description="templates that could be sent instead")


class Accepted(BaseModel):
    """202: the request is recorded as an event; its effect follows."""

    event_id: uuid.UUID


# --- tasks -----------------------------------------------------------------------------


class TaskPatch(Input):
    status: TaskStatus | None = None
    assignee: str | None = Field(default=None, max_length=320)
    due: date | None = None


# --- analytics -------------------------------------------------------------------------


class DayCount(BaseModel):
    day: date
    count: int


class MessagesOnDay(BaseModel):
    day: date
    channel: str
    inbound: int
    outbound: int


class ResponseTimes(BaseModel):
    count: int
    p50_seconds: float | None
    p90_seconds: float | None


class SentimentOnDay(BaseModel):
    day: date
    sentiment: str
    count: int


class Analytics(BaseModel):
    from_day: date = Field(alias="from")
    to_day: date = Field(alias="to")
    messages: list[MessagesOnDay]
    messages_in: int
    messages_out: int
    conversations_new: int
    conversations_active: list[DayCount]
    first_response: dict[Literal["automatic", "human"], ResponseTimes]
    sentiment: list[SentimentOnDay]
    intents: dict[str, int]
    tasks_created: int
    tasks_done: int
    voice_notes: int
    transcriptions_failed: int
    calls_completed: int
    calls_failed: int
    calls_continued_on_whatsapp: int
    replies_blocked: int

    model_config = ConfigDict(populate_by_name=True)


# --- flows -----------------------------------------------------------------------------


class FlowQuestionOut(BaseModel):
    id: str
    type: str
    text: str
    options: list[str] = []
    required: bool


class FlowOut(BaseModel):
    id: str
    name: str
    language: str
    keywords: list[str]
    questions: list[FlowQuestionOut]
    external_api: bool


class FlowList(BaseModel):
    items: list[FlowOut]


class FlowSession(BaseModel):
    session_id: uuid.UUID
    contact: str
    flow_id: str
    state: str
    language: str | None
    round: int
    current_question: str | None
    answers: dict[str, Any]
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    failure_reason: str | None


class FlowSessionPage(BaseModel):
    items: list[FlowSession]
    next_cursor: str | None


class ContactFlowSessions(BaseModel):
    contact: str
    latest: FlowSession | None
    earlier: list[FlowSession]


class FlowStartIn(BaseModel):
    contact: str = Field(min_length=3, max_length=64)
    flow: str = Field(min_length=1, max_length=128)


# --- privacy ----------------------------------------------------------------------------


class ForgetAccepted(BaseModel):
    """202: the contact's keys are destroyed; each service then deletes its readable copies."""

    contact: str = Field(description="the number, masked (its last four digits)")
    pseudonym: str = Field(description="how the store and the bus name the contact from now on")
    event_id: uuid.UUID = Field(description="the contact.forgotten event")
    forgotten_at: datetime
    requested_by: str
    keys_destroyed: int
    already_forgotten: bool = Field(description="forgotten before: nothing changed now")
    erasing_services: list[str] = Field(
        description="the services that answer with contact.data_erased once their copies are gone"
    )
