"""The consumer's delivery rules on real JetStream: order per conversation, no head-of-line
blocking across conversations, retries before later events, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import RawStreamMsg

from hilo.bus import EventBus, raise_if_cancelled
from hilo.consumer import BatchConsumer, Consumer, ConsumerSpec, Delivery, subject_matches
from hilo.privacy.codec import EventCodec
from hilo.settings import HiloSettings
from hilo.testing import eventually
from schemas import Event, MessageReceived

SLOW = "+573001110001"
FAST = "+573001110002"


def inbound(contact: str, text: str) -> MessageReceived:
    return MessageReceived(
        conversation=contact,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        text=text,
    )


@contextlib.asynccontextmanager
async def consuming(bus: EventBus, consumer: Consumer) -> AsyncIterator[None]:
    await bus.ensure_streams()
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        consumer.stop()
        await asyncio.wait_for(task, timeout=10)


async def test_a_failing_event_is_retried_before_the_later_events_of_its_conversation(
    bus: EventBus,
) -> None:
    handled: list[tuple[str, int]] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event, MessageReceived)
        handled.append((event.text or "", delivery.attempt))
        if event.text == "first" and delivery.attempt < 3:
            raise RuntimeError("provider down")

    spec = ConsumerSpec(durable="order", event_types=("message.received",), backoff=(0.3,))
    async with consuming(bus, Consumer(bus, spec, handler)):
        await bus.publish(inbound(SLOW, "first"))
        await eventually(lambda: _async(len(handled) >= 1))
        # Published while "first" waits for its retry: it arrives in a later fetch.
        await bus.publish(inbound(SLOW, "second"))
        await eventually(lambda: _async(("second", 1) in handled))
    assert handled == [("first", 1), ("first", 2), ("first", 3), ("second", 1)]


async def test_stopping_during_a_retry_hands_events_back_in_order(bus: EventBus) -> None:
    handled: list[str] = []
    failing = True

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event, MessageReceived)
        handled.append(event.text or "")
        if event.text == "first" and failing:
            raise RuntimeError("provider down")

    spec = ConsumerSpec(durable="stops", event_types=("message.received",), backoff=(0.5,))
    async with consuming(bus, Consumer(bus, spec, handler)):
        await bus.publish(inbound(SLOW, "first"))
        await bus.publish(inbound(SLOW, "second"))
        await eventually(lambda: _async(handled == ["first"]))
    failing = False
    handled.clear()
    async with consuming(bus, Consumer(bus, spec, handler)):
        await eventually(lambda: _async(len(handled) >= 2), timeout=15)
    assert handled == ["first", "second"]


async def test_a_slow_conversation_does_not_hold_the_others(bus: EventBus) -> None:
    release = asyncio.Event()
    fast_done: list[str] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        if event.conversation == SLOW:
            await release.wait()
        else:
            fast_done.append(event.event_id.hex)

    spec = ConsumerSpec(durable="slow", event_types=("message.received",), batch=4)
    async with consuming(bus, Consumer(bus, spec, handler)):
        await bus.publish(inbound(SLOW, "takes long"))
        for i in range(20):
            await bus.publish(inbound(FAST, f"quick {i}"))
        # Every fast event is handled while the slow one is still running.
        await eventually(lambda: _async(len(fast_done) == 20))
        release.set()


async def test_events_that_keep_failing_go_to_dead_letters(bus: EventBus) -> None:
    from hilo.dead_letters import read_dead_letters

    attempts: list[int] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        raise RuntimeError("always broken")

    spec = ConsumerSpec(
        durable="broken", event_types=("message.received",), max_deliver=3, backoff=(0.05,)
    )
    async with consuming(bus, Consumer(bus, spec, handler)):
        await bus.publish(inbound(SLOW, "doomed"))
        letters = await eventually(lambda: read_dead_letters(bus))
    assert attempts == [1, 2, 3]
    assert "always broken" in letters[0]["reason"]


async def _async(value: bool) -> bool:
    return value


async def test_after_a_crash_the_unacked_event_goes_before_its_conversations_next(
    bus: EventBus, settings: HiloSettings, codec: EventCodec
) -> None:
    """JetStream hands a crashed process's unacked event back only after ack_wait (30 s),
    the conversation's next event at once: the next process reads it from the stream first."""
    crashed = await EventBus.connect(settings.require_nats_url(), settings.namespace, codec=codec)
    in_hand = asyncio.Event()

    async def dies_holding_it(event: Event, delivery: Delivery) -> None:
        in_hand.set()
        await asyncio.Event().wait()  # never returns: the process dies with the event in hand

    spec = ConsumerSpec(durable="crash", event_types=("message.received",))
    await bus.ensure_streams()
    first = asyncio.create_task(Consumer(crashed, spec, dies_holding_it).run())
    await bus.publish(inbound(SLOW, "first"))
    await asyncio.wait_for(in_hand.wait(), 10)
    first.cancel()  # no ack, no nak: as kill -9 leaves it
    with contextlib.suppress(asyncio.CancelledError):
        await first
    await crashed.nc.close()
    await bus.publish(inbound(SLOW, "second"))

    handled: list[str] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event, MessageReceived)
        handled.append(event.text or "")

    async with consuming(bus, Consumer(bus, spec, handler)):
        await eventually(lambda: _async(len(handled) >= 2), timeout=15)
    assert handled[:2] == ["first", "second"]


