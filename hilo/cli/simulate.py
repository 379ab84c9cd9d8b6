"""`hilo simulate whatsapp`: a correctly signed Twilio WhatsApp webhook sent to the running ingest.

The form is what Twilio posts (MessageSid ``SM…``, AccountSid, ``whatsapp:+…`` numbers, Body,
ProfileName, WaId, NumMedia/MediaUrl0/MediaContentType0), signed with the Twilio SDK's
``RequestValidator`` using TWILIO_AUTH_TOKEN, or, offline, the local simulator token that ingest
also reads (HILO_DATA_DIR/simulator-token). A voice note is stored content-addressed under
HILO_DATA_DIR/media/ and served by ingest at ``/media/<sha256>`` for the transcriber to fetch.
"""

from __future__ import annotations

import mimetypes
import uuid
from pathlib import Path
from typing import Any

import httpx

from hilo.errors import UserError
from hilo.phones import to_e164
from hilo.settings import HiloSettings
from schemas import derived_id

WHATSAPP_PATH = "/webhooks/twilio/whatsapp"
# Twilio's WhatsApp sandbox number, when TWILIO_WHATSAPP_FROM is not configured.
DEFAULT_BUSINESS_NUMBER = "whatsapp:+14155238886"
PLACEHOLDER_ACCOUNT_SID = "AC" + "0" * 32
AUDIO_TYPES = {".ogg": "audio/ogg", ".opus": "audio/ogg", ".oga": "audio/ogg", ".amr": "audio/amr"}


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    return AUDIO_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "audio/ogg"


def _whatsapp_address(number: str) -> str:
    return f"whatsapp:{to_e164(number)}"


def build_form(
    contact: str,
    text: str | None,
    *,
    business: str,
    account_sid: str,
    profile_name: str,
    media: tuple[str, str] | None = None,
) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    form = {
        "SmsMessageSid": sid,
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": account_sid,
        "From": f"whatsapp:{contact}",
        "To": business,
        "Body": text or "",
        "ProfileName": profile_name,
        "WaId": contact.lstrip("+"),
        "NumMedia": "1" if media else "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "MessageType": "audio" if media else "text",
    }
    if media:
        form["MediaUrl0"], form["MediaContentType0"] = media
    return form


def simulate_whatsapp(
    sender: str,
    text: str | None,
    *,
    audio: Path | None = None,
    url: str | None = None,
    profile_name: str = "Simulador",
) -> str:
    """Post one simulated message; returns the one-line result. Raises UserError."""
    from hilo.privacy.master import master_key, pseudonym_key
    from hilo.privacy.pseudonyms import pseudonym
    from services.ingest.files import simulator_token, store_media
    from services.ingest.settings import IngestSettings
    from services.ingest.signatures import twilio_signature

    if not text and audio is None:
        raise UserError("give the message TEXT, or --audio FILE")
    settings, config = HiloSettings(), IngestSettings()
    contact = to_e164(sender)
    base = (url or f"http://127.0.0.1:{settings.http_port}").rstrip("/")
    media = None
    if audio is not None:
        try:
            data = audio.read_bytes()
        except OSError as exc:
            raise UserError(f"{audio}: {exc.strerror or 'cannot be read'}") from None
        content_type = _content_type(audio)
        # Kept under the contact's pseudonym, so that forgetting them deletes it.
        folder = pseudonym(contact, pseudonym_key(master_key(settings, dev_file=True)))
        stored = store_media(settings.data_dir, folder, data, content_type)
        media = (f"{base}/media/{folder}/{stored.sha256}", content_type)
    form = build_form(
        contact,
        text,
        business=_whatsapp_address(config.twilio_whatsapp_from or DEFAULT_BUSINESS_NUMBER),
        account_sid=config.twilio_account_sid or PLACEHOLDER_ACCOUNT_SID,
        profile_name=profile_name,
        media=media,
    )
    token = config.twilio_token or simulator_token(settings.data_dir)
    # Ingest checks the signature against HILO_PUBLIC_URL when it is set, so sign that URL.
    signed_url = (settings.public_url or base).rstrip("/") + WHATSAPP_PATH
    headers = {"X-Twilio-Signature": twilio_signature(token, signed_url, form)}
    try:
        response = httpx.post(base + WHATSAPP_PATH, data=form, headers=headers, timeout=20)
    except httpx.HTTPError as exc:
        raise UserError(
            f"ingest is not answering at {base} ({type(exc).__name__}); start it with `hilo up`"
        ) from None
    if response.status_code != 200:
        raise UserError(f"ingest refused the message: HTTP {response.status_code} {_why(response)}")
    event_id = derived_id(f"twilio:{form['MessageSid']}", "message.received")
    kind = "voice note" if media else "text"
    return f"sent {kind} {form['MessageSid']} from {contact}: message.received {event_id}"


def _why(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and "error" in body:
        detail = body.get("detail")
        return f"{body['error']}" + (f" ({detail})" if detail else "")
    return str(body)[:200]
