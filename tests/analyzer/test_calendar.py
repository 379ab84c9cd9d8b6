"""The iCalendar feed, rendered and parsed back with `icalendar`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from services.analyzer.calendar_feed import render
from services.analyzer.diff import StoredCalendarEvent

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 18, 9, tzinfo=UTC)


def stored(**fields: object) -> StoredCalendarEvent:
    values: dict[str, object] = {
        "calendar_event_id": uuid.uuid4(),
        "conversation": "+34600111222",
        "key": "m1",
        "title": "Revisión del proyecto",
        "start": datetime(2026, 11, 20, 10, tzinfo=MADRID),
        "end": None,
        "timezone": "Europe/Madrid",
        "location": None,
        "kind": "meeting",
        "status": "standing",
    }
    values.update(fields)
    return StoredCalendarEvent(**values)  # type: ignore[arg-type]


def parsed(*events: StoredCalendarEvent) -> icalendar.Calendar:
    body = render([(e, NOW, NOW + timedelta(minutes=5)) for e in events], "Hilo")
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    return icalendar.Calendar.from_ical(body)


def test_a_timed_event_has_its_zone_an_end_and_a_stable_uid() -> None:
    event = stored(location="Oficina central")
    calendar = parsed(event)
    assert str(calendar["version"]) == "2.0" and calendar["prodid"]
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["uid"]) == f"{event.calendar_event_id}@hilo"
    start = vevent.decoded("dtstart")
    assert start == datetime(2026, 11, 20, 10, tzinfo=MADRID)
    assert vevent["dtstart"].params["TZID"] == "Europe/Madrid"
    assert vevent.decoded("dtend") - start == timedelta(hours=1)
    assert str(vevent["summary"]) == "Revisión del proyecto"
    assert str(vevent["location"]) == "Oficina central"
    assert vevent.decoded("sequence") == 0 and str(vevent["status"]) == "CONFIRMED"
    assert vevent.decoded("dtstamp") == NOW + timedelta(minutes=5)
    # The zone is described in the file for clients that need it.
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Madrid"]


def test_a_stated_end_and_a_call_default_length() -> None:
    ending = stored(end=datetime(2026, 11, 20, 11, 30, tzinfo=MADRID))
    call = stored(kind="call")
    first, second = parsed(ending, call).walk("VEVENT")
    assert first.decoded("dtend") == datetime(2026, 11, 20, 11, 30, tzinfo=MADRID)
    assert second.decoded("dtend") - second.decoded("dtstart") == timedelta(minutes=30)


def test_a_day_only_event_is_an_all_day_event() -> None:
    [vevent] = parsed(stored(start=date(2026, 11, 20))).walk("VEVENT")
    assert (
        vevent["dtstart"].params.get("VALUE") == "DATE" or "VALUE=DATE" in vevent.to_ical().decode()
    )
    assert vevent.decoded("dtstart") == date(2026, 11, 20)
    assert vevent.decoded("dtend") == date(2026, 11, 21)


def test_a_rescheduled_event_bumps_its_sequence_and_a_cancelled_one_says_so() -> None:
    moved, cancelled = parsed(stored(sequence=2), stored(sequence=1, status="cancelled")).walk(
        "VEVENT"
    )
    assert moved.decoded("sequence") == 2
    assert str(cancelled["status"]) == "CANCELLED" and cancelled.decoded("sequence") == 1


def test_an_empty_calendar_is_still_a_valid_calendar() -> None:
    assert parsed().walk("VEVENT") == []
