"""Per-conversation workers: wait for the burst to end, analyse it, publish, maybe answer.

The consumer only records messages and queues rows in ``analyzer_inbox``; the
conversation's worker waits for the quiet window, the router's decisions and voice
notes' transcripts, runs the backend, then writes the calendar and task rows, the
outbox rows of every event and the rows' processed mark in ONE transaction
(hilo/outbox.py): a crash before the commit leaves nothing half done, and the relay
publishes what a crash after it left unpublished. A burst that keeps failing is retried
with growing delays, then given up as dead work with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace

from hilo.outbox import RetryPolicy, record_dead_work
from hilo.service import Runtime
from hilo.workers import KeyedWorkers
from schemas import ReplyReady, derived_id, utc_now
from services.analyzer import call_handlers, ledger, pipeline
from services.analyzer.backends import Backend
from services.analyzer.burst import InboxRow, burst_id, seconds_to_wait
from services.analyzer.business_desk import BusinessDesk
from services.analyzer.conversation_log import build_conversation, contact_timezone
from services.analyzer.diff import Cause
from services.analyzer.models import Conversation
from services.analyzer.replies import ReplyFacts, reply_language
from services.analyzer.settings import AnalyzerSettings

log = logging.getLogger(__name__)


class _TakenElsewhere(Exception):
    """Another worker (a replica that took the conversation over) processed these rows."""


class Responder:
    def __init__(self, runtime: Runtime, backend: Backend, settings: AnalyzerSettings) -> None:
        self.runtime = runtime
        self.backend = backend
        self.settings = settings
        self.retries = RetryPolicy(max_attempts=settings.analyzer_max_attempts)
        self._workers = KeyedWorkers(self._drain, "analyzer")
        # Business hook (issue 19): the profile, bookings that fit, the answer itself.
        self.desk = BusinessDesk(runtime, settings)

    def kick(self, conversation: str) -> None:
        """Make sure the conversation's worker runs and looks at its inbox again."""
        self._workers.kick(conversation)

    async def resume(self) -> None:
        for conversation in await ledger.conversations_waiting(self.runtime.db):
            self.kick(conversation)

    async def close(self) -> None:
        await self._workers.close()
        await self.desk.close()

    async def _drain(self, conversation: str) -> None:
        wake = self._workers.wake(conversation)
        while True:
            wake.clear()
            rows = await ledger.open_burst(self.runtime.db, conversation)
            if not rows:
                return
            wait = self._quiet_for(rows)
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), wait)
                continue
            try:
                await self._process(conversation, rows)
            except asyncio.CancelledError:
                raise
            except _TakenElsewhere:
                continue
            except Exception as exc:
                await self._failed(conversation, rows, exc)

    def _quiet_for(self, rows: list[InboxRow]) -> float:
        return seconds_to_wait(
            rows,
            utc_now(),
            burst_seconds=self.settings.analyzer_burst_seconds,
            voice_note_wait_seconds=self.settings.analyzer_voice_note_wait_seconds,
            routing_wait_seconds=self.settings.analyzer_routing_wait_seconds,
        )

    async def _failed(self, conversation: str, rows: list[InboxRow], exc: Exception) -> None:
        attempt = max(r.attempts for r in rows) + 1
        give_up = self.retries.exhausted(attempt)
        log.warning("analysing a burst failed (attempt %d): %r", attempt, exc, exc_info=give_up)
        async with self.runtime.db.acquire() as conn, conn.transaction():
            await ledger.burst_failed(
                conn, rows, repr(exc), None if give_up else self.retries.delay(attempt)
            )
            if give_up:
                await record_dead_work(
                    conn,
                    owner="analyzer",
                    work_id=f"burst:{burst_id(rows)}",
                    conversation=conversation,
                    reason=repr(exc),
                    attempts=attempt,
                    detail={"messages": [str(r.message_id) for r in rows]},
                )

    async def _read(
        self, conversation: str, rows: list[InboxRow]
    ) -> tuple[Conversation, ledger.ContactRow]:
        limit = self.settings.analyzer_context_messages
        async with self.runtime.db.acquire() as conn:
            contact = await ledger.contact(conn, conversation)
            messages = await ledger.messages_up_to(
                conn, conversation, [r.message_id for r in rows], limit
            )
        built = build_conversation(
            conversation,
            messages,
            timezone=contact_timezone(
                conversation,
                # Business hook (issue 19): the profile's zone is the business's zone.
                self.desk.timezone(self.runtime.settings.timezone),
                from_number=self.settings.analyzer_timezone_from_number,
            ),
            contact_name=contact.contact_name,
            call_summary=contact.call_summary,
            limit=limit,
        )
        return built, contact

    async def _process(self, conversation: str, rows: list[InboxRow]) -> None:
        burst = burst_id(rows)
        rows = [replace(r, burst_id=burst) for r in rows]
        last = max(rows, key=lambda r: r.seq)
        cause = Cause(last.cause_event_id, last.correlation_id)
        built, contact = await self._read(conversation, rows)
        # The backend may be slow (a model over HTTP): it runs before the transaction opens.
        analysis = None
        gate = None
        if any(m.direction == "inbound" for m in built.messages):
            analysis = await self.backend.analyze(built)
            # Business hook (issue 19): only slots that fit the calendar are booked.
            gate = await self.desk.gate_for(conversation, rows)
        async with self.runtime.transaction() as tx:
            if not await ledger.claim_burst(tx.conn, rows, burst):
                raise _TakenElsewhere  # rolls back; the worker reads the inbox again
            if analysis is not None:
                await tx.publish(
                    pipeline.intent_event(
                        analysis, conversation, derived_id(burst, "analyzer.intent"), cause
                    )
                )
                outcome = await pipeline.publish_changes(
                    tx.conn, tx.publish, built, analysis, cause, contact.business_number, gate
                )
                await call_handlers.publish_call_analyses(
                    tx.conn, tx.publish, [r.trigger_id for r in rows], analysis, conversation,
                    cause,
                )  # fmt: skip
                first_reply = not any(m.direction == "outbound" for m in built.messages)
                reply = await self._reply(contact, rows, burst, outcome, first_reply, cause)
                if reply is not None:
                    await tx.publish(reply)
                    await ledger.mark_replied(tx.conn, burst)

    async def _reply(
        self,
        contact: ledger.ContactRow,
        rows: list[InboxRow],
        burst: object,
        outcome: pipeline.Outcome,
        first_reply: bool,
        cause: Cause,
    ) -> ReplyReady | None:
        """The answer to the burst, if the router gave any of its messages to the analyzer.

        A message still without the router's decision (the routing wait ran out) is read
        but not answered here: its decision, when it comes, queues its own answer.
        """
        wanted = [r for r in rows if r.routed and r.reply_wanted]
        if not self.settings.analyzer_replies or not wanted:
            return None
        language = reply_language(
            outcome.analysis.language, self.settings.analyzer_default_language
        )
        # Business hook (issue 19): facts, refused slots, a hand-off, or None (say nothing).
        text = await self.desk.answer(
            contact.conversation,
            rows,
            ReplyFacts(
                analysis=outcome.analysis,
                language=language,
                calendar=outcome.calendar,
                tasks=outcome.tasks,
                standing=outcome.standing,
                contact_name=contact.contact_name,
                unheard_voice_note=any(r.unheard for r in rows),
                first_reply=first_reply,
            ),
            outcome.refused,
        )
        if text is None:
            return None
        return ReplyReady(
            event_id=derived_id(str(burst), "analyzer.reply"),
            reply_id=derived_id(str(burst), "analyzer.reply_id"),
            conversation=contact.conversation,
            correlation_id=cause.correlation_id,
            causation_id=cause.event_id,
            author="analyzer",
            text=text,
            language=language,
            in_reply_to=tuple(dict.fromkeys(r.message_id for r in wanted)),
        )
