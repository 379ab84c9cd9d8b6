"""`hilo retention run [--dry-run]` as a person runs it, against the test's NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from hilo.settings import HiloSettings
from hilo.testing import TEST_MASTER_KEY, Published
from services.transcriber.storage import AudioStore
from tests.retention.conftest import AUDIO_DAYS, Recordings, file_of

ROOT = Path(__file__).parents[2]


async def hilo(settings: HiloSettings, *args: str, **env: str) -> tuple[int, str, str]:
    environment = {
        **os.environ,
        "HILO_DATABASE_URL": settings.require_database_url(),
        "HILO_NATS_URL": settings.require_nats_url(),
        "HILO_NAMESPACE": settings.namespace,
        "HILO_DATA_DIR": str(settings.data_dir),
        "HILO_MASTER_KEY": TEST_MASTER_KEY,
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hilo.cli.main",
        *args,
        env=environment,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_dry_run_then_run(
    recordings: Recordings, settings: HiloSettings, audio: AudioStore, published: Published
) -> None:
    # Recorded long before today (the command runs on the real clock).
    note = await recordings.voice_note("+34600111222", age_days=AUDIO_DAYS + 1)
    days = {"TRANSCRIBER_AUDIO_RETENTION_DAYS": str(AUDIO_DAYS)}

    code, out, err = await hilo(settings, "retention", "run", "--dry-run", **days)

    assert code == 0, err
    assert "audio: would expire 1 recording(s) from before" in out
    assert "transcripts: kept forever" in out
    assert file_of(audio, note).exists()

    code, out, err = await hilo(settings, "retention", "run", **days)

    assert code == 0, err
    assert "audio: expired 1 recording(s)" in out and "1 file(s) deleted" in out
    assert not file_of(audio, note).exists()
    [event] = await published.wait_for("audio.expired")
    assert event.message_event_id == note.message.event_id


async def test_a_bad_setting_is_one_line_and_changes_nothing(
    recordings: Recordings, settings: HiloSettings, audio: AudioStore
) -> None:
    note = await recordings.voice_note("+34600111222", age_days=AUDIO_DAYS + 1)

    code, _, err = await hilo(settings, "retention", "run", TRANSCRIBER_AUDIO_RETENTION_DAYS="-3")

    assert code == 1
    assert err.startswith("hilo: retention settings: TRANSCRIBER_AUDIO_RETENTION_DAYS")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert file_of(audio, note).exists()
