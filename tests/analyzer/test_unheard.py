"""A voice note that cannot be understood is still answered: in the contact's language, once
per burst, and the conversation shows why."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from hilo.bus import EventBus
from hilo.cli.render import conversation_table
from hilo.projections.conversation import apply, new_document
from hilo.testing import Published
from schemas import AudioTranscriptionFailed, Event, MessageReceived, ReplyReady, utc_now
from services.analyzer.unheard import language_of_number
from tests.analyzer.conftest import BUSINESS, AnalyzerFactory, settled

SPAIN = "+34600111222"
BRITAIN = "+447700900123"


def voice_note(conversation: str) -> MessageReceived:
    return MessageReceived.model_validate(
        {
            "conversation": conversation,
            "occurred_at": utc_now(),
            "provider": "twilio",
            "provider_message_id": f"SM{uuid.uuid4().hex}",
            "business_number": BUSINESS,
            "kind": "audio",
            "media": [
                {"url": "https://example.invalid/a.ogg", "content_type": "audio/ogg", "voice": True}
            ],
        }
    )


def not_heard(note: MessageReceived) -> AudioTranscriptionFailed:
    return note.caused(
        AudioTranscriptionFailed,
        "transcription_failed",
        message_event_id=note.event_id,
        reason="no_speech",
        detail="no words were recognised",
        attempts=1,
    )


@pytest.mark.parametrize(
    ("number", "language"),
    [(SPAIN, "es"), ("+573001112233", "es"), ("+5215512345678", "es"), (BRITAIN, "en"),
     ("+12025550123", "en"), ("+4915112345678", "es"), ("not a number", "es")],
)  # fmt: skip
def test_the_language_of_a_contact_without_words(number: str, language: str) -> None:
    assert language_of_number(number, "es") == language


async def test_only_unheard_notes_are_answered_once_per_burst_in_the_contacts_language(
    analyzer: AnalyzerFactory, bus: EventBus, published: Published
) -> None:
    async with analyzer(analyzer_burst_seconds=0.5) as (_service, runtime):
        notes = [voice_note(SPAIN), voice_note(SPAIN)]
        english = voice_note(BRITAIN)
        for note in [*notes, english]:
            await bus.publish(note)
        for note in [*notes, english]:
            await bus.publish(not_heard(note))
        [spanish_reply] = await published.wait_for("reply.ready", SPAIN)
        [english_reply] = await published.wait_for("reply.ready", BRITAIN)
        await settled(runtime, bus)

    assert len(published.distinct("reply.ready", SPAIN)) == 1  # one for the burst, not per note
    assert spanish_reply.in_reply_to == tuple(n.event_id for n in notes)
    assert "nota de voz" in spanish_reply.text and spanish_reply.language == "es"
    assert "voice note" in english_reply.text and english_reply.language == "en"
    assert published.distinct("intent.detected", SPAIN) == []  # nothing to analyse


def test_the_conversation_shows_why_a_note_has_no_words_and_what_was_answered() -> None:
    note = voice_note(SPAIN)
    failed = not_heard(note)
    reply = failed.caused(
        ReplyReady,
        "reply",
        reply_id=uuid.uuid4(),
        author="analyzer",
        text="No pude escuchar tu nota de voz; ¿me lo escribes, por favor?",
        language="es",
        in_reply_to=(note.event_id,),
        occurred_at=note.occurred_at + timedelta(seconds=1),
    )
    doc = new_document(SPAIN)
    events: list[Event] = [note, failed, reply]
    for position, event in enumerate(events, start=1):
        apply(doc, event.model_dump(mode="json"), position)
    [item] = [i for i in doc["items"].values() if i["key"] == f"message:{note.event_id}"]
    assert item["transcript"]["reason"] == "no_speech"
    assert item["transcript"]["answered_by"] == str(reply.reply_id)
    shown = conversation_table(doc)
    details = " ".join(str(cell) for column in shown.columns for cell in column._cells)
    assert "no_speech (nothing recognisable was said); the contact was asked to write it" in (
        details
    )
