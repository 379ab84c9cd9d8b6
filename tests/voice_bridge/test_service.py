"""The bridge in-process on real NATS and PostgreSQL, talking to the ElevenLabs stand-in."""

from __future__ import annotations

import uuid

import asyncpg

from hilo.bus import EventBus
from hilo.testing import eventually
from schemas import (
    AudioTranscribed,
    CallEnded,
    CallFailed,
    CallTurn,
    ConversationTakeoverRequested,
    MessageReceived,
)
from services.voice_bridge.call_record import call_ended_event_id
from services.voice_bridge.settings import DEFAULT_FALLBACK_ES
from tests.voice_bridge.conftest import BridgeFactory, Published, drained
from tests.voice_bridge.standin import ElevenLabsStandIn, expected_default_answer

CUSTOMER = "+573001112233"


def finished_call(
    conversation: str = CUSTOMER, call_id: str = "conv_abc", **fields: object
) -> CallEnded:
    values: dict[str, object] = {
        "conversation": conversation,
        "call_id": call_id,
        "status": "done",
        "summary": "Alejandro preguntó por el plan empresarial.",
        "transcript": (
            CallTurn(role="agent", message="Hola, ¿en qué te ayudo?"),
            CallTurn(role="user", message="Quiero saber el precio del plan empresarial"),
        ),
        "dynamic_variables": {"customer_name": "Alejandro Ruiz"},
        "data_collection": {
            "topics": {"value": "el plan empresarial"},
            "pending_questions": {"value": "precio por usuario"},
        },
    }
    values.update(fields)
    return CallEnded.model_validate(values)


def text_message(text: str, conversation: str = CUSTOMER) -> MessageReceived:
    return MessageReceived(
        conversation=conversation,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        text=text,
    )


async def hand_off(bus: EventBus, published: Published, conversation: str = CUSTOMER) -> None:
    await bus.publish(finished_call(conversation, call_id=f"conv_{conversation[1:]}"))
    await published.wait_for("reply.ready", conversation)
    await published.wait_for("conversation.mode_changed", conversation)


async def test_a_finished_call_is_handed_off_exactly_once(
    bridge: BridgeFactory, bus: EventBus, published: Published, pool: asyncpg.Pool
) -> None:
    call = finished_call()
    async with bridge():
        await bus.publish(call)
        [mode] = await published.wait_for("conversation.mode_changed")
        [opener] = await published.wait_for("reply.ready")
        # The same call again: the webhook delivered twice (another ingest id), a replay.
        await bus.publish(finished_call(summary="otro resumen"))
        await bus.publish_stored(call.model_dump(mode="json"), replay_id="r1")
        await drained(bus)

    assert mode.mode == "voice_agent" and mode.call_id == "conv_abc"
    assert mode.reason == "call_ended" and mode.causation_id == call.event_id
    assert opener.author == "voice_agent" and opener.business_initiated
    assert opener.language == "es"
    assert opener.text.startswith(
        "Hola Alejandro, hace un momento hablamos de el plan empresarial."
        " Quedó pendiente: precio por usuario."
    )
    assert len(published.of("reply.ready")) == 1
    assert len(published.of("conversation.mode_changed")) == 1
    row = await pool.fetchrow("SELECT * FROM voice_bridge_handoffs WHERE call_id = 'conv_abc'")
    assert row["outcome"] == "handed_off" and row["published_at"] is not None


