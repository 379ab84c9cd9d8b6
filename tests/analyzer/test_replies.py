"""What the analyzer answers: pure, per language."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from services.analyzer.diff import calendar_changes, task_changes
from services.analyzer.models import AgreedEvent, Analysis, FollowUpTask
from services.analyzer.replies import ReplyFacts, compose, describe_when, reply_language

BOGOTA = ZoneInfo("America/Bogota")
START = datetime(2026, 11, 20, 10, tzinfo=BOGOTA)


def analysis(**fields: object) -> Analysis:
    values: dict[str, object] = {
        "language": "es",
        "summary": "s",
        "sentiment": "neutral",
        "intent": "other",
    }
    values.update(fields)
    return Analysis.model_validate(values)


def event(title: str = "Demo del producto", **fields: object) -> AgreedEvent:
    values: dict[str, object] = {
        "key": "k",
        "title": title,
        "start": START,
        "timezone": "America/Bogota",
    }
    values.update(fields)
    return AgreedEvent.model_validate(values)


def test_dates_read_naturally_in_both_languages() -> None:
    assert describe_when(START, "es") == "el viernes 20 de noviembre a las 10:00"
    assert describe_when(START, "en") == "Friday, November 20 at 10:00"
    assert describe_when(date(2026, 12, 1), "es") == "el martes 1 de diciembre"


@pytest.mark.parametrize(
    ("detected", "expected"), [("en", "en"), ("es-CO", "es"), ("pt", "es"), (None, "es")]
)
def test_reply_language_falls_back_to_the_default(detected: str | None, expected: str) -> None:
    assert reply_language(detected, "es") == expected


def test_a_scheduled_event_is_confirmed_with_its_title_and_time() -> None:
    agreed = event()
    changes = calendar_changes("+57300", {}, [agreed])
    text = compose(
        ReplyFacts(analysis(intent="schedule", events=(agreed,)), "es", calendar=changes)
    )
    assert "Demo del producto" in text and "viernes 20 de noviembre a las 10:00" in text
    english = compose(
        ReplyFacts(analysis(language="en", intent="schedule"), "en", calendar=changes)
    )
    assert "Demo del producto" in english and "Friday, November 20 at 10:00" in english


def test_a_reschedule_and_a_cancel_are_confirmed_as_such() -> None:
    [scheduled] = calendar_changes("+57300", {}, [event()])
    stored = {scheduled.after.calendar_event_id: scheduled.after}
    moved = calendar_changes("+57300", stored, [event(start=START.replace(hour=15))])
    cancelled = calendar_changes("+57300", stored, [event(status="cancelled")])
    moved_text = compose(ReplyFacts(analysis(intent="reschedule"), "en", calendar=moved))
    cancelled_text = compose(ReplyFacts(analysis(intent="cancel"), "en", calendar=cancelled))
    assert "moved" in moved_text and "15:00" in moved_text
    assert "cancel" in cancelled_text and "Demo del producto" in cancelled_text
    assert moved_text != cancelled_text


@pytest.mark.parametrize(
    ("missing", "language", "asked"),
    [
        (("day", "time"), "es", ("qué día", "a qué hora")),
        (("topic",), "es", ("tema",)),
        (("time",), "en", ("what time",)),
    ],
)
def test_what_is_missing_is_asked_for(
    missing: tuple[str, ...], language: str, asked: tuple[str, ...]
) -> None:
    text = compose(ReplyFacts(analysis(intent="schedule", missing=missing), language))
    assert all(part in text for part in asked)
    assert text.endswith("?")


def test_a_new_task_is_acknowledged_and_other_intents_get_fitting_answers() -> None:
    task = FollowUpTask(key="t", title="Enviar cotización", type="quote", priority=3)
    noted = compose(
        ReplyFacts(analysis(intent="quote"), "es", tasks=task_changes("+57300", {}, [task]))
    )
    greeting = compose(ReplyFacts(analysis(), "es", contact_name="Lucía Gómez"))
    support = compose(ReplyFacts(analysis(intent="support", language="en"), "en"))
    assert noted and "Lucía" in greeting and greeting.endswith("?")
    assert len({noted, greeting, support}) == 3


def test_an_unheard_voice_note_is_asked_to_be_written() -> None:
    text = compose(ReplyFacts(analysis(), "es", unheard_voice_note=True))
    assert "nota de voz" in text


def test_a_repeated_agreement_is_answered_with_what_stands() -> None:
    [scheduled] = calendar_changes("+57300", {}, [event()])
    text = compose(ReplyFacts(analysis(intent="schedule"), "es", standing=[scheduled.after]))
    assert "Demo del producto" in text and "10:00" in text


def test_later_in_a_conversation_thanks_are_not_answered_with_a_greeting() -> None:
    thanks = compose(ReplyFacts(analysis(sentiment="positive"), "es", first_reply=False))
    other = compose(ReplyFacts(analysis(), "en", contact_name="Ann", first_reply=False))
    assert "Hola" not in thanks and "Ann" not in other and other.endswith("?")
