"""HTTP: the iCalendar feed, `GET /calendar/{business}.ics`."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from hilo.service import Runtime
from services.analyzer import calendar_feed, ledger
from services.analyzer.booking_store import BookingStore
from services.analyzer.conversation_log import business_digits
from services.analyzer.settings import AnalyzerSettings

router = APIRouter()


@router.get("/calendar/{business}.ics", response_model=None)
async def calendar(business: str, request: Request, token: str | None = None) -> Response:
    """`default`: every event; otherwise the events of one business number (digits)."""
    runtime: Runtime = request.app.state.service.runtime
    settings: AnalyzerSettings = runtime.state["settings"]
    expected = settings.analyzer_calendar_token
    if expected and not secrets.compare_digest(token or "", expected):
        return JSONResponse({"error": "forbidden", "detail": "a valid token is needed"}, 403)
    if business == "default":
        number = None
    else:
        number = business_digits(business)
        if (
            number is None
            or number != business.lstrip("+")
            or not await ledger.business_known(runtime.db, number)
        ):
            return JSONResponse(
                {"error": "not_found", "detail": "no such business; use `default` or its digits"},
                404,
            )
    events = await ledger.calendar(runtime.db, number)
    # Business hook (issue 19): a booked appointment lasts what its service lasts.
    events = await BookingStore().with_booked_ends(runtime.db, events)
    body = calendar_feed.render(events, "Hilo" if number is None else f"Hilo {number[-4:]}")
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{business}.ics"'},
    )
