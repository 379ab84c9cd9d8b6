"""A business profile written for each test, and the analyzer answering from it."""

from __future__ import annotations

import contextlib
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from hilo.bus import EventBus
from hilo.service import Runtime, Service
from hilo.settings import HiloSettings
from hilo.testing import Published, eventually, watching
from schemas import MessageReceived, utc_now
from services.analyzer.app import build
from services.analyzer.settings import AnalyzerSettings
from services.router.app import build as build_router
from services.router.settings import RouterSettings
from tests.analyzer.conftest import OUTPUT_TYPES, OpenAIStandIn, openai_standin, settled

MADRID = ZoneInfo("Europe/Madrid")
CONTACT = "+34600111222"
OTHER = "+34600333444"
BUSINESS = "+34910000000"

__all__ = ["OpenAIStandIn", "openai_standin"]  # the OpenAI-compatible stand-in, reused

WATCHED = (*OUTPUT_TYPES, "conversation.person_needed", "business.profile_loaded")


def next_weekday(weekday: int, after: date | None = None) -> date:
    """The first such weekday strictly after today (in Madrid), as the rules read "el lunes"."""
    day = (after or utc_now().astimezone(MADRID).date()) + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


# A weekday two weeks out is closed (a holiday); everything else is an ordinary week.
CLOSED = next_weekday(2, next_weekday(0) + timedelta(days=7))  # a Wednesday


def profile_yaml(*, price: str = "45 €", parallel: int = 1, closed: date = CLOSED) -> str:
    return textwrap.dedent(
        f"""\
        name: Clínica de Prueba
        timezone: Europe/Madrid
        languages: [es, en]
        address: "Calle Falsa 123, Madrid"
        hours:
          mon: ["09:00-14:00", "16:00-18:00"]
          tue: ["09:00-14:00", "16:00-18:00"]
          wed: ["09:00-14:00"]
          thu: ["09:00-14:00"]
          fri: ["09:00-14:00"]
          sat: ["10:00-13:00"]
        closed_dates: ["{closed.isoformat()}"]
        services:
          - name: {{es: Limpieza dental, en: Dental cleaning}}
            price: "{price}"
            duration_minutes: 45
        faq:
          - q: {{es: "¿Tenéis aparcamiento?", en: "Do you have parking?"}}
            a: {{es: "Sí, detrás de la clínica.", en: "Yes, behind the clinic."}}
        booking:
          slot_minutes: 30
          parallel: {parallel}
        """
    )


@pytest.fixture
def profile_file(tmp_path: Path) -> Path:
    path = tmp_path / "business.yaml"
    path.write_text(profile_yaml(), encoding="utf-8")
    return path


@pytest_asyncio.fixture
async def published(bus: EventBus) -> AsyncIterator[Published]:
    async with watching(bus, WATCHED, Published()) as seen:
        yield seen


Started = contextlib.AbstractAsyncContextManager[tuple[Service, Runtime]]


@pytest_asyncio.fixture
async def clinic(
    settings: HiloSettings, profile_file: Path, tmp_path: Path
) -> Callable[..., Started]:
    """The analyzer answering from ``profile_file`` (with the router that gives it the
    messages it answers); keyword arguments override the analyzer's settings."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[tuple[Service, Runtime]]:
        values: dict[str, Any] = {
            "_env_file": None,
            "hilo_analyzer": "rules",
            "hilo_business_file": str(profile_file),
            "analyzer_burst_seconds": 0.0,
            "analyzer_reply_max_age_hours": 0,
        }
        values.update(overrides)
        service = build(AnalyzerSettings(**values))
        router = build_router(RouterSettings(_env_file=None, hilo_flows_dir=tmp_path / "none"))
        async with router.running(settings, http=False), service.running(settings) as runtime:
            yield service, runtime

    return start


def message(text: str, contact: str = CONTACT, at: datetime | None = None) -> MessageReceived:
    return MessageReceived(
        conversation=contact,
        occurred_at=at or utc_now(),
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        business_number=BUSINESS,
        contact_name="Ana Ruiz",
        text=text,
    )


@dataclass
class Chat:
    """One contact talking to the running analyzer, reply by reply."""

    bus: EventBus
    published: Published
    runtime: Runtime
    contact: str = CONTACT

    async def say(self, text: str) -> str:
        """Send a message and wait for its reply."""
        before = len(self.published.distinct("reply.ready", self.contact))
        await self.bus.publish(message(text, self.contact))
        replies = await self.published.wait_for(
            "reply.ready", self.contact, count=before + 1, timeout=20
        )
        return str(replies[before].text)

    async def say_unanswered(self, text: str) -> MessageReceived:
        """Send a message and wait until the analyzer has handled it (answered or not)."""
        sent = message(text, self.contact)
        await self.bus.publish(sent)

        async def handled() -> bool:
            # Its own row processed: routed, read, and answered or not.
            done = await self.runtime.db.fetchval(
                "SELECT bool_and(processed_at IS NOT NULL) FROM analyzer_inbox"
                " WHERE message_id = $1",
                sent.event_id,
            )
            return bool(done)

        await eventually(handled, timeout=90)
        await settled(self.runtime, self.bus)
        return sent

    def replies(self) -> list[Any]:
        return self.published.distinct("reply.ready", self.contact)
