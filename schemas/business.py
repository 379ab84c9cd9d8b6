"""The business profile the automatic answers speak from (``HILO_BUSINESS_FILE``)."""

from __future__ import annotations

from typing import Literal

from schemas.envelope import Event

# Business-wide facts are no contact's: they live in a stream of their own.
BUSINESS_STREAM = "business"


class BusinessProfileLoaded(Event):
    """A version of the business profile became the one answers are written from.

    ``version`` is the SHA-256 (first 16 hex) of the file; ``source`` is its YAML text,
    so a replay (or a fresh analyzer) can answer an old message with the profile of its
    time. A profile names the business, never a contact.
    """

    type: Literal["business.profile_loaded"] = "business.profile_loaded"
    schema_version: int = 1
    conversation: str = BUSINESS_STREAM
    version: str
    name: str
    source: str
