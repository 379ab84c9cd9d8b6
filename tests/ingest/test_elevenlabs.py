"""ElevenLabs post-call webhooks: transcription, audio (either order), initiation failures."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from hilo.bus import EventBus
from hilo.testing import Published
from schemas import CallAudioRecorded, CallEnded, CallFailed
from services.voice_bridge.call_record import call_ended_event_id, call_ended_from_record
from tests.ingest.conftest import (
    CONTACT,
    IngestFactory,
    envelope,
    stored_count,
    transcription_data,
)

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8


async def test_transcription_is_call_ended_with_the_batch_pollers_id(
    ingest: IngestFactory, published: Published, bus: EventBus
) -> None:
    data = transcription_data("conv_01")
    async with ingest() as running:
        first = await running.elevenlabs(envelope("post_call_transcription", data))
        retry = await running.elevenlabs(envelope("post_call_transcription", data))
    assert first.status_code == retry.status_code == 200
    assert first.json()["published"] == 1 and retry.json()["duplicates"] == 1
    await published.settle()
    [event] = published.of("call.ended")
    assert isinstance(event, CallEnded)
    assert event.event_id == call_ended_event_id("conv_01")
    # The voice bridge's batch poller makes the very same event of the same record.
    polled = call_ended_from_record(data, phone_fallback=None)
    assert event.model_dump(exclude={"occurred_at"}) == polled.model_dump(exclude={"occurred_at"})
    assert event.conversation == CONTACT
    assert event.direction == "outbound"
    assert event.business_number == "+14155550100"
    assert event.summary == "Ana quiere una cita el viernes."
    assert event.data_collection == {"day": {"value": "viernes"}}
    assert event.evaluation == {"booked": {"result": "success"}}
    assert event.dynamic_variables["customer_name"] == "Ana"
    assert event.batch_call == {"batch_call_id": "btcal_1", "batch_call_recipient_id": "btcrec_1"}
    assert event.duration_seconds == 22
    assert [t.role for t in event.transcript] == ["agent", "user"]
    assert await stored_count(bus) == 1


async def test_audio_before_and_after_its_transcription(
    ingest: IngestFactory, published: Published, settings: object
) -> None:
    encoded = base64.b64encode(MP3).decode()
    audio_first = {
        "agent_id": "agent_standin",
        "conversation_id": "conv_early",
        "full_audio": encoded,
    }
    audio_late = dict(audio_first, conversation_id="conv_late")
    async with ingest() as running:
        early = await running.elevenlabs(envelope("post_call_audio", audio_first))
        assert early.status_code == 202
        await published.settle()
        assert published.of("call.audio_recorded") == []
        await running.elevenlabs(
            envelope("post_call_transcription", transcription_data("conv_early"))
        )
        await running.elevenlabs(
            envelope("post_call_transcription", transcription_data("conv_late"))
        )
        late = await running.elevenlabs(envelope("post_call_audio", audio_late))
        again = await running.elevenlabs(envelope("post_call_audio", audio_late))
        data_dir = running.settings.data_dir
    assert late.status_code == again.status_code == 200
    assert again.json()["duplicates"] == 1
    await published.settle()
    recorded: list[CallAudioRecorded] = published.of("call.audio_recorded")
    assert sorted(e.call_id for e in recorded) == ["conv_early", "conv_late"]
    sha = hashlib.sha256(MP3).hexdigest()
    for event in recorded:
        assert event.conversation == CONTACT
        assert (event.audio_sha256, event.size_bytes) == (sha, len(MP3))
        assert event.audio_path == f"calls/{sha}.mp3"
        assert event.content_type == "audio/mpeg"
        assert (Path(data_dir) / event.audio_path).read_bytes() == MP3
        assert "full_audio" not in event.model_dump_json()


async def test_initiation_failure_is_call_failed(
    ingest: IngestFactory, published: Published
) -> None:
    data = {
        "agent_id": "agent_standin",
        "conversation_id": "conv_busy",
        "failure_reason": "busy",
        "metadata": {
            "type": "twilio",
            "body": {
                "CallSid": "CA1",
                "CallStatus": "busy",
                "To": "+57 300 111 2233",
                "From": "+14155550100",
            },
        },
    }
    async with ingest() as running:
        answer = await running.elevenlabs(envelope("call_initiation_failure", data))
    assert answer.status_code == 200
    [event] = await published.wait_for("call.failed")
    assert isinstance(event, CallFailed)
    assert (event.conversation, event.reason, event.call_id) == (CONTACT, "busy", "conv_busy")
    assert event.metadata["body"]["CallStatus"] == "busy"


async def test_bad_signatures_stale_requests_and_unknown_types_are_refused(
    ingest: IngestFactory, published: Published, bus: EventBus
) -> None:
    payload = envelope("post_call_transcription", transcription_data("conv_x"))
    async with ingest() as running:
        forged = await running.elevenlabs(payload, secret="guessed")
        stale = await running.elevenlabs(payload, age_seconds=31 * 60)
        unsigned = await running.http.post(f"{running.base}/webhooks/elevenlabs", json=payload)
        unknown = await running.elevenlabs({"type": "post_call_haiku", "data": {}})
        no_number = await running.elevenlabs(
            envelope("post_call_transcription", {"conversation_id": "conv_web", "transcript": []})
        )
        bad_audio = await running.elevenlabs(
            envelope("post_call_audio", {"conversation_id": "c", "full_audio": "%%%"})
        )
    async with ingest(ingest_elevenlabs_tolerance_seconds=3600) as running:
        tolerated = await running.elevenlabs(payload, age_seconds=31 * 60)
    async with ingest(elevenlabs_webhook_secret=None) as running:
        unconfigured = await running.elevenlabs(payload)
    assert forged.status_code == stale.status_code == unsigned.status_code == 403
    assert stale.json() == {"error": "invalid_signature", "detail": "the signature is too old"}
    assert unknown.status_code == 422
    assert unknown.json() == {"error": "unknown_type", "detail": "post_call_haiku"}
    assert no_number.status_code == 422
    assert bad_audio.status_code == 422
    assert unconfigured.status_code == 503
    assert tolerated.status_code == 200
    await published.settle()
    assert len(published.events) == 1  # only the tolerated one
    assert await stored_count(bus) == 1


async def test_call_audio_over_the_messaging_limit_is_accepted(
    ingest: IngestFactory, published: Published
) -> None:
    big = bytes(range(256)) * (3 * 4096)  # 3 MiB of "MP3", 4 MiB as base64
    audio = {"conversation_id": "conv_long", "full_audio": base64.b64encode(big).decode()}
    async with ingest() as running:
        await running.elevenlabs(
            envelope("post_call_transcription", transcription_data("conv_long"))
        )
        answer = await running.elevenlabs(envelope("post_call_audio", audio))
    assert answer.status_code == 200
    [event] = await published.wait_for("call.audio_recorded")
    assert event.size_bytes == len(big)
