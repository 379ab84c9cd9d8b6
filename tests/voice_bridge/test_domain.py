"""Pure parts of the bridge: opener, context, protocol frames, call records."""

from __future__ import annotations

import json
import uuid

import pytest

from hilo.text import guess_language
from schemas import CallEnded, CallFailed, CallTurn, envelope
from services.voice_bridge import agent_protocol as protocol
from services.voice_bridge.call_record import (
    UnusableRecord,
    call_ended_event_id,
    call_ended_from_record,
)
from services.voice_bridge.context import ChatLine, conversation_so_far, dynamic_variables
from services.voice_bridge.opener import (
    call_context,
    failed_call_language,
    is_completed,
    opener_text,
)


def a_call(**fields: object) -> CallEnded:
    base: dict[str, object] = {
        "conversation": "+573001112233",
        "call_id": "conv_1",
        "status": "done",
        "summary": "El cliente preguntó por el plan empresarial. Quiere precios.",
    }
    base.update(fields)
    return CallEnded.model_validate(base)


def test_spanish_opener_from_data_collection_results() -> None:
    call = a_call(
        dynamic_variables={"customer_name": "Alejandro Gómez", "language": "es"},
        data_collection={
            "topics": {"data_collection_id": "topics", "value": "El plan empresarial"},
            "pending_questions": {"value": "precio por usuario; descuento anual"},
            "next_steps": {"value": ["enviar la propuesta"]},
        },
    )
    text = opener_text(call_context(call, "en"))
    assert text == (
        "Hola Alejandro, hace un momento hablamos de el plan empresarial."
        " Quedó pendiente: precio por usuario y descuento anual."
        " Próximos pasos: enviar la propuesta."
        " Si tienes cualquier pregunta, escríbeme por aquí."
    )


def test_english_opener_falls_back_to_the_summary() -> None:
    call = a_call(
        summary="The customer asked about delivery times. He will decide tomorrow.",
        dynamic_variables={"name": "Ann"},
        metadata={"main_language": "en"},
        data_collection={"Next Steps": "send the quote\nbook a demo"},
    )
    context = call_context(call, "es")
    assert context.language == "en"
    assert opener_text(context) == (
        "Hi Ann, we just spoke about the customer asked about delivery times."
        " Next steps: send the quote and book a demo."
        " If you have any questions, just write to me here."
    )


def test_opener_without_anything_known_still_greets() -> None:
    context = call_context(a_call(summary=None), "es")
    assert opener_text(context) == (
        "Hola, gracias por la llamada de hace un momento."
        " Si tienes cualquier pregunta, escríbeme por aquí."
    )


def test_language_is_guessed_from_what_the_customer_said() -> None:
    turns = (
        CallTurn(role="agent", message="Hello!"),
        CallTurn(role="user", message="Hola, quiero saber cuando llega el pedido por favor"),
    )
    assert call_context(a_call(transcript=turns), "en").language == "es"
    assert guess_language(["I want to know when it arrives please"], "es") == "en"
    assert guess_language([], "en") == "en"


def test_completed_and_failed_calls() -> None:
    assert is_completed(a_call(status="done"))
    assert is_completed(a_call(status=None))
    assert not is_completed(a_call(status="failed"))
    failed = CallFailed(
        conversation="+573001112233",
        call_id="c",
        reason="busy",
        metadata={"dynamic_variables": {"idioma": "English"}},
    )
    assert failed_call_language(failed, "es") == "en"


def test_context_for_the_agent() -> None:
    context = call_context(
        a_call(
            dynamic_variables={"customer_name": "Alejandro"},
            data_collection={"pending": {"value": "precio"}},
        ),
        "es",
    )
    variables = dynamic_variables(context, "+573001112233")
    assert variables["customer_name"] == "Alejandro"
    assert variables["pending_items"] == "precio"
    assert all(isinstance(v, str) for v in variables.values())
    text = conversation_so_far(
        context, [ChatLine("agent", "Hola Alejandro"), ChatLine("customer", "¿y el precio?")]
    )
    assert "Summary of the phone call: El cliente preguntó" in text
    assert text.endswith("Agent: Hola Alejandro\nCustomer: ¿y el precio?")
    assert dynamic_variables(None, "+57300") == {"channel": "whatsapp", "customer_phone": "+57300"}


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://api.elevenlabs.io", "wss://api.elevenlabs.io/v1/convai/conversation?agent_id=a1"),
        ("http://127.0.0.1:8080/", "ws://127.0.0.1:8080/v1/convai/conversation?agent_id=a1"),
        (
            "https://proxy.example/eleven",
            "wss://proxy.example/eleven/v1/convai/conversation?agent_id=a1",
        ),
    ],
)
def test_websocket_url_is_derived_from_the_api_base(base: str, expected: str) -> None:
    assert protocol.websocket_url(base, "a1") == expected


