"""The sealed form of a contact's event: what the store keeps and the bus carries.

Pure (no I/O): the keys are looked up before (:mod:`hilo.privacy.codec`). For an event
of a contact conversation (an E.164 number) the sealed form is the event's JSON with

- ``conversation`` replaced by the contact's pseudonym (the stream and subject token);
- every :data:`~schemas.privacy.Personal` field, and the number, removed from the clear
  JSON and put into one sealed box per key scope, under ``"sealed"``:
  ``{"contact": {"key": <key id>, "box": <base64 of nonce + AES-GCM ciphertext>},
  "transcript:2026-12-01": {...}}``. The nonce is random (96 bits); the associated data
  is the event id and the scope, so a box moved to another event or scope does not open.

Opening gives the clear JSON back, or :class:`Forgotten` when the contact key was
destroyed (the event is then unreadable: consumers and projections skip it). A destroyed
transcript key alone empties the transcript fields (their schema defaults) and the
opened event says so (:func:`erased_scopes`). Events without ``"sealed"`` (the business's
stream, pseudonymous facts, events stored before sealing existed) open as they are.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ConfigDict

from hilo.privacy.keyring import CONTACT_SCOPE, TRANSCRIPT_PREFIX, DataKey, transcript_scope
from schemas import Event, EventDecodeError, registry
from schemas.privacy import PersonalData

SEALED = "sealed"
_NONCE_BYTES = 12


class SealBroken(EventDecodeError):
    """A sealed box that does not open: tampered, moved, or naming a key never issued."""


class ForgottenEvent(Event):
    """A stored or delivered event whose contact was forgotten: only its envelope is left.

    ``type`` is the original event's type and ``conversation`` the pseudonym. Consumers
    acknowledge and skip it, projections skip it, the CLI shows it as ``[forgotten]``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")


def is_contact(conversation: str) -> bool:
    """A contact conversation's key is an E.164 number; other streams stay clear."""
    return len(conversation) > 1 and conversation[0] == "+" and conversation[1:].isdigit()


@cache
def personal_fields(event_type: str) -> Mapping[str, str]:
    """The type's personal fields and the kind of key sealing each (contact, transcript)."""
    event_class = registry.class_for(event_type)
    if event_class is None:
        return {}
    found: dict[str, str] = {}
    for name, info in event_class.model_fields.items():
        for marker in info.metadata:
            if isinstance(marker, PersonalData):
                found[name] = marker.scope
    return found


@cache
def _empty_values(event_type: str) -> Mapping[str, Any]:
    """What each transcript field reads as once its day key is destroyed: its default."""
    event_class = registry.class_for(event_type)
    assert event_class is not None
    return {
        name: event_class.model_fields[name].get_default(call_default_factory=True)
        for name, kind in personal_fields(event_type).items()
        if kind == "transcript"
    }


def event_day(occurred_at: datetime | str) -> date:
    instant = (
        occurred_at if isinstance(occurred_at, datetime) else datetime.fromisoformat(occurred_at)
    )
    return instant.astimezone(UTC).date()


def scopes_for(event_type: str, occurred_at: datetime | str) -> list[str]:
    """The key scopes a contact event of this type needs: always the contact's own."""
    scopes = [CONTACT_SCOPE]
    if "transcript" in personal_fields(event_type).values():
        scopes.append(transcript_scope(event_day(occurred_at)))
    return scopes


def _associated(event_id: object, scope: str) -> bytes:
    return f"{event_id}|{scope}".encode()


def seal(data: Mapping[str, Any], pseudonym: str, keys: Mapping[str, DataKey]) -> dict[str, Any]:
    """The sealed form of a contact event's clear JSON, with ``keys`` by scope."""
    event_type = str(data["type"])
    fields = personal_fields(event_type)
    transcript = next((s for s in keys if s.startswith(TRANSCRIPT_PREFIX)), None)
    clear: dict[str, Any] = {}
    boxes: dict[str, dict[str, Any]] = {CONTACT_SCOPE: {"conversation": data["conversation"]}}
    for name, value in data.items():
        kind = fields.get(name)
        if kind is None:
            clear[name] = value
        else:
            scope = CONTACT_SCOPE if kind == "contact" or transcript is None else transcript
            boxes.setdefault(scope, {})[name] = value
    clear["conversation"] = pseudonym
    sealed: dict[str, Any] = {}
    for scope, plain in boxes.items():
        key = keys[scope]
        nonce = os.urandom(_NONCE_BYTES)
        box = key.cipher.encrypt(nonce, orjson.dumps(plain), _associated(data["event_id"], scope))
        sealed[scope] = {"key": str(key.key_id), "box": base64.b64encode(nonce + box).decode()}
    clear[SEALED] = sealed
    return clear


