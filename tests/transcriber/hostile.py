"""A media server that tries every trick on the transcriber's downloader, and a DNS stand-in.

Each route is one trick: a body that inflates far past the size limit, bytes dripped
slower than any deadline, an HTML page labelled as audio, a redirect loop, redirects
to the cloud metadata address or to a name that resolves inside the network. The DNS
stand-in answers what a hostile name server would, and may change its answer between
lookups (rebinding). Nothing here ever connects to a non-loopback address: the guard
under test refuses such answers before connecting.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

OGG_HEAD = b"OggS\x00\x02" + b"\x00" * 4000
PRIVATE_NAME = "media.internal.test"


@dataclass
class HostileServer:
    base: str = ""
    requests: list[tuple[str, bool]] = field(default_factory=list)  # (path, had credentials)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next):  # type: ignore[no-untyped-def]
            self.requests.append((request.url.path, "authorization" in request.headers))
            return await call_next(request)

        @app.get("/gzip-bomb")
        async def gzip_bomb() -> Response:
            # 64 MiB of audio-looking bytes in about 64 KiB on the wire.
            body = gzip.compress(OGG_HEAD + b"\x00" * (64 * 1024 * 1024), compresslevel=9)
            return Response(body, media_type="audio/ogg", headers={"content-encoding": "gzip"})

        @app.get("/drip")
        async def drip() -> StreamingResponse:
            async def slowly() -> AsyncIterator[bytes]:
                yield OGG_HEAD
                for _ in range(600):  # a byte every 0.1 s: each read is quick, the whole is not
                    await asyncio.sleep(0.1)
                    yield b"\x00"

            return StreamingResponse(slowly(), media_type="audio/ogg")

        @app.get("/html-as-audio")
        async def html_as_audio() -> Response:
            return Response("<!doctype html><html>Sign in</html>", media_type="audio/ogg")

        @app.get("/ogg-as-text")
        async def ogg_as_text() -> Response:
            return Response(OGG_HEAD, media_type="text/plain")

        @app.get("/loop/{n}")
        async def loop(n: int) -> Response:
            return RedirectResponse(f"/loop/{n + 1}", status_code=302)

        @app.get("/to-metadata")
        async def to_metadata() -> Response:
            return RedirectResponse("http://169.254.169.254/latest/meta-data/", status_code=307)

        @app.get("/to-private-name")
        async def to_private_name() -> Response:
            return RedirectResponse(f"https://{PRIVATE_NAME}/note.ogg", status_code=307)

        return app


@dataclass
class DnsStandIn:
    """Answers per name, in turn: ``answers["x"] = [["127.0.0.1"], ["10.0.0.1"]]`` gives the
    first lookup of x the loopback and every later one a private address."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        turns = self.answers.get(host)
        if not turns:
            raise OSError(f"NXDOMAIN {host}")
        return turns.pop(0) if len(turns) > 1 else turns[0]
