"""Twilio webhooks through the running ingest, posted and signed as Twilio does."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from hilo.bus import EventBus
from hilo.testing import Published
from schemas import MessageReceived, MessageStatusReported, derived_id
from services.ingest.handlers import EMPTY_TWIML
from tests.ingest.conftest import (
    AUTH_TOKEN,
    CONTACT,
    IngestFactory,
    inbound_form,
    status_form,
    stored_count,
)


async def test_text_message_is_published_once_and_answered_with_empty_twiml(
    ingest: IngestFactory, published: Published, bus: EventBus, pool: asyncpg.Pool
) -> None:
    async with ingest() as running:
        form = inbound_form("Hola, ¿tienen cita mañana?", FutureField="kept")
        first = await running.twilio(form)
        retry = await running.twilio(form)
    assert first.status_code == retry.status_code == 200
    assert first.text == EMPTY_TWIML
    assert first.headers["content-type"].startswith("application/xml")
    await published.settle()
    [event] = published.of("message.received")
    assert isinstance(event, MessageReceived)
    assert event.event_id == derived_id(f"twilio:{form['MessageSid']}", "message.received")
    assert event.conversation == CONTACT
    assert event.kind == "text"
    assert event.text == "Hola, ¿tienen cita mañana?"
    assert event.contact_name == "Ana"
    assert event.business_number == "+14155238886"
    assert event.provider == "twilio"
    assert event.raw == form  # every field, including ones Twilio adds later
    assert await stored_count(bus) == 1
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT provider, delivery_key, event_id FROM ingest_deliveries")
    assert dict(row) == {
        "provider": "twilio",
        "delivery_key": form["MessageSid"],
        "event_id": event.event_id,
    }


async def test_lookalike_messages_are_all_kept(ingest: IngestFactory, published: Published) -> None:
    async with ingest() as running:
        for _ in range(3):
            assert (await running.twilio(inbound_form("ok"))).status_code == 200
    await published.settle()
    events = published.of("message.received")
    assert len({e.event_id for e in events}) == 3


async def test_media_location_and_button_messages(
    ingest: IngestFactory, published: Published
) -> None:
    voice = inbound_form(
        "",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="audio/ogg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        MediaContentType1="image/jpeg",
    )
    place = inbound_form(
        "", Latitude="4.6097", Longitude="-74.0817", Address="Cra 7 #32", Label="Oficina"
    )
    button = inbound_form("Sí", ButtonText="Sí", ButtonPayload="confirm-42", MessageType="button")
    document = inbound_form(
        "", NumMedia="1", MediaUrl0="https://api.twilio.com/x", MediaContentType0="application/pdf"
    )
    async with ingest() as running:
        for form in (voice, place, button, document):
            assert (await running.twilio(form)).status_code == 200
    events = {
        e.provider_message_id: e for e in await published.wait_for("message.received", count=4)
    }
    audio = events[voice["MessageSid"]]
    assert audio.kind == "audio" and audio.has_audio
    assert [(m.url, m.content_type) for m in audio.media] == [
        (voice["MediaUrl0"], "audio/ogg"),
        (voice["MediaUrl1"], "image/jpeg"),
    ]
    located = events[place["MessageSid"]]
    assert located.kind == "location"
    assert located.location is not None
    assert (located.location.latitude, located.location.name) == (4.6097, "Oficina")
    pressed = events[button["MessageSid"]]
    assert (pressed.kind, pressed.reply_id, pressed.reply_title) == ("button", "confirm-42", "Sí")
    assert events[document["MessageSid"]].kind == "document"


async def test_forged_and_unsigned_requests_are_refused_and_publish_nothing(
    ingest: IngestFactory, published: Published, bus: EventBus
) -> None:
    form = inbound_form()
    async with ingest() as running:
        forged = await running.twilio(form, token="not-the-token")
        unsigned = await running.http.post(f"{running.base}/webhooks/twilio/whatsapp", data=form)
        signed = await running.twilio(form)
        tampered = dict(form, Body="Transfer everything")
        replayed_signature = signed.request.headers["X-Twilio-Signature"]
        altered = await running.http.post(
            f"{running.base}/webhooks/twilio/whatsapp",
            data=tampered,
            headers={"X-Twilio-Signature": replayed_signature},
        )
    for refused in (forged, unsigned, altered):
        assert refused.status_code == 403
        assert refused.json()["error"] == "invalid_signature"
    await published.settle()
    assert [e.text for e in published.of("message.received")] == ["Hola"]
    assert await stored_count(bus) == 1


async def test_signature_is_checked_against_the_public_url(
    ingest: IngestFactory, published: Published, settings: Any
) -> None:
    public = settings.model_copy(update={"public_url": "https://hilo.example.com/"})
    form = inbound_form()
    async with ingest(hilo=public) as running:
        as_seen_locally = await running.twilio(form)
        as_twilio_signed = await running.twilio(
            form,
            signed_url="https://hilo.example.com/webhooks/twilio/whatsapp?tenant=7",
            path="/webhooks/twilio/whatsapp?tenant=7",
        )
    assert as_seen_locally.status_code == 403
    assert as_twilio_signed.status_code == 200


async def test_forwarded_headers_are_used_only_when_the_proxy_is_trusted(
    ingest: IngestFactory, published: Published
) -> None:
    form = inbound_form()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.org"}
    signed_url = "https://hooks.example.org/webhooks/twilio/whatsapp"
    async with ingest() as running:
        untrusted = await running.twilio(form, signed_url=signed_url, headers=forwarded)
    async with ingest(ingest_trust_proxy=True) as running:
        trusted = await running.twilio(form, signed_url=signed_url, headers=forwarded)
        host_only = await running.twilio(
            inbound_form(),
            signed_url="http://proxy.internal:8443/webhooks/twilio/whatsapp",
            headers={"Host": "proxy.internal:8443"},
        )
    assert untrusted.status_code == 403
    assert trusted.status_code == 200
    assert host_only.status_code == 200


async def test_bad_input_is_refused_with_a_json_error(
    ingest: IngestFactory, published: Published, bus: EventBus
) -> None:
    async with ingest(ingest_max_body_bytes=2048) as running:
        url = f"{running.base}/webhooks/twilio/whatsapp"
        too_big = await running.twilio(inbound_form("x" * 4000))

        async def chunks() -> Any:
            for _ in range(10):
                yield b"Body=" + b"y" * 500 + b"&"

        chunked = await running.http.post(
            url,
            content=chunks(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        json_body = await running.http.post(url, json={"Body": "hola"})
        not_utf8 = await running.http.post(
            url,
            content=b"Body=%FF%FE&From=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        no_sid = inbound_form()
        for name in ("MessageSid", "SmsMessageSid", "SmsSid"):
            del no_sid[name]
        missing = await running.twilio(no_sid)
        bad_number = await running.twilio(inbound_form(contact="+1"))
        status_without_status = await running.twilio(
            {"MessageSid": "SM1", "To": "whatsapp:+573001112233"}, path="/webhooks/twilio/status"
        )
    assert too_big.status_code == chunked.status_code == 413
    assert too_big.json() == {"error": "body_too_large", "detail": {"limit_bytes": 2048}}
    assert json_body.status_code == 400
    assert json_body.json()["error"] == "unsupported_content_type"
    assert not_utf8.status_code == 400
    assert missing.status_code == 422
    assert missing.json() == {"error": "missing_field", "detail": "MessageSid"}
    assert bad_number.status_code == 422
    assert bad_number.json()["error"] == "invalid_phone_number"
    assert status_without_status.status_code == 422
    await published.settle()
    assert published.events == []
    assert await stored_count(bus) == 0


async def test_missing_token_without_simulator_is_refused(
    ingest: IngestFactory, published: Published
) -> None:
    async with ingest(twilio_auth_token=None, ingest_allow_simulator=False) as running:
        answer = await running.twilio(inbound_form())
    assert answer.status_code == 503
    assert answer.json()["error"] == "not_configured"
    assert AUTH_TOKEN not in answer.text


async def test_status_callbacks_become_message_status_for_the_recipient(
    ingest: IngestFactory, published: Published
) -> None:
    sid = "SM" + "9" * 32
    async with ingest() as running:
        path = "/webhooks/twilio/status"
        for status in ("queued", "sent", "sent"):
            assert (await running.twilio(status_form(sid, status), path=path)).status_code == 200
        failed = status_form(
            sid, "undelivered", ErrorCode="63016", ErrorMessage="Outside the allowed window"
        )
        assert (await running.twilio(failed, path=path)).status_code == 200
    await published.settle()
    events: list[MessageStatusReported] = published.of("message.status")
    assert [e.status for e in events] == ["queued", "sent", "undelivered"]
    assert {e.conversation for e in events} == {CONTACT}
    assert events[-1].error_code == "63016"
    assert events[-1].error_message == "Outside the allowed window"
    assert events[1].event_id == derived_id(f"twilio:{sid}", "message.status:sent")


async def test_unknown_routes_and_methods_are_not_webhooks(ingest: IngestFactory) -> None:
    async with ingest() as running:
        answer = await running.http.get(f"{running.base}/webhooks/twilio/whatsapp")
    assert answer.status_code == 405


_ = httpx
