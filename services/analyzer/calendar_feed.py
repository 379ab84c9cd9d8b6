"""The calendar as an iCalendar feed (RFC 5545) that Google, Outlook and Apple subscribe to.

Pure: stored events in, bytes out. A timed event carries DTSTART/DTEND with its TZID
(and the matching VTIMEZONE); a day-only event is an all-day VALUE=DATE event. A
reschedule bumps SEQUENCE so clients replace their copy; a cancelled event stays in
the feed with STATUS:CANCELLED so subscribers remove it instead of keeping a stale copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import icalendar

from hilo.business_time import zone_or_utc
from services.analyzer.diff import StoredCalendarEvent

# Without a stated end: calls are short, other events an hour.
DEFAULT_LENGTH = {"call": timedelta(minutes=30)}
DEFAULT_MEETING_LENGTH = timedelta(hours=1)


def _vevent(event: StoredCalendarEvent, created: datetime, updated: datetime) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", f"{event.calendar_event_id}@hilo")
    vevent.add("dtstamp", updated.astimezone(UTC))
    vevent.add("created", created.astimezone(UTC))
    vevent.add("last-modified", updated.astimezone(UTC))
    if isinstance(event.start, datetime):
        zone = zone_or_utc(event.timezone)
        start = event.start.astimezone(zone)
        end = (
            event.end.astimezone(zone)
            if event.end
            else start + DEFAULT_LENGTH.get(event.kind, DEFAULT_MEETING_LENGTH)
        )
        vevent.add("dtstart", start)
        vevent.add("dtend", end)
    else:
        day: date = event.start
        vevent.add("dtstart", day)
        vevent.add("dtend", day + timedelta(days=1))
    vevent.add("summary", event.title)
    if event.location:
        vevent.add("location", event.location)
    vevent.add("sequence", event.sequence)
    vevent.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    vevent.add("categories", [event.kind])
    return vevent


def render(events: Sequence[tuple[StoredCalendarEvent, datetime, datetime]], name: str) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Hilo//Analyzer calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    # Clients poll; suggest hourly (RFC 7986 REFRESH-INTERVAL and the older X- property).
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for event, created, updated in events:
        calendar.add_component(_vevent(event, created, updated))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
