"""The scanners of the forgetting proof can fail: each finds what was planted where it looks."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from hilo.bus import EventBus
from schemas import ContactForgotten
from tests.privacy.scan import number_forms, scan_database, scan_files, scan_streams, scan_text

NUMBER = "+34600111222"


def test_a_number_is_searched_in_every_form() -> None:
    assert number_forms(NUMBER) == {
        "number (E.164)": "+34600111222",
        "number without the plus": "34600111222",
        "number, national digits": "600111222",
        "number, national format": "600 11 12 22",
    }


async def test_the_database_scan_finds_a_row_and_a_large_object(pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO router_holders (conversation) VALUES ($1)", NUMBER)
    async with pool.acquire() as conn, conn.transaction():
        oid = await conn.fetchval(
            "SELECT lo_from_bytea(0, convert_to('Hola, soy Ana Ruiz', 'UTF8'))"
        )
    needles = {**number_forms(NUMBER), "name": "ana ruiz"}
    found = {(f.where.split()[0], f.needle) for f in await scan_database(pool, needles)}
    assert ("public.router_holders", "number (E.164)") in found
    assert ("pg_largeobject", "name") in found
    await pool.execute("SELECT lo_unlink($1)", oid)


async def test_the_stream_scan_reads_subjects_headers_and_bodies(bus: EventBus) -> None:
    await bus.ensure_streams()
    await bus.publish(
        ContactForgotten(conversation="c" + "a" * 26, keys_destroyed=0, requested_by="Ana Ruiz")
    )
    found = await scan_streams(bus, {"name": "ANA RUIZ", "subject": "contact.forgotten.c"})
    assert {f.needle for f in found} == {"name", "subject"}


def test_the_file_scan_reads_names_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "audio" / "x").mkdir(parents=True)
    (tmp_path / "audio" / "x" / "note").write_bytes(b"OggS\x00voice")
    (tmp_path / "34600111222.txt").write_text("nothing")
    found = scan_files(tmp_path, number_forms(NUMBER), {"voice note": b"OggS\x00voice"})
    assert {(f.where, f.needle) for f in found} == {
        ("file name 34600111222.txt", "number without the plus"),
        ("file name 34600111222.txt", "number, national digits"),
        ("file audio/x/note", "voice note"),
    }
    assert [
        f.needle for f in scan_text("log", ["a …1222 b", "a 600111222"], number_forms(NUMBER))
    ] == ["number, national digits"]
