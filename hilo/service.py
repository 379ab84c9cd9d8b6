"""The runtime every Hilo service shares: NATS, PostgreSQL, consumers and HTTP.

A service declares its handlers and routes; :meth:`Service.run` connects,
declares streams and consumers, applies migrations, serves ``/healthz``,
``/readyz`` and ``/metrics`` (plus the service's own routes) and runs until
told to stop. The wiring is the same for every service so that operators can
deploy each one alone with nothing but ``HILO_NATS_URL`` and
``HILO_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import uvicorn
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from hilo.bus import EventBus, Published
from hilo.consumer import BatchConsumer, BatchHandler, Consumer, ConsumerSpec, Delivery
from hilo.outbox import Outbox, Transaction
from hilo.partitions import PartitionOwner
from hilo.privacy.codec import EventCodec, codec_for
from hilo.privacy.master import master_key
from hilo.settings import HiloSettings
from hilo.store.eventstore import create_pool
from hilo.store.migrations import migrate
from schemas import Event

log = logging.getLogger(__name__)

# How long a stopping service waits for its consumers to finish the batch in hand.
STOP_GRACE_SECONDS = 5.0
# How long a cancelled task may take to clean up before it is cancelled again.
CANCEL_GRACE_SECONDS = 30.0

PUBLISHED = Counter("hilo_events_published_total", "Events published", ["service", "type"])

E = TypeVar("E", bound=Event)
Hook = Callable[["Runtime"], Awaitable[None]]
Background = Callable[["Runtime"], Coroutine[Any, Any, None]]
BatchFactory = Callable[["Runtime"], BatchHandler]


@dataclass
class Runtime:
    """What a running service has at hand; handlers receive it with each event."""

    service: str
    settings: HiloSettings
    bus: EventBus
    db: asyncpg.Pool
    outbox: Outbox
    # Seals and opens contacts' events (the bus and the outbox use it too).
    codec: EventCodec
    # Whatever the service's start-up hook prepared (a model, an HTTP client…).
    state: dict[str, Any] = field(default_factory=dict)

    async def publish(self, event: Event) -> Published:
        published = await self.bus.publish(event)
        PUBLISHED.labels(self.service, event.type).inc()
        return published

    def transaction(
        self, consumer: str | None = None, event_id: Any = None
    ) -> contextlib.AbstractAsyncContextManager[Transaction]:
        """State, tracking record and outbox rows in one transaction (hilo/outbox.py)."""
        return self.outbox.transaction(consumer, event_id)


@dataclass(frozen=True)
class Context:
    """One handler call: the runtime plus how this event was delivered."""

    runtime: Runtime
    delivery: Delivery
    # The event being handled: what ``transaction().track()`` records.
    event_id: Any = None

    @property
    def db(self) -> asyncpg.Pool:
        return self.runtime.db

    @property
    def state(self) -> dict[str, Any]:
        return self.runtime.state

    async def publish(self, event: Event) -> Published:
        return await self.runtime.publish(event)

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Transaction]:
        """A transaction whose ``track()`` records this event for this consumer."""
        return self.runtime.transaction(self.delivery.consumer, self.event_id)


TypedHandler = Callable[[Any, Context], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    spec: ConsumerSpec
    handler: TypedHandler
    accepts: tuple[type[Event], ...]


class ServiceTaskFailed(RuntimeError):
    """One of a running service's tasks ended with an error: the process exits to restart."""


