"""Meta WhatsApp Cloud API webhooks: verification, signed batches, retries, forgeries."""

from __future__ import annotations

import json
from typing import Any

from hilo.bus import EventBus
from hilo.testing import Published
from schemas import MessageReceived, MessageStatusReported, derived_id
from tests.ingest.conftest import (
    APP_SECRET,
    VERIFY_TOKEN,
    IngestFactory,
    meta_message,
    meta_payload,
    meta_value,
    stored_count,
)

ANA = "573001112233"
LUIS = "5215512345678"  # Meta's wa_id for a Mexican mobile still carries the old "1"


async def test_verification_echoes_the_challenge_only_for_the_right_token(
    ingest: IngestFactory,
) -> None:
    async with ingest() as running:
        url = f"{running.base}/webhooks/meta"
        good = await running.http.get(
            url,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": VERIFY_TOKEN,
                "hub.challenge": "1158201444",
            },
        )
        wrong = await running.http.get(
            url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
        )
        no_mode = await running.http.get(url, params={"hub.verify_token": VERIFY_TOKEN})
    async with ingest(whatsapp_verify_token=None) as running:
        unconfigured = await running.http.get(
            f"{running.base}/webhooks/meta",
            params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"},
        )
    assert good.status_code == 200
    assert good.text == "1158201444"
    assert good.headers["content-type"].startswith("text/plain")
    for refused in (wrong, no_mode, unconfigured):
        assert refused.status_code == 403
        assert set(refused.json()) == {"error", "detail"}
    assert unconfigured.json()["error"] == "not_configured"


def _batch() -> tuple[dict[str, object], list[dict[str, object]]]:
    messages_ana = [
        meta_message(ANA, "text", {"body": "Hola"}),
        meta_message(
            ANA,
            "audio",
            {"mime_type": "audio/ogg; codecs=opus", "sha256": "abc", "id": "1003", "voice": True},
        ),
        meta_message(
            ANA,
            "image",
            {"mime_type": "image/jpeg", "sha256": "def", "id": "1004", "caption": "mi factura"},
        ),
        meta_message(
            ANA,
            "interactive",
            {"type": "button_reply", "button_reply": {"id": "yes-1", "title": "Sí"}},
        ),
        meta_message(
            ANA,
            "interactive",
            {
                "type": "list_reply",
                "list_reply": {
                    "id": "slot-9",
                    "title": "Viernes 10:00",
                    "description": "Sede norte",
                },
            },
        ),
        meta_message(ANA, "button", {"payload": "stop", "text": "No más mensajes"}),
        meta_message(
            ANA,
            "location",
            {"latitude": 4.6, "longitude": -74.08, "name": "Casa", "address": "Calle 1"},
        ),
        meta_message(
            ANA,
            "document",
            {"mime_type": "application/pdf", "sha256": "x", "id": "1005", "filename": "cv.pdf"},
        ),
        meta_message(
            ANA,
            "sticker",
            {"mime_type": "image/webp", "sha256": "s", "id": "1006", "animated": False},
        ),
        meta_message(ANA, "video", {"mime_type": "video/mp4", "sha256": "v", "id": "1007"}),
        meta_message(
            ANA, "contacts", [{"name": {"formatted_name": "Eva"}, "phones": [{"phone": "+57 300"}]}]
        ),
        meta_message(ANA, "reaction", {"message_id": "wamid.OURS", "emoji": "👍"}),
        meta_message(ANA, "order", {"catalog_id": "1", "product_items": []}),
    ]
    messages_ana[0]["context"] = {"from": "15550783881", "id": "wamid.EARLIER"}
    statuses: list[dict[str, Any]] = [
        {
            "id": "wamid.OUT1",
            "status": "delivered",
            "timestamp": "1749416400",
            "recipient_id": LUIS,
            "conversation": {"id": "c1", "origin": {"type": "service"}},
            "pricing": {"billable": True},
        },
        {
            "id": "wamid.OUT2",
            "status": "failed",
            "timestamp": "1749416401",
            "recipient_id": ANA,
            "errors": [
                {
                    "code": 131047,
                    "title": "Re-engagement message",
                    "message": "Re-engagement message",
                    "error_data": {"details": "More than 24 hours have passed"},
                }
            ],
        },
    ]
    payload = meta_payload(
        meta_value(
            messages=messages_ana,
            contacts=[{"profile": {"name": "Ana"}, "wa_id": ANA}],
        ),
        meta_value(
            messages=[meta_message(LUIS, "text", {"body": "Buenas"})],
            statuses=statuses,
            contacts=[{"profile": {"name": "Luis"}, "wa_id": LUIS}],
        ),
    )
    return payload, messages_ana


