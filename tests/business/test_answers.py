"""The analyzer answering from a business profile, on real NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from hilo.bus import EventBus
from hilo.testing import Published, eventually
from schemas import utc_now
from services.analyzer.replies import describe_when
from tests.analyzer.conftest import settled
from tests.business.conftest import CLOSED, Chat, Started, message, profile_yaml


async def test_hours_prices_faq_and_a_closed_date_from_the_profile(
    clinic: Callable[..., Started], bus: EventBus, published: Published
) -> None:
    async with clinic() as (_, runtime):
        chat = Chat(bus, published, runtime)
        saturday = await chat.say("Hola, ¿a qué hora abren el sábado?")
        price = await chat.say("¿Cuánto cuesta la limpieza dental?")
        parking = await chat.say("Do you have parking?")
        day = describe_when(CLOSED, "es")  # "el miércoles 16 de diciembre"
        closed = await chat.say(f"¿Abrís {day}?")
        address = await chat.say("¿Dónde estáis?")

    assert "sábado" in saturday and "10:00 a 13:00" in saturday
    assert "45 €" in price and "45 min" in price
    assert parking == "Yes, behind the clinic."
    assert "cerrados" in closed and str(CLOSED.day) in closed
    assert "Calle Falsa 123" in address
    assert published.distinct("conversation.person_needed") == []
    # The price was answered from the profile: no "send the quote" task for anyone.
    assert published.distinct("task.created") == []


async def test_an_unknown_question_goes_to_a_person_who_is_promised_once(
    clinic: Callable[..., Started], bus: EventBus, published: Published
) -> None:
    async with clinic() as (_, runtime):
        chat = Chat(bus, published, runtime)
        promised = await chat.say("¿Hacéis implantes de titanio?")
        [task] = await published.wait_for("task.created")
        [needed] = await published.wait_for("conversation.person_needed")
        # A second question nobody can answer: the person is already coming.
        await chat.say_unanswered("¿Y ortodoncia invisible para adultos?")
        # What the profile knows is still answered meanwhile.
        parking = await chat.say("¿Tenéis aparcamiento?")

    assert "persona" in promised
    assert task.task_type == "support" and needed.task_id == task.task_id
    assert needed.reason == "unanswered_question"
    replies = [r.text for r in chat.replies()]
    assert replies == [promised, parking]
    assert len(published.distinct("conversation.person_needed")) == 1


async def test_a_closer_after_an_answer_gets_no_reply_and_no_answer_repeats_word_for_word(
    clinic: Callable[..., Started], bus: EventBus, published: Published
) -> None:
    async with clinic() as (_, runtime):
        chat = Chat(bus, published, runtime)
        first = await chat.say("¿Cuánto cuesta la limpieza?")
        for closer in ("gracias", "👍", "ok, perfecto", "thanks!"):
            await chat.say_unanswered(closer)
        again = await chat.say("¿Cuánto cuesta la limpieza?")
        await settled(runtime, bus)  # the reply is out; its row is marked just after
        replied = await runtime.db.fetch(
            "SELECT m.text, i.replied FROM analyzer_inbox i JOIN analyzer_messages m"
            " USING (message_id) ORDER BY i.seq"
        )

    assert len(chat.replies()) == 2
    assert [r["replied"] for r in replied] == [True, False, False, False, False, True]
    assert again != first and again.endswith(first)


async def test_a_burst_gets_one_reply(
    clinic: Callable[..., Started], bus: EventBus, published: Published
) -> None:
    async with clinic(analyzer_burst_seconds=1.0) as (_, runtime):
        for text in ("Hola", "una pregunta", "¿a qué hora abren el sábado?"):
            await bus.publish(message(text))
        await settled(runtime, bus)
        [reply] = await published.wait_for("reply.ready")

    assert "10:00 a 13:00" in reply.text and len(reply.in_reply_to) == 3


async def test_a_new_profile_version_is_recorded_and_answers_from_then_on(
    clinic: Callable[..., Started], bus: EventBus, published: Published, profile_file: Path
) -> None:
    async with clinic() as (_, runtime):
        chat = Chat(bus, published, runtime)
        before = await chat.say("¿Cuánto cuesta la limpieza?")
        await asyncio.to_thread(profile_file.write_text, profile_yaml(price="50 €"), "utf-8")
        after = await chat.say("¿Y cuánto cuesta la limpieza ahora?")
        loaded = await published.wait_for("business.profile_loaded", count=2)
        versions = await runtime.db.fetch(
            "SELECT version FROM analyzer_business_profile_history ORDER BY seq"
        )

        async def all_published() -> bool:
            unpublished = await runtime.db.fetchval(
                "SELECT count(*) FROM analyzer_business_profile_history WHERE NOT published"
            )
            return bool(unpublished == 0)

        await eventually(all_published)

    assert "45 €" in before and "50 €" in after
    assert [e.version for e in loaded] == [r["version"] for r in versions]
    assert len({e.version for e in loaded}) == 2
    assert "50 €" in loaded[-1].source and loaded[0].conversation == "business"


async def test_a_message_is_answered_with_the_profile_of_its_time(
    clinic: Callable[..., Started], bus: EventBus, published: Published, profile_file: Path
) -> None:
    now = utc_now()
    os.utime(profile_file, (now.timestamp() - 3600,) * 2)  # version 1 since an hour ago
    async with clinic() as (_, runtime):
        chat = Chat(bus, published, runtime)
        first = await chat.say("¿Cuánto cuesta la limpieza?")
        await asyncio.to_thread(profile_file.write_text, profile_yaml(price="50 €"), "utf-8")
        os.utime(profile_file, (now.timestamp() - 600,) * 2)  # version 2 since ten minutes ago
        newer = await chat.say("¿Y ahora cuánto cuesta la limpieza?")
        # A message of twenty minutes ago, delivered late (or again, into a fresh database):
        # answered with the version that was current when it was written.
        late = message("¿Cuánto costaba la limpieza?", at=now - timedelta(minutes=20))
        await bus.publish(late)
        [*_, old] = await published.wait_for("reply.ready", count=3)

    assert "45 €" in first and "50 €" in newer
    assert old.in_reply_to == (late.event_id,) and "45 €" in old.text


async def test_a_fresh_database_learns_the_versions_back_from_the_stream(
    clinic: Callable[..., Started], bus: EventBus, published: Published
) -> None:
    async with clinic() as (_, runtime):
        [loaded] = await published.wait_for("business.profile_loaded")
        await runtime.db.execute(
            "DELETE FROM analyzer_business_profile_history; DELETE FROM analyzer_business_profiles"
        )
        await bus.publish_stored(loaded.model_dump(mode="json"), replay_id="fresh")

        async def known_again() -> bool:
            found = await runtime.db.fetchval(
                "SELECT count(*) FROM analyzer_business_profile_history"
                " WHERE event_id = $1 AND published AND effective_from = $2",
                loaded.event_id,
                loaded.occurred_at,
            )
            return bool(found == 1)

        await eventually(known_again)
