"""The analyzer's business side: the profile of the time, bookings that fit, the answer.

Called by the responder at two points (marked "business hook" there): before the
calendar changes are published (``gate``: only slots that fit the calendar are booked,
through the exclusion constraint of ``analyzer_bookings``) and when the reply is
composed (``answer``: facts, refusals with alternatives, a hand-off to a person, or
silence). Everything it publishes has an id derived from the burst, so a resumed burst
publishes the same events again and the dedupe layers absorb them.

The profile is read with the version current at the burst's last message (from
``analyzer_business_profile_history``), so a replayed or resumed message is answered
with the facts of its time; each new version is recorded and announced once as
``business.profile_loaded``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from hilo.business import (
    InvalidProfile,
    ProfileSource,
    configured_path,
    parse_profile,
)
from hilo.service import Context, Runtime
from hilo.text import guess_language as detect
from schemas import BusinessProfileLoaded, PersonNeeded, TaskCreated, derived_id
from services.analyzer.answers import Situation, compose_answer
from services.analyzer.booking_store import BookingStore, ProfileStore
from services.analyzer.burst import InboxRow
from services.analyzer.calendar_gate import Burst, Gate, Version
from services.analyzer.knowledge import Knowledge
from services.analyzer.llm_replies import LlmReplies, make_llm_replies
from services.analyzer.replies import SUPPORTED, ReplyFacts
from services.analyzer.settings import AnalyzerSettings
from services.analyzer.slots import Refusal

log = logging.getLogger(__name__)


class BusinessDesk:
    def __init__(self, runtime: Runtime, settings: AnalyzerSettings) -> None:
        self.runtime = runtime
        self.settings = settings
        named = "hilo_business_file" in settings.model_fields_set
        self.source = ProfileSource(
            configured_path(settings.hilo_business_file), required=named
        )  # raises InvalidProfile (file:line) at start-up
        self.bookings = BookingStore()
        self.profiles = ProfileStore()
        self._versions: dict[str, Version] = {}
        self._recorded: str | None = None
        self.llm: LlmReplies | None = make_llm_replies(settings)

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.close()

    # --- the profile of the time ----------------------------------------------------------

    def timezone(self, default: str) -> str:
        """The business's zone: the profile's when there is one (HILO_TIMEZONE otherwise)."""
        current = self.source.current()
        return current.profile.timezone if current else default

    async def refresh(self) -> None:
        """Record and announce the file's version when it changed (cheap: a stat)."""
        current = self.source.current()
        if current is None or current.version == self._recorded:
            return
        await self.profiles.record(self.runtime.db, current, self.source.modified_at())
        self._recorded = current.version
        for event_id, version, name, source, effective_from in await self.profiles.unpublished(
            self.runtime.db
        ):
            await self.runtime.publish(
                BusinessProfileLoaded(
                    event_id=event_id,
                    occurred_at=effective_from,
                    correlation_id=event_id,
                    version=version,
                    name=name,
                    source=source,
                )
            )
            await self.profiles.mark_published(self.runtime.db, event_id)

    async def on_profile_loaded(self, event: BusinessProfileLoaded) -> None:
        """A version read back from the stream (a replay into a fresh database, say)."""
        try:
            loaded = parse_profile(event.source)
        except InvalidProfile:
            log.exception("business.profile_loaded %s unreadable; skipped", event.version)
            return
        await self.profiles.remember(self.runtime.db, event.event_id, loaded, event.occurred_at)

    async def version_at(self, at: datetime) -> Version | None:
        await self.refresh()
        if self.source.current() is None:
            return None
        stored = await self.profiles.version_at(self.runtime.db, at)
        if stored is None:
            return None
        if stored.version not in self._versions:
            try:
                loaded = parse_profile(stored.source)
            except InvalidProfile:  # written by a newer Hilo, say; today's file answers
                log.exception("stored business profile %s unreadable", stored.version)
                current = self.source.current()
                assert current is not None
                loaded = current
            self._versions[stored.version] = Version(loaded, Knowledge.build(loaded.profile))
        return self._versions[stored.version]

    # --- reading the burst ----------------------------------------------------------------

    async def read_burst(self, conversation: str, rows: Sequence[InboxRow]) -> Burst:
        burst_id = rows[0].burst_id
        assert burst_id is not None
        ids = list(dict.fromkeys(r.message_id for r in rows))
        messages = await self.runtime.db.fetch(
            "SELECT text, at FROM analyzer_messages WHERE message_id = ANY($1::uuid[])"
            " ORDER BY at, seq",
            ids,
        )
        at = max((m["at"] for m in messages), default=rows[-1].queued_at)
        last_outbound = await self.runtime.db.fetchval(
            "SELECT text FROM analyzer_messages WHERE conversation = $1"
            " AND direction = 'outbound' AND at < $2 ORDER BY at DESC, seq DESC LIMIT 1",
            conversation,
            at,
        )
        return Burst(
            burst_id,
            conversation,
            tuple(m["text"] for m in messages),
            at,
            tuple(ids),
            last_outbound,
        )

    # --- business hook 1: only slots that fit are booked ----------------------------------

    async def gate_for(self, conversation: str, rows: Sequence[InboxRow]) -> Gate | None:
        burst = await self.read_burst(conversation, rows)
        version = await self.version_at(burst.at)
        if version is None:
            return None
        return Gate(self.runtime.db, version, burst)

    # --- business hook 2: the answer ------------------------------------------------------

    async def answer(
        self,
        conversation: str,
        rows: Sequence[InboxRow],
        facts: ReplyFacts,
        refused: Sequence[Refusal],
    ) -> str | None:
        """The reply text, or None to say nothing; publishes a hand-off when one is needed."""
        burst = await self.read_burst(conversation, rows)
        version = await self.version_at(burst.at)
        told = await self._person_told(burst)
        if version is not None and not refused:
            # An event held back while its topic is asked may already not fit: say so now,
            # rather than ask what it is about and refuse it one message later.
            early = await Gate(self.runtime.db, version, burst).preview(facts.analysis)
            if early is not None:
                refused = [early]
                facts = replace(facts, analysis=facts.analysis.model_copy(update={"missing": ()}))
        # The language of what was just asked (a contact may switch mid-conversation).
        spoken = detect(list(burst.texts), default=facts.language)
        facts = replace(facts, language=spoken if spoken in SUPPORTED else facts.language)
        situation = Situation(
            reply=facts,
            texts=burst.texts,
            at=burst.at,
            last_outbound=burst.last_outbound,
            profile=version.profile if version else None,
            knowledge=version.knowledge if version else None,
            refused=tuple(refused),
            person_told=told,
            call_summary=await self.runtime.db.fetchval(
                "SELECT call_summary FROM analyzer_contacts WHERE conversation = $1",
                conversation,
            ),
        )
        offline = compose_answer(situation)
        answer = offline
        if self.llm is not None and offline.text is not None:
            answer = await self.llm.write(situation, offline, await self._history(burst))
            if answer.person_needed and told:
                answer = offline  # a person was promised already: not a second time
        if answer.person_needed and not told:
            await self._hand_to_person(burst, facts.language)
        return answer.text

    async def _history(self, burst: Burst) -> list[tuple[str, str]]:
        rows = await self.runtime.db.fetch(
            "SELECT direction, text FROM analyzer_messages WHERE conversation = $1"
            " AND at <= $2 AND text <> '' ORDER BY at DESC, seq DESC LIMIT $3",
            burst.conversation,
            burst.at,
            self.settings.analyzer_context_messages,
        )
        return [(r["direction"], r["text"]) for r in reversed(rows)]

    async def _person_told(self, burst: Burst) -> bool:
        row = await self.runtime.db.fetchrow(
            "SELECT burst_id, told_at FROM analyzer_handoffs WHERE conversation = $1",
            burst.conversation,
        )
        if row is None or row["burst_id"] == burst.id:
            return False  # never told, or told by this very burst (a resumed one)
        promise = timedelta(hours=self.settings.analyzer_person_promise_hours)
        return bool(burst.at - row["told_at"] < promise)

    async def _hand_to_person(self, burst: Burst, language: str) -> None:
        task_id = derived_id(burst.id, "analyzer.person_task_id")
        correlation = burst.message_ids[-1]
        title = (
            "Answer a question the assistant could not"
            if language == "en"
            else "Responder una pregunta que el asistente no supo contestar"
        )
        await self.runtime.publish(
            TaskCreated(
                event_id=derived_id(burst.id, "analyzer.person_task"),
                conversation=burst.conversation,
                correlation_id=correlation,
                causation_id=burst.message_ids[-1],
                task_id=task_id,
                title=title,
                task_type="support",
                priority=2,
                due=burst.at.date(),
                source_message_ids=tuple(str(m) for m in burst.message_ids),
            )
        )
        await self.runtime.publish(
            PersonNeeded(
                event_id=derived_id(burst.id, "analyzer.person_needed"),
                conversation=burst.conversation,
                correlation_id=correlation,
                causation_id=burst.message_ids[-1],
                reason="unanswered_question",
                task_id=task_id,
                message_event_ids=burst.message_ids,
            )
        )
        await self.runtime.db.execute(
            "INSERT INTO analyzer_handoffs (conversation, task_id, burst_id, told_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (conversation) DO UPDATE SET"
            " task_id = EXCLUDED.task_id, burst_id = EXCLUDED.burst_id,"
            " told_at = EXCLUDED.told_at",
            burst.conversation,
            task_id,
            burst.id,
            burst.at,
        )


async def on_profile_loaded(event: BusinessProfileLoaded, ctx: Context) -> None:
    """Handler (its own durable consumer): a profile version read back from the stream."""
    await ctx.state["responder"].desk.on_profile_loaded(event)
