"""Text helpers every rule shares: accent- and case-folding, word matching. Pure."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


def _fold_char(char: str) -> str:
    base = unicodedata.normalize("NFKD", char.lower())
    kept = [c for c in base if not unicodedata.combining(c)]
    return kept[0] if kept else " "


def fold(text: str) -> str:
    """Lower case without accents ("Reunión" → "reunion", "mañana" → "manana").

    One character in, one character out, so a position found in the folded text is the
    same position in the original (titles and names are cut from the original).
    """
    return "".join(_fold_char(c) for c in text)


def has_any(folded: str, phrases: Iterable[str]) -> bool:
    """Whether any phrase (already folded) occurs in ``folded`` as whole words."""
    return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", folded) for p in phrases)


def words_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of the (folded) phrases as whole words; longest first."""
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
