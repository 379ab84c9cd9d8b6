"""The flow routes over the flows service's read model (``proj_flow_sessions``)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from hilo.testing import eventually
from tests.inbox.conftest import CONTACT, Stack

OTHER = "+573001112233"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

# The flows service's read model, as its engineer described it; created here only when the
# flows service's migration is not in this branch.
SESSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS proj_flow_sessions (
    contact           text        NOT NULL,
    session_id        uuid        PRIMARY KEY,
    flow_id           text        NOT NULL,
    state             text        NOT NULL,
    language          text,
    round             integer     NOT NULL DEFAULT 1,
    current_question  text,
    answers           jsonb       NOT NULL DEFAULT '{}',
    started_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    ended_at          timestamptz,
    failure_reason    text
)
"""


async def add_session(
    pool: asyncpg.Pool, contact: str, flow: str, state: str, minutes: int, **extra: Any
) -> uuid.UUID:
    session_id = uuid.uuid4()
    started = T0 + timedelta(minutes=minutes)
    await pool.execute(
        "INSERT INTO proj_flow_sessions (contact, session_id, flow_id, state, language, round,"
        " current_question, answers, started_at, updated_at, ended_at, failure_reason)"
        " VALUES ($1, $2, $3, $4, 'es', 1, $5, $6, $7, $7, $8, $9)",
        contact,
        session_id,
        flow,
        state,
        extra.get("current_question"),
        json.dumps(extra.get("answers", {})),
        started,
        None if state == "active" else started + timedelta(minutes=5),
        extra.get("failure_reason"),
    )
    return session_id


async def test_flows_and_their_sessions(stack: Stack) -> None:
    async with stack.agent() as api:
        # Before any session table exists or holds rows, the lists are empty.
        assert (await api.get("/api/flows/sessions")).json() == {"items": [], "next_cursor": None}
        await stack.pool.execute(SESSIONS_TABLE)
        flows = (await api.get("/api/flows")).json()["items"]
        assert [f["id"] for f in flows] == ["intake"]
        assert flows[0]["questions"][1] == {
            "id": "plan",
            "type": "choice",
            "text": "¿Qué plan?",
            "options": ["Básico", "Premium"],
            "required": True,
        }
        old = await add_session(
            stack.pool, CONTACT, "intake", "completed", 0, answers={"name": "José"}
        )
        failed = await add_session(
            stack.pool, OTHER, "intake", "failed", 5, failure_reason="crm unreachable"
        )
        current = await add_session(
            stack.pool,
            CONTACT,
            "intake",
            "active",
            10,
            current_question="plan",
            answers={"name": "José"},
        )

        async def ids(**params: str) -> list[str]:
            page = await api.get("/api/flows/sessions", params=params)
            assert page.status_code == 200, page.text
            return [s["session_id"] for s in page.json()["items"]]

        assert await ids() == [str(current), str(failed), str(old)]
        assert await ids(state="failed") == [str(failed)]
        assert await ids(flow="intake", state="active") == [str(current)]
        assert await ids(flow="other") == []
        assert (await api.get("/api/flows/sessions", params={"state": "lost"})).status_code == 422
        first = (await api.get("/api/flows/sessions", params={"limit": "2"})).json()
        rest = await ids(limit="2", cursor=first["next_cursor"])
        assert [s["session_id"] for s in first["items"]] + rest == await ids()

        mine = (await api.get(f"/api/flows/sessions/{CONTACT}")).json()
        assert mine["latest"]["session_id"] == str(current)
        assert mine["latest"]["answers"] == {"name": "José"}
        assert mine["latest"]["current_question"] == "plan"
        assert [s["session_id"] for s in mine["earlier"]] == [str(old)]
        nobody = (await api.get("/api/flows/sessions/+34699999999")).json()
        assert nobody == {"contact": "+34699999999", "latest": None, "earlier": []}

        unknown = await api.post("/api/flows/start", json={"contact": CONTACT, "flow": "nope"})
        assert unknown.status_code == 404
        started = await api.post("/api/flows/start", json={"contact": OTHER, "flow": "intake"})
        assert started.status_code == 202
        assert (await api.post(f"/api/flows/sessions/{OTHER}/reset")).status_code == 404
        reset = await api.post(f"/api/flows/sessions/{CONTACT}/reset")
        assert reset.status_code == 202

        async def published() -> list[dict[str, Any]] | None:
            rows = [d for d in await stack.stored() if d["type"].startswith("flow.")]
            return rows if len(rows) == 2 else None

        start_event, reset_event = await eventually(published)
    assert start_event["type"] == "flow.start_requested"
    assert start_event["conversation"] == OTHER and start_event["flow_id"] == "intake"
    assert start_event["source"] == "api" and start_event["requested_by"] == "token:agent-script"
    assert reset_event["type"] == "flow.session_reset"
    assert reset_event["session_id"] == str(current) and reset_event["flow_id"] == "intake"
    assert reset_event["operator"] == "token:agent-script"
