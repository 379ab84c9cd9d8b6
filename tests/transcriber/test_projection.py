"""The whole way: the recorder keeps the events, the conversation shows pending → done | failed."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from hilo.testing import eventually
from schemas import MediaRef, MessageReceived
from services.projector.app import build as build_projector
from services.recorder.app import build as build_recorder
from tests.transcriber.conftest import TranscriberFactory, voice_note
from tests.transcriber.speech import needs_espeak, word_error_rate
from tests.transcriber.standins import ProviderStandIn

CUSTOMER = "+5491155554444"
SENTENCE = "Could you call me back this afternoon about my order"


async def transcript_of(pool: asyncpg.Pool, message: MessageReceived) -> dict[str, Any] | None:
    doc = await pool.fetchval(
        "SELECT doc FROM proj_conversations WHERE conversation = $1", message.conversation
    )
    item = (doc or {}).get("items", {}).get(f"message:{message.event_id}")
    if item is not None:
        transcript: dict[str, Any] | None = item.get("transcript")
        return transcript
    return None


@needs_espeak
async def test_the_conversation_shows_the_transcript_once_it_is_there(
    transcriber: TranscriberFactory,
    standin: ProviderStandIn,
    bus: EventBus,
    settings: HiloSettings,
    pool: asyncpg.Pool,
) -> None:
    standin.add("ME1", voice_note(SENTENCE), "audio/ogg")
    standin.add("ME2", b"OggS not really", "audio/ogg")
    spoken, broken = (
        MessageReceived(
            conversation=CUSTOMER,
            provider="twilio",
            provider_message_id=f"MM{uuid.uuid4().hex}",
            kind="audio",
            media=(MediaRef(url=standin.twilio_url(media_id), content_type="audio/ogg"),),
        )
        for media_id in ("ME1", "ME2")
    )
    recorder, projector = build_recorder(), build_projector()
    async with recorder.running(settings, http=False), projector.running(settings, http=False):
        await bus.publish(spoken)
        await bus.publish(broken)

        async def pending() -> bool:
            first = await transcript_of(pool, spoken)
            second = await transcript_of(pool, broken)
            return first == {"status": "pending"} and second == {"status": "pending"}

        await eventually(pending, timeout=15)

        async with transcriber():

            async def settled() -> tuple[dict[str, Any], dict[str, Any]] | None:
                first = await transcript_of(pool, spoken)
                second = await transcript_of(pool, broken)
                if first and second and "pending" not in (first["status"], second["status"]):
                    return first, second
                return None

            done, failed = await eventually(settled, timeout=30)

    assert done["status"] == "completed"
    assert word_error_rate(SENTENCE, done["text"]) <= 0.25, done["text"]
    assert (done["backend"], done["model"], done["language"]) == ("local", "whisper-base", "en")
    assert (failed["status"], failed["reason"], failed["attempts"]) == ("failed", "corrupt", 1)
    assert failed["detail"]  # what the decoder said, for the operator
