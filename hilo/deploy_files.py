"""`deploy/Procfile` and `deploy/env/*.env.example`, rendered from the service registry.

Written by hand they drifted from the code (a port, a setting, a whole service missing);
rendered, a service registered in `pyproject.toml` appears with no edit here, and each of
its settings appears with its environment name and default. A settings field's comment
lines (or its `description`) become the comment above it; `examples=[…]` in its `Field`
replaces the default with what a production deployment should set.

    python -m hilo.deploy_files            # rewrite the files
    python -m hilo.deploy_files --check    # exit 1 naming the stale files (`make lint`)
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import inspect
import json
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from hilo import registry
from hilo.registry import ServiceInfo
from hilo.settings import HiloSettings

BASE_PORT = HiloSettings.model_fields["http_port"].default
SettingsLookup = Callable[[ServiceInfo], Sequence[type[BaseSettings]]]


def settings_classes(info: ServiceInfo) -> list[type[BaseSettings]]:
    """The settings classes defined in ``services/<name>/settings.py`` (none if it has none)."""
    try:
        module = importlib.import_module(f"services.{info.name}.settings")
    except ModuleNotFoundError as exc:
        if exc.name != f"services.{info.name}.settings":
            raise
        return []
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseSettings) and cls.__module__ == module.__name__
    ]


def procfile(services: Iterable[ServiceInfo]) -> str:
    lines = ["# Rendered from the service registry by `python -m hilo.deploy_files`; do not edit."]
    lines.append(
        "# For foreman/honcho/overmind; every process needs HILO_NATS_URL and HILO_DATABASE_URL."
    )
    for info in services:
        port = info.port(BASE_PORT, {})
        lines.append(f"{info.name}: HILO_HTTP_PORT={port} hilo serve {info.name}")
    return "\n".join(lines) + "\n"


def env_example(info: ServiceInfo, classes: Sequence[type[BaseSettings]]) -> str:
    readme = f"; see services/{info.name}/README.md" if _has_readme(info) else ""
    lines = [
        f"# {info.name}: `hilo serve {info.name}` ({info.summary}).",
        f"# Every setting with its default{readme}. Rendered by `python -m hilo.deploy_files`.",
        f"HILO_HTTP_PORT={info.port(BASE_PORT, {})}",
    ]
    seen = {"HILO_HTTP_PORT"}
    for cls in classes:
        lines.extend(_settings_lines(cls, seen))
    return "\n".join(lines) + "\n"


def common_env_example() -> str:
    lines = [
        "# Shared by every service (hilo/settings.py). Rendered by `python -m hilo.deploy_files`.",
        *_settings_lines(HiloSettings, {"HILO_HTTP_PORT"}),
    ]
    return "\n".join(lines) + "\n"


def render(
    services: Sequence[ServiceInfo] | None = None,
    lookup: SettingsLookup = settings_classes,
) -> dict[str, str]:
    """Every generated file, by path relative to ``deploy/``."""
    services = registry.services() if services is None else services
    files = {"Procfile": procfile(services), "env/common.env.example": common_env_example()}
    for info in services:
        files[f"env/{info.name}.env.example"] = env_example(info, lookup(info))
    return files


def stale(deploy_dir: Path, files: dict[str, str]) -> list[str]:
    """The generated files that are missing or differ from what the code renders."""
    return [
        path
        for path, text in sorted(files.items())
        if not (deploy_dir / path).exists() or (deploy_dir / path).read_text() != text
    ]


def write(deploy_dir: Path, files: dict[str, str]) -> list[str]:
    changed = stale(deploy_dir, files)
    for path in changed:
        target = deploy_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path])
    return changed


def _has_readme(info: ServiceInfo) -> bool:
    spec = importlib.util.find_spec(f"services.{info.name}")
    locations = spec.submodule_search_locations if spec else None
    return bool(locations) and any((Path(p) / "README.md").exists() for p in locations or [])


def _settings_lines(cls: type[BaseSettings], seen: set[str]) -> list[str]:
    prefix = str(cls.model_config.get("env_prefix") or "")
    comments = _field_comments(cls)
    lines: list[str] = []
    for name, field in cls.model_fields.items():
        variable = (field.alias or f"{prefix}{name}").upper()
        if variable in seen:
            continue
        seen.add(variable)
        note = field.description or comments.get(name)
        if note:
            lines.extend(f"# {line}" for line in textwrap.wrap(note, 96))
        lines.append(f"{variable}={_env_value(_shown_value(field))}")
    return lines


def _shown_value(field: FieldInfo) -> Any:
    if field.examples:
        return field.examples[0]
    return field.get_default(call_default_factory=True)


def _env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return ""  # a default secret is never written out
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return json.dumps(list(value) if not isinstance(value, dict) else value, default=str)
    return str(value)


def _field_comments(cls: type[BaseSettings]) -> dict[str, str]:
    """The comment lines right above each field, in the class that declares it."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseSettings)):
            continue
        if klass.__module__.startswith("pydantic_settings"):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        lines = source.splitlines()
        body = ast.parse(source).body[0]
        assert isinstance(body, ast.ClassDef)
        for statement in body.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                found[statement.target.id] = _comment_above(lines, statement.lineno - 1)
    return {name: text for name, text in found.items() if text}


def _comment_above(lines: list[str], index: int) -> str:
    block: list[str] = []
    for line in reversed(lines[:index]):
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        block.insert(0, stripped.lstrip("#").strip())
    return " ".join(block)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hilo.deploy_files", description=__doc__)
    parser.add_argument("--deploy-dir", type=Path, default=Path("deploy"))
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        outdated = stale(args.deploy_dir, files)
        if outdated:
            names = ", ".join(str(args.deploy_dir / p) for p in outdated)
            print(f"stale: {names}; run `python -m hilo.deploy_files`", file=sys.stderr)
            return 1
        return 0
    for path in write(args.deploy_dir, files):
        print(f"wrote {args.deploy_dir / path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
