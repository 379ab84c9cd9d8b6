"""Facts in, decisions out: one transaction per fact (tracking, holder, outbox rows).

Every fact arrives on ONE consumer, so each conversation's stream order alone decides
what a message meets. A fact this consumer has handled (a redelivery, a replay) is
skipped by its tracking record: the decision it caused is never taken again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hilo.service import Context, Runtime
from schemas import (
    CallEnded,
    ContactOptedIn,
    ContactOptedOut,
    ConversationHandbackRequested,
    ConversationTakeoverRequested,
    Event,
    FlowSessionAbandoned,
    FlowSessionCompleted,
    FlowSessionFailed,
    FlowSessionReset,
    FlowSessionStarted,
    FlowStartRequested,
    MessageReceived,
    derived_id,
    utc_now,
)
from services.router import routing
from services.router.routing import Decision, Holder, Policy
from services.router.store import RouterStore

log = logging.getLogger(__name__)

Decide = Callable[[Holder, Any, Policy], Decision]

# The routing table, by fact (README.md).
DECIDERS: dict[type[Event], Decide] = {
    MessageReceived: routing.route_message,
    CallEnded: routing.on_call_ended,
    FlowStartRequested: routing.on_flow_start_requested,
    FlowSessionStarted: routing.on_flow_started,
    FlowSessionCompleted: routing.on_flow_ended,
    FlowSessionAbandoned: routing.on_flow_ended,
    FlowSessionFailed: routing.on_flow_ended,
    FlowSessionReset: routing.on_flow_ended,
    ConversationTakeoverRequested: routing.on_takeover,
    ConversationHandbackRequested: routing.on_handback,
    ContactOptedOut: routing.on_opted_out,
    ContactOptedIn: routing.on_opted_in,
}
HANDLED_EVENTS = tuple(DECIDERS)


@dataclass(frozen=True)
class RouterState:
    policy: Policy
    store: RouterStore


def _state(runtime: Runtime) -> RouterState:
    state = runtime.state["router"]
    assert isinstance(state, RouterState)
    return state


async def on_fact(event: Event, ctx: Context) -> None:
    decide = DECIDERS.get(type(event))
    if decide is None:
        return
    router = _state(ctx.runtime)
    async with ctx.transaction() as tx:
        if not await tx.track():
            return  # decided before: a redelivery or a replay re-reads, never re-decides
        if isinstance(event, MessageReceived) and await router.store.in_event_store(
            tx.conn, derived_id(event.event_id, "router.routed")
        ):
            return  # decided by an earlier installation whose rows are gone
        holder = await router.store.hold(tx.conn, event.conversation)
        decision = decide(holder, event, router.policy)
        if decision.holder != holder:
            await router.store.save(tx.conn, event.conversation, decision.holder)
        for decided in decision.events:
            await tx.publish(decided)


async def expire_quiet(runtime: Runtime, sweep_seconds: float) -> None:
    """Give conversations whose mode timed out back to automatic answering."""
    import asyncio

    router = _state(runtime)
    while True:
        try:
            now = utc_now()
            for conversation in await router.store.expired(runtime.db, now):
                async with runtime.transaction() as tx:
                    holder = await router.store.hold(tx.conn, conversation)
                    decision = routing.expire(holder, conversation, now)
                    if decision.holder != holder:
                        await router.store.save(tx.conn, conversation, decision.holder)
                    for decided in decision.events:
                        await tx.publish(decided)
        except Exception:
            log.exception("expiring quiet conversations failed")
        await asyncio.sleep(sweep_seconds)
