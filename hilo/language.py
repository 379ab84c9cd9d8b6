"""Which language the contact writes: Spanish or English, by their function words. Pure."""

from __future__ import annotations

import re

from hilo.text import fold

_SPANISH = set(
    "el la los las de del que y en un una por para con no si es esta estoy quiero quisiera "
    "necesito hola gracias buenas buenos dias tardes noches manana hoy cuando donde como "
    "puedo podemos porfa vale pero mi me te le nos hay muy tengo tenemos sobre cita reunion".split()
)
_ENGLISH = set(
    "the a an of to and in is it i you we our my for on at with can could would like need "
    "hi hello thanks thank please this that be have do does what when where how tomorrow "
    "today meeting call next week morning".split()
)
_WORD = re.compile(r"[^\W\d_]+")


def detect(texts: list[str], default: str = "es") -> str:
    """``es`` or ``en``: the one whose common words the texts use more; ``default`` on a tie."""
    spanish = english = 0
    for text in texts:
        for word in _WORD.findall(fold(text)):
            spanish += word in _SPANISH
            english += word in _ENGLISH
        if re.search(r"[ñ¿¡áéíóú]", text.lower()):
            spanish += 2
    if spanish == english:
        return default
    return "es" if spanish > english else "en"
