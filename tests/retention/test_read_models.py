"""What retention left, as the read models show it: live, after a rebuild, on the page and
in the CLI. The job's events reach the store through the real recorder."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import asyncpg
from rich.console import Console

from hilo.bus import EventBus
from hilo.cli.render import conversation_table, expired_note
from hilo.privacy.codec import EventCodec
from hilo.projections import inbox
from hilo.projections.runner import PROJECTIONS, catch_up, rebuild
from hilo.settings import HiloSettings
from hilo.testing import eventually
from services.inbox.web import i18n, present
from services.inbox.web.render import TEMPLATES
from services.recorder.app import build as build_recorder
from services.transcriber.storage import AudioStore
from tests.retention.conftest import AUDIO_DAYS, TRANSCRIPT_DAYS, Recordings, make_job

ANA = "+34600111222"


async def _stored_expiries(pool: asyncpg.Pool) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM events WHERE type IN ('audio.expired', 'transcript.expired')"
        )
    )


async def _rows(pool: asyncpg.Pool) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    conversations = await pool.fetch("SELECT * FROM proj_conversations ORDER BY conversation")
    inboxes = await pool.fetch("SELECT * FROM proj_inbox_conversations ORDER BY contact")
    return conversations, inboxes


async def test_expired_transcripts_and_audio_are_shown_as_such_and_a_rebuild_agrees(
    recordings: Recordings,
    pool: asyncpg.Pool,
    bus: EventBus,
    audio: AudioStore,
    settings: HiloSettings,
    codec: EventCodec,
) -> None:
    old = await recordings.voice_note(ANA, TRANSCRIPT_DAYS + 1, words="mi clave es girasol")
    call = await recordings.call(ANA, TRANSCRIPT_DAYS + 1)
    fresh = await recordings.voice_note(ANA, 1, words="hasta el lunes")

    async with build_recorder().running(settings, http=False):
        await make_job(pool, bus, audio).run()
        # One audio (the old note's; the call has none) and two transcripts, stored.
        await eventually(lambda: _count_is(pool, 3))
    for projection in PROJECTIONS.values():
        await catch_up(pool, projection, codec=codec)

    doc = await pool.fetchval("SELECT doc FROM proj_conversations WHERE conversation = $1", ANA)
    note = doc["items"][f"message:{old.message.event_id}"]
    assert note["transcript"]["status"] == "expired"
    assert note["transcript"]["retention_days"] == TRANSCRIPT_DAYS
    assert "text" not in note["transcript"]
    assert note["audio_expired"]["retention_days"] == AUDIO_DAYS
    assert doc["items"][f"call:{call.call_id}"]["transcript"]["status"] == "expired"
    kept = doc["items"][f"message:{fresh.message.event_id}"]
    assert kept["transcript"]["text"] == "hasta el lunes" and "audio_expired" not in kept

    row = await pool.fetchrow(
        "SELECT search_text, doc FROM proj_inbox_conversations WHERE contact = $1", ANA
    )
    assert "girasol" not in row["search_text"] and "hasta el lunes" in row["search_text"]
    assert inbox.search_text(row["doc"]) == row["search_text"]

    live = await _rows(pool)
    for projection in PROJECTIONS.values():
        await rebuild(pool, projection, codec=codec)
    assert await _rows(pool) == live

    # The operator's page, in Spanish and in English.
    macro = TEMPLATES.env.get_template("_items.html").module.item  # type: ignore[attr-defined]
    contact = {"contact": ANA, "name": None}
    for language, transcript_gone, audio_gone in (
        ("es", "Transcripción caducada tras 90 días", "Audio borrado tras 30 días"),
        ("en", "Transcript expired after 90 days", "Audio deleted after 30 days"),
    ):
        clock = present.Clock(ZoneInfo("UTC"), language)
        html = str(macro(note, contact, i18n.translator(language), clock))
        assert transcript_gone in html and audio_gone in html
        assert "<audio" not in html and "girasol" not in html
        call_html = str(
            macro(doc["items"][f"call:{call.call_id}"], contact, i18n.translator(language), clock)
        )
        assert transcript_gone in call_html and "quiero una cita" not in call_html
    assert "<audio" in str(macro(kept, contact, i18n.translator("es"), clock))

    # The CLI, in the contact's language (English unless the analysis says Spanish).
    console = Console(width=400, record=True)
    console.print(conversation_table(doc))
    printed = console.export_text()
    assert "transcript expired after 90 days" in printed and "girasol" not in printed
    assert expired_note("transcript", note["transcript"], "es") == (
        "transcripción caducada tras 90 días"
    )


async def _count_is(pool: asyncpg.Pool, expected: int) -> bool:
    return await _stored_expiries(pool) == expected
