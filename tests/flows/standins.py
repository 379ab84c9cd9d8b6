"""A local stand-in of a flow's outside API (CONTRACT.md Part 2), programmable per test.

It takes the round's JSON POST, records it with its headers, and answers what the test
queued: JSON (more questions, a message, a final message), a slow answer, a 500, a 400,
or a body that is not JSON. With nothing queued it answers ``{}`` (the flow's own final
message then ends the session).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

SECRET = "outside-api-secret"


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None  # JSON-able; a str is sent as text/plain as it is
    delay: float = 0.0


def questions(*items: dict[str, Any], message: str | None = None) -> Answer:
    body: dict[str, Any] = {"additional_questions": list(items)}
    if message:
        body["message"] = message
    return Answer(body=body)


def final(text: str) -> Answer:
    return Answer(body={"final_message": text})


@dataclass
class Call:
    headers: dict[str, str]
    body: dict[str, Any]
    answered: int


@dataclass
class OutsideApi:
    script: collections.deque[Answer] = field(default_factory=collections.deque)
    calls: list[Call] = field(default_factory=list)
    url: str = ""

    def queue(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            answer = self.script.popleft() if self.script else Answer(body={})
            call = Call(dict(request.headers), await request.json(), answer.status)
            self.calls.append(call)
            if answer.delay:
                await asyncio.sleep(answer.delay)
            if isinstance(answer.body, str):
                return PlainTextResponse(answer.body, status_code=answer.status)
            return JSONResponse(answer.body or {}, status_code=answer.status)

        return app


@contextlib.asynccontextmanager
async def outside_api() -> AsyncIterator[OutsideApi]:
    api = OutsideApi()
    server = uvicorn.Server(
        uvicorn.Config(api.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    setattr(server, "capture_signals", contextlib.nullcontext)  # noqa: B010
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
        await asyncio.sleep(0.01)
    api.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/hook"
    try:
        yield api
    finally:
        server.should_exit = True
        await task