async def test_messages_of_a_handed_off_conversation_go_to_the_agent(
    bridge: BridgeFactory, bus: EventBus, published: Published, standin: ElevenLabsStandIn
) -> None:
    async with bridge():
        await hand_off(bus, published)
        question = text_message("¿Y cuánto cuesta por usuario?")
        await bus.publish(question)
        _opener, reply = await published.wait_for("reply.ready", count=2)
        note = MessageReceived.model_validate(
            {
                "conversation": CUSTOMER,
                "provider": "twilio",
                "provider_message_id": f"SM{uuid.uuid4().hex}",
                "kind": "audio",
                "media": [{"url": "https://example.invalid/n.ogg", "content_type": "audio/ogg"}],
            }
        )
        await bus.publish(note)
        voice_note = AudioTranscribed(
            conversation=CUSTOMER,
            message_event_id=note.event_id,
            text="Y otra cosa, ¿hay descuento anual?",
            backend="local",
            model="tiny",
        )
        await bus.publish(voice_note)
        *_, spoken_reply = await published.wait_for("reply.ready", count=3)
        # A redelivery and a replay of the question: no second reply, no second question.
        await bus.publish_stored(question.model_dump(mode="json"), replay_id="r2")
        await drained(bus)

    assert reply.text == expected_default_answer("Alejandro Ruiz", question.text or "")
    assert reply.author == "voice_agent" and reply.in_reply_to == (question.event_id,)
    assert reply.causation_id == question.event_id and not reply.business_initiated
    assert spoken_reply.text == expected_default_answer("Alejandro Ruiz", voice_note.text)
    assert spoken_reply.in_reply_to == (voice_note.message_event_id,)
    assert len(published.of("reply.ready")) == 3
    [connection] = standin.connections
    assert [m["text"] for m in connection.of_type("user_message")] == [
        question.text,
        voice_note.text,
    ]
    variables = connection.dynamic_variables
    assert variables["customer_name"] == "Alejandro Ruiz"
    assert variables["pending_items"] == "precio por usuario"
    [context] = connection.of_type("contextual_update")
    assert (
        "Summary of the phone call: Alejandro preguntó por el plan empresarial." in context["text"]
    )
    assert "Agent: Hola Alejandro, hace un momento hablamos" in context["text"]
    assert question.text not in context["text"]  # it goes as the user turn, not as context


async def test_nobody_automatic_answers_outside_voice_agent_mode(
    bridge: BridgeFactory, bus: EventBus, published: Published, standin: ElevenLabsStandIn
) -> None:
    async with bridge():
        await bus.publish(text_message("hola, ¿hay alguien?"))  # analyzer mode (default)
        await hand_off(bus, published, "+573009990000")
        await bus.publish(
            ConversationTakeoverRequested(conversation="+573009990000", operator="ana")
        )
        await bus.publish(text_message("quiero hablar con una persona", "+573009990000"))
        await drained(bus)
    assert len(published.of("reply.ready")) == 1  # the opener only
    assert standin.connections == []


async def test_a_silent_agent_gets_a_fallback_reply_and_a_failure_event(
    bridge: BridgeFactory, bus: EventBus, published: Published
) -> None:
    async with bridge(voice_bridge_reply_timeout_seconds=0.5):
        await hand_off(bus, published)
        question = text_message("[slow] ¿me confirmas la cita?")
        await bus.publish(question)
        [failure] = await published.wait_for("agent.reply_failed")
        _opener, fallback = await published.wait_for("reply.ready", count=2)
    assert failure.reason == "timeout" and failure.message_event_id == str(question.event_id)
    assert fallback.text == DEFAULT_FALLBACK_ES and fallback.in_reply_to == (question.event_id,)


async def test_an_unreachable_agent_gets_the_configured_fallback(
    bridge: BridgeFactory, bus: EventBus, published: Published
) -> None:
    async with bridge(
        elevenlabs_api_base="http://127.0.0.1:9",
        voice_bridge_fallback_text_en="We'll write back shortly.",
    ):
        await bus.publish(finished_call(dynamic_variables={"customer_name": "Ann", "lang": "en"}))
        await published.wait_for("reply.ready")
        await bus.publish(text_message("When is the delivery?"))
        [failure] = await published.wait_for("agent.reply_failed")
        _opener, fallback = await published.wait_for("reply.ready", count=2)
    assert failure.reason == "connect_failed"
    assert fallback.text == "We'll write back shortly." and fallback.language == "en"


async def test_a_dropped_socket_is_reopened_with_the_context(
    bridge: BridgeFactory, bus: EventBus, published: Published, standin: ElevenLabsStandIn
) -> None:
    async with bridge():
        await hand_off(bus, published)
        await bus.publish(text_message("primera pregunta"))
        await published.wait_for("reply.ready", count=2)
        await bus.publish(text_message("[drop] segunda pregunta"))
        *_, reply = await published.wait_for("reply.ready", count=3)
    assert reply.text == expected_default_answer("Alejandro Ruiz", "[drop] segunda pregunta")
    first, second = standin.connections
    assert first.closed
    [context] = second.of_type("contextual_update")
    assert "Customer: primera pregunta" in context["text"]
    assert expected_default_answer("Alejandro Ruiz", "primera pregunta") in context["text"]


