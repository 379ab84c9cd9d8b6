"""The `openai` backend: structured outputs validated by the same `Analysis` model.

Any failure (timeout, 5xx after the SDK's retries, a refusal, JSON that does not
validate) falls back to the rules engine, so the pipeline always gets an Analysis;
the fallback is marked in `backend` and the reason logged (never the message text).
"""

from __future__ import annotations

import json
import logging

import openai
import pydantic
from openai import AsyncOpenAI

from hilo.settings import reveal
from services.analyzer.backends import BackendUnavailable, RulesBackend
from services.analyzer.diff import aware
from services.analyzer.models import Analysis, Conversation
from services.analyzer.settings import AnalyzerSettings

log = logging.getLogger(__name__)

FALLBACK_NAME = "rules(fallback)"

INSTRUCTIONS = """\
You analyse a WhatsApp conversation between a business and a contact and return JSON.
- language: the contact's language as an ISO 639-1 code (es, en, ...).
- summary: one or two sentences, in the contact's language.
- sentiment: urgent when the contact says urgent/ASAP/today; negative for complaints and
  frustration; positive only when praise or thanks is the point; otherwise neutral.
- intent: schedule, reschedule, cancel, quote, support, complaint, info or other
  (greetings and thanks alone are other; asking for help with a problem is support).
- entities: people and organizations named (not the contact), plus dates, amounts, emails,
  phones; source_message_ids are ids of the messages that mention them.
- events: calendar events requested or agreed, in their latest state. key MUST be the id of
  the message that first asked for the event, so later analyses give it the same key.
  start: ISO 8601 with the conversation's UTC offset, or a bare date when no time was given.
  Resolve relative dates against the message's time in the conversation's time zone; a
  weekday means the first such weekday strictly after the message's date; an hour 1-7
  without am/pm is the afternoon. end only when a duration or end time was stated.
  status cancelled when the contact cancelled it; rescheduled true when it was moved.
- tasks: follow-up work for the business; each standing event gives one task (call, demo or
  meeting) due on its date with key equal to the event's key. priority 1 (most urgent) to 5.
- missing: for an event being arranged but incomplete, which of day, time, topic is missing.
- source_message_ids: the messages the analysis rests on.
"""


def _prompt(conversation: Conversation) -> str:
    return json.dumps(
        {
            "timezone": conversation.timezone,
            "contact_name": conversation.contact.name,
            "previous_call_summary": conversation.call_summary,
            "messages": [
                {"id": m.id, "direction": m.direction, "at": m.at.isoformat(), "text": m.text}
                for m in conversation.messages
            ],
        },
        ensure_ascii=False,
    )


class AnalysisRefused(Exception):
    """The model declined to answer (a refusal) or answered nothing."""


class OpenAIBackend:
    def __init__(self, settings: AnalyzerSettings, fallback: RulesBackend) -> None:
        api_key = reveal(settings.openai_api_key)
        if not api_key and not settings.openai_base_url:
            raise BackendUnavailable(
                "HILO_ANALYZER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                "OpenAI-compatible server)"
            )
        self.model = settings.analyzer_openai_model
        self.name = f"openai:{self.model}"
        self.fallback = fallback
        self.client = AsyncOpenAI(
            api_key=api_key or "unused",
            base_url=settings.openai_base_url,
            timeout=settings.analyzer_openai_timeout_seconds,
            max_retries=settings.analyzer_openai_max_retries,
        )

    async def analyze(self, conversation: Conversation) -> Analysis:
        try:
            return await self._ask(conversation)
        except (openai.OpenAIError, pydantic.ValidationError, ValueError, AnalysisRefused) as exc:
            log.warning(
                "openai analysis failed (%s%s); using the rules",
                type(exc).__name__,
                f" {exc.status_code}" if isinstance(exc, openai.APIStatusError) else "",
            )
        analysis = await self.fallback.analyze(conversation)
        return analysis.model_copy(update={"backend": FALLBACK_NAME})

    async def _ask(self, conversation: Conversation) -> Analysis:
        completion = await self.client.chat.completions.parse(
            model=self.model,
            messages=[
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": _prompt(conversation)},
            ],
            response_format=Analysis,
            temperature=0,
        )
        message = completion.choices[0].message if completion.choices else None
        if message is None or message.refusal or message.parsed is None:
            raise AnalysisRefused("refusal" if message and message.refusal else "empty answer")
        return self._tidy(message.parsed, conversation)

    def _tidy(self, analysis: Analysis, conversation: Conversation) -> Analysis:
        """Keep what the pipeline relies on true whatever the model said."""
        known = {m.id for m in conversation.messages}
        events = tuple(
            e.model_copy(
                update={
                    "start": aware(e.start, e.timezone or conversation.timezone),
                    "end": aware(e.end, e.timezone or conversation.timezone) if e.end else None,
                    "source_message_ids": tuple(i for i in e.source_message_ids if i in known),
                }
            )
            for e in analysis.events
        )
        return Analysis.model_validate(
            {
                **analysis.model_dump(),
                "events": [e.model_dump() for e in events],
                "source_message_ids": [i for i in analysis.source_message_ids if i in known],
                "backend": self.name,
            }
        )

    async def close(self) -> None:
        await self.client.close()
