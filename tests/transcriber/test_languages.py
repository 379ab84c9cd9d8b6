"""A note's language: a confident guess wins, an unsure one falls back to the hints."""

from __future__ import annotations

import pytest

from services.transcriber.languages import choose_language, parse_hint


@pytest.mark.parametrize(
    ("probabilities", "hints", "chosen"),
    [
        ([("es", 0.94), ("gl", 0.02)], (), "es"),
        ([("en", 0.9), ("es", 0.05)], ("es",), "en"),  # an English note to a Spanish business
        ([("th", 0.44), ("en", 0.34), ("es", 0.06)], ("es",), "es"),  # unsure: the hint
        ([("th", 0.44), ("en", 0.34), ("es", 0.06)], (), "en"),  # unsure, no hint: es or en
        ([("en", 0.37), ("es", 0.23), ("la", 0.14)], (), "es"),  # the first hint counts double
        ([("en", 0.6), ("es", 0.15)], (), "en"),  # ... but no more than that
        ([("en", 0.37), ("es", 0.23)], ("en", "es"), "en"),
        ([("es", 0.27), ("la", 0.21), ("en", 0.17)], (), "es"),
        ([("it", 0.4), ("pt", 0.35), ("es", 0.2)], ("pt", "es"), "pt"),
        ([], ("de",), "de"),
        ([], (), "es"),
    ],
)
def test_choose_language(
    probabilities: list[tuple[str, float]], hints: tuple[str, ...], chosen: str
) -> None:
    assert choose_language(probabilities, hints) == chosen


def test_hints_are_a_list_of_codes() -> None:
    assert parse_hint(" ES , en,es ") == ("es", "en")
    assert parse_hint("") == () and parse_hint(None) == ()
