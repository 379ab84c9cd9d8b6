"""Any WhatsApp voice format (OGG/Opus, AMR, MP4/AAC, MP3…) to 16 kHz mono float32, with PyAV."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

from services.transcriber.failures import permanent

SAMPLE_RATE = 16_000
# Loudest 30 ms window quieter than this (about -50 dBFS): nobody spoke.
SILENCE_RMS = 0.003
WINDOW = SAMPLE_RATE * 30 // 1000

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DecodedAudio:
    samples: Samples  # mono, SAMPLE_RATE Hz, float32 in [-1, 1]
    source_format: str

    @property
    def duration_seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def decode(data: bytes, *, max_duration_seconds: float) -> DecodedAudio:
    """Decode and resample; raise a permanent TranscriptionError for what no retry can fix."""
    if not data:
        raise permanent("empty", "the file has no bytes")
    try:
        return _decode(data, max_duration_seconds)
    except av.FFmpegError as exc:
        raise permanent("corrupt", f"cannot decode: {type(exc).__name__}") from exc


def _decode(data: bytes, max_duration_seconds: float) -> DecodedAudio:
    max_samples = int(max_duration_seconds * SAMPLE_RATE)
    with av.open(io.BytesIO(data), mode="r") as container:
        if not container.streams.audio:
            raise permanent("unsupported_type", "the file has no audio stream")
        stream = container.streams.audio[0]
        if container.duration and container.duration / av.time_base > max_duration_seconds:
            raise _too_long(container.duration / av.time_base, max_duration_seconds)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[Samples] = []
        total = 0
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                chunks.append(chunk)
                total += len(chunk)
            if total > max_samples:
                raise _too_long(total / SAMPLE_RATE, max_duration_seconds)
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
        source_format = f"{container.format.name}/{stream.codec_context.name}"
    if not chunks or sum(len(c) for c in chunks) == 0:
        raise permanent("corrupt", "no audio could be decoded")
    samples = np.concatenate(chunks)
    if len(samples) > max_samples:
        raise _too_long(len(samples) / SAMPLE_RATE, max_duration_seconds)
    return DecodedAudio(np.clip(samples, -1.0, 1.0), source_format)


def _too_long(seconds: float, limit: float) -> Exception:
    return permanent("too_long", f"{seconds:.0f} s is over the {limit:.0f} s limit")


def is_silent(samples: Samples) -> bool:
    """True when no 30 ms window is loud enough to hold speech."""
    if len(samples) == 0:
        return True
    usable = len(samples) - len(samples) % WINDOW
    if usable == 0:
        return float(np.sqrt(np.mean(np.square(samples)))) < SILENCE_RMS
    windows = samples[:usable].reshape(-1, WINDOW)
    loudest = float(np.sqrt(np.mean(np.square(windows), axis=1)).max())
    return loudest < SILENCE_RMS


def to_wav(samples: Samples) -> bytes:
    """16-bit PCM WAV, for backends that cannot read the original format (AMR)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def encode(
    samples: Samples,
    *,
    container: str = "ogg",
    codec: str = "libopus",
    rate: int = SAMPLE_RATE,
    bit_rate: int | None = 24_000,
) -> bytes:
    """Encode 16 kHz mono samples (a WhatsApp-like voice note, an upload a backend accepts)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        wanted = stream.codec_context.format
        resampler = av.AudioResampler(
            format=wanted.name if wanted else "s16", layout="mono", rate=rate
        )
        for converted in resampler.resample(frame):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()
