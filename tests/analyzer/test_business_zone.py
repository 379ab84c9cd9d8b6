"""Dates are read and events placed in the business's time zone, not the contact's."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from hilo.testing import Published
from schemas import utc_now
from services.analyzer.app import build
from services.analyzer.settings import AnalyzerSettings
from services.router.app import build as build_router
from services.router.settings import RouterSettings
from tests.analyzer.conftest import settled, text_message

SEED = ("Quiero agendar una reunión", "El viernes a las 10", "Revisión del proyecto")
SPAIN = "+34600111222"  # the contact: Spain has two zones, so it could decide nothing anyway
PERU_BUSINESS = "+51987654321"


def friday_at_ten(zone: ZoneInfo) -> datetime:
    day = utc_now().astimezone(zone).date() + timedelta(days=1)
    while day.weekday() != 4:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 10, tzinfo=zone)


async def schedule(
    settings: HiloSettings, bus: EventBus, published: Published, flows: Path
) -> tuple[Any, bytes]:
    config = AnalyzerSettings(
        hilo_analyzer="rules",
        analyzer_burst_seconds=0,
        analyzer_reply_max_age_hours=0,
        hilo_business_file="",  # no profile: its zone would come first
    )
    service = build(config)
    # The router assigns each message to the analyzer, as in the stack.
    router = build_router(RouterSettings(hilo_flows_dir=flows))
    async with router.running(settings, http=False), service.running(settings) as runtime:
        for text in SEED:
            message = text_message(text, conversation=SPAIN)
            await bus.publish(message.model_copy(update={"business_number": PERU_BUSINESS}))
        [scheduled] = await published.wait_for("calendar_event.scheduled", SPAIN)
        await settled(runtime, bus)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.http_port}") as http:
            feed = (await http.get("/calendar/default.ics")).content
    return scheduled, feed


async def test_the_business_number_places_the_event_when_hilo_timezone_is_unset(
    settings: HiloSettings, bus: EventBus, published: Published, tmp_path: Path
) -> None:
    scheduled, feed = await schedule(settings, bus, published, tmp_path / "no-flows")
    lima = ZoneInfo("America/Lima")
    assert scheduled.timezone == "America/Lima"
    assert scheduled.start == friday_at_ten(lima)
    [vevent] = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    assert vevent["dtstart"].params["TZID"] == "America/Lima"
    assert vevent.decoded("dtstart").utcoffset() == timedelta(hours=-5)


async def test_hilo_timezone_wins_over_the_number(
    settings: HiloSettings, bus: EventBus, published: Published, tmp_path: Path
) -> None:
    madrid = settings.model_copy(update={"timezone": "Europe/Madrid"})
    scheduled, _ = await schedule(madrid, bus, published, tmp_path / "no-flows")
    assert scheduled.timezone == "Europe/Madrid"
    assert scheduled.start == friday_at_ten(ZoneInfo("Europe/Madrid"))


async def test_utc_by_default_is_said_at_start_up(
    settings: HiloSettings, caplog: pytest.LogCaptureFixture
) -> None:
    service = build(
        AnalyzerSettings(hilo_analyzer="rules", twilio_whatsapp_from=None, hilo_business_file="")
    )
    with caplog.at_level(logging.WARNING, logger="services.analyzer.app"):
        async with service.running(settings, http=False):
            pass
    assert any("HILO_TIMEZONE is not set" in r.getMessage() for r in caplog.records)

    caplog.clear()
    lima = build(
        AnalyzerSettings(
            hilo_analyzer="rules", twilio_whatsapp_from=PERU_BUSINESS, hilo_business_file=""
        )
    )
    with caplog.at_level(logging.WARNING, logger="services.analyzer.app"):
        async with lima.running(settings, http=False):
            pass
    assert not any("HILO_TIMEZONE" in r.getMessage() for r in caplog.records)
