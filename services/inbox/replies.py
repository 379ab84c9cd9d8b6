"""May a person's reply go out now? WhatsApp's rules, read from the read models. Pure.

The notifier applies the same rules when it sends; checking them here too lets the
operator hear "no" at once (409, with the templates that would work) instead of
finding a blocked message later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

# Free-form messages are allowed for 24 hours after the contact's last message.
WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Refusal:
    reason: Literal["window_closed", "opted_out"]
    detail: str


def window_open_until(last_inbound_at: datetime | None) -> datetime | None:
    return None if last_inbound_at is None else last_inbound_at + WINDOW


def refusal(
    last_inbound_at: datetime | None, opted_out: bool, now: datetime, *, template: bool
) -> Refusal | None:
    """Why this reply may not be sent now, or None when it may."""
    if opted_out:
        return Refusal("opted_out", "the contact opted out of messages; they must opt in first")
    until = window_open_until(last_inbound_at)
    if not template and (until is None or now >= until):
        return Refusal(
            "window_closed",
            "more than 24 hours since the contact's last message: only a template may be sent",
        )
    return None
