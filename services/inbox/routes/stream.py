"""GET /api/stream: server-sent events, fed from NATS, for what the caller's role may see.

A core-NATS subscription sees every publish as it happens (JetStream keeps the durable
copy); a page that was away reloads through the API, so nothing here needs to be durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from nats.aio.msg import Msg
from sse_starlette.sse import EventSourceResponse

from hilo.privacy.sealing import Opened
from schemas import EventDecodeError
from services.inbox import feed
from services.inbox.auth import CurrentOperator
from services.inbox.routes.common import AUTH_ERRORS
from services.inbox.state import Inbox, inbox

router = APIRouter(tags=["stream"], responses=AUTH_ERRORS)
# A page that cannot keep up loses the oldest news, not the connection.
QUEUE_SIZE = 1000
PING_SECONDS = 15


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "one event a change"}},
)
async def stream(operator: CurrentOperator, state: Annotated[Inbox, Depends(inbox)]) -> Any:
    bus = state.runtime.bus
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue(QUEUE_SIZE)

    async def keep(msg: Msg) -> None:
        # Events travel sealed: opened here with the service's keys; a forgotten contact's
        # events (or a broken one) show nothing.
        try:
            opened = await bus.open_json(msg.data)
        except EventDecodeError:
            return
        if not isinstance(opened, Opened):
            return
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(feed.item(opened.data))

    subscriptions = [
        await bus.nc.subscribe(bus.naming.type_filter(t), cb=keep)
        for t in sorted(feed.visible_types(operator.role))
    ]
    # The server has the subscriptions once a flush returns: "ready" then means listening.
    await bus.nc.flush()

    async def events() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "ready", "data": json.dumps({"operator": operator.label})}
            while True:
                news = await queue.get()
                yield {
                    "event": str(news["type"]),
                    "id": str(news["event_id"]),
                    "data": json.dumps(news, ensure_ascii=False, default=str),
                }
        finally:
            for subscription in subscriptions:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()

    return EventSourceResponse(events(), ping=PING_SECONDS)
