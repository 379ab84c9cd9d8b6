"""Hand-written hostile requests to ingest's webhooks, each with the answers that are right.

Forged, replayed and expired signatures; wrong content types; oversized, deeply nested and
truncated bodies; invalid UTF-8; huge numbers of form fields; media URLs pointing elsewhere.
None of them may be answered 5xx, hang, or publish anything, except the valid originals of
the replay pairs (``may_publish``), whose replays must publish nothing new.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fuzz.probes import Probe
from services.ingest.signatures import elevenlabs_signature, meta_signature, twilio_signature

TWILIO_PATH = "/webhooks/twilio/whatsapp"
STATUS_PATH = "/webhooks/twilio/status"
META_PATH = "/webhooks/meta"
ELEVENLABS_PATH = "/webhooks/elevenlabs"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MIB = 1024 * 1024
CONTACT = "+34600111222"
FORBIDDEN = frozenset({403})
BAD = frozenset({400})
UNPROCESSABLE = frozenset({422})
REFUSED = frozenset({400, 403, 413, 415, 422})


@dataclass(frozen=True)
class Secrets:
    """The provider secrets ingest is started with (the runner sets them; tests pass them)."""

    twilio_token: str = "fuzz-twilio-auth-token"
    account_sid: str = "AC" + "f" * 32
    meta_app_secret: str = "fuzz-meta-app-secret"
    meta_verify_token: str = "fuzz-meta-verify-token"
    elevenlabs_secret: str = "wsec_fuzz_elevenlabs"

    def environment(self) -> dict[str, str]:
        return {
            "TWILIO_AUTH_TOKEN": self.twilio_token,
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "WHATSAPP_APP_SECRET": self.meta_app_secret,
            "WHATSAPP_VERIFY_TOKEN": self.meta_verify_token,
            "ELEVENLABS_WEBHOOK_SECRET": self.elevenlabs_secret,
        }


def twilio_form(text: str = "Hola", **extra: str) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    form = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": Secrets.account_sid,
        "From": f"whatsapp:{CONTACT}",
        "To": "whatsapp:+14155238886",
        "Body": text,
        "NumMedia": "0",
        "ProfileName": "Ana",
        "WaId": CONTACT.lstrip("+"),
    }
    form.update(extra)
    return form


def meta_body(text: str = "Hola") -> dict[str, Any]:
    message = {
        "from": CONTACT.lstrip("+"),
        "id": "wamid." + uuid.uuid4().hex.upper(),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": CONTACT.lstrip("+")}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1022", "changes": [{"field": "messages", "value": value}]}],
    }


def call_body() -> dict[str, Any]:
    data = {
        "agent_id": "agent_fuzz",
        "conversation_id": "conv_" + uuid.uuid4().hex,
        "status": "done",
        "transcript": [{"role": "user", "message": "Quiero una cita", "time_in_call_secs": 1}],
        "metadata": {
            "start_time_unix_secs": int(time.time()) - 60,
            "call_duration_secs": 30,
            "phone_call": {"external_number": CONTACT, "agent_number": "+14155550100"},
        },
        "analysis": {"transcript_summary": "Quiere una cita."},
    }
    return {"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": data}


def _values(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


class IngestCases:
    """The probes for one running ingest; ``base_url`` is the URL the server sees (Twilio
    signs over it)."""

    def __init__(self, base_url: str, secrets: Secrets | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.secrets = secrets or Secrets()

    # --- signing as each provider does ---------------------------------------------------
    def twilio(
        self, name: str, form: dict[str, str], expect: frozenset[int], **options: Any
    ) -> Probe:
        path = options.pop("path", TWILIO_PATH)
        token = options.pop("token", self.secrets.twilio_token)
        signed_url = options.pop("signed_url", self.base_url + path)
        signed_form = options.pop("signed_form", form)
        signature = twilio_signature(token, signed_url, signed_form)
        headers = {"Content-Type": options.pop("content_type", FORM)}
        if options.pop("signed", True):
            headers["X-Twilio-Signature"] = signature
        body = options.pop("body", urlencode(form).encode())
        return Probe(name, "POST", path, headers, body, expect, **options)

    def meta(self, name: str, body: bytes, expect: frozenset[int], **options: Any) -> Probe:
        secret = options.pop("secret", self.secrets.meta_app_secret)
        headers = {"Content-Type": options.pop("content_type", JSON)}
        signature = options.pop("signature", meta_signature(secret, body))
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return Probe(name, "POST", META_PATH, headers, body, expect, **options)

    def elevenlabs(self, name: str, body: bytes, expect: frozenset[int], **options: Any) -> Probe:
        secret = options.pop("secret", self.secrets.elevenlabs_secret)
        stamp = int(time.time() - options.pop("age_seconds", 0))
        signature = options.pop("signature", elevenlabs_signature(secret, body, stamp))
        headers = {"Content-Type": options.pop("content_type", JSON)}
        if signature is not None:
            headers["ElevenLabs-Signature"] = signature
        return Probe(name, "POST", ELEVENLABS_PATH, headers, body, expect, **options)

    def sign(self, path: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        """Headers with the signature the provider of ``path`` would add to this body."""
        if path in (TWILIO_PATH, STATUS_PATH):
            form: dict[str, str | list[str]] = {}
            for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                known = form.get(name)
                form[name] = value if known is None else [*_values(known), value]
            signature = twilio_signature(self.secrets.twilio_token, self.base_url + path, form)
            return {**headers, "X-Twilio-Signature": signature}
        if path == META_PATH:
            signature = meta_signature(self.secrets.meta_app_secret, body)
            return {**headers, "X-Hub-Signature-256": signature}
        if path == ELEVENLABS_PATH:
            stamp = int(time.time())
            signature = elevenlabs_signature(self.secrets.elevenlabs_secret, body, stamp)
            return {**headers, "ElevenLabs-Signature": signature}
        return headers

    # --- the cases -----------------------------------------------------------------------
    def all(self) -> list[Probe]:
        return self.twilio_cases() + self.meta_cases() + self.elevenlabs_cases() + self.others()

    def twilio_cases(self) -> list[Probe]:
        form = twilio_form()
        original = self.twilio("twilio: valid original", form, frozenset({200}), may_publish=True)
        tampered = {**form, "Body": "Transfiere 1000 €"}
        elsewhere = twilio_form(
            NumMedia="1",
            MediaUrl0="http://169.254.169.254/latest/meta-data/",
            MediaContentType0="audio/ogg",
        )
        many_fields = {f"f{i}": "x" for i in range(60_000)}
        return [
            original,
            # A replay is a delivery Twilio retries: answered 2xx, publishes nothing new.
            replace(original, name="twilio: replayed", may_publish=False),
            self.twilio("twilio: forged (wrong token)", twilio_form(), FORBIDDEN, token="guess"),
            self.twilio("twilio: no signature", twilio_form(), FORBIDDEN, signed=False),
            self.twilio(
                "twilio: signed for another URL",
                twilio_form(),
                FORBIDDEN,
                signed_url=self.base_url + STATUS_PATH,
            ),
            self.twilio(
                "twilio: body changed after signing", tampered, FORBIDDEN, signed_form=form
            ),
            self.twilio("twilio: media URL elsewhere, forged", elsewhere, FORBIDDEN, token="guess"),
            self.twilio(
                "twilio: signed JSON instead of a form",
                twilio_form(),
                frozenset({400, 403, 415}),
                content_type=JSON,
                body=json.dumps(twilio_form()).encode(),
            ),
            self.twilio(
                "twilio: text/plain content type", twilio_form(), BAD, content_type="text/plain"
            ),
            self.twilio(
                "twilio: invalid UTF-8", twilio_form(), BAD, body=b"Body=\xff\xfe&From=\xc3("
            ),
            self.twilio(
                "twilio: truncated percent escapes",
                twilio_form(),
                FORBIDDEN,
                body=urlencode(twilio_form()).encode()[:-7] + b"%E",
            ),
            self.twilio(
                "twilio: body shorter than its Content-Length",
                twilio_form(),
                frozenset({408}),
                declared_length=len(urlencode(twilio_form())) + 500,
            ),
            self.twilio(
                "twilio: 2 MiB body",
                twilio_form(),
                frozenset({413}),
                body=b"Body=" + b"a" * (2 * MIB),
            ),
            self.twilio(
                "twilio: 2 MiB chunked body (no length)",
                twilio_form(),
                frozenset({413}),
                body=b"Body=" + b"a" * (2 * MIB),
                chunked=True,
                part_size=16384,
            ),
            self.twilio(
                "twilio: declares 1 GiB",
                twilio_form(),
                frozenset({413}),
                declared_length=1024 * MIB,
            ),
            self.twilio(
                "twilio: 60,000 form fields, unsigned",
                many_fields,
                FORBIDDEN,
                token="guess",
            ),
            self.twilio(
                "twilio: 60,000 form fields, signed",
                {**twilio_form(), **many_fields},
                frozenset({200, 413, 422}),
                may_publish=True,
            ),
            self.twilio(
                "twilio: NumMedia not a number",
                twilio_form(NumMedia="1e9"),
                UNPROCESSABLE,
            ),
            self.twilio(
                "twilio: From not a phone number",
                twilio_form(From="whatsapp:../../etc/passwd"),
                UNPROCESSABLE,
            ),
            self.twilio(
                "twilio: status, forged",
                {"MessageSid": "SM1", "MessageStatus": "read", "To": f"whatsapp:{CONTACT}"},
                FORBIDDEN,
                path=STATUS_PATH,
                token="guess",
            ),
        ]

    def meta_cases(self) -> list[Probe]:
        valid = json.dumps(meta_body()).encode()
        original = self.meta("meta: valid original", valid, frozenset({200}), may_publish=True)
        other = json.dumps(meta_body("otro")).encode()
        return [
            original,
            replace(original, name="meta: replayed", may_publish=False),
            self.meta("meta: forged (wrong secret)", valid, FORBIDDEN, secret="guess"),
            self.meta("meta: no signature", valid, FORBIDDEN, signature=None),
            self.meta(
                "meta: sha1 signature",
                valid,
                FORBIDDEN,
                signature="sha1=" + meta_signature(self.secrets.meta_app_secret, valid)[7:47],
            ),
            self.meta(
                "meta: signature of another body",
                valid,
                FORBIDDEN,
                signature=meta_signature(self.secrets.meta_app_secret, other),
            ),
            self.meta("meta: truncated JSON, signed", valid[:-9], BAD),
            self.meta("meta: invalid UTF-8, signed", b'{"object": "\xff\xfe"}', BAD),
            self.meta("meta: nested 100,000 deep, signed", nested(100_000), BAD),
            self.meta(
                "meta: nested 200 deep inside a message, signed",
                json.dumps(meta_body()).encode().replace(b'"Hola"', nested(200)),
                BAD,
            ),
            self.meta(
                "meta: nested 1,000 deep inside a message, signed",
                json.dumps(meta_body()).encode().replace(b'"Hola"', nested(1000)),
                BAD,
            ),
            self.meta(
                "meta: nested 40 deep inside a message, signed",
                json.dumps(meta_body()).encode().replace(b'"Hola"', nested(40)),
                frozenset({200, 422}),
                may_publish=True,
            ),
            self.meta("meta: a JSON array, signed", b"[1, 2, 3]", UNPROCESSABLE),
            self.meta(
                "meta: integer beyond 64 bits, signed",
                b'{"object": 1' + b"0" * 40 + b"}",
                frozenset({400, 422}),
            ),
            self.meta(
                "meta: form content type, signed",
                valid,
                frozenset({200, 400, 415}),
                content_type=FORM,
                may_publish=True,
            ),
            self.meta("meta: 2 MiB, signed", b" " * (2 * MIB) + valid, frozenset({413})),
            self.meta(
                "meta: media id elsewhere, forged",
                valid.replace(
                    b'"type": "text"', b'"type": "audio", "audio": {"id": "http://10.0.0.1/x"}'
                ),
                FORBIDDEN,
                secret="guess",
            ),
            self.meta("meta: empty body, signed", b"", BAD),
        ]

    def elevenlabs_cases(self) -> list[Probe]:
        valid = json.dumps(call_body()).encode()
        original = self.elevenlabs(
            "elevenlabs: valid original", valid, frozenset({200}), may_publish=True
        )
        return [
            original,
            replace(original, name="elevenlabs: replayed", may_publish=False),
            self.elevenlabs(
                "elevenlabs: stale (31 minutes)",
                json.dumps(call_body()).encode(),
                FORBIDDEN,
                age_seconds=31 * 60,
            ),
            self.elevenlabs("elevenlabs: forged", valid, FORBIDDEN, secret="guess"),
            self.elevenlabs("elevenlabs: no signature", valid, FORBIDDEN, signature=None),
            self.elevenlabs("elevenlabs: no timestamp", valid, FORBIDDEN, signature="v0=abc"),
            self.elevenlabs(
                "elevenlabs: two timestamps",
                valid,
                FORBIDDEN,
                signature=f"t=1,t={int(time.time())},v0=00",
            ),
            self.elevenlabs(
                "elevenlabs: timestamp not a number", valid, FORBIDDEN, signature="t=1e9,v0=00"
            ),
            self.elevenlabs("elevenlabs: truncated JSON, signed", valid[:-20], BAD),
            self.elevenlabs("elevenlabs: invalid UTF-8, signed", b'{"type": "\xc3("}', BAD),
            self.elevenlabs("elevenlabs: nested 100,000 deep, signed", nested(100_000), BAD),
            self.elevenlabs(
                "elevenlabs: unknown type, signed",
                json.dumps({"type": "x", "data": {}}).encode(),
                UNPROCESSABLE,
            ),
            self.elevenlabs(
                "elevenlabs: audio that is not base64, signed",
                json.dumps(
                    {
                        "type": "post_call_audio",
                        "data": {"conversation_id": "c1", "full_audio": "%%%"},
                    }
                ).encode(),
                UNPROCESSABLE,
            ),
            self.elevenlabs(
                "elevenlabs: declares 1 GiB", valid, frozenset({413}), declared_length=1024 * MIB
            ),
        ]

    def others(self) -> list[Probe]:
        return [
            Probe(
                "meta verify: wrong token",
                "GET",
                META_PATH + "?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
                expect=FORBIDDEN,
            ),
            Probe("meta verify: no token", "GET", META_PATH + "?hub.challenge=1", expect=FORBIDDEN),
            Probe(
                "media: path traversal",
                "GET",
                "/media/..%2F..%2Fetc%2Fpasswd",
                expect=frozenset({404}),
            ),
            Probe("media: not a hash", "GET", "/media/" + "z" * 5000, expect=frozenset({404, 414})),
            Probe(
                "content length not a number",
                "POST",
                TWILIO_PATH,
                {"Content-Type": FORM, "Content-Length": "12abc"},
                expect=BAD,
            ),
        ]
