"""Real speech made on this machine with espeak-ng, and a fair way to score what was heard."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import jiwer
import pytest

from services.transcriber.decoding import Samples, decode

ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(
    ESPEAK is None, reason="espeak-ng is not installed (make system-deps installs it)"
)


def speak(text: str, *, voice: str = "en-us", words_per_minute: int = 150) -> Samples:
    """The sentence spoken by espeak-ng, as 16 kHz mono samples."""
    if ESPEAK is None:
        pytest.skip("espeak-ng is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(
            [ESPEAK, "-v", voice, "-s", str(words_per_minute), "-w", str(wav), text],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return decode(wav.read_bytes(), max_duration_seconds=600).samples


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis) or "<nothing>"))
