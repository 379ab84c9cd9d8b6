"""The business profile (CONTRACT.md Part 2): what the business is, as validated data.

Shared because several services read it: the analyzer answers from it and books within
its hours, the flows service and the operator API show it. Errors name the file and the
line (the technique of ``hilo.flowdefs``: ``yaml.compose`` keeps each node's line), so an
operator fixes the file without reading a traceback.

A profile is identified by its *version*, the SHA-256 of the file's bytes: the analyzer
records each version it answered with, so a replayed message is answered with the
profile of its time, not today's. :class:`ProfileSource` reloads the file when its
modification time or size changes (checked on use, no watcher thread); a broken edit
keeps the last good profile and says why in the log.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from hilo.yaml_files import (
    FileProblem,
    InvalidFile,
    LocalizedText,
    localized,
    parse_mapping,
    problems,
    read_text,
)

log = logging.getLogger(__name__)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_FILE = "business.yaml"

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class Localized(LocalizedText):
    """A text of the profile: in its first language, or one per language."""

    @model_validator(mode="after")
    def _not_empty(self) -> Localized:
        if not self.by_language or any(not v.strip() for v in self.by_language.values()):
            raise ValueError("a text may not be empty")
        return self


@dataclass(frozen=True)
class OpeningSpan:
    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def parse_span(text: str) -> OpeningSpan:
    match = _SPAN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a span like 09:00-14:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{text!r} is not a time of day")
    end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    if time(h1, m1) >= end:
        raise ValueError(f"{text!r} ends before it starts")
    return OpeningSpan(time(h1, m1), end)


def _valid_span(text: str) -> str:
    parse_span(text)
    return text


# "09:00-14:00", checked where it stands so an error names its line.
SpanText = Annotated[str, AfterValidator(_valid_span)]


class ServiceOffered(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Localized
    price: str | None = None
    duration_minutes: int | None = Field(default=None, gt=0, le=24 * 60)
    description: Localized | None = None


class FaqEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    q: Localized
    a: Localized


class BookingRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slot_minutes: int = Field(default=30, gt=0, le=24 * 60)
    parallel: int = Field(default=1, ge=1, le=100)


class BusinessProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    timezone: str = "UTC"
    languages: tuple[Literal["es", "en"], ...] = ("es",)
    address: str | None = None
    phone: str | None = None
    hours: dict[Weekday, tuple[SpanText, ...]] = Field(default_factory=dict)
    closed_dates: tuple[date, ...] = ()
    services: tuple[ServiceOffered, ...] = ()
    faq: tuple[FaqEntry, ...] = ()
    booking: BookingRules = BookingRules()

    @model_validator(mode="before")
    @classmethod
    def _texts_in_first_language(cls, data: Any) -> Any:
        """Plain strings are texts in the profile's first language."""
        if not isinstance(data, dict):
            return data
        languages = data.get("languages") or ["es"]
        language = languages[0] if isinstance(languages, list) and languages else "es"
        data = dict(data)
        if isinstance(data.get("services"), list):
            data["services"] = [
                _texts(s, language, ("name", "description")) for s in data["services"]
            ]
        if isinstance(data.get("faq"), list):
            data["faq"] = [_texts(f, language, ("q", "a")) for f in data["faq"]]
        return data

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Madrid)") from exc
        return value

    @field_validator("hours")
    @classmethod
    def _spans(cls, hours: dict[Weekday, tuple[str, ...]]) -> dict[Weekday, tuple[str, ...]]:
        """Spans of one day may not overlap (each span alone is checked by SpanText)."""
        for spans in hours.values():
            parsed = sorted((parse_span(s) for s in spans), key=lambda s: s.start)
            for before, after in itertools.pairwise(parsed):
                if after.start < before.end:
                    raise ValueError(f"{before} and {after} overlap")
        return hours

    @field_validator("languages")
    @classmethod
    def _some_language(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one language (es, en)")
        return value

    # --- reading the profile (pure) ---------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def spans_on(self, day: date) -> tuple[OpeningSpan, ...]:
        """Opening spans of one calendar day; none on a closed date or a day left out."""
        if day in self.closed_dates:
            return ()
        return self.spans_on_weekday(day.weekday())

    def spans_on_weekday(self, weekday: int) -> tuple[OpeningSpan, ...]:
        texts = self.hours.get(WEEKDAYS[weekday], ())
        return tuple(sorted((parse_span(t) for t in texts), key=lambda s: s.start))

    def is_open_between(self, start: datetime, end: datetime) -> bool:
        """Whether [start, end) lies inside one opening span of the business's day."""
        local_start = start.astimezone(self.zone)
        local_end = end.astimezone(self.zone)
        if local_end.date() != local_start.date():
            return False
        return any(
            span.start <= local_start.time() and local_end.time() <= span.end
            for span in self.spans_on(local_start.date())
        )

    def duration_of(self, service: ServiceOffered | None) -> timedelta:
        minutes = (service.duration_minutes if service else None) or self.booking.slot_minutes
        return timedelta(minutes=minutes)


def _texts(item: Any, language: str, names: Iterable[str]) -> Any:
    if not isinstance(item, dict):
        return item
    item = dict(item)
    for name in names:
        if name in item:
            item[name] = localized(item[name], language)
    return item


# --- loading ----------------------------------------------------------------------------


ProfileError = FileProblem


class InvalidProfile(InvalidFile):
    """Every problem of the business profile, with file and line."""


@dataclass(frozen=True)
class LoadedProfile:
    profile: BusinessProfile
    # SHA-256 of the file's bytes (hex, first 16): what a recorded answer points back to.
    version: str
    source: str  # the file's text, so a version can be stored and read back exactly


def version_of(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def parse_profile(source: str, path: Path = Path(DEFAULT_FILE)) -> LoadedProfile:
    """A profile from its YAML text, or :class:`InvalidProfile` with every problem, by line."""
    node, data = parse_mapping(
        source, path, InvalidProfile, "a business profile is a mapping (name, hours, services…)"
    )
    try:
        profile = BusinessProfile.model_validate(data)
    except ValidationError as exc:
        raise InvalidProfile(problems(exc, node, path, "profile")) from exc
    return LoadedProfile(profile, version_of(source), source)


def load_profile(path: Path) -> LoadedProfile:
    return parse_profile(read_text(path, InvalidProfile), path)


def configured_path(value: str | Path | None = None) -> Path | None:
    """``HILO_BUSINESS_FILE`` (default ``business.yaml``); empty means no profile."""
    raw = str(value) if value is not None else os.environ.get("HILO_BUSINESS_FILE", DEFAULT_FILE)
    return Path(raw) if raw.strip() else None


class ProfileSource:
    """The current profile of one file, reloaded when the file changes (checked on use).

    A missing default file means no profile (the answers stay generic); a file named on
    purpose must exist. A reload that fails validation keeps the last good profile.
    """

    def __init__(self, path: Path | None, *, required: bool = False) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._loaded: LoadedProfile | None = None
        if path is not None and (required or path.exists()):
            self._loaded = load_profile(path)  # raises InvalidProfile at start-up
            self._stamp = self._stat()

    def _stat(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def modified_at(self) -> datetime:
        """When the file was last written: from then on its version is the current one."""
        stamp = self._stamp or self._stat()
        return datetime.fromtimestamp(stamp[0] / 1e9, UTC) if stamp else datetime.now(UTC)

    def current(self) -> LoadedProfile | None:
        stamp = self._stat()
        if stamp is not None and stamp != self._stamp and self.path is not None:
            self._stamp = stamp
            try:
                self._loaded = load_profile(self.path)
            except InvalidProfile as exc:
                log.error("business profile not reloaded, keeping the last good one:\n%s", exc)
        return self._loaded


def main(argv: list[str] | None = None) -> int:
    """``python -m hilo.business [FILE]``: check a profile; errors by line, no traceback."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    path = configured_path(args[0] if args else None) or Path(DEFAULT_FILE)
    try:
        loaded = load_profile(path)
    except InvalidProfile as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{path}: {loaded.profile.name}, version {loaded.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
