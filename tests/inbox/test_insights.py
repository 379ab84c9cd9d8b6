"""Analytics from the read models, the live stream, and rebuilds that equal the live rows."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from hilo.projections.runner import PROJECTIONS, rebuild
from hilo.testing import eventually
from schemas import (
    AudioTranscriptionFailed,
    CallEnded,
    CallTurn,
    ConversationReadMarked,
    IntentDetected,
    MessageSent,
    ReplyReady,
    TaskCreated,
    TaskEdited,
)
from tests.inbox.conftest import CONTACT, Stack, inbound

DAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CALLER = "+573001112233"


def history() -> list[Any]:
    """A day of work: messages answered by the bot and by a person, a call continued on
    WhatsApp, a voice note that failed to transcribe, moods and intents, a task done."""
    first = inbound("Hola, quiero información", occurred_at=DAY)
    bot = ReplyReady(
        conversation=CONTACT,
        reply_id=uuid.uuid4(),
        author="analyzer",
        text="¡Hola! ¿En qué te ayudo?",
        occurred_at=DAY + timedelta(seconds=4),
    )
    sent = bot.caused(
        MessageSent,
        "sent",
        reply_id=bot.reply_id,
        provider="outbox",
        provider_message_id="outbox-a",
        sent_at=DAY + timedelta(seconds=5),
        occurred_at=DAY + timedelta(seconds=5),
    )
    voice = inbound("", occurred_at=DAY + timedelta(minutes=10), kind="audio")
    failed = AudioTranscriptionFailed(
        conversation=CONTACT,
        message_event_id=voice.event_id,
        reason="undecodable",
        occurred_at=DAY + timedelta(minutes=11),
    )
    person = ReplyReady(
        conversation=CONTACT,
        reply_id=uuid.uuid4(),
        author="human",
        operator="ana@example.com",
        text="No pude oír la nota, ¿me escribes?",
        occurred_at=DAY + timedelta(minutes=20),
    )
    mood = IntentDetected(
        conversation=CONTACT,
        intent="info",
        sentiment="neutral",
        language="es",
        summary="Pide información",
        occurred_at=DAY + timedelta(minutes=21),
    )
    task = TaskCreated(
        conversation=CONTACT,
        task_id=uuid.uuid4(),
        title="Llamar",
        task_type="call",
        priority=1,
        occurred_at=DAY + timedelta(minutes=22),
    )
    done = TaskEdited(
        conversation=CONTACT,
        task_id=task.task_id,
        operator="ana@example.com",
        changed=("status",),
        status="done",
        occurred_at=DAY + timedelta(hours=2),
    )
    call = CallEnded(
        conversation=CALLER,
        call_id="conv_1",
        summary="Quiere una cita",
        transcript=(CallTurn(role="agent", message="Hola"), CallTurn(role="user", message="Cita")),
        occurred_at=DAY + timedelta(hours=1),
    )
    opener = ReplyReady(
        conversation=CALLER,
        reply_id=uuid.uuid4(),
        author="voice_agent",
        text="Te escribo tras la llamada",
        occurred_at=DAY + timedelta(hours=1, seconds=30),
    )
    opener_sent = opener.caused(
        MessageSent,
        "sent",
        reply_id=opener.reply_id,
        provider="outbox",
        provider_message_id="outbox-b",
        sent_at=DAY + timedelta(hours=1, minutes=1),
        occurred_at=DAY + timedelta(hours=1, minutes=1),
    )
    angry = IntentDetected(
        conversation=CALLER,
        intent="schedule",
        sentiment="negative",
        language="es",
        summary="Quiere una cita",
        occurred_at=DAY + timedelta(days=1),
    )
    read = ConversationReadMarked(
        conversation=CALLER, operator="ana@example.com", occurred_at=DAY + timedelta(days=1)
    )
    return [
        first,
        bot,
        sent,
        voice,
        failed,
        person,
        mood,
        task,
        done,
        call,
        opener,
        opener_sent,
        angry,
        read,
    ]


async def test_analytics_count_what_happened(stack: Stack) -> None:
    events = history()
    await stack.publish(*events)
    await stack.projected(events[-1])
    async with stack.admin() as api:
        response = await api.get(
            "/api/analytics", params={"from": "2026-11-20", "to": "2026-11-20"}
        )
        assert response.status_code == 200, response.text
        report = response.json()
        outside = (
            await api.get("/api/analytics", params={"from": "2026-11-21", "to": "2026-11-22"})
        ).json()
        backwards = await api.get(
            "/api/analytics", params={"from": "2026-11-21", "to": "2026-11-20"}
        )
    assert report["from"] == report["to"] == "2026-11-20"
    assert report["messages"] == [
        {"day": "2026-11-20", "channel": "voice", "inbound": 1, "outbound": 1},
        {"day": "2026-11-20", "channel": "whatsapp", "inbound": 2, "outbound": 2},
    ]
    assert (report["messages_in"], report["messages_out"]) == (3, 3)
    assert report["conversations_new"] == 2
    assert report["conversations_active"] == [{"day": "2026-11-20", "count": 2}]
    # The contact waited 4 s for the bot; the caller's first WhatsApp news came from the agent.
    assert report["first_response"]["automatic"] == {
        "count": 1,
        "p50_seconds": 4.0,
        "p90_seconds": 4.0,
    }
    # The voice note waited 10 minutes for a person.
    assert report["first_response"]["human"] == {
        "count": 1,
        "p50_seconds": 600.0,
        "p90_seconds": 600.0,
    }
    assert report["sentiment"] == [{"day": "2026-11-20", "sentiment": "neutral", "count": 1}]
    assert report["intents"] == {"info": 1}
    assert (report["tasks_created"], report["tasks_done"]) == (1, 1)
    assert (report["voice_notes"], report["transcriptions_failed"]) == (1, 1)
    assert (report["calls_completed"], report["calls_failed"]) == (1, 0)
    assert report["calls_continued_on_whatsapp"] == 1
    assert outside["messages_in"] == 0 and outside["first_response"]["human"]["count"] == 0
    assert backwards.status_code == 422


async def _rows(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    tables = {
        "proj_inbox_conversations": "contact",
        "proj_inbox_tasks": "task_id",
        "proj_inbox_calendar": "calendar_event_id",
        "proj_inbox_daily": "day, metric, dimension",
        "proj_inbox_responses": "contact, waiting_since",
    }
    found = {}
    for table, order in tables.items():
        rows = await pool.fetch(f"SELECT * FROM {table} ORDER BY {order}")
        found[table] = [
            {k: (json.dumps(v, sort_keys=True) if isinstance(v, dict) else v) for k, v in r.items()}
            for r in rows
        ]
    return found


async def test_a_rebuild_gives_the_rows_the_live_projector_made(stack: Stack) -> None:
    events = history()
    # Live, in small steps: each its own batch, as a running projector would see them.
    for event in events:
        await stack.publish(event)
        await stack.projected(event)
    live = await _rows(stack.pool)
    assert len(live["proj_inbox_conversations"]) == 2 and live["proj_inbox_daily"]
    async with stack.pool.acquire() as conn:
        await conn.execute("UPDATE proj_inbox_daily SET value = value + 100")
    count = await rebuild(stack.pool, PROJECTIONS["inbox"], codec=stack.bus.codec)
    assert count >= len(events)
    assert await _rows(stack.pool) == live


async def test_the_stream_delivers_a_new_message(stack: Stack) -> None:
    async with stack.agent() as api, api.stream("GET", "/api/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()

        async def next_event() -> dict[str, Any]:
            kind = None
            async for line in lines:
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind is not None:
                    return {"event": kind, **json.loads(line[6:])}
            raise AssertionError("the stream ended")

        ready = await asyncio.wait_for(next_event(), 10)
        assert ready == {"event": "ready", "operator": "token:agent-script"}
        message = inbound("¿Abrís el sábado?")
        await stack.publish(message)
        news = await asyncio.wait_for(next_event(), 10)
    assert news["event"] == "message.received"
    assert news["contact"] == CONTACT and news["text"] == "¿Abrís el sábado?"
    assert news["event_id"] == str(message.event_id)
    assert news["contact_name"] == "José Pérez"


async def test_a_call_simulated_by_the_cli_arrives_signed(stack: Stack, monkeypatch: Any) -> None:
    from hilo.cli.simulate_call import simulate_call
    from services.ingest.app import build as build_ingest

    monkeypatch.setenv("HILO_DATA_DIR", str(stack.settings.data_dir))
    monkeypatch.delenv("ELEVENLABS_WEBHOOK_SECRET", raising=False)
    ingest = build_ingest()
    async with ingest.running(stack.settings), stack.agent() as api:
        url = f"http://127.0.0.1:{ingest.http_port}"
        line = await asyncio.to_thread(
            simulate_call, CALLER, "Quiere cambiar su cita al jueves", url=url
        )
        assert line.startswith("sent call conv_sim_") and CALLER in line

        async def listed() -> dict[str, Any] | None:
            items = (await api.get("/api/conversations", params={"channel": "voice"})).json()
            return items["items"][0] if items["items"] else None

        row = await eventually(listed, timeout=20)
    assert row["contact"] == CALLER and row["channel"] == "voice"
    assert row["last_text"] == "Quiere cambiar su cita al jueves"
