"""Text helpers every service shares: accent- and case-folding, keywords, language. Pure.

Customers write "Reunión", "REUNION" and "reunion" for the same word, and type
keywords with stray punctuation ("Baja.", "¡Alta!"); one folding rule everywhere
keeps the router, the flows and the analyzer agreeing on what a word is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_NOT_WORD = re.compile(r"[^\w]+")
_LETTERS = re.compile(r"[^\W\d_]+")
_SPANISH_MARKS = re.compile(r"[ñ¿¡áéíóú]")
# Function words and the everyday words of a customer conversation, folded.
_SPANISH = frozenset(
    (
        "el la los las de del que y en un una por para con no si es esta estoy quiero quisiera "
        "necesito hola gracias buenas buenos dias tardes noches manana hoy cuando donde como "
        "puedo podemos porfa vale pero mi me te le nos hay muy tengo tenemos sobre cita reunion "
        "tambien bueno"
    ).split()
)
_ENGLISH = frozenset(
    (
        "the a an of to and in is it i you we our my for on at with can could would like need "
        "hi hello thanks thank please this that be have do does what when where how tomorrow "
        "today meeting call next week morning yes want also okay"
    ).split()
)


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


def guess_language(texts: Iterable[str], default: str = "es") -> str:
    """``es`` or ``en``: the one whose common words the texts use more; ``default`` on a tie.

    Spanish's own marks (ñ, ¿, ¡, accents) count double: short Spanish messages are often
    one word ("Gracias", "¡Sí!") that an English reader would not write.
    """
    spanish = english = 0
    for text in texts:
        for word in _LETTERS.findall(fold(text)):
            spanish += word in _SPANISH
            english += word in _ENGLISH
        if _SPANISH_MARKS.search(text.lower()):
            spanish += 2
    if spanish == english:
        return default
    return "es" if spanish > english else "en"
