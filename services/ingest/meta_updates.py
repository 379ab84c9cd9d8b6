"""Meta WhatsApp Cloud API webhook payloads as events (pure).

``{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field": "messages",
"value": {"metadata", "contacts", "messages", "statuses"}}]}]}``; one POST may carry many
entries, changes, messages and statuses. Message types not known here become kind
``unknown`` with the whole message kept in ``raw``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas import Location, MediaRef, MessageReceived, MessageStatusReported, derived_id
from schemas.messages import MessageKind, StatusName
from services.ingest.deliveries import Delivery, contact_number, optional_number
from services.ingest.problems import Unprocessable
from services.ingest.twilio_forms import STATUSES

OBJECT = "whatsapp_business_account"
MEDIA_TYPES = ("audio", "image", "video", "document", "sticker")
SIMPLE_KINDS: dict[str, MessageKind] = {
    "text": "text",
    "audio": "audio",
    "image": "image",
    "video": "video",
    "document": "document",
    "sticker": "sticker",
    "location": "location",
    "contacts": "contacts",
    "interactive": "interactive",
    "button": "button",
    "reaction": "reaction",
}

Json = dict[str, Any]


def _dict(value: Any) -> Json:
    return value if isinstance(value, dict) else {}


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unprocessable("invalid_field", where)
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def deliveries(payload: Any) -> list[Delivery]:
    """Every message and status of a webhook POST, in the order Meta listed them."""
    if not isinstance(payload, dict):
        raise Unprocessable("invalid_payload", "expected a JSON object")
    if payload.get("object") != OBJECT:
        raise Unprocessable("unknown_object", payload.get("object"))
    found: list[Delivery] = []
    for entry in _list(payload.get("entry"), "entry"):
        for change in _list(_dict(entry).get("changes"), "entry[].changes"):
            change = _dict(change)
            if change.get("field") != "messages":
                continue  # template/account updates: not conversation events
            value = _dict(change.get("value"))
            found += _value_deliveries(value)
    return found


def _value_deliveries(value: Json) -> list[Delivery]:
    metadata = _dict(value.get("metadata"))
    business = optional_number(metadata.get("display_phone_number"))
    contacts = {
        str(c.get("wa_id")): c for c in map(_dict, _list(value.get("contacts"), "contacts"))
    }
    found = []
    for message in _list(value.get("messages"), "messages"):
        message = _dict(message)
        sender = str(message.get("from"))
        raw = {"message": message, "contact": contacts.get(sender), "metadata": metadata}
        name = _dict(_dict(contacts.get(sender)).get("profile")).get("name")
        found.append(_message(message, name, business, raw))
    for status in _list(value.get("statuses"), "statuses"):
        found.append(_status(_dict(status), metadata))
    return found


def _message(message: Json, name: Any, business: str | None, raw: Json) -> Delivery:
    wamid = _text(message.get("id"))
    if wamid is None:
        raise Unprocessable("missing_field", "messages[].id")
    conversation = contact_number(message.get("from"), "messages[].from")
    kind_name = str(message.get("type") or "unknown")
    kind: MessageKind = SIMPLE_KINDS.get(kind_name, "unknown")
    body = _dict(message.get(kind_name))
    fields: Json = {"kind": kind}
    if kind == "text":
        fields["text"] = _text(body.get("body"))
    elif kind in MEDIA_TYPES:
        fields["text"] = _text(body.get("caption"))
        fields["media"] = (
            MediaRef(
                media_id=_text(body.get("id")),
                url=_text(body.get("url")),
                content_type=_text(body.get("mime_type")),
                sha256=_text(body.get("sha256")),
                filename=_text(body.get("filename")),
                voice=body.get("voice") is True,
            ),
        )
    elif kind == "location":
        fields["location"] = _location(body)
    elif kind == "interactive":
        reply = _dict(body.get(str(body.get("type"))))
        fields.update(reply_id=_text(reply.get("id")), reply_title=_text(reply.get("title")))
        fields["text"] = fields["reply_title"]
    elif kind == "button":
        fields.update(reply_id=_text(body.get("payload")), reply_title=_text(body.get("text")))
        fields["text"] = fields["reply_title"]
    elif kind == "reaction":
        fields.update(
            reaction_emoji=_text(body.get("emoji")), in_reply_to=_text(body.get("message_id"))
        )
    context = _dict(message.get("context"))
    if fields.get("in_reply_to") is None:
        fields["in_reply_to"] = _text(context.get("id"))
    event_id = derived_id(f"meta:{wamid}", "message.received")
    event = MessageReceived(
        event_id=event_id,
        correlation_id=event_id,
        conversation=conversation,
        provider="meta",
        provider_message_id=wamid,
        business_number=business,
        contact_name=_text(name),
        sent_at=_instant(message.get("timestamp")),
        raw=raw,
        **fields,
    )
    return Delivery(wamid, event)


def _location(body: Json) -> Location:
    try:
        return Location(
            latitude=float(body["latitude"]),
            longitude=float(body["longitude"]),
            name=_text(body.get("name")),
            address=_text(body.get("address")),
        )
    except (KeyError, TypeError, ValueError):
        raise Unprocessable("invalid_field", "messages[].location") from None


def _status(status: Json, metadata: Json) -> Delivery:
    wamid = _text(status.get("id"))
    reported = _text(status.get("status"))
    if wamid is None or reported is None:
        raise Unprocessable("missing_field", "statuses[].id/status")
    conversation = contact_number(status.get("recipient_id"), "statuses[].recipient_id")
    errors = [_dict(e) for e in _list(status.get("errors"), "statuses[].errors")]
    first_error = errors[0] if errors else {}
    code = first_error.get("code")
    name: StatusName = reported if reported in STATUSES else "unknown"  # type: ignore[assignment]
    event_id = derived_id(f"meta:{wamid}", f"message.status:{reported}")
    event = MessageStatusReported(
        event_id=event_id,
        correlation_id=event_id,
        conversation=conversation,
        provider="meta",
        provider_message_id=wamid,
        status=name,
        status_at=_instant(status.get("timestamp")),
        error_code=str(code) if code is not None else None,
        error_message=_text(first_error.get("title")) or _text(first_error.get("message")),
        raw={"status": status, "metadata": metadata},
    )
    return Delivery(f"{wamid}:{reported}", event)
