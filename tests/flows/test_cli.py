"""`hilo flows validate` / `hilo flows list`, and a service that refuses invalid flows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hilo.settings import HiloSettings
from services.flows.app import build
from tests.flows.conftest import flows_settings, intake_flow, quote_flow, write_flows

BROKEN = """id: broken
name: Broken
questions:
  - id: a
    text: hola
    type: choise
  - id: b
    text: elige
    type: choice
    options: [una]
"""


def hilo(*args: str, flows_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if flows_dir is not None:
        env["HILO_FLOWS_DIR"] = str(flows_dir)
    return subprocess.run(
        [sys.executable, "-m", "hilo.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_validate_reports_every_error_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    result = hilo("flows", "validate", str(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'broken.yaml'}:6: questions.0.type" in result.stderr
    assert f"{tmp_path / 'broken.yaml'}:7: questions.1" in result.stderr
    assert "2 problems" in result.stderr


def test_validate_and_list_the_shipped_examples() -> None:
    result = hilo("flows", "validate", "flows")
    assert result.returncode == 0, result.stderr
    assert "2 flows valid (alta, quote)" in result.stdout
    listed = hilo("flows", "list", "--json", flows_dir=Path("flows"))
    flows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {f["id"]: f["language"] for f in flows} == {"alta": "es", "quote": "en"}
    types = {q["type"] for f in flows for q in f["questions"]}
    assert types == {"text", "email", "number", "date", "choice"}


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = hilo("flows", "validate", str(tmp_path / "nowhere"))
    assert result.returncode == 1 and "no such file or directory" in result.stderr


async def test_the_service_refuses_to_start_with_an_invalid_flow(
    settings: HiloSettings, tmp_path: Path
) -> None:
    flows_dir = write_flows(tmp_path / "flows", intake_flow(None), quote_flow())
    (flows_dir / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    with pytest.raises(SystemExit) as refused:
        async with build(flows_settings(flows_dir)).running(settings, http=False):
            pass
    assert "broken.yaml:6" in str(refused.value.code)
