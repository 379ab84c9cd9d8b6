"""Refusals with an HTTP status and the JSON body every ingest error has: {error, detail}."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class Refused(Exception):
    """A request ingest does not accept; nothing was published for it."""

    status = 400

    def __init__(self, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.error = error
        self.detail = detail

    def response(self) -> JSONResponse:
        return json_error(self.status, self.error, self.detail)


class BadRequest(Refused):
    status = 400


class Forbidden(Refused):
    status = 403


class NotFound(Refused):
    status = 404


class TimedOut(Refused):
    """The body did not arrive in time (a slow or lying peer): the worker is not held."""

    status = 408


class TooLarge(Refused):
    status = 413


class Unprocessable(Refused):
    """Well-formed, signed, but not something ingest can turn into an event."""

    status = 422


class Unavailable(Refused):
    """Ingest cannot make the event durable now (NATS, PostgreSQL, configuration): retry later."""

    status = 503


def json_error(status: int, error: str, detail: Any = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)
