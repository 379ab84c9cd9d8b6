"""YAML files that people write (question flows, the business profile): every problem with
its file and line, so an operator can fix the file without reading a traceback.

``yaml.compose`` keeps each node's position; a pydantic error's location is walked down
that node tree to the line of the value it is about (or the closest line known).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class LocalizedText(BaseModel):
    """A text in the file's language, or one per language (`{es: "…", en: "…"}`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    by_language: dict[str, str]
    default_language: str

    def in_language(self, language: str | None) -> str:
        if language and language in self.by_language:
            return self.by_language[language]
        if self.default_language in self.by_language:
            return self.by_language[self.default_language]
        return next(iter(self.by_language.values()))

    def all_texts(self) -> tuple[str, ...]:
        return tuple(self.by_language.values())


def localized(value: Any, language: str) -> Any:
    """A text as written (a string, or a mapping of languages) in LocalizedText's shape;
    anything else is left for the model to reject."""
    if isinstance(value, str):
        return {"by_language": {language: value}, "default_language": language}
    if isinstance(value, Mapping) and "by_language" not in value:
        return {"by_language": dict(value), "default_language": language}
    return value


@dataclass(frozen=True)
class FileProblem:
    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


class InvalidFile(ValueError):
    def __init__(self, errors: list[FileProblem]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def line_of(node: yaml.Node | None, location: Iterable[int | str]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location (closest known)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in location:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def read_text(path: Path, invalid: type[InvalidFile]) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise invalid([FileProblem(path, None, f"cannot read: {exc}")]) from exc


def parse_mapping(
    source: str, path: Path, invalid: type[InvalidFile], not_a_mapping: str
) -> tuple[yaml.Node | None, dict[str, Any]]:
    """The document's node tree (for lines) and its data, which must be a mapping."""
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise invalid([FileProblem(path, line, f"not valid YAML: {problem}")]) from exc
    if not isinstance(data, dict):
        raise invalid([FileProblem(path, 1, not_a_mapping)])
    return node, data


def problems(
    exc: ValidationError,
    node: yaml.Node | None,
    path: Path,
    root: str,
    skip: Callable[[dict[str, Any]], bool] = lambda error: False,
) -> list[FileProblem]:
    """Each validation error at the line of the value it is about."""
    found = []
    for error in exc.errors():
        if skip(dict(error)):
            continue
        location = [p for p in error["loc"] if p not in ("by_language",)]
        where = ".".join(str(p) for p in location) or root
        message = str(error["msg"]).removeprefix("Value error, ")
        found.append(FileProblem(path, line_of(node, location), f"{where}: {message}"))
    return found
