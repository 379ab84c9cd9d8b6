"""Events on NATS JetStream: streams declared by code, publishing with dedupe ids.

One stream holds every event; its subjects are ``<type>.<conversation>``, so a
consumer can filter by type and still see one conversation in order. A contact's
conversation is its pseudonym there, and its events travel sealed (the bus's
:class:`~hilo.privacy.codec.EventCodec`): neither a subject nor a payload holds the
contact's number or words. A second
stream keeps dead letters: events a consumer gave up on, with the reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    SubjectTransform,
)
from nats.js.errors import NotFoundError

from hilo.privacy.codec import EventCodec, Sealed
from hilo.privacy.sealing import SEALED, Forgotten, Opened, is_contact
from schemas import Event, EventDecodeError, conversation_token, registry

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_SECONDS = 120.0
# How long JetStream keeps events unless HILO_STREAM_MAX_AGE_DAYS says otherwise.
DEFAULT_MAX_AGE_DAYS = 30.0
_SECONDS_PER_DAY = 86_400.0


def raise_if_cancelled() -> None:
    """Raise the cancellation nats-py swallowed.

    ``Client._flush_pending`` (under every publish, ack and fetch) catches CancelledError
    and returns, so a task cancelled there runs on: a consumer stopped by its service kept
    fetching and acking. The task still counts the request; loops call this at their head.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class PublishFailed(RuntimeError):
    """JetStream did not acknowledge the event: it is not durable, say so upstream."""


@dataclass(frozen=True)
class Published:
    stream_sequence: int
    duplicate: bool


@dataclass(frozen=True)
class Naming:
    """Stream, subject and consumer names, under an optional namespace."""

    namespace: str = ""

    @property
    def _prefix(self) -> str:
        return f"{self.namespace}." if self.namespace else ""

    @property
    def events_stream(self) -> str:
        return f"HILO_{self.namespace}" if self.namespace else "HILO"

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.events_stream}_DLQ"

    def subject(self, event_type: str, stream: str) -> str:
        """The subject of an event of ``stream``: a contact's pseudonym, never their number."""
        if is_contact(stream):
            raise ValueError("a contact's number is never a subject token: use bus.stream_of")
        return f"{self._prefix}{event_type}.{conversation_token(stream)}"

    def type_filter(self, event_type: str) -> str:
        """Every event of the type as published (and as stored, partitioned or not)."""
        return f"{self._prefix}{event_type}.>"

    def partition_filter(self, event_type: str | None, partition: int) -> str:
        """Stored events of the type (or of every type) in one partition."""
        kind = event_type or "*.*"
        return f"{self._prefix}{kind}.*.{partition}"

    def unpartitioned_filter(self, event_type: str | None) -> str:
        """Stored events written before the stream was partitioned (no partition token)."""
        kind = event_type or "*.*"
        return f"{self._prefix}{kind}.*"

    def partition_transform(self, partitions: int) -> SubjectTransform:
        """``<type>.<contact>`` is stored as ``<type>.<contact>.<partition>``: NATS hashes the
        contact token, so one conversation always lands in the same partition."""
        return SubjectTransform(
            src=f"{self._prefix}*.*.*",
            dest=f"{self._prefix}{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}.{{{{wildcard(3)}}}}"
            f".{{{{partition({partitions},3)}}}}",
        )

    def dead_letter_subject(self, consumer: str, original_subject: str) -> str:
        return f"{self._prefix}dlq.{consumer}.{original_subject}"

    def dead_letter_filter(self) -> str:
        return f"{self._prefix}dlq.>"

    def durable(self, name: str) -> str:
        return f"{self.namespace}_{name}" if self.namespace else name

    def _bare(self, subject: str) -> list[str]:
        bare = subject[len(self._prefix) :] if subject.startswith(self._prefix) else subject
        return bare.split(".")

    def event_type_of(self, subject: str) -> str:
        """``message.received.5730011[.3]`` → ``message.received`` (types are two tokens)."""
        return ".".join(self._bare(subject)[:2])

    def conversation_of(self, subject: str) -> str:
        """``message.received.5730011[.3]`` → ``5730011``: the key of per-conversation order."""
        tokens = self._bare(subject)
        return tokens[2] if len(tokens) > 2 else tokens[-1]


class NoCodec(RuntimeError):
    """A contact's event with no codec to seal it: it would travel in clear."""


