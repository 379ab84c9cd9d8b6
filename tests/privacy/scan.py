"""Searching everywhere Hilo keeps data for what must not be readable any more.

Each scanner returns findings (where, and which needle), so a failing test says where
the data still is. Needles are matched case-insensitively, as text and as UTF-8 bytes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import phonenumbers
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from hilo.bus import EventBus


@dataclass(frozen=True)
class Finding:
    where: str
    needle: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.needle!r} in {self.where}: {self.excerpt}"


def number_forms(number: str) -> dict[str, str]:
    """A number as it could be written: E.164, without the plus, national (digits and
    the usual spacing)."""
    parsed = phonenumbers.parse(number)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return {
        "number (E.164)": number,
        "number without the plus": number.lstrip("+"),
        "number, national digits": str(parsed.national_number),
        "number, national format": national,
    }


def _found(where: str, text: str, needles: Mapping[str, str]) -> list[Finding]:
    folded = text.casefold()
    findings = []
    for what, needle in needles.items():
        at = folded.find(needle.casefold())
        if at >= 0:
            excerpt = text[max(0, at - 60) : at + len(needle) + 60].replace("\n", " ")
            findings.append(Finding(where, what, excerpt))
    return findings


def scan_text(where: str, lines: Iterable[str], needles: Mapping[str, str]) -> list[Finding]:
    return [f for n, line in enumerate(lines) for f in _found(f"{where}:{n}", line, needles)]


async def tables(pool: asyncpg.Pool) -> list[str]:
    """Every table of the database's own schemas (not the system catalogs)."""
    rows = await pool.fetch(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name"
        " FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        " ORDER BY 1"
    )
    return [r["name"] for r in rows]


async def scan_database(pool: asyncpg.Pool, needles: Mapping[str, str]) -> list[Finding]:
    """Every column of every row of every table, as text, and every large object."""
    findings: list[Finding] = []
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        for table in await tables(pool):
            async for row in conn.cursor(f"SELECT t::text FROM {table} t"):
                findings += _found(table, row[0], needles)
        # Large objects' bytes (hilo keeps none; a library or a future change might).
        async for row in conn.cursor("SELECT loid, pageno, data FROM pg_largeobject"):
            text = bytes(row["data"]).decode("utf-8", errors="replace")
            findings += _found(f"pg_largeobject {row['loid']}/{row['pageno']}", text, needles)
    return findings


async def scan_streams(bus: EventBus, needles: Mapping[str, str]) -> list[Finding]:
    """Every message of the namespace's JetStream streams: subject, headers, raw bytes."""
    findings: list[Finding] = []
    for stream in (bus.naming.events_stream, bus.naming.dead_letter_stream):
        try:
            info = await bus.js.stream_info(stream)
        except Exception:  # a stream never created holds nothing
            continue
        if not info.state.messages:
            continue
        sub = await bus.js.pull_subscribe(
            f"{bus.naming.namespace}.>" if bus.naming.namespace else ">",
            stream=stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.ALL,
                inactive_threshold=30.0,
            ),
        )
        seen = 0
        try:
            while seen < info.state.messages:
                try:
                    msgs = await sub.fetch(256, timeout=2.0)
                except NatsTimeoutError:
                    break
                for msg in msgs:
                    seen += 1
                    where = f"{stream} #{msg.metadata.sequence.stream}"
                    headers = " ".join(f"{k}={v}" for k, v in (msg.headers or {}).items())
                    body = msg.data.decode("utf-8", errors="replace")
                    findings += _found(where, f"{msg.subject} {headers} {body}", needles)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
    return findings


def scan_files(
    root: Path, needles: Mapping[str, str], contents: Mapping[str, bytes] = {}
) -> list[Finding]:
    """Every file under ``root``: its name and bytes hold no needle, nor any of ``contents``
    (e.g. a voice note's bytes, which hold no text to search for)."""
    findings: list[Finding] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        where = str(path.relative_to(root))
        findings += _found(f"file name {where}", where, needles)
        data = path.read_bytes()
        findings += _found(f"file {where}", data.decode("utf-8", errors="replace"), needles)
        findings += [
            Finding(f"file {where}", what, "the same bytes")
            for what, content in contents.items()
            if content and content in data
        ]
    return findings
