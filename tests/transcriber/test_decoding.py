"""WhatsApp's voice formats decoded with PyAV, and the files no retry can fix."""

from __future__ import annotations

import numpy as np
import pytest

from services.transcriber.backends import LocalWhisper
from services.transcriber.decoding import SAMPLE_RATE, decode, encode, is_silent
from services.transcriber.failures import TranscriptionError
from tests.transcriber.speech import needs_espeak, speak, word_error_rate

SENTENCE = "I would like to change my appointment to Friday afternoon please"
# (container, codec, sample rate): what WhatsApp, Twilio and phones send.
FORMATS = [
    ("ogg", "libopus", 16_000),
    ("amr", "libopencore_amrnb", 8_000),
    ("mp4", "aac", 16_000),
    ("mp3", "libmp3lame", 16_000),
]


def tone(seconds: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE), dtype=np.float32) / SAMPLE_RATE
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize(("container", "codec", "rate"), FORMATS)
def test_every_format_becomes_16khz_mono_float(container: str, codec: str, rate: int) -> None:
    audio = decode(
        encode(tone(2.0), container=container, codec=codec, rate=rate, bit_rate=None),
        max_duration_seconds=60,
    )
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 1
    assert 1.9 < audio.duration_seconds < 2.2
    assert float(np.abs(audio.samples).max()) > 0.1


@needs_espeak
@pytest.mark.parametrize(("container", "codec", "rate"), FORMATS)
def test_speech_survives_every_format(
    container: str, codec: str, rate: int, whisper: LocalWhisper
) -> None:
    note = encode(speak(SENTENCE), container=container, codec=codec, rate=rate, bit_rate=None)
    transcript = whisper.transcribe_samples(decode(note, max_duration_seconds=60))
    assert word_error_rate(SENTENCE, transcript.text) <= 0.25, transcript.text
    assert transcript.language == "en"
    assert transcript.segments and transcript.segments[-1].end <= transcript.duration_seconds + 0.5


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"OggS" + bytes(range(256)) * 20, "corrupt"),
        (b"<html><body>Not Found</body></html>", "corrupt"),
    ],
)
def test_broken_files_fail_permanently_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(TranscriptionError) as caught:
        decode(data, max_duration_seconds=60)
    assert caught.value.reason == reason
    assert not caught.value.transient


def test_a_note_over_the_duration_limit_is_refused() -> None:
    with pytest.raises(TranscriptionError) as caught:
        decode(encode(tone(5.0)), max_duration_seconds=3)
    assert caught.value.reason == "too_long"


def test_silence_is_told_from_speech() -> None:
    quiet = decode(encode(np.zeros(SAMPLE_RATE * 2, dtype=np.float32)), max_duration_seconds=60)
    assert is_silent(quiet.samples)
    hiss = np.random.default_rng(1).normal(0, 0.0005, SAMPLE_RATE * 2).astype(np.float32)
    assert is_silent(hiss)
    assert not is_silent(tone(1.0, amplitude=0.05))
    assert is_silent(np.zeros(0, dtype=np.float32))
