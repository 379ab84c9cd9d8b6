"""A person's reply goes out the way every reply does: through the notifier, in order."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from hilo.testing import eventually
from schemas import Event
from services.analyzer.app import build as build_analyzer
from services.notifier.app import build as build_notifier
from services.notifier.settings import NotifierSettings
from services.router.app import build as build_router
from services.router.settings import RouterSettings
from tests.inbox.conftest import CONTACT, Stack, inbound
from tests.inbox.test_tasks import analyzer_settings


@contextlib.asynccontextmanager
async def answering(stack: Stack, tmp_path: Path) -> AsyncIterator[None]:
    """Who answers (the router), the bot (the analyzer) and the sender (the notifier, offline)."""
    router = build_router(RouterSettings(_env_file=None, hilo_flows_dir=tmp_path / "flows"))
    notifier = build_notifier(NotifierSettings(_env_file=None))
    analyzer = build_analyzer(analyzer_settings())
    async with (
        router.running(stack.settings, http=False),
        analyzer.running(stack.settings, http=False),
        notifier.running(stack.settings, http=False),
    ):
        yield


async def sent_texts(stack: Stack) -> list[tuple[str, str | None]]:
    authors = {r["reply_id"]: r["author"] for r in await stack.stored("reply.ready")}
    return [
        (authors[s["reply_id"]], s["text"])
        for s in await stack.stored("message.sent")
        if s["reply_id"] in authors
    ]


async def test_a_persons_reply_reaches_the_outbox_after_the_bots(
    stack: Stack, tmp_path: Path
) -> None:
    async with answering(stack, tmp_path), stack.agent() as api:
        await stack.publish(inbound("Hola, ¿abrís el sábado?"))

        async def bot_answered() -> list[tuple[str, str | None]] | None:
            sent = await sent_texts(stack)
            return sent if sent else None

        [(author, _)] = await eventually(bot_answered, timeout=30)
        assert author == "analyzer"
        reply = await api.post(
            f"/api/conversations/{CONTACT}/messages", json={"text": "Sí, de 10 a 14. Ana"}
        )
        assert reply.status_code == 202

        async def both() -> list[tuple[str, str | None]] | None:
            sent = await sent_texts(stack)
            return sent if len(sent) == 2 else None

        sent = await eventually(both, timeout=30)
        assert sent[1] == ("human", "Sí, de 10 a 14. Ana")

        async def shown() -> list[dict[str, Any]] | None:
            detail = (await api.get(f"/api/conversations/{CONTACT}")).json()
            replies = [i for i in detail["items"] if i.get("direction") == "outbound"]
            done = len(replies) == 2 and all(i.get("status") == "sent" for i in replies)
            return replies if done else None

        replies = await eventually(shown, timeout=20)
    assert [r["author"] for r in replies] == ["analyzer", "human"]
    assert replies[1]["operator"] == "token:agent-script" and replies[1]["provider"] == "outbox"


async def stored(stack: Stack, kind: str, **fields: str) -> list[dict[str, Any]]:
    return [
        data
        for data in await stack.stored(kind)
        if data["conversation"] == CONTACT and all(data.get(k) == v for k, v in fields.items())
    ]


async def test_takeover_silences_the_bot_until_handback(stack: Stack, tmp_path: Path) -> None:
    async with answering(stack, tmp_path), stack.agent() as api:

        async def bot_replies(count: int) -> list[dict[str, Any]] | None:
            found = await stored(stack, "reply.ready", author="analyzer")
            return found if len(found) >= count else None

        async def mode(wanted: str) -> bool:
            detail = (await api.get(f"/api/conversations/{CONTACT}")).json()
            return bool(detail["mode"] == wanted)

        async def handled_without_a_reply(message: Event) -> None:
            """Markers: the router gave the message to a person, the analyzer read it."""
            wanted = str(message.event_id)

            async def routed_to_a_person() -> bool:
                routed = await stored(stack, "message.routed", message_event_id=wanted)
                return bool(routed) and routed[0]["answerer"] == "human"

            async def analysed() -> bool:
                intents = await stored(stack, "intent.detected")
                return any(wanted in i.get("source_message_ids", ()) for i in intents)

            await eventually(routed_to_a_person, timeout=30)
            await eventually(analysed, timeout=30)

        await stack.publish(inbound("Hola, ¿abrís el sábado?"))
        await eventually(lambda: bot_replies(1), timeout=30)

        assert (await api.post(f"/api/conversations/{CONTACT}/takeover")).status_code == 202
        await eventually(lambda: mode("human"), timeout=30)
        held = inbound("¿Y el domingo también?")
        await stack.publish(held)
        await handled_without_a_reply(held)
        assert len(await stored(stack, "reply.ready", author="analyzer")) == 1
        person = await api.post(
            f"/api/conversations/{CONTACT}/messages", json={"text": "El domingo cerramos. Ana"}
        )
        assert person.status_code == 202

        assert (await api.post(f"/api/conversations/{CONTACT}/handback")).status_code == 202
        await eventually(lambda: mode("analyzer"), timeout=30)
        await stack.publish(inbound("Vale, ¿y el lunes a qué hora abrís?"))
        replies = await eventually(lambda: bot_replies(2), timeout=30)
    assert len(replies) == 2
    decided = await stored(stack, "conversation.mode_changed")
    assert [(d["mode"], d.get("operator")) for d in decided] == [
        ("human", "token:agent-script"),
        ("analyzer", None),
    ]
    humans = await stored(stack, "reply.ready", author="human")
    assert [h["text"] for h in humans] == ["El domingo cerramos. Ana"]
    assert uuid.UUID(humans[0]["reply_id"])
