"""Text helpers every rule shares: accent- and case-folding, word matching. Pure."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from hilo import text as _shared

# The rules fold the same message many times (each step reads it again): remembered, the
# folding costs once per text instead of once per look.
fold = functools.lru_cache(maxsize=8192)(_shared.fold)

__all__ = ["fold", "has_any", "words_pattern"]


def has_any(folded: str, phrases: Iterable[str]) -> bool:
    """Whether any phrase (already folded) occurs in ``folded`` as whole words."""
    return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", folded) for p in phrases)


def words_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of the (folded) phrases as whole words; longest first."""
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
