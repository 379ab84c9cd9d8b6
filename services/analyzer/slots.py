"""Whether a requested appointment fits the business's calendar, and what fits instead: pure.

A slot fits when it starts in the future, lies inside one opening span of a day that is
not a closed date, and overlaps fewer than ``booking.parallel`` booked appointments.
The check here only *chooses*; the booking itself is taken by a PostgreSQL exclusion
constraint (``booking_store.py``), so two contacts racing for the last chair cannot
both get it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from hilo.business import BusinessProfile

Verdict = Literal["fits", "past", "closed_date", "closed_day", "outside_hours", "taken"]

Interval = tuple[datetime, datetime]


def overlapping(start: datetime, end: datetime, taken: Sequence[Interval]) -> int:
    return sum(1 for s, e in taken if s < end and start < e)


def verdict(
    profile: BusinessProfile,
    start: datetime,
    end: datetime,
    taken: Sequence[Interval],
    now: datetime,
) -> Verdict:
    if start < now:
        return "past"
    day = start.astimezone(profile.zone).date()
    if day in profile.closed_dates:
        return "closed_date"
    if not profile.spans_on(day):
        return "closed_day"
    if not profile.is_open_between(start, end):
        return "outside_hours"
    if overlapping(start, end, taken) >= profile.booking.parallel:
        return "taken"
    return "fits"


def free_slots(
    profile: BusinessProfile,
    around: datetime,
    length: timedelta,
    taken: Sequence[Interval],
    now: datetime,
    *,
    count: int = 3,
    horizon_days: int = 14,
) -> list[datetime]:
    """The ``count`` free starts nearest to ``around`` (either side, future only), in order.

    Starts fall on the ``slot_minutes`` grid of each opening span, and the appointment
    must end inside the span.
    """
    zone = profile.zone
    step = timedelta(minutes=profile.booking.slot_minutes)
    first_day = max(around.astimezone(zone).date() - timedelta(days=horizon_days), now.date())
    candidates: list[datetime] = []
    for offset in range(2 * horizon_days + 1):
        day = first_day + timedelta(days=offset)
        for span in profile.spans_on(day):
            start = datetime.combine(day, span.start, zone)
            closes = datetime.combine(day, span.end, zone)
            while start + length <= closes:
                if start > now and overlapping(start, start + length, taken) < (
                    profile.booking.parallel
                ):
                    candidates.append(start)
                start += step
    nearest = sorted(candidates, key=lambda s: (abs((s - around).total_seconds()), s))[:count]
    return sorted(nearest)


@dataclass(frozen=True)
class Refusal:
    """A requested appointment that was not booked, and what the contact may pick instead."""

    key: str
    title: str
    requested: datetime
    reason: Verdict
    alternatives: tuple[datetime, ...]
