"""Per-conversation workers that ask the agent the queued questions and publish its answers.

The consumer only queues a question (a row in ``voice_bridge_replies``) and
acks; the conversation's worker asks the agent, keeps the answer, then
publishes ``reply.ready`` (and ``agent.reply_failed`` when a fallback
answered). So one conversation's slow agent never holds the consumer, and
therefore never delays another conversation's messages. Questions of one
conversation are answered one after another, in the order they were queued.
A worker that dies (or a process that stops) leaves unpublished rows, which
the next start picks up.
"""

from __future__ import annotations

import asyncio
import logging

from hilo.service import Runtime
from hilo.workers import KeyedWorkers
from schemas import AgentReplyFailed, ReplyReady, derived_id
from services.voice_bridge import ledger
from services.voice_bridge.agent_session import AgentUnavailable, Opening, SessionPool
from services.voice_bridge.context import conversation_so_far, dynamic_variables
from services.voice_bridge.settings import VoiceBridgeSettings

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0


class Relay:
    def __init__(self, runtime: Runtime, pool: SessionPool, settings: VoiceBridgeSettings) -> None:
        self.runtime = runtime
        self.pool = pool
        self.settings = settings
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
            try:
                question = await ledger.next_unpublished(self.runtime.db, conversation)
                if question is None:
                    return
                await self._answer(question)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("answering a message failed; retrying")
                await asyncio.sleep(RETRY_SECONDS)

    async def _answer(self, question: ledger.Question) -> None:
        db = self.runtime.db
        if question.text is None:
            text, outcome, reason = await self._ask(question)
            question = await ledger.record_answer(
                db, question.message_event_id, text, outcome, reason
            )
        envelope = {
            "conversation": question.conversation,
            "correlation_id": question.correlation_id,
            "causation_id": question.cause_event_id,
        }
        if question.outcome == "fallback":
            await self.runtime.publish(
                AgentReplyFailed(
                    event_id=derived_id(question.message_event_id, "voice_bridge.reply_failed"),
                    reason=question.failure_reason or "agent_unavailable",
                    message_event_id=str(question.message_event_id),
                    fallback_used=True,
                    **envelope,
                )
            )
        await self.runtime.publish(
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
        await ledger.mark_reply_published(db, question)

    async def _ask(self, question: ledger.Question) -> tuple[str, str, str | None]:
        db = self.runtime.db
        conversation = question.conversation

        async def opening() -> Opening:
            # Only a socket being opened needs the context: held sockets already have it.
            mode = await ledger.mode_of(db, conversation)
            call = await ledger.call_context(db, mode.call_id if mode else None)
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
