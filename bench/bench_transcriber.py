"""The local transcriber (faster-whisper tiny.en, int8, CPU) beside pocketsphinx, on the same notes.

Makes NOTES voice notes with espeak-ng (English sentences, several voices and
speeds), encodes them as WhatsApp does (Ogg/Opus), and has both recognisers
transcribe each one from the same decoded samples. Prints the median real-time
factor (seconds of work per second of audio, decoding included) and word error
rate of each, and the ratios hilo/pocketsphinx (lower is better for both).
Aim: WER below pocketsphinx's and RTF < 0.2 on 2 cores.
"""

from __future__ import annotations

import functools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.transcriber.backends import LocalWhisper
from services.transcriber.decoding import Samples, decode, encode
from tests.transcriber.speech import word_error_rate

# (sentence, espeak voice, words per minute)
NOTES = [
    ("Hello, I would like to book an appointment for next week", "en-us", 150),
    ("Please send me the price list and your opening hours", "en-gb", 160),
    ("Could you call me back this afternoon about my order", "en-us", 140),
    ("The delivery arrived this morning but one box is missing", "en-gb-x-rp", 150),
    ("I need to cancel my reservation for Saturday evening", "en-us", 170),
    ("Can you tell me where your nearest shop is located", "en-gb-scotland", 150),
    ("My payment did not go through, can you check the invoice", "en-us", 155),
    ("Thank you very much, see you on Monday at the office", "en-gb", 145),
]
CHUNK = 2048  # samples fed to pocketsphinx at a time, as from a stream


def speak(text: str, voice: str, wpm: int) -> bytes:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("espeak-ng is not installed (make system-deps installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "note.wav"
        subprocess.run(
            [espeak, "-v", voice, "-s", str(wpm), "-w", str(wav), text],
            check=True,
            capture_output=True,
        )
        samples = decode(wav.read_bytes(), max_duration_seconds=600).samples
    return encode(samples)  # a WhatsApp-like Ogg/Opus voice note


def whisper_text(model: LocalWhisper, note: bytes) -> tuple[str, float, float]:
    started = time.perf_counter()
    audio = decode(note, max_duration_seconds=900)
    text = model.transcribe_samples(audio).text
    return text, time.perf_counter() - started, audio.duration_seconds


def pocketsphinx_text(note: bytes) -> tuple[str, float, float]:
    decoder = pocketsphinx_decoder()
    started = time.perf_counter()
    audio = decode(note, max_duration_seconds=900)
    pcm = pcm16(audio.samples)
    decoder.start_utt()
    for start in range(0, len(pcm), CHUNK):
        decoder.process_raw(pcm[start : start + CHUNK].tobytes(), False, False)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    elapsed = time.perf_counter() - started
    return (hypothesis.hypstr if hypothesis else ""), elapsed, audio.duration_seconds


@functools.cache
def pocketsphinx_decoder() -> Any:
    """One decoder (with its bundled US English model), loaded once like our model is."""
    from pocketsphinx import Decoder

    return Decoder(samprate=16000, loglevel="FATAL")


def pcm16(samples: Samples) -> npt.NDArray[np.int16]:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2")


def main() -> None:
    print(f"making {len(NOTES)} voice notes with espeak-ng…", flush=True)
    notes = [(text, speak(text, voice, wpm)) for text, voice, wpm in NOTES]
    model = LocalWhisper()
    # Warm-up (first-call allocations) for both, untimed.
    model.transcribe_samples(decode(notes[0][1], max_duration_seconds=60))
    pocketsphinx_text(notes[0][1])

    rows: dict[str, tuple[list[float], list[float]]] = {"hilo": ([], []), "pocketsphinx": ([], [])}
    for reference, note in notes:
        for name in rows:
            if name == "hilo":
                text, seconds, duration = whisper_text(model, note)
            else:
                text, seconds, duration = pocketsphinx_text(note)
            rtfs, wers = rows[name]
            rtfs.append(seconds / duration)
            wers.append(word_error_rate(reference, text))
            print(f"  {name:<13} {wers[-1]:5.2f} WER  {rtfs[-1]:5.3f} RTF  {text!r}", flush=True)

    ours_rtf, ours_wer = (statistics.median(v) for v in rows["hilo"])
    peer_rtf, peer_wer = (statistics.median(v) for v in rows["pocketsphinx"])
    mean_ours_wer = statistics.fmean(rows["hilo"][1])
    mean_peer_wer = statistics.fmean(rows["pocketsphinx"][1])
    print(f"\ntranscription of {len(notes)} espeak-ng voice notes (Ogg/Opus), lower is better")
    print(f"  {'measure':<28} {'hilo':>8} {'pocketsphinx':>13} {'ratio':>7}")
    for name, ours, peer in (
        ("real-time factor (median)", ours_rtf, peer_rtf),
        ("word error rate (median)", ours_wer, peer_wer),
        ("word error rate (mean)", mean_ours_wer, mean_peer_wer),
    ):
        ratio = f"{ours / peer:7.2f}" if peer else f"{'-':>7}"
        print(f"  {name:<28} {ours:8.3f} {peer:13.3f} {ratio}")
    verdict = "met" if ours_rtf < 0.2 and mean_ours_wer < mean_peer_wer else "NOT met"
    print(f"  aim (RTF < 0.2, WER below pocketsphinx's): {verdict}")


if __name__ == "__main__":
    main()
