"""Reading a request body with a size limit, before anything parses it."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from services.ingest.problems import BadRequest, TooLarge

FORM_TYPE = "application/x-www-form-urlencoded"


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("bad_content_length", "Content-Length is not a number")
        if int(declared) > limit:
            raise TooLarge("body_too_large", {"limit_bytes": limit})
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # chunked bodies declare no length
            raise TooLarge("body_too_large", {"limit_bytes": limit})
    return bytes(body)


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
