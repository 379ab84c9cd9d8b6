"""Where decisions meet the tables and the bus: lock, decide once, record, publish.

Every input has a key (the message's event id, the round's id, the idle timer's step).
Under the contact's row lock the engine records the key as handled (``hilo_tracking``),
makes the decision with the pure :mod:`session` functions, and writes the session's new
state and the decision's events (``hilo_outbox``, ids derived from the key) in the same
transaction; the events are published after the commit (hilo/outbox.py). A crash before
the commit decides again from the same state; after it, the redelivered input finds its key
tracked and the outbox's relay publishes what is left. A replay decides nothing new. Two
replicas wait on the same row lock.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from prometheus_client import Counter

from hilo.flowdefs import FlowSet
from hilo.outbox import Outbox
from hilo.text import guess_language
from schemas import ConversationModeChanged, Event, FlowSessionReset, derived_id
from services.flows import session as flow
from services.flows.rounds import Rounds
from services.flows.session import Decision, Presentation, Session, Step
from services.flows.settings import FlowsSettings
from services.flows.store import FlowStore, StoredMessage

log = logging.getLogger(__name__)

# The tracking records' consumer name: inputs are keyed by message, round or timer step.
TRACKING = "flows"
Decide = Callable[[Session | None, Step], Decision | None]
KeyOf = Callable[[Session], uuid.UUID | None]

DECISIONS = Counter("hilo_flows_decisions_total", "Inputs decided by the flows service", ["input"])
PRUNE_EVERY_SECONDS = 3600.0
INTERRUPTING_MODES = frozenset({"human", "nobody", "voice_agent"})
STARTING_REASONS = {"flow_requested": "api", "call_flow": "call"}


class FlowEngine:
    def __init__(
        self,
        db: asyncpg.Pool,
        outbox: Outbox,
        flows: FlowSet,
        settings: FlowsSettings,
        http: httpx.AsyncClient,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.flows = flows
        self.settings = settings
        self.http = http
        self.store = FlowStore()
        self.zone = ZoneInfo(settings.hilo_timezone)
        self.presentation = Presentation(dict(settings.flows_twilio_content_sids))
        self.rounds = Rounds(self)
        self._pruned_at = float("-inf")

    # --- the one path every input takes --------------------------------------------------

    def _step(self, key: uuid.UUID, contact: str, cause: Event | None, corr: uuid.UUID) -> Step:
        return Step(
            key=key,
            conversation=contact,
            correlation_id=cause.correlation_id if cause else corr,
            causation_id=cause.event_id if cause else None,
            now=datetime.now(self.zone),
        )

    async def handle(
        self,
        contact: str,
        key: uuid.UUID | KeyOf,
        decide: Decide,
        *,
        cause: Event | None,
        replayed: bool,
        label: str,
    ) -> None:
        api_round: tuple[uuid.UUID, int] | None = None
        async with self.outbox.transaction(TRACKING, None) as tx:
            # The contact's row lock first: two replicas with the same input queue here.
            current = await self.store.lock_session(tx.conn, contact)
            if not isinstance(key, uuid.UUID):
                if current is None or (found := key(current)) is None:
                    return
                key = found
            if not await tx.track(key):
                return  # decided already: its events are in the outbox, published or on the way
            if replayed:
                return  # a replay re-reads decisions; it never makes a new one
            step = self._step(key, contact, cause, key)
            decision = decide(current, step)
            if decision is None:
                return
            decision = self._follow_switch(decision, current, step)
            api_round = await self._record(tx.conn, contact, decision, step)
            await tx.publish_all(decision.events)
            DECISIONS.labels(label).inc()
        if api_round is not None:
            await self.rounds.run(*api_round)

    def _follow_switch(self, decision: Decision, current: Session | None, step: Step) -> Decision:
        if decision.switch_to is None or current is None:
            return decision
        target = self.flows.get(decision.switch_to)
        if target is None:
            log.warning("flow %s is no longer loaded; the contact stays", decision.switch_to)
            return decision
        switch_step = Step(
            derived_id(step.key, "flows.switch"),
            step.conversation,
            step.correlation_id,
            step.causation_id,
            step.now,
        )
        started = flow.start(
            target,
            switch_step,
            source="keyword",
            language=current.language,
            previous=current,
            presentation=self.presentation,
        )
        started.events[:0] = decision.events
        return started

    async def _record(
        self, conn: asyncpg.Connection, contact: str, d: Decision, step: Step
    ) -> tuple[uuid.UUID, int] | None:
        """The session's new state, and the outside API's round it opens (if any)."""
        await self.store.save_session(conn, contact, d.session, self._deadline(d.session))
        if d.call_api_round is None or d.session is None:
            return None
        payload = flow.api_payload(d.session, contact, step.now)
        await self.store.open_round(conn, d.session, contact, payload)
        return (d.session.session_id, d.call_api_round)

    def _deadline(self, session: Session | None) -> datetime | None:
        if session is None or session.status == "awaiting_api":
            return None
        wait = (
            self.settings.flows_abandon_after_seconds
            if session.reminded
            else self.settings.flows_reminder_after_seconds
        )
        return session.last_activity_at + timedelta(seconds=wait)

    # --- inputs ----------------------------------------------------------------------------

    async def contact_language(self, contact: str, flow_language: str) -> str:
        """The language the contact writes in (recent messages), else the flow's."""
        async with self.db.acquire() as conn:
            texts = await self.store.recent_texts(conn, contact, 5)
        return guess_language(texts, default=flow_language) if texts else flow_language

    async def answer(self, message: StoredMessage, cause: Event, replayed: bool) -> None:
        """A message routed to the flow, with its text (or its transcript)."""
        keyword_flow = None
        language: str | None = None
        if message.routed_reason == "flow_keyword" and message.routed_flow_id:
            keyword_flow = self.flows.get(message.routed_flow_id)
            if keyword_flow is None:
                log.warning("routed to flow %s, which is not loaded", message.routed_flow_id)
            else:
                language = await self.contact_language(message.contact, keyword_flow.language)

        def decide(session: Session | None, step: Step) -> Decision | None:
            if session is None:
                if keyword_flow is None:
                    return None  # the session ended as this message came in
                return flow.start(
                    keyword_flow,
                    step,
                    source="keyword",
                    language=language,
                    previous=None,
                    presentation=self.presentation,
                )
            if message.text is None and message.reply_id is None:
                return flow.on_unreadable(
                    session, step, message.message_event_id, self.presentation
                )
            return flow.on_message(
                session,
                step,
                text=message.text,
                reply_id=message.reply_id,
                message_event_id=message.message_event_id,
                presentation=self.presentation,
                other_flow=keyword_flow,
            )

        await self.handle(
            message.contact,
            message.message_event_id,
            decide,
            cause=cause,
            replayed=replayed,
            label="message",
        )

    async def mode_changed(self, event: ConversationModeChanged, replayed: bool) -> None:
        source = STARTING_REASONS.get(event.reason)
        if event.mode == "flow" and source and event.flow_id:
            target = self.flows.get(event.flow_id)
            if target is None:
                log.warning("asked to start flow %s, which is not loaded", event.flow_id)
                return
            language = await self.contact_language(event.conversation, target.language)

            def start(session: Session | None, step: Step) -> Decision:
                return flow.start(
                    target,
                    step,
                    source="api" if source == "api" else "call",
                    language=language,
                    previous=session,
                    presentation=self.presentation,
                )

            await self.handle(
                event.conversation,
                event.event_id,
                start,
                cause=event,
                replayed=replayed,
                label="start",
            )
        elif event.mode in INTERRUPTING_MODES:

            def interrupt(session: Session | None, step: Step) -> Decision | None:
                return flow.interrupt(session, step) if session is not None else None

            await self.handle(
                event.conversation,
                event.event_id,
                interrupt,
                cause=event,
                replayed=replayed,
                label="interrupt",
            )

    async def reset(self, event: FlowSessionReset, replayed: bool) -> None:
        """An operator reset the session: it ends here, silently (the event says it all)."""

        def end(session: Session | None, step: Step) -> Decision | None:
            if session is None:
                return None
            if event.session_id is not None and event.session_id != session.session_id:
                return None
            return Decision(None)

        await self.handle(
            event.conversation, event.event_id, end, cause=event, replayed=replayed, label="reset"
        )

    async def idle(self, contact: str) -> None:
        def key(session: Session) -> uuid.UUID | None:
            deadline = self._deadline(session)
            if deadline is None or deadline > datetime.now(self.zone):
                return None  # another replica got here first, or the contact answered
            return derived_id(session.session_id, f"idle:{session.seq}:{session.reminded}")

        def remind(session: Session | None, step: Step) -> Decision | None:
            return flow.on_idle(session, step, self.presentation) if session else None

        await self.handle(contact, key, remind, cause=None, replayed=False, label="idle")

    # --- the timer ------------------------------------------------------------------------

    async def tick(self) -> None:
        """Idle sessions, rounds a crashed process left, decisions never published."""
        async with self.db.acquire() as conn:
            contacts = await self.store.due(conn, 100)
            rounds = await self.store.stalled_rounds(conn)
        for contact in contacts:
            await self.idle(contact)
        for session_id, round_ in rounds:
            await self.rounds.run(session_id, round_)
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self._pruned_at = time.monotonic()
            async with self.db.acquire() as conn:
                await self.store.prune(conn, self.settings.flows_keep_days)