async def test_an_unacked_event_that_fails_again_after_a_crash_still_goes_first(
    bus: EventBus, settings: HiloSettings, codec: EventCodec
) -> None:
    """The next process reads a crashed process's unacked events from the stream; if one
    fails again there (PostgreSQL still coming back), its conversation's next event waits
    for its retry instead of overtaking it (a reply sent before the one written first)."""
    crashed = await EventBus.connect(settings.require_nats_url(), settings.namespace, codec=codec)
    in_hand = asyncio.Event()

    async def dies_holding_them(event: Event, delivery: Delivery) -> None:
        in_hand.set()
        await asyncio.Event().wait()

    spec = ConsumerSpec(durable="crash-again", event_types=("message.received",), backoff=(0.05,))
    await bus.ensure_streams()
    first = asyncio.create_task(Consumer(crashed, spec, dies_holding_them).run())
    await bus.publish(inbound(SLOW, "first"))
    await asyncio.wait_for(in_hand.wait(), 10)
    await bus.publish(inbound(SLOW, "second"))  # queued behind "first" in the dying process
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    await crashed.nc.close()
    await bus.publish(inbound(SLOW, "third"))

    handled: list[str] = []
    failures: list[str] = []

    async def fails_once_on_first(event: Event, delivery: Delivery) -> None:
        assert isinstance(event, MessageReceived)
        text = event.text or ""
        if text == "first" and not failures:
            failures.append(text)
            raise ConnectionRefusedError("PostgreSQL is restarting")
        handled.append(text)

    async with consuming(bus, Consumer(bus, spec, fails_once_on_first)):
        await eventually(lambda: _async(len(handled) >= 3), timeout=15)
    assert failures == ["first"]
    assert handled[:3] == ["first", "second", "third"]


async def test_jetstream_slow_to_answer_after_a_crash_is_waited_out_in_order(
    bus: EventBus, settings: HiloSettings, codec: EventCodec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a crashed process's unacked events back while a NATS node restarts: a timed
    out read is asked again, not the end of the consumer (a partition consumer that died
    there left its conversations unanswered)."""
    crashed = await EventBus.connect(settings.require_nats_url(), settings.namespace, codec=codec)
    in_hand = asyncio.Event()

    async def dies_holding_it(event: Event, delivery: Delivery) -> None:
        in_hand.set()
        await asyncio.Event().wait()

    spec = ConsumerSpec(durable="crash-slow", event_types=("message.received",))
    await bus.ensure_streams()
    first = asyncio.create_task(Consumer(crashed, spec, dies_holding_it).run())
    await bus.publish(inbound(SLOW, "first"))
    await asyncio.wait_for(in_hand.wait(), 10)
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    await crashed.nc.close()
    await bus.publish(inbound(SLOW, "second"))

    real_get_msg = bus.js.get_msg
    timed_out: list[int] = []

    async def times_out_once(stream: str, seq: int) -> RawStreamMsg:
        if not timed_out:
            timed_out.append(seq)
            raise NatsTimeoutError  # what a read gives while the stream's leader is elected
        return await real_get_msg(stream, seq)

    handled: list[str] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event, MessageReceived)
        handled.append(event.text or "")

    monkeypatch.setattr(bus.js, "get_msg", times_out_once)
    async with consuming(bus, Consumer(bus, spec, handler)):
        await eventually(lambda: _async(len(handled) >= 2), timeout=15)
    assert timed_out
    assert handled[:2] == ["first", "second"]


async def test_a_partition_consumer_that_fails_is_started_again(
    bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partition's consumer whose JetStream call fails (a node restarting) runs again: the
    partition stays owned by this replica, and nothing else would consume it."""
    real_add_consumer = bus.js.add_consumer
    refused: list[str] = []

    async def refuses_once(*args: Any, **kwargs: Any) -> Any:
        if not refused:
            refused.append("add_consumer")
            raise NatsTimeoutError
        return await real_add_consumer(*args, **kwargs)

    handled: list[str] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event, MessageReceived)
        handled.append(event.text or "")

    await bus.ensure_streams()
    monkeypatch.setattr(bus.js, "add_consumer", refuses_once)
    spec = ConsumerSpec(durable="again", event_types=("message.received",))
    consumer = Consumer(bus, spec, handler)
    task = asyncio.create_task(consumer.run_until_stopped())
    await bus.publish(inbound(SLOW, "after the restart"))
    await eventually(lambda: _async(handled == ["after the restart"]), timeout=15)
    consumer.stop()
    await asyncio.wait_for(task, timeout=10)
    assert refused == ["add_consumer"]


