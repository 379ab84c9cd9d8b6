"""The ways a reply leaves Hilo: Twilio, Meta's Cloud API, or the local outbox.

Each channel turns an :class:`Outgoing` into a provider message id or raises
:class:`ProviderError` with a verdict from :func:`policy.classify`. Twilio goes
through the official SDK with its aiohttp-based async HTTP client: no thread
per request, and a cancelled handler (service stopping) cancels the request
with it. Meta is plain JSON over httpx.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from hilo.settings import reveal
from schemas import ReplyChoices
from services.notifier.interactive import meta_interactive
from services.notifier.policy import (
    ChannelName,
    Template,
    Verdict,
    classify,
    media_filename,
    media_kind,
)
from services.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)

# The SDK logs request URLs and query parameters (phone numbers) at INFO.
_twilio_sdk_log = logging.getLogger("hilo.notifier.twilio_sdk")
_twilio_sdk_log.setLevel(logging.WARNING)


@dataclass(frozen=True)
class Outgoing:
    """One WhatsApp message as the provider will get it."""

    to: str  # the contact's E.164 number
    text: str | None
    media_url: str | None
    template: Template | None
    # A question with options: buttons or a list where the channel has them (else `text`).
    choices: ReplyChoices | None = None


class ProviderError(Exception):
    """A provider refused or did not answer. ``uncertain``: it may have accepted the message."""

    def __init__(
        self, verdict: Verdict, code: str | None, reason: str, *, uncertain: bool = False
    ) -> None:
        super().__init__(f"{code}: {reason}")
        self.verdict = verdict
        self.code = code
        self.reason = reason
        self.uncertain = uncertain


class Channel(Protocol):
    name: ChannelName

    @property
    def sender(self) -> str: ...

    async def send(self, message: Outgoing, reply_key: str) -> str: ...

    async def close(self) -> None: ...


class OutboxChannel:
    """No credentials: the message is only recorded, under an id derived from the reply."""

    name: ChannelName = "outbox"
    sender = "outbox"

    async def send(self, message: Outgoing, reply_key: str) -> str:
        return reply_key

    async def close(self) -> None:
        return None


class TwilioChannel:
    name: ChannelName = "twilio"

    def __init__(self, settings: NotifierSettings) -> None:
        assert settings.twilio_configured
        self._from = settings.twilio_whatsapp_from or ""
        self._timeout = settings.notifier_request_timeout_seconds
        self._status_callback = settings.status_callback
        self._http = AsyncTwilioHttpClient(logger=_twilio_sdk_log)
        self.client = Client(
            settings.twilio_account_sid, reveal(settings.twilio_auth_token), http_client=self._http
        )
        self.client.api.base_url = settings.twilio_api_base.rstrip("/")

    @property
    def sender(self) -> str:
        return self._from

    async def send(self, message: Outgoing, reply_key: str) -> str:
        fields: dict[str, Any] = {"to": f"whatsapp:{message.to}", "from_": self._from}
        if self._status_callback:
            fields["status_callback"] = self._status_callback
        if message.template is not None:
            fields["content_sid"] = message.template.name
            fields["content_variables"] = message.template.twilio_content_variables()
        elif message.choices is not None and message.choices.twilio_content_sid:
            # A quick-reply or list-picker content made for this question (numbered text else).
            fields["content_sid"] = message.choices.twilio_content_sid
        else:
            if message.text:
                fields["body"] = message.text
            if message.media_url:
                fields["media_url"] = [message.media_url]
        created = await self._call(self.client.messages.create_async(**fields))
        return str(created.sid)

    async def find_sent(
        self, to: str, body: str | None, since: datetime, taken: frozenset[str] = frozenset()
    ) -> str | None:
        """The message an earlier, unrecorded attempt created, if Twilio has it.

        ``body`` None (a template was sent: Twilio renders its text) matches any message
        to the contact created since the first attempt. Messages in ``taken`` are other
        replies' (the same text sent shortly before is not this reply).
        """
        day = (since - timedelta(days=1)).strftime("%Y-%m-%d")
        found = await self._call(
            self.client.messages.list_async(
                to=f"whatsapp:{to}", from_=self._from, date_sent_after=day, limit=50
            )
        )
        earliest = since - timedelta(minutes=1)
        for candidate in found:
            created_at = candidate.date_created or candidate.date_sent
            if (created_at is not None and created_at < earliest) or candidate.sid in taken:
                continue
            if body is None or (candidate.body or "") == body:
                return str(candidate.sid)
        return None

    async def _call(self, request: Any) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                return await request
        except TwilioRestException as exc:
            code = exc.code if isinstance(exc.code, int) else None
            verdict = classify("twilio", exc.status, code)
            raise ProviderError(verdict, str(code or exc.status), exc.msg or "error") from exc
        except TimeoutError as exc:
            raise ProviderError(
                "retry", "timeout", "Twilio did not answer in time", uncertain=True
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise ProviderError("retry", "connect", "Twilio unreachable") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ProviderError(
                "retry", "connection", f"connection lost: {type(exc).__name__}", uncertain=True
            ) from exc

    async def close(self) -> None:
        await self._http.close()


class MetaChannel:
    name: ChannelName = "meta"

    def __init__(self, settings: NotifierSettings) -> None:
        assert settings.meta_configured
        self._phone_number_id = settings.whatsapp_phone_number_id or ""
        base = settings.graph_api_base.rstrip("/")
        self._url = f"{base}/{settings.graph_api_version}/{self._phone_number_id}/messages"
        self._http = httpx.AsyncClient(
            timeout=settings.notifier_request_timeout_seconds,
            headers={"Authorization": f"Bearer {reveal(settings.whatsapp_token)}"},
        )

    @property
    def sender(self) -> str:
        return self._phone_number_id

    async def send(self, message: Outgoing, reply_key: str) -> str:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.to.lstrip("+"),
        }
        interactive = meta_interactive(message.choices) if message.choices else None
        if message.template is not None:
            payload.update(message.template.meta_payload())
        elif interactive is not None and not message.media_url:
            payload.update(interactive)
        elif message.media_url:
            kind = media_kind(message.media_url)
            media: dict[str, Any] = {"link": message.media_url}
            if message.text and kind != "audio":  # WhatsApp audio has no caption
                media["caption"] = message.text
            if kind == "document" and (filename := media_filename(message.media_url)):
                media["filename"] = filename
            payload.update({"type": kind, kind: media})
        else:
            payload.update({"type": "text", "text": {"body": message.text or ""}})
        body = await self._post(payload)
        messages = body.get("messages") or [{}]
        return str(messages[0].get("id") or "")

    async def mark_read(self, provider_message_id: str) -> None:
        await self._post(
            {"messaging_product": "whatsapp", "status": "read", "message_id": provider_message_id}
        )

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(self._url, json=payload)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ProviderError("retry", "connect", "Graph API unreachable") from exc
        except httpx.TimeoutException as exc:
            raise ProviderError(
                "retry", "timeout", "Graph API did not answer in time", uncertain=True
            ) from exc
        except httpx.TransportError as exc:
            raise ProviderError(
                "retry", "connection", f"connection lost: {type(exc).__name__}", uncertain=True
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.is_success and isinstance(body, dict):
            return body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), int) else None
        verdict = classify("meta", response.status_code, code)
        reason = str(error.get("message") or f"HTTP {response.status_code}")
        details = (error.get("error_data") or {}).get("details")
        if details:
            reason = f"{reason}: {details}"
        raise ProviderError(verdict, str(code or response.status_code), reason)

    async def close(self) -> None:
        await self._http.aclose()
