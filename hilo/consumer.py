"""Durable JetStream consumers with explicit ack, bounded redelivery and dead letters.

A consumer fetches continuously and hands each conversation's events to one
worker, in order, while different conversations run side by side. An event is
acked only after its handler returned; a failing handler gets the event again
after a growing delay (before anything later in its conversation), and after
``max_deliver`` attempts the event goes to the dead-letter stream with the
reason (not while PostgreSQL or the network is merely away: that is waited out).

A crashed process's unacked events come back after ``ack_wait``, later than the newer
events of their conversations: so the next process of the consumer reads them from the
stream (``_in_flight``) and queues them ahead of everything it fetches, each in its
conversation's queue, where they are handled (and retried) like any delivery; their
redelivery is then acked unhandled. The same is done after a reconnection, for a delivery
lost with the connection.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar, cast

import asyncpg
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RawStreamMsg
from nats.js.errors import NotFoundError
from prometheus_client import Counter, Histogram

from hilo.bus import EventBus, raise_if_cancelled
from hilo.privacy.sealing import ForgottenEvent
from schemas import Event, EventDecodeError

log = logging.getLogger(__name__)

T = TypeVar("T")

HANDLED = Counter(
    "hilo_events_handled_total", "Events handled by consumers", ["consumer", "type", "outcome"]
)
# Past this many events between the ack floor and the last delivery, in-flight events are left
# to JetStream's redelivery rather than read one by one.
MAX_IN_FLIGHT_SCAN = 10_000
HANDLE_SECONDS = Histogram("hilo_handler_seconds", "Time spent in one handler call", ["consumer"])


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help: the event goes to dead letters now."""


@dataclass(frozen=True)
class Delivery:
    subject: str
    stream_sequence: int
    attempt: int
    replayed: bool
    # The durable consumer that delivered it: the key of its tracking records.
    consumer: str = ""