async def test_stop_takes_the_conversation_from_the_agent(
    bridge: BridgeFactory, bus: EventBus, published: Published, standin: ElevenLabsStandIn
) -> None:
    async with bridge():
        await hand_off(bus, published)
        await bus.publish(text_message("hola"))
        await published.wait_for("reply.ready", count=2)
        stop = text_message("Baja")
        await bus.publish(stop)
        _handoff, back = await published.wait_for("conversation.mode_changed", count=2)
        await bus.publish(text_message("¿sigues ahí?"))
        await drained(bus)
        assert standin.open_connections == 0
    assert back.mode == "nobody" and back.reason == "opted_out"
    assert back.causation_id == stop.event_id
    assert len(published.of("reply.ready")) == 2
    assert [m["text"] for m in standin.connections[0].of_type("user_message")] == ["hola"]


async def test_failed_calls_get_the_configured_follow_up_or_nothing(
    bridge: BridgeFactory, bus: EventBus, published: Published
) -> None:
    async with bridge(voice_bridge_failed_call_text_es="Te llamamos y no pudimos hablar."):
        await bus.publish(CallFailed(conversation=CUSTOMER, call_id="c1", reason="busy"))
        [follow_up] = await published.wait_for("reply.ready")
        await bus.publish(CallFailed(conversation=CUSTOMER, call_id="c1", reason="busy"))
        await drained(bus)
    assert follow_up.text == "Te llamamos y no pudimos hablar." and follow_up.business_initiated
    assert len(published.of("reply.ready")) == 1
    assert published.of("conversation.mode_changed") == []

    async with bridge():
        await bus.publish(
            CallFailed(conversation="+573005550000", call_id="c2", reason="no-answer")
        )
        await drained(bus)
    assert len(published.of("reply.ready")) == 1


async def test_conversations_do_not_wait_for_each_other(
    bridge: BridgeFactory, bus: EventBus, published: Published, standin: ElevenLabsStandIn
) -> None:
    customers = [f"+5730012300{i:02d}" for i in range(12)]
    async with bridge():
        for customer in customers:
            await bus.publish(finished_call(customer, call_id=f"conv_{customer[1:]}"))
        await published.wait_for("reply.ready", count=len(customers))
        # No answer until every conversation's question is with the agent at once.
        standin.answer_together = len(customers)
        for customer in customers:
            await bus.publish(text_message(f"pregunta de {customer}", customer))
        await published.wait_for("reply.ready", count=2 * len(customers))
    assert len(standin.connections) == len(customers)
    for customer in customers:
        *_, reply = published.of("reply.ready", customer)
        assert reply.text == expected_default_answer("Alejandro Ruiz", f"pregunta de {customer}")


async def test_idle_sockets_close_and_reopen_with_the_whole_context(
    bridge: BridgeFactory, bus: EventBus, published: Published, standin: ElevenLabsStandIn
) -> None:
    async with bridge(voice_bridge_idle_seconds=0.4):
        await hand_off(bus, published)
        await bus.publish(text_message("antes de la pausa"))
        await published.wait_for("reply.ready", count=2)

        async def closed() -> bool:
            return standin.open_connections == 0

        await eventually(closed)
        await bus.publish(text_message("después de la pausa"))
        await published.wait_for("reply.ready", count=3)
    assert len(standin.connections) == 2
    [context] = standin.connections[1].of_type("contextual_update")
    assert "Customer: antes de la pausa" in context["text"]


