"""The conversation list (filters, search, cursor), one conversation, reading and answering."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hilo.testing import eventually
from schemas import (
    CalendarEventScheduled,
    ContactOptedOut,
    ConversationModeChanged,
    IntentDetected,
    MessageRouted,
    MessageSent,
    ReplyReady,
    TaskCreated,
    derived_id,
    utc_now,
)
from tests.inbox.conftest import CONTACT, Stack, inbound

OTHER = "+573001112233"
QUIET = "+447700900123"
NOW = utc_now()


async def seed(stack: Stack) -> None:
    """Three contacts: one with a task and a bad mood, one held by a person, one long quiet."""
    hello = inbound("Hola, necesito una cotización para el almacén", occurred_at=NOW)
    task = TaskCreated(
        conversation=CONTACT,
        task_id=uuid.uuid4(),
        title="Enviar cotización",
        task_type="quote",
        priority=2,
        due=date(2026, 12, 4),
    )
    mood = IntentDetected(
        conversation=CONTACT,
        intent="quote",
        sentiment="negative",
        language="es",
        summary="Pide una cotización",
    )
    meeting = CalendarEventScheduled(
        conversation=CONTACT,
        calendar_event_id=uuid.uuid4(),
        title="Visita al almacén",
        start=NOW + timedelta(days=2),
        timezone="Europe/Madrid",
    )
    other = inbound(
        "¿Tenéis cita el lunes?", OTHER, name="Ramón Núñez", occurred_at=NOW - timedelta(hours=1)
    )
    held = ConversationModeChanged(
        conversation=OTHER, mode="human", reason="taken_over", operator="ana@example.com"
    )
    quiet = inbound("Gracias", QUIET, name="Zoe", occurred_at=NOW - timedelta(days=3))
    await stack.publish(hello, task, mood, meeting, other, held, quiet)
    await stack.projected(quiet)


async def test_the_list_filters_searches_and_pages(stack: Stack) -> None:
    await seed(stack)
    async with stack.agent() as api:

        async def contacts(**params: str) -> list[str]:
            response = await api.get("/api/conversations", params=params)
            assert response.status_code == 200, response.text
            return [item["contact"] for item in response.json()["items"]]

        assert await contacts() == [CONTACT, OTHER, QUIET]
        first = (await api.get("/api/conversations")).json()["items"][0]
        assert first == {
            "contact": CONTACT,
            "name": "José Pérez",
            "last_message_at": first["last_message_at"],
            "last_text": "Hola, necesito una cotización para el almacén",
            "unread": 1,
            "mode": "analyzer",
            "sentiment": "negative",
            "open_tasks": 1,
            "channel": "whatsapp",
            "channels": ["whatsapp"],
            "opted_out": False,
        }
        assert await contacts(mode="human") == [OTHER]
        assert await contacts(has_tasks="true") == [CONTACT]
        assert await contacts(has_tasks="false") == [OTHER, QUIET]
        assert await contacts(sentiment="negative") == [CONTACT]
        assert await contacts(channel="voice") == []
        assert await contacts(channel="whatsapp", unread="true") == [CONTACT, OTHER, QUIET]
        # Search: accents and case ignored, names, numbers (with or without country code), text.
        assert await contacts(q="RAMON nunez") == [OTHER]
        assert await contacts(q="jose") == [CONTACT]
        assert await contacts(q="COTIZACION almacen") == [CONTACT]
        assert await contacts(q="3001112233") == [OTHER]
        assert await contacts(q="+44 7700") == [QUIET]
        assert await contacts(q="nadie") == []
        assert await contacts(q="¿?") == []
        # Pages of one: each page continues where the last stopped.
        seen, cursor = [], None
        while True:
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = (await api.get("/api/conversations", params=params)).json()
            seen += [item["contact"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [CONTACT, OTHER, QUIET]
        bad = await api.get("/api/conversations", params={"cursor": "nonsense"})
        assert bad.status_code == 422 and "cursor" in bad.json()["detail"]
        assert (await api.get("/api/conversations", params={"mode": "robot"})).status_code == 422


async def test_one_conversation_and_its_read_mark(stack: Stack) -> None:
    await seed(stack)
    async with stack.agent() as api:
        detail = (await api.get(f"/api/conversations/{CONTACT}")).json()
        assert detail["contact"] == CONTACT and detail["name"] == "José Pérez"
        assert detail["mode"] == "analyzer" and detail["unread"] == 1
        assert detail["window_open_until"] is not None
        assert [i["kind"] for i in detail["items"]] == [
            "message",
            "task",
            "intent",
            "calendar_event",
        ]
        assert detail["analysis"]["sentiment"] == "negative"
        assert [t["title"] for t in detail["tasks"]] == ["Enviar cotización"]
        assert [e["title"] for e in detail["events"]] == ["Visita al almacén"]
        # A number spelled another way is the same contact; an unknown one is 404.
        spelled = await api.get("/api/conversations/34600111222")
        assert spelled.status_code == 200 and spelled.json()["contact"] == CONTACT
        assert (await api.get("/api/conversations/+34699999999")).status_code == 404
        assert (await api.get("/api/conversations/not-a-number")).status_code == 422

        read = await api.post(f"/api/conversations/{CONTACT}/read")
        assert read.status_code == 202

        async def unread() -> bool:
            row = (await api.get(f"/api/conversations/{CONTACT}")).json()
            return bool(row["unread"] == 0)

        await eventually(unread)
        assert (await api.get("/api/conversations", params={"unread": "true"})).json()["items"][0][
            "contact"
        ] == OTHER


async def test_a_person_answers_and_the_timeline_names_them(stack: Stack) -> None:
    await seed(stack)
    hello = await stack.pool.fetchval(
        "SELECT event_id FROM events WHERE type = 'message.received' AND stream = $1",
        stack.store.stream_of(CONTACT),
    )
    routed = MessageRouted(
        conversation=CONTACT,
        message_event_id=hello,
        answerer="human",
        operator="token:agent-script",
    )
    await stack.publish(routed)
    await stack.projected(routed)
    async with stack.agent() as api:
        sent = await api.post(
            f"/api/conversations/{CONTACT}/messages",
            json={"text": "Te la envío hoy"},
            headers={"Idempotency-Key": "k1"},
        )
        assert sent.status_code == 202, sent.text
        reply_id = sent.json()["reply_id"]
        again = await api.post(
            f"/api/conversations/{CONTACT}/messages",
            json={"text": "Te la envío hoy"},
            headers={"Idempotency-Key": "k1"},
        )
        assert again.json()["reply_id"] == reply_id
        reply_event_id = derived_id(uuid.UUID(reply_id), "reply.ready")

        async def stored() -> dict[str, object] | None:
            record = await stack.store.get(reply_event_id)
            return record.clear if record else None

        data = await eventually(stored)
        assert data["author"] == "human" and data["operator"] == "token:agent-script"
        assert data["text"] == "Te la envío hoy"
        assert (
            await stack.pool.fetchval("SELECT count(*) FROM events WHERE type = 'reply.ready'") == 1
        )

        # The notifier's send, as it would record it; then the timeline shows who answered.
        reply = ReplyReady.model_validate(
            {**data, "occurred_at": data["occurred_at"], "event_id": reply_event_id}
        )
        await stack.publish(
            reply.caused(
                MessageSent,
                "sent",
                reply_id=reply.reply_id,
                provider="outbox",
                provider_message_id="outbox-1",
                text=reply.text,
                sent_at=utc_now(),
            )
        )

        async def answered() -> list[dict[str, object]] | None:
            detail = (await api.get(f"/api/conversations/{CONTACT}")).json()
            mine = [i for i in detail["items"] if i.get("author") == "human"]
            return mine if mine and mine[0].get("status") == "sent" else None

        [item] = await eventually(answered)
        assert item["operator"] == "token:agent-script" and item["direction"] == "outbound"
        detail = (await api.get(f"/api/conversations/{CONTACT}")).json()
        [asked] = [i for i in detail["items"] if i.get("direction") == "inbound"]
        assert asked["answerer"] == "human"
        row = (await api.get("/api/conversations")).json()["items"][0]
        assert row["last_text"] == "Te la envío hoy" and row["unread"] == 0

        bad = await api.post(f"/api/conversations/{CONTACT}/messages", json={})
        assert bad.status_code == 422
        both = await api.post(
            f"/api/conversations/{CONTACT}/messages",
            json={"text": "x", "template": {"name": "seguimiento"}},
        )
        assert both.status_code == 422
        nobody = await api.post("/api/conversations/+34699999999/messages", json={"text": "x"})
        assert nobody.status_code == 404


async def test_whatsapp_rules_refuse_with_409_and_the_templates_that_work(stack: Stack) -> None:
    await seed(stack)
    async with stack.agent() as api:
        closed = await api.post(f"/api/conversations/{QUIET}/messages", json={"text": "¿Sigues?"})
        assert closed.status_code == 409
        assert closed.json() == {
            "detail": (
                "more than 24 hours since the contact's last message: only a template may be sent"
            ),
            "reason": "window_closed",
            "templates": [{"name": "seguimiento", "language": "es"}],
        }
        template = {"name": "seguimiento", "language": "es", "variables": {"1": "Zoe"}}
        allowed = await api.post(
            f"/api/conversations/{QUIET}/messages", json={"template": template}
        )
        assert allowed.status_code == 202

        await stack.publish(out := ContactOptedOut(conversation=CONTACT, keyword="baja"))
        await stack.projected(out)
        opted = await api.post(f"/api/conversations/{CONTACT}/messages", json={"text": "Hola"})
        assert opted.status_code == 409
        assert opted.json()["reason"] == "opted_out" and opted.json()["templates"] == []

        async def replies() -> int:
            count: int = await stack.pool.fetchval(
                "SELECT count(*) FROM events WHERE type = 'reply.ready'"
            )
            return count

        assert await eventually(replies) == 1  # only the template


async def test_takeover_and_handback_are_requests_naming_the_operator(stack: Stack) -> None:
    await seed(stack)
    async with stack.admin() as api:
        taken = await api.post(f"/api/conversations/{CONTACT}/takeover")
        given = await api.post(f"/api/conversations/{CONTACT}/handback")
        assert taken.status_code == given.status_code == 202

        async def requests() -> list[tuple[str, str]] | None:
            rows = await stack.pool.fetch(
                "SELECT type, data->>'operator' FROM events"
                " WHERE type LIKE 'conversation.%_requested' ORDER BY position"
            )
            return [(r[0], r[1]) for r in rows] if len(rows) == 2 else None

        assert await eventually(requests) == [
            ("conversation.takeover_requested", "token:admin-script"),
            ("conversation.handback_requested", "token:admin-script"),
        ]
        # The router's answer is folded into the conversation's mode.
        await stack.publish(
            decided := ConversationModeChanged(
                conversation=CONTACT,
                mode="human",
                reason="taken_over",
                operator="token:admin-script",
            )
        )
        await stack.projected(decided)
        assert (await api.get(f"/api/conversations/{CONTACT}")).json()["mode"] == "human"
        listed = await api.get("/api/conversations", params={"mode": "human"})
        assert [i["contact"] for i in listed.json()["items"]] == [CONTACT, OTHER]
