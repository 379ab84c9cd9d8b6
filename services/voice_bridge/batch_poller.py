"""Finished batch calls whose post-call webhook never arrived, fetched and published as call.ended.

Polls ``GET /v1/convai/batch-calling/{batch_id}`` for each configured batch;
a recipient ``completed`` with a ``conversation_id`` the bridge has not
handed off yet is fetched (``GET /v1/convai/conversations/{id}``) and
published as ``call.ended`` with the id ingest would give the webhook, so
JetStream, the store and the handoff table all see one call.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from hilo.service import Runtime
from hilo.settings import reveal
from services.voice_bridge import ledger
from services.voice_bridge.call_record import UnusableRecord, call_ended_from_record
from services.voice_bridge.settings import VoiceBridgeSettings

log = logging.getLogger(__name__)

FINISHED_RECIPIENT = "completed"
FINISHED_CONVERSATION = "done"


class BatchPoller:
    def __init__(self, settings: VoiceBridgeSettings, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.http = http
        self.base = settings.elevenlabs_api_base.rstrip("/")

    def _headers(self) -> dict[str, str]:
        key = reveal(self.settings.elevenlabs_api_key)
        return {"xi-api-key": key} if key else {}

    async def _get(self, path: str) -> dict[str, Any] | None:
        response = await self.http.get(f"{self.base}{path}", headers=self._headers(), timeout=15)
        if response.status_code != 200:
            log.warning("ElevenLabs %s answered HTTP %d", path.split("/")[3], response.status_code)
            return None
        body = response.json()
        return body if isinstance(body, dict) else None

    async def poll_once(self, runtime: Runtime) -> int:
        """Publish what is missing; returns how many calls were published."""
        published = 0
        for batch_id in self.settings.batch_ids:
            batch = await self._get(f"/v1/convai/batch-calling/{batch_id}")
            if batch is None:
                continue
            finished = {
                r["conversation_id"]: r.get("phone_number")
                for r in batch.get("recipients") or []
                if isinstance(r, dict)
                and r.get("status") == FINISHED_RECIPIENT
                and isinstance(r.get("conversation_id"), str)
            }
            known = await ledger.known_calls(runtime.db, list(finished))
            for conversation_id, phone in finished.items():
                if conversation_id in known:
                    continue
                record = await self._get(f"/v1/convai/conversations/{conversation_id}")
                if record is None or record.get("status") != FINISHED_CONVERSATION:
                    continue  # still being processed: the next poll tries again
                try:
                    event = call_ended_from_record(record, phone_fallback=phone)
                except UnusableRecord as exc:
                    log.warning("batch %s: skipping a recipient: %s", batch_id, exc)
                    continue
                await runtime.publish(event)
                published += 1
        return published

    async def run_forever(self, runtime: Runtime) -> None:
        while True:
            try:
                await self.poll_once(runtime)
            except Exception:
                log.exception("polling batch calls failed")
            await asyncio.sleep(self.settings.voice_bridge_batch_poll_seconds)
