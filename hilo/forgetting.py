"""Forgetting a contact: destroy their keys, record and announce ``contact.forgotten``.

One function for the CLI (``hilo contacts forget``) and the operator API
(``POST /api/contacts/{contact}/forget``). Destroying the keys is the forgetting itself
(crypto-shredding): every sealed copy of the contact's personal fields, in the store, on
the bus and in outbox rows, is noise from then on; the contact's messages are purged from
JetStream too (events and dead letters). ``contact.forgotten`` (the pseudonym,
who asked, how many keys; nothing of the person) is appended to the store and published,
and every service that keeps readable copies deletes them and answers with
``contact.data_erased`` (:mod:`hilo.erasure`); :func:`wait_for_erasures` collects those
answers from the store.

Idempotent: forgetting again finds no key to destroy and the last ``contact.forgotten``
in the contact's stream, publishes that same event again (its id: a run that crashed
between storing and publishing is completed, and nothing new happens otherwise) and says
the contact was forgotten already. A contact who wrote again after being forgotten has
new keys, and is forgotten again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
import orjson
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError

from hilo.bus import EventBus, PublishFailed
from hilo.errors import UserError
from hilo.logs import masked
from hilo.registry import services
from hilo.store.eventstore import EventStore
from schemas import ContactDataErased, ContactForgotten


class UnknownContact(UserError):
    """Hilo has nothing of this number: no keys, no stream, never forgotten."""


class NotAnnounced(UserError):
    """The keys are destroyed and the fact stored, but NATS did not take the announcement."""


class Keys(Protocol):
    """What forgetting needs of the keyring (hilo/privacy/keyring.py)."""

    async def destroy(self, pseudonym: str) -> int: ...


@dataclass(frozen=True)
class Forgetting:
    """What forgetting did: the event (new, or the earlier one) and whether it was new."""

    event: ContactForgotten
    already_forgotten: bool

    @property
    def pseudonym(self) -> str:
        return self.event.conversation


def erasing_services() -> tuple[str, ...]:
    """The services that keep readable copies: those that publish ``contact.data_erased``."""
    kind = ContactDataErased.event_type()
    return tuple(info.name for info in services() if kind in info.publishes)


async def _last_forgotten(pool: asyncpg.Pool, pseudonym: str) -> ContactForgotten | None:
    text = await pool.fetchval(
        "SELECT data::text FROM events WHERE stream = $1 AND type = $2"
        " ORDER BY position DESC LIMIT 1",
        pseudonym,
        ContactForgotten.event_type(),
    )
    return ContactForgotten.model_validate(orjson.loads(text)) if text else None


async def _known(pool: asyncpg.Pool, number: str, pseudonym: str) -> bool:
    """Anything of the contact at all: a stream (sealed, or stored in clear before sealing
    existed), or keys destroyed by a run that stopped before recording it."""
    if await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM event_streams WHERE stream = ANY($1::text[]))",
        [number, pseudonym],
    ):
        return True
    return bool(
        await pool.fetchval(
            "SELECT to_regclass('hilo_destroyed_keys') IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM hilo_destroyed_keys WHERE pseudonym = $1)",
            pseudonym,
        )
    )


async def forget_contact(
    number: str,
    *,
    requested_by: str,
    pool: asyncpg.Pool,
    bus: EventBus,
    keys: Keys,
    pseudonym_of: Callable[[str], str],
) -> Forgetting:
    """Forget the contact with this E.164 number; raises :class:`UnknownContact`."""
    pseudonym = pseudonym_of(number)
    destroyed = await keys.destroy(pseudonym)
    if destroyed == 0:
        earlier = await _last_forgotten(pool, pseudonym)
        if earlier is not None:
            await _announce(bus, earlier)
            return Forgetting(earlier, already_forgotten=True)
        if not await _known(pool, number, pseudonym):
            raise UnknownContact(f"Hilo has no contact {masked(number)}: nothing to forget")
    # Before contact.forgotten is published, so that it (and what answers it) stays.
    try:
        await purge_from_streams(bus, pseudonym)
    except (NatsError, OSError, TimeoutError) as exc:
        raise NotAnnounced(
            f"the contact's keys are destroyed but NATS is unreachable ({exc!r}); forget"
            " again once it is back, so that their messages are purged and services erase"
        ) from None
    event = ContactForgotten(
        conversation=pseudonym, keys_destroyed=destroyed, requested_by=requested_by
    )
    await EventStore(pool).append([event])
    await _announce(bus, event)
    return Forgetting(event, already_forgotten=False)


async def _announce(bus: EventBus, event: ContactForgotten) -> None:
    try:
        await bus.publish(event)
    except PublishFailed as exc:
        raise NotAnnounced(
            "the contact is forgotten (keys destroyed, fact stored) but NATS did not take the"
            f" announcement ({exc}); forget again once it is back, so that services erase"
        ) from None


async def purge_from_streams(bus: EventBus, pseudonym: str) -> None:
    """Remove the contact's messages from JetStream: its events and its dead letters.

    Sealed, they are noise once the keys are gone; purged, not even the noise (nor a dead
    letter's reason, written from an exception) stays until the stream's age limit.
    Subjects are ``<type>.<token>`` (``.<partition>`` after it on a partitioned stream), and
    a dead letter's is ``dlq.<consumer>.`` before its original subject.
    """
    prefix = f"{bus.naming.namespace}." if bus.naming.namespace else ""
    for stream, base in (
        (bus.naming.events_stream, f"{prefix}*.*.{pseudonym}"),
        (bus.naming.dead_letter_stream, f"{prefix}dlq.*.{prefix}*.*.{pseudonym}"),
    ):
        for subject in (base, f"{base}.*"):
            with contextlib.suppress(NotFoundError):
                await bus.js.purge_stream(stream, subject=subject)


@dataclass
class Erasures:
    """The ``contact.data_erased`` answers to one ``contact.forgotten``, by service."""

    expected: tuple[str, ...]
    answers: dict[str, ContactDataErased] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [name for name in self.expected if name not in self.answers]

    @property
    def complete(self) -> bool:
        return not self.missing

    def rows(self) -> list[dict[str, Any]]:
        """One row per service: what it erased, or that it has not answered yet."""
        names = [*self.expected, *sorted(set(self.answers) - set(self.expected))]
        return [
            {
                "service": name,
                "erased": name in self.answers,
                "rows": self.answers[name].rows_deleted if name in self.answers else None,
                "files": self.answers[name].files_deleted if name in self.answers else None,
            }
            for name in names
        ]


async def erasures_of(pool: asyncpg.Pool, forgotten: uuid.UUID) -> dict[str, ContactDataErased]:
    rows = await pool.fetch(
        "SELECT data::text FROM events WHERE type = $1 AND causation_id = $2 ORDER BY position",
        ContactDataErased.event_type(),
        forgotten,
    )
    answers = [ContactDataErased.model_validate(orjson.loads(r[0])) for r in rows]
    return {answer.service: answer for answer in answers}


async def wait_for_erasures(
    pool: asyncpg.Pool,
    forgotten: ContactForgotten,
    *,
    timeout: float,
    expected: tuple[str, ...] | None = None,
    poll_seconds: float = 0.2,
) -> Erasures:
    """Every erasing service's answer, as recorded in the store, or what came by ``timeout``."""
    erasures = Erasures(expected if expected is not None else erasing_services())
    deadline = time.monotonic() + timeout
    while True:
        erasures.answers = await erasures_of(pool, forgotten.event_id)
        if erasures.complete or time.monotonic() >= deadline:
            return erasures
        await asyncio.sleep(poll_seconds)