Handler = Callable[[Event, Delivery], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    durable: str
    event_types: tuple[str, ...] = ()  # empty: every event in the stream
    max_deliver: int = 6
    backoff: tuple[float, ...] = (1.0, 2.0, 5.0, 15.0, 60.0)
    ack_wait: float = 30.0
    max_ack_pending: int = 2000
    batch: int = 128
    deliver_new_only: bool = False
    per_conversation_order: bool = True
    extra: dict[str, str] = field(default_factory=dict)
    # One partition of a partitioned stream (hilo/partitions.py): its own durable consumer,
    # consumed by one replica at a time. None: the whole stream.
    partition: int | None = None

    def for_partition(self, partition: int) -> ConsumerSpec:
        return replace(self, durable=f"{self.durable}-p{partition}", partition=partition)


class Consumer:
    def __init__(self, bus: EventBus, spec: ConsumerSpec, handler: Handler) -> None:
        self.bus = bus
        self.spec = spec
        self.handler = handler
        self.durable = bus.naming.durable(spec.durable)
        self._stopping = asyncio.Event()
        self._filters: list[str] = []
        # Stream sequences handled from the stream at start-up: their redelivery is acked.
        self._recovered: set[int] = set()

    async def declare(self) -> None:
        """Create or update the durable consumer; idempotent."""
        naming = self.bus.naming
        partition = self.spec.partition
        types: list[str | None] = list(self.spec.event_types) or [None]
        if partition is None:
            filters = [naming.type_filter(t) for t in self.spec.event_types]
        else:
            filters = [naming.partition_filter(t, partition) for t in types]
            if partition == 0:  # what was stored before the stream was partitioned
                filters += [naming.unpartitioned_filter(t) for t in types]
        self._filters = filters
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.NEW if self.spec.deliver_new_only else DeliverPolicy.ALL,
            ack_wait=self.spec.ack_wait,
            max_deliver=self.spec.max_deliver,
            # No server-side BackOff: nats-server then replaces ack_wait with its first step, and
            # a handler slower than that step would be redelivered while still running. Naks
            # carry our back-off; a crashed handler's messages come back after ack_wait.
            max_ack_pending=self.spec.max_ack_pending,
        )
        if len(filters) == 1:
            config.filter_subject = filters[0]
        elif filters:
            config.filter_subjects = filters
        await self.bus.js.add_consumer(naming.events_stream, config)

    def stop(self) -> None:
        self._stopping.set()

    async def run_until_stopped(self) -> None:
        """:meth:`run`, started again when it fails (JetStream away for longer than a call
        waits), as a supervisor restarts a process. For a partition's consumer: the partition
        stays this replica's, and a consumer that died with it would leave its conversations
        unanswered while the service looked healthy. Unacked events are read back first."""
        while True:
            try:
                await self.run()
                return
            except Exception as exc:
                if self._stopping.is_set():
                    return
                log.warning("%s stopped (%r); starting it again", self.durable, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=1.0)

    async def _in_flight(self) -> list[RawStreamMsg]:
        """What a previous process of this consumer was given and never acked (it crashed),
        in stream order. JetStream hands it back only after ``ack_wait`` but the newer events
        of the same conversations at once: handled first, they keep each conversation in
        order through a crash (a reply after a call's opener is not sent before it)."""
        stream = self.bus.naming.events_stream
        # Without the consumer's state nothing fetched can be known to come after what was in
        # flight: wait for it (JetStream answers a few seconds after a restart).
        info = await self._waiting_out(
            "consumer info", lambda: self.bus.js.consumer_info(stream, self.durable)
        )
        if info is None:
            return []
        first, last = info.ack_floor.stream_seq + 1, info.delivered.stream_seq
        if not info.num_ack_pending or last < first:
            return []
        if last - first >= MAX_IN_FLIGHT_SCAN:
            log.warning(
                "%s: %d events since the ack floor, left to redelivery",
                self.durable,
                last - first + 1,
            )
            return []
        found = []
        for sequence in range(first, last + 1):
            raw = await self._waiting_out(
                f"event {sequence}", functools.partial(self.bus.js.get_msg, stream, sequence)
            )
            if raw is None and self._stopping.is_set():
                return []
            if raw is not None and raw.subject and self._wants(raw.subject):
                found.append(raw)
        return found

    async def _waiting_out(self, what: str, ask: Callable[[], Awaitable[T]]) -> T | None:
        """JetStream's answer, however long a node restart or leader election takes; None
        when it has none (NotFoundError: acked and removed, or past retention) or on stop."""
        while True:
            try:
                return await ask()
            except NotFoundError:
                return None
            except Exception as exc:
                if self._stopping.is_set():
                    return None
                log.warning("%s: no %s from JetStream yet, waiting: %r", self.durable, what, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=1.0)

    def _wants(self, subject: str) -> bool:
        return not self._filters or any(subject_matches(f, subject) for f in self._filters)

    async def _recovered_deliveries(self) -> list[Msg]:
        """The in-flight events, as deliveries to queue ahead of anything fetched."""
        return [cast(Msg, _StoredDelivery(raw, self._recovered)) for raw in await self._in_flight()]

    async def _done_already(self, msg: Msg) -> bool:
        """A redelivery of an event recovered from the stream: acked, not handled again."""
        if isinstance(msg, _StoredDelivery):
            return False
        sequence = msg.metadata.sequence.stream
        if sequence not in self._recovered:
            return False
        self._recovered.discard(sequence)
        await _quietly(msg.ack())
        return True

    async def run(self) -> None:
        """Fetch continuously; each conversation's events go through one worker, in order.

        There is no barrier between fetches: a conversation whose handler is slow or
        failing holds only its own later events, while the others keep flowing. A failed
        event is retried here, after the back-off delay, before anything after it in its
        conversation (a ``nak`` would let newer events of the conversation overtake it).
        """
        await self.declare()
        sub = await self.bus.js.pull_subscribe_bind(
            self.durable, stream=self.bus.naming.events_stream
        )
        # Unacked events held here; at most this many, and never more than the server allows.
        limit = max(1, min(self.spec.max_ack_pending, self.spec.batch * 4))
        held: dict[int, Msg] = {}
        queues: dict[str, collections.deque[Msg]] = {}
        workers: dict[str, asyncio.Task[None]] = {}
        room = asyncio.Event()
        room.set()
        keepalive = asyncio.create_task(self._keep_alive_held(held))

        async def work(key: str) -> None:
            queue = queues[key]
            try:
                while queue:
                    raise_if_cancelled()
                    msg = queue[0]
                    if await self._done_already(msg):
                        pass  # its recovered copy, ahead of it in this queue, was handled
                    elif self._stopping.is_set():
                        # Handed back in order; another replica or the restart takes them.
                        await _quietly(msg.nak())
                    else:
                        await self._handle_with_retries(msg)
                    queue.popleft()
                    held.pop(id(msg), None)
                    room.set()
            finally:
                del queues[key]
                del workers[key]

        def hold(msgs: Sequence[Msg]) -> None:
            for msg in msgs:
                key = self._order_key(msg)
                held[id(msg)] = msg
                queues.setdefault(key, collections.deque()).append(msg)
                if key not in workers:
                    workers[key] = asyncio.create_task(work(key))

        reconnects = self._reconnects()
        try:
            hold(await self._recovered_deliveries())
            while not self._stopping.is_set():
                raise_if_cancelled()
                if self._reconnects() != reconnects:
                    # A delivery the server made while the connection broke never reached us;
                    # it would come back only after ack_wait, behind its conversation's newer
                    # events. Once what we hold is done, read it from the stream first.
                    reconnects = self._reconnects()
                    await self._all_done(held, room)
                    hold(await self._recovered_deliveries())
                if len(held) >= limit:
                    room.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(room.wait(), timeout=1.0)
                    continue
                try:
                    msgs = await sub.fetch(min(self.spec.batch, limit - len(held)), timeout=1.0)
                except (TimeoutError, NatsTimeoutError):
                    continue
                except Exception as exc:  # connection trouble: wait and try again
                    log.warning("%s: fetch failed: %r", self.durable, exc)
                    await asyncio.sleep(0.5)
                    continue
                hold([msg for msg in msgs if not await self._done_already(msg)])
            if workers:
                await asyncio.gather(*workers.values(), return_exceptions=True)
        finally:
            keepalive.cancel()
            for task in list(workers.values()):
                task.cancel()
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    def _reconnects(self) -> int:
        return int(self.bus.nc.stats["reconnects"])

    async def _all_done(self, held: dict[int, Msg], room: asyncio.Event) -> None:
        while held and not self._stopping.is_set():
            room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(room.wait(), timeout=1.0)

    def _order_key(self, msg: Msg) -> str:
        if self.spec.per_conversation_order:
            return self.bus.naming.conversation_of(msg.subject)
        return f"seq:{msg.metadata.sequence.stream}"

    def _delay_for(self, msg: Msg, attempt: int | None = None) -> float:
        attempt = attempt or msg.metadata.num_delivered or 1
        return self.spec.backoff[min(attempt - 1, len(self.spec.backoff) - 1)]

    async def _handle_with_retries(self, msg: Msg) -> None:
        """Handle until done, or until stopping: then hand it back at once.

        Without a delay: JetStream redelivers handed-back events before any new one, in
        order, while a delayed ``nak`` would let the conversation's next (never fetched)
        event reach the next consumer first.
        """
        attempt = msg.metadata.num_delivered or 1
        while not await self._handle_one(msg, attempt):
            raise_if_cancelled()
            delay = self._delay_for(msg, attempt)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            if self._stopping.is_set():
                await _quietly(msg.nak())
                return
            attempt += 1

    async def _handle_one(self, msg: Msg, attempt: int) -> bool:
        """Handle one message; True when it is done with (acked or dead-lettered)."""
        meta = msg.metadata
        event_type = self.bus.naming.event_type_of(msg.subject)
        try:
            event = await self.bus.decode(msg.data)
        except EventDecodeError as exc:
            await self._dead_letter(msg, f"undecodable: {exc}", attempt)
            HANDLED.labels(self.spec.durable, event_type, "dead_letter").inc()
            return True
        except Exception as exc:  # the keys could not be read (PostgreSQL away): try again
            log.warning("%s: cannot open %s yet: %r", self.durable, event_type, exc)
            HANDLED.labels(self.spec.durable, event_type, "retry").inc()
            return False
        if isinstance(event, ForgottenEvent):
            # The contact was forgotten: nothing of the event can be read, nothing to do.
            await msg.ack()
            HANDLED.labels(self.spec.durable, event_type, "forgotten").inc()
            return True
        delivery = Delivery(
            subject=msg.subject,
            stream_sequence=meta.sequence.stream,
            attempt=attempt,
            replayed=bool(msg.headers and msg.headers.get("Hilo-Replay")),
            consumer=self.spec.durable,
        )
        started = time.perf_counter()
        try:
            await self.handler(event, delivery)
        except PermanentFailure as exc:
            await self._dead_letter(msg, f"permanent failure: {exc}", attempt)
            HANDLED.labels(self.spec.durable, event_type, "dead_letter").inc()
            return True
        except Exception as exc:
            if attempt >= self.spec.max_deliver and not _unavailable(exc):
                log.exception(
                    "%s: giving up on %s after %d attempts", self.durable, event_type, attempt
                )
                await self._dead_letter(msg, f"failed {attempt} times: {exc!r}", attempt)
                HANDLED.labels(self.spec.durable, event_type, "dead_letter").inc()
                return True
            log.warning("%s: %s failed (attempt %d): %r", self.durable, event_type, attempt, exc)
            HANDLED.labels(self.spec.durable, event_type, "retry").inc()
            return False
        finally:
            HANDLE_SECONDS.labels(self.spec.durable).observe(time.perf_counter() - started)
        await msg.ack()
        HANDLED.labels(self.spec.durable, event_type, "ok").inc()
        return True

    async def _keep_alive_held(self, held: dict[int, Msg]) -> None:
        """Tell JetStream that events held here (running or queued) are not lost."""
        while True:
            raise_if_cancelled()
            await asyncio.sleep(self.spec.ack_wait / 3)
            for msg in list(held.values()):
                await _quietly(msg.in_progress())

    async def _dead_letter(self, msg: Msg, reason: str, attempt: int) -> None:
        headers = {
            "Hilo-Dead-Reason": reason[:1000],
            "Hilo-Consumer": self.spec.durable,
            "Hilo-Deliveries": str(attempt),
            "Hilo-Stream-Sequence": str(msg.metadata.sequence.stream),
            "Hilo-Original-Subject": msg.subject,
        }
        await self.bus.publish_raw(
            self.bus.naming.dead_letter_subject(self.spec.durable, msg.subject),
            msg.data,
            event_id=f"dlq:{self.spec.durable}:{msg.metadata.sequence.stream}",
            event_type="dead_letter",
            headers=headers,
        )
        await msg.term()


