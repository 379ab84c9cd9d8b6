"""Spanish voice notes on the whole offline stack, as a new user tries them: `hilo up` with no
provider accounts, `hilo simulate whatsapp --audio` with an espeak-ng Spanish note, then a
note in which nothing can be heard. Both are answered; the conversation shows why."""

from __future__ import annotations

import asyncio
import functools
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hilo import registry
from hilo.embedded import free_port
from hilo.testing import eventually
from services.transcriber.decoding import encode
from tests.system.test_offline_stack import HILO, _conversation, _env, _hilo, _outbound, _ready
from tests.transcriber.speech import needs_espeak, speak, word_error_rate

CONTACT = "+34611223344"  # the module's own contact, in _conversation
SENTENCE = "Buenos días, necesito cambiar mi reunión del martes al jueves por la tarde."


@pytest.fixture
def stack_dir() -> Iterator[Path]:
    """The stack's data, outside pytest's temporary root: pgserver (running PostgreSQL as its
    own user when we are root) opens the data directory's parents to that user, and any other
    pytest session on the machine sets ``/tmp/pytest-of-<user>`` back to 0700 meanwhile,
    failing initdb with "Permission denied"."""
    path = Path(tempfile.mkdtemp(prefix="hilo-system-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _voice_notes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in doc["timeline"] if item.get("transcript")]


@needs_espeak
@pytest.mark.timeout(300)
async def test_a_spanish_note_is_heard_in_spanish_and_an_unheard_one_is_still_answered(
    tmp_path: Path, stack_dir: Path
) -> None:
    spoken = tmp_path / "nota.ogg"
    spoken.write_bytes(encode(speak(SENTENCE, voice="es")))
    silent = tmp_path / "silencio.ogg"
    silent.write_bytes(encode(np.zeros(16_000 * 2, dtype=np.float32)))
    http_port, nats_port = free_port(), free_port()
    env = _env(stack_dir, http_port, nats_port)
    stack = subprocess.Popen(
        [*HILO, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    failure: AssertionError | None = None
    try:
        for service in registry.services():
            url = f"http://127.0.0.1:{service.port(http_port, env)}/readyz"
            await eventually(functools.partial(_ready, url), timeout=120)

        sent = await _hilo(env, "simulate", "whatsapp", "--from", CONTACT, "--audio", str(spoken))
        assert sent.returncode == 0, sent.stderr

        async def heard_and_answered() -> dict[str, Any] | None:
            doc = await _conversation(env)
            notes = _voice_notes(doc) if doc else []
            if doc and notes and notes[0]["transcript"]["status"] != "pending" and _outbound(doc):
                return doc
            return None

        first = await eventually(heard_and_answered, timeout=120, interval=0.5)

        sent = await _hilo(env, "simulate", "whatsapp", "--from", CONTACT, "--audio", str(silent))
        assert sent.returncode == 0, sent.stderr

        async def unheard_and_answered() -> dict[str, Any] | None:
            doc = await _conversation(env)
            if doc and len(_voice_notes(doc)) == 2 and len(_outbound(doc)) == 2:
                return doc
            return None

        second = await eventually(unheard_and_answered, timeout=120, interval=0.5)
        shown = await _hilo({**env, "COLUMNS": "300"}, "conversation", "show", CONTACT)
    except AssertionError as exc:
        failure = exc
    finally:
        stack.send_signal(signal.SIGINT)
        output, _ = await asyncio.to_thread(stack.communicate, timeout=60)
    if failure is not None:  # what the stack said is what explains it
        raise AssertionError(f"{failure}\n--- hilo up ---\n{output.decode()[-4000:]}") from failure
    assert stack.returncode == 0, output.decode()[-3000:]

    [note] = _voice_notes(first)
    transcript = note["transcript"]
    assert transcript["status"] == "completed", transcript
    assert (transcript["language"], transcript["model"]) == ("es", "whisper-base")
    assert word_error_rate(SENTENCE, transcript["text"]) < 0.35, transcript["text"]

    unheard = _voice_notes(second)[1]["transcript"]
    assert (unheard["status"], unheard["reason"]) == ("failed", "no_speech")
    replies = _outbound(second)
    assert "nota de voz" in replies[1]["text"] and "escrib" in replies[1]["text"]
    assert unheard["answered_by"]
    assert shown.returncode == 0
    assert "asked to write it" in " ".join(shown.stdout.split())
    assert "(Europe/Madrid)" in shown.stdout  # times in the business's zone
