"""Events in, events out. Replies and inbound messages share ONE consumer so that each
conversation's stream order alone decides the window, opt-outs and reply order."""

from __future__ import annotations

from hilo.service import Context, Runtime
from schemas import Event, MessageReceived, ReplyReady
from services.notifier.delivery import Notifier

HANDLED_EVENTS = (ReplyReady, MessageReceived)


def _notifier(runtime: Runtime) -> Notifier:
    notifier = runtime.state["notifier"]
    assert isinstance(notifier, Notifier)
    return notifier


async def on_event(event: Event, ctx: Context) -> None:
    notifier = _notifier(ctx.runtime)
    if isinstance(event, ReplyReady):
        await notifier.on_reply(event)
    elif isinstance(event, MessageReceived):
        await notifier.on_message(event)
