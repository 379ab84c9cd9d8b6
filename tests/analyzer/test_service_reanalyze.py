"""`hilo reanalyze`: stored conversations through the current analyzer, diffed, never answered."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from hilo.bus import EventBus
from hilo.cli.errors import UserError
from hilo.cli.reanalyze import reanalyze, run
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore
from hilo.testing import Published
from services.analyzer.backends import RulesBackend
from services.analyzer.settings import AnalyzerSettings
from tests.analyzer.conftest import CUSTOMER, AnalyzerFactory, settled, text_message
from tests.analyzer.test_service import FRIDAY_10, NOW, SEED

OTHER = "+573001110000"


async def test_reanalyze_publishes_only_what_changed_and_never_replies(
    bus: EventBus,
    pool: asyncpg.Pool,
    store: EventStore,
    settings: HiloSettings,
    published: Published,
) -> None:
    # Stored history the analyzer never saw (it was not running).
    await store.append([text_message(t, NOW + timedelta(minutes=i)) for i, t in enumerate(SEED)])
    await store.append([text_message("Hola", NOW, conversation=OTHER)])
    config = AnalyzerSettings(_env_file=None, hilo_business_file="")  # as the live fixture
    backend = RulesBackend()

    first = await run(pool, bus, settings, config, backend, None, show_progress=False)
    [scheduled] = await published.wait_for("calendar_event.scheduled")
    await published.wait_for("intent.detected", count=2)
    second = await run(pool, bus, settings, config, backend, CUSTOMER, show_progress=False)

    assert (first.conversations, first.analysed, first.calendar_changes) == (2, 2, 1)
    assert (second.conversations, second.calendar_changes, second.task_changes) == (1, 0, 0)
    assert scheduled.start == FRIDAY_10 and scheduled.conversation == CUSTOMER
    assert published.distinct("reply.ready") == []
    # The same conclusion again is the same intent event: nothing new.
    assert len(published.distinct("intent.detected")) == 2
    with pytest.raises(UserError, match="no stored messages"):
        await run(pool, bus, settings, config, backend, "+573009990000", show_progress=False)


async def test_reanalyze_after_the_live_service_adds_nothing(
    analyzer: AnalyzerFactory,
    bus: EventBus,
    pool: asyncpg.Pool,
    store: EventStore,
    settings: HiloSettings,
    published: Published,
) -> None:
    messages = [text_message(t, NOW + timedelta(minutes=i)) for i, t in enumerate(SEED)]
    async with analyzer() as (_service, runtime):
        for message in messages:
            await bus.publish(message)
        await published.wait_for("calendar_event.scheduled")
        await settled(runtime, bus)
    await store.append(messages)
    totals = await run(
        pool, bus, settings, AnalyzerSettings(_env_file=None, hilo_business_file=""),
        RulesBackend(), None,
        show_progress=False,
    )  # fmt: skip
    assert (totals.calendar_changes, totals.task_changes) == (0, 0)
    assert len(published.distinct("calendar_event.scheduled")) == 1


async def test_reanalyze_reads_dates_in_the_business_profiles_zone_as_the_live_analyzer_does(
    bus: EventBus,
    pool: asyncpg.Pool,
    store: EventStore,
    settings: HiloSettings,
    published: Published,
    tmp_path: Path,
) -> None:
    """The profile's zone comes first (the live analyzer's rule); a reanalysis that read the
    dates in the business number's zone moved events and due dates near midnight."""
    profile = tmp_path / "business.yaml"
    profile.write_text("name: Estudio Tokio\ntimezone: Asia/Tokyo\n", encoding="utf-8")
    await store.append([text_message(t, NOW + timedelta(minutes=i)) for i, t in enumerate(SEED)])
    config = AnalyzerSettings(_env_file=None, hilo_business_file=str(profile))

    await run(pool, bus, settings, config, RulesBackend(), None, show_progress=False)

    [scheduled] = await published.wait_for("calendar_event.scheduled")
    assert scheduled.timezone == "Asia/Tokyo"
    assert scheduled.start == friday_at_ten(ZoneInfo("Asia/Tokyo"), NOW)
    broken = AnalyzerSettings(_env_file=None, hilo_business_file=str(tmp_path / "missing.yaml"))
    with pytest.raises(UserError, match=r"missing\.yaml"):
        await run(pool, bus, settings, broken, RulesBackend(), None, show_progress=False)


def friday_at_ten(zone: ZoneInfo, said_at: datetime) -> datetime:
    """ "El viernes" said at ``said_at``: the first Friday strictly after that day there."""
    day = said_at.astimezone(zone).date() + timedelta(days=1)
    while day.weekday() != 4:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, tzinfo=zone)


def test_reanalyze_says_clearly_when_the_servers_are_unreachable(settings: HiloSettings) -> None:
    unreachable = settings.model_copy(update={"nats_url": "nats://127.0.0.1:9"})
    with pytest.raises(UserError, match="cannot reach NATS"):
        reanalyze(unreachable, None)
