"""The three providers' webhook signatures (pure; no I/O).

- Twilio: the SDK's ``RequestValidator`` over the URL Twilio called (the public one, not
  what a TLS-terminating proxy forwards) and the form fields.
- Meta: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>``.
- ElevenLabs: ``ElevenLabs-Signature: t=<unix>,v0=<hex HMAC-SHA256(secret, "t.body")>``,
  refused when older than the tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator, get_signature_algorithm


class FormParams(dict[str, str | list[str]]):
    """Form fields as the Twilio SDK reads them: ``getall`` gives every value of a field."""

    def getall(self, name: str) -> list[str]:
        value = self[name]
        return list(value) if isinstance(value, list) else [value]


def twilio_signed_url(
    *,
    request_url: str,
    public_url: str | None,
    trust_proxy: bool,
    headers: Mapping[str, str],
) -> str:
    """The URL Twilio computed its signature over.

    ``HILO_PUBLIC_URL`` (plus the path and query) when set; else, behind a trusted proxy, the
    scheme and host it forwarded; else the URL as this server saw it.
    """
    parts = urlsplit(request_url)
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    if public_url:
        return public_url.rstrip("/") + path_and_query
    if trust_proxy:
        scheme = _first(headers.get("x-forwarded-proto")) or parts.scheme
        host = _first(headers.get("x-forwarded-host")) or headers.get("host") or parts.netloc
        return f"{scheme}://{host}{path_and_query}"
    return request_url


def _first(value: str | None) -> str | None:
    """Proxies chain values (``https, http``): the first is what the client used."""
    if not value:
        return None
    return value.split(",")[0].strip() or None


def twilio_signature(token: str, url: str, params: Mapping[str, str | list[str]]) -> str:
    """What Twilio puts in X-Twilio-Signature (used by the simulator and tests)."""
    return str(RequestValidator(token).compute_signature(url, FormParams(params)))


def twilio_valid(
    token: str,
    url: str,
    params: Mapping[str, str | list[str]],
    signature: str | None,
    settings_header: str | None = None,
) -> bool:
    if not signature:
        return False
    algorithm = get_signature_algorithm(settings_header)
    return bool(RequestValidator(token).validate(url, FormParams(params), signature, algorithm))


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def meta_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(meta_signature(secret, body).encode(), header.strip().encode())


def elevenlabs_signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v0={mac.hexdigest()}"


class ElevenLabsSignatureError(ValueError):
    """Why an ElevenLabs signature was refused (missing, stale, wrong); no secret in it."""


def elevenlabs_verify(
    secret: str, body: bytes, header: str | None, *, now: float, tolerance_seconds: float
) -> None:
    if not header:
        raise ElevenLabsSignatureError("missing ElevenLabs-Signature header")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    stamps = fields.get("t") or []
    if len(stamps) != 1 or not stamps[0].isdigit():
        raise ElevenLabsSignatureError("the signature has no timestamp")
    timestamp = int(stamps[0])
    if timestamp < now - tolerance_seconds:
        raise ElevenLabsSignatureError("the signature is too old")
    expected = elevenlabs_signature(secret, body, timestamp).split("v0=", 1)[1]
    if not any(hmac.compare_digest(expected.encode(), v.encode()) for v in fields.get("v0", [])):
        raise ElevenLabsSignatureError("the signature does not match")
