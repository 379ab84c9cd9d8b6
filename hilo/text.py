"""Text helpers every service shares: accent- and case-folding, keywords. Pure.

Customers write "Reunión", "REUNION" and "reunion" for the same word, and type
keywords with stray punctuation ("Baja.", "¡Alta!"); one folding rule everywhere
keeps the router, the flows and the analyzer agreeing on what a word is.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^\w]+")


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


def keyword(text: str) -> str:
    """A whole message as a keyword: folded, punctuation dropped, spaces collapsed."""
    return _NOT_WORD.sub(" ", fold(text)).strip()
