"""The image's build-time guard and its build context, run here without a Docker engine."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCKERFILE = (ROOT / "deploy/Dockerfile").read_text()


def guard(service: str) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's `RUN python - SERVICE <<'PY'` step, with this environment's packages."""
    [script] = re.findall(r"<<'PY'\n(.*?)\nPY\n", DOCKERFILE, re.S)
    return subprocess.run(
        [sys.executable, "-", service],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_the_transcriber_image_may_hold_speech_recognition() -> None:
    result = guard("transcriber")
    assert result.returncode == 0, result.stderr


def test_another_image_with_speech_recognition_fails_to_build() -> None:
    if importlib.util.find_spec("faster_whisper") is None:
        pytest.skip("this environment has no Whisper runtime to find")
    # The dev environment has every extra, so the notifier's guard finds the Whisper runtime.
    result = guard("notifier")
    assert result.returncode != 0
    assert "belongs in the transcriber's image only" in result.stderr


def test_the_guard_names_a_service_that_does_not_exist() -> None:
    result = guard("nosuch")
    assert result.returncode != 0
    assert "No module named 'services.nosuch'" in result.stderr


def test_the_build_context_holds_what_the_package_build_reads() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert {"pyproject.toml", project["project"]["readme"], *packages} <= allowed
    copied: set[str] = set()
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.M):
        words = line.split()
        if any(w.startswith("--from=") for w in words):
            continue  # from another stage, not from the context
        copied |= {w.split("/")[0] for w in words[:-1] if not w.startswith("--")}
    assert copied <= allowed | {"pyproject.toml", "README.md"}
