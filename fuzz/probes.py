"""Requests as raw bytes on a socket, so that a probe can lie where a client library would not.

An HTTP client keeps a request honest (its Content-Length matches the body, its body is
sent whole); a hostile peer does not. A :class:`Probe` is written to a fresh connection
exactly as given, and its answer is read within a bounded time: no answer within it is a
request that hung a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

# What a probe waits for its answer; ingest gives up on a slow body well before this.
ANSWER_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Probe:
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # The statuses that are a correct answer to it.
    expect: frozenset[int] = frozenset({400})
    # Whether a correct answer may publish new events (a valid original, not its replay).
    may_publish: bool = False
    # Claim this Content-Length instead of the body's (a truncated body); None: the truth.
    declared_length: int | None = None
    # Send the body with chunked transfer encoding and no length.
    chunked: bool = False
    # Send the body in parts of this size (many small writes), to stream an oversized body.
    part_size: int | None = None


@dataclass(frozen=True)
class Answer:
    """``status`` 0: no answer within the timeout (hung) or the connection dropped."""

    status: int
    body: bytes
    hung: bool = False


def encode(probe: Probe, host: str) -> bytes:
    lines = [f"{probe.method} {probe.path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in probe.headers.items()]
    if probe.chunked:
        lines.append("Transfer-Encoding: chunked")
    elif "content-length" in {name.lower() for name in probe.headers}:
        pass  # the probe lies about the length itself
    elif probe.body or probe.method not in {"GET", "HEAD"}:
        length = len(probe.body) if probe.declared_length is None else probe.declared_length
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _chunks(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


async def send(
    probe: Probe, host: str, port: int, timeout: float = ANSWER_TIMEOUT_SECONDS
) -> Answer:
    """Write the probe to a new connection and read the whole answer (the server closes)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        async with asyncio.timeout(timeout):
            writer.write(encode(probe, f"{host}:{port}"))
            parts = _chunks(probe.body, probe.part_size or 65536)
            for part in parts:
                if probe.chunked:
                    writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                else:
                    writer.write(part)
                # The server may refuse mid-body and close: the rest is then not sent.
                try:
                    await writer.drain()
                except ConnectionError:
                    break
            if probe.chunked:
                with contextlib.suppress(ConnectionError):
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
            raw = await _read_all(reader)
    except TimeoutError:
        return Answer(0, b"", hung=True)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return parse_answer(raw)


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything until the server closes; a reset after its answer keeps what came.

    An event stream (``text/event-stream``, the inbox's ``/api/stream``) is answered once
    its head has come: it stays open by design, so waiting for its end would count a
    working stream as a hung request.
    """
    raw = bytearray()
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            raw += chunk
            if _is_event_stream(bytes(raw)):
                break
    return bytes(raw)


def _is_event_stream(raw: bytes) -> bool:
    head, complete, _ = raw.partition(b"\r\n\r\n")
    if not complete:
        return False
    return any(
        line.lower().startswith(b"content-type:") and b"text/event-stream" in line.lower()
        for line in head.split(b"\r\n")[1:]
    )


def parse_answer(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        return Answer(0, raw)
    return Answer(int(status_line[1]), body)
