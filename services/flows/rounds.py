"""The outside API's rounds: called once per round by one process, then applied to the session.

A round is a row (``flow_api_calls``) written in the transaction of the answer that
completed it. Whoever claims it (a lease, so two replicas never call at once) counts each
attempt before making it and records the outcome after; the outcome is then applied to the
session like any other input, keyed by the round. A process that dies mid-call leaves the
round to the next claimant, which calls again with the same ``Idempotency-Key``; a round
whose 2xx was recorded is never called again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import asyncpg
import httpx
from prometheus_client import Counter

from hilo.flowdefs import FlowSet
from schemas import Event, derived_id
from services.flows import outside_api
from services.flows import session as flow
from services.flows.session import ApiAnswer, Decision, Presentation, Session, Step
from services.flows.settings import FlowsSettings
from services.flows.store import ApiCall, FlowStore


class Host(Protocol):
    """What a round needs from the engine that runs it (the engine satisfies it)."""

    db: asyncpg.Pool
    store: FlowStore
    flows: FlowSet
    settings: FlowsSettings
    http: httpx.AsyncClient
    presentation: Presentation

    async def handle(
        self,
        contact: str,
        key: uuid.UUID,
        decide: Callable[[Session | None, Step], Decision | None],
        *,
        cause: Event | None,
        replayed: bool,
        label: str,
    ) -> None: ...


log = logging.getLogger(__name__)

API_CALLS = Counter("hilo_flows_api_rounds_total", "Outside API rounds finished", ["outcome"])


class Rounds:
    def __init__(self, engine: Host) -> None:
        self.engine = engine
        settings = engine.settings
        self.policy = outside_api.RetryPolicy(
            attempts=settings.flows_api_attempts,
            first_delay=settings.flows_api_backoff_seconds,
            max_delay=settings.flows_api_backoff_max_seconds,
        )

    async def run(self, session_id: uuid.UUID, round_: int) -> None:
        """Call the outside API for a round (unless another process is), then apply it."""
        lease = self._lease()
        async with self.engine.db.acquire() as conn:
            call = await self.engine.store.claim_round(conn, session_id, round_, lease)
        if call is None:
            return
        outcome: outside_api.Outcome
        if call.status == "pending":
            outcome = await self._call(call.flow_id, call.payload, call, lease)
            async with self.engine.db.acquire() as conn:
                await self.engine.store.settle_round(
                    conn, session_id, round_, *_stored_outcome(outcome, call.language)
                )
        else:
            outcome = _outcome_from(call.outcome or {})
        API_CALLS.labels(
            "answered" if isinstance(outcome, outside_api.Answered) else "failed"
        ).inc()

        def apply(session: Session | None, step: Step) -> Decision | None:
            if session is None or session.session_id != session_id:
                return None
            if session.status != "awaiting_api" or session.round != round_:
                return None
            if isinstance(outcome, outside_api.Answered):
                return flow.on_api_answer(session, step, outcome.answer, self.engine.presentation)
            log.warning("flow %s: outside API failed: %s", session.flow_id, outcome.reason)
            apology = self.engine.settings.apology(session.language)
            return flow.on_api_failed(session, step, outcome.reason, apology)

        await self.engine.handle(
            call.contact,
            derived_id(session_id, f"api:{round_}"),
            apply,
            cause=None,
            replayed=False,
            label="api",
        )
        async with self.engine.db.acquire() as conn:
            await self.engine.store.mark_applied(conn, session_id, round_)

    def _lease(self) -> float:
        longest = max(
            (f.external_api.timeout_seconds for f in self.engine.flows.flows if f.external_api),
            default=10.0,
        )
        settings = self.engine.settings
        return (
            longest
            + settings.flows_api_backoff_max_seconds
            + settings.flows_api_lease_margin_seconds
        )

    async def _call(
        self, flow_id: str, payload: dict[str, Any], call: ApiCall, lease: float
    ) -> outside_api.Outcome:
        target = self.engine.flows.get(flow_id)
        if target is None or target.external_api is None:
            return outside_api.Failed(f"flow {flow_id} has no outside API configured any more")

        async def before_attempt(_: int) -> None:
            async with self.engine.db.acquire() as conn:
                await self.engine.store.count_attempt(conn, call.session_id, call.round, lease)

        return await outside_api.call(
            self.engine.http,
            target.external_api,
            payload,
            idempotency_key=f"{call.session_id}:{call.round}",
            language=call.language,
            policy=self.policy,
            attempts_made=call.attempts,
            before_attempt=before_attempt,
        )


def _stored_outcome(outcome: outside_api.Outcome, language: str) -> tuple[str, dict[str, Any]]:
    if isinstance(outcome, outside_api.Answered):
        return "answered", {"answer": outcome.answer.model_dump(mode="json")}
    return "failed", {"reason": outcome.reason, "status_code": outcome.status_code}


def _outcome_from(stored: dict[str, Any]) -> outside_api.Outcome:
    if "answer" in stored:
        return outside_api.Answered(ApiAnswer.model_validate(stored["answer"]))
    return outside_api.Failed(str(stored.get("reason") or "unknown"), stored.get("status_code"))
