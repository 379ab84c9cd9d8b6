"""The outside API's rounds against the real PostgreSQL: a recorded 2xx is never re-sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from hilo.bus import EventBus
from hilo.flowdefs import Text, load_flows
from hilo.outbox import Outbox
from schemas import FlowSessionCompleted, ReplyReady
from services.flows.engine import FlowEngine
from services.flows.session import ApiAnswer, Session, api_payload
from services.flows.store import FlowStore
from tests.flows.conftest import CONTACT, flows_settings, intake_flow, write_flows
from tests.flows.standins import OutsideApi


async def test_a_round_whose_2xx_was_recorded_is_applied_without_a_second_call(
    pool: asyncpg.Pool, bus: EventBus, tmp_path: Path, api: OutsideApi
) -> None:
    flows_dir = write_flows(tmp_path / "flows", intake_flow(api.url))
    async with httpx.AsyncClient() as http:
        outbox = Outbox("flows", pool, bus)
        engine = FlowEngine(pool, outbox, load_flows(flows_dir), flows_settings(flows_dir), http)
        flow = engine.flows.get("alta")
        assert flow is not None
        session = Session(
            session_id=uuid.uuid4(),
            flow_id="alta",
            flow_name=flow.name,
            language="es",
            questions=list(flow.questions),
            answers={"name": "Ana"},
            position=len(flow.questions) - 1,
            status="awaiting_api",
            last_activity_at=datetime.now(UTC),
            has_api=True,
            final_message=flow.final_message,
        )
        answer = ApiAnswer(final_message=Text(by_language={"es": "Hecho."}, default_language="es"))
        async with pool.acquire() as conn:
            await engine.store.lock_session(conn, CONTACT)
            await engine.store.save_session(conn, CONTACT, session, None)
            payload = api_payload(session, CONTACT, datetime.now(UTC))
            await engine.store.open_round(conn, session, CONTACT, payload)
            # A process got the 2xx, recorded it, and died before applying it.
            await engine.store.settle_round(
                conn, session.session_id, 1, "answered", {"answer": answer.model_dump(mode="json")}
            )
        await engine.tick()
        await engine.tick()
    assert api.calls == []
    rows = await pool.fetch("SELECT payload FROM hilo_outbox WHERE owner = 'flows' ORDER BY id")
    published = [await bus.decode(r["payload"]) for r in rows]
    assert [e.text for e in published if isinstance(e, ReplyReady)] == ["Hecho."]
    assert len([e for e in published if isinstance(e, FlowSessionCompleted)]) == 1


async def test_old_message_texts_are_pruned(pool: asyncpg.Pool) -> None:
    store = FlowStore()
    async with pool.acquire() as conn:
        await store.keep_message(conn, uuid.uuid4(), CONTACT, "text", "Ana", None)
        await store.keep_message(conn, uuid.uuid4(), CONTACT, "text", "ana@ejemplo.com", None)
        await conn.execute(
            "UPDATE flow_messages SET received_at = now() - interval '3 days' WHERE text = 'Ana'"
        )
        assert await store.prune(conn, 2) == 1
        assert await conn.fetchval("SELECT count(*) FROM flow_messages") == 1
