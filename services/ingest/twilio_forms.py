"""Twilio's WhatsApp webhooks (form fields) as events (pure).

Inbound: https://www.twilio.com/docs/messaging/guides/webhook-request — ``MessageSid``,
``From``/``To`` (``whatsapp:+…``), ``Body``, ``NumMedia`` with ``MediaUrlN`` and
``MediaContentTypeN``, ``ProfileName``, ``WaId``, ``ButtonPayload``/``ButtonText``,
``Latitude``/``Longitude``/``Address``/``Label``, ``OriginalRepliedMessageSid``, and more
over time. Every field is kept in ``raw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from schemas import (
    Location,
    MediaRef,
    MessageReceived,
    MessageStatusReported,
    derived_id,
)
from schemas.messages import MessageKind, Provider, StatusName
from services.ingest.deliveries import Delivery, contact_number, optional_number
from services.ingest.problems import Unprocessable

Form = Mapping[str, str | list[str]]
KINDS: frozenset[str] = frozenset(get_args(MessageKind))
STATUSES: frozenset[str] = frozenset(get_args(StatusName))
# Newer Twilio webhooks name the kind themselves; where they do not, it is inferred.
MESSAGE_TYPE_ALIASES = {"list": "interactive", "quick_reply": "button"}
MAX_MEDIA = 10


def field(form: Form, name: str) -> str | None:
    value = form.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if value else None


def raw_of(form: Form) -> dict[str, object]:
    return {k: (list(v) if isinstance(v, list) else v) for k, v in form.items()}


def message_sid(form: Form) -> str:
    sid = field(form, "MessageSid") or field(form, "SmsMessageSid") or field(form, "SmsSid")
    if sid is None:
        raise Unprocessable("missing_field", "MessageSid")
    return sid


def inbound_message(form: Form, provider: Provider = "twilio") -> Delivery:
    sid = message_sid(form)
    conversation = contact_number(field(form, "From"), "From")
    media = _media(form)
    event_id = derived_id(f"twilio:{sid}", "message.received")
    location = _location(form)
    reply_id = field(form, "ButtonPayload") or field(form, "ListId")
    reply_title = field(form, "ButtonText") or field(form, "ListTitle")
    event = MessageReceived(
        event_id=event_id,
        correlation_id=event_id,
        conversation=conversation,
        provider=provider,
        provider_message_id=sid,
        business_number=optional_number(field(form, "To")),
        contact_name=field(form, "ProfileName"),
        kind=_kind(form, media, location),
        text=field(form, "Body"),
        media=media,
        location=location,
        reply_id=reply_id,
        reply_title=reply_title,
        in_reply_to=field(form, "OriginalRepliedMessageSid"),
        raw=raw_of(form),
    )
    return Delivery(sid, event)


def _media(form: Form) -> tuple[MediaRef, ...]:
    count_text = field(form, "NumMedia") or "0"
    if not count_text.isdigit():
        raise Unprocessable("invalid_field", "NumMedia")
    refs = []
    for index in range(min(int(count_text), MAX_MEDIA)):
        url = field(form, f"MediaUrl{index}")
        if url is None:
            raise Unprocessable("missing_field", f"MediaUrl{index}")
        refs.append(MediaRef(url=url, content_type=field(form, f"MediaContentType{index}")))
    return tuple(refs)


def _location(form: Form) -> Location | None:
    latitude, longitude = field(form, "Latitude"), field(form, "Longitude")
    if latitude is None or longitude is None:
        return None
    try:
        return Location(
            latitude=float(latitude),
            longitude=float(longitude),
            name=field(form, "Label"),
            address=field(form, "Address"),
        )
    except ValueError:
        raise Unprocessable("invalid_field", "Latitude/Longitude") from None


def _kind(form: Form, media: tuple[MediaRef, ...], location: Location | None) -> MessageKind:
    declared = (field(form, "MessageType") or "").lower()
    declared = MESSAGE_TYPE_ALIASES.get(declared, declared)
    if declared in KINDS:
        return declared  # type: ignore[return-value]
    if field(form, "ButtonPayload") or field(form, "ButtonText"):
        return "button"
    if field(form, "ListId"):
        return "interactive"
    if location is not None:
        return "location"
    if media:
        major = (media[0].content_type or "").split("/")[0].lower()
        return {"audio": "audio", "image": "image", "video": "video"}.get(major, "document")  # type: ignore[return-value]
    return "text" if field(form, "Body") is not None or not declared else "unknown"


def status_report(form: Form, provider: Provider = "twilio") -> Delivery:
    sid = message_sid(form)
    reported = (field(form, "MessageStatus") or field(form, "SmsStatus") or "").lower()
    if not reported:
        raise Unprocessable("missing_field", "MessageStatus")
    status: StatusName = reported if reported in STATUSES else "unknown"  # type: ignore[assignment]
    # Statuses are about messages the business sent: the contact is the recipient. "received"
    # (an inbound message's own status) is the exception.
    contact_field = "From" if reported == "received" else "To"
    conversation = contact_number(field(form, contact_field), contact_field)
    event_id = derived_id(f"twilio:{sid}", f"message.status:{reported}")
    event = MessageStatusReported(
        event_id=event_id,
        correlation_id=event_id,
        conversation=conversation,
        provider=provider,
        provider_message_id=sid,
        status=status,
        error_code=field(form, "ErrorCode"),
        error_message=field(form, "ErrorMessage"),
        raw=raw_of(form),
    )
    return Delivery(f"{sid}:{reported}", event)