class Service:
    def __init__(self, name: str) -> None:
        self.name = name
        self.router = APIRouter()
        self.subscriptions: list[Subscription] = []
        self.startup_hooks: list[Hook] = []
        self.shutdown_hooks: list[Hook] = []
        self.background_tasks: list[Background] = []
        self.batch_consumers: list[tuple[ConsumerSpec, BatchFactory]] = []
        self.runtime: Runtime | None = None
        self.http_port: int | None = None
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        # What `running` started: consumers, the outbox relay, background tasks, HTTP.
        self._tasks: list[asyncio.Task[None]] = []

    # --- declaring -------------------------------------------------------
    def subscriber(
        self, *event_classes: type[Event], durable: str | None = None, **spec: Any
    ) -> Callable[[TypedHandler], TypedHandler]:
        """Handle events of these classes on a durable consumer named for the service."""

        def decorate(fn: TypedHandler) -> TypedHandler:
            consumer_spec = ConsumerSpec(
                durable=durable or f"{self.name}-{fn.__name__}".replace("_", "-"),
                event_types=tuple(c.event_type() for c in event_classes),
                **spec,
            )
            self.subscriptions.append(Subscription(consumer_spec, fn, tuple(event_classes)))
            return fn

        return decorate

    def batch_subscriber(self, spec: ConsumerSpec) -> Callable[[BatchFactory], BatchFactory]:
        """Handle whole batches in stream order; the factory builds the handler at start-up."""

        def decorate(factory: BatchFactory) -> BatchFactory:
            self.batch_consumers.append((spec, factory))
            return factory

        return decorate

    def on_startup(self, fn: Hook) -> Hook:
        self.startup_hooks.append(fn)
        return fn

    def on_shutdown(self, fn: Hook) -> Hook:
        self.shutdown_hooks.append(fn)
        return fn

    def background(self, fn: Background) -> Background:
        """A long-running task started with the service and cancelled when it stops."""
        self.background_tasks.append(fn)
        return fn

    # --- running ---------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def http_app(self) -> FastAPI:
        app = FastAPI(title=f"hilo {self.name}")

        @app.get("/healthz")
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": self.name}

        @app.get("/readyz")
        async def readyz() -> Response:
            problems = await self.readiness_problems()
            body = {"status": "ready" if not problems else "unready", "problems": problems}
            return JSONResponse(body, status_code=200 if not problems else 503)

        @app.get("/metrics")
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        app.include_router(self.router)
        app.state.service = self
        return app

    async def readiness_problems(self) -> list[str]:
        runtime = self.runtime
        if runtime is None or not self.ready.is_set():
            return ["starting"]
        problems = []
        if not runtime.bus.connected:
            problems.append("nats unreachable")
        try:
            async with runtime.db.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
        except Exception:
            problems.append("postgres unreachable")
        return problems

    @contextlib.asynccontextmanager
    async def running(
        self, settings: HiloSettings | None = None, *, http: bool = True
    ) -> AsyncIterator[Runtime]:
        """Start everything, yield the runtime, and stop cleanly on exit (used by tests too)."""
        settings = settings or HiloSettings()
        master = master_key(settings)  # before anything starts: no key, no service
        bus = await EventBus.connect(
            settings.require_nats_url(), settings.namespace, name=f"hilo-{self.name}"
        )
        db = await create_pool(
            settings.require_database_url(),
            min_size=1,
            max_size=8,
            application_name=f"hilo-{self.name}",
        )
        # The keyring's own connections: a handler seals inside its transaction, which holds
        # one of ``db``'s; waiting on ``db`` for a key could deadlock a busy service.
        # One at most, closed when idle: keys are cached, so it is seldom used, and a stack's
        # processes share the server's connections (plus one each to hear of destroyed keys).
        keys_db = await create_pool(
            settings.require_database_url(),
            min_size=0,
            max_size=1,
            idle_seconds=30.0,
            application_name=f"hilo-{self.name}-keys",
        )
        codec = codec_for(master, keys_db)
        bus.codec = codec
        runtime = Runtime(self.name, settings, bus, db, Outbox(self.name, db, bus), codec)
        self.runtime = runtime
        tasks: list[asyncio.Task[None]] = []
        self._tasks = tasks
        server: uvicorn.Server | None = None
        consumers: list[Consumer] = []
        try:
            async with db.acquire() as conn:
                await migrate(conn)
            # A destroyed key is dropped from this process's cache as soon as it is destroyed.
            await codec.keyring.listen(settings.require_database_url())
            await bus.ensure_streams(
                partitions=settings.partitions,
                replicas=settings.stream_replicas,
                max_age_days=settings.stream_max_age_days,
            )
            for hook in self.startup_hooks:
                await hook(runtime)
            for sub in self.subscriptions:
                if settings.partitions > 0:
                    # Replicas share the partitions (hilo/partitions.py); each partition's
                    # consumer runs only while this replica holds its lock.
                    owner = PartitionOwner(
                        settings.require_database_url(),
                        bus.naming.durable(sub.spec.durable),
                        settings.partitions,
                        self._partition_starter(sub, runtime),
                        interval=settings.rebalance_seconds,
                    )
                    tasks.append(asyncio.create_task(owner.run(), name=f"owner-{sub.spec.durable}"))
                    continue
                consumer = Consumer(bus, sub.spec, self._bind(sub, runtime))
                await consumer.declare()
                consumers.append(consumer)
                tasks.append(asyncio.create_task(consumer.run(), name=sub.spec.durable))
            for spec, factory in self.batch_consumers:
                batch_consumer = BatchConsumer(bus, spec, factory(runtime))
                await batch_consumer.declare()
                consumers.append(batch_consumer)
                tasks.append(asyncio.create_task(batch_consumer.run(), name=spec.durable))
            # Rows a previous run committed but did not publish go out first.
            tasks.append(asyncio.create_task(runtime.outbox.relay(), name="outbox-relay"))
            for background in self.background_tasks:
                tasks.append(asyncio.create_task(background(runtime), name=background.__name__))
            if http:
                server = await self._start_http(settings, tasks)
            self.ready.set()
            yield runtime
        finally:
            self.ready.clear()
            for consumer in consumers:
                consumer.stop()
            # Let consumers finish the batch in hand and end their pending fetch: a fetch
            # cancelled in flight leaves messages unacked until ack_wait, and they would
            # then arrive after newer ones.
            consumer_tasks = [
                t for t in tasks if t.get_name() in {c.spec.durable for c in consumers}
            ]
            if consumer_tasks:
                await asyncio.wait(consumer_tasks, timeout=STOP_GRACE_SECONDS)
            if server is not None:
                server.should_exit = True
            await _cancel_until_done([t for t in tasks if not t.get_name().startswith("http")])
            await asyncio.gather(*tasks, return_exceptions=True)
            for hook in self.shutdown_hooks:
                with contextlib.suppress(Exception):
                    await hook(runtime)
            # NATS may be down at this point (drain then raises); the pool still gets closed.
            with contextlib.suppress(Exception):
                await bus.close()
            await codec.keyring.close()
            await keys_db.close()
            await db.close()
            self.runtime = None

    async def _start_http(self, settings: HiloSettings, tasks: list[asyncio.Task[None]]) -> Any:
        config = uvicorn.Config(
            self.http_app(),
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        server = uvicorn.Server(config)
        # The process owner (``hilo serve``/``hilo up``) handles signals, not uvicorn.
        setattr(server, "capture_signals", contextlib.nullcontext)  # noqa: B010
        tasks.append(asyncio.create_task(server.serve(), name="http"))
        while not server.started:
            if tasks[-1].done():
                await tasks[-1]  # surfaces a bind error
                raise RuntimeError(f"{self.name}: HTTP server stopped during start-up")
            await asyncio.sleep(0.01)
        self.http_port = server.servers[0].sockets[0].getsockname()[1]
        return server

    async def serve_forever(self, settings: HiloSettings | None = None) -> None:
        async with self.running(settings):
            log.info("%s ready on port %s", self.name, self.http_port)
            stop = asyncio.create_task(self._stop.wait())
            # A task that died (a background loop, a consumer, the relay) would leave the
            # process up, answering /readyz, with part of its work stopped for good. Exit
            # instead, so that the supervisor (`hilo up`, Kubernetes) starts it afresh.
            waiting: set[asyncio.Task[Any]] = {stop, *self._tasks}
            while stop in waiting:
                done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                failed = [t for t in done if t is not stop and not t.cancelled() and t.exception()]
                if failed and not self._stop.is_set():
                    stop.cancel()
                    raise ServiceTaskFailed(
                        f"{self.name}: {failed[0].get_name()} stopped"
                    ) from failed[0].exception()

    def _partition_starter(
        self, sub: Subscription, runtime: Runtime
    ) -> Callable[[int], Awaitable[Callable[[], Awaitable[None]]]]:
        async def start(partition: int) -> Callable[[], Awaitable[None]]:
            consumer = Consumer(
                runtime.bus, sub.spec.for_partition(partition), self._bind(sub, runtime)
            )
            await consumer.declare()
            task = asyncio.create_task(consumer.run_until_stopped(), name=consumer.spec.durable)

            async def stop() -> None:
                consumer.stop()
                # The event in hand is finished, the queued ones handed back in order.
                await asyncio.wait([task], timeout=STOP_GRACE_SECONDS)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

            return stop

        return start

    def _bind(
        self, sub: Subscription, runtime: Runtime
    ) -> Callable[[Event, Delivery], Awaitable[None]]:
        async def handle(event: Event, delivery: Delivery) -> None:
            if sub.accepts and not isinstance(event, sub.accepts):
                return  # an event type this handler does not know (e.g. from a newer publisher)
            await sub.handler(event, Context(runtime, delivery, event.event_id))

        return handle


async def _cancel_until_done(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel, and again while any runs on long after: nats-py's publish swallows a
    cancellation (``hilo.bus.raise_if_cancelled``), and a loop without that check would keep
    the process from stopping. A task's own clean-up (partitions drained and handed over)
    gets its time first."""
    running = {task for task in tasks if not task.done()}
    for task in running:
        task.cancel()
    while running:
        _, running = await asyncio.wait(running, timeout=CANCEL_GRACE_SECONDS)
        for task in running:
            log.warning("%s still runs after it was cancelled; cancelling again", task.get_name())
            task.cancel()
