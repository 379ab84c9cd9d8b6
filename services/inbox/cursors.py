"""Opaque keyset cursors: the sort key of the last item shown, base64url JSON. Pure.

A keyset (``WHERE (sort, id) < (last sort, last id)``) stays fast on any page and never
skips or repeats an item when new ones arrive, unlike OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class BadCursor(ValueError):
    """Not a cursor this API gave out."""


def encode(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("the cursor is not one this API gave out") from None
    if not isinstance(key, list) or len(key) != size:
        raise BadCursor("the cursor is not one this API gave out")
    return key
