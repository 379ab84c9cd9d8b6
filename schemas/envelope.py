"""The envelope every Hilo event carries, and the rules that make events facts.

An event is a frozen pydantic model: once published it is never edited. Its
``type`` names the fact in the past tense (``message.received``) and is also
the first part of its NATS subject. ``schema_version`` says which shape of the
class wrote it; older shapes are upcast on read (see :mod:`schemas.registry`).
"""

from __future__ import annotations

import builtins
import re
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr

# Derived events get ids computed from their cause, so handling the same cause
# twice (redelivery, replay) yields the very same event and every dedupe layer
# (JetStream's Nats-Msg-Id window, the store's unique event_id) absorbs it.
_DERIVED_NAMESPACE = uuid.UUID("6f1c1f0e-5b7e-4a55-9a53-7f3f2d1c9a10")

_SUBJECT_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def utc_now() -> datetime:
    return datetime.now(UTC)


def derived_id(cause: uuid.UUID | str, purpose: str) -> uuid.UUID:
    """A stable id for the event that ``purpose`` derives from ``cause``."""
    return uuid.uuid5(_DERIVED_NAMESPACE, f"{cause}:{purpose}")


def conversation_token(conversation: str) -> str:
    """The NATS subject token for a conversation key (an E.164 number).

    ``+573001112233`` becomes ``573001112233``: the plus carries no
    information once every key is E.164, and a token must avoid ``.``, ``*``
    and ``>``.
    """
    token = _SUBJECT_UNSAFE.sub("_", conversation.lstrip("+"))
    return token or "_"


E = TypeVar("E", bound="Event")


class Event(BaseModel):
    """Base class of every event: the envelope fields of the contract.

    Each concrete class narrows ``type`` to a ``Literal`` with its name as the
    default, and sets ``schema_version`` to its current version.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    schema_version: int = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    conversation: str = Field(min_length=1, max_length=64)
    correlation_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    causation_id: uuid.UUID | None = None
    # Set when decoded: the key scopes destroyed under this event (its transcript fields then
    # read empty because they were erased). Not part of the event's data.
    _erased_scopes: frozenset[str] = PrivateAttr(default_factory=frozenset)

    @classmethod
    def event_type(cls) -> str:
        default = cls.model_fields["type"].default
        assert isinstance(default, str), f"{cls.__name__} must give `type` a default"
        return default

    @classmethod
    def current_version(cls) -> int:
        default = cls.model_fields["schema_version"].default
        assert isinstance(default, int)
        return default

    @property
    def subject(self) -> str:
        return f"{self.type}.{conversation_token(self.conversation)}"

    def caused(self, event_class: builtins.type[E], purpose: str, **fields: Any) -> E:
        """A new event caused by this one, with a stable id for ``purpose``.

        Correlation is inherited, causation points here, and the conversation
        is kept unless given.
        """
        fields.setdefault("conversation", self.conversation)
        return event_class(
            event_id=derived_id(self.event_id, purpose),
            correlation_id=self.correlation_id,
            causation_id=self.event_id,
            **fields,
        )

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


class ProviderPayload(BaseModel):
    """Everything a provider sent, kept as it came: fields added later survive."""

    model_config = ConfigDict(frozen=True, extra="allow")
