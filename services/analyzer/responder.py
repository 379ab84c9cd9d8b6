"""Per-conversation workers: wait for the burst to end, analyse it, publish, maybe answer.

The consumer only records the message and queues a row in ``analyzer_inbox``; the
conversation's worker waits for the quiet window (and for voice notes' transcripts),
then *closes* the burst (writes its id on its rows) before publishing anything. A
crash after that resumes the same burst with the same ids; a crash before it just
waits again. Rows are marked processed only after every publish was acknowledged.
Unprocessed rows are resumed at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace

from hilo.business_time import settings_zone
from hilo.service import Runtime
from hilo.workers import KeyedWorkers
from schemas import ReplyReady, derived_id, utc_now
from services.analyzer import ledger, pipeline
from services.analyzer.backends import Backend
from services.analyzer.burst import InboxRow, burst_id, seconds_to_wait
from services.analyzer.conversation_log import build_conversation
from services.analyzer.diff import Cause
from services.analyzer.replies import ReplyFacts, compose, reply_language
from services.analyzer.settings import AnalyzerSettings
from services.analyzer.unheard import unheard_outcome

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0


class Responder:
    def __init__(self, runtime: Runtime, backend: Backend, settings: AnalyzerSettings) -> None:
        self.runtime = runtime
        self.backend = backend
        self.settings = settings
        self._workers = KeyedWorkers(self._drain, "analyzer")

    def kick(self, conversation: str) -> None:
        """Make sure the conversation's worker runs and looks at its inbox again."""
        self._workers.kick(conversation)

    async def resume(self) -> None:
        for conversation in await ledger.conversations_waiting(self.runtime.db):
            self.kick(conversation)

    async def close(self) -> None:
        await self._workers.close()

    async def _drain(self, conversation: str) -> None:
        wake = self._workers.wake(conversation)
        while True:
            wake.clear()
            try:
                rows = await ledger.open_burst(self.runtime.db, conversation)
                if not rows:
                    return
                if rows[0].burst_id is None:
                    wait = self._quiet_for(rows)
                    if wait > 0:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(wake.wait(), wait)
                        continue
                    closing = burst_id(rows)
                    await ledger.close_burst(self.runtime.db, rows, closing)
                    rows = [replace(r, burst_id=closing) for r in rows]
                await self._process(conversation, rows)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("analysing a conversation failed; retrying")
                await asyncio.sleep(RETRY_SECONDS)

    def _quiet_for(self, rows: list[InboxRow]) -> float:
        return seconds_to_wait(
            rows,
            utc_now(),
            burst_seconds=self.settings.analyzer_burst_seconds,
            voice_note_wait_seconds=self.settings.analyzer_voice_note_wait_seconds,
        )

    async def _process(self, conversation: str, rows: list[InboxRow]) -> None:
        db = self.runtime.db
        burst = rows[0].burst_id
        assert burst is not None
        last = max(rows, key=lambda r: r.seq)
        cause = Cause(last.cause_event_id, last.correlation_id)
        message_ids = [r.message_id for r in rows]
        async with db.acquire() as conn:
            contact = await ledger.contact(conn, conversation)
            messages = await ledger.messages_up_to(
                conn, conversation, message_ids, self.settings.analyzer_context_messages
            )
        built = build_conversation(
            conversation,
            messages,
            timezone=settings_zone(
                self.runtime.settings, contact.business_number, self.settings.twilio_whatsapp_from
            ).name,
            contact_name=contact.contact_name,
            call_summary=contact.call_summary,
            limit=self.settings.analyzer_context_messages,
        )
        unheard = any(r.unheard for r in rows)
        replied = False
        if any(m.direction == "inbound" for m in built.messages):
            outcome = await pipeline.analyze(
                db,
                self.runtime.publish,
                self.backend,
                built,
                intent_event_id=derived_id(burst, "analyzer.intent"),
                cause=cause,
                business_number=contact.business_number,
            )
            first_reply = not any(m.direction == "outbound" for m in built.messages)
            replied = await self._answer(conversation, rows, outcome, unheard, first_reply, cause)
        elif unheard:  # only notes that could not be heard: nothing to analyse, still answered
            outcome = unheard_outcome(conversation, self.settings.analyzer_default_language)
            replied = await self._answer(conversation, rows, outcome, True, True, cause)
        await ledger.finish_burst(db, burst, replied)

    async def _answer(
        self,
        conversation: str,
        rows: list[InboxRow],
        outcome: pipeline.Outcome,
        unheard: bool,
        first_reply: bool,
        cause: Cause,
    ) -> bool:
        if not self.settings.analyzer_replies or not any(r.reply_wanted for r in rows):
            return False
        # Read again: a mode change may have arrived while the burst waited.
        contact = await ledger.contact(self.runtime.db, conversation)
        if contact.mode != "analyzer":
            return False
        burst = rows[0].burst_id
        assert burst is not None
        language = reply_language(
            outcome.analysis.language, self.settings.analyzer_default_language
        )
        text = compose(
            ReplyFacts(
                analysis=outcome.analysis,
                language=language,
                calendar=outcome.calendar,
                tasks=outcome.tasks,
                standing=outcome.standing,
                contact_name=contact.contact_name,
                unheard_voice_note=unheard,
                first_reply=first_reply,
            )
        )
        await self.runtime.publish(
            ReplyReady(
                event_id=derived_id(burst, "analyzer.reply"),
                reply_id=derived_id(burst, "analyzer.reply_id"),
                conversation=conversation,
                correlation_id=cause.correlation_id,
                causation_id=cause.event_id,
                author="analyzer",
                text=text,
                language=language,
                in_reply_to=tuple(dict.fromkeys(r.message_id for r in rows)),
            )
        )
        return True