class _StoredDelivery:
    """An in-flight event read from the stream, queued and handled like a delivery.

    The server still holds its real delivery, unacked, and hands it back after ack_wait:
    acking or dead-lettering this copy notes its sequence, so that the redelivery is acked
    unhandled (``Consumer._done_already``); a nak leaves that redelivery to retry it.
    """

    def __init__(self, raw: RawStreamMsg, recovered: set[int]) -> None:
        self.subject = raw.subject or ""
        self.data = raw.data or b""
        self.headers = raw.headers
        sequence = raw.seq or 0
        # Delivered once already, to the process that crashed or lost the connection.
        self.metadata = Msg.Metadata(
            sequence=Msg.Metadata.SequencePair(consumer=0, stream=sequence),
            num_pending=0,
            num_delivered=2,
            timestamp=datetime.now(UTC),
            stream=raw.stream or "",
            consumer="",
        )
        self._recovered = recovered

    async def ack(self) -> None:
        self._recovered.add(self.metadata.sequence.stream)

    async def term(self) -> None:
        self._recovered.add(self.metadata.sequence.stream)

    async def nak(self, delay: float | None = None) -> None:
        pass

    async def in_progress(self) -> None:
        pass


BatchHandler = Callable[[Sequence[Msg]], Awaitable[Sequence[tuple[Msg, str]]]]


