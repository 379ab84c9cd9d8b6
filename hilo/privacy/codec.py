"""Sealing and opening events at the boundaries: the store, the bus, the outbox, readers.

:class:`EventCodec` does the key work (pseudonyms, the keyring's look-ups) and leaves the
cryptography to the pure :mod:`hilo.privacy.sealing`. Every process that writes or reads
events holds one (``Runtime.codec``, ``EventBus.codec``, ``EventStore.codec``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from hilo.privacy import sealing
from hilo.privacy.keyring import CACHE_SECONDS, DataKey, Keyring
from hilo.privacy.master import pseudonym_key, wrapping_key
from hilo.privacy.pseudonyms import pseudonym
from schemas import Event, EventDecodeError


@dataclass(frozen=True)
class Sealed:
    """An event as stored and sent: its stream (the pseudonym for a contact) and JSON."""

    stream: str
    type: str
    event_id: uuid.UUID
    json: str


class EventCodec:
    def __init__(self, keyring: Keyring, pseudonym_key: bytes) -> None:
        self.keyring = keyring
        self._pseudonym_key = pseudonym_key

    def stream_of(self, conversation: str) -> str:
        """The stream and subject token of a conversation: a contact's pseudonym."""
        if sealing.is_contact(conversation):
            return pseudonym(conversation, self._pseudonym_key)
        return conversation

    async def _keys(self, stream: str, event_type: str, occurred_at: Any) -> dict[str, DataKey]:
        return {
            scope: await self.keyring.key_for(stream, scope)
            for scope in sealing.scopes_for(event_type, occurred_at)
        }

    async def seal(self, event: Event) -> Sealed:
        if not sealing.is_contact(event.conversation):
            return Sealed(event.conversation, event.type, event.event_id, event.model_dump_json())
        stream = self.stream_of(event.conversation)
        keys = await self._keys(stream, event.type, event.occurred_at)
        sealed = sealing.seal(event.model_dump(mode="json"), stream, keys)
        return Sealed(stream, event.type, event.event_id, orjson.dumps(sealed).decode())

    async def seal_data(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Stored JSON in its sealed form: sealed and non-contact data pass as they are;
        the clear JSON of a contact event (stored before sealing existed) is sealed."""
        conversation = str(data.get("conversation", ""))
        if sealing.SEALED in data or not sealing.is_contact(conversation):
            return dict(data)
        stream = self.stream_of(conversation)
        keys = await self._keys(stream, str(data["type"]), str(data["occurred_at"]))
        return sealing.seal(data, stream, keys)

    async def open_many(
        self, datas: Sequence[Mapping[str, Any]]
    ) -> list[sealing.Opened | sealing.Forgotten]:
        """Open a batch, looking up every key it needs at once."""
        wanted = {key_id for data in datas for key_id in sealing.key_ids(data)}
        keys: dict[str, DataKey | None] = {}
        if wanted:
            ids = sealing.parse_key_ids(wanted)
            found = await self.keyring.by_ids(ids.values())
            keys = {text: found[key_id] for text, key_id in ids.items() if key_id in found}
        return [sealing.open_sealed(data, keys) for data in datas]

    async def open(self, data: Mapping[str, Any]) -> sealing.Opened | sealing.Forgotten:
        return (await self.open_many([data]))[0]

    async def decode(self, data: Mapping[str, Any]) -> Event:
        """The typed event (a :class:`~hilo.privacy.sealing.ForgottenEvent` when forgotten)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
            raise EventDecodeError("an event is a JSON object with a string `type`")
        return (await self.open(data)).to_event()

    async def decode_json(self, raw: bytes | str) -> Event:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise EventDecodeError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise EventDecodeError("an event is a JSON object with a string `type`")
        return await self.decode(data)


def codec_for(
    master: bytes, pool: asyncpg.Pool, *, cache_seconds: float = CACHE_SECONDS
) -> EventCodec:
    """A codec whose keys live in ``pool``'s database, wrapped by keys from ``master``."""
    keyring = Keyring(pool, wrapping_key(master), cache_seconds=cache_seconds)
    return EventCodec(keyring, pseudonym_key(master))
