"""The pages talk to the operator API the way any client does: over HTTP, in-process.

Going through the API instead of its Python internals keeps one set of rules for
sign-in, roles, CSRF and WhatsApp's reply rules: the page forwards the person's
cookie and CSRF token, and whatever the API refuses, the page shows. The calls
never leave the process (httpx's ASGI transport), and they carry the browser's
address so the API's per-address sign-in limit still sees each person apart.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import HTTPException, Request

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
CSRF_COOKIE = "hilo_csrf"
FORWARDED = ("cookie", "authorization", "accept-language")

# httpx logs every request's URL at INFO; the pages' URLs hold contacts' numbers, which stay
# out of the logs.
logging.getLogger("httpx").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: httpx.Headers

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def detail(self) -> str:
        if isinstance(self.body, dict):
            detail = self.body.get("detail")
            if isinstance(detail, list):  # FastAPI's 422: the first problem is enough
                first = detail[0] if detail else {}
                where = ".".join(str(p) for p in first.get("loc", [])[1:])
                return f"{where}: {first.get('msg', '')}".strip(": ")
            if detail:
                return str(detail)
        return f"HTTP {self.status}"


def path(*parts: str) -> str:
    """An API path with each part quoted (a contact's '+' must stay a '+')."""
    return "/api/" + "/".join(quote(p, safe="") for p in parts)


def signed_out(request: Request) -> HTTPException:
    """Back to the sign-in page: a redirect, or for htmx a header it follows."""
    if request.headers.get("HX-Request"):
        return HTTPException(401, detail="signed out", headers={"HX-Redirect": "/"})
    return HTTPException(303, detail="signed out", headers={"Location": "/"})


class Api:
    def __init__(self, request: Request, client: httpx.AsyncClient, csrf: str | None) -> None:
        self.request = request
        self._client = client
        self._csrf = csrf

    async def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """The API's answer; 401 (session gone) sends the person to the sign-in page."""
        answer = await self.call_signed_out_ok(
            method, url, json=json, params=params, headers=headers
        )
        if answer.status == 401:
            raise signed_out(self.request)
        return answer

    async def call_signed_out_ok(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        headers = {**(headers or {}), **({CSRF_HEADER: self._csrf} if self._csrf else {})}
        kept = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        response = await self._client.request(method, url, json=json, params=kept, headers=headers)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = {"detail": response.text[:200]}
        return Answer(response.status_code, body, response.headers)

    async def get(self, url: str, **params: Any) -> Any:
        """A read that must work; any other failure is the page's error too."""
        answer = await self.call("GET", url, params=params)
        if not answer.ok:
            raise HTTPException(answer.status, detail=answer.detail)
        return answer.body


async def api(request: Request) -> AsyncIterator[Api]:
    """A FastAPI dependency: the API as the person in this request."""
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
    csrf = request.headers.get(CSRF_HEADER)
    if csrf is None and request.method == "POST":
        form = await request.form()
        field = form.get(CSRF_FIELD)
        csrf = field if isinstance(field, str) else None
    client_address = (request.client.host, request.client.port) if request.client else None
    transport = httpx.ASGITransport(app=request.app, client=client_address or ("127.0.0.1", 0))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://inbox", headers=headers, timeout=30
    ) as client:
        yield Api(request, client, csrf)
