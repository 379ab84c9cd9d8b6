"""Questions with options as WhatsApp interactive messages (Meta Cloud API). Pure.

Up to three short options go as reply buttons, up to ten as a list; anything larger (or
with titles past Meta's limits) stays the numbered text the reply already carries, which
every channel can show. The option ids come back in the webhook as ``button_reply.id`` /
``list_reply.id`` (ingest puts them in ``message.received.reply_id``).
"""

from __future__ import annotations

from typing import Any

from schemas import ReplyChoices

BUTTON_TITLE_MAX = 20
BUTTONS_MAX = 3
ROW_TITLE_MAX = 24
ROWS_MAX = 10
BODY_MAX = 1024


def meta_interactive(choices: ReplyChoices) -> dict[str, Any] | None:
    """The ``type: interactive`` part of a Graph API message, or None: send the text."""
    options = choices.options
    body = {"text": choices.body[:BODY_MAX]}
    if len(options) <= BUTTONS_MAX and all(len(o.title) <= BUTTON_TITLE_MAX for o in options):
        buttons = [{"type": "reply", "reply": {"id": o.id, "title": o.title}} for o in options]
        return {
            "type": "interactive",
            "interactive": {"type": "button", "body": body, "action": {"buttons": buttons}},
        }
    if len(options) <= ROWS_MAX and all(len(o.title) <= ROW_TITLE_MAX for o in options):
        rows = [{"id": o.id, "title": o.title} for o in options]
        action = {
            "button": choices.list_button[:BUTTON_TITLE_MAX],
            "sections": [{"title": choices.list_button[:ROW_TITLE_MAX], "rows": rows}],
        }
        return {
            "type": "interactive",
            "interactive": {"type": "list", "body": body, "action": action},
        }
    return None
