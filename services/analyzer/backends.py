"""What an analyzer backend is, and the offline one (`rules`, the default).

The OpenAI backend (`openai_backend.py`) builds on this module and falls back to the rules;
`choose_backend.py` picks one from the settings. Nothing here imports either of them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from services.analyzer.models import Analysis, Conversation

log = logging.getLogger(__name__)


class BackendUnavailable(RuntimeError):
    """The configured backend cannot start; the message says what to set."""


class Backend(Protocol):
    name: str

    async def analyze(self, conversation: Conversation) -> Analysis: ...

    async def close(self) -> None: ...


class RulesBackend:
    """The offline rules engine (services/analyzer/rules), run off the event loop."""

    name = "rules"

    def __init__(self) -> None:
        try:
            from services.analyzer.rules import analyze
        except ImportError as exc:  # pragma: no cover - a broken install
            raise BackendUnavailable(f"the rules engine cannot be imported: {exc}") from exc
        self._analyze = analyze

    def analyze_now(self, conversation: Conversation) -> Analysis:
        analysis: Analysis = self._analyze(conversation)
        return analysis

    async def analyze(self, conversation: Conversation) -> Analysis:
        return await asyncio.to_thread(self.analyze_now, conversation)

    async def close(self) -> None:
        return None


class Guarded:
    """A backend whose bug on one conversation must not stall that conversation forever.

    The live worker retries a failed burst; an analysis that raises on some text would
    raise again on every retry and on every later message (the text stays in the window).
    Instead the burst gets a neutral analysis, marked `<backend>(error)`, and is answered
    generically. The exception is logged (class and traceback, never the text).
    """

    def __init__(self, inner: Backend, default_language: str) -> None:
        self.inner = inner
        self.name = inner.name
        self.default_language = default_language

    async def analyze(self, conversation: Conversation) -> Analysis:
        try:
            return await self.inner.analyze(conversation)
        except Exception:
            log.exception("the %s backend failed on a conversation", self.inner.name)
            return Analysis(
                language=conversation.language or self.default_language,
                summary="",
                sentiment="neutral",
                intent="other",
                source_message_ids=tuple(m.id for m in conversation.messages[-1:]),
                backend=f"{self.inner.name}(error)",
            )

    async def close(self) -> None:
        await self.inner.close()
