"""The pure parts: retrieval, slots, the fact check and the offline answer."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hilo.business import load_profile, parse_profile
from services.analyzer.answers import Situation, compose_answer, is_closer
from services.analyzer.factcheck import Sources, invented
from services.analyzer.knowledge import Knowledge, asked
from services.analyzer.models import Analysis
from services.analyzer.replies import ReplyFacts
from services.analyzer.slots import free_slots, verdict
from tests.business.conftest import profile_yaml

MADRID = ZoneInfo("Europe/Madrid")
EXAMPLE = load_profile(Path(__file__).resolve().parents[2] / "business.yaml").profile
KNOWLEDGE = Knowledge.build(EXAMPLE)
# Tuesday 1 December 2026, 10:00 in Madrid.
NOW = datetime(2026, 12, 1, 10, tzinfo=MADRID)


def when(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=MADRID)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("¿Tenéis parking?", "faq:Sí, en la calle de atrás"),
        ("Do you have parking?", "faq:Sí, en la calle de atrás"),
        ("¿Se puede pagar con tarjeta?", "faq:Aceptamos efectivo"),
        ("¿Trabajáis con Sanitas?", "faq:Trabajamos con Sanitas"),
        ("¿Atendéis urgencias?", "faq:Sí, en horario de apertura"),
        ("¿Cuánto cuesta un empaste?", "price:Empaste"),
        ("How much is teeth whitening?", "price:Blanqueamiento dental"),
        ("¿Hacéis blanqueamientos?", "service:Blanqueamiento dental"),
        ("¿A qué hora abrís mañana?", "hours"),
        ("¿Cómo llego a la clínica? ¿Cuál es la dirección?", "address"),
        ("¿Hacéis implantes?", "nothing"),
        ("¿Aceptáis perros?", "nothing"),
    ],
)
def test_questions_find_their_facts_and_unknown_ones_find_nothing(
    question: str, expected: str
) -> None:
    found = asked(KNOWLEDGE, question)
    if found.faq:
        got = "faq:" + found.faq.a.in_language("es")
    elif found.prices:
        got = "price:" + found.prices[0].name.in_language("es")
    elif found.services:
        got = "service:" + found.services[0].name.in_language("es")
    elif found.hours:
        got = "hours"
    elif found.address:
        got = "address"
    else:
        got = "nothing"
    assert got.startswith(expected)


def test_a_slot_fits_only_inside_hours_off_closed_dates_and_below_parallel() -> None:
    profile = parse_profile(profile_yaml(parallel=1)).profile
    taken = [(when(7, 10), when(7, 10, 45))]
    assert verdict(profile, when(7, 9), when(7, 9, 45), taken, NOW) == "fits"
    assert verdict(profile, when(7, 10, 30), when(7, 11), taken, NOW) == "taken"
    assert verdict(profile, when(7, 13, 30), when(7, 14, 15), taken, NOW) == "outside_hours"
    assert verdict(profile, when(6, 10), when(6, 10, 30), taken, NOW) == "closed_day"
    assert verdict(profile, when(1, 9), when(1, 9, 30), taken, NOW) == "past"
    closed = parse_profile(profile_yaml(closed=when(9, 0).date())).profile
    assert verdict(closed, when(9, 10), when(9, 10, 30), [], NOW) == "closed_date"


def test_free_slots_are_the_nearest_on_the_grid_either_side() -> None:
    profile = parse_profile(profile_yaml(parallel=1)).profile
    taken = [(when(7, 10), when(7, 11))]
    options = free_slots(profile, when(7, 10), length=when(7, 1) - when(7, 0), taken=taken, now=NOW)
    assert options == [when(7, 9), when(7, 11), when(7, 11, 30)]
    # Nothing in the past is offered: around "now", only later starts.
    soon = free_slots(profile, NOW, length=when(1, 1) - when(1, 0), taken=[], now=NOW)
    assert all(s > NOW for s in soon) and len(soon) == 3


def test_the_fact_check_catches_invented_prices_hours_and_numbers() -> None:
    sources = Sources(
        facts=("Limpieza dental: 45 €", "09:00-14:00", "16:00-20:00", "¿Abrís a las 9?"),
        context=('{"booking": {"slot_minutes": 30}}',),
    )
    true = "La limpieza cuesta 45 €, de 9:00 a 14:00 o a las 4 de la tarde."
    assert invented(true, sources) == []
    assert invented("La limpieza cuesta 30 €.", sources) == ["price 30"]
    assert invented("Abrimos a las 7:30.", sources) == ["time 7:30"]
    assert invented("Te veo a las 15:30", sources) == ["time 15:30"]
    assert invented("Tenemos 3 sillones", sources) == ["number 3"]


def test_closers_and_silence() -> None:
    assert all(
        is_closer(t) for t in ("gracias", "¡Muchas gracias!", "ok", "perfecto", "👍", "Thanks!")
    )
    assert not any(is_closer(t) for t in ("gracias, ¿y el sábado?", "ok, el martes a las 10"))
    facts = ReplyFacts(
        analysis=Analysis.model_validate(
            {"language": "es", "summary": "s", "sentiment": "positive", "intent": "other"}
        ),
        language="es",
    )
    after_answer = Situation(facts, ("gracias",), NOW, "Limpieza dental: 45 €.", EXAMPLE, KNOWLEDGE)
    assert compose_answer(after_answer).text is None
    after_question = Situation(facts, ("ok",), NOW, "¿Qué día te viene bien?", EXAMPLE, KNOWLEDGE)
    assert compose_answer(after_question).text is not None


@pytest.mark.parametrize("greeting", ["Hola, ¿qué tal?", "¿Hay alguien ahí?", "Hi, are you there?"])
def test_small_talk_is_greeted_not_handed_to_a_person(greeting: str) -> None:
    facts = ReplyFacts(
        analysis=Analysis.model_validate(
            {"language": "es", "summary": "s", "sentiment": "neutral", "intent": "other"}
        ),
        language="es",
    )
    answer = compose_answer(Situation(facts, (greeting,), NOW, None, EXAMPLE, KNOWLEDGE))
    assert answer.text and not answer.person_needed
