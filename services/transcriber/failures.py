"""Why a voice note could not be transcribed, and whether trying again can help."""

from __future__ import annotations

from typing import Literal

Reason = Literal[
    "no_media",
    "host_not_allowed",
    "not_configured",
    "download_failed",
    "not_found",
    "too_large",
    "too_long",
    "unsupported_type",
    "empty",
    "corrupt",
    "no_speech",
    "backend_failed",
]


class TranscriptionError(Exception):
    """A voice note that cannot be turned into text (now, or ever when not ``transient``).

    ``detail`` is for operators: it never holds tokens, numbers or message text.
    """

    def __init__(self, reason: Reason, detail: str, *, transient: bool = False) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: Reason = reason
        self.detail = detail
        self.transient = transient


def permanent(reason: Reason, detail: str) -> TranscriptionError:
    return TranscriptionError(reason, detail, transient=False)


def transient(reason: Reason, detail: str) -> TranscriptionError:
    return TranscriptionError(reason, detail, transient=True)


def is_transient_status(status: int) -> bool:
    """HTTP statuses worth another try: the server's trouble or a rate limit, not our request."""
    return status >= 500 or status in (408, 425, 429)


def should_give_up(error: TranscriptionError, attempt: int, attempts: int) -> bool:
    """Publish the failure now (True) or let the bus redeliver after a back-off (False)."""
    return not error.transient or attempt >= attempts
