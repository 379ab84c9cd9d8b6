"""A search box's text as a PostgreSQL full-text query over folded text. Pure.

The index (``proj_inbox_conversations.search``) holds names, numbers and message texts
folded to lower case without accents, with the ``simple`` configuration (no stemming:
names and numbers must match as typed). The query is folded the same way, and every word
is a prefix (``anto:*`` finds "Antonio"), all of them required.
"""

from __future__ import annotations

import re

from hilo.projections.inbox import fold_for_search

_WORD = re.compile(r"\w+")
MAX_WORDS = 8


def tsquery(text: str) -> str | None:
    """``"José  600"`` → ``"jose:* & 600:*"``; None when nothing searchable is left."""
    words = _WORD.findall(fold_for_search(text))[:MAX_WORDS]
    return " & ".join(f"{w}:*" for w in words) or None