async def test_a_cancellation_swallowed_on_the_way_is_raised_at_the_next_turn() -> None:
    """nats-py's publish (under every ack and fetch) catches CancelledError and returns: a
    consumer cancelled there ran on, fetching and acking after its service stopped it."""

    waiting = asyncio.Event()

    async def loop_that_publishes() -> None:
        while True:
            raise_if_cancelled()
            waiting.set()
            # What nats.aio.client.Client._flush_pending does.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()

    task = asyncio.create_task(loop_that_publishes())
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_a_failed_batch_is_retried_before_anything_newer_is_fetched(bus: EventBus) -> None:
    """The recorder's way: a batch that fails (PostgreSQL away) is tried again in place. A
    nak would leave room under max_ack_pending, the server would hand the newer events over
    at once, and the store would take them before the older ones."""
    stored: list[str] = []
    failed = asyncio.Event()

    async def store_once_back(msgs: Sequence[Msg]) -> Sequence[tuple[Msg, str]]:
        texts = [await _text(bus, msg) for msg in msgs]
        if "first" in texts and not failed.is_set():
            failed.set()
            raise ConnectionRefusedError("PostgreSQL is restarting")
        stored.extend(texts)
        return []

    spec = ConsumerSpec(
        durable="batches",
        event_types=("message.received",),
        batch=8,
        max_ack_pending=8,
        backoff=(0.5,),
    )
    consumer = BatchConsumer(bus, spec, store_once_back)
    async with consuming(bus, consumer):
        await bus.publish(inbound(SLOW, "first"))
        await asyncio.wait_for(failed.wait(), 10)
        for n in range(3):
            await bus.publish(inbound(f"+5730011130{n:02d}", f"later {n}"))
        await eventually(lambda: _async(len(stored) >= 4))
    assert stored == ["first", "later 0", "later 1", "later 2"]


async def _text(bus: EventBus, msg: Msg) -> str:
    event = await bus.decode(msg.data)  # sealed on the bus
    assert isinstance(event, MessageReceived)
    return event.text or ""


def test_subject_matching_follows_nats() -> None:
    assert subject_matches("ns.message.received.>", "ns.message.received.3461.2")
    assert not subject_matches("ns.message.received.>", "ns.message.received")
    assert subject_matches("ns.*.*.3", "ns.reply.ready.3461.3") is False
    assert subject_matches("ns.*.*.*.3", "ns.reply.ready.3461.3")
    assert not subject_matches("ns.*.*", "ns.reply.ready.3461")


async def test_a_delivery_lost_with_the_connection_goes_before_its_conversations_next(
    bus: EventBus, settings: HiloSettings, codec: EventCodec
) -> None:
    """When the connection breaks as the server hands an event over, the server counts it
    delivered and gives it back only after ack_wait (30 s), while the conversation's next
    event comes at once: after reconnecting, the consumer reads it from the stream first."""
    spec = ConsumerSpec(durable="lost", event_types=("message.received",), batch=1)
    gate = asyncio.Event()
    blocked: list[str] = []
    handled: list[str] = []

    async def handler(event: Event, delivery: Delivery) -> None:
        assert isinstance(event, MessageReceived)
        if (event.text or "").startswith("busy"):
            blocked.append(event.text or "")
            await gate.wait()
        handled.append(event.text or "")

    other = await EventBus.connect(settings.require_nats_url(), settings.namespace, codec=codec)
    try:
        async with consuming(bus, Consumer(bus, spec, handler)):
            # Four conversations keep the consumer's hands full (batch 1 holds at most 4),
            # so the next delivery can be taken from it, as a broken connection would.
            for n in range(4):
                await bus.publish(inbound(f"+5730011120{n:02d}", f"busy {n}"))
            await eventually(lambda: _async(len(blocked) == 4))
            lost = await other.js.pull_subscribe_bind(
                bus.naming.durable("lost"), stream=bus.naming.events_stream
            )
            await bus.publish(inbound(SLOW, "first"))
            [taken] = await lost.fetch(1, timeout=10)  # delivered, never acked: lost
            await bus.publish(inbound(SLOW, "second"))
            before = bus.nc.stats["reconnects"]
            await bus.nc.force_reconnect()
            await eventually(lambda: _async(bus.nc.stats["reconnects"] > before))
            gate.set()
            await eventually(lambda: _async({"first", "second"} <= set(handled)), timeout=20)
        assert [t for t in handled if not t.startswith("busy")][:2] == ["first", "second"]
        assert taken.metadata.sequence.stream > 0
    finally:
        await other.close()
