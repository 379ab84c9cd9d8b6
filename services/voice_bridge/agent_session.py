"""Text conversations with the ElevenLabs agent over its WebSocket, one socket per conversation.

A :class:`SessionPool` keeps one :class:`AgentSession` per conversation, reuses
it for every message, closes it after an idle time and reopens it (with the
whole context again) when the customer writes after that or when the socket
dropped. Different conversations never wait for each other: each has its own
lock and socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from prometheus_client import Gauge
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.voice_bridge import agent_protocol as protocol

log = logging.getLogger(__name__)

OPEN_SESSIONS = Gauge("hilo_voice_bridge_sessions", "Agent WebSocket sessions open")
TOOL_REFUSAL = "This tool is not available in the WhatsApp text channel."


class AgentUnavailable(Exception):
    """The agent gave no answer; ``reason`` is short and safe to log and publish."""

    reason = "agent_unavailable"


class AgentConnectFailed(AgentUnavailable):
    reason = "connect_failed"


class AgentTimedOut(AgentUnavailable):
    reason = "timeout"


class AgentDisconnected(AgentUnavailable):
    reason = "disconnected"


@dataclass(frozen=True)
class AgentConfig:
    api_base: str
    agent_id: str
    api_key: str | None = None
    connect_timeout: float = 10.0
    reply_timeout: float = 20.0
    quiet_seconds: float = 0.8
    idle_seconds: float = 1800.0


@dataclass(frozen=True)
class Opening:
    """What the agent is told when a socket opens: placeholders, then the conversation so far."""

    dynamic_variables: dict[str, str]
    context_text: str


OpeningFactory = Callable[[], Awaitable[Opening]]


class AgentSession:
    def __init__(self, ws: ClientConnection, conversation_id: str | None, config: AgentConfig):
        self.ws = ws
        self.conversation_id = conversation_id
        self.config = config
        self.last_used = time.monotonic()
        self._inbox: asyncio.Queue[protocol.ServerEvent | None] = asyncio.Queue()
        self._closed = False
        self._reader = asyncio.create_task(self._read())

    @property
    def closed(self) -> bool:
        return self._closed

    @classmethod
    async def open(cls, url: str, opening: Opening, config: AgentConfig) -> AgentSession:
        ws = await connect(url, open_timeout=config.connect_timeout, max_size=2**22)
        try:
            await ws.send(protocol.initiation(opening.dynamic_variables))
            conversation_id = await asyncio.wait_for(_await_initiation(ws), config.connect_timeout)
            await ws.send(protocol.contextual_update(opening.context_text))
        except BaseException:
            await ws.close()
            raise
        OPEN_SESSIONS.inc()
        return cls(ws, conversation_id, config)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                try:
                    event = protocol.parse(raw)
                except protocol.ProtocolError as exc:
                    log.warning("agent sent a frame we cannot read: %s", exc)
                    continue
                if not await _answer_control(self.ws, event):
                    self._inbox.put_nowait(event)
        except ConnectionClosed:
            pass
        finally:
            if not self._closed:
                self._closed = True
                OPEN_SESSIONS.dec()
            self._inbox.put_nowait(None)

    async def ask(self, text: str) -> str:
        """Send one user turn; the answer is everything the agent says until it goes quiet."""
        if self._closed:
            raise AgentDisconnected("socket closed")
        self.last_used = time.monotonic()
        while not self._inbox.empty():  # late frames of an earlier turn (or a first message)
            if self._inbox.get_nowait() is None:
                raise AgentDisconnected("socket closed")
        try:
            await self.ws.send(protocol.user_message(text))
        except ConnectionClosed as exc:
            raise AgentDisconnected("socket closed while sending") from exc
        answer = protocol.AnswerCollector()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.reply_timeout
        while True:
            wait = self.config.quiet_seconds if answer.started else deadline - loop.time()
            try:
                event = await asyncio.wait_for(self._inbox.get(), max(wait, 0.0))
            except TimeoutError:
                if answer.started:
                    break
                raise AgentTimedOut(f"no answer within {self.config.reply_timeout}s") from None
            if event is None:
                if answer.started:
                    break  # the socket dropped after answering: the answer stands
                raise AgentDisconnected("socket closed before answering")
            answer.feed(event)
        self.last_used = time.monotonic()
        result = answer.text()
        if not result:
            raise AgentTimedOut("the agent's answer was empty")
        return result

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


async def _answer_control(ws: ClientConnection, event: protocol.ServerEvent) -> bool:
    """Pings and tool calls are answered here; True when the frame needed nothing else."""
    try:
        if isinstance(event, protocol.Ping):
            await ws.send(protocol.pong(event.event_id))
            return True
        if isinstance(event, protocol.ClientToolCall):
            # No client tools exist on the WhatsApp side; say so, so the agent does not wait.
            await ws.send(protocol.client_tool_result(event.tool_call_id, TOOL_REFUSAL))
            return True
    except ConnectionClosed:
        return True
    return False


async def _await_initiation(ws: ClientConnection) -> str | None:
    async for raw in ws:
        try:
            event = protocol.parse(raw)
        except protocol.ProtocolError:
            continue
        if isinstance(event, protocol.InitiationMetadata):
            return event.conversation_id
        await _answer_control(ws, event)
    raise AgentDisconnected("socket closed before conversation_initiation_metadata")


class SessionPool:
    def __init__(self, config: AgentConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.sessions: dict[str, AgentSession] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def __len__(self) -> int:
        return sum(1 for s in self.sessions.values() if not s.closed)

    async def ask(self, conversation: str, text: str, opening: OpeningFactory) -> str:
        lock = self._locks.setdefault(conversation, asyncio.Lock())
        async with lock:
            for attempt in (1, 2):
                session = self.sessions.get(conversation)
                if session is None or session.closed:
                    session = await self._open(opening)
                    self.sessions[conversation] = session
                try:
                    return await session.ask(text)
                except AgentDisconnected:
                    await self._drop(conversation)
                    if attempt == 2:
                        raise
                except AgentTimedOut:
                    # A socket that kept quiet is not trusted again: the next turn reopens it.
                    await self._drop(conversation)
                    raise
        raise AssertionError("unreachable")

    async def _open(self, opening: OpeningFactory) -> AgentSession:
        try:
            url = await self._url()
            return await AgentSession.open(url, await opening(), self.config)
        except AgentUnavailable:
            raise
        except Exception as exc:
            raise AgentConnectFailed(f"cannot open the agent socket: {type(exc).__name__}") from exc

    async def _url(self) -> str:
        if not self.config.api_key:
            return protocol.websocket_url(self.config.api_base, self.config.agent_id)
        response = await self.http.get(
            protocol.signed_url_endpoint(self.config.api_base),
            params={"agent_id": self.config.agent_id},
            headers={"xi-api-key": self.config.api_key},
            timeout=self.config.connect_timeout,
        )
        if response.status_code != 200:
            raise AgentConnectFailed(f"signed URL refused: HTTP {response.status_code}")
        signed = response.json().get("signed_url")
        if not isinstance(signed, str) or not signed:
            raise AgentConnectFailed("signed URL response without signed_url")
        return signed

    async def _drop(self, conversation: str) -> None:
        session = self.sessions.pop(conversation, None)
        if session is not None:
            await session.close()

    async def close(self, conversation: str) -> None:
        lock = self._locks.setdefault(conversation, asyncio.Lock())
        async with lock:
            await self._drop(conversation)
        self._locks.pop(conversation, None)

    def _busy(self, conversation: str) -> bool:
        lock = self._locks.get(conversation)
        return lock is not None and lock.locked()

    async def close_idle(self) -> int:
        """Close sockets unused for the idle time; returns how many were closed."""
        cutoff = time.monotonic() - self.config.idle_seconds
        idle = [
            c
            for c, s in self.sessions.items()
            if s.closed or (s.last_used < cutoff and not self._busy(c))
        ]
        for conversation in idle:
            await self._drop(conversation)
            self._locks.pop(conversation, None)
        return len(idle)

    async def close_idle_forever(self) -> None:
        interval = min(max(self.config.idle_seconds / 4, 0.05), 30.0)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.close_idle()
            except Exception:
                log.exception("closing idle agent sessions failed")

    async def close_all(self) -> None:
        for conversation in list(self.sessions):
            await self._drop(conversation)
        self._locks.clear()