async def test_batch_with_many_messages_and_statuses_is_published_once(
    ingest: IngestFactory, published: Published, bus: EventBus
) -> None:
    payload, sent = _batch()
    async with ingest() as running:
        first = await running.meta(payload)
        retry = await running.meta(payload)
    assert first.status_code == 200
    assert first.json() == {"status": "accepted", "published": 16, "duplicates": 0}
    assert retry.json() == {"status": "accepted", "published": 0, "duplicates": 16}
    await published.settle()
    received: list[MessageReceived] = published.of("message.received")
    assert len(received) == 14
    assert await stored_count(bus) == 16
    by_id = {e.provider_message_id: e for e in received}
    kinds = [by_id[str(m["id"])].kind for m in sent]
    assert kinds == [
        "text",
        "audio",
        "image",
        "interactive",
        "interactive",
        "button",
        "location",
        "document",
        "sticker",
        "video",
        "contacts",
        "reaction",
        "unknown",
    ]
    text, audio, image, button_reply, list_reply, button = (by_id[str(m["id"])] for m in sent[:6])
    assert text.event_id == derived_id(f"meta:{sent[0]['id']}", "message.received")
    assert (text.conversation, text.contact_name, text.text) == ("+573001112233", "Ana", "Hola")
    assert text.in_reply_to == "wamid.EARLIER"
    assert text.business_number == "+15550783881"
    assert text.sent_at is not None and text.sent_at.year == 2025
    assert audio.media[0].media_id == "1003" and audio.media[0].voice and audio.has_audio
    assert (image.text, image.media[0].content_type) == ("mi factura", "image/jpeg")
    assert (button_reply.reply_id, button_reply.reply_title) == ("yes-1", "Sí")
    assert (list_reply.reply_id, list_reply.reply_title) == ("slot-9", "Viernes 10:00")
    assert (button.reply_id, button.text) == ("stop", "No más mensajes")
    reaction = by_id[str(sent[11]["id"])]
    assert (reaction.reaction_emoji, reaction.in_reply_to) == ("👍", "wamid.OURS")
    unknown = by_id[str(sent[12]["id"])]
    assert unknown.raw["message"]["order"] == {"catalog_id": "1", "product_items": []}
    luis = [e for e in received if e.conversation == "+525512345678"]
    assert [e.contact_name for e in luis] == ["Luis"]
    statuses: list[MessageStatusReported] = published.of("message.status")
    assert [(s.status, s.conversation) for s in statuses] == [
        ("delivered", "+525512345678"),
        ("failed", "+573001112233"),
    ]
    assert (statuses[1].error_code, statuses[1].error_message) == (
        "131047",
        "Re-engagement message",
    )


async def test_forged_malformed_and_unknown_payloads_publish_nothing(
    ingest: IngestFactory, published: Published, bus: EventBus
) -> None:
    payload, _ = _batch()
    async with ingest(ingest_max_body_bytes=64 * 1024) as running:
        url = f"{running.base}/webhooks/meta"
        forged = await running.meta(payload, secret="guessed")
        unsigned = await running.http.post(url, json=payload)
        body = json.dumps(payload).encode()
        wrong_prefix = await running.http.post(
            url, content=body, headers={"X-Hub-Signature-256": "sha1=" + "0" * 40}
        )
        not_json = await running.http.post(
            url, content=b"{not json", headers={"X-Hub-Signature-256": _sign(b"{not json")}
        )
        other_object = await running.meta({"object": "page", "entry": []})
        no_id = await running.meta(
            meta_payload(meta_value(messages=[{"from": ANA, "type": "text"}]))
        )
        huge = await running.meta(
            meta_payload(meta_value(messages=[meta_message(ANA, "text", {"body": "x" * 70_000})]))
        )
    async with ingest(whatsapp_app_secret=None) as running:
        unconfigured = await running.meta(payload)
    assert forged.status_code == unsigned.status_code == wrong_prefix.status_code == 403
    assert not_json.status_code == 400
    assert other_object.status_code == 422
    assert other_object.json() == {"error": "unknown_object", "detail": "page"}
    assert no_id.status_code == 422
    assert huge.status_code == 413
    assert unconfigured.status_code == 503
    assert unconfigured.json()["error"] == "not_configured"
    await published.settle()
    assert published.events == []
    assert await stored_count(bus) == 0


async def test_other_change_fields_are_acknowledged_without_events(
    ingest: IngestFactory, published: Published
) -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
                ],
            }
        ],
    }
    async with ingest() as running:
        answer = await running.meta(payload)
    assert answer.json() == {"status": "accepted", "published": 0, "duplicates": 0}


def _sign(body: bytes) -> str:
    from services.ingest.signatures import meta_signature

    return meta_signature(APP_SECRET, body)


async def test_large_batch_keeps_each_conversations_order(
    ingest: IngestFactory, published: Published, bus: EventBus
) -> None:
    contacts = [f"5730099{i:05d}" for i in range(20)]
    messages = [
        meta_message(contact, "text", {"body": f"{contact} #{n}"})
        for n in range(15)
        for contact in contacts
    ]
    payload = meta_payload(meta_value(messages=messages))
    async with ingest() as running:
        answer = await running.meta(payload)
    assert answer.json()["published"] == 300
    await published.settle()
    received = published.of("message.received")
    for contact in contacts:
        texts = [e.text for e in received if e.conversation == f"+{contact}"]
        assert texts == [f"{contact} #{n}" for n in range(15)]
    assert await stored_count(bus) == 300
