"""The inbox through the real stack: recorder and projector keep the read models from real
NATS and PostgreSQL; the inbox serves the API over HTTP; clients sign in for real."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest_asyncio

from hilo.bus import EventBus
from hilo.settings import HiloSettings
from hilo.store.eventstore import EventStore
from hilo.testing import eventually
from schemas import Event, MessageReceived
from services.inbox import accounts
from services.inbox.app import build as build_inbox
from services.inbox.settings import InboxSettings
from services.inbox.store import AccountStore
from services.projector.app import build as build_projector
from services.recorder.app import build as build_recorder

ADMIN_EMAIL = "ana@example.com"
AGENT_EMAIL = "luis@example.com"
PASSWORD = "correct horse battery"
CONTACT = "+34600111222"

FLOW_YAML = """\
id: intake
name: Alta de cliente
language: es
trigger:
  keywords: [alta cliente]
questions:
  - id: name
    text: "¿Cómo te llamas?"
  - id: plan
    text: "¿Qué plan?"
    type: choice
    options: [Básico, Premium]
"""


@dataclass
class Stack:
    base_url: str
    settings: HiloSettings
    bus: EventBus
    pool: asyncpg.Pool
    admin_token: str
    agent_token: str

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=20)

    def admin(self) -> httpx.AsyncClient:
        return self.client(self.admin_token)

    def agent(self) -> httpx.AsyncClient:
        return self.client(self.agent_token)

    @property
    def store(self) -> EventStore:
        """The event store, read as the services read it (sealed events opened)."""
        return EventStore(self.pool, self.bus.codec)

    async def stored(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every stored event (of a type) in clear, in order."""
        records = await self.store.read_all(limit=100_000, types=[kind] if kind else None)
        return [r.clear for r in records]

    async def publish(self, *events: Event) -> None:
        for event in events:
            await self.bus.publish(event)

    async def projected(self, event: Event) -> None:
        """Wait until the inbox projection has folded this event (a bounded poll)."""

        async def folded() -> bool:
            position = await self.pool.fetchval(
                "SELECT position FROM events WHERE event_id = $1", event.event_id
            )
            if position is None:
                return False
            checkpoint = await self.pool.fetchval(
                "SELECT position FROM projection_checkpoints WHERE name = 'inbox'"
            )
            conversations = await self.pool.fetchval(
                "SELECT position FROM projection_checkpoints WHERE name = 'conversations'"
            )
            return bool(checkpoint and checkpoint >= position and conversations >= position)

        await eventually(folded, timeout=20)


def inbound(text: str, contact: str = CONTACT, name: str = "José Pérez", **extra: Any) -> Any:
    return MessageReceived(
        conversation=contact,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        contact_name=name,
        text=text,
        **extra,
    )


def inbox_settings(tmp_path: Path, **overrides: Any) -> InboxSettings:
    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "intake.yaml").write_text(FLOW_YAML, encoding="utf-8")
    values: dict[str, Any] = {
        "hilo_flows_dir": flows,
        "inbox_login_max_failures": 3,
        "inbox_templates": "seguimiento:es",
    }
    values.update(overrides)
    return InboxSettings(**values)


async def add_accounts(pool: asyncpg.Pool) -> tuple[str, str]:
    store = AccountStore(pool)
    password_hash = accounts.hash_password(PASSWORD)
    await store.add_operator(ADMIN_EMAIL, "admin", password_hash)
    await store.add_operator(AGENT_EMAIL, "agent", password_hash)
    admin_token, agent_token = accounts.new_api_token(), accounts.new_api_token()
    await store.add_token("admin-script", "admin", admin_token)
    await store.add_token("agent-script", "agent", agent_token)
    return admin_token, agent_token


@contextlib.asynccontextmanager
async def running_stack(
    settings: HiloSettings, bus: EventBus, pool: asyncpg.Pool, tmp_path: Path
) -> AsyncIterator[Stack]:
    admin_token, agent_token = await add_accounts(pool)
    inbox = build_inbox(inbox_settings(tmp_path))
    recorder, projector = build_recorder(), build_projector()
    async with (
        recorder.running(settings, http=False),
        projector.running(settings, http=False),
        inbox.running(settings),
    ):
        yield Stack(
            f"http://127.0.0.1:{inbox.http_port}", settings, bus, pool, admin_token, agent_token
        )


@pytest_asyncio.fixture
async def stack(
    settings: HiloSettings, bus: EventBus, pool: asyncpg.Pool, tmp_path: Path
) -> AsyncIterator[Stack]:
    async with running_stack(settings, bus, pool, tmp_path) as running:
        yield running