async def test_batch_calls_whose_webhook_never_came_are_handed_off(
    bridge: BridgeFactory, bus: EventBus, published: Published, standin: ElevenLabsStandIn
) -> None:
    standin.api_key = "xi-batch"
    standin.batches["btcal_1"] = {
        "id": "btcal_1",
        "status": "completed",
        "recipients": [
            {
                "id": "r1",
                "phone_number": "+573001110001",
                "status": "completed",
                "conversation_id": "conv_b1",
            },
            {
                "id": "r2",
                "phone_number": "+573001110002",
                "status": "failed",
                "conversation_id": None,
            },
            {
                "id": "r3",
                "phone_number": "+573001110003",
                "status": "in_progress",
                "conversation_id": "conv_b3",
            },
        ],
    }
    standin.conversations["conv_b1"] = {
        "agent_id": standin.agent_id,
        "conversation_id": "conv_b1",
        "status": "done",
        "transcript": [
            {"role": "user", "message": "Hola, quiero la cotización", "time_in_call_secs": 1}
        ],
        "metadata": {"phone_call": {"direction": "outbound", "external_number": "+573001110001"}},
        "analysis": {
            "transcript_summary": "Pidió la cotización.",
            "data_collection_results": {"next_steps": {"value": "enviar la cotización"}},
        },
        "conversation_initiation_client_data": {"dynamic_variables": {"customer_name": "Lucía"}},
    }
    async with bridge(
        elevenlabs_api_key="xi-batch",
        voice_bridge_batch_ids="btcal_1",
        voice_bridge_batch_poll_seconds=0.2,
    ):
        [call] = await published.wait_for("call.ended")
        [opener] = await published.wait_for("reply.ready")
        polled = len(standin.http_requests)

        async def polled_three_more_times() -> bool:
            batch_polls = [p for p, _ in standin.http_requests[polled:] if "batch" in p]
            return len(batch_polls) >= 3

        await eventually(polled_three_more_times)
        await drained(bus)
    assert call.event_id == call_ended_event_id("conv_b1")
    assert call.conversation == "+573001110001"
    assert (
        opener.text.startswith("Hola Lucía,")
        and "Próximos pasos: enviar la cotización." in opener.text
    )
    assert len(published.of("call.ended")) == 1
    assert len(published.of("reply.ready")) == 1
    paths = [path for path, _ in standin.http_requests]
    assert "/v1/convai/conversations/conv_b3" not in paths
    assert all(headers["xi-api-key"] == "xi-batch" for _, headers in standin.http_requests)


async def test_a_slow_agent_in_one_conversation_does_not_delay_another(
    bridge: BridgeFactory, bus: EventBus, published: Published, standin: ElevenLabsStandIn
) -> None:
    async with bridge(voice_bridge_reply_timeout_seconds=30.0):
        await hand_off(bus, published, "+573001230001")
        await hand_off(bus, published, "+573001230002")
        # The agent holds the first conversation's answer until the second one's is out.
        await bus.publish(text_message("[hold] primero", "+573001230001"))
        await bus.publish(text_message("rápido", "+573001230002"))
        await published.wait_for("reply.ready", "+573001230002", count=2)
        assert published.of("reply.ready", "+573001230001")[1:] == []  # still thinking
        standin.release.set()
        await published.wait_for("reply.ready", "+573001230001", count=2)


async def test_a_question_queued_before_a_restart_is_answered_after_it(
    bridge: BridgeFactory, bus: EventBus, published: Published, standin: ElevenLabsStandIn
) -> None:
    standin.slow_seconds = 30
    async with bridge(voice_bridge_reply_timeout_seconds=20.0):
        await hand_off(bus, published)
        await bus.publish(text_message("[slow] ¿me oyes?"))
        await drained(bus)  # queued and acked; the agent is still "thinking" when we stop
    assert len(published.of("reply.ready")) == 1
    standin.slow_seconds = 0.0
    async with bridge():
        *_, reply = await published.wait_for("reply.ready", count=2)
    assert reply.text == expected_default_answer("Alejandro Ruiz", "[slow] ¿me oyes?")
    assert len(standin.connections) == 2


async def test_a_quiet_voice_agent_conversation_goes_back_to_the_analyzer(
    bridge: BridgeFactory, bus: EventBus, published: Published
) -> None:
    async with bridge(router_voice_agent_idle_hours=0.5 / 3600, router_sweep_seconds=0.2):
        await hand_off(bus, published)
        _handoff, back = await published.wait_for("conversation.mode_changed", count=2)
        await bus.publish(text_message("hola otra vez"))
        await drained(bus)
    assert back.mode == "analyzer" and back.reason == "expired"
    assert len(published.of("reply.ready")) == 1
