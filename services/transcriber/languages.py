"""Which language to transcribe a voice note in: detected per note, hinted by the operator.

Whisper guesses a note's language from its first 30 seconds. On a short or
synthetic note the guess can be unsure and wrong (a Spanish note heard as Thai at
44 %, or as English at 37 % against Spanish at 23 %), and transcribing in the wrong
language garbles every word. So a confident guess wins; an unsure one is settled
among the hinted languages (``TRANSCRIBER_LANGUAGE``, e.g. ``es`` or ``es,en``; unset:
Spanish and English, the two languages Hilo speaks), where the first hint counts
double: an unsure guess must be twice as sure of another hinted language to
overrule it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# A guess at least this sure is kept even when it is none of the hinted languages.
CONFIDENT = 0.7
FIRST_CLASS = ("es", "en")
# How much more an unsure guess believes in the first hinted language than it says.
FIRST_HINT_WEIGHT = 2.0


def parse_hint(hint: str | None) -> tuple[str, ...]:
    """``"es"``, ``"es,en"`` or ``" ES , en "`` → ``("es", "en")``; empty → ()."""
    return tuple(dict.fromkeys(p.strip().lower() for p in (hint or "").split(",") if p.strip()))


def choose_language(
    probabilities: Iterable[tuple[str, float]],
    hints: Sequence[str] = (),
    *,
    confident: float = CONFIDENT,
) -> str:
    """The language to decode in, given the model's (language, probability) pairs."""
    ranked = sorted(probabilities, key=lambda pair: pair[1], reverse=True)
    candidates = tuple(hints) or FIRST_CLASS
    if not ranked:
        return candidates[0]
    top, top_probability = ranked[0]
    if top_probability >= confident:
        return top
    probability = dict(ranked)

    def weight(code: str) -> float:
        return probability.get(code, 0.0) * (FIRST_HINT_WEIGHT if code == candidates[0] else 1)

    return max(candidates, key=weight)
