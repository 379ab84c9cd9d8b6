"""Tasks have a life: listed and filtered, changed by a person, never reopened by a reanalysis."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from hilo.cli.reanalyze import run as reanalyze
from hilo.testing import eventually
from schemas import CalendarEventScheduled, utc_now
from services.analyzer.app import build as build_analyzer
from services.analyzer.backends import RulesBackend
from services.analyzer.settings import AnalyzerSettings
from services.router.app import build as build_router
from services.router.settings import RouterSettings
from tests.inbox.conftest import CONTACT, Stack, inbound

OTHER = "+573001112233"
ASK = "Hola, ¿me envías la cotización del almacén por correo? Es urgente"


def analyzer_settings() -> AnalyzerSettings:
    return AnalyzerSettings(
        _env_file=None,
        hilo_analyzer="rules",
        analyzer_burst_seconds=0.0,
        analyzer_reply_max_age_hours=0,
    )


async def test_a_task_closed_by_a_person_stays_closed_after_a_reanalysis(
    stack: Stack, tmp_path: Path
) -> None:
    config = analyzer_settings()
    # The analyzer analyses a message once the router has said who answers it.
    router = build_router(RouterSettings(_env_file=None, hilo_flows_dir=tmp_path / "flows"))
    async with (
        router.running(stack.settings, http=False),
        build_analyzer(config).running(stack.settings, http=False),
        stack.agent() as api,
    ):
        await stack.publish(inbound(ASK))

        async def asked_tasks() -> list[dict[str, object]] | None:
            # The quote and the e-mail asked for (the analyzer may add a task for a person).
            items = (await api.get("/api/tasks")).json()["items"]
            return items if {"quote", "email"} <= {t["type"] for t in items} else None

        tasks = await eventually(asked_tasks, timeout=30)
        assert all(t["status"] == "open" and t["contact"] == CONTACT for t in tasks)
        quote = next(t for t in tasks if t["type"] == "quote")

        done = await api.patch(
            f"/api/tasks/{quote['task_id']}",
            json={"status": "done", "assignee": "luis@example.com"},
        )
        assert done.status_code == 202, done.text

        async def closed() -> dict[str, object] | None:
            rows = (await api.get("/api/tasks", params={"status": "done"})).json()["items"]
            return rows[0] if rows else None

        row = await eventually(closed)
        assert row["task_id"] == quote["task_id"] and row["assignee"] == "luis@example.com"
        assert row["closed_by"] == "token:agent-script"

        async def analyzer_knows() -> bool:
            by: str | None = await stack.pool.fetchval(
                "SELECT closed_by FROM analyzer_tasks WHERE task_id = $1",
                uuid.UUID(str(quote["task_id"])),
            )
            return by == "token:agent-script"

        await eventually(analyzer_knows)
        outcome = await reanalyze(
            stack.pool,
            stack.bus,
            stack.settings,
            config,
            RulesBackend(),
            CONTACT,
            show_progress=False,
        )
        assert outcome.task_changes == 0
        # A message that would make the analyzer see the quote again changes nothing either.
        await stack.publish(again := inbound("¿Y la cotización? Sigue siendo urgente"))
        await stack.projected(again)
        detail = (await api.get(f"/api/conversations/{CONTACT}")).json()
        assert {t["task_id"]: t["status"] for t in detail["tasks"]}[quote["task_id"]] == "done"
        updates = await stack.pool.fetchval(
            "SELECT count(*) FROM events WHERE type = 'task.updated' AND data->>'task_id' = $1",
            quote["task_id"],
        )
        assert updates == 0
        still_open = (await api.get("/api/tasks", params={"status": "open"})).json()["items"]
        assert "email" in {t["type"] for t in still_open}
        assert quote["task_id"] not in {t["task_id"] for t in still_open}
        by_contact = (await api.get("/api/tasks", params={"contact": CONTACT})).json()["items"]
        assert len(by_contact) >= 2
        assert (await api.get("/api/tasks", params={"contact": OTHER})).json()["items"] == []
        # One task a page, following the cursor, lists them all once.
        paged: list[str] = []
        cursor = None
        while True:
            params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
            page = (await api.get("/api/tasks", params=params)).json()
            paged += [t["task_id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert paged == [t["task_id"] for t in by_contact]


async def test_task_edits_are_checked(stack: Stack) -> None:
    async with stack.agent() as api:
        unknown = await api.patch(f"/api/tasks/{uuid.uuid4()}", json={"status": "done"})
        assert unknown.status_code == 404
        assert (await api.patch(f"/api/tasks/{uuid.uuid4()}", json={})).status_code == 422
        bad = await api.patch(f"/api/tasks/{uuid.uuid4()}", json={"status": "finished"})
        assert bad.status_code == 422
        assert (
            await api.patch("/api/tasks/not-a-uuid", json={"status": "done"})
        ).status_code == 422
        assert (await api.get("/api/tasks", params={"status": "lost"})).status_code == 422
    assert await stack.pool.fetchval("SELECT count(*) FROM events") == 0


async def test_the_calendar_between_two_days(stack: Stack) -> None:
    soon = utc_now().replace(microsecond=0) + timedelta(days=1)
    events = [
        CalendarEventScheduled(
            conversation=CONTACT,
            calendar_event_id=uuid.uuid4(),
            title=title,
            start=start,
            timezone="Europe/Madrid",
        )
        for title, start in (
            ("Mañana", soon),
            ("En diez días", soon + timedelta(days=9)),
            ("Un día sin hora", (soon + timedelta(days=2)).date()),
        )
    ]
    await stack.publish(*events)
    await stack.projected(events[-1])
    async with stack.agent() as api:
        everything = (await api.get("/api/calendar")).json()["items"]
        assert [e["title"] for e in everything] == ["Mañana", "Un día sin hora", "En diez días"]
        week = await api.get(
            "/api/calendar",
            params={
                "from": soon.date().isoformat(),
                "to": (soon + timedelta(days=7)).date().isoformat(),
            },
        )
        assert [e["title"] for e in week.json()["items"]] == ["Mañana", "Un día sin hora"]
        assert week.json()["items"][1]["start"] == (soon + timedelta(days=2)).date().isoformat()
        backwards = await api.get(
            "/api/calendar", params={"from": "2026-12-10", "to": "2026-12-01"}
        )
        assert backwards.status_code == 422
