"""Rows of the read models as response models."""

from __future__ import annotations

import asyncpg

from services.inbox.models import CalendarEventOut


def calendar_event_out(row: asyncpg.Record) -> CalendarEventOut:
    return CalendarEventOut(
        calendar_event_id=row["calendar_event_id"],
        contact=row["contact"],
        title=row["title"],
        start=row["start_at"] or row["start_date"],
        end=row["end_at"],
        timezone=row["timezone"],
        location=row["location"],
        kind=row["kind"],
        status=row["status"],
    )
