"""Pure pieces of the service: burst timing, time zones, folding stored events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from schemas import (
    AudioTranscribed,
    CallEnded,
    MessageReceived,
    ReplyReady,
)
from services.analyzer.burst import InboxRow, burst_id, seconds_to_wait
from services.analyzer.conversation_log import (
    build_conversation,
    business_digits,
    fold,
    message_text,
)

NOW = datetime(2026, 11, 18, 14, 0, tzinfo=UTC)


def row(seq: int, queued_at: datetime, audio_pending_since: datetime | None = None) -> InboxRow:
    return InboxRow(
        trigger_id=uuid.uuid4(),
        seq=seq,
        conversation="+573001112233",
        message_id=uuid.uuid4(),
        cause_event_id=uuid.uuid4(),
        correlation_id=uuid.uuid4(),
        reply_wanted=True,
        queued_at=queued_at,
        audio_pending_since=audio_pending_since,
    )


def test_a_burst_waits_for_quiet_after_its_last_message() -> None:
    rows = [row(1, NOW - timedelta(seconds=5)), row(2, NOW - timedelta(seconds=0.5))]
    wait = seconds_to_wait(rows, NOW, burst_seconds=2, voice_note_wait_seconds=60)
    assert wait == 1.5
    assert seconds_to_wait(rows, NOW, burst_seconds=0, voice_note_wait_seconds=60) == 0
    assert burst_id(rows) == rows[1].trigger_id


def test_a_voice_note_holds_the_burst_but_only_up_to_its_bound() -> None:
    ago = NOW - timedelta(seconds=10)
    rows = [row(1, ago, audio_pending_since=ago)]
    assert seconds_to_wait(rows, NOW, burst_seconds=2, voice_note_wait_seconds=30) == 20
    assert seconds_to_wait(rows, NOW, burst_seconds=2, voice_note_wait_seconds=5) == 0
    assert rows[0].unheard and not row(2, ago).unheard


def test_business_numbers_are_kept_as_digits() -> None:
    assert business_digits("whatsapp:+57 300 999 8877") == "573009998877"
    assert business_digits(None) is None and business_digits("abc") is None


def test_button_replies_and_places_are_read_as_words() -> None:
    button = MessageReceived(
        conversation="+57300", provider="meta", provider_message_id="w", kind="button",
        reply_id="yes", reply_title="Sí, confirmo",
    )  # fmt: skip
    sticker = MessageReceived(
        conversation="+57300", provider="meta", provider_message_id="s", kind="sticker"
    )
    assert message_text(button) == "Sí, confirmo" and message_text(sticker) is None


def test_folding_stored_events_gives_the_conversation_the_service_would_read() -> None:
    conversation = "+573001112233"
    first = MessageReceived(
        conversation=conversation, provider="twilio", provider_message_id="a", text="Hola",
        contact_name="Lucía", business_number="+573009998877", occurred_at=NOW,
    )  # fmt: skip
    reply = first.caused(
        ReplyReady, "r", reply_id=uuid.uuid4(), author="analyzer", text="¿En qué te ayudo?"
    ).model_copy(update={"occurred_at": NOW + timedelta(seconds=5)})
    note = MessageReceived(
        conversation=conversation, provider="twilio", provider_message_id="b", kind="audio",
        occurred_at=NOW + timedelta(seconds=10),
    )  # fmt: skip
    words = AudioTranscribed(
        conversation=conversation, message_event_id=note.event_id, text="El viernes a las 10",
        backend="local", model="tiny", occurred_at=NOW + timedelta(seconds=20),
    )  # fmt: skip
    call = CallEnded(conversation=conversation, call_id="c1", summary="Habló del proyecto.")
    folded = fold(conversation, [first, reply, note, words, call])
    built = build_conversation(
        conversation, folded.ordered(), timezone="America/Bogota",
        contact_name=folded.contact_name, call_summary=folded.call_summary, limit=2,
    )  # fmt: skip
    assert folded.business_number == "573009998877" and folded.last_message_id == note.event_id
    assert [(m.direction, m.text, m.source) for m in built.messages] == [
        ("outbound", "¿En qué te ayudo?", "text"),
        ("inbound", "El viernes a las 10", "voice_note"),
    ]
    # A transcript keeps its voice note's place in time.
    assert built.messages[-1].at == note.occurred_at
    assert built.call_summary == "Habló del proyecto." and built.contact.name == "Lucía"
