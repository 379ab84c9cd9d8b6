"""The notifier against real NATS and PostgreSQL, and the Twilio / Meta stand-ins."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import asyncpg
import pytest

import hilo.service
from hilo.bus import EventBus
from hilo.testing import Published, eventually
from schemas import TemplateRef
from services.notifier.policy import outbox_message_id
from tests.notifier.conftest import (
    CONTACT,
    NotifierFactory,
    drained,
    inbound,
    reply,
)
from tests.notifier.standins import (
    WHATSAPP_FROM,
    Action,
    ProviderStandIns,
    meta_error,
    twilio_error,
)


async def test_outbox_mode_records_the_reply_as_sent(
    bus: EventBus, notifier: NotifierFactory, published: Published, pool: asyncpg.Pool
) -> None:
    async with notifier("outbox"):
        await bus.publish(inbound())
        answer = reply()
        await bus.publish(answer)
        [sent] = await published.wait_for("message.sent")
    assert sent.provider == "outbox"
    assert sent.provider_message_id == outbox_message_id(answer.reply_id)
    assert sent.text == answer.text
    assert sent.causation_id == answer.event_id
    state = await pool.fetchval(
        "SELECT state FROM notifier_outbox WHERE reply_id = $1", answer.reply_id
    )
    assert state == "sent"


async def test_twilio_send_uses_the_sdk_form_with_status_callback(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    async with notifier("both"):
        await bus.publish(inbound(provider="twilio"))
        answer = reply(media_url="https://cdn.example.com/menu.jpg")
        await bus.publish(answer)
        [sent] = await published.wait_for("message.sent")
    [message] = standins.twilio_messages
    fields = message["_fields"]
    assert fields["To"] == f"whatsapp:{CONTACT}"
    assert fields["From"] == WHATSAPP_FROM
    assert fields["Body"] == answer.text
    assert fields["MediaUrl"] == ["https://cdn.example.com/menu.jpg"]
    assert fields["StatusCallback"] == "https://hilo.example.com/webhooks/twilio/status"
    assert sent.provider == "twilio" and sent.provider_message_id == message["sid"]
    assert standins.meta_requests == [] and standins.auth_failures == 0


async def test_meta_send_text_media_and_mark_as_read(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    async with notifier("both"):
        question = inbound(provider="meta", wamid="wamid.INBOUND1")
        await bus.publish(question)
        text = reply(in_reply_to=(question.event_id,))
        await bus.publish(text)
        await published.wait_for("message.marked_read")
        await bus.publish(reply("la factura", media_url="https://cdn.example.com/f/factura.pdf"))
        await bus.publish(reply(None, media_url="https://cdn.example.com/a/nota.ogg"))
        await published.wait_for("message.sent", count=3)
        await bus.publish(reply("otra", in_reply_to=(question.event_id,)))
        await published.wait_for("message.sent", count=4)
        await drained(bus)
    first, document, audio, _ = (r.fields for r in standins.meta_requests)
    assert first == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CONTACT.lstrip("+"),
        "type": "text",
        "text": {"body": text.text},
    }
    assert document["type"] == "document"
    assert document["document"] == {
        "link": "https://cdn.example.com/f/factura.pdf",
        "caption": "la factura",
        "filename": "factura.pdf",
    }
    assert audio["type"] == "audio" and audio["audio"] == {
        "link": "https://cdn.example.com/a/nota.ogg"
    }
    # Marked read once, though two replies answered it.
    assert standins.meta_reads == ["wamid.INBOUND1"]
    [read] = published.distinct("message.marked_read")
    assert read.provider_message_id == "wamid.INBOUND1"
    assert standins.twilio_requests == []


# --- the 24-hour window and templates ------------------------------------------------


async def test_closed_window_turns_the_reply_into_the_default_template(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    async with notifier(
        "both",
        notifier_twilio_template_sid="HX" + "a" * 32,
        notifier_meta_template_name="seguimiento",
    ):
        await bus.publish(inbound(provider="twilio", ago=timedelta(hours=30)))
        answer = reply("Te escribimos por tu cita")
        await bus.publish(answer)
        [sent] = await published.wait_for("message.sent")
        other = "+573009998877"
        await bus.publish(inbound(provider="meta", conversation=other, ago=timedelta(hours=25)))
        await bus.publish(
            reply(
                "x",
                conversation=other,
                template=TemplateRef(
                    name="cita_recordatorio", language="es_CO", variables={"2": "10:00", "1": "Ana"}
                ),
            )
        )
        await published.wait_for("message.sent", count=2)
    fields = standins.twilio_messages[0]["_fields"]
    assert "Body" not in fields
    assert fields["ContentSid"] == "HX" + "a" * 32
    assert json.loads(fields["ContentVariables"]) == {"1": "Te escribimos por tu cita"}
    assert sent.via_template == "HX" + "a" * 32
    [meta] = standins.meta_requests
    assert meta.fields["type"] == "template"
    assert meta.fields["template"] == {
        "name": "cita_recordatorio",
        "language": {"code": "es_CO"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "10:00"}],
            }
        ],
    }


async def test_closed_window_without_template_is_blocked(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    async with notifier("twilio"):
        opener = reply("Gracias por tu llamada", business_initiated=True, author="voice_agent")
        await bus.publish(opener)
        [blocked] = await published.wait_for("message.blocked")
    assert blocked.reason == "window_closed" and blocked.reply_id == opener.reply_id
    assert standins.twilio_requests == []


async def test_provider_window_errors_convert_to_template_once_else_block(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    standins.twilio_script.append(
        twilio_error(
            400,
            63016,
            "Failed to send freeform message because you are outside the allowed window.",
        )
    )
    standins.meta_script.append(meta_error(400, 131047, "Re-engagement message"))
    async with notifier("both", notifier_twilio_template_sid="HX" + "b" * 32):
        await bus.publish(inbound(provider="twilio"))
        await bus.publish(reply("hola"))
        [sent] = await published.wait_for("message.sent")
        other = "+573004445566"
        await bus.publish(inbound(provider="meta", conversation=other))
        await bus.publish(reply("hola", conversation=other))
        [blocked] = await published.wait_for("message.blocked")
    assert sent.via_template == "HX" + "b" * 32
    assert [r.outcome for r in standins.twilio_requests] == ["error", "accepted"]
    assert "ContentSid" in standins.twilio_requests[1].fields
    assert blocked.reason == "window_closed" and blocked.conversation == other
    assert len(standins.meta_requests) == 1


# --- retries ----------------------------------------------------------------------------


async def test_retryable_errors_are_retried_then_sent_once(
    bus: EventBus,
    notifier: NotifierFactory,
    published: Published,
    standins: ProviderStandIns,
    pool: asyncpg.Pool,
) -> None:
    standins.twilio_script.extend(
        [
            Action("error", status=500, code=20500, message="Internal"),
            twilio_error(429, 20429, "Too Many Requests"),
        ]
    )
    standins.meta_script.extend(
        [meta_error(400, 130429, "Rate limit hit"), meta_error(503, 2, "Service unavailable")]
    )
    async with notifier("both"):
        await bus.publish(inbound(provider="twilio"))
        first = reply()
        await bus.publish(first)
        other = "+573004445566"
        await bus.publish(inbound(provider="meta", conversation=other))
        await bus.publish(reply(conversation=other))
        await published.wait_for("message.sent", count=2)
    assert [r.outcome for r in standins.twilio_requests] == ["error", "error", "accepted"]
    assert [r.outcome for r in standins.meta_requests] == ["error", "error", "accepted"]
    attempts = await pool.fetchval(
        "SELECT attempts FROM notifier_outbox WHERE reply_id = $1", first.reply_id
    )
    assert attempts == 3


async def test_permanent_errors_fail_at_once_and_exhausted_retries_fail(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    standins.twilio_script.append(
        twilio_error(400, 21211, "The 'To' number is not a valid phone number.")
    )
    standins.meta_script.extend(
        [Action("error", status=500, code=1, message="An unknown error occurred")] * 3
    )
    async with notifier("both", notifier_max_attempts=3):
        await bus.publish(inbound(provider="twilio"))
        await bus.publish(reply())
        other = "+573004445566"
        await bus.publish(inbound(provider="meta", conversation=other))
        await bus.publish(reply(conversation=other))
        failed = await published.wait_for("message.failed", count=2)
    by_provider = {f.provider: f for f in failed}
    assert by_provider["twilio"].error_code == "21211" and by_provider["twilio"].attempts == 1
    assert "not a valid phone number" in by_provider["twilio"].reason
    assert by_provider["meta"].error_code == "1" and by_provider["meta"].attempts == 3
    assert len(standins.twilio_requests) == 1 and len(standins.meta_requests) == 3


async def test_a_failing_first_reply_is_never_overtaken(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    standins.twilio_script.extend([Action("error", status=503, code=20503, message="busy")] * 2)
    async with notifier("twilio"):
        await bus.publish(inbound())
        replies = [reply(f"mensaje {n}") for n in range(3)]
        for answer in replies:
            await bus.publish(answer)
        sent = await published.wait_for("message.sent", count=3)
    assert [m["body"] for m in standins.twilio_messages] == ["mensaje 0", "mensaje 1", "mensaje 2"]
    assert [s.reply_id for s in sent] == [r.reply_id for r in replies]
    assert [r.outcome for r in standins.twilio_requests][:3] == ["error", "error", "accepted"]


# --- exactly once ----------------------------------------------------------------------


async def test_duplicate_and_replayed_reply_send_one_message(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    answer = reply()
    async with notifier("twilio"):
        await bus.publish(inbound())
        await bus.publish(answer)
        await published.wait_for("message.sent")
        # A replay: same event, a new JetStream message id, the replay header.
        sealed = await bus.seal(answer)
        for n in range(2):
            await bus.publish_raw(
                bus.naming.subject(answer.type, sealed.stream),
                sealed.json.encode(),
                event_id=f"replay-{n}-{answer.event_id}",
                event_type=answer.type,
                headers={"Hilo-Replay": "1"},
            )
        await drained(bus)
    # And after a restart, the same again.
    async with notifier("twilio"):
        await bus.publish_raw(
            bus.naming.subject(answer.type, sealed.stream),
            sealed.json.encode(),
            event_id=f"replay-late-{answer.event_id}",
            event_type=answer.type,
        )
        await drained(bus)
    assert len(standins.twilio_requests) == 1
    assert len(published.distinct("message.sent")) == 1


@pytest.mark.parametrize("provider", ["twilio", "meta"])
async def test_crash_between_provider_call_and_record_sends_one_message(
    bus: EventBus,
    notifier: NotifierFactory,
    published: Published,
    standins: ProviderStandIns,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
) -> None:
    # The service stops hard: its handler is cancelled mid-call, nothing recorded after.
    monkeypatch.setattr(hilo.service, "STOP_GRACE_SECONDS", 0.2)
    script = standins.twilio_script if provider == "twilio" else standins.meta_script
    script.append(Action("accept_then_hang"))
    answer = reply()
    async with notifier("both", notifier_request_timeout_seconds=30):
        await bus.publish(inbound(provider=provider))
        await bus.publish(answer)
        created = standins.twilio_messages if provider == "twilio" else standins.meta_messages
        await eventually(lambda: _truthy(len(created) == 1))
    state = await pool.fetchval(
        "SELECT state FROM notifier_outbox WHERE reply_id = $1", answer.reply_id
    )
    assert state == "sending"
    standins.release_hung()
    async with notifier("both"):  # the restart: the unacked reply.ready comes back after ack_wait
        if provider == "twilio":
            [sent] = await published.wait_for("message.sent", timeout=15)
            assert sent.provider_message_id == standins.twilio_messages[0]["sid"]
            assert standins.twilio_lookups >= 1
        else:
            [failed] = await published.wait_for("message.failed", timeout=15)
            assert failed.error_code == "outcome_unknown"
        await drained(bus)
    requests = standins.twilio_requests if provider == "twilio" else standins.meta_requests
    assert len(requests) == 1


async def test_read_timeout_is_looked_up_before_resending(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    standins.twilio_script.append(Action("slow", seconds=1.5))
    async with notifier("twilio", notifier_request_timeout_seconds=0.5):
        await bus.publish(inbound())
        await bus.publish(reply())
        [sent] = await published.wait_for("message.sent")
    assert len(standins.twilio_requests) == 1 and standins.twilio_lookups >= 1
    assert sent.provider_message_id == standins.twilio_messages[0]["sid"]


async def _truthy(value: bool) -> bool:
    return value


# --- pacing -----------------------------------------------------------------------------


async def test_pacing_spaces_requests_per_sender(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    contacts = [f"+5730011100{n:02d}" for n in range(5)]
    async with notifier("twilio", notifier_rate_per_second=10):
        for contact in contacts:
            await bus.publish(inbound(conversation=contact))
        for contact in contacts:
            await bus.publish(reply(conversation=contact))
        await published.wait_for("message.sent", count=5)
    arrivals = sorted(r.at for r in standins.twilio_requests)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    # 10/s means 0.1 s apart; allow generous scheduling slack below, none needed above.
    assert all(gap >= 0.07 for gap in gaps), gaps


# --- opt-out / opt-in -------------------------------------------------------------------


async def test_opt_out_blocks_until_opt_in_with_one_confirmation_each(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    async with notifier("twilio"):
        stop = inbound("  Stop! ")
        await bus.publish(stop)
        [opted_out] = await published.wait_for("contact.opted_out")
        await published.wait_for("message.sent")
        blocked_reply = reply("¿Sigues ahí?")
        await bus.publish(blocked_reply)
        [blocked] = await published.wait_for("message.blocked")
        # The same STOP again (a replay) confirms nothing new.
        await bus.publish_stored(stop.model_dump(mode="json"), replay_id="again")
        await bus.publish(inbound("Darme de ALTA", ago=timedelta(minutes=1)))
        [opted_in] = await published.wait_for("contact.opted_in")
        await published.wait_for("message.sent", count=2)
        await bus.publish(reply("Bienvenida"))
        await published.wait_for("message.sent", count=3)
        await drained(bus)
    assert opted_out.keyword == "stop" and opted_out.message_event_id == stop.event_id
    assert opted_in.keyword == "darme de alta"
    assert blocked.reason == "opted_out" and blocked.reply_id == blocked_reply.reply_id
    bodies = [m["body"] for m in standins.twilio_messages]
    assert len(bodies) == 3
    assert bodies[0].startswith("Done, you will not get more messages")  # English keyword
    assert bodies[1].startswith("¡Bienvenido de nuevo!")  # Spanish keyword
    assert bodies[2] == "Bienvenida"
    confirmations = [r for r in published.distinct("reply.ready") if r.author == "system"]
    assert len(confirmations) == 2


async def test_order_holds_across_a_restart_during_back_off(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    # On stop the consumer hands back the failing reply with its back-off delay but the one
    # queued behind it with none, so after a restart the second may arrive first: the
    # outbox table, not the arrival order, decides what is sent first.
    standins.twilio_script.append(Action("error", status=503, code=20503, message="busy"))
    first, second = reply("primero"), reply("segundo")
    async with notifier("twilio", notifier_retry_backoff=(3.0,)):
        await bus.publish(inbound())
        await bus.publish(first)
        await bus.publish(second)
        await eventually(lambda: _truthy(len(standins.twilio_requests) == 1))
    async with notifier("twilio", notifier_retry_backoff=(3.0,)):
        await published.wait_for("message.sent", count=2, timeout=15)
        await drained(bus)
    assert [m["body"] for m in standins.twilio_messages] == ["primero", "segundo"]
    assert len(published.distinct("message.sent")) == 2


async def test_meta_late_answer_is_not_sent_twice(
    bus: EventBus, notifier: NotifierFactory, published: Published, standins: ProviderStandIns
) -> None:
    standins.meta_script.append(Action("slow", seconds=1.5))
    async with notifier("meta", notifier_request_timeout_seconds=0.5):
        await bus.publish(inbound(provider="meta"))
        await bus.publish(reply())
        [failed] = await published.wait_for("message.failed")
    assert failed.error_code == "outcome_unknown" and failed.provider == "meta"
    assert len(standins.meta_requests) == 1


async def test_outbox_follows_the_window_rules_too(
    bus: EventBus, notifier: NotifierFactory, published: Published
) -> None:
    async with notifier("outbox"):
        with_template = reply(
            "Hola de nuevo", business_initiated=True, template=TemplateRef(name="reengage")
        )
        await bus.publish(with_template)
        [sent] = await published.wait_for("message.sent")
        await bus.publish(reply("sin plantilla", business_initiated=True))
        [blocked] = await published.wait_for("message.blocked")
    assert sent.provider == "outbox" and sent.via_template == "reengage"
    assert blocked.reason == "window_closed"
