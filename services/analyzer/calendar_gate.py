"""Which calendar changes fit the business's calendar, and which tasks are still needed.

The gate the pipeline calls before it publishes (``pipeline.Gate``): a requested timed
slot is booked through the exclusion constraint of ``analyzer_bookings`` when it fits
(``slots.verdict``), and refused with the nearest free alternatives when it does not; a
refused change is neither published nor remembered. A re-analysis uses ``BookedOnly``:
it talks to no one, so it books nothing new and keeps only what the live analyzer booked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import asyncpg

from hilo.business import BusinessProfile, LoadedProfile
from services.analyzer.booking_store import AnsweredTasks, BookingStore
from services.analyzer.diff import CalendarChange, aware, calendar_event_id
from services.analyzer.knowledge import Knowledge, asked
from services.analyzer.models import Analysis, FollowUpTask
from services.analyzer.slots import Refusal, Verdict, free_slots, verdict

# How far around a requested slot the calendar is read for alternatives.
SEARCH_DAYS = 14


@dataclass(frozen=True)
class Burst:
    """What the desk reads of a burst: its messages and what the business said before."""

    id: uuid.UUID
    conversation: str
    texts: tuple[str, ...]
    at: datetime
    message_ids: tuple[uuid.UUID, ...]
    last_outbound: str | None


@dataclass(frozen=True)
class Version:
    loaded: LoadedProfile
    knowledge: Knowledge

    @property
    def profile(self) -> BusinessProfile:
        return self.loaded.profile


class Gate:
    """Lets through the calendar changes that fit, booking them; refuses the others."""

    def __init__(self, db: asyncpg.Pool, version: Version, burst: Burst) -> None:
        self.db = db
        self.version = version
        self.burst = burst
        self.bookings = BookingStore()

    async def __call__(
        self, changes: list[CalendarChange]
    ) -> tuple[list[CalendarChange], list[Refusal]]:
        passed: list[CalendarChange] = []
        refused: list[Refusal] = []
        for change in changes:
            refusal = await self._check(change)
            if refusal is None:
                passed.append(change)
            else:
                refused.append(refusal)
        return passed, refused

    async def needed(self, conversation: str, tasks: list[FollowUpTask]) -> list[FollowUpTask]:
        """A quote asked for a price the profile states was answered: no task for it."""
        db = self.db
        question = asked(self.version.knowledge, " ".join(self.burst.texts))
        priced = [s for s in question.prices if s.price] or (
            list(self.version.profile.services) if question.price_list else []
        )
        quotes = [t.key for t in tasks if t.type == "quote"]
        if priced and quotes:
            await AnsweredTasks().mark(db, conversation, quotes)
        return await AnsweredTasks().without_answered(db, conversation, tasks)

    async def preview(self, analysis: Analysis) -> Refusal | None:
        """The refusal the event being arranged (held back, time known) would meet; no booking."""
        standing = analysis.standing_events
        if not analysis.missing or not standing:
            return None
        event = standing[-1]
        start = aware(event.start, event.timezone)
        if not isinstance(start, datetime):
            return None
        length = self._length_of(
            event.title, start, aware(event.end, event.timezone) if event.end else None
        )
        end = start + length
        event_id = calendar_event_id(self.burst.conversation, event.key)
        taken = await self.bookings.taken_between(self.db, start, end, except_event=event_id)
        found = verdict(self.version.profile, start, end, taken, self.burst.at)
        if found == "fits":
            return None
        return await self._refusal(event.key, event.title, start, length, found)

    def _length(self, change: CalendarChange) -> timedelta:
        state = change.after
        end = state.end
        return self._length_of(state.title, state.start, end)

    def _length_of(self, title: str, start: object, end: object) -> timedelta:
        if isinstance(start, datetime) and isinstance(end, datetime) and end > start:
            return end - start
        said = " ".join((title, *self.burst.texts))
        named = self.version.knowledge.services_named(said)
        return self.version.profile.duration_of(named[0] if named else None)

    async def _check(self, change: CalendarChange) -> Refusal | None:
        db = self.db
        state = change.after
        if change.kind == "cancelled":
            await self.bookings.release(db, state.calendar_event_id)
            return None
        if change.kind == "details":
            return None
        profile = self.version.profile
        length = self._length(change)
        start = state.start
        if not isinstance(start, datetime):
            return await self._day_only(change, start, length)
        end = start + length
        taken = await self.bookings.taken_between(
            db, start, end, except_event=state.calendar_event_id
        )
        found: Verdict = verdict(profile, start, end, taken, self.burst.at)
        if found == "fits" and await self.bookings.try_claim(
            db,
            state.calendar_event_id,
            state.conversation,
            start,
            end,
            profile.booking.parallel,
        ):
            return None
        if found == "fits":
            found = "taken"  # another contact took it first
        return await self._refuse(change, start, length, found)

    async def _day_only(
        self, change: CalendarChange, day: date, length: timedelta
    ) -> Refusal | None:
        """A day without a time books nothing yet; only a day the business is closed is news."""
        profile = self.version.profile
        if profile.spans_on(day) or day < self.burst.at.astimezone(profile.zone).date():
            return None
        reason: Verdict = "closed_date" if day in profile.closed_dates else "closed_day"
        return await self._refuse(
            change, datetime.combine(day, time(12), profile.zone), length, reason
        )

    async def _refuse(
        self, change: CalendarChange, start: datetime, length: timedelta, reason: Verdict
    ) -> Refusal:
        return await self._refusal(change.after.key, change.after.title, start, length, reason)

    async def _refusal(
        self, key: str, title: str, start: datetime, length: timedelta, reason: Verdict
    ) -> Refusal:
        profile = self.version.profile
        now = self.burst.at
        around = max(start, now)
        taken = await self.bookings.taken_around(self.db, around, SEARCH_DAYS + 1)
        options = free_slots(profile, around, length, taken, now, horizon_days=SEARCH_DAYS)
        local = [o.astimezone(profile.zone) for o in options]
        return Refusal(
            key,
            title,
            start.astimezone(profile.zone),
            reason,
            tuple(local),
        )


class BookedOnly:
    """The gate of a re-analysis: it books nothing new, it only keeps what was booked.

    A re-analysis talks to no one, so it cannot offer alternatives; a timed event passes
    only when the live analyzer booked it at that time. Without any recorded profile
    version, bookings were never enforced and everything passes.
    """

    def __init__(self, db: asyncpg.Pool) -> None:
        self.db = db

    async def __call__(
        self, changes: list[CalendarChange]
    ) -> tuple[list[CalendarChange], list[Refusal]]:
        enforced = await self.db.fetchval(
            "SELECT EXISTS (SELECT 1 FROM analyzer_business_profile_history)"
        )
        if not enforced:
            return changes, []
        passed = []
        for change in changes:
            start = change.after.start
            if change.kind in ("scheduled", "rescheduled") and isinstance(start, datetime):
                booked = await self.db.fetchval(
                    "SELECT lower(during) FROM analyzer_bookings WHERE calendar_event_id = $1",
                    change.after.calendar_event_id,
                )
                if booked != start:
                    continue
            passed.append(change)
        return passed, []

    async def needed(self, conversation: str, tasks: list[FollowUpTask]) -> list[FollowUpTask]:
        return await AnsweredTasks().without_answered(self.db, conversation, tasks)
