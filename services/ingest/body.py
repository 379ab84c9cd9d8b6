"""Reading a request body within limits of size, time and nesting, before anything parses it."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect, Request

from services.ingest.problems import BadRequest, TimedOut, TooLarge

FORM_TYPE = "application/x-www-form-urlencoded"
# Providers' payloads nest about ten levels; far deeper ones only serve to exhaust the
# recursion of whatever encodes the event later (found by `make fuzz`: a 500).
MAX_JSON_DEPTH = 64


async def read_limited(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The raw body, refused (413) as soon as it is known to exceed ``limit`` bytes, and
    (408) when it has not all arrived within ``timeout`` seconds: a body shorter than its
    Content-Length would otherwise hold the request open for as long as the peer likes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("bad_content_length", "Content-Length is not a number")
        if int(declared) > limit:
            raise TooLarge("body_too_large", {"limit_bytes": limit})
    body = bytearray()
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:  # chunked bodies declare no length
                    raise TooLarge("body_too_large", {"limit_bytes": limit})
    except TimeoutError:
        raise TimedOut("body_timeout", {"timeout_seconds": timeout}) from None
    except ClientDisconnect:
        raise BadRequest("client_disconnected", None) from None
    return bytes(body)


def parse_json(body: bytes) -> Any:
    """The body as JSON, refused (400) when it is not JSON or nests deeper than
    ``MAX_JSON_DEPTH``."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("malformed_json", "the body is not JSON") from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise BadRequest("too_deeply_nested", {"max_depth": MAX_JSON_DEPTH})
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


def parse_form(request: Request, body: bytes) -> dict[str, str | list[str]]:
    """A urlencoded form as field → value (a list when a field repeats)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise BadRequest("unsupported_content_type", f"expected {FORM_TYPE}")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("malformed_form", type(exc).__name__) from None
    form: dict[str, str | list[str]] = {}
    for name, value in pairs:
        existing = form.get(name)
        if existing is None:
            form[name] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            form[name] = [existing, value]
    return form