def key_ids(data: Mapping[str, Any]) -> list[str]:
    """The ids of the data keys a sealed event needs (none for a clear one)."""
    sealed = data.get(SEALED)
    if not isinstance(sealed, dict):
        return []
    try:
        return [str(box["key"]) for box in sealed.values()]
    except (KeyError, TypeError) as exc:
        raise SealBroken(f"a sealed box without a key id: {exc}") from exc


def parse_key_ids(ids: Iterable[str]) -> dict[str, uuid.UUID]:
    try:
        return {key_id: uuid.UUID(key_id) for key_id in ids}
    except ValueError as exc:
        raise SealBroken(f"a sealed box names no valid key id: {exc}") from exc


@dataclass(frozen=True)
class Opened:
    """An event's clear JSON; ``erased`` names the scopes whose keys were destroyed."""

    data: dict[str, Any]
    erased: frozenset[str] = field(default_factory=frozenset)

    def to_event(self) -> Event:
        event = registry.decode(self.data)
        if self.erased:
            event._erased_scopes = self.erased
        return event


@dataclass(frozen=True)
class Forgotten:
    """A contact event whose contact key was destroyed: the envelope, nothing personal."""

    data: dict[str, Any]

    def to_event(self) -> ForgottenEvent:
        return ForgottenEvent.model_validate(self.data)


def open_sealed(data: Mapping[str, Any], keys: Mapping[str, DataKey | None]) -> Opened | Forgotten:
    """Open a stored or delivered event with its keys by id (``None``: destroyed)."""
    if SEALED not in data:
        return Opened(dict(data))
    clear = dict(data)
    sealed = clear.pop(SEALED)
    if not isinstance(sealed, dict):
        raise SealBroken("`sealed` is not an object")
    erased: list[str] = []
    for scope, box in sealed.items():
        try:
            key_id = box["key"]
            key = keys[key_id]
        except KeyError as exc:
            raise SealBroken(f"the {scope} box names a key that was never issued") from exc
        except TypeError as exc:
            raise SealBroken(f"the {scope} box is not an object") from exc
        if key is None:
            if scope == CONTACT_SCOPE:
                return Forgotten(_envelope(clear))
            erased.append(scope)
            continue
        if key.scope != scope:
            raise SealBroken(f"the {scope} box names a {key.scope} key")
        clear.update(_open_box(key.cipher, box, _associated(clear.get("event_id"), scope)))
    if erased:
        for name, empty in _empty_values(str(clear["type"])).items():
            clear.setdefault(name, empty)
    return Opened(clear, frozenset(erased))


def _open_box(cipher: AESGCM, box: Mapping[str, Any], associated: bytes) -> dict[str, Any]:
    try:
        raw = base64.b64decode(str(box["box"]), validate=True)
        plain = cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], associated)
        opened = orjson.loads(plain)
    except (InvalidTag, KeyError, ValueError, TypeError) as exc:
        raise SealBroken(
            "a sealed box does not open: tampered, or moved from another event"
        ) from exc
    if not isinstance(opened, dict):
        raise SealBroken("a sealed box holds no object")
    return opened


_ENVELOPE = ("type", "schema_version", "event_id", "occurred_at", "conversation")
_ENVELOPE_OPTIONAL = ("correlation_id", "causation_id")


def _envelope(data: Mapping[str, Any]) -> dict[str, Any]:
    kept = {name: data[name] for name in _ENVELOPE if name in data}
    kept.update({name: data[name] for name in _ENVELOPE_OPTIONAL if data.get(name) is not None})
    return kept


def erased_scopes(event: Event) -> frozenset[str]:
    """The key scopes destroyed under this decoded event (e.g. ``transcript:2026-12-01``):
    its transcript fields then read empty because they were erased, not because they were."""
    return event._erased_scopes


def transcript_erased(event: Event) -> bool:
    return any(scope.startswith(TRANSCRIPT_PREFIX) for scope in erased_scopes(event))


def is_forgotten(event: Event) -> bool:
    return isinstance(event, ForgottenEvent)
