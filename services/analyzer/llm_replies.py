"""Replies written by a model (``HILO_REPLIES=openai``), held to the business's facts.

The model gets the conversation so far, the call's summary, the analysis, the business
profile and the offline answer (the calendar's verdict and the facts found), and
returns structured output validated by pydantic: the text and whether a person is
needed. A reply that states a number found in none of those (an invented price, hour or
slot: ``factcheck.py``), a timeout, an error, a refusal or an answer that does not
validate is replaced by the offline answer, so the contact always gets a true reply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import openai
import pydantic
from openai import AsyncOpenAI
from pydantic import BaseModel, ConfigDict, Field

from hilo.settings import reveal
from services.analyzer.answers import Answer, Situation
from services.analyzer.backends import BackendUnavailable
from services.analyzer.factcheck import Sources, invented
from services.analyzer.settings import AnalyzerSettings

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
You write the next WhatsApp reply of a business to a contact. Return JSON.
- text: the reply, short and friendly, in the language given (es or en).
- needs_person: true when the contact asks something the profile and the conversation do
  not answer; then say that a person from the team will answer, and do not guess.
State only facts found in the business profile, the conversation, the call summary or the
draft: never a price, an hour, a date or a free slot that is not written there. The draft
is a correct reply built from the same facts and the calendar: keep its facts (a slot it
confirms or refuses, the alternatives it offers), improve its words.
"""


class ModelReply(BaseModel):
    """The model's structured answer."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1500)
    needs_person: bool


class ReplyRefused(Exception):
    """The model declined, or answered nothing."""


class LlmReplies:
    def __init__(self, settings: AnalyzerSettings) -> None:
        if not settings.openai_api_key and not settings.openai_base_url:
            raise BackendUnavailable(
                "HILO_REPLIES=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local "
                "OpenAI-compatible server)"
            )
        self.model = settings.analyzer_replies_openai_model or settings.analyzer_openai_model
        self.client = AsyncOpenAI(
            api_key=reveal(settings.openai_api_key) or "unused",
            base_url=settings.openai_base_url,
            timeout=settings.analyzer_replies_timeout_seconds,
            max_retries=settings.analyzer_openai_max_retries,
        )

    async def close(self) -> None:
        await self.client.close()

    async def write(
        self, situation: Situation, offline: Answer, history: Sequence[tuple[str, str]]
    ) -> Answer:
        """The model's reply when it is sound; otherwise ``offline``."""
        assert offline.text is not None
        sources = self._sources(situation, offline, history)
        try:
            reply = await self._ask(situation, offline, history)
        except (openai.OpenAIError, pydantic.ValidationError, ValueError, ReplyRefused) as exc:
            log.warning(
                "model reply failed (%s%s); the offline answer replies",
                type(exc).__name__,
                f" {exc.status_code}" if isinstance(exc, openai.APIStatusError) else "",
            )
            return offline
        made_up = invented(reply.text, sources)
        if made_up:
            # Only the kind and the number are logged (no message text).
            log.warning("model reply stated what its sources do not: %s", ", ".join(made_up))
            return offline
        return Answer(reply.text.strip(), person_needed=reply.needs_person)

    @staticmethod
    def _sources(
        situation: Situation, offline: Answer, history: Sequence[tuple[str, str]]
    ) -> Sources:
        profile = situation.profile
        facts = [offline.text or "", *(text for _, text in history), *situation.texts]
        if situation.call_summary:
            facts.append(situation.call_summary)
        if profile is not None:
            facts += [s.price or "" for s in profile.services]
            facts += [a for f in profile.faq for a in (*f.q.all_texts(), *f.a.all_texts())]
            facts += [span for spans in profile.hours.values() for span in spans]
            facts += [profile.address or "", profile.phone or ""]
            facts += [d.isoformat() for d in profile.closed_dates]
        context = [profile.model_dump_json()] if profile else []
        return Sources(tuple(f for f in facts if f), tuple(context))

    async def _ask(
        self, situation: Situation, offline: Answer, history: Sequence[tuple[str, str]]
    ) -> ModelReply:
        analysis = situation.reply.analysis
        profile = situation.profile
        prompt = {
            "language": situation.reply.language,
            "business_profile": profile.model_dump(mode="json") if profile else None,
            "conversation": [{"from": d, "text": t} for d, t in history],
            "call_summary": situation.call_summary,
            "analysis": {
                "intent": analysis.intent,
                "sentiment": analysis.sentiment,
                "summary": analysis.summary,
            },
            "draft": offline.text,
            "draft_hands_to_person": offline.person_needed,
        }
        completion = await self.client.chat.completions.parse(
            model=self.model,
            messages=[
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": json.dumps(prompt, ensure_ascii=False)},
            ],
            response_format=ModelReply,
            temperature=0.2,
        )
        message = completion.choices[0].message if completion.choices else None
        if message is None or message.refusal or message.parsed is None:
            raise ReplyRefused("refusal" if message and message.refusal else "empty answer")
        return message.parsed


def make_llm_replies(settings: AnalyzerSettings) -> LlmReplies | None:
    name = settings.hilo_replies.strip().lower() or "templates"
    if name == "templates":
        return None
    if name == "openai":
        return LlmReplies(settings)
    raise BackendUnavailable(f"HILO_REPLIES={settings.hilo_replies!r}: use `templates` or `openai`")
