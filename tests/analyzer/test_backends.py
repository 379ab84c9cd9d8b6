"""Backends: rules by default, OpenAI structured outputs against a local stand-in, fallbacks."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.analyzer.backends import BackendUnavailable, RulesBackend
from services.analyzer.choose_backend import make_backend
from services.analyzer.models import Analysis, Conversation, ConversationMessage
from services.analyzer.openai_backend import FALLBACK_NAME, OpenAIBackend
from services.analyzer.settings import AnalyzerSettings
from tests.analyzer.conftest import OpenAIStandIn

BOGOTA = ZoneInfo("America/Bogota")
PRIVATE_TEXT = "Quiero agendar una demo el viernes a las 10 con Ana de ACME"

CONVERSATION = Conversation(
    id="+573001112233",
    timezone="America/Bogota",
    messages=(
        ConversationMessage(
            id="m-1",
            direction="inbound",
            at=datetime(2026, 11, 18, 9, tzinfo=BOGOTA),
            text=PRIVATE_TEXT,
        ),
    ),
)

MODEL_ANSWER = {
    "language": "es",
    "summary": "Quiere una demo el viernes.",
    "sentiment": "neutral",
    "intent": "schedule",
    "entities": [{"type": "person", "text": "Ana", "source_message_ids": ["m-1"]}],
    "events": [
        {
            "key": "m-1",
            "title": "Demo",
            # A naive time: read in the event's zone.
            "start": "2026-11-20T10:00:00",
            "end": None,
            "timezone": "America/Bogota",
            "location": None,
            "attendees": [],
            "kind": "demo",
            "status": "standing",
            "rescheduled": False,
            "source_message_ids": ["m-1", "not-a-message"],
        }
    ],
    "tasks": [
        {
            "key": "m-1",
            "title": "Demo",
            "type": "demo",
            "priority": 3,
            "due": "2026-11-20",
            "source_message_ids": ["m-1"],
        }
    ],
    "missing": [],
    "source_message_ids": ["m-1"],
    "backend": "whatever the model says",
}


def openai_settings(standin: OpenAIStandIn, **fields: object) -> AnalyzerSettings:
    values: dict[str, object] = {
        "hilo_analyzer": "openai",
        "openai_base_url": standin.url,
        "openai_api_key": "sk-test",
        "analyzer_openai_timeout_seconds": 2.0,
        "analyzer_openai_max_retries": 0,
    }
    values.update(fields)
    return AnalyzerSettings(**values)  # type: ignore[arg-type]


def test_rules_is_the_default_backend() -> None:
    backend = make_backend(AnalyzerSettings(_env_file=None))
    assert isinstance(backend, RulesBackend)


def test_a_backend_that_cannot_start_says_why() -> None:
    with pytest.raises(BackendUnavailable, match="OPENAI_API_KEY"):
        make_backend(AnalyzerSettings(hilo_analyzer="openai", _env_file=None))
    with pytest.raises(BackendUnavailable, match="rules"):
        make_backend(AnalyzerSettings(hilo_analyzer="magic", _env_file=None))


async def test_openai_structured_output_becomes_an_analysis(openai_standin: OpenAIStandIn) -> None:
    openai_standin.answer = MODEL_ANSWER
    backend = make_backend(openai_settings(openai_standin))
    assert isinstance(backend, OpenAIBackend)
    try:
        analysis = await backend.analyze(CONVERSATION)
    finally:
        await backend.close()
    assert analysis.backend == "openai:gpt-4o-mini"
    assert analysis.intent == "schedule" and analysis.tasks[0].type == "demo"
    [event] = analysis.events
    assert event.start == datetime(2026, 11, 20, 10, tzinfo=BOGOTA)
    assert event.source_message_ids == ("m-1",)
    [request] = openai_standin.requests
    assert request["model"] == "gpt-4o-mini"
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["name"] == "Analysis"
    assert request["response_format"]["json_schema"]["strict"] is True
    assert PRIVATE_TEXT in request["messages"][-1]["content"]


@pytest.mark.parametrize("mode", ["malformed", "invalid", "refusal", "error500", "slow"])
async def test_any_openai_failure_falls_back_to_the_rules(
    openai_standin: OpenAIStandIn, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    openai_standin.mode = mode
    openai_standin.answer = MODEL_ANSWER
    retries = 1 if mode == "error500" else 0
    backend = make_backend(
        openai_settings(
            openai_standin, analyzer_openai_timeout_seconds=0.5, analyzer_openai_max_retries=retries
        )
    )
    with caplog.at_level(logging.INFO):
        try:
            analysis = await backend.analyze(CONVERSATION)
        finally:
            await backend.close()
    rules = RulesBackend().analyze_now(CONVERSATION)
    assert isinstance(analysis, Analysis) and analysis.backend == FALLBACK_NAME
    assert analysis.model_copy(update={"backend": rules.backend}) == rules
    # The SDK retried the 500 once before giving up.
    assert len(openai_standin.requests) == (2 if mode == "error500" else 1)
    assert "falls back" not in caplog.text and PRIVATE_TEXT not in caplog.text
    assert "using the rules" in caplog.text


async def test_a_backend_that_raises_gives_a_neutral_analysis_instead_of_stalling() -> None:
    from services.analyzer.backends import Guarded

    class Broken:
        name = "rules"

        async def analyze(self, conversation: Conversation) -> Analysis:
            raise RuntimeError("bug")

        async def close(self) -> None:
            return None

    analysis = await Guarded(Broken(), "es").analyze(CONVERSATION)
    assert analysis.backend == "rules(error)" and analysis.intent == "other"
    assert analysis.source_message_ids == ("m-1",)
