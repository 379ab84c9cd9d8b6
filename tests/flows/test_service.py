"""The flows service on the real NATS and PostgreSQL, with a stand-in outside API."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hilo import testing
from hilo.bus import EventBus
from hilo.service import Runtime
from tests.flows.conftest import CONTACT, FlowsFactory, Router, drained, questions
from tests.flows.standins import SECRET, Answer, OutsideApi, final
from tests.flows.standins import questions as more_questions


def replies(published: testing.Published) -> list[str]:
    return [r.text for r in published.distinct("reply.ready", CONTACT)]


async def answer_all(router: Router, published: testing.Published) -> None:
    """From the keyword to the last question of the intake flow, with one invalid answer."""
    await router.says("Registro", keyword_of="alta")
    await questions(published, 1)
    for n, text in enumerate(["Ana", "ana@", "ana@ejemplo.com", "3", "mañana", "2"], start=2):
        await router.says(text)
        await questions(published, n)
    await router.says("saltar")  # the last question is optional


async def test_a_contact_goes_through_every_question_type_and_the_outside_api(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published, api: OutsideApi
) -> None:
    api.queue(
        more_questions(
            {"id": "rooms", "text": "¿Cuántas habitaciones?", "type": "number"},
            message="Casi listo.",
        ),
        final("Tu presupuesto: 120 €."),
    )
    router = Router(bus)
    async with flows_service():
        await answer_all(router, published)
        asked = await questions(published, 8)
        assert asked[-1].question_id == "rooms" and asked[-1].round == 2
        await router.says("4")
        await published.wait_for("flow.session_completed", CONTACT)

    asked_ids = [q.question_id for q in published.distinct("flow.question_asked", CONTACT)]
    assert asked_ids == ["name", "email", "email", "people", "start", "plan", "notes", "rooms"]
    rejected = published.distinct("flow.answer_rejected", CONTACT)
    assert [r.reason for r in rejected] == ["invalid_email"]
    texts = replies(published)
    assert "Escribe un correo válido, por ejemplo ana@ejemplo.com" in texts[2]
    assert "1. Básico\n2. Premium" in texts[5]
    assert texts[-3:] == ["Casi listo.", "¿Cuántas habitaciones?", "Tu presupuesto: 120 €."]

    # One POST per round, with the contract's payload, key and bearer secret.
    assert len(api.calls) == 2
    first, second = api.calls
    tomorrow = (datetime.now(ZoneInfo("Europe/Madrid")).date() + timedelta(days=1)).isoformat()
    assert first.body["answers"] == {
        "name": "Ana",
        "email": "ana@ejemplo.com",
        "people": 3,
        "start": tomorrow,
        "plan": "Premium",
        "notes": None,
    }
    assert first.body["flow"] == "alta" and first.body["contact"] == CONTACT
    assert first.body["language"] == "es" and first.body["round"] == 1
    assert set(first.body) == {
        "session_id",
        "flow",
        "contact",
        "language",
        "answers",
        "round",
        "completed_at",
    }
    assert second.body["round"] == 2 and second.body["answers"]["rooms"] == 4
    assert first.headers["authorization"] == f"Bearer {SECRET}"
    assert first.headers["idempotency-key"] != second.headers["idempotency-key"]
    assert date.fromisoformat(tomorrow)


async def test_a_5xx_and_a_timeout_are_retried_with_the_same_key(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published, api: OutsideApi
) -> None:
    api.queue(Answer(status=500), Answer(delay=3.0, body={}), final("Hecho."))
    async with flows_service():
        await answer_all(Router(bus), published)
        await published.wait_for("flow.session_completed", CONTACT)
    assert len(api.calls) == 3
    assert len({c.headers["idempotency-key"] for c in api.calls}) == 1
    assert replies(published)[-1] == "Hecho."
    answered = published.distinct("flow.api_answered", CONTACT)
    assert [(a.round, a.attempts) for a in answered] == [(1, 3)]


async def test_a_4xx_is_not_retried_and_fails_the_session_with_an_apology(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published, api: OutsideApi
) -> None:
    api.queue(Answer(status=400, body={"error": "bad"}))
    async with flows_service(flows_apology_es="Perdona, algo ha fallado."):
        await answer_all(Router(bus), published)
        failed = await published.wait_for("flow.session_failed", CONTACT)
    assert len(api.calls) == 1
    assert "HTTP 400" in failed[0].reason
    assert replies(published)[-1] == "Perdona, algo ha fallado."


async def test_an_answer_that_is_not_json_is_a_failure_with_the_reason(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published, api: OutsideApi
) -> None:
    api.queue(Answer(body="<html>gateway</html>"))
    async with flows_service():
        await answer_all(Router(bus), published)
        failed = await published.wait_for("flow.session_failed", CONTACT)
    assert "not JSON" in failed[0].reason
    assert len(api.calls) == 1


async def test_a_session_that_keeps_failing_ends_after_the_last_attempt(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published, api: OutsideApi
) -> None:
    api.queue(Answer(status=503), Answer(status=502), Answer(status=500))
    async with flows_service():
        await answer_all(Router(bus), published)
        failed = await published.wait_for("flow.session_failed", CONTACT)
    assert len(api.calls) == 3
    assert "gave up after 3 attempts" in failed[0].reason


async def test_navigation_words_and_a_switch_to_another_flow(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published
) -> None:
    router = Router(bus)
    async with flows_service():
        await router.says("registro", keyword_of="alta")
        await router.says("Ana")
        await questions(published, 2)
        await router.says("atrás")
        back = (await questions(published, 3))[-1]
        assert back.question_id == "name" and back.reason == "back"
        await router.says("quote", keyword_of="quote")  # another flow's keyword
        await published.wait_for("flow.switch_offered", CONTACT)
        await router.says("1")
        started = await published.wait_for("flow.session_started", CONTACT, count=2)
        abandoned = await published.wait_for("flow.session_abandoned", CONTACT)
    assert abandoned[0].reason == "switched"
    assert started[1].flow_id == "quote"
    kinds = [e.type for e in published.events if e.type.startswith("flow.session")]
    assert kinds.index("flow.session_abandoned") < kinds.index("flow.session_started", 1)
    offer = next(r for r in published.distinct("reply.ready", CONTACT) if r.choices and
                 "«Alta de cliente»" in (r.text or ""))  # fmt: skip
    assert [o.id for o in offer.choices.options] == ["flows:switch", "flows:stay"]


async def test_a_voice_note_is_answered_once_transcribed(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published
) -> None:
    from schemas import AudioTranscribed

    router = Router(bus)
    async with flows_service():
        await router.says("registro", keyword_of="alta")
        await questions(published, 1)
        note = await router.says(None, kind="audio")
        await drained(bus)
        assert len(published.distinct("flow.question_asked", CONTACT)) == 1
        await bus.publish(
            note.caused(
                AudioTranscribed,
                "transcribed",
                message_event_id=note.event_id,
                text="Me llamo Ana",
                backend="local",
                model="tiny",
            )
        )
        await questions(published, 2)
    recorded = published.distinct("flow.answer_recorded", CONTACT)
    assert recorded[0].value == "Me llamo Ana"


async def test_an_idle_session_gets_one_reminder_then_is_abandoned(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published
) -> None:
    async with flows_service(
        flows_reminder_after_seconds=0.3, flows_abandon_after_seconds=0.3
    ) as runtime:
        await Router(bus).says("registro", keyword_of="alta")
        abandoned = await published.wait_for("flow.session_abandoned", CONTACT)
        assert isinstance(runtime, Runtime)
    assert abandoned[0].reason == "timed_out"
    reasons = [q.reason for q in published.distinct("flow.question_asked", CONTACT)]
    assert reasons == ["first", "reminder"]


async def test_an_operator_start_and_a_takeover(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published
) -> None:
    router = Router(bus)
    async with flows_service():
        await router.mode("flow", "flow_requested", flow_id="quote")
        asked = await questions(published, 1)
        assert asked[0].flow_id == "quote"
        await router.mode("human", "taken_over")
        abandoned = await published.wait_for("flow.session_abandoned", CONTACT)
    assert abandoned[0].reason == "interrupted"


async def test_the_contacts_language_picks_the_texts(
    bus: EventBus, flows_service: FlowsFactory, published: testing.Published
) -> None:
    from schemas import MessageReceived

    async with flows_service():
        await bus.publish(
            MessageReceived(
                conversation=CONTACT,
                provider="twilio",
                provider_message_id="SM-before",
                text="Hola, quiero un presupuesto para la mudanza, por favor",
            )
        )
        await Router(bus).says("quote", keyword_of="quote")  # an English flow's keyword
        asked = await questions(published, 1)
    started = published.distinct("flow.session_started", CONTACT)
    assert started[0].language == "es"
    assert asked[0].text == "¿Qué servicio?"
