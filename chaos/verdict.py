"""What a chaos run left behind, read back through the public APIs, as figures and problems.

The store is read with ``EventStore`` and each event decoded with ``to_event()`` (never the
JSON of ``events.data``, nor subjects), and compared with the load's ledger and with what
the provider stand-ins received:

- every acknowledged webhook (message, status, call) and operator reply stored exactly once;
- every ``reply.ready`` written once and given exactly one outcome (sent, failed, blocked);
- every reply sent once: one ``message.sent`` per reply, and each message the Twilio
  stand-in created is one of those (a message the contact got that Hilo does not know it
  sent is a double send);
- each conversation's replies reached the stand-in in the order they were written;
- a flow's outside API called once per session and round;
- every projection equal to its rebuild (`hilo projections rebuild`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from chaos.load import Ledger
from chaos.providers import Providers
from chaos.stack import Stack
from hilo.bus import EventBus
from hilo.projections.runner import PROJECTIONS
from hilo.store.eventstore import EventStore
from hilo.testing import marker_round_trip

OUTCOMES = ("message.sent", "message.failed", "message.blocked")
READ = (
    "message.received",
    "message.status",
    "call.ended",
    "reply.ready",
    *OUTCOMES,
)


@dataclass
class Facts:
    """The events of interest, folded from the store as they are read (incrementally)."""

    position: int = 0
    received: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    # reply_id → how many reply.ready; and in store order: (reply_id, conversation).
    replies: Counter[uuid.UUID] = field(default_factory=Counter)
    written: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    outcomes: dict[uuid.UUID, list[str]] = field(default_factory=lambda: defaultdict(list))
    # message.sent: the provider's message id → reply_id.
    sent: dict[str, uuid.UUID] = field(default_factory=dict)
    sent_per_reply: Counter[uuid.UUID] = field(default_factory=Counter)
    # The provider's message id → how many message.sent name it (one reply each, or lost).
    sent_ids: Counter[str] = field(default_factory=Counter)

    async def read(self, store: EventStore) -> None:
        async for page in store.iterate_all(self.position, types=READ):
            for recorded in page:
                self._fold(recorded.to_event())
            self.position = page[-1].position

    def _fold(self, event: Any) -> None:
        kind = event.type
        if kind == "message.received":
            self.received[event.provider_message_id] += 1
        elif kind == "message.status":
            self.statuses[(event.provider_message_id, event.status)] += 1
        elif kind == "call.ended":
            self.calls[event.call_id] += 1
        elif kind == "reply.ready":
            self.replies[event.reply_id] += 1
            self.written.append((event.reply_id, event.conversation))
        else:
            self.outcomes[event.reply_id].append(kind)
            if kind == "message.sent":
                self.sent[event.provider_message_id] = event.reply_id
                self.sent_ids[event.provider_message_id] += 1
                self.sent_per_reply[event.reply_id] += 1

    def waiting_for(self, ledger: Ledger) -> int:
        """How many acknowledged things are not stored yet, plus replies with no outcome."""
        missing = sum(1 for sid in ledger.messages if not self.received[sid])
        missing += sum(1 for key in ledger.statuses if not self.statuses[key])
        missing += sum(1 for call in ledger.calls if not self.calls[call])
        missing += sum(1 for reply in ledger.operator_replies if not self.replies[reply])
        return missing + sum(1 for reply in self.replies if not self.outcomes.get(reply))


@dataclass
class Verdict:
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lost: int = 0
    doubled: int = 0
    out_of_order: int = 0

    def problem(self, what: str, examples: list[Any], kind: str) -> None:
        count = len(examples)
        if not count:
            return
        self.problems.append(f"{what}: {count} (e.g. {', '.join(map(str, examples[:3]))})")
        if kind == "lost":
            self.lost += count
        elif kind == "doubled":
            self.doubled += count
        else:
            self.out_of_order += count


async def settle(
    stack: Stack, store: EventStore, bus: EventBus, ledger: Ledger, timeout: float
) -> tuple[Facts, bool]:
    """Wait for the marker that the work is done: everything acknowledged is stored, every
    reply has its outcome, every consumer has acknowledged all it was given, every projection
    has folded the whole store, and a marker sent through NATS came back with the store's
    head unchanged. Returns the facts, and whether that happened within ``timeout``."""
    facts = Facts()
    deadline = time.monotonic() + timeout
    while True:
        try:
            await facts.read(store)
            if not facts.waiting_for(ledger) and await _quiet(store, bus):
                head = await store.head()
                await marker_round_trip(bus)
                if await _quiet(store, bus) and await store.head() == head:
                    await facts.read(store)
                    return facts, True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass  # a server still coming back
        if time.monotonic() > deadline:
            return facts, False
        await asyncio.sleep(1.0)


async def _quiet(store: EventStore, bus: EventBus) -> bool:
    for info in await bus.js.consumers_info(bus.naming.events_stream):
        if info.num_pending or info.num_ack_pending:
            return False
    head = await store.head()
    async with store.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT name, position FROM projection_checkpoints WHERE name = ANY($1::text[])",
            list(PROJECTIONS),
        )
    caught_up = {r["name"] for r in rows if r["position"] >= head}
    return caught_up == set(PROJECTIONS)


def judge(facts: Facts, ledger: Ledger, providers: Providers) -> Verdict:
    verdict = Verdict()
    check = verdict.problem
    # Acknowledged once, stored once.
    check(
        "acknowledged messages not stored",
        [sid for sid in ledger.messages if not facts.received[sid]],
        "lost",
    )
    check(
        "messages stored more than once",
        [sid for sid, n in facts.received.items() if n > 1],
        "doubled",
    )
    check(
        "acknowledged statuses not stored",
        [key for key in ledger.statuses if not facts.statuses[key]],
        "lost",
    )
    check(
        "statuses stored more than once",
        [key for key, n in facts.statuses.items() if n > 1],
        "doubled",
    )
    check(
        "acknowledged calls not stored",
        [call for call in ledger.calls if not facts.calls[call]],
        "lost",
    )
    check(
        "calls stored more than once", [call for call, n in facts.calls.items() if n > 1], "doubled"
    )
    check(
        "accepted operator replies not stored",
        [r for r in ledger.operator_replies if not facts.replies[r]],
        "lost",
    )
    # Every reply written once, with one outcome.
    check(
        "replies written more than once", [r for r, n in facts.replies.items() if n > 1], "doubled"
    )
    check(
        "replies without an outcome",
        [r for r in facts.replies if not facts.outcomes.get(r)],
        "lost",
    )
    check(
        "replies with more than one outcome",
        [r for r, kinds in facts.outcomes.items() if len(kinds) > 1],
        "doubled",
    )
    # Sent once: Hilo's record and what the contacts got agree.
    received = [m["sid"] for m in providers.twilio.twilio_messages]
    check(
        "messages the contacts got that no message.sent records",
        [sid for sid in received if sid not in facts.sent],
        "doubled",
    )
    check(
        "message.sent with nothing the contact got",
        [sid for sid in facts.sent if sid not in set(received)],
        "lost",
    )
    check(
        "replies recorded as sent with another reply's message (the contact never got them)",
        [sid for sid, n in facts.sent_ids.items() for _ in range(n - 1)],
        "lost",
    )
    check(
        "replies sent more than once",
        [r for r, n in facts.sent_per_reply.items() if n > 1],
        "doubled",
    )
    # In order per conversation: arrival order at the provider vs the order written.
    arrived = [facts.sent[sid] for sid in received if sid in facts.sent]
    place = {reply: n for n, reply in enumerate(arrived)}
    by_conversation: dict[str, list[uuid.UUID]] = defaultdict(list)
    for reply, conversation in facts.written:
        if reply in place:
            by_conversation[conversation].append(reply)
    late = []
    for written in by_conversation.values():
        got = sorted(written, key=place.__getitem__)
        late += [reply for reply, expected in zip(got, written, strict=True) if reply != expected]
    check("replies sent out of their conversation's order", late, "order")
    # The flow's outside API: one Idempotency-Key per session and round (a call retried after
    # a crash carries the same key, which is how the API knows it for the same answer).
    keys: dict[tuple[Any, Any], set[str]] = defaultdict(set)
    for call in providers.flow_api.calls:
        round_of = (call.body.get("session_id"), call.body.get("round"))
        keys[round_of].add(call.headers.get("idempotency-key", ""))
    check(
        "flow answers POSTed for a round under two Idempotency-Keys",
        [key for key, found in keys.items() if len(found) > 1],
        "doubled",
    )
    kinds = Counter(kind for outcome in facts.outcomes.values() for kind in outcome)
    verdict.figures.update(
        replies=len(facts.replies),
        sent=kinds["message.sent"],
        failed=kinds["message.failed"],
        blocked=kinds["message.blocked"],
        provider_received=len(received),
        conversations=len(by_conversation),
        flow_api_calls=len(providers.flow_api.calls),
        flow_api_retried=len(providers.flow_api.calls) - len(keys),
    )
    return verdict


async def projection_rows(pool: asyncpg.Pool) -> dict[str, list[str]]:
    """Every projection table's rows, each as canonical JSON, sorted."""
    async with pool.acquire() as conn:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name LIKE 'proj\\_%' "
            "ORDER BY table_name"
        )
        found = {}
        for row in tables:
            name = row["table_name"]
            records = await conn.fetch(f'SELECT * FROM "{name}"')
            found[name] = sorted(json.dumps(dict(r), sort_keys=True, default=str) for r in records)
    return found


def differences(live: dict[str, list[str]], rebuilt: dict[str, list[str]]) -> dict[str, int]:
    """Per table, how many rows one side has that the other lacks."""
    found = {}
    for table in sorted(set(live) | set(rebuilt)):
        ours, theirs = Counter(live.get(table, [])), Counter(rebuilt.get(table, []))
        count = sum(((ours - theirs) + (theirs - ours)).values())
        if count:
            found[table] = count
    return found
