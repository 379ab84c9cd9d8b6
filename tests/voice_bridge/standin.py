"""A local stand-in of ElevenLabs: the Conversational AI WebSocket and the few HTTP routes we call.

One server on 127.0.0.1 (random port) answers both: WebSocket upgrades on
``/v1/convai/conversation`` and plain GETs for the signed URL, batch calls and
conversation records. The agent's behaviour is chosen by markers in the user's
text so tests can script split answers, corrections, pings, tool calls,
interruptions, audio-only turns, slow answers and dropped sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

SIGNATURE = "sig-7f3a"


@dataclass
class Connection:
    """What one socket received, in order."""

    number: int
    query: dict[str, str]
    received: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("type") == kind]

    @property
    def dynamic_variables(self) -> dict[str, Any]:
        return dict(
            self.of_type("conversation_initiation_client_data")[0].get("dynamic_variables") or {}
        )


@dataclass
class ElevenLabsStandIn:
    agent_id: str = "agent_standin"
    api_key: str | None = None
    # Seconds the agent "thinks" before any answer (benchmarks set it; 0 for tests).
    think_seconds: float = 0.0
    slow_seconds: float = 5.0
    # When set, no question is answered until this many are waiting for an answer at once:
    # a client that asks one after another never gets there.
    answer_together: int = 0
    _waiting: int = 0
    _together: asyncio.Event = field(default_factory=asyncio.Event)
    # "[hold]" questions are answered only once this is set.
    release: asyncio.Event = field(default_factory=asyncio.Event)
    connections: list[Connection] = field(default_factory=list)
    http_requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    # user text → (perf_counter when it arrived, when the plain answer to it was sent)
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)
    _dropped: set[str] = field(default_factory=set)
    _server: Server | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        return sum(1 for c in self.connections if not c.closed)

    async def __aenter__(self) -> ElevenLabsStandIn:
        self._server = await serve(
            self._converse,
            "127.0.0.1",
            0,
            process_request=self._http,
            ping_interval=None,
            max_size=2**22,
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    # --- HTTP ---------------------------------------------------------------------
    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if parts.path != "/v1/convai/conversation" or query.get("agent_id") != self.agent_id:
                return _json(HTTPStatus.NOT_FOUND, {"detail": "unknown agent"})
            if self.api_key and query.get("conversation_signature") != SIGNATURE:
                return _json(HTTPStatus.FORBIDDEN, {"detail": "signed URL required"})
            return None
        self.http_requests.append((request.path, dict(request.headers.raw_items())))
        if self.api_key and request.headers.get("xi-api-key") != self.api_key:
            return _json(HTTPStatus.UNAUTHORIZED, {"detail": "invalid xi-api-key"})
        segments = parts.path.strip("/").split("/")
        if parts.path == "/v1/convai/conversation/get-signed-url":
            if query.get("agent_id") != self.agent_id:
                return _json(HTTPStatus.NOT_FOUND, {"detail": "unknown agent"})
            signed = (
                f"ws://127.0.0.1:{self.port}/v1/convai/conversation"
                f"?agent_id={self.agent_id}&conversation_signature={SIGNATURE}"
            )
            return _json(HTTPStatus.OK, {"signed_url": signed})
        if segments[:3] == ["v1", "convai", "batch-calling"] and len(segments) == 4:
            found = self.batches.get(segments[3])
            return _json(HTTPStatus.OK, found) if found else _json(HTTPStatus.NOT_FOUND, {})
        if segments[:3] == ["v1", "convai", "conversations"] and len(segments) == 4:
            record = self.conversations.get(segments[3])
            return _json(HTTPStatus.OK, record) if record else _json(HTTPStatus.NOT_FOUND, {})
        return _json(HTTPStatus.NOT_FOUND, {"detail": "no such route"})

    # --- the agent ---------------------------------------------------------------
    async def _converse(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        query = {k: v[0] for k, v in parse_qs(urlsplit(ws.request.path).query).items()}
        log = Connection(len(self.connections) + 1, query)
        self.connections.append(log)
        turns: set[asyncio.Task[None]] = set()
        try:
            first = json.loads(await ws.recv())
            log.received.append(first)
            if first.get("type") != "conversation_initiation_client_data":
                await ws.close(1008, "initiation expected")
                return
            await ws.send(
                json.dumps(
                    {
                        "type": "conversation_initiation_metadata",
                        "conversation_initiation_metadata_event": {
                            "conversation_id": f"conv_standin_{log.number}",
                            "agent_output_audio_format": "pcm_16000",
                            "user_input_audio_format": "pcm_16000",
                        },
                    }
                )
            )
            async for raw in ws:
                message = json.loads(raw)
                log.received.append(message)
                if message.get("type") == "user_message":
                    self.timings[str(message["text"])] = (time.perf_counter(), 0.0)
                    task = asyncio.create_task(self._answer(ws, log, str(message["text"])))
                    turns.add(task)
                    task.add_done_callback(turns.discard)
        except ConnectionClosed:
            pass
        finally:
            log.closed = True
            for task in turns:
                task.cancel()

    async def _answer(self, ws: ServerConnection, log: Connection, text: str) -> None:
        name = log.dynamic_variables.get("customer_name", "")
        if self.answer_together:
            self._waiting += 1
            if self._waiting >= self.answer_together:
                self._together.set()
            await self._together.wait()
        if "[hold]" in text:
            await self.release.wait()
        if self.think_seconds:
            await asyncio.sleep(self.think_seconds)
        if "[drop]" in text and text not in self._dropped:
            self._dropped.add(text)
            await ws.close(1011, "stand-in dropped the socket")
            return
        if "[slow]" in text:
            await asyncio.sleep(self.slow_seconds)
        if "[split]" in text:
            await _agent(ws, "Primera parte.")
            await asyncio.sleep(0.15)
            await _agent(ws, "Segunda parte.")
            return
        if "[correct]" in text:
            await _agent(ws, "Mañana a las 10 y además te")
            await ws.send(
                json.dumps(
                    {
                        "type": "agent_response_correction",
                        "agent_response_correction_event": {
                            "original_agent_response": "Mañana a las 10 y además te",
                            "corrected_agent_response": "Mañana a las 10.",
                        },
                    }
                )
            )
            return
        if "[interrupt]" in text:
            await _agent(ws, "Claro, te explico todo el proceso")
            await ws.send(
                json.dumps({"type": "interruption", "interruption_event": {"event_id": 3}})
            )
            await ws.send(
                json.dumps(
                    {
                        "type": "agent_response_correction",
                        "agent_response_correction_event": {
                            "original_agent_response": "Claro, te explico todo el proceso",
                            "corrected_agent_response": "Claro, te explico",
                        },
                    }
                )
            )
            return
        if "[ping]" in text:
            await ws.send(
                json.dumps({"type": "ping", "ping_event": {"event_id": 41, "ping_ms": 12}})
            )
            pong = await _wait_for(log, "pong")
            await _agent(ws, f"pong {pong.get('event_id')}")
            return
        if "[tool]" in text:
            await ws.send(
                json.dumps(
                    {
                        "type": "client_tool_call",
                        "client_tool_call": {
                            "tool_name": "open_calendar",
                            "tool_call_id": "tool-9",
                            "parameters": {"day": "viernes"},
                        },
                    }
                )
            )
            result = await _wait_for(log, "client_tool_result")
            await _agent(ws, f"herramienta {result['tool_call_id']} error={result['is_error']}")
            return
        if "[audio]" in text:
            for event_id, chunk in enumerate(("Solo ", "audio."), start=1):
                await ws.send(
                    json.dumps(
                        {
                            "type": "audio",
                            "audio_event": {
                                "audio_base_64": "AAAA",
                                "event_id": event_id,
                                "alignment": {
                                    "chars": list(chunk),
                                    "char_start_times_ms": [0] * len(chunk),
                                    "char_durations_ms": [50] * len(chunk),
                                },
                            },
                        }
                    )
                )
            return
        await _agent(ws, f"Hola {name}: recibí «{text}»")
        self.timings[text] = (self.timings.get(text, (0.0, 0.0))[0], time.perf_counter())


def expected_default_answer(name: str, text: str) -> str:
    return f"Hola {name}: recibí «{text}»"


async def _agent(ws: ServerConnection, text: str) -> None:
    await ws.send(
        json.dumps({"type": "agent_response", "agent_response_event": {"agent_response": text}})
    )


async def _wait_for(log: Connection, kind: str, timeout: float = 3.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = log.of_type(kind)
        if found:
            return found[-1]
        await asyncio.sleep(0.01)
    return {"type": kind, "missing": True, "event_id": None, "tool_call_id": None, "is_error": None}


def _json(status: HTTPStatus, body: dict[str, Any]) -> Response:
    payload = json.dumps(body).encode()
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Connection", "close"),
        ]
    )
    return Response(status.value, status.phrase, headers, payload)
