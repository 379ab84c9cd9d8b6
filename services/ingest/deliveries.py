"""What a webhook turns into: events keyed by the provider's own delivery ids (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from hilo.phones import InvalidPhoneNumber, to_e164
from schemas import Event
from services.ingest.problems import Unprocessable


@dataclass(frozen=True)
class Delivery:
    """One provider fact: ``key`` is stable across the provider's retries of it."""

    key: str
    event: Event


def contact_number(raw: object, field: str) -> str:
    """The contact's E.164 number (the conversation key), or 422 naming the field."""
    if not isinstance(raw, str) or not raw.strip():
        raise Unprocessable("missing_field", field)
    try:
        return to_e164(raw)
    except InvalidPhoneNumber:
        raise Unprocessable("invalid_phone_number", field) from None


def optional_number(raw: object) -> str | None:
    """A business number as E.164 when it is one, else as given (it is informative only)."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        return to_e164(raw)
    except InvalidPhoneNumber:
        return raw.strip()
