"""`hilo transcribe FILE...` as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.transcriber.conftest import voice_note
from tests.transcriber.speech import needs_espeak, word_error_rate

SENTENCE = "The delivery arrived this morning but one box is missing"


def hilo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HILO_TRANSCRIBER": "local"}
    env.pop("TRANSCRIBER_MODEL", None)
    return subprocess.run(
        [sys.executable, "-m", "hilo.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=Path(__file__).parents[2],
        check=False,
    )


@needs_espeak
def test_one_json_line_per_file_and_clear_errors_for_the_rest(tmp_path: Path) -> None:
    good = tmp_path / "note.ogg"
    good.write_bytes(voice_note(SENTENCE))
    corrupt = tmp_path / "corrupt.ogg"
    corrupt.write_bytes(b"OggS" + bytes(range(256)) * 8)
    missing = tmp_path / "missing.ogg"

    result = hilo("transcribe", str(missing), str(good), str(corrupt))

    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    out = json.loads(line)
    assert set(out) == {"file", "text", "language", "duration", "backend", "model", "segments"}
    assert out["file"] == str(good)
    assert word_error_rate(SENTENCE, out["text"]) <= 0.25, out["text"]
    assert (out["backend"], out["model"], out["language"]) == ("local", "whisper-base", "en")
    assert out["segments"] and {"start", "end", "text"} <= set(out["segments"][0])
    assert "Traceback" not in result.stderr
    assert f"{missing}: no such file" in result.stderr
    assert f"{corrupt}: corrupt" in result.stderr
    assert "2 of 3 file(s) could not be transcribed" in result.stderr


def test_a_backend_that_cannot_start_is_one_line_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "note.ogg").write_bytes(b"OggS")
    env_model = {"TRANSCRIBER_MODEL": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "hilo.cli.main", "transcribe", str(tmp_path / "note.ogg")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HILO_TRANSCRIBER": "local", **env_model},
        cwd=Path(__file__).parents[2],
        check=False,
    )
    assert result.returncode == 1
    assert "model.bin" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
