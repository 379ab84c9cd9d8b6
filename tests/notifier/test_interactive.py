"""Questions with options as Meta interactive messages: buttons, a list, or the text."""

from __future__ import annotations

from schemas import ReplyChoices, ReplyOption
from services.notifier.interactive import meta_interactive


def choices(*titles: str) -> ReplyChoices:
    options = tuple(ReplyOption(id=f"flow:q:{n}", title=t) for n, t in enumerate(titles, 1))
    return ReplyChoices(body="¿Cuál?", options=options, list_button="Opciones")


def test_up_to_three_short_options_are_buttons() -> None:
    payload = meta_interactive(choices("Básico", "Premium"))
    assert payload is not None and payload["interactive"]["type"] == "button"
    buttons = payload["interactive"]["action"]["buttons"]
    assert buttons[0] == {"type": "reply", "reply": {"id": "flow:q:1", "title": "Básico"}}


def test_more_options_or_longer_titles_are_a_list() -> None:
    four = meta_interactive(choices("a", "b", "c", "d"))
    assert four is not None and four["interactive"]["type"] == "list"
    assert four["interactive"]["action"]["button"] == "Opciones"
    long_titles = meta_interactive(choices("Una opción bastante larga", "b"))
    assert long_titles is None or long_titles["interactive"]["type"] == "list"


def test_what_does_not_fit_stays_numbered_text() -> None:
    assert meta_interactive(choices(*[f"opción {n}" for n in range(11)])) is None
    assert meta_interactive(choices("x" * 30, "y")) is None
