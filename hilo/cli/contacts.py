"""`hilo contacts forget NUMBER`: crypto-shred a contact, then show what each service erased."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from typing import Any

import typer
from rich.table import Table

from hilo.cli import render
from hilo.cli.connect import codec, database, event_bus
from hilo.forgetting import (
    Erasures,
    erasing_services,
    erasures_of,
    forget_contact,
    wait_for_erasures,
)
from hilo.logs import masked
from hilo.phones import to_e164
from hilo.settings import HiloSettings

# Exit status when the contact is forgotten but some service has not confirmed its erasure
# within --wait (1 is a mistake of the person running the command).
NOT_ALL_CONFIRMED = 2


def erasures_table(erasures: Erasures) -> Table:
    table = Table("service", "rows", "files", "erased")
    for row in erasures.rows():
        done = row["erased"]
        table.add_row(
            row["service"],
            str(row["rows"]) if done else "—",
            str(row["files"]) if done else "—",
            "yes" if done else "not yet",
        )
    return table


def forget(settings: HiloSettings, raw: str, *, yes: bool, wait: float, as_json: bool) -> None:
    number = to_e164(raw)
    if not yes:
        typer.confirm(
            f"Forget the contact {masked(number)}? Their names, messages, transcripts, media"
            " and number become unreadable everywhere, for good.",
            abort=True,
        )
    outcome = asyncio.run(_forget(settings, number, wait))
    erasures: Erasures = outcome.pop("_erasures")
    if as_json:
        print(json.dumps(outcome, ensure_ascii=False))
    else:
        if outcome["already_forgotten"]:
            print(
                f"{masked(number)} was already forgotten ({outcome['forgotten_at']}):"
                " nothing changed"
            )
        else:
            print(f"forgot {masked(number)}: {outcome['keys_destroyed']} key(s) destroyed")
        render.console.print(erasures_table(erasures))
    if outcome["waiting_for"]:
        print(
            "not confirmed yet by: " + ", ".join(outcome["waiting_for"]) + " (each erases when"
            " it runs; run the command again to see)",
            file=sys.stderr,
        )
        raise typer.Exit(NOT_ALL_CONFIRMED)


async def _forget(settings: HiloSettings, number: str, wait: float) -> dict[str, Any]:
    async with database(settings) as pool:
        events = codec(settings, pool)
        async with event_bus(settings, events) as bus:
            forgetting = await forget_contact(
                number,
                requested_by=f"cli:{getpass.getuser()}",
                pool=pool,
                bus=bus,
                keys=events.keyring,
                pseudonym_of=events.stream_of,
            )
        event = forgetting.event
        erasures = Erasures(erasing_services())
        if forgetting.already_forgotten:
            erasures.answers = await erasures_of(pool, event.event_id)
        else:
            erasures = await wait_for_erasures(pool, event, timeout=wait)
    return {
        # Masked: output ends up in terminals' scrollback and CI logs.
        "contact": masked(number),
        "pseudonym": forgetting.pseudonym,
        "event_id": str(event.event_id),
        "forgotten_at": event.occurred_at.isoformat(),
        "requested_by": event.requested_by,
        "keys_destroyed": event.keys_destroyed,
        "already_forgotten": forgetting.already_forgotten,
        "erasures": erasures.rows(),
        "waiting_for": erasures.missing,
        "_erasures": erasures,
    }
