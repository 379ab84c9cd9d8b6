"""From stored or published JSON back to typed events, upcasting old shapes.

Each event type has one current class. When a class changes shape it bumps
its ``schema_version`` and registers an upcaster from the previous version;
readers then always see the current shape, however old the stored event is.
Types this code does not know (a newer publisher) are left as
:class:`UnknownEvent`, so a recorder can keep them without understanding them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ConfigDict, ValidationError

from schemas.envelope import Event

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]


class EventDecodeError(ValueError):
    """The data is not an event this code can read."""


class UnknownEvent(Event):
    """An event of a type this version of Hilo does not know: kept, not dropped."""

    model_config = ConfigDict(frozen=True, extra="allow")


class EventRegistry:
    def __init__(self) -> None:
        self._classes: dict[str, type[Event]] = {}
        # Current schema_version by type: the fast path of `upcast`, run on every stored
        # event a projection folds.
        self._versions: dict[str, int] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_class: type[Event]) -> type[Event]:
        name = event_class.event_type()
        if name in self._classes and self._classes[name] is not event_class:
            raise ValueError(f"event type {name!r} registered twice")
        self._classes[name] = event_class
        self._versions[name] = event_class.current_version()
        return event_class

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register ``fn`` turning version ``from_version`` data into ``from_version + 1``."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return decorate

    @property
    def types(self) -> list[str]:
        return sorted(self._classes)

    def class_for(self, event_type: str) -> type[Event] | None:
        return self._classes.get(event_type)

    def upcast(self, data: JsonObject) -> JsonObject:
        event_type = data.get("type")
        target = self._versions.get(event_type) if isinstance(event_type, str) else None
        if target is None or data.get("schema_version", 1) == target:
            return data  # unknown types and current data pass untouched
        event_class = self._classes[str(event_type)]
        version = int(data.get("schema_version", 1))
        if version > target:
            raise EventDecodeError(
                f"{event_type} version {version} is newer than this code understands ({target})"
            )
        while version < target:
            # As in eventsourcing: a static method ``upcast_v1_v2`` beside the class, or
            # one registered with :meth:`upcaster`.
            step = self._upcasters.get((str(event_type), version)) or getattr(
                event_class, f"upcast_v{version}_v{version + 1}", None
            )
            if step is None:
                raise EventDecodeError(f"no upcaster for {event_type} from version {version}")
            data = step(dict(data))
            version += 1
            data["schema_version"] = version
        return data

    def decode(self, data: JsonObject) -> Event:
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            raise EventDecodeError("an event is a JSON object with a string `type`")
        data = self.upcast(data)
        event_class = self._classes.get(data["type"], UnknownEvent)
        try:
            return event_class.model_validate(data)
        except ValidationError as exc:
            raise EventDecodeError(f"invalid {data['type']} event: {exc}") from exc

    def decode_json(self, raw: bytes | str) -> Event:
        import json

        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise EventDecodeError(f"not JSON: {exc}") from exc
        return self.decode(data)

    def register_all(self, classes: Iterable[type[Event]]) -> None:
        for event_class in classes:
            self.register(event_class)
