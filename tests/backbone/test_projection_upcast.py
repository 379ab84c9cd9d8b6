"""Projections fold stored events in their current shape, and stop at one newer than the code."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
import pytest

from hilo.projections.runner import PROJECTIONS, ProjectionError, catch_up, rebuild
from hilo.store.eventstore import EventStore, NewEvent
from schemas import ConversationModeChanged
from schemas.registry import EventRegistry, JsonObject

CONTACT = "+573001112233"
OTHER = "+573004445566"
AT = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)


def stored(conversation: str, version: int, **fields: Any) -> NewEvent:
    """An event as an older (or newer) Hilo stored it: raw JSON, no class in between."""
    event_id = uuid.uuid4()
    data = {
        "type": "conversation.mode_changed",
        "schema_version": version,
        "event_id": str(event_id),
        "occurred_at": AT.isoformat().replace("+00:00", "Z"),
        "conversation": conversation,
        "correlation_id": str(event_id),
        "causation_id": None,
        **fields,
    }
    return NewEvent(
        event_id=event_id,
        stream=conversation,
        type="conversation.mode_changed",
        schema_version=version,
        occurred_at=AT,
        correlation_id=event_id,
        causation_id=None,
        data_json=json.dumps(data),
    )


class RenamedModeChanged(ConversationModeChanged):
    """A stand-in for the next shape change: version 2 renamed version 1's `answered_by`."""

    type: Literal["conversation.mode_changed"] = "conversation.mode_changed"

    @staticmethod
    def upcast_v1_v2(data: JsonObject) -> JsonObject:
        data["mode"] = data.pop("answered_by")
        return data


async def _docs(pool: asyncpg.Pool) -> dict[str, dict[str, Any]]:
    rows = await pool.fetch("SELECT conversation, mode, doc FROM proj_conversations")
    return {r["conversation"]: {"mode": r["mode"], "doc": r["doc"]} for r in rows}


def _without_ids(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in item.items() if k not in {"key", "position"}}
        for item in doc["items"].values()
    ]


async def test_a_stored_version_1_mode_change_folds_like_version_2(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.append([stored(CONTACT, 1, mode="voice_agent", reason="call_ended")])
    await store.append([stored(OTHER, 2, mode="voice_agent", reason="call_ended")])
    projection = PROJECTIONS["conversations"]
    await catch_up(pool, projection)
    live = await _docs(pool)
    assert live[CONTACT]["mode"] == live[OTHER]["mode"] == "voice_agent"
    assert _without_ids(live[CONTACT]["doc"]) == _without_ids(live[OTHER]["doc"])
    await rebuild(pool, projection)
    assert await _docs(pool) == live


async def test_old_shapes_are_upcast_before_folding(store: EventStore, pool: asyncpg.Pool) -> None:
    events = EventRegistry()
    events.register(RenamedModeChanged)
    await store.append([stored(CONTACT, 1, answered_by="human", reason="taken_over")])
    projection = PROJECTIONS["conversations"]

    await catch_up(pool, projection, events=events)
    assert (await _docs(pool))[CONTACT]["mode"] == "human"
    await rebuild(pool, projection, events=events)
    assert (await _docs(pool))[CONTACT]["mode"] == "human"


async def test_an_event_newer_than_the_code_stops_the_projection_clearly(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    projection = PROJECTIONS["conversations"]
    await store.append([stored(OTHER, 2, mode="human", reason="taken_over")])
    await catch_up(pool, projection)
    checkpoint = await pool.fetchval(
        "SELECT position FROM projection_checkpoints WHERE name = $1", projection.name
    )
    result = await store.append([stored(CONTACT, 3, mode="flow", reason="flow_keyword")])
    newer = f"position {result.head}: conversation.mode_changed version 3 is newer"

    with pytest.raises(ProjectionError, match=newer):
        await catch_up(pool, projection)
    with pytest.raises(ProjectionError, match="upgrade Hilo"):
        await rebuild(pool, projection)
    # Nothing was folded past it, and the rows it had stay as they were.
    assert checkpoint == await pool.fetchval(
        "SELECT position FROM projection_checkpoints WHERE name = $1", projection.name
    )
    assert set(await _docs(pool)) == {OTHER}