class EventBus:
    def __init__(self, nc: NatsClient, naming: Naming, codec: EventCodec | None = None) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.naming = naming
        # Seals contacts' events on the way out and opens them on the way in; without one,
        # only events of non-contact streams (the business's) can be sent or read.
        self.codec = codec

    @classmethod
    async def connect(
        cls, url: str, namespace: str = "", *, name: str = "hilo", codec: EventCodec | None = None
    ) -> EventBus:
        # A cluster is named by its servers, comma-separated (HILO_NATS_URL).
        nc = await nats.connect(
            [u.strip() for u in url.split(",") if u.strip()],
            name=name,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
        )
        return cls(nc, Naming(namespace), codec)

    @property
    def connected(self) -> bool:
        return bool(self.nc.is_connected)

    async def close(self) -> None:
        if self.nc.is_closed:
            return
        try:
            await self.nc.drain()
        except Exception:
            # Draining needs the server; without it, close the connection anyway.
            await self.nc.close()

    async def ensure_streams(
        self,
        extra_types: Iterable[str] = (),
        *,
        partitions: int = 0,
        replicas: int = 1,
        max_age_days: float | None = None,
    ) -> None:
        """Create or widen the streams; safe to call from every process at start-up.

        ``partitions`` > 0 stores each event with its conversation's partition token (see
        :meth:`Naming.partition_transform`), so replicas of a service can share the work
        one partition each while a conversation stays in order. ``replicas`` is the number
        of JetStream servers keeping each stream (3 in a cluster).

        ``max_age_days`` bounds how long JetStream keeps an event (0: forever). The
        PostgreSQL store keeps every event for good and `hilo replay` republishes from it,
        so the bus only needs to cover the longest outage of a consumer. ``None`` keeps an
        existing stream's bound and gives a new one :data:`DEFAULT_MAX_AGE_DAYS`.
        """
        wanted_age = DEFAULT_MAX_AGE_DAYS if max_age_days is None else max_age_days
        types = sorted({*registry.types, *extra_types})
        await self._ensure_stream(
            StreamConfig(
                name=self.naming.events_stream,
                subjects=[self.naming.type_filter(t) for t in types],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
                duplicate_window=DUPLICATE_WINDOW_SECONDS,
                max_age=wanted_age * _SECONDS_PER_DAY,
                num_replicas=replicas,
                subject_transform=(
                    self.naming.partition_transform(partitions) if partitions > 0 else None
                ),
            ),
            keep_age=max_age_days is None,
        )
        await self._ensure_stream(
            StreamConfig(
                name=self.naming.dead_letter_stream,
                subjects=[self.naming.dead_letter_filter()],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_age=wanted_age * _SECONDS_PER_DAY,
                num_replicas=replicas,
            ),
            keep_age=max_age_days is None,
        )

    async def _ensure_stream(self, config: StreamConfig, *, keep_age: bool = False) -> None:
        assert config.name is not None
        try:
            info = await self.js.stream_info(config.name)
        except NotFoundError:
            try:
                await self.js.add_stream(config)
            except NatsError as exc:
                # Another process created it between our look and our add.
                log.debug("add_stream raced: %s", exc)
            return
        existing = set(info.config.subjects or [])
        wanted = set(config.subjects or [])
        changed = not wanted <= existing
        info.config.subjects = sorted(existing | wanted)
        if config.subject_transform is not None and info.config.subject_transform is None:
            # Partitioning an existing stream: events stored before keep their subjects and
            # are read by partition 0 (Naming.unpartitioned_filter).
            info.config.subject_transform = config.subject_transform
            changed = True
        if not keep_age and (info.config.max_age or 0) != (config.max_age or 0):
            info.config.max_age = config.max_age
            changed = True
        if changed:
            await self.js.update_stream(info.config)

    def _codec(self, conversation: str) -> EventCodec | None:
        if self.codec is None and is_contact(conversation):
            raise NoCodec("a contact's event cannot be published without a codec to seal it")
        return self.codec

    def stream_of(self, conversation: str) -> str:
        """The stream and subject token of a conversation (a contact's pseudonym)."""
        if self.codec is None:
            return conversation
        return self.codec.stream_of(conversation)

    async def seal(self, event: Event) -> Sealed:
        """The event as it is stored and sent: sealed for a contact, as it is otherwise."""
        codec = self._codec(event.conversation)
        if codec is None:
            return Sealed(event.conversation, event.type, event.event_id, event.model_dump_json())
        return await codec.seal(event)

    async def publish(self, event: Event, *, timeout: float = 5.0) -> Published:
        sealed = await self.seal(event)
        return await self.publish_raw(
            self.naming.subject(event.type, sealed.stream),
            sealed.json.encode(),
            event_id=str(event.event_id),
            event_type=event.type,
            timeout=timeout,
        )

    async def open_json(self, raw: bytes | str) -> Opened | Forgotten:
        """A delivered payload in clear (or forgotten); :class:`EventDecodeError` if broken."""
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise EventDecodeError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise EventDecodeError("an event is a JSON object with a string `type`")
        if self.codec is not None:
            return await self.codec.open(data)
        if SEALED in data:
            raise EventDecodeError("a sealed event, and no codec to open it")
        return Opened(data)

    async def decode(self, raw: bytes | str) -> Event:
        """A delivered payload as a typed event (a ForgottenEvent when forgotten)."""
        return (await self.open_json(raw)).to_event()

    async def publish_raw(
        self,
        subject: str,
        payload: bytes,
        *,
        event_id: str,
        event_type: str,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> Published:
        all_headers = {"Nats-Msg-Id": event_id, "Hilo-Event-Type": event_type, **(headers or {})}
        try:
            ack = await self.js.publish(subject, payload, headers=all_headers, timeout=timeout)
        except (TimeoutError, NatsError, OSError) as exc:
            raise PublishFailed(f"JetStream did not accept {event_type}: {exc!r}") from exc
        return Published(stream_sequence=ack.seq, duplicate=bool(ack.duplicate))

    async def publish_stored(
        self, data: dict[str, object], *, replay_id: str, timeout: float = 5.0
    ) -> Published:
        """Republish an event as stored (replay): same event id, same payload.

        The JetStream dedupe id is made per replay run, so the broker lets the
        event through again even inside its duplicate window; the consumers'
        own idempotency is what keeps a replay from repeating effects. Contacts' events
        stored before sealing existed are sealed on the way.
        """
        codec = self._codec(str(data["conversation"]))
        if codec is not None:
            data = await codec.seal_data(data)
        return await self.publish_raw(
            self.naming.subject(str(data["type"]), str(data["conversation"])),
            json.dumps(data, separators=(",", ":")).encode(),
            event_id=f"replay:{replay_id}:{data['event_id']}",
            event_type=str(data["type"]),
            headers={"Hilo-Replay": "1"},
            timeout=timeout,
        )
