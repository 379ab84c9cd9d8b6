"""Text helpers every rule shares: accent- and case-folding, word matching. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hilo.text import fold

__all__ = ["fold", "has_any", "words_pattern"]


def has_any(folded: str, phrases: Iterable[str]) -> bool:
    """Whether any phrase (already folded) occurs in ``folded`` as whole words."""
    return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", folded) for p in phrases)


def words_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of the (folded) phrases as whole words; longest first."""
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
