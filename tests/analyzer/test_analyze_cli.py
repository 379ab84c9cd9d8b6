"""`hilo analyze FILE` and `python -m services.analyzer.evaluate`, as a person runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "data" / "analysis-dev.jsonl"
HILO = [sys.executable, "-m", "hilo.cli.main"]
ENV = {**os.environ, "HILO_ANALYZER": "rules"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120)


def test_analyze_prints_one_output_line_per_conversation_in_order() -> None:
    done = _run(*HILO, "analyze", str(DEV))
    assert done.returncode == 0, done.stderr
    outputs = [json.loads(line) for line in done.stdout.splitlines()]
    ids = [json.loads(line)["id"] for line in DEV.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in outputs] == ids
    first = outputs[0]
    assert set(first) == {"id", "language", "summary", "sentiment", "intent", "entities",
                          "events", "tasks"}  # fmt: skip
    assert first["events"][0]["start"] == "2026-11-20T10:00:00+01:00"
    assert set(first["events"][0]) == {"title", "start", "end", "location"}
    assert set(first["tasks"][0]) == {"title", "type", "priority", "due"}


def test_analyze_refuses_bad_files_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "messages": [{"direction": "sideways"}]}\nnot json\n')
    done = _run(*HILO, "analyze", str(bad))
    assert done.returncode == 1 and done.stdout == ""
    assert "bad.jsonl:1" in done.stderr and "Traceback" not in done.stderr
    missing = _run(*HILO, "analyze", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_evaluate_prints_the_scores() -> None:
    done = _run(sys.executable, "-m", "services.analyzer.evaluate", str(DEV), "--json")
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    assert scores["conversations"] == 40
    assert scores["event_f1"] >= 0.95 and scores["intent_accuracy"] >= 0.85
