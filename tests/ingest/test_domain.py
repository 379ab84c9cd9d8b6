"""The pure parts of ingest: signatures, URLs, provider payloads, numbers, files."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from services.ingest import elevenlabs_calls, twilio_forms
from services.ingest.deliveries import contact_number
from services.ingest.files import find_media, forget_media, simulator_token, store_media
from services.ingest.problems import Unprocessable
from services.ingest.signatures import (
    ElevenLabsSignatureError,
    elevenlabs_signature,
    elevenlabs_verify,
    meta_signature,
    meta_valid,
    twilio_signature,
    twilio_signed_url,
    twilio_valid,
)
from tests.ingest.conftest import inbound_form, transcription_data

URL = "https://hilo.example.com/webhooks/twilio/whatsapp"


def test_twilio_signature_matches_the_sdk_and_survives_the_default_port() -> None:
    form = inbound_form("hola")
    signature = RequestValidator("tok").compute_signature(URL, form)
    assert twilio_signature("tok", URL, form) == signature
    assert twilio_valid("tok", URL, form, signature)
    assert twilio_valid(
        "tok", "https://hilo.example.com:443/webhooks/twilio/whatsapp", form, signature
    )
    assert not twilio_valid("tok", URL, {**form, "Body": "otro"}, signature)
    assert not twilio_valid("other", URL, form, signature)
    assert not twilio_valid("tok", URL, form, None)


def test_twilio_repeated_fields_are_signed_as_twilio_signs_them() -> None:
    form: dict[str, str | list[str]] = {"A": ["2", "1"], "B": "x"}
    # Twilio: sorted names, each name's values sorted.
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"tok", (URL + "A1A2Bx").encode(), hashlib.sha1).digest()
    ).decode()
    assert twilio_signature("tok", URL, form) == expected


def test_twilio_sha256_signatures_named_in_the_settings_header() -> None:
    form = inbound_form()
    signature = RequestValidator("shared").compute_signature(URL, form, "HMAC_SHA256")
    header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    assert twilio_valid("shared", URL, form, signature, header)
    assert not twilio_valid("shared", URL, form, signature)


@pytest.mark.parametrize(
    ("public", "trust", "headers", "expected"),
    [
        (None, False, {}, "http://127.0.0.1:8000/webhooks/twilio/whatsapp?x=1"),
        (
            "https://hilo.example.com/",
            False,
            {},
            "https://hilo.example.com/webhooks/twilio/whatsapp?x=1",
        ),
        (
            "https://example.com/hilo",
            True,
            {"x-forwarded-host": "evil"},
            "https://example.com/hilo/webhooks/twilio/whatsapp?x=1",
        ),
        (
            None,
            True,
            {"x-forwarded-proto": "https, http", "x-forwarded-host": "a.example, b"},
            "https://a.example/webhooks/twilio/whatsapp?x=1",
        ),
        (None, True, {"host": "proxy:8443"}, "http://proxy:8443/webhooks/twilio/whatsapp?x=1"),
        (
            None,
            False,
            {"x-forwarded-host": "evil"},
            "http://127.0.0.1:8000/webhooks/twilio/whatsapp?x=1",
        ),
    ],
)
def test_the_url_twilio_signed(
    public: str | None, trust: bool, headers: dict[str, str], expected: str
) -> None:
    seen = "http://127.0.0.1:8000/webhooks/twilio/whatsapp?x=1"
    assert (
        twilio_signed_url(request_url=seen, public_url=public, trust_proxy=trust, headers=headers)
        == expected
    )


def test_meta_signature() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    header = meta_signature("secret", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert meta_valid("secret", body, header)
    assert not meta_valid("secret", body + b" ", header)
    assert not meta_valid("secret", body, header.replace("sha256=", "sha1="))
    assert not meta_valid("secret", body, None)


def test_elevenlabs_signature_freshness_and_match() -> None:
    body = b'{"type":"post_call_transcription"}'
    header = elevenlabs_signature("wsec", body, 1_700_000_000)
    elevenlabs_verify("wsec", body, header, now=1_700_000_100, tolerance_seconds=1800)
    with pytest.raises(ElevenLabsSignatureError, match="too old"):
        elevenlabs_verify("wsec", body, header, now=1_700_002_000, tolerance_seconds=1800)
    with pytest.raises(ElevenLabsSignatureError, match="does not match"):
        elevenlabs_verify("other", body, header, now=1_700_000_100, tolerance_seconds=1800)
    for broken in (None, "v0=abc", "t=abc,v0=abc", "t=1,t=2,v0=x"):
        with pytest.raises(ElevenLabsSignatureError):
            elevenlabs_verify("wsec", body, broken, now=1_700_000_100, tolerance_seconds=1800)
    # Several v0 values (secret rotation): any one may match.
    rotated = header + ",v0=" + "0" * 64
    elevenlabs_verify("wsec", body, rotated, now=1_700_000_100, tolerance_seconds=1800)


@pytest.mark.parametrize(
    "raw", ["whatsapp:+573001112233", "573001112233", "+57 300 111 2233", "tel:+57-300-111-2233"]
)
def test_every_provider_spelling_is_one_conversation(raw: str) -> None:
    assert contact_number(raw, "From") == "+573001112233"


def test_whatsapp_mexican_numbers_lose_the_old_mobile_prefix() -> None:
    assert contact_number("5215512345678", "from") == contact_number("+52 55 1234 5678", "x")
    with pytest.raises(Unprocessable):
        contact_number("whatsapp:+1", "From")
    with pytest.raises(Unprocessable, match="missing_field"):
        contact_number("", "From")


def test_twilio_kinds() -> None:
    def kind(**fields: str) -> str:
        return twilio_forms.inbound_message(inbound_form("", **fields)).event.kind  # type: ignore[attr-defined,no-any-return]

    assert kind(Body="hola") == "text"
    assert kind(NumMedia="1", MediaUrl0="u", MediaContentType0="video/mp4") == "video"
    assert (
        kind(NumMedia="1", MediaUrl0="u", MediaContentType0="image/webp", MessageType="sticker")
        == "sticker"
    )
    assert kind(ListId="slot-1", ListTitle="Viernes") == "interactive"
    assert kind(MessageType="reaction") == "reaction"
    assert kind(MessageType="carousel_reply") == "unknown"
    with pytest.raises(Unprocessable, match="missing_field"):
        kind(NumMedia="1")
    with pytest.raises(Unprocessable, match="invalid_field"):
        kind(NumMedia="many")


def test_twilio_statuses() -> None:
    form = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "whatsapp:+573001112233"}
    delivery = twilio_forms.status_report(form)
    assert delivery.key == "SM1:delivered"
    assert delivery.event.conversation == "+573001112233"
    odd = twilio_forms.status_report({**form, "MessageStatus": "partially_delivered"})
    assert odd.event.status == "unknown"  # type: ignore[attr-defined]
    assert odd.event.raw["MessageStatus"] == "partially_delivered"  # type: ignore[attr-defined]


def test_elevenlabs_customer_number_fallbacks() -> None:
    inbound = transcription_data("c1")
    inbound["metadata"]["phone_call"] = {"direction": "inbound"}
    inbound["conversation_initiation_client_data"]["dynamic_variables"] = {
        "system__caller_id": "+573001112233",
        "system__called_number": "+14155550100",
    }
    assert elevenlabs_calls.call_ended(inbound).event.conversation == "+573001112233"
    with pytest.raises(Unprocessable, match="unknown_type"):
        elevenlabs_calls.envelope({"type": "voice_removal_notice", "data": {}})
    with pytest.raises(Unprocessable, match="missing_field"):
        elevenlabs_calls.envelope({"type": "post_call_audio"})
    broken = transcription_data("c2", transcript=[{"role": "user", "message": 7}])
    with pytest.raises(Unprocessable, match="invalid_field"):
        elevenlabs_calls.call_ended(broken)


def test_media_is_found_only_by_its_contact_and_exact_hash(tmp_path: Path) -> None:
    ana, beto = "c" + "a" * 26, "c" + "b" * 26
    stored = store_media(tmp_path, ana, b"note", "audio/ogg")
    assert stored.path == tmp_path / "media" / ana / stored.sha256
    assert find_media(tmp_path, ana, stored.sha256) == (stored.path, "audio/ogg")
    for bad in (stored.sha256.upper(), stored.sha256[:-1], "../" + stored.sha256, "x" * 64):
        assert find_media(tmp_path, ana, bad) is None
    for stranger in (beto, "..", "+34600111222", ""):
        assert find_media(tmp_path, stranger, stored.sha256) is None
    with pytest.raises(ValueError):
        store_media(tmp_path, "../elsewhere", b"x", None)
    odd = store_media(tmp_path, ana, b"other", "not a type\nx")
    assert find_media(tmp_path, ana, odd.sha256) == (odd.path, "application/octet-stream")
    kept = store_media(tmp_path, beto, b"note", "audio/ogg")
    assert forget_media(tmp_path, ana) == 2
    assert not (tmp_path / "media" / ana).exists() and kept.path.exists()


def test_simulator_token_is_made_once_private_and_shared(tmp_path: Path) -> None:
    tokens: list[str] = []
    threads = [
        threading.Thread(target=lambda: tokens.append(simulator_token(tmp_path))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(tokens)) == 1 and len(tokens[0]) == 64
    assert stat.S_IMODE((tmp_path / "simulator-token").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["simulator-token"]
