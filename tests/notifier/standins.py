"""Local stand-ins of Twilio's Messages API and Meta's Graph API, programmable per test.

Both answer on one 127.0.0.1 server (random port) with the documented shapes:
Twilio takes form-encoded POSTs under HTTP Basic auth and answers JSON message
resources or its error shape ``{"code", "message", "more_info", "status"}``; Meta
takes JSON under a bearer token and answers ``{"messages": [{"id": "wamid…"}]}`` or
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``.

A test queues what the next requests get (``script``): an error, a slow answer, or
"accept then hang" (the message is created, the answer never comes — the caller
crashes or times out not knowing it was sent).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hilo.testing import serving

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "standin-auth-token"
WHATSAPP_FROM = "whatsapp:+15550001111"
META_TOKEN = "standin-meta-token"
PHONE_NUMBER_ID = "106540352242922"
GRAPH_VERSION = "v20.0"


@dataclass(frozen=True)
class Action:
    """What one request gets instead of a plain success."""

    kind: str  # "error" | "slow" (answer late) | "accept_then_hang" | "hang"
    status: int = 500
    code: int | None = None
    message: str = "error"
    seconds: float = 0.0


def twilio_error(status: int, code: int, message: str) -> Action:
    return Action("error", status=status, code=code, message=message)


def meta_error(status: int, code: int, message: str) -> Action:
    return Action("error", status=status, code=code, message=message)


@dataclass
class Received:
    at: float  # time.monotonic() when the request arrived
    fields: dict[str, Any]
    outcome: str = "accepted"


@dataclass
class ProviderStandIns:
    twilio_script: collections.deque[Action] = field(default_factory=collections.deque)
    meta_script: collections.deque[Action] = field(default_factory=collections.deque)
    # Every send request, accepted or not, in arrival order.
    twilio_requests: list[Received] = field(default_factory=list)
    meta_requests: list[Received] = field(default_factory=list)
    # Messages the provider created (what the contact would get).
    twilio_messages: list[dict[str, Any]] = field(default_factory=list)
    meta_messages: list[dict[str, Any]] = field(default_factory=list)
    meta_reads: list[str] = field(default_factory=list)
    twilio_lookups: int = 0
    auth_failures: int = 0
    base_url: str = ""
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def release_hung(self) -> None:
        self._release.set()

    # --- Twilio ------------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI()
        base = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

        @app.post(base)
        async def create_message(request: Request) -> JSONResponse:
            if not self._twilio_auth_ok(request):
                return _twilio_error_response(401, 20003, "Authenticate")
            form = await request.form()
            fields: dict[str, Any] = {
                k: form.getlist(k) if k == "MediaUrl" else form[k] for k in form
            }
            received = Received(time.monotonic(), fields)
            self.twilio_requests.append(received)
            action = self.twilio_script.popleft() if self.twilio_script else None
            if action and action.kind == "error":
                received.outcome = "error"
                return _twilio_error_response(action.status, action.code or 0, action.message)
            if action and action.kind == "hang":
                received.outcome = "hung"
                await self._release.wait()
                return _twilio_error_response(503, 20503, "released")
            message = self._twilio_message(fields)
            self.twilio_messages.append(message)
            if action and action.kind == "slow":  # created at once, answered late
                await asyncio.sleep(action.seconds)
            if action and action.kind == "accept_then_hang":
                received.outcome = "accepted_hung"
                await self._release.wait()
            return JSONResponse(_public(message), status_code=201)

        @app.get(base)
        async def list_messages(request: Request) -> JSONResponse:
            if not self._twilio_auth_ok(request):
                return _twilio_error_response(401, 20003, "Authenticate")
            self.twilio_lookups += 1
            query = request.query_params
            since = query.get("DateSent>")
            found = [
                m
                for m in self.twilio_messages
                if m["to"] == query.get("To", m["to"])
                and m["from"] == query.get("From", m["from"])
                and (not since or m["_date_sent"][: len(since)] >= since)
            ]
            page = [_public(m) for m in reversed(found)]
            return JSONResponse(
                {
                    "messages": page,
                    "end": max(len(page) - 1, 0),
                    "first_page_uri": base,
                    "next_page_uri": None,
                    "previous_page_uri": None,
                    "page": 0,
                    "page_size": 50,
                    "start": 0,
                    "uri": base,
                }
            )

        @app.post(f"/{GRAPH_VERSION}/{{phone_number_id}}/messages")
        async def graph_messages(phone_number_id: str, request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {META_TOKEN}":
                self.auth_failures += 1
                return _meta_error_response(
                    401, 190, "Invalid OAuth access token.", "OAuthException"
                )
            if phone_number_id != PHONE_NUMBER_ID:
                return _meta_error_response(
                    400, 100, "Unsupported post request.", "GraphMethodException"
                )
            payload = await request.json()
            if payload.get("status") == "read":
                self.meta_reads.append(payload["message_id"])
                return JSONResponse({"success": True})
            received = Received(time.monotonic(), payload)
            self.meta_requests.append(received)
            action = self.meta_script.popleft() if self.meta_script else None
            if action and action.kind == "error":
                received.outcome = "error"
                return _meta_error_response(action.status, action.code or 1, action.message)
            if action and action.kind == "hang":
                received.outcome = "hung"
                await self._release.wait()
                return _meta_error_response(503, 2, "released")
            wamid = f"wamid.{uuid.uuid4().hex}"
            self.meta_messages.append({"id": wamid, **payload})
            if action and action.kind == "slow":  # created at once, answered late
                await asyncio.sleep(action.seconds)
            if action and action.kind == "accept_then_hang":
                received.outcome = "accepted_hung"
                await self._release.wait()
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": payload.get("to"), "wa_id": payload.get("to")}],
                    "messages": [{"id": wamid}],
                }
            )

        return app

    def _twilio_auth_ok(self, request: Request) -> bool:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        ok = request.headers.get("authorization") == f"Basic {expected}"
        if not ok:
            self.auth_failures += 1
        return ok

    def _twilio_message(self, fields: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        sid = f"SM{next(self._ids):032x}"
        return {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": fields["To"],
            "from": fields["From"],
            "body": fields.get("Body", ""),
            "status": "queued",
            "num_media": str(len(fields.get("MediaUrl", []))),
            "direction": "outbound-api",
            "date_created": format_datetime(now, usegmt=True),
            "date_updated": format_datetime(now, usegmt=True),
            "date_sent": format_datetime(now, usegmt=True),
            "error_code": None,
            "error_message": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
            "_date_sent": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "_fields": fields,
        }


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _twilio_error_response(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )


def _meta_error_response(
    status: int, code: int, message: str, kind: str = "OAuthException"
) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "message": message,
                "type": kind,
                "code": code,
                "error_subcode": 2494010 if code == 131047 else None,
                "fbtrace_id": "A" + uuid.uuid4().hex[:20],
            }
        },
        status_code=status,
    )


@contextlib.asynccontextmanager
async def provider_standins() -> AsyncIterator[ProviderStandIns]:
    standins = ProviderStandIns()
    async with serving(standins.app()) as base_url:
        standins.base_url = base_url
        try:
            yield standins
        finally:
            standins.release_hung()
