"""From a JetStream message body to what the event store appends (pure).

The recorder keeps every event with a valid envelope, including types this
version of Hilo does not know yet: the store is the record of what happened,
not of what this code understands.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from hilo.store.eventstore import NewEvent


class NotAnEvent(ValueError):
    """The body lacks the envelope every event carries."""


def _uuid(data: dict[str, object], field: str, *, required: bool) -> uuid.UUID | None:
    value = data.get(field)
    if value is None and not required:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise NotAnEvent(f"`{field}` is not a UUID") from exc


def to_new_event(body: bytes) -> NewEvent:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise NotAnEvent("body is not JSON") from exc
    if not isinstance(data, dict):
        raise NotAnEvent("body is not a JSON object")
    for field in ("type", "conversation", "occurred_at"):
        if not isinstance(data.get(field), str) or not data[field]:
            raise NotAnEvent(f"`{field}` is missing")
    try:
        occurred_at = datetime.fromisoformat(str(data["occurred_at"]).replace("Z", "+00:00"))
    except ValueError as exc:
        raise NotAnEvent("`occurred_at` is not an ISO 8601 instant") from exc
    if occurred_at.tzinfo is None:
        raise NotAnEvent("`occurred_at` has no time zone")
    version = data.get("schema_version", 1)
    if not isinstance(version, int):
        raise NotAnEvent("`schema_version` is not an integer")
    event_id = _uuid(data, "event_id", required=True)
    assert event_id is not None
    return NewEvent(
        event_id=event_id,
        stream=str(data["conversation"]),
        type=str(data["type"]),
        schema_version=version,
        occurred_at=occurred_at,
        correlation_id=_uuid(data, "correlation_id", required=False),
        causation_id=_uuid(data, "causation_id", required=False),
        data_json=body.decode(),
    )
