"""WhatsApp's rules as pure functions: the window, templates, opt-out words, error classes.

Nothing here does I/O, so every rule is tested without servers.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from hilo.consent import OptChange, OptKeywords, keyword_set
from schemas import ReplyReady, derived_id

WINDOW = timedelta(hours=24)

ChannelName = Literal["twilio", "meta", "outbox"]
MediaKind = Literal["image", "audio", "video", "document"]

_MEDIA_BY_EXTENSION: dict[str, MediaKind] = {
    **dict.fromkeys(("jpg", "jpeg", "png", "webp"), "image"),
    **dict.fromkeys(("mp3", "ogg", "opus", "aac", "amr", "m4a"), "audio"),
    **dict.fromkeys(("mp4", "3gp"), "video"),
}


def window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Free-form messages are allowed for 24 hours after the contact's last message."""
    return last_inbound_at is not None and now - last_inbound_at < WINDOW


def outbox_message_id(reply_id: uuid.UUID) -> str:
    """The local outbox's message id: the same reply always gets the same id."""
    return f"outbox-{derived_id(reply_id, 'notifier.outbox').hex}"


def media_kind(url: str) -> MediaKind:
    """Meta wants the media type named; the URL's extension is all we know."""
    path = urlsplit(url).path
    extension = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _MEDIA_BY_EXTENSION.get(extension, "document")


def media_filename(url: str) -> str | None:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name or None


# --- templates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A template to send: ``name`` is a Twilio Content SID or a Meta template name."""

    name: str
    language: str
    variables: tuple[tuple[str, str], ...]

    def twilio_content_variables(self) -> str:
        return json.dumps(dict(self.variables), ensure_ascii=False)

    def meta_payload(self) -> dict[str, object]:
        parameters = [{"type": "text", "text": value} for _, value in self.variables]
        template: dict[str, object] = {"name": self.name, "language": {"code": self.language}}
        if parameters:
            template["components"] = [{"type": "body", "parameters": parameters}]
        return {"type": "template", "template": template}


def _variable_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 30, key)


def choose_template(
    reply: ReplyReady, channel: ChannelName, default_name: str | None, default_language: str
) -> Template | None:
    """The reply's own template, else the configured default with the reply text as {{1}}."""
    if reply.template is not None:
        ordered = sorted(reply.template.variables.items(), key=lambda kv: _variable_order(kv[0]))
        return Template(reply.template.name, reply.template.language, tuple(ordered))
    if not default_name:
        return None
    variables = (("1", reply.text),) if reply.text else ()
    return Template(default_name, reply.language or default_language, variables)


# --- opt-out / opt-in ------------------------------------------------------------------

# The keywords live in hilo/consent.py: the router reads the same table.
__all__ = ["OptChange", "OptKeywords", "keyword_set"]


# --- provider errors -------------------------------------------------------------------

Verdict = Literal["retry", "window_closed", "opted_out", "permanent"]

TWILIO_RETRY_CODES = frozenset({20429, 63018, 20500, 20503, 30001})
TWILIO_WINDOW_CODES = frozenset({63016})
TWILIO_OPTED_OUT_CODES = frozenset({21610})
META_RETRY_CODES = frozenset({1, 2, 4, 130429, 131000, 131016, 131056, 80007})
META_WINDOW_CODES = frozenset({131047})


def classify(channel: ChannelName, status: int | None, code: int | None) -> Verdict:
    """What a provider's answer means for this reply; the code wins over the HTTP status."""
    if channel == "twilio":
        retry, window, opted_out = TWILIO_RETRY_CODES, TWILIO_WINDOW_CODES, TWILIO_OPTED_OUT_CODES
    else:
        retry, window, opted_out = META_RETRY_CODES, META_WINDOW_CODES, frozenset[int]()
    if code is not None:
        if code in window:
            return "window_closed"
        if code in opted_out:
            return "opted_out"
        if code in retry:
            return "retry"
    if status is None or status >= 500 or status in (408, 429):
        return "retry"
    return "permanent"
