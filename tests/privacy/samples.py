"""An instance of any event class, its fields filled by their types (for round trips).

Personal fields hold :data:`SECRET` (a name and the contact's number); the others plain
values, so that the sealed form of any event can be searched for the secret.
"""

from __future__ import annotations

import types
import typing
import uuid
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel

from hilo.privacy.sealing import personal_fields
from schemas import Event

CONTACT = "+573001112233"
NAME = "Ana Pérez Quintero"
SECRET = f"{NAME} {CONTACT}"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def value_for(annotation: Any, secret: bool) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return value_for(args[0], secret)
    if origin is Literal:
        return args[0]
    if origin in (types.UnionType, typing.Union):
        chosen = [a for a in args if a is not type(None)]
        return value_for(chosen[0], secret)
    if origin is tuple:
        return (value_for(args[0], secret),) if args else ()
    if origin is dict:
        return {"note": SECRET} if secret else {}
    if annotation is str or annotation is Any:
        return SECRET if secret else "plain"
    if annotation is int:
        return 1
    if annotation is float:
        return 1.5
    if annotation is bool:
        return True
    if annotation is uuid.UUID:
        return uuid.uuid4()
    if annotation is date:
        return date(2026, 12, 4)
    if annotation is datetime or getattr(annotation, "__name__", "") == "AwareDatetime":
        return NOW
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return sample_model(annotation, secret)
    raise TypeError(f"no sample for {annotation!r}")


_GENERATED = {"type", "schema_version", "event_id", "correlation_id", "causation_id"}


def sample_model(model: type[BaseModel], secret: bool, **given: Any) -> Any:
    personal = personal_fields(model.event_type()) if issubclass(model, Event) else {}
    fields: dict[str, Any] = dict(given)
    for name, info in model.model_fields.items():
        if name in fields or (issubclass(model, Event) and name in _GENERATED):
            continue
        if name == "occurred_at":
            fields[name] = NOW
        elif name != "conversation":
            fields[name] = value_for(info.annotation, secret or name in personal)
    return model.model_validate(fields)


def sample_event(event_class: type[Event], conversation: str = CONTACT) -> Event:
    """Every field filled: the personal ones with :data:`SECRET`."""
    required = event_class.model_fields["conversation"].is_required()
    given = {"conversation": conversation} if required else {}
    event: Event = sample_model(event_class, False, **given)
    return event
