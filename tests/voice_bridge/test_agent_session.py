"""The agent WebSocket client and session pool against the ElevenLabs stand-in (no NATS needed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.voice_bridge.agent_session import (
    AgentConfig,
    AgentConnectFailed,
    AgentTimedOut,
    Opening,
    SessionPool,
)
from tests.voice_bridge.standin import ElevenLabsStandIn, expected_default_answer

OPENING = Opening(
    {"customer_name": "Alejandro", "call_summary": "Cotización"}, "Contexto: cotización"
)


async def opening() -> Opening:
    return OPENING


@pytest_asyncio.fixture
async def standin() -> AsyncIterator[ElevenLabsStandIn]:
    async with ElevenLabsStandIn() as server:
        yield server


def make_pool(
    standin: ElevenLabsStandIn, http: httpx.AsyncClient, **overrides: float
) -> SessionPool:
    config = AgentConfig(
        api_base=standin.url,
        agent_id=standin.agent_id,
        api_key=standin.api_key,
        connect_timeout=3.0,
        reply_timeout=overrides.get("reply_timeout", 3.0),
        quiet_seconds=overrides.get("quiet_seconds", 0.3),
        idle_seconds=overrides.get("idle_seconds", 60.0),
    )
    return SessionPool(config, http)


@pytest_asyncio.fixture
async def pool(standin: ElevenLabsStandIn) -> AsyncIterator[SessionPool]:
    async with httpx.AsyncClient() as http:
        sessions = make_pool(standin, http)
        yield sessions
        await sessions.close_all()


async def test_opens_text_only_with_context_then_relays_the_answer(
    standin: ElevenLabsStandIn, pool: SessionPool
) -> None:
    answer = await pool.ask("+573001112233", "¿Cuánto cuesta?", opening)

    assert answer == expected_default_answer("Alejandro", "¿Cuánto cuesta?")
    [connection] = standin.connections
    kinds = [m["type"] for m in connection.received]
    assert kinds == ["conversation_initiation_client_data", "contextual_update", "user_message"]
    initiation = connection.received[0]
    assert initiation["conversation_config_override"]["conversation"]["text_only"] is True
    assert initiation["dynamic_variables"] == OPENING.dynamic_variables
    assert connection.received[1]["text"] == OPENING.context_text
    assert connection.query == {"agent_id": standin.agent_id}


async def test_reuses_one_socket_per_conversation(
    standin: ElevenLabsStandIn, pool: SessionPool
) -> None:
    for text in ("uno", "dos", "tres"):
        assert await pool.ask("+573001112233", text, opening) == expected_default_answer(
            "Alejandro", text
        )
    assert len(standin.connections) == 1
    assert [m["text"] for m in standin.connections[0].of_type("user_message")] == [
        "uno",
        "dos",
        "tres",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[split] horarios", "Primera parte. Segunda parte."),
        ("[correct] cita", "Mañana a las 10."),
        ("[interrupt] proceso", "Claro, te explico"),
        ("[audio] nada de texto", "Solo audio."),
    ],
)
async def test_assembles_split_corrected_interrupted_and_audio_only_answers(
    pool: SessionPool, text: str, expected: str
) -> None:
    assert await pool.ask("+573001112233", text, opening) == expected


async def test_answers_pings_and_refuses_client_tools(
    standin: ElevenLabsStandIn, pool: SessionPool
) -> None:
    assert await pool.ask("+573001112233", "[ping]", opening) == "pong 41"
    assert await pool.ask("+573001112233", "[tool]", opening) == "herramienta tool-9 error=True"
    [connection] = standin.connections
    assert connection.of_type("pong") == [{"type": "pong", "event_id": 41}]
    [result] = connection.of_type("client_tool_result")
    assert result["tool_call_id"] == "tool-9" and result["is_error"] is True


async def test_a_slow_agent_times_out_and_the_next_turn_opens_a_fresh_socket(
    standin: ElevenLabsStandIn,
) -> None:
    async with httpx.AsyncClient() as http:
        pool = make_pool(standin, http, reply_timeout=0.5)
        with pytest.raises(AgentTimedOut):
            await pool.ask("+573001112233", "[slow] hola", opening)
        assert await pool.ask("+573001112233", "sigo aquí", opening) == expected_default_answer(
            "Alejandro", "sigo aquí"
        )
        await pool.close_all()
    assert len(standin.connections) == 2


async def test_a_dropped_socket_is_reopened_with_the_context_and_the_turn_resent(
    standin: ElevenLabsStandIn, pool: SessionPool
) -> None:
    assert await pool.ask("+573001112233", "[drop] hola", opening) == expected_default_answer(
        "Alejandro", "[drop] hola"
    )
    first, second = standin.connections
    assert first.closed
    assert [m["type"] for m in second.received] == [
        "conversation_initiation_client_data",
        "contextual_update",
        "user_message",
    ]
    assert second.received[1]["text"] == OPENING.context_text


async def test_signed_url_is_fetched_with_the_api_key() -> None:
    async with ElevenLabsStandIn(api_key="xi-secret") as standin, httpx.AsyncClient() as http:
        pool = make_pool(standin, http)
        assert await pool.ask("+573001112233", "hola", opening) == expected_default_answer(
            "Alejandro", "hola"
        )
        await pool.close_all()
        [(path, headers)] = standin.http_requests
        assert path.startswith("/v1/convai/conversation/get-signed-url?agent_id=agent_standin")
        assert headers["xi-api-key"] == "xi-secret"
        assert standin.connections[0].query["conversation_signature"]

        wrong = SessionPool(
            AgentConfig(api_base=standin.url, agent_id=standin.agent_id, api_key="wrong"), http
        )
        with pytest.raises(AgentConnectFailed):
            await wrong.ask("+573001112233", "hola", opening)
        assert len(standin.connections) == 1


async def test_without_the_signature_the_socket_is_refused() -> None:
    async with ElevenLabsStandIn(api_key="xi-secret") as standin, httpx.AsyncClient() as http:
        unsigned = SessionPool(AgentConfig(api_base=standin.url, agent_id=standin.agent_id), http)
        with pytest.raises(AgentConnectFailed):
            await unsigned.ask("+573001112233", "hola", opening)


async def test_an_unreachable_agent_fails_to_connect() -> None:
    async with httpx.AsyncClient() as http:
        pool = SessionPool(
            AgentConfig(api_base="http://127.0.0.1:9", agent_id="x", connect_timeout=1.0), http
        )
        with pytest.raises(AgentConnectFailed):
            await pool.ask("+573001112233", "hola", opening)


async def test_conversations_run_side_by_side(standin: ElevenLabsStandIn) -> None:
    # The agent answers none of the 20 until all 20 are waiting: asked one after another,
    # the first would time out unanswered.
    standin.answer_together = 20
    async with httpx.AsyncClient() as http:
        pool = make_pool(standin, http, quiet_seconds=0.1, reply_timeout=20.0)
        answers = await asyncio.gather(
            *(pool.ask(f"+5730000000{i:02d}", f"mensaje {i}", opening) for i in range(20))
        )
        await pool.close_all()
    assert answers == [expected_default_answer("Alejandro", f"mensaje {i}") for i in range(20)]
    assert len(standin.connections) == 20


async def test_idle_sockets_are_closed_and_reopened_on_demand(standin: ElevenLabsStandIn) -> None:
    async with httpx.AsyncClient() as http:
        pool = make_pool(standin, http, idle_seconds=0.2)
        await pool.ask("+573001112233", "hola", opening)
        assert len(pool) == 1
        await asyncio.sleep(0.3)
        assert await pool.close_idle() == 1
        assert len(pool) == 0
        for _ in range(50):
            if standin.connections[0].closed:
                break
            await asyncio.sleep(0.02)
        assert standin.connections[0].closed
        await pool.ask("+573001112233", "otra vez", opening)
        assert len(standin.connections) == 2
        await pool.close_all()