def test_websocket_url_rejects_other_schemes() -> None:
    with pytest.raises(ValueError):
        protocol.websocket_url("ftp://x", "a1")


def test_frames_we_send() -> None:
    initiation = json.loads(protocol.initiation({"customer_name": "Ana"}))
    assert initiation == {
        "type": "conversation_initiation_client_data",
        "conversation_config_override": {"conversation": {"text_only": True}},
        "dynamic_variables": {"customer_name": "Ana"},
    }
    assert json.loads(protocol.pong(5)) == {"type": "pong", "event_id": 5}
    assert json.loads(protocol.user_message("¿precio?")) == {
        "type": "user_message",
        "text": "¿precio?",
    }
    assert json.loads(protocol.client_tool_result("t1", "no")) == {
        "type": "client_tool_result",
        "tool_call_id": "t1",
        "result": "no",
        "is_error": True,
    }


def test_parsing_and_collecting_an_answer() -> None:
    frames = [
        {"type": "agent_response", "agent_response_event": {"agent_response": "Uno."}},
        {"type": "agent_response", "agent_response_event": {"agent_response": "Dos y tres"}},
        {"type": "interruption", "interruption_event": {"event_id": 2}},
        {
            "type": "agent_response_correction",
            "agent_response_correction_event": {
                "original_agent_response": "Dos y tres",
                "corrected_agent_response": "Dos.",
            },
        },
        {"type": "audio", "audio_event": {"audio_base_64": "AA", "event_id": 1}},
        {"type": "vad_score", "vad_score_event": {"vad_score": 0.1}},
    ]
    answer = protocol.AnswerCollector()
    taken = [answer.feed(protocol.parse(json.dumps(f))) for f in frames]
    assert taken == [True, True, True, True, True, False]
    assert answer.interrupted
    assert answer.text() == "Uno. Dos."


def test_parse_rejects_garbage_and_reads_control_frames() -> None:
    with pytest.raises(protocol.ProtocolError):
        protocol.parse("not json")
    with pytest.raises(protocol.ProtocolError):
        protocol.parse("[1]")
    ping = protocol.parse('{"type":"ping","ping_event":{"event_id":3,"ping_ms":20}}')
    assert ping == protocol.Ping(event_id=3, ping_ms=20)
    call = protocol.parse(
        '{"type":"client_tool_call","client_tool_call":{"tool_name":"t","tool_call_id":"i",'
        '"parameters":{"a":1}}}'
    )
    assert call == protocol.ClientToolCall(tool_name="t", tool_call_id="i", parameters={"a": 1})
    with pytest.raises(protocol.ProtocolError, match="ping frame with unreadable ping_event"):
        protocol.parse('{"type":"ping","ping_event":{"ping_ms":20}}')
    assert protocol.parse('{"type":"user_transcript"}') == protocol.Other(type="user_transcript")
    audio = protocol.parse(
        '{"type":"audio","audio_event":{"event_id":4,"alignment":{"chars":["H","o","la"]}}}'
    )
    assert isinstance(audio, protocol.AudioChunk) and (audio.event_id, audio.text) == (4, "Hola")


def test_conversation_record_becomes_call_ended_with_the_ingest_id() -> None:
    record = {
        "agent_id": "agent_1",
        "conversation_id": "conv_77",
        "status": "done",
        "transcript": [
            {"role": "agent", "message": "Hola", "time_in_call_secs": 0},
            {"role": "user", "message": "Hola, soy Ana", "time_in_call_secs": 2},
        ],
        "metadata": {
            "start_time_unix_secs": 1763800000,
            "call_duration_secs": 42,
            "phone_call": {"direction": "outbound", "external_number": "+57 300 111 2233"},
            "batch_call": {"batch_call_id": "btcal_1", "batch_call_recipient_id": "r1"},
        },
        "analysis": {
            "transcript_summary": "Ana pidió una cotización.",
            "data_collection_results": {"next_steps": {"value": "enviar cotización"}},
        },
        "conversation_initiation_client_data": {"dynamic_variables": {"customer_name": "Ana"}},
    }
    event = call_ended_from_record(record, phone_fallback=None)
    assert event.event_id == call_ended_event_id("conv_77")
    # The same name ingest derives for the post-call webhook of this conversation.
    assert event.event_id == uuid.uuid5(
        envelope._DERIVED_NAMESPACE, "elevenlabs:conv_77:post_call_transcription"
    )
    assert event.conversation == "+573001112233"
    assert event.duration_seconds == 42 and event.direction == "outbound"
    assert event.summary == "Ana pidió una cotización."
    assert event.dynamic_variables == {"customer_name": "Ana"}
    assert len(event.transcript) == 2
    with pytest.raises(UnusableRecord):
        call_ended_from_record({"conversation_id": "c", "metadata": {}}, phone_fallback=None)
    fallback = call_ended_from_record(
        {"conversation_id": "c", "metadata": {}}, phone_fallback="+573001112299"
    )
    assert fallback.conversation == "+573001112299"
