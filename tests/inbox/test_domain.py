"""The inbox's pure parts: search queries, cursors, WhatsApp's rules, the fold, the feed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hilo.projections import inbox
from services.inbox import accounts, cursors, feed, replies, search
from services.inbox.settings import InboxSettings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_search_text_becomes_prefix_words_without_accents() -> None:
    assert search.tsquery("José  PÉREZ") == "jose:* & perez:*"
    assert search.tsquery("+34 600-111") == "34:* & 600:* & 111:*"
    assert search.tsquery("año ñandú") == "ano:* & nandu:*"
    assert search.tsquery("¿?¡! ' & | :*") is None
    many = search.tsquery(" ".join(f"w{i}" for i in range(20)))
    assert many is not None and many.count("&") == search.MAX_WORDS - 1


def test_cursors_round_trip_and_refuse_anything_else() -> None:
    cursor = cursors.encode("2026-11-30T12:00:00+00:00", "+34600111222")
    assert cursors.decode(cursor, 2) == ["2026-11-30T12:00:00+00:00", "+34600111222"]
    for bad in ("", "nonsense", cursors.encode("only one"), "%%%"):
        with pytest.raises(cursors.BadCursor):
            cursors.decode(bad, 2)


def test_whatsapp_rules_for_a_persons_reply() -> None:
    recent, old = NOW - timedelta(hours=2), NOW - timedelta(hours=25)
    assert replies.refusal(recent, False, NOW, template=False) is None
    closed = replies.refusal(old, False, NOW, template=False)
    assert closed is not None and closed.reason == "window_closed"
    assert replies.refusal(None, False, NOW, template=False) is not None
    assert replies.refusal(old, False, NOW, template=True) is None
    opted = replies.refusal(recent, True, NOW, template=True)
    assert opted is not None and opted.reason == "opted_out"
    assert replies.window_open_until(recent) == recent + timedelta(hours=24)


def _event(kind: str, minutes: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "event_id": str(uuid.uuid4()),
        "conversation": "+34600111222",
        "occurred_at": (NOW + timedelta(minutes=minutes)).isoformat(),
        **fields,
    }


def test_unread_counts_follow_read_marks_and_a_persons_reply() -> None:
    entry = inbox.new_entry("+34600111222")
    for minute in (0, 1):
        inbox.apply(entry, _event("message.received", minute, text="Hola"))
    assert entry["doc"]["unread"] == 2
    inbox.apply(entry, _event("conversation.read_marked", 2, operator="ana@example.com"))
    inbox.apply(entry, _event("message.received", 3, text="¿Hola?"))
    assert entry["doc"]["unread"] == 1
    inbox.apply(entry, _event("reply.ready", 4, author="analyzer", reply_id="r1", text="Hola"))
    assert entry["doc"]["unread"] == 1
    inbox.apply(entry, _event("reply.ready", 5, author="human", reply_id="r2", text="Soy Ana"))
    assert entry["doc"]["unread"] == 0
    # First responses: the bot answered the waiting contact after 4 minutes.
    [(_, waited_since, _, answered_by, seconds)] = entry["responses"]
    assert (answered_by, seconds) == ("automatic", 240.0)
    assert waited_since.startswith("2026-11-30T12:00:00")


def test_a_task_a_person_closed_is_not_reopened_by_the_analyzer() -> None:
    entry = inbox.new_entry("+34600111222")
    task_id = str(uuid.uuid4())
    fields = {"task_id": task_id, "title": "Llamar", "task_type": "call", "priority": 1}
    inbox.apply(entry, _event("task.created", 0, **fields))
    inbox.apply(
        entry,
        _event(
            "task.edited",
            1,
            task_id=task_id,
            operator="ana@example.com",
            changed=["status", "assignee"],
            status="done",
            assignee="ana@example.com",
        ),
    )
    inbox.apply(entry, _event("task.updated", 2, **{**fields, "title": "Llamar ya"}, status="open"))
    task = entry["doc"]["tasks"][task_id]
    assert (task["status"], task["title"], task["closed_by"]) == (
        "done",
        "Llamar",
        "ana@example.com",
    )
    assert inbox.open_tasks(entry["doc"]) == 0
    assert entry["daily"][("2026-11-30", "tasks_done", "")] == 1


def test_the_search_text_holds_the_number_in_the_spellings_people_type() -> None:
    entry = inbox.new_entry("+34600111222")
    inbox.apply(entry, _event("message.received", 0, text="Quiero una CITA", contact_name="Íñigo"))
    text = inbox.search_text(entry["doc"])
    assert "inigo" in text and "quiero una cita" in text
    assert {"34600111222", "600111222", "111222"} <= set(text.split())


def test_the_feed_shows_failures_to_admins_only() -> None:
    assert "call.failed" in feed.visible_types("admin")
    assert "call.failed" not in feed.visible_types("agent")
    assert feed.visible_types("agent") < feed.visible_types("admin")
    shown = feed.item(_event("message.received", 0, text="Hola", raw={"secret": "x"}))
    assert shown["text"] == "Hola" and "raw" not in shown


def test_accounts_refuse_what_cannot_be_used() -> None:
    with pytest.raises(accounts.InvalidAccount):
        accounts.normal_email("not an address")
    with pytest.raises(accounts.InvalidAccount):
        accounts.hash_password("short")
    with pytest.raises(accounts.InvalidAccount):
        accounts.checked_token_name("no spaces allowed")
    hashed = accounts.hash_password("a long enough secret")
    assert accounts.password_matches(hashed, "a long enough secret")
    assert not accounts.password_matches(hashed, "a long enough secreT")
    assert not accounts.password_matches(None, "a long enough secret")
    assert InboxSettings(_env_file=None, hilo_public_url="https://inbox.example.com").secure_cookies
    assert not InboxSettings(_env_file=None, hilo_public_url="http://localhost").secure_cookies


def test_a_late_message_stamped_like_an_answered_one_counts_one_first_response() -> None:
    from hilo.projections.inbox_tables import _responses

    entry = inbox.new_entry("+34600111222")
    inbox.apply(entry, _event("message.received", 0, text="Hola"))
    inbox.apply(entry, _event("reply.ready", 1, author="analyzer", reply_id="r1", text="Hola"))
    inbox.apply(entry, _event("message.received", 0, text="¿Hola?"))  # the provider's late copy
    inbox.apply(entry, _event("reply.ready", 2, author="human", reply_id="r2", text="Hola"))
    assert len(entry["responses"]) == 2
    [row] = _responses({"+34600111222": entry})
    assert row[3] == "automatic"
