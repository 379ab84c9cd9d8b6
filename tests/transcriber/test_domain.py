"""The pure parts: which media is the voice note, stable event ids, when to give up, storage."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from schemas import MediaRef, MessageReceived, TranscriptSegment
from services.transcriber.backends import Transcript, normalise_language
from services.transcriber.failures import permanent, should_give_up, transient
from services.transcriber.outcomes import transcribed, transcription_failed, voice_note_of
from services.transcriber.sniffing import sniff_audio
from services.transcriber.storage import AudioStore, sha256_of


def message(**fields: object) -> MessageReceived:
    values: dict[str, object] = {
        "conversation": "+34600111222",
        "provider": "meta",
        "provider_message_id": "wamid.1",
        "kind": "audio",
    }
    values.update(fields)
    return MessageReceived.model_validate(values)


def test_the_voice_note_is_the_audio_attachment() -> None:
    image = MediaRef(media_id="1", content_type="image/jpeg")
    audio = MediaRef(media_id="2", content_type="audio/ogg")
    assert voice_note_of(message(kind="image", media=(image, audio))) == audio
    untyped = MediaRef(media_id="3")
    assert voice_note_of(message(media=(untyped,))) == untyped
    assert voice_note_of(message(media=())) is None
    assert voice_note_of(message(kind="image", media=(image,))) is None


def test_outcome_ids_depend_on_the_message_only() -> None:
    cause = message(media=(MediaRef(media_id="2"),))
    words = Transcript("hola", "es", 1.5, (TranscriptSegment(start=0, end=1.5, text="hola"),))
    first = transcribed(cause, words, "local", "tiny.en", "ab" * 32)
    again = transcribed(cause, words, "local", "tiny.en", "ab" * 32)
    assert first.event_id == again.event_id != cause.event_id
    assert first.message_event_id == cause.event_id and first.causation_id == cause.event_id
    failed = transcription_failed(cause, permanent("corrupt", "bad"), attempts=1)
    assert failed.event_id not in (first.event_id, cause.event_id)
    assert (failed.reason, failed.detail, failed.attempts) == ("corrupt", "bad", 1)
    other = message(event_id=uuid.uuid4(), media=(MediaRef(media_id="2"),))
    assert transcribed(other, words, "local", "tiny.en", "ab" * 32).event_id != first.event_id


def test_transient_trouble_is_retried_until_the_last_attempt() -> None:
    flaky = transient("download_failed", "503")
    assert not should_give_up(flaky, attempt=1, attempts=3)
    assert should_give_up(flaky, attempt=3, attempts=3)
    assert should_give_up(permanent("corrupt", "x"), attempt=1, attempts=3)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"OggS\x00\x02" + b"\x00" * 40, "audio/ogg"),
        (b"#!AMR\n" + b"\x00" * 40, "audio/amr"),
        (b"\x00\x00\x00\x1cftypM4A " + b"\x00" * 40, "audio/mp4"),
        (b"\x00\x00\x00\x1cftypisom" + b"\x00" * 40, "video/mp4"),
        (b"ID3\x04\x00\x00\x00\x00\x00#TS" + b"\x00" * 40, "audio/mpeg"),
        (b"RIFF$}\x00\x00WAVEfmt " + b"\x00" * 40, "audio/x-wav"),
        (b"<!doctype html><html>login</html>", None),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, None),
        (b"PK\x03\x04" + b"\x00" * 40, None),
        (b'{"error": "nope"}', None),
        (b"", None),
    ],
)
def test_audio_is_known_by_its_bytes(head: bytes, kind: str | None) -> None:
    assert sniff_audio(head) == kind


def test_languages_are_iso_codes() -> None:
    assert normalise_language("Spanish") == "es"
    assert normalise_language("en") == "en"
    assert normalise_language(None) is None


def test_notes_are_kept_once_by_content(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    digest = store.put(b"OggS note")
    assert digest == sha256_of(b"OggS note")
    assert store.put(b"OggS note") == digest
    assert store.get(digest) == b"OggS note"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digest]
    assert store.get("0" * 64) is None
    assert store.get("../../etc/passwd") is None


def test_a_kept_note_is_deleted_once(tmp_path: Path) -> None:
    store = AudioStore(tmp_path)
    digest = store.put(b"OggS note")
    assert store.delete(digest) is True
    assert store.get(digest) is None
    assert store.delete(digest) is False  # already gone: harmless
    assert store.delete("../../etc/passwd") is False
