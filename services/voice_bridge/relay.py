"""Per-conversation workers that ask the agent the queued questions and publish its answers.

The consumer only queues a question (a row in ``voice_bridge_replies``) and
acks; the conversation's worker asks the agent, keeps the answer, then marks
the question answered and writes ``reply.ready`` (and ``agent.reply_failed``
when a fallback answered) to the outbox in one transaction (hilo/outbox.py).
So one conversation's slow agent never holds the consumer, and therefore never
delays another conversation's messages. Questions of one conversation are
answered one after another, in the order they were queued. A worker that dies
(or a process that stops) leaves unanswered rows, which the next start picks
up; a question that keeps failing is retried with back-off, then given up.
"""

from __future__ import annotations

import asyncio
import logging

from hilo.outbox import RetryPolicy, record_dead_work
from hilo.service import Runtime
from hilo.workers import KeyedWorkers
from schemas import AgentReplyFailed, ReplyReady, derived_id
from services.voice_bridge import ledger
from services.voice_bridge.agent_session import AgentUnavailable, Opening, SessionPool
from services.voice_bridge.context import conversation_so_far, dynamic_variables
from services.voice_bridge.settings import VoiceBridgeSettings

log = logging.getLogger(__name__)


class Relay:
    def __init__(self, runtime: Runtime, pool: SessionPool, settings: VoiceBridgeSettings) -> None:
        self.runtime = runtime
        self.pool = pool
        self.settings = settings
        self.retries = RetryPolicy()
        self._workers = KeyedWorkers(self._drain, "voice-bridge-relay")

    def kick(self, conversation: str) -> None:
        """Make sure the conversation's worker runs and looks at its queue again."""
        self._workers.kick(conversation)

    async def resume(self) -> None:
        for conversation in await ledger.conversations_waiting(self.runtime.db):
            self.kick(conversation)

    async def close(self) -> None:
        await self._workers.close()

    async def _drain(self, conversation: str) -> None:
        while True:
            question = await ledger.next_unpublished(self.runtime.db, conversation)
            if question is None:
                return
            try:
                await self._answer(question)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(question, exc)

    async def _failed(self, question: ledger.Question, exc: Exception) -> None:
        attempt = question.attempts + 1
        give_up = self.retries.exhausted(attempt)
        log.warning("answering a message failed (attempt %d): %r", attempt, exc)
        async with self.runtime.db.acquire() as conn, conn.transaction():
            await ledger.question_failed(
                conn, question, repr(exc), None if give_up else self.retries.delay(attempt)
            )
            if give_up:
                await record_dead_work(
                    conn,
                    owner="voice_bridge",
                    work_id=f"question:{question.message_event_id}",
                    conversation=question.conversation,
                    reason=repr(exc),
                    attempts=attempt,
                )
        if not give_up:
            await asyncio.sleep(self.retries.delay(attempt))

    async def _answer(self, question: ledger.Question) -> None:
        if question.text is None:
            text, outcome, reason = await self._ask(question)
            question = await ledger.record_answer(
                self.runtime.db, question.message_event_id, text, outcome, reason
            )
        envelope = {
            "conversation": question.conversation,
            "correlation_id": question.correlation_id,
            "causation_id": question.cause_event_id,
        }
        async with self.runtime.transaction() as tx:
            if not await ledger.mark_reply_published(tx.conn, question):
                return  # withdrawn: the conversation passed to someone else meanwhile
            if question.outcome == "fallback":
                await tx.publish(
                    AgentReplyFailed(
                        event_id=derived_id(question.message_event_id, "voice_bridge.reply_failed"),
                        reason=question.failure_reason or "agent_unavailable",
                        message_event_id=str(question.message_event_id),
                        fallback_used=True,
                        **envelope,
                    )
                )
            await tx.publish(
                ReplyReady(
                    event_id=question.reply_event_id,
                    reply_id=question.reply_id,
                    author="voice_agent",
                    text=question.text,
                    language=question.language,
                    in_reply_to=(question.message_event_id,),
                    **envelope,
                )
            )

    async def _ask(self, question: ledger.Question) -> tuple[str, str, str | None]:
        db = self.runtime.db
        conversation = question.conversation

        async def opening() -> Opening:
            # Only a socket being opened needs the context: held sockets already have it.
            call = await ledger.call_context(db, question.call_id)
            recent = await ledger.recent_lines(
                db, conversation, self.settings.voice_bridge_context_messages
            )
            return Opening(dynamic_variables(call, conversation), conversation_so_far(call, recent))

        language = question.language or self.settings.voice_bridge_default_language
        try:
            answer = await self.pool.ask(conversation, question.question, opening)
        except AgentUnavailable as exc:
            log.warning("agent did not answer a message: %s", exc.reason)
            return self.settings.fallback_text(language), "fallback", exc.reason
        finally:
            # After the opening read the context, so the question is the user turn, not context.
            await ledger.add_line(
                db,
                conversation,
                question.message_event_id,
                "customer",
                question.question,
                question.asked_at,
            )
        return answer, "agent", None
