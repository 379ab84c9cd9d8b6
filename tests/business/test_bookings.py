"""Bookings that fit the business's calendar, on real NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path

import httpx
import icalendar

from hilo.bus import EventBus
from hilo.testing import Published
from services.analyzer.replies import describe_when
from tests.analyzer.conftest import settled
from tests.business.conftest import (
    CLOSED,
    CONTACT,
    MADRID,
    OTHER,
    Chat,
    Started,
    message,
    next_weekday,
    profile_yaml,
)

TUESDAY = next_weekday(1)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(TUESDAY, time(hour, minute), MADRID)


async def test_an_out_of_hours_request_is_not_booked_and_a_pick_books_an_alternative(
    clinic: Callable[..., Started], bus: EventBus, published: Published
) -> None:
    async with clinic() as (service, runtime):
        chat = Chat(bus, published, runtime)
        refused = await chat.say("Quiero pedir cita para una limpieza el martes a las 15")
        nothing_booked = published.distinct("calendar_event.scheduled")
        booked = await chat.say("La segunda opción")
        [scheduled] = await published.wait_for("calendar_event.scheduled")
        await chat.say_unanswered("¡Perfecto, gracias!")  # nothing owed: no booking restated
        bookings = await runtime.db.fetch("SELECT lane, during FROM analyzer_bookings")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.http_port}") as http:
            feed = await http.get("/calendar/default.ics")

    assert nothing_booked == []
    assert len(chat.replies()) == 2
    assert "fuera de nuestro horario" in refused
    # The nearest free starts around 15:00 for a 45-minute cleaning on the 30-minute grid:
    # 13:00 (13:30 would end after 14:00), then 16:00 and 16:30.
    offered = [describe_when(at(h, m), "es") for h, m in ((13, 0), (16, 0), (16, 30))]
    assert all(o in refused for o in offered), refused
    assert scheduled.start == at(16, 0)
    assert describe_when(at(16, 0), "es") in booked
    [row] = bookings
    assert (row["during"].lower, row["during"].upper) == (at(16, 0), at(16, 45))
    # The feed shows the booked appointment only, lasting the cleaning's 45 minutes.
    [vevent] = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert vevent.decoded("dtstart") == at(16, 0) and vevent.decoded("dtend") == at(16, 45)


async def test_a_slot_that_does_not_fit_is_refused_before_its_topic_is_asked(
    clinic: Callable[..., Started], bus: EventBus, published: Published
) -> None:
    async with clinic() as (_, runtime):
        refused = await Chat(bus, published, runtime).say("Quiero una cita el sábado a las 18")

    assert "fuera de nuestro horario" in refused and "tema" not in refused
    assert published.distinct("calendar_event.scheduled") == []


async def test_two_contacts_racing_for_one_slot_exactly_one_gets_it(
    clinic: Callable[..., Started], bus: EventBus, published: Published
) -> None:
    async with clinic() as (_, runtime):
        text = "Quiero pedir cita para una limpieza el martes a las 10"
        await asyncio.gather(bus.publish(message(text, CONTACT)), bus.publish(message(text, OTHER)))
        replies = await published.wait_for("reply.ready", count=2, timeout=20)
        await settled(runtime, bus)
        bookings = await runtime.db.fetch("SELECT conversation, during FROM analyzer_bookings")

    [scheduled] = published.distinct("calendar_event.scheduled")
    assert scheduled.start == at(10, 0)
    [row] = bookings
    assert row["conversation"] == scheduled.conversation
    by_contact = {r.conversation: r.text for r in replies}
    loser = OTHER if scheduled.conversation == CONTACT else CONTACT
    assert "ya está ocupado" in by_contact[loser]
    assert describe_when(at(10, 0), "es") in by_contact[scheduled.conversation]
    # The loser is offered the nearest free slots: not 10:00 itself.
    assert (
        describe_when(at(10, 30), "es") in by_contact[loser]
        or describe_when(at(9, 0), "es") in by_contact[loser]
    )


async def test_a_closed_date_and_a_full_slot_with_parallel_chairs(
    clinic: Callable[..., Started],
    bus: EventBus,
    published: Published,
    profile_file: Path,
) -> None:
    await asyncio.to_thread(profile_file.write_text, profile_yaml(parallel=2), "utf-8")
    async with clinic() as (_, runtime):
        closed = await Chat(bus, published, runtime, "+34600000001").say(
            f"Quiero una cita para una limpieza {describe_when(CLOSED, 'es')} a las 10"
        )
        for n in (2, 3):
            await Chat(bus, published, runtime, f"+3460000000{n}").say(
                "Quiero una cita para una limpieza el martes a las 11"
            )
        full = await Chat(bus, published, runtime, "+34600000004").say(
            "Quiero una cita para una limpieza el martes a las 11"
        )
        lanes = await runtime.db.fetch("SELECT lane FROM analyzer_bookings ORDER BY lane")

    assert "estamos cerrados" in closed
    assert "ya está ocupado" in full
    assert [r["lane"] for r in lanes] == [0, 1]
    assert len(published.distinct("calendar_event.scheduled")) == 2
