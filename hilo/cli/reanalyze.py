"""`hilo reanalyze [--contact C]`: wiring for the analyzer's own re-analysis.

The logic lives in `services/analyzer/reanalyze.py`; this connects to the servers, builds
the configured backend and draws the progress bar.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hilo.bus import EventBus
from hilo.cli.connect import codec, database, event_bus
from hilo.errors import UserError
from hilo.settings import HiloSettings
from services.analyzer import reanalyze as analyzer_reanalyze
from services.analyzer.backends import Backend, BackendUnavailable
from services.analyzer.choose_backend import make_backend
from services.analyzer.reanalyze import Totals
from services.analyzer.settings import AnalyzerSettings


def reanalyze(settings: HiloSettings, contact: str | None) -> Totals:
    analyzer = AnalyzerSettings()
    try:
        backend = make_backend(analyzer)
    except BackendUnavailable as exc:
        raise UserError(str(exc)) from exc
    totals = asyncio.run(_main(settings, analyzer, backend, contact))
    print(
        f"reanalysed {totals.analysed} of {totals.conversations} conversation(s): "
        f"{totals.calendar_changes} calendar change(s), {totals.task_changes} task change(s)",
        file=sys.stderr,
    )
    return totals


async def _main(
    settings: HiloSettings, analyzer: AnalyzerSettings, backend: Backend, contact: str | None
) -> Totals:
    try:
        async with database(settings) as pool, event_bus(settings, codec(settings, pool)) as bus:
            return await run(pool, bus, settings, analyzer, backend, contact)
    finally:
        await backend.close()


async def run(
    pool: asyncpg.Pool,
    bus: EventBus,
    settings: HiloSettings,
    analyzer: AnalyzerSettings,
    backend: Backend,
    contact: str | None,
    *,
    show_progress: bool = True,
) -> Totals:
    columns = (TextColumn("reanalysing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, disable=not show_progress, transient=False) as progress:
        task = progress.add_task("reanalyse", total=None)
        return await analyzer_reanalyze.reanalyze(
            pool,
            bus,
            settings,
            analyzer,
            backend,
            contact,
            on_start=lambda total: progress.update(task, total=total),
            on_conversation=lambda: progress.advance(task),
        )
