"""The transcriber in-process on real NATS and PostgreSQL, fetching from the provider stand-ins."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from hilo.bus import EventBus
from hilo.privacy.pseudonyms import is_pseudonym
from hilo.settings import HiloSettings
from hilo.testing import eventually
from schemas import AudioTranscribed, AudioTranscriptionFailed, MediaRef, MessageReceived
from schemas.envelope import derived_id
from services.transcriber.app import build
from services.transcriber.backends import BackendUnavailable
from services.transcriber.decoding import SAMPLE_RATE, encode
from services.transcriber.storage import sha256_of
from tests.transcriber.conftest import (
    Published,
    TranscriberFactory,
    transcriber_settings,
    voice_note,
)
from tests.transcriber.speech import needs_espeak, word_error_rate
from tests.transcriber.standins import ProviderStandIn

CUSTOMER = "+573001112233"
HELLO = "Hello, I would like to book an appointment for next week"
PRICES = "Please send me the price list and your opening hours"
MiB = 1024 * 1024


def twilio_voice_note(standin: ProviderStandIn, media_id: str) -> MessageReceived:
    return MessageReceived(
        conversation=CUSTOMER,
        provider="twilio",
        provider_message_id=f"MM{uuid.uuid4().hex}",
        kind="audio",
        media=(MediaRef(url=standin.twilio_url(media_id), content_type="audio/ogg", voice=True),),
    )


def meta_voice_note(media_id: str, conversation: str = CUSTOMER) -> MessageReceived:
    return MessageReceived(
        conversation=conversation,
        provider="meta",
        provider_message_id=f"wamid.{uuid.uuid4().hex}",
        kind="audio",
        media=(MediaRef(media_id=media_id, content_type="audio/ogg; codecs=opus", voice=True),),
    )


@needs_espeak
async def test_a_twilio_voice_note_is_transcribed(
    transcriber: TranscriberFactory,
    standin: ProviderStandIn,
    bus: EventBus,
    published: Published,
    settings: HiloSettings,
) -> None:
    note = voice_note(HELLO)
    standin.add("ME1", note, "audio/ogg")
    message = twilio_voice_note(standin, "ME1")
    async with transcriber():
        await bus.publish(message)
        result = await published.outcome(message.event_id)

    assert isinstance(result, AudioTranscribed), result
    assert word_error_rate(HELLO, result.text) <= 0.25, result.text
    assert result.event_id == derived_id(message.event_id, "transcribed")
    assert result.causation_id == message.event_id
    assert result.correlation_id == message.correlation_id
    assert result.conversation == CUSTOMER
    assert result.provider_message_id == message.provider_message_id
    assert (result.backend, result.model, result.language) == ("local", "whisper-base", "en")
    assert result.duration_seconds is not None and 2.0 < result.duration_seconds < 8.0
    assert result.segments and result.segments[0].start >= 0
    # Kept by content, and the CDN never saw the Twilio credentials.
    assert result.audio_sha256 == sha256_of(note)
    # In the contact's folder, named by pseudonym: forgetting deletes the folder.
    [kept] = (settings.data_dir / "audio").glob(f"*/{result.audio_sha256}")
    assert is_pseudonym(kept.parent.name)
    assert kept.read_bytes() == note
    assert standin.cdn_requests == [("/twilio/ME1", False)]


@needs_espeak
async def test_a_meta_voice_note_with_an_expired_url_is_transcribed(
    transcriber: TranscriberFactory,
    standin: ProviderStandIn,
    bus: EventBus,
    published: Published,
) -> None:
    standin.add("987654321", voice_note(PRICES), "audio/ogg; codecs=opus", expire_first_url=True)
    message = meta_voice_note("987654321")
    async with transcriber():
        await bus.publish(message)
        result = await published.outcome(message.event_id)
    assert isinstance(result, AudioTranscribed), result
    assert word_error_rate(PRICES, result.text) <= 0.25, result.text
    assert standin.api_requests == ["/v20.0/987654321", "/v20.0/987654321"]


@needs_espeak
async def test_a_redelivered_or_replayed_note_gives_the_same_event(
    transcriber: TranscriberFactory,
    standin: ProviderStandIn,
    bus: EventBus,
    published: Published,
) -> None:
    standin.add("ME1", voice_note(HELLO), "audio/ogg")
    message = twilio_voice_note(standin, "ME1")
    async with transcriber():
        await bus.publish(message)
        await published.outcome(message.event_id)
        await bus.publish_stored(message.model_dump(mode="json"), replay_id="r1")

        async def two() -> list[Any] | None:
            found = published.for_message(message.event_id)
            return found if len(found) >= 2 else None

        first, second = await eventually(two, timeout=20)
    assert first.event_id == second.event_id
    assert first.text == second.text


async def test_transient_trouble_is_retried_then_reported(
    transcriber: TranscriberFactory,
    standin: ProviderStandIn,
    bus: EventBus,
    published: Published,
) -> None:
    standin.add("ME1", b"never served", "audio/ogg", fail_times=100)
    message = twilio_voice_note(standin, "ME1")
    async with transcriber():
        await bus.publish(message)
        result = await published.outcome(message.event_id)
    assert isinstance(result, AudioTranscriptionFailed), result
    assert (result.reason, result.attempts) == ("download_failed", 3)
    assert "503" in (result.detail or "")
    assert result.event_id == derived_id(message.event_id, "transcription_failed")
    assert len(standin.api_requests) == 3


@needs_espeak
async def test_a_passing_outage_only_delays_the_transcript(
    transcriber: TranscriberFactory,
    standin: ProviderStandIn,
    bus: EventBus,
    published: Published,
) -> None:
    standin.add("ME1", voice_note(HELLO), "audio/ogg", fail_times=2)
    message = twilio_voice_note(standin, "ME1")
    async with transcriber():
        await bus.publish(message)
        result = await published.outcome(message.event_id)
    assert isinstance(result, AudioTranscribed), result
    assert len(standin.api_requests) == 3


async def test_bad_files_fail_at_once_with_the_reason(
    transcriber: TranscriberFactory,
    standin: ProviderStandIn,
    bus: EventBus,
    published: Published,
) -> None:
    silent = encode(np.zeros(SAMPLE_RATE * 3, dtype=np.float32))
    cases = {
        "corrupt": (b"OggS" + bytes(range(256)) * 40, "audio/ogg"),
        "empty": (b"", "audio/ogg"),
        "no_speech": (silent, "audio/ogg"),
        "too_large": (b"\0" * (16 * MiB + 1), "audio/ogg"),
        "unsupported_type": (b"<html>Sign in</html>", "text/html"),
    }
    messages: dict[str, MessageReceived] = {}
    for index, (reason, (data, content_type)) in enumerate(cases.items()):
        standin.add(f"ME{index}", data, content_type)
        # One conversation each, so a slow case cannot hold up the others.
        message = twilio_voice_note(standin, f"ME{index}")
        messages[reason] = message.model_copy(update={"conversation": f"+5730000000{index:02d}"})
    async with transcriber():
        for message in messages.values():
            await bus.publish(message)
        results = {
            reason: await published.outcome(message.event_id)
            for reason, message in messages.items()
        }
    for reason, result in results.items():
        assert isinstance(result, AudioTranscriptionFailed), (reason, result)
        assert result.reason == reason
        assert result.attempts == 1  # nothing to retry
        assert result.detail


async def test_text_messages_are_left_alone(
    transcriber: TranscriberFactory, bus: EventBus, published: Published
) -> None:
    text = MessageReceived(
        conversation=CUSTOMER, provider="twilio", provider_message_id="SM1", text="hola"
    )
    audio_without_media = MessageReceived(
        conversation=CUSTOMER, provider="twilio", provider_message_id="SM2", kind="audio"
    )
    async with transcriber():
        await bus.publish(text)
        await bus.publish(audio_without_media)
        result = await published.outcome(audio_without_media.event_id)
    assert isinstance(result, AudioTranscriptionFailed) and result.reason == "no_media"
    assert published.for_message(text.event_id) == []


async def test_a_backend_that_cannot_start_stops_the_service_with_the_reason(
    settings: HiloSettings, standin: ProviderStandIn
) -> None:
    service = build(transcriber_settings(standin, hilo_transcriber="openai", openai_api_key=None))
    with pytest.raises(BackendUnavailable, match="OPENAI_API_KEY"):
        async with service.running(settings, http=False):
            pass
