"""The sealed form (pure): round trips, nothing personal in clear, broken boxes refused."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from datetime import date

import orjson
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from hilo.privacy import sealing
from hilo.privacy.keyring import CONTACT_SCOPE, DataKey, transcript_scope
from hilo.privacy.pseudonyms import pseudonym
from schemas import ALL_EVENTS, AudioTranscribed, Event, MessageReceived
from tests.privacy.samples import CONTACT, NAME, NOW, SECRET, sample_event

PSEUDONYM = pseudonym(CONTACT, b"k" * 32)


def new_key(scope: str) -> DataKey:
    return DataKey(uuid.uuid4(), PSEUDONYM, scope, AESGCM(AESGCM.generate_key(256)))


def keys_for(event: Event) -> dict[str, DataKey]:
    return {s: new_key(s) for s in sealing.scopes_for(event.type, event.occurred_at)}


def by_id(keys: dict[str, DataKey]) -> dict[str, DataKey | None]:
    return {str(k.key_id): k for k in keys.values()}


def seal(event: Event, keys: dict[str, DataKey]) -> dict[str, object]:
    return sealing.seal(event.model_dump(mode="json"), PSEUDONYM, keys)


def opened(data: dict[str, object], keys: dict[str, DataKey | None]) -> Event:
    result = sealing.open_sealed(json.loads(json.dumps(data)), keys)
    return result.to_event()


@pytest.mark.parametrize("event_class", ALL_EVENTS, ids=lambda c: c.event_type())
def test_every_event_class_round_trips_and_keeps_nothing_personal_in_clear(
    event_class: type[Event],
) -> None:
    event = sample_event(event_class)
    if not sealing.is_contact(event.conversation):
        return  # the business's stream stays clear
    keys = keys_for(event)
    sealed = seal(event, keys)
    text = orjson.dumps(sealed).decode()
    for secret in (NAME, CONTACT, CONTACT.lstrip("+")):
        assert secret not in text
    assert sealed["conversation"] == PSEUDONYM
    assert opened(sealed, by_id(keys)) == event


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=1), name=st.text(min_size=1) | st.none())
def test_any_text_round_trips(text: str, name: str | None) -> None:
    event = MessageReceived(
        conversation=CONTACT,
        provider="meta",
        provider_message_id="wamid.1",
        text=text,
        contact_name=name,
        occurred_at=NOW,
    )
    keys = keys_for(event)
    assert opened(seal(event, keys), by_id(keys)) == event


def transcript() -> AudioTranscribed:
    return AudioTranscribed(
        conversation=CONTACT,
        message_event_id=uuid.uuid4(),
        text=f"me llamo {NAME}",
        backend="local",
        model="base",
        occurred_at=NOW,
    )


def test_a_transcript_is_sealed_with_its_days_key() -> None:
    event = transcript()
    keys = keys_for(event)
    assert set(keys) == {CONTACT_SCOPE, transcript_scope(date(2026, 12, 1))}
    sealed = seal(event, keys)
    assert set(sealed["sealed"]) == set(keys)  # type: ignore[call-overload]


def test_a_destroyed_day_key_empties_the_transcript_and_says_so() -> None:
    event = transcript()
    keys = keys_for(event)
    day = transcript_scope(date(2026, 12, 1))
    found = by_id(keys) | {str(keys[day].key_id): None}
    read = opened(seal(event, keys), found)
    assert isinstance(read, AudioTranscribed)
    assert read.text == "" and read.segments == ()
    assert read.conversation == CONTACT and read.backend == "local"
    assert sealing.erased_scopes(read) == {day}
    assert sealing.transcript_erased(read)
    assert not sealing.transcript_erased(opened(seal(event, keys), by_id(keys)))


def test_a_destroyed_contact_key_leaves_a_forgotten_envelope() -> None:
    event = sample_event(MessageReceived)
    keys = keys_for(event)
    read = opened(seal(event, keys), {str(keys[CONTACT_SCOPE].key_id): None})
    assert isinstance(read, sealing.ForgottenEvent)
    assert sealing.is_forgotten(read)
    assert read.type == "message.received" and read.event_id == event.event_id
    assert read.conversation == PSEUDONYM
    assert SECRET not in read.model_dump_json()


def test_a_tampered_box_is_refused() -> None:
    event = sample_event(MessageReceived)
    keys = keys_for(event)
    sealed = seal(event, keys)
    box = sealed["sealed"][CONTACT_SCOPE]  # type: ignore[index]
    raw = bytearray(base64.b64decode(box["box"]))
    raw[-1] ^= 1
    box["box"] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(sealing.SealBroken):
        opened(sealed, by_id(keys))


def test_a_box_moved_to_another_event_is_refused() -> None:
    event, other = sample_event(MessageReceived), sample_event(MessageReceived)
    keys = keys_for(event)
    sealed, sealed_other = seal(event, keys), seal(other, keys)
    moved = copy.deepcopy(sealed_other)
    moved["sealed"] = sealed["sealed"]
    with pytest.raises(sealing.SealBroken):
        opened(moved, by_id(keys))


def test_a_wrong_or_unknown_key_id_is_refused() -> None:
    event = sample_event(MessageReceived)
    keys = keys_for(event)
    sealed = seal(event, keys)
    other = new_key(CONTACT_SCOPE)
    sealed["sealed"][CONTACT_SCOPE]["key"] = str(other.key_id)  # type: ignore[index]
    with pytest.raises(sealing.SealBroken):
        opened(sealed, {str(other.key_id): other})  # a live key, but not the one that sealed
    with pytest.raises(sealing.SealBroken):
        opened(sealed, by_id(keys))  # a key id never issued


def test_events_stored_before_sealing_read_as_they_are() -> None:
    legacy = sample_event(MessageReceived)
    read = opened(legacy.model_dump(mode="json"), {})
    assert read == legacy


def test_only_e164_numbers_are_contacts() -> None:
    assert sealing.is_contact("+573001112233")
    for other in ("business", PSEUDONYM, "573001112233", "+", "+57 300"):
        assert not sealing.is_contact(other)
