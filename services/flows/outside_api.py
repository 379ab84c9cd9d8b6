"""The flow's outside API: one POST per round, retried on time-outs and 5xx, never after a 2xx.

The caller records the round's call durably before the first attempt and counts each
attempt before it is made; the outcome is recorded after. So a crash mid-call repeats the
call with the same ``Idempotency-Key`` (the round's id), and a round that got a 2xx is
never POSTed again. A 4xx is the API refusing the request: retrying cannot help. An answer
that is not JSON or has the wrong shape is a failure with the reason, not a crash.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from hilo.flowdefs import ExternalApi, Question, Text, question_from_json
from services.flows.session import ApiAnswer


@dataclass(frozen=True)
class Answered:
    answer: ApiAnswer


@dataclass(frozen=True)
class Failed:
    reason: str
    status_code: int | None = None


Outcome = Answered | Failed


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    additional_questions: list[dict[str, Any]] | None = None
    message: str | dict[str, str] | None = None
    final_message: str | dict[str, str] | None = None
    continue_conversation: bool | None = None


def _text(value: str | dict[str, str] | None, language: str) -> Text | None:
    if value is None:
        return None
    by_language = {language: value} if isinstance(value, str) else dict(value)
    if not by_language or not all(isinstance(v, str) and v.strip() for v in by_language.values()):
        raise ValueError("a message must be a non-empty text")
    return Text(by_language=by_language, default_language=language)


def parse_answer(content: bytes, language: str, status_code: int, attempts: int) -> Outcome:
    """The API's answer as an :class:`ApiAnswer`, or why it cannot be used."""
    if not content.strip():
        return Answered(ApiAnswer(status_code=status_code, attempts=attempts))
    try:
        data = json.loads(content)
    except ValueError:
        return Failed(f"the answer is not JSON (HTTP {status_code})", status_code)
    if not isinstance(data, dict):
        return Failed(f"the answer is JSON but not an object (HTTP {status_code})", status_code)
    try:
        body = _Body.model_validate(data)
        questions: tuple[Question, ...] = tuple(
            question_from_json(q, language) for q in body.additional_questions or []
        )
        return Answered(
            ApiAnswer(
                additional_questions=questions,
                message=_text(body.message, language),
                final_message=_text(body.final_message, language),
                continue_conversation=body.continue_conversation,
                status_code=status_code,
                attempts=attempts,
            )
        )
    except (ValidationError, ValueError) as exc:
        problems = (
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
                for e in exc.errors()
            )
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        return Failed(f"the answer has the wrong shape: {problems}", status_code)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Capped exponential back-off before attempt ``attempt + 1`` (attempt counts from 1)."""
        return float(min(self.max_delay, self.first_delay * 2 ** (attempt - 1)))


def _headers(api: ExternalApi, idempotency_key: str) -> dict[str, str]:
    headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
    if api.secret_env:
        secret = os.environ.get(api.secret_env)
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
    return headers


async def call(
    http: httpx.AsyncClient,
    api: ExternalApi,
    payload: dict[str, Any],
    *,
    idempotency_key: str,
    language: str,
    policy: RetryPolicy,
    attempts_made: int,
    before_attempt: Callable[[int], Awaitable[None]],
) -> Outcome:
    """POST until a 2xx, a 4xx or the last attempt; ``before_attempt`` records each one."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    attempt = attempts_made
    last_reason = "no attempt made"
    while attempt < policy.attempts:
        if attempt > 0:  # a retry, or a call resumed after a crash
            await asyncio.sleep(policy.delay(attempt))
        attempt += 1
        await before_attempt(attempt)
        try:
            response = await http.post(
                api.url,
                content=body,
                headers=_headers(api, idempotency_key),
                timeout=api.timeout_seconds,
            )
        except httpx.TimeoutException:
            last_reason = f"no answer within {api.timeout_seconds:g} s"
            continue
        except httpx.TransportError as exc:
            last_reason = f"unreachable: {type(exc).__name__}"
            continue
        if response.status_code >= 500:
            last_reason = f"HTTP {response.status_code}"
            continue
        if response.status_code >= 400:
            return Failed(f"refused: HTTP {response.status_code}", response.status_code)
        if response.status_code >= 300:
            return Failed(f"unexpected HTTP {response.status_code}", response.status_code)
        return parse_answer(response.content, language, response.status_code, attempt)
    return Failed(f"gave up after {attempt} attempts: {last_reason}")
