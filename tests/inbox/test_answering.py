"""A person's reply goes out the way every reply does: through the notifier, in order."""

from __future__ import annotations

from typing import Any

from hilo.testing import eventually
from services.analyzer.app import build as build_analyzer
from services.notifier.app import build as build_notifier
from services.notifier.settings import NotifierSettings
from tests.inbox.conftest import CONTACT, Stack, inbound
from tests.inbox.test_tasks import analyzer_settings


async def sent_texts(stack: Stack) -> list[tuple[str, str | None]]:
    rows = await stack.pool.fetch(
        "SELECT r.data->>'author', s.data->>'text' FROM events s"
        " JOIN events r ON r.type = 'reply.ready' AND r.data->>'reply_id' = s.data->>'reply_id'"
        " WHERE s.type = 'message.sent' ORDER BY s.position"
    )
    return [(r[0], r[1]) for r in rows]


async def test_a_persons_reply_reaches_the_outbox_after_the_bots(stack: Stack) -> None:
    notifier = build_notifier(NotifierSettings(_env_file=None))
    analyzer = build_analyzer(analyzer_settings())
    async with (
        analyzer.running(stack.settings, http=False),
        notifier.running(stack.settings, http=False),
        stack.agent() as api,
    ):
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
