"""The calendar and the analytics, read from the read models."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from services.inbox import analytics, queries
from services.inbox.auth import Admin, CurrentOperator
from services.inbox.models import Analytics, CalendarPage
from services.inbox.routes.common import AUTH_ERRORS, contact_key
from services.inbox.routes.shapes import calendar_event_out
from services.inbox.state import Inbox, inbox

router = APIRouter(responses=AUTH_ERRORS)
State = Annotated[Inbox, Depends(inbox)]
# Analytics over more than this many days at once is refused (the answer lists every day).
MAX_RANGE_DAYS = 3660


def _moment(value: datetime | date | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time.min, UTC)


@router.get("/calendar", response_model=CalendarPage, tags=["calendar"])
async def calendar(
    _: CurrentOperator,
    state: State,
    since: Annotated[
        datetime | date | None, Query(alias="from", description="from this day or instant")
    ] = None,
    until: Annotated[
        datetime | date | None, Query(alias="to", description="before this day or instant")
    ] = None,
    contact: str | None = None,
) -> CalendarPage:
    start, end = _moment(since), _moment(until)
    if start and end and end < start:
        raise HTTPException(422, detail="`to` is before `from`")
    rows = await queries.calendar(
        state.runtime.db,
        since=start,
        until=end,
        contact=contact_key(contact) if contact else None,
    )
    return CalendarPage(items=[calendar_event_out(r) for r in rows])


@router.get("/analytics", response_model=Analytics, tags=["analytics"])
async def get_analytics(
    _: Admin,
    state: State,
    since: Annotated[date | None, Query(alias="from", description="first day (UTC)")] = None,
    until: Annotated[date | None, Query(alias="to", description="last day (UTC), included")] = None,
) -> Analytics:
    last = until or datetime.now(UTC).date()
    first = since or last - timedelta(days=29)
    if last < first:
        raise HTTPException(422, detail="`to` is before `from`")
    if (last - first).days > MAX_RANGE_DAYS:
        raise HTTPException(422, detail=f"at most {MAX_RANGE_DAYS} days at once")
    counters = [
        (r["day"], r["metric"], r["dimension"], int(r["value"]))
        for r in await queries.daily(state.runtime.db, first, last)
    ]
    responses = [dict(r) for r in await queries.response_times(state.runtime.db, first, last)]
    return analytics.assemble(first, last, counters, responses)
