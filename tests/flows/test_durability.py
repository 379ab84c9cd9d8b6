"""What survives: a replay of the flow's events, a kill -9 mid-answer, two replicas at once;
and the read model the operator API reads, rebuilt to the same rows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from hilo import testing
from hilo.bus import EventBus
from hilo.projections.runner import PROJECTIONS, catch_up, rebuild
from hilo.replay import replay
from hilo.settings import HiloSettings
from hilo.testing import TEST_MASTER_KEY
from services.flows.app import build
from services.recorder.app import build as build_recorder
from tests.flows.conftest import (
    CONTACT,
    FlowsFactory,
    Router,
    drained,
    flows_settings,
    intake_flow,
    questions,
    write_flows,
)
from tests.flows.standins import Answer, OutsideApi, final

ANSWERS = ["Ana", "ana@ejemplo.com", "3", "15/01/2027", "Premium", "nada"]


async def _sessions(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch("SELECT * FROM proj_flow_sessions ORDER BY started_at")
    return [dict(r) for r in rows]


async def _stored(pool: asyncpg.Pool, kind: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE type = $1", kind))


async def test_a_replay_sends_nothing_new_and_the_read_model_rebuilds_the_same(
    bus: EventBus,
    settings: HiloSettings,
    pool: asyncpg.Pool,
    flows_service: FlowsFactory,
    published: testing.Published,
    api: OutsideApi,
) -> None:
    api.queue(final("Listo."))
    router = Router(bus)
    async with build_recorder().running(settings, http=False), flows_service():
        await router.says("registro", keyword_of="alta")
        for n, text in enumerate(ANSWERS, start=1):
            await questions(published, n)
            await router.says(text)
        await published.wait_for("flow.session_completed", CONTACT)
        await testing.eventually(lambda: _stored(pool, "flow.session_completed"))
        before = {e.event_id for e in published.events}
        assert len(published.distinct("reply.ready", CONTACT)) == 7
        stored_replies = await _stored(pool, "reply.ready")

        count = await replay(pool, bus)
        assert count > 0
        await drained(bus)
        await drained(bus, "recorder")
    # The replay republished the stored events; nothing else (no new id) was published.
    assert {e.event_id for e in published.events} == before
    assert await _stored(pool, "reply.ready") == stored_replies
    assert len(api.calls) == 1

    await catch_up(pool, PROJECTIONS["flow_sessions"], codec=bus.codec)
    live = await _sessions(pool)
    assert len(live) == 1
    session = live[0]
    assert session["state"] == "completed" and session["flow_id"] == "alta"
    assert session["contact"] == CONTACT and session["ended_at"] is not None
    assert session["answers"] == {
        "name": "Ana",
        "email": "ana@ejemplo.com",
        "people": 3,
        "start": "2027-01-15",
        "plan": "Premium",
        "notes": "nada",
    }
    await rebuild(pool, PROJECTIONS["flow_sessions"], codec=bus.codec)
    assert await _sessions(pool) == live

    await catch_up(pool, PROJECTIONS["conversations"], codec=bus.codec)
    doc = await pool.fetchval("SELECT doc FROM proj_conversations WHERE conversation = $1", CONTACT)
    asked = [i for i in doc["items"].values() if i.get("flow")]
    answered = [i for i in doc["items"].values() if i.get("flow_answer")]
    assert len(asked) == 6 and len(answered) == 6
    assert {i["flow_answer"]["question_id"] for i in answered} == {
        "name",
        "email",
        "people",
        "start",
        "plan",
        "notes",
    }


def _serve(settings: HiloSettings, flows_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
    env.update(
        HILO_NATS_URL=settings.require_nats_url(),
        HILO_DATABASE_URL=settings.require_database_url(),
        HILO_NAMESPACE=settings.namespace,
        HILO_MASTER_KEY=TEST_MASTER_KEY,
        HILO_HTTP_PORT="0",
        HILO_FLOWS_DIR=str(flows_dir),
        HILO_TIMEZONE="Europe/Madrid",
        FLOWS_ACK_WAIT_SECONDS="2",
        FLOWS_TIMER_SECONDS="0.5",
        FLOWS_API_BACKOFF_SECONDS="0.05",
        FLOWS_API_BACKOFF_MAX_SECONDS="0.2",
        FLOWS_API_LEASE_MARGIN_SECONDS="1",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hilo.cli.main", "serve", "flows"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def test_a_kill_9_between_an_answer_and_the_next_question_loses_and_repeats_nothing(
    bus: EventBus, settings: HiloSettings, tmp_path: Path, published: testing.Published
) -> None:
    flows_dir = write_flows(tmp_path / "flows", intake_flow(None))
    log = tmp_path / "flows.log"
    router = Router(bus)
    process = _serve(settings, flows_dir, log)
    try:
        await router.says("registro", keyword_of="alta")
        await questions(published, 1, timeout=60)
        for n, text in enumerate(ANSWERS[:4], start=1):
            await router.says(text)
            # The answer is recorded (committed and published): kill before the next question
            # would go out, or as close to it as a test can get.
            await published.wait_for("flow.answer_recorded", CONTACT, count=n, timeout=30)
            if n in (2, 4):
                process.send_signal(signal.SIGKILL)
                await asyncio.to_thread(process.wait)
                process = _serve(settings, flows_dir, log)
            await questions(published, n + 1, timeout=60)
        await drained(bus)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait)
    asked = published.distinct("flow.question_asked", CONTACT)
    assert [q.question_id for q in asked] == ["name", "email", "people", "start", "plan"]
    assert [q.seq for q in asked] == [1, 2, 3, 4, 5]
    replies = published.distinct("reply.ready", CONTACT)
    assert len(replies) == 5
    recorded = published.distinct("flow.answer_recorded", CONTACT)
    assert [r.question_id for r in recorded] == ["name", "email", "people", "start"]


async def test_two_replicas_ask_each_question_once_and_keep_every_answer(
    bus: EventBus,
    settings: HiloSettings,
    tmp_path: Path,
    published: testing.Published,
    api: OutsideApi,
) -> None:
    flows_dir = write_flows(tmp_path / "flows", intake_flow(api.url))
    contacts = [f"+3460055{n:04d}" for n in range(8)]
    one, two = build(flows_settings(flows_dir)), build(flows_settings(flows_dir))
    async with one.running(settings, http=False), two.running(settings, http=False):

        async def contact_goes_through(contact: str) -> None:
            router = Router(bus, contact)
            await router.says("registro", keyword_of="alta")
            for n, text in enumerate(ANSWERS, start=1):
                await published.wait_for("flow.question_asked", contact, count=n, timeout=30)
                await router.says(text)
            await published.wait_for("flow.session_completed", contact, timeout=30)

        await asyncio.gather(*(contact_goes_through(c) for c in contacts))
    for contact in contacts:
        asked = published.distinct("flow.question_asked", contact)
        assert [q.seq for q in asked] == [1, 2, 3, 4, 5, 6], contact
        assert len(published.distinct("reply.ready", contact)) == 7
        assert len(published.distinct("flow.answer_recorded", contact)) == 6
    assert sorted(c.body["contact"] for c in api.calls) == sorted(contacts)


async def test_a_kill_9_during_the_outside_api_call_calls_again_with_the_same_key(
    bus: EventBus,
    settings: HiloSettings,
    tmp_path: Path,
    published: testing.Published,
    api: OutsideApi,
) -> None:
    flows_dir = write_flows(tmp_path / "flows", intake_flow(api.url))
    log = tmp_path / "flows.log"
    api.queue(Answer(delay=5.0, body={}), final("Recibido."))
    router = Router(bus)
    process = _serve(settings, flows_dir, log)
    try:
        await router.says("registro", keyword_of="alta")
        for n, text in enumerate(ANSWERS, start=1):
            await questions(published, n, timeout=60)
            await router.says(text)
        await testing.eventually(lambda: _calls(api, 1), timeout=30)
        process.send_signal(signal.SIGKILL)  # the POST is in flight, its answer never read
        await asyncio.to_thread(process.wait)
        process = _serve(settings, flows_dir, log)
        await published.wait_for("flow.session_completed", CONTACT, timeout=60)
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait)
    assert len(api.calls) == 2
    assert api.calls[0].headers["idempotency-key"] == api.calls[1].headers["idempotency-key"]
    assert [r.text for r in published.distinct("reply.ready", CONTACT)][-1] == "Recibido."
    assert len(published.distinct("flow.session_completed", CONTACT)) == 1


async def _calls(api: OutsideApi, count: int) -> bool:
    return len(api.calls) >= count
