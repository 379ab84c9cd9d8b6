"""The analyzer in-process on real NATS and PostgreSQL: messages in, analysis and replies out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import icalendar

from hilo.bus import EventBus
from hilo.testing import Published
from schemas import (
    CallEnded,
    ConversationHandbackRequested,
    ConversationModeChanged,
    ConversationTakeoverRequested,
    MessageReceived,
    utc_now,
)
from services.analyzer.replies import describe_when
from tests.analyzer.conftest import (
    BUSINESS,
    CUSTOMER,
    AnalyzerFactory,
    settled,
    text_message,
)

BOGOTA = ZoneInfo("America/Bogota")


def next_friday_at(hour: int) -> datetime:
    """ "El viernes" said today (in Bogotá): the first Friday strictly after today."""
    day = utc_now().astimezone(BOGOTA).date() + timedelta(days=1)
    while day.weekday() != 4:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=BOGOTA)


# Messages are written now (replies then fall between them in time, as in life).
FRIDAY_10 = next_friday_at(10)
NOW = utc_now()

SEED = (
    "Hola, ¿estás disponible?",
    "Quiero agendar una reunión",
    "El viernes a las 10",
    "Revisión del proyecto",
)


async def say(
    bus: EventBus, published: Published, text: str, conversation: str = CUSTOMER
) -> MessageReceived:
    """One message, then its reply (burst window 0)."""
    before = len(published.distinct("reply.ready", conversation))
    message = text_message(text, conversation=conversation)
    await bus.publish(message)
    await published.wait_for("reply.ready", conversation, count=before + 1)
    return message


async def test_the_seed_conversation_schedules_friday_at_ten_exactly_once(
    analyzer: AnalyzerFactory, bus: EventBus, published: Published
) -> None:
    async with analyzer() as (service, runtime):
        sent = []
        for text in SEED:
            sent.append(await say(bus, published, text))
        [scheduled] = await published.wait_for("calendar_event.scheduled")
        await settled(runtime, bus)
        port = service.http_port

        # Replays and redeliveries of every message: nothing new at all.
        counts = {t: len(published.distinct(t)) for t in ("reply.ready", "intent.detected")}
        for message in sent:
            await bus.publish_stored(message.model_dump(mode="json"), replay_id="r1")
            await bus.publish(message)
        await settled(runtime, bus)
        assert {t: len(published.distinct(t)) for t in counts} == counts

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            feed = await http.get("/calendar/default.ics")
            business_feed = await http.get(f"/calendar/{BUSINESS[1:]}.ics")
            unknown = await http.get("/calendar/999.ics")

    assert scheduled.start == FRIDAY_10
    assert "revisión del proyecto" in scheduled.title.lower()
    assert scheduled.conversation == CUSTOMER and scheduled.timezone == "America/Bogota"
    [task] = published.distinct("task.created")
    assert task.due == FRIDAY_10.date() and task.task_type == "meeting"
    # The event's task waits with the held event: created once, with the event's title.
    assert "revisión del proyecto" in task.title.lower()
    assert published.distinct("task.updated") == []
    assert len(published.distinct("calendar_event.scheduled")) == 1
    assert len(published.distinct("calendar_event.rescheduled")) == 0

    intents = published.distinct("intent.detected")
    assert len(intents) == 4 and intents[-1].intent == "schedule"
    assert all(i.backend == "rules" and i.language == "es" for i in intents)
    replies = published.distinct("reply.ready")
    assert [r.in_reply_to for r in replies] == [(m.event_id,) for m in sent]
    assert all(r.author == "analyzer" and r.language == "es" for r in replies)
    assert len({r.reply_id for r in replies}) == 4
    # The second message asks for what is missing; the last confirms the date.
    assert replies[1].text.rstrip().endswith("?")
    assert replies[2].text.rstrip().endswith("?")  # still asking the topic; nothing "noted" yet
    assert describe_when(FRIDAY_10, "es") in replies[-1].text

    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    [vevent] = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(vevent["uid"]) == f"{scheduled.calendar_event_id}@hilo"
    assert vevent.decoded("dtstart") == FRIDAY_10
    assert business_feed.status_code == 200
    assert len(icalendar.Calendar.from_ical(business_feed.content).walk("VEVENT")) == 1
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


async def test_a_repeat_a_reschedule_and_a_cancel(
    analyzer: AnalyzerFactory, bus: EventBus, published: Published
) -> None:
    async with analyzer() as (service, runtime):
        await say(
            bus,
            published,
            "Quiero agendar una reunión el viernes a las 10 para la revisión del proyecto",
        )
        [scheduled] = await published.wait_for("calendar_event.scheduled")
        await say(bus, published, "Perfecto, entonces el viernes a las 10")
        await settled(runtime, bus)
        assert len(published.distinct("calendar_event.scheduled")) == 1
        assert len(published.distinct("task.created")) == 1
        assert published.distinct("calendar_event.rescheduled") == []

        await say(
            bus,
            published,
            "Mejor muévela al viernes a las 11, por favor",
        )
        [moved] = await published.wait_for("calendar_event.rescheduled")
        await say(bus, published, "Al final cancela la reunión, lo siento")
        [cancelled] = await published.wait_for("calendar_event.cancelled")
        await settled(runtime, bus)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.http_port}") as http:
            feed = await http.get("/calendar/default.ics")

    assert moved.calendar_event_id == scheduled.calendar_event_id
    assert moved.previous_start == FRIDAY_10 and moved.start == FRIDAY_10.replace(hour=11)
    assert cancelled.calendar_event_id == scheduled.calendar_event_id
    assert len(published.distinct("calendar_event.scheduled")) == 1
    replies = published.distinct("reply.ready")
    # The repeat is answered from the stored event, in its zone (PostgreSQL returns UTC).
    assert "10:00" in replies[1].text and "15:00" not in replies[1].text
    assert "11:00" in replies[2].text
    assert "cancel" in replies[3].text.lower()
    [vevent] = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(vevent["status"]) == "CANCELLED" and vevent.decoded("sequence") == 2


async def test_a_burst_of_messages_gets_one_reply(
    analyzer: AnalyzerFactory, bus: EventBus, published: Published
) -> None:
    texts = (
        "Hola",
        "Quiero agendar una reunión",
        "el viernes a las 10",
        "para la revisión del proyecto",
    )
    async with analyzer(analyzer_burst_seconds=0.8) as (_service, runtime):
        messages = [text_message(t, NOW + timedelta(seconds=i)) for i, t in enumerate(texts)]
        for message in messages:
            await bus.publish(message)
        [reply] = await published.wait_for("reply.ready")
        await settled(runtime, bus)

    assert len(published.distinct("reply.ready")) == 1
    assert reply.in_reply_to == tuple(m.event_id for m in messages)
    # The burst was read as a whole: one analysis, named for its last message.
    [intent] = published.distinct("intent.detected")
    assert intent.causation_id == messages[-1].event_id
    [scheduled] = published.distinct("calendar_event.scheduled")
    assert scheduled.start == FRIDAY_10


def voice_note(at: datetime) -> MessageReceived:
    return MessageReceived.model_validate(
        {
            "conversation": CUSTOMER,
            "occurred_at": at,
            "provider": "twilio",
            "provider_message_id": f"SM{uuid.uuid4().hex}",
            "business_number": BUSINESS,
            "kind": "audio",
            "media": [
                {"url": "https://example.invalid/a.ogg", "content_type": "audio/ogg", "voice": True}
            ],
        }
    )


async def test_a_voice_note_is_answered_after_its_transcript(
    analyzer: AnalyzerFactory, bus: EventBus, published: Published
) -> None:
    from schemas import AudioTranscribed, AudioTranscriptionFailed

    async with analyzer(analyzer_voice_note_wait_seconds=20) as (_service, runtime):
        note = voice_note(utc_now())
        await bus.publish(note)
        await waiting_for_words(runtime, note.event_id)
        assert published.distinct("reply.ready") == []
        await bus.publish(
            AudioTranscribed(
                conversation=CUSTOMER,
                message_event_id=note.event_id,
                text="Quiero agendar una reunión el viernes a las 10 para la revisión del proyecto",
                language="es",
                backend="local",
                model="tiny",
            )
        )
        [reply] = await published.wait_for("reply.ready")
        [scheduled] = await published.wait_for("calendar_event.scheduled")

        unheard = voice_note(utc_now())
        await bus.publish(unheard)
        await bus.publish(
            AudioTranscriptionFailed(
                conversation=CUSTOMER, message_event_id=unheard.event_id, reason="undecodable"
            )
        )
        _, second = await published.wait_for("reply.ready", count=2)
        await settled(runtime, bus)

    assert reply.in_reply_to == (note.event_id,)
    assert scheduled.start == FRIDAY_10
    assert str(note.event_id) in scheduled.source_message_ids
    assert second.in_reply_to == (unheard.event_id,) and "nota de voz" in second.text
    assert len(published.distinct("reply.ready")) == 2


async def waiting_for_words(runtime: object, message_id: uuid.UUID) -> None:
    """The marker: the note is recorded, routed to the analyzer, and its burst still open."""
    from hilo.testing import eventually

    async def routed_and_open() -> bool:
        row = await runtime.db.fetchrow(  # type: ignore[attr-defined]
            "SELECT routed, processed_at FROM analyzer_inbox WHERE message_id = $1", message_id
        )
        return bool(row and row["routed"] and row["processed_at"] is None)

    await eventually(routed_and_open)


async def test_the_analyzer_answers_only_what_the_router_gives_it(
    analyzer: AnalyzerFactory, bus: EventBus, published: Published
) -> None:
    async with analyzer() as (_service, runtime):
        # A finished call hands the conversation to the voice agent; a person takes it over.
        await bus.publish(CallEnded(conversation=CUSTOMER, call_id="conv_1", status="done"))
        await bus.publish(text_message("Hola (agente de voz)"))
        await bus.publish(ConversationTakeoverRequested(conversation=CUSTOMER, operator="ana"))
        await bus.publish(text_message("Hola (persona)"))
        await settled(runtime, bus)
        assert published.distinct("reply.ready") == []
        assert published.distinct("intent.detected")  # still analysed, just not answered

        await bus.publish(ConversationHandbackRequested(conversation=CUSTOMER, operator="ana"))
        back = text_message("Hola de nuevo")
        await bus.publish(back)
        [reply] = await published.wait_for("reply.ready")
        await settled(runtime, bus)
    assert reply.in_reply_to == (back.event_id,)


async def test_a_burst_queued_before_a_crash_is_answered_at_start_up(
    analyzer: AnalyzerFactory, bus: EventBus, published: Published
) -> None:
    message = text_message("Hola, ¿me ayudas con una cotización?")
    async with analyzer(analyzer_burst_seconds=30) as (_service, runtime):
        await bus.publish(message)
        await settled_consumer_only(runtime, bus)
        assert published.distinct("reply.ready") == []  # still inside the burst window
    # The process stopped with the burst queued; the next one (no window) answers it once.
    async with analyzer() as (_service, runtime):
        [reply] = await published.wait_for("reply.ready")
        await settled(runtime, bus)
    assert reply.in_reply_to == (message.event_id,)
    assert len(published.distinct("reply.ready")) == 1


async def settled_consumer_only(runtime: object, bus: EventBus) -> None:
    from tests.analyzer.conftest import drained

    await drained(bus)


async def test_the_openai_backend_failing_still_gets_an_analysis_and_a_reply(
    analyzer: AnalyzerFactory,
    bus: EventBus,
    published: Published,
    openai_standin: object,
) -> None:
    from tests.analyzer.conftest import OpenAIStandIn

    assert isinstance(openai_standin, OpenAIStandIn)
    openai_standin.mode = "error500"
    async with analyzer(
        hilo_analyzer="openai",
        openai_base_url=openai_standin.url,
        openai_api_key="sk-test",
        analyzer_openai_max_retries=0,
    ) as (_service, runtime):
        await say(bus, published, "Hola, ¿estás disponible?")
        await settled(runtime, bus)
    [intent] = published.distinct("intent.detected")
    assert intent.backend == "rules(fallback)"
    assert len(openai_standin.requests) == 1


async def test_old_or_replayed_messages_never_seen_are_analysed_but_not_answered(
    analyzer: AnalyzerFactory, bus: EventBus, published: Published
) -> None:
    old = text_message("Quiero una cotización", utc_now() - timedelta(days=3))
    replayed = text_message("Hola", utc_now(), conversation="+573001110001")
    async with analyzer(analyzer_reply_max_age_hours=24) as (_service, runtime):
        await bus.publish(old)
        await bus.publish_stored(replayed.model_dump(mode="json"), replay_id="r9")
        await published.wait_for("intent.detected", count=2)
        await settled(runtime, bus)
    assert published.distinct("reply.ready") == []


async def test_a_replayed_handoff_does_not_silence_the_analyzer(
    analyzer: AnalyzerFactory, bus: EventBus, published: Published
) -> None:
    """Who answers is the router's decision for each message; a replay re-decides nothing."""
    handed = ConversationModeChanged(
        conversation=CUSTOMER, mode="voice_agent", reason="call_ended",
        occurred_at=NOW - timedelta(hours=2),
    )  # fmt: skip
    async with analyzer() as (_service, runtime):
        await bus.publish_stored(handed.model_dump(mode="json"), replay_id="r8")
        await settled(runtime, bus)
        await say(bus, published, "Hola otra vez")
        await settled(runtime, bus)
    assert len(published.distinct("reply.ready")) == 1
