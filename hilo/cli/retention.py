"""`hilo retention run [--dry-run]`: wiring for the transcriber's retention job.

The job lives in `services/transcriber/expiry.py` (the transcriber runs it on a timer);
this connects to the servers and prints what it did, or would do. Its events go through
the transcriber's outbox, so a row this command could not publish is published by the
transcriber's relay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from hilo.cli.connect import codec, database, event_bus
from hilo.errors import UserError
from hilo.outbox import Outbox
from hilo.settings import HiloSettings
from schemas import utc_now
from services.transcriber.expiry import RetentionJob
from services.transcriber.retention import RetentionReport
from services.transcriber.settings import TranscriberSettings
from services.transcriber.storage import AudioStore


def run(
    settings: HiloSettings, dry_run: bool, *, clock: Callable[[], datetime] = utc_now
) -> RetentionReport:
    try:
        transcriber = TranscriberSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise UserError(f"retention settings: {problems}") from None
    report = asyncio.run(_main(settings, transcriber, dry_run, clock))
    for line in report.lines():
        print(line)
    if report.skipped:
        raise UserError("another retention run holds the lock (a transcriber); try again later")
    return report


async def _main(
    settings: HiloSettings,
    transcriber: TranscriberSettings,
    dry_run: bool,
    clock: Callable[[], datetime],
) -> RetentionReport:
    async with database(settings) as pool:
        audio = AudioStore(settings.data_dir / "audio")
        policy = transcriber.retention
        opener = codec(settings, pool)
        if dry_run or policy.keeps_everything:
            # Nothing is published: no NATS needed (and none touched).
            job = RetentionJob(pool, None, audio, policy, opener, clock=clock)
            return await job.run(dry_run=dry_run)
        async with event_bus(settings, opener) as bus:
            outbox = Outbox("transcriber", pool, bus)
            job = RetentionJob(pool, outbox, audio, policy, opener, clock=clock)
            return await job.run()
