"""The notifier's tables: contacts (window, opt-out), inbound wamids, and the reply outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hilo.erasure import ContactColumn
from schemas import Event, MessageReceived, ReplyReady, registry

# --- contacts --------------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    conversation: str
    provider: str | None
    last_inbound_at: datetime | None
    language: str | None
    opted_out: bool


async def record_inbound(db: asyncpg.Pool, message: MessageReceived) -> None:
    """Move the window forward (never back: a replayed old message changes nothing)."""
    at = message.sent_at or message.occurred_at
    # One statement (both inserts are atomic) and one round trip.
    await db.execute(
        """
        WITH contact AS (
            INSERT INTO notifier_contacts (conversation, provider, last_inbound_at)
            VALUES ($1, $2, $3)
            ON CONFLICT (conversation) DO UPDATE SET
                provider = CASE WHEN notifier_contacts.last_inbound_at IS NULL
                                  OR notifier_contacts.last_inbound_at <= EXCLUDED.last_inbound_at
                           THEN EXCLUDED.provider ELSE notifier_contacts.provider END,
                last_inbound_at = GREATEST(notifier_contacts.last_inbound_at,
                                           EXCLUDED.last_inbound_at),
                updated_at = now()
            RETURNING 1
        )
        INSERT INTO notifier_inbound
            (message_event_id, conversation, provider, provider_message_id, received_at)
        VALUES ($4, $1, $2, $5, $3) ON CONFLICT (message_event_id) DO NOTHING
        """,
        message.conversation,
        message.provider,
        at,
        message.event_id,
        message.provider_message_id,
    )


async def apply_opt_change(
    db: asyncpg.Pool, event: MessageReceived, opted_out: bool, language: str
) -> bool:
    """True when this message is what set the contact's opt state (now or on an earlier try).

    A newer change always wins over an older one, so replaying an old STOP after a
    later START changes nothing and confirms nothing.
    """
    changed = await db.fetchval(
        """
        UPDATE notifier_contacts
           SET opted_out = $2, opt_changed_at = $3, opt_event_id = $4, language = $5,
               updated_at = now()
         WHERE conversation = $1 AND opted_out <> $2
           AND (opt_changed_at IS NULL OR opt_changed_at <= $3)
        RETURNING true
        """,
        event.conversation,
        opted_out,
        event.occurred_at,
        event.event_id,
        language,
    )
    if changed:
        return True
    current = await db.fetchval(
        "SELECT opt_event_id FROM notifier_contacts WHERE conversation = $1", event.conversation
    )
    return bool(current == event.event_id)


async def unread_meta_messages(
    db: asyncpg.Pool, message_event_ids: tuple[uuid.UUID, ...]
) -> list[tuple[uuid.UUID, str]]:
    rows = await db.fetch(
        "SELECT message_event_id, provider_message_id FROM notifier_inbound"
        " WHERE message_event_id = ANY($1::uuid[]) AND provider = 'meta'"
        " AND marked_read_at IS NULL",
        list(message_event_ids),
    )
    return [(r["message_event_id"], r["provider_message_id"]) for r in rows]


async def mark_read(db: asyncpg.Pool, message_event_id: uuid.UUID) -> None:
    await db.execute(
        "UPDATE notifier_inbound SET marked_read_at = now() WHERE message_event_id = $1",
        message_event_id,
    )


# --- the outbox ------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    reply: ReplyReady
    position: int
    bypass_opt_out: bool
    state: str
    channel: str | None
    via_template: str | None  # the template of the last attempt, None for free-form
    force_template: bool
    attempts: int
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    outcome: Event | None
    # The contact as it was when the row was read (only rows read by open_replies carry it).
    contact: Contact | None = None

    @property
    def settled(self) -> bool:
        return self.outcome is not None


_COLUMNS = (
    "reply, conversation, position, bypass_opt_out, state, channel, via_template,"
    " force_template, attempts,"
    " first_attempt_at, last_attempt_at, outcome"
)


def _row(record: asyncpg.Record) -> OutboxRow:
    contact = None
    if record.get("contact_known"):
        contact = Contact(
            conversation=record["conversation"],
            provider=record["contact_provider"],
            last_inbound_at=record["contact_last_inbound_at"],
            language=record["contact_language"],
            opted_out=record["contact_opted_out"],
        )
    reply = registry.decode(record["reply"])
    assert isinstance(reply, ReplyReady)
    outcome = record["outcome"]
    return OutboxRow(
        reply=reply,
        position=record["position"],
        bypass_opt_out=record["bypass_opt_out"],
        state=record["state"],
        channel=record["channel"],
        via_template=record["via_template"],
        force_template=record["force_template"],
        attempts=record["attempts"],
        first_attempt_at=record["first_attempt_at"],
        last_attempt_at=record["last_attempt_at"],
        outcome=registry.decode(outcome) if outcome else None,
        contact=contact,
    )


async def open_replies(
    db: asyncpg.Pool,
    conversation: str,
    new_reply: ReplyReady | None = None,
    *,
    bypass_opt_out: bool = False,
) -> list[OutboxRow]:
    """Add ``new_reply`` (once: its id is the key) and return the conversation's replies whose
    outcome is not on the bus yet, oldest first, each with the contact's current state."""
    records = await db.fetch(
        f"""
        WITH inserted AS (
            INSERT INTO notifier_outbox (reply_id, conversation, reply, bypass_opt_out)
            SELECT $2::uuid, $1, $3::jsonb, $4 WHERE $2::uuid IS NOT NULL
            ON CONFLICT (reply_id) DO NOTHING
            RETURNING {_COLUMNS}
        ), open AS (
            SELECT {_COLUMNS} FROM inserted
            UNION ALL
            SELECT {_COLUMNS} FROM notifier_outbox
             WHERE conversation = $1 AND published_at IS NULL
        )
        SELECT open.*, c.provider AS contact_provider,
               c.last_inbound_at AS contact_last_inbound_at, c.language AS contact_language,
               c.opted_out AS contact_opted_out, c.conversation IS NOT NULL AS contact_known
          FROM open LEFT JOIN notifier_contacts c ON c.conversation = $1
         ORDER BY open.position
        """,
        conversation,
        new_reply.reply_id if new_reply else None,
        new_reply.model_dump_json() if new_reply else None,
        bypass_opt_out,
    )
    return [_row(r) for r in records]


