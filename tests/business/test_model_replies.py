"""HILO_REPLIES=openai against a local OpenAI-compatible stand-in: the model writes, the
profile and the calendar check it, and the offline answer replies whenever it fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hilo.bus import EventBus
from hilo.testing import Published
from tests.business.conftest import Chat, OpenAIStandIn, Started

OFFLINE_PRICE = "Limpieza dental: 45 €, 45 min."


def model(standin: OpenAIStandIn, **overrides: Any) -> dict[str, Any]:
    return {
        "hilo_replies": "openai",
        "openai_base_url": standin.url,
        "openai_api_key": "test-key",
        "analyzer_openai_max_retries": 0,
        **overrides,
    }


async def test_the_model_writes_the_reply_from_the_profile_and_the_conversation(
    clinic: Callable[..., Started],
    bus: EventBus,
    published: Published,
    openai_standin: OpenAIStandIn,
) -> None:
    openai_standin.answer = {
        "text": "¡Hola Ana! Una limpieza dental cuesta 45 € y dura unos 45 minutos.",
        "needs_person": False,
    }
    async with clinic(**model(openai_standin)) as (_, runtime):
        reply = await Chat(bus, published, runtime).say("¿Cuánto cuesta la limpieza?")

    assert reply == openai_standin.answer["text"]
    [request] = openai_standin.requests
    assert request["response_format"]["type"] == "json_schema"
    prompt = json.loads(request["messages"][-1]["content"])
    assert prompt["business_profile"]["name"] == "Clínica de Prueba"
    assert prompt["draft"] == OFFLINE_PRICE
    assert prompt["conversation"][-1] == {"from": "inbound", "text": "¿Cuánto cuesta la limpieza?"}


async def test_a_reply_that_invents_a_price_is_replaced_by_the_offline_answer(
    clinic: Callable[..., Started],
    bus: EventBus,
    published: Published,
    openai_standin: OpenAIStandIn,
) -> None:
    openai_standin.answer = {"text": "La limpieza cuesta solo 30 €.", "needs_person": False}
    async with clinic(**model(openai_standin)) as (_, runtime):
        reply = await Chat(bus, published, runtime).say("¿Cuánto cuesta la limpieza?")

    assert len(openai_standin.requests) == 1
    assert reply == OFFLINE_PRICE


@pytest.mark.parametrize("mode", ["refusal", "malformed", "invalid", "error500", "slow"])
async def test_any_model_failure_gets_the_offline_answer(
    mode: str,
    clinic: Callable[..., Started],
    bus: EventBus,
    published: Published,
    openai_standin: OpenAIStandIn,
) -> None:
    openai_standin.mode = mode
    openai_standin.answer = {"text": "Cuesta 45 €.", "needs_person": "perhaps"}
    overrides = model(openai_standin, analyzer_replies_timeout_seconds=0.5)
    async with clinic(**overrides) as (_, runtime):
        reply = await Chat(bus, published, runtime).say("¿Cuánto cuesta la limpieza?")

    assert openai_standin.requests
    assert reply == OFFLINE_PRICE


async def test_the_model_can_hand_the_conversation_to_a_person(
    clinic: Callable[..., Started],
    bus: EventBus,
    published: Published,
    openai_standin: OpenAIStandIn,
) -> None:
    openai_standin.answer = {
        "text": "Eso te lo confirma una persona del equipo en breve.",
        "needs_person": True,
    }
    async with clinic(**model(openai_standin)) as (_, runtime):
        reply = await Chat(bus, published, runtime).say("¿Puedo ir con mi perro a la consulta?")
        [needed] = await published.wait_for("conversation.person_needed")
        [task] = await published.wait_for("task.created")

    assert reply == openai_standin.answer["text"]
    assert needed.task_id == task.task_id and task.task_type == "support"
