"""WhatsApp messages in and out, and what happened to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.envelope import Event
from schemas.privacy import Personal

Provider = Literal["twilio", "meta", "outbox", "simulator"]
MessageKind = Literal[
    "text",
    "audio",
    "image",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "unknown",
]


class MediaRef(BaseModel):
    """Where a provider keeps a piece of media; downloading it is the consumer's job."""

    model_config = ConfigDict(frozen=True)

    url: str | None = None
    media_id: str | None = None
    content_type: str | None = None
    sha256: str | None = None
    filename: str | None = None
    voice: bool = False


class Location(BaseModel):
    model_config = ConfigDict(frozen=True)

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class MessageReceived(Event):
    """A contact wrote to the business on WhatsApp."""

    type: Literal["message.received"] = "message.received"
    schema_version: int = 1
    provider: Provider
    provider_message_id: str
    business_number: str | None = None
    contact_name: Personal[str | None] = None
    kind: MessageKind = "text"
    text: Personal[str | None] = None
    media: Personal[tuple[MediaRef, ...]] = ()
    location: Personal[Location | None] = None
    # Quick-reply buttons, list replies and reactions carry an id and a title.
    reply_id: str | None = None
    reply_title: Personal[str | None] = None
    in_reply_to: str | None = None
    reaction_emoji: Personal[str | None] = None
    sent_at: AwareDatetime | None = None
    # Every field the provider sent, as it sent it, so nothing is lost.
    raw: Personal[dict[str, Any]] = Field(default_factory=dict)

    @property
    def has_audio(self) -> bool:
        return self.kind == "audio" or any(
            (m.content_type or "").startswith("audio/") for m in self.media
        )


StatusName = Literal[
    "accepted",
    "queued",
    "sending",
    "sent",
    "delivered",
    "read",
    "failed",
    "undelivered",
    "deleted",
    "unknown",
]


class MessageStatusReported(Event):
    """A provider reported the delivery status of a message the business sent."""

    type: Literal["message.status"] = "message.status"
    schema_version: int = 1
    provider: Provider
    provider_message_id: str
    status: StatusName
    status_at: AwareDatetime | None = None
    error_code: str | None = None
    error_message: Personal[str | None] = None
    raw: Personal[dict[str, Any]] = Field(default_factory=dict)


# Who wrote a reply: the analyzer, the voice agent, a question flow, a person, or Hilo itself.
Author = Literal["analyzer", "voice_agent", "flow", "human", "system"]


class TemplateRef(BaseModel):
    """A pre-approved WhatsApp template to use when the 24-hour window is closed."""

    model_config = ConfigDict(frozen=True)

    name: str
    language: str = "es"
    variables: dict[str, str] = Field(default_factory=dict)


class ReplyOption(BaseModel):
    """One answer the contact can tap; ``id`` comes back as the message's ``reply_id``."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1)


class ReplyChoices(BaseModel):
    """A question with options, for channels that show them as buttons or a list.

    The reply's ``text`` stays the numbered version, for channels (and templates) without
    interactive messages; ``body`` is the question alone, shown above the buttons.
    """

    model_config = ConfigDict(frozen=True)

    body: str
    options: tuple[ReplyOption, ...]
    # The label of the button that opens a list (Meta, more than three options).
    list_button: str = "Options"
    # A Twilio Content SID (quick-reply or list-picker) made for this question, if any.
    twilio_content_sid: str | None = None


class ReplyReady(Event):
    """Some component decided what the business answers; the notifier sends it."""

    type: Literal["reply.ready"] = "reply.ready"
    schema_version: int = 1
    # The idempotency key of this reply: the same reply has the same id forever.
    reply_id: uuid.UUID
    author: Author
    text: Personal[str | None] = None
    media_url: Personal[str | None] = None
    language: str | None = None
    # Business-initiated messages (an opener after a call) may need a template.
    business_initiated: bool = False
    template: Personal[TemplateRef | None] = None
    in_reply_to: tuple[uuid.UUID, ...] = ()
    provider: Provider | None = None
    # The person who wrote it (author "human"): their e-mail, or "token:<name>" for the API.
    operator: str | None = None
    # A question with options (flows): buttons or a list where the channel has them.
    choices: Personal[ReplyChoices | None] = None


class MessageSent(Event):
    """A reply left Hilo: the provider accepted it (or the local outbox kept it)."""

    type: Literal["message.sent"] = "message.sent"
    schema_version: int = 1
    reply_id: uuid.UUID
    provider: Provider
    provider_message_id: str
    text: Personal[str | None] = None
    media_url: Personal[str | None] = None
    via_template: str | None = None
    sent_at: AwareDatetime


class MessageFailed(Event):
    """A reply could not be sent, and will not be retried."""

    type: Literal["message.failed"] = "message.failed"
    schema_version: int = 1
    reply_id: uuid.UUID
    provider: Provider
    error_code: str | None = None
    reason: Personal[str]
    attempts: int = 1


class MessageBlocked(Event):
    """A reply was held back by WhatsApp's rules (window closed, contact opted out)."""

    type: Literal["message.blocked"] = "message.blocked"
    schema_version: int = 1
    reply_id: uuid.UUID
    reason: Literal["window_closed", "opted_out"]
    detail: Personal[str | None] = None


class ContactOptedOut(Event):
    type: Literal["contact.opted_out"] = "contact.opted_out"
    schema_version: int = 1
    keyword: Personal[str]
    message_event_id: uuid.UUID | None = None


class ContactOptedIn(Event):
    type: Literal["contact.opted_in"] = "contact.opted_in"
    schema_version: int = 1
    keyword: Personal[str]
    message_event_id: uuid.UUID | None = None


class MessageMarkedRead(Event):
    """The business marked an inbound message as read (Meta's blue ticks)."""

    type: Literal["message.marked_read"] = "message.marked_read"
    schema_version: int = 1
    provider: Provider
    provider_message_id: str
    marked_at: datetime | None = None