async def start_attempt(
    db: asyncpg.Pool, reply_id: uuid.UUID, channel: str, sender: str, via_template: str | None
) -> int:
    """Durably note that a provider call is about to happen; returns the attempt number."""
    attempts = await db.fetchval(
        """
        UPDATE notifier_outbox
           SET state = 'sending', attempts = attempts + 1, channel = $2, sender = $3,
               via_template = $4, first_attempt_at = COALESCE(first_attempt_at, now()),
               last_attempt_at = now()
         WHERE reply_id = $1
        RETURNING attempts
        """,
        reply_id,
        channel,
        sender,
        via_template,
    )
    return int(attempts)


async def note_failure(
    db: asyncpg.Pool, reply_id: uuid.UUID, code: str | None, reason: str, *, uncertain: bool
) -> None:
    """A failed call: 'retrying' when it surely sent nothing, still 'sending' when unsure."""
    await db.execute(
        """
        UPDATE notifier_outbox SET state = CASE WHEN $4 THEN 'sending' ELSE 'retrying' END,
               error_code = $2, error_reason = $3
         WHERE reply_id = $1
        """,
        reply_id,
        code,
        reason,
        uncertain,
    )


async def force_template(db: asyncpg.Pool, reply_id: uuid.UUID) -> None:
    await db.execute(
        "UPDATE notifier_outbox SET force_template = true, state = 'retrying' WHERE reply_id = $1",
        reply_id,
    )


async def settle(
    db: asyncpg.Pool,
    reply_id: uuid.UUID,
    state: str,
    outcome: Event,
    *,
    provider_message_id: str | None = None,
    error_code: str | None = None,
    error_reason: str | None = None,
) -> OutboxRow:
    """Record the outcome; the first one recorded wins. Returns the row as stored."""
    record = await db.fetchrow(
        f"""
        WITH updated AS (
            UPDATE notifier_outbox
               SET state = $2, outcome = $3::jsonb, provider_message_id = $4,
                   error_code = COALESCE($5, error_code),
                   error_reason = COALESCE($6, error_reason), settled_at = now()
             WHERE reply_id = $1 AND settled_at IS NULL
            RETURNING {_COLUMNS}
        )
        SELECT {_COLUMNS} FROM updated
        UNION ALL
        SELECT {_COLUMNS} FROM notifier_outbox WHERE reply_id = $1
        LIMIT 1
        """,
        reply_id,
        state,
        outcome.model_dump_json(),
        provider_message_id,
        error_code,
        error_reason,
    )
    assert record is not None
    return _row(record)


async def mark_published(db: asyncpg.Pool, reply_id: uuid.UUID) -> bool:
    """The outcome is handed to the outbox (in the caller's transaction); False if it was."""
    status = await db.execute(
        "UPDATE notifier_outbox SET published_at = now()"
        " WHERE reply_id = $1 AND published_at IS NULL",
        reply_id,
    )
    return bool(status == "UPDATE 1")


async def message_ids_of_other_replies(db: asyncpg.Pool, reply_id: uuid.UUID) -> frozenset[str]:
    """The provider message ids the conversation's other replies were recorded with: a
    lookup after an uncertain attempt must not take one of those for this reply's (the same
    text may have been sent to the contact a minute before)."""
    rows = await db.fetch(
        "SELECT provider_message_id FROM notifier_outbox WHERE conversation ="
        " (SELECT conversation FROM notifier_outbox WHERE reply_id = $1)"
        " AND reply_id <> $1 AND provider_message_id IS NOT NULL",
        reply_id,
    )
    return frozenset(str(r["provider_message_id"]) for r in rows)


# Every table holding a contact's data in clear, by the column naming the contact: deleted
# when the contact is forgotten (hilo/erasure.py).
PERSONAL_COLUMNS = (
    ContactColumn("notifier_contacts", "conversation"),
    ContactColumn("notifier_inbound", "conversation"),
    ContactColumn("notifier_outbox", "conversation"),
)
