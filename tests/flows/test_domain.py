"""The flow's pure parts: reading answers by type, the commands, the session's steps."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from hilo.flowdefs import Flow, question_from_json
from schemas import (
    FlowAnswerRecorded,
    FlowAnswerRejected,
    FlowQuestionAsked,
    FlowSessionAbandoned,
    FlowSessionCompleted,
    FlowSessionStarted,
    ReplyReady,
)
from services.flows import session as flows
from services.flows.answers import Accepted, Rejected, parse_date, parse_number, read_answer
from services.flows.outside_api import Answered, Failed, parse_answer
from services.flows.session import ApiAnswer, Presentation, Step
from services.flows.texts import command_in

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=MADRID)  # a Tuesday

FLOW = Flow.model_validate(
    {
        "id": "alta",
        "name": "Alta",
        "language": "es",
        "trigger": {"keywords": ["registro"]},
        "questions": [
            {"id": "name", "text": "¿Cómo te llamas?"},
            {"id": "email", "text": "¿Tu correo?", "type": "email", "hint": "Ej. ana@ejemplo.com"},
            {
                "id": "plan",
                "text": "¿Qué plan?",
                "type": "choice",
                "options": ["Básico", "Premium"],
            },
        ],
        "final_message": "¡Gracias!",
    }
)


def step(n: int = 0) -> Step:
    return Step(uuid.uuid5(uuid.NAMESPACE_OID, str(n)), "+34600111222", uuid.uuid4(), None, NOW)


def answer(
    session: flows.Session, text: str, n: int, reply_id: str | None = None
) -> flows.Decision:
    return flows.on_message(
        session,
        step(n),
        text=text,
        reply_id=reply_id,
        message_event_id=uuid.uuid4(),
        presentation=Presentation(),
    )


@pytest.mark.parametrize(
    ("text", "language", "value"),
    [("12", "es", 12), ("12,5", "es", 12.5), ("1.234,5", "es", 1234.5), ("1,234.5", "en", 1234.5),
     ("-3", "en", -3), ("doce", "es", None), ("12 kg", "es", None)],
)  # fmt: skip
def test_numbers(text: str, language: str, value: float | None) -> None:
    assert parse_number(text, language) == value


@pytest.mark.parametrize(
    ("text", "language", "day"),
    [("2027-01-15", "es", date(2027, 1, 15)), ("15/01/2027", "es", date(2027, 1, 15)),
     ("01/15/2027", "en", date(2027, 1, 15)), ("mañana", "es", date(2026, 12, 2)),
     ("el viernes", "es", date(2026, 12, 4)), ("next Tuesday", "en", date(2026, 12, 8)),
     ("5 de enero", "es", date(2027, 1, 5)), ("31/02/2027", "es", None),
     ("cuando sea", "es", None)],
)  # fmt: skip
def test_dates_follow_the_analyzer_conventions(text: str, language: str, day: date | None) -> None:
    assert parse_date(text, language, NOW) == day


def test_email_and_choice_answers() -> None:
    email, plan = FLOW.questions[1], FLOW.questions[2]
    assert read_answer(email, " Ana@Ejemplo.com ", language="es", now=NOW) == Accepted(
        "ana@ejemplo.com"
    )
    assert read_answer(email, "ana arroba ejemplo", language="es", now=NOW) == Rejected(
        "invalid_email"
    )
    assert read_answer(plan, "2", language="es", now=NOW) == Accepted("Premium")
    assert read_answer(plan, "basico", language="es", now=NOW) == Accepted("Básico")
    assert read_answer(plan, "x", language="es", now=NOW, reply_id="flow:plan:1",
                       option_prefix="flow:") == Accepted("Básico")  # fmt: skip
    assert read_answer(plan, "3", language="es", now=NOW) == Rejected("not_an_option")


def test_commands_in_both_languages() -> None:
    assert command_in("Atrás") == "back"
    assert command_in("go back") == "back"
    assert command_in("Empezar de nuevo") == "restart"
    assert command_in("start over!") == "restart"
    assert command_in("CANCELAR") == "cancel"
    assert command_in("cancel") == "cancel"
    assert command_in("Ana") is None


def test_a_session_from_start_to_completion() -> None:
    started = flows.start(FLOW, step(), source="keyword", language=None, previous=None,
                          presentation=Presentation())  # fmt: skip
    assert [type(e) for e in started.events] == [FlowSessionStarted, ReplyReady, FlowQuestionAsked]
    session = started.session
    assert session is not None
    answer(session, "Ana", 1)
    rejected = answer(session, "ana@", 2)
    assert isinstance(rejected.events[0], FlowAnswerRejected)
    reasked = rejected.events[1]
    assert isinstance(reasked, ReplyReady) and "Ej. ana@ejemplo.com" in (reasked.text or "")
    asked_plan = answer(session, "ana@ejemplo.com", 3).events[1]
    assert isinstance(asked_plan, ReplyReady) and asked_plan.choices is not None
    assert "1. Básico\n2. Premium" in (asked_plan.text or "")
    back = answer(session, "atrás", 4)
    assert session.current.id == "email" and "email" not in session.answers
    assert back.events[-1].question_id == "email"  # type: ignore[attr-defined]
    answer(session, "ana@ejemplo.com", 5)
    done = answer(session, "Premium", 6)
    assert done.session is None
    kinds = [type(e) for e in done.events]
    assert kinds == [FlowAnswerRecorded, ReplyReady, FlowSessionCompleted]
    assert session.answers == {"name": "Ana", "email": "ana@ejemplo.com", "plan": "Premium"}


def test_the_same_input_decides_the_same_events() -> None:
    def run() -> list[uuid.UUID]:
        started = flows.start(FLOW, step(), source="api", language=None, previous=None,
                              presentation=Presentation())  # fmt: skip
        assert started.session is not None
        return [e.event_id for e in started.events + answer(started.session, "Ana", 1).events]

    assert run() == run()


def test_cancel_and_a_switch_offer() -> None:
    other = FLOW.model_copy(update={"id": "quote", "name": "Quote"})
    session = flows.start(FLOW, step(), source="keyword", language=None, previous=None,
                          presentation=Presentation()).session  # fmt: skip
    assert session is not None
    offered = flows.on_message(session, step(1), text="quote", reply_id=None,
                               message_event_id=uuid.uuid4(), presentation=Presentation(),
                               other_flow=other)  # fmt: skip
    assert session.status == "offering_switch" and offered.session is session
    stay = answer(session, "2", 2)
    assert stay.switch_to is None
    assert session.model_dump()["status"] == "asking"
    cancelled = answer(session, "cancelar", 3)
    assert cancelled.session is None
    assert isinstance(cancelled.events[0], FlowSessionAbandoned)
    assert cancelled.events[0].reason == "cancelled"


def test_outside_api_answers_are_checked() -> None:
    ok = parse_answer(b'{"additional_questions": [{"id": "rooms", "text": "How many?",'
                      b' "type": "number"}], "message": "Almost there"}', "en", 200, 1)  # fmt: skip
    assert isinstance(ok, Answered)
    assert ok.answer.additional_questions == (
        question_from_json({"id": "rooms", "text": "How many?", "type": "number"}, "en"),
    )
    assert isinstance(parse_answer(b"<html>oops</html>", "en", 200, 1), Failed)
    wrong = parse_answer(b'{"continue_conversation": "no"}', "en", 200, 1)
    assert isinstance(wrong, Failed) and "continue_conversation" in wrong.reason
    bad_question = parse_answer(b'{"additional_questions": [{"id": "x"}]}', "en", 200, 1)
    assert isinstance(bad_question, Failed)
    assert isinstance(parse_answer(b"", "en", 204, 1), Answered)


def test_rounds_keep_their_numbers_across_back_and_start_over() -> None:
    api_flow = FLOW.model_copy(update={"external_api": object()})
    session = flows.start(api_flow, step(), source="keyword", language=None, previous=None,
                          presentation=Presentation()).session  # fmt: skip
    assert session is not None and session.has_api
    for n, text in enumerate(["Ana", "ana@ejemplo.com", "1"], start=1):
        last = answer(session, text, n)
    assert last.call_api_round == 1 and session.status == "awaiting_api"
    more = ApiAnswer(
        additional_questions=(
            question_from_json({"id": "rooms", "text": "¿Cuántas?", "type": "number"}, "es"),
        )
    )
    flows.on_api_answer(session, step(10), more, Presentation())  # fmt: skip
    assert session.round == 2 and session.current.id == "rooms"
    answer(session, "atrás", 11)
    assert session.current.id == "rooms"  # round 1 went to the API already
    answer(session, "empezar de nuevo", 12)
    assert session.round == 2 and session.current.id == "name"
    for n, text in enumerate(["Ana", "ana@ejemplo.com", "2"], start=13):
        last = answer(session, text, n)
    assert last.call_api_round == 2  # a new round: never the key of the one already sent
