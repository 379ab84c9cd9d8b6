"""Scores the analyzer on labeled conversations by the rules of docs/ANALYSIS_DATA.md.

    python -m services.analyzer.evaluate data/analysis-dev.jsonl [--json] [--show-misses]

Events match on the same instant (or the same date, for a bare date); titles of matched
events score when they share at least half of the expected title's content words; tasks
by type recall, no false task, and priority within ``priority_max``; sentiment and intent
by accuracy; entities by recall of expected person and organization names.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from services.analyzer.output import BadConversationFile, output_record, read_conversations
from services.analyzer.rules import analyze
from services.analyzer.rules.text import fold

STOPWORDS = {
    *("de", "del", "la", "el", "los", "las", "y", "en", "un", "una", "para", "por", "con"),
    *("sobre", "a", "al", "lo", "que", "mi", "tu", "su", "the", "an", "of", "for", "to"),
    *("and", "on", "in", "with", "about", "our", "my", "your"),
}


def content_words(title: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9ñ]+", fold(title)) if w not in STOPWORDS}


def title_matches(predicted: str, expected: str) -> bool:
    wanted = content_words(expected)
    if not wanted:
        return True
    return len(wanted & content_words(predicted)) * 2 >= len(wanted)


def _moment(value: str) -> datetime | date:
    if "T" in value:
        return datetime.fromisoformat(value)
    return date.fromisoformat(value)


def same_start(predicted: str | None, expected: str) -> bool:
    if not predicted:
        return False
    a, b = _moment(predicted), _moment(expected)
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a == b
    if not isinstance(a, datetime) and not isinstance(b, datetime):
        return a == b
    return False


@dataclass
class Scores:
    conversations: int = 0
    event_tp: int = 0
    event_fp: int = 0
    event_fn: int = 0
    titles_matched: int = 0
    titles_total: int = 0
    task_types_found: int = 0
    task_types_expected: int = 0
    no_task_right: int = 0
    no_task_total: int = 0
    priority_ok: int = 0
    priority_total: int = 0
    sentiment_right: int = 0
    intent_right: int = 0
    entities_found: int = 0
    entities_expected: int = 0
    misses: list[str] = field(default_factory=list)

    @staticmethod
    def _share(part: int, whole: int) -> float:
        return part / whole if whole else 1.0

    def summary(self) -> dict[str, float]:
        precision = self._share(self.event_tp, self.event_tp + self.event_fp)
        recall = self._share(self.event_tp, self.event_tp + self.event_fn)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        n = self.conversations or 1
        return {
            "event_precision": precision,
            "event_recall": recall,
            "event_f1": f1,
            "event_titles": self._share(self.titles_matched, self.titles_total),
            "task_type_recall": self._share(self.task_types_found, self.task_types_expected),
            "no_false_task": self._share(self.no_task_right, self.no_task_total),
            "task_priority": self._share(self.priority_ok, self.priority_total),
            "sentiment_accuracy": self.sentiment_right / n,
            "intent_accuracy": self.intent_right / n,
            "entity_recall": self._share(self.entities_found, self.entities_expected),
        }


def score_one(scores: Scores, output: dict[str, Any], expected: dict[str, Any]) -> None:
    cid = output["id"]
    scores.conversations += 1
    unmatched = list(output["events"])
    for event in expected.get("events", []):
        match = next((p for p in unmatched if same_start(p["start"], event["start"])), None)
        if match is None:
            scores.event_fn += 1
            scores.misses.append(f"{cid}: event {event['start']} {event['title']!r} not found")
            continue
        unmatched.remove(match)
        scores.event_tp += 1
        scores.titles_total += 1
        if title_matches(match["title"], event["title"]):
            scores.titles_matched += 1
        else:
            scores.misses.append(f"{cid}: title {match['title']!r} for {event['title']!r}")
    scores.event_fp += len(unmatched)
    for extra in unmatched:
        scores.misses.append(f"{cid}: extra event {extra['start']} {extra['title']!r}")

    expected_tasks = expected.get("tasks", [])
    predicted_types = Counter(t["type"] for t in output["tasks"])
    if not expected_tasks:
        scores.no_task_total += 1
        if not output["tasks"]:
            scores.no_task_right += 1
        else:
            scores.misses.append(f"{cid}: tasks {sorted(predicted_types)} where none expected")
    for task in expected_tasks:
        scores.task_types_expected += 1
        candidates = [t for t in output["tasks"] if t["type"] == task["type"]]
        if predicted_types[task["type"]] > 0:
            predicted_types[task["type"]] -= 1
            scores.task_types_found += 1
            scores.priority_total += 1
            if any(t["priority"] <= task["priority_max"] for t in candidates):
                scores.priority_ok += 1
            else:
                scores.misses.append(f"{cid}: {task['type']} priority above {task['priority_max']}")
        else:
            scores.misses.append(f"{cid}: no {task['type']} task")

    for key, right in (("sentiment", "sentiment_right"), ("intent", "intent_right")):
        if output[key] == expected.get(key):
            setattr(scores, right, getattr(scores, right) + 1)
        else:
            scores.misses.append(f"{cid}: {key} {output[key]} for {expected.get(key)}")

    named = {fold(e["text"]).strip(" .") for e in output["entities"]}
    for kind in ("person", "organization"):
        for name in expected.get("entities", {}).get(kind, []):
            scores.entities_expected += 1
            if fold(name).strip(" .") in named:
                scores.entities_found += 1
            else:
                scores.misses.append(f"{cid}: {kind} {name!r} not found")


def evaluate(path: Path) -> Scores:
    scores = Scores()
    with path.open(encoding="utf-8") as lines:
        for conversation, record in read_conversations(lines, path.name):
            if "expected" not in record:
                raise BadConversationFile(f"{path.name}: {conversation.id} has no `expected` label")
            output = output_record(conversation, analyze(conversation))
            score_one(scores, output, record["expected"])
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="labeled conversations (JSON lines)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.add_argument("--show-misses", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    try:
        scores = evaluate(args.file)
    except (OSError, BadConversationFile) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    summary = scores.summary()
    if args.json:
        print(json.dumps({"conversations": scores.conversations, **summary}, indent=2))
    else:
        print(f"{scores.conversations} conversations ({args.file})")
        for name, value in summary.items():
            print(f"  {name:<20} {value:6.3f}")
    if args.show_misses:
        for miss in scores.misses:
            print("  miss:", miss)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
