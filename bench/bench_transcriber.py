"""The local transcriber per language: word error rate and real-time factor, with a peer.

Makes voice notes with espeak-ng (Spanish from Spain and Latin America, English in
several accents and speeds), encodes them as WhatsApp does (Ogg/Opus) and transcribes
each from the same decoded samples with:

- Whisper base, the default (multilingual, the language detected per note);
- Whisper tiny.en, the former default, on the English notes only;
- pocketsphinx (its bundled US English model), the English peer.

Short notes are one sentence (3-5 s); long ones join four sentences (12-18 s), closer
to a real voice note, over which Whisper's fixed 30-second window costs less per second.
Prints per language and model the median real-time factor (seconds of work per second
of audio, decoding included) and the mean word error rate, and the ratios to
pocketsphinx on English. Aims: Spanish WER < 0.35, RTF < 0.3 on 2 cores.
"""

from __future__ import annotations

import functools
import os
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

ROOT = Path(__file__).resolve().parents[1]

# (sentence, espeak voice, words per minute)
ENGLISH = [
    ("Hello, I would like to book an appointment for next week", "en-us", 150),
    ("Please send me the price list and your opening hours", "en-gb", 160),
    ("Could you call me back this afternoon about my order", "en-us", 140),
    ("The delivery arrived this morning but one box is missing", "en-gb-x-rp", 150),
    ("I need to cancel my reservation for Saturday evening", "en-us", 170),
    ("Can you tell me where your nearest shop is located", "en-gb-scotland", 150),
    ("My payment did not go through, can you check the invoice", "en-us", 155),
    ("Thank you very much, see you on Monday at the office", "en-gb", 145),
]
SPANISH = [
    ("Hola, quiero reservar una cita para el viernes a las diez de la mañana.", "es", 150),
    ("Buenos días, necesito cambiar mi reunión del martes al jueves por la tarde.", "es", 150),
    ("Mañana no puedo ir, por favor cancelen mi cita.", "es-419", 150),
    ("Buenas tardes, ¿tienen disponibilidad para el lunes por la mañana?", "es", 160),
    ("Me gustaría hablar con alguien sobre la factura del mes pasado.", "es-419", 150),
    ("Quisiera saber el precio de la limpieza dental.", "es", 140),
    ("Gracias por la información, nos vemos el sábado.", "es-419", 160),
    ("Tengo un problema con mi pedido, llegó roto.", "es", 150),
]
CHUNK = 2048  # samples fed to pocketsphinx at a time, as from a stream
LONG = 4  # sentences in a long note
SPANISH_WER_AIM = 0.35
RTF_AIM = 0.3


def speak(text: str, voice: str, wpm: int) -> Samples:
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
        return decode(wav.read_bytes(), max_duration_seconds=600).samples


def notes(sentences: list[tuple[str, str, int]]) -> dict[str, list[tuple[str, bytes]]]:
    """Short notes (one sentence) and long ones (LONG sentences, a short pause between)."""
    spoken = [(text, speak(text, voice, wpm)) for text, voice, wpm in sentences]
    pause = np.zeros(8000, dtype=np.float32)
    long = []
    for start in range(0, len(spoken), LONG):
        group = spoken[start : start + LONG]
        samples = np.concatenate([part for _, s in group for part in (s, pause)])
        long.append((" ".join(text for text, _ in group), encode(samples)))
    return {"short": [(text, encode(s)) for text, s in spoken], "long": long}


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


Row = tuple[list[float], list[float]]  # real-time factors, word error rates


def measure(recognisers: dict[str, Any], batch: list[tuple[str, bytes]]) -> dict[str, Row]:
    """Each note by every recogniser in turn, so the machine's drift hits them alike."""
    rows: dict[str, Row] = {name: ([], []) for name in recognisers}
    for reference, note in batch:
        for name, recognise in recognisers.items():
            text, seconds, duration = recognise(note)
            rtfs, wers = rows[name]
            rtfs.append(seconds / duration)
            wers.append(word_error_rate(reference, text))
            print(f"    {name:<13} {wers[-1]:5.2f} WER  {rtfs[-1]:5.3f} RTF  {text!r}", flush=True)
    return rows


def main() -> None:
    print("making voice notes with espeak-ng…", flush=True)
    english, spanish = notes(ENGLISH), notes(SPANISH)
    base = LocalWhisper(data_dir=ROOT / ".hilo")
    tiny = LocalWhisper("tiny.en")
    # Warm-up (first-call allocations), untimed.
    for warm in (base, tiny):
        warm.transcribe_samples(decode(english["short"][0][1], max_duration_seconds=60))
    pocketsphinx_text(english["short"][0][1])

    by_base = functools.partial(whisper_text, base)
    results: dict[tuple[str, str], dict[str, Row]] = {}
    for length in ("short", "long"):
        print(f"  Spanish, {length} notes", flush=True)
        results["es", length] = measure({"whisper-base": by_base}, spanish[length])
        print(f"  English, {length} notes", flush=True)
        results["en", length] = measure(
            {
                "whisper-base": by_base,
                "tiny.en": functools.partial(whisper_text, tiny),
                "pocketsphinx": pocketsphinx_text,
            },
            english[length],
        )

    print("\ntranscription of espeak-ng voice notes (Ogg/Opus), lower is better")
    print(f"  {'language':<9}{'notes':<7}{'model':<14}{'RTF (median)':>13}{'WER (mean)':>11}")
    for (language, length), rows in results.items():
        for name, (rtfs, wers) in rows.items():
            print(
                f"  {language:<9}{length:<7}{name:<14}"
                f"{statistics.median(rtfs):13.3f}{statistics.fmean(wers):11.3f}"
            )
    print("\n  ratio to pocketsphinx on English (whisper-base / pocketsphinx)")
    for length in ("short", "long"):
        rows = results["en", length]
        ours_rtf, ours_wer = (
            statistics.median(rows["whisper-base"][0]),
            statistics.fmean(rows["whisper-base"][1]),
        )
        peer_rtf, peer_wer = (
            statistics.median(rows["pocketsphinx"][0]),
            statistics.fmean(rows["pocketsphinx"][1]),
        )
        wer_ratio = f"{ours_wer / peer_wer:.2f}" if peer_wer else "-"
        print(f"    {length:<6} RTF {ours_rtf / peer_rtf:5.2f}×   WER {wer_ratio}×")

    spanish_wer = statistics.fmean(results["es", "short"]["whisper-base"][1])
    long_rtf = statistics.median(
        results["es", "long"]["whisper-base"][0] + results["en", "long"]["whisper-base"][0]
    )
    short_rtf = statistics.median(
        results["es", "short"]["whisper-base"][0] + results["en", "short"]["whisper-base"][0]
    )
    print(f"\n  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"  aim Spanish WER < {SPANISH_WER_AIM}: {spanish_wer:.3f} "
        f"({'met' if spanish_wer < SPANISH_WER_AIM else 'NOT met'})"
    )
    print(
        f"  aim RTF < {RTF_AIM}: long notes {long_rtf:.3f} "
        f"({'met' if long_rtf < RTF_AIM else 'NOT met'}), short notes {short_rtf:.3f} "
        f"({'met' if short_rtf < RTF_AIM else 'NOT met'}; Whisper encodes a whole 30 s "
        "window however short the note)"
    )


if __name__ == "__main__":
    main()