class BatchConsumer(Consumer):
    """Hands whole batches, in stream order, to one handler (the recorder's way).

    The handler returns the messages it rejects with a reason; those go to the
    dead-letter stream, the rest are acked. If the handler raises, the same batch is
    tried again in place after the back-off delay, and nothing newer is fetched until
    it is through: a nak would let the server hand over newer events first (it has room
    for them under max_ack_pending), and the store would take them out of order.
    """

    def __init__(self, bus: EventBus, spec: ConsumerSpec, handler: BatchHandler) -> None:
        super().__init__(bus, spec, _never_called)
        self.batch_handler = handler

    async def run(self) -> None:
        await self.declare()
        sub = await self.bus.js.pull_subscribe_bind(
            self.durable, stream=self.bus.naming.events_stream
        )
        reconnects = self._reconnects()
        try:
            # The crashed process's batch first, read from the stream.
            await self.handle_batch(await self._recovered_deliveries())
            while not self._stopping.is_set():
                raise_if_cancelled()
                if self._reconnects() != reconnects:  # a batch lost with the connection first
                    reconnects = self._reconnects()
                    await self.handle_batch(await self._recovered_deliveries())
                try:
                    msgs = await sub.fetch(self.spec.batch, timeout=1.0)
                except (TimeoutError, NatsTimeoutError):
                    continue
                except Exception as exc:  # connection trouble: wait and try again
                    log.warning("%s: fetch failed: %r", self.durable, exc)
                    await asyncio.sleep(0.5)
                    continue
                fresh = [msg for msg in msgs if not await self._done_already(msg)]
                await self.handle_batch(fresh)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def handle_batch(self, msgs: Sequence[Msg]) -> None:
        """Until the batch is through: acked, dead-lettered, or handed back on stopping."""
        if not msgs:
            return
        keepalive = asyncio.create_task(self._keep_alive_held({id(m): m for m in msgs}))
        try:
            attempt = 1
            while not await self._handle_batch_once(msgs, attempt):
                raise_if_cancelled()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._delay_for(msgs[0], attempt))
                if self._stopping.is_set():
                    for msg in msgs:  # back in order, before anything newer
                        await _quietly(msg.nak())
                    return
                attempt += 1
        finally:
            keepalive.cancel()

    async def _handle_batch_once(self, msgs: Sequence[Msg], attempt: int) -> bool:
        started = time.perf_counter()
        try:
            rejected = await self.batch_handler(msgs)
        except Exception as exc:
            if attempt < self.spec.max_deliver or _unavailable(exc):
                log.warning(
                    "%s: batch of %d failed (attempt %d): %r", self.durable, len(msgs), attempt, exc
                )
                return False
            for msg in msgs:
                await self._dead_letter(msg, f"failed {attempt} times: {exc!r}", attempt)
            return True
        finally:
            HANDLE_SECONDS.labels(self.spec.durable).observe(time.perf_counter() - started)
        reasons = {id(msg): reason for msg, reason in rejected}
        for msg in msgs:
            event_type = self.bus.naming.event_type_of(msg.subject)
            reason = reasons.get(id(msg))
            if reason is None:
                await _quietly(msg.ack())
                HANDLED.labels(self.spec.durable, event_type, "ok").inc()
            else:
                await self._dead_letter(msg, reason, attempt)
                HANDLED.labels(self.spec.durable, event_type, "dead_letter").inc()
        return True


def _unavailable(exc: Exception) -> bool:
    """PostgreSQL or the network away: waiting helps, however long it takes."""
    return isinstance(
        exc,
        # Not every OSError: a missing file would be waited for forever.
        ConnectionError
        | asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        # Shutting down, starting up, a backend terminated by an administrator.
        | asyncpg.OperatorInterventionError,
    )


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, ``>`` one or more at the end."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for n, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > n
        if n >= len(tokens) or token not in ("*", tokens[n]):
            return False
    return len(wanted) == len(tokens)


async def _quietly(operation: Awaitable[None]) -> None:
    with contextlib.suppress(Exception):
        await operation


async def _never_called(event: Event, delivery: Delivery) -> None:
    raise AssertionError("BatchConsumer dispatches batches, not single events")
