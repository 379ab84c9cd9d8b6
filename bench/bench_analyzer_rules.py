"""The `rules` backend alone: conversations analysed per second, on the labeled dev set.

Each round analyses every dev conversation once (validated from JSON, as the live
service does per burst). The peer is `dateparser`'s ``search_dates`` run over the same
conversations' inbound messages (each relative to its own time): a general-purpose
parser doing only the date part of the work. Printed: medians over rounds and the ratio.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import print_table
from dateparser.search import search_dates

from services.analyzer.models import Conversation
from services.analyzer.rules import analyze

ROUNDS = 7
DEV = Path(__file__).resolve().parents[1] / "data" / "analysis-dev.jsonl"


def _records() -> list[dict[str, object]]:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    for record in records:
        record.pop("expected", None)
    return records


def _rules_round(records: list[dict[str, object]]) -> float:
    started = time.perf_counter()
    for record in records:
        analyze(Conversation.model_validate(record))
    return time.perf_counter() - started


def _dateparser_round(records: list[dict[str, object]]) -> float:
    started = time.perf_counter()
    for record in records:
        conversation = Conversation.model_validate(record)
        languages = [conversation.language or "es"]
        for message in conversation.messages:
            if message.direction == "inbound":
                base = message.at.replace(tzinfo=None)
                search_dates(message.text, languages=languages, settings={"RELATIVE_BASE": base})
    return time.perf_counter() - started


def main() -> None:
    records = _records()
    _rules_round(records)  # warm the regex cache and imports
    _dateparser_round(records)
    rules = [_rules_round(records) for _ in range(ROUNDS)]
    peer = [_dateparser_round(records) for _ in range(3)]
    count = len(records)
    ours, theirs = count / statistics.median(rules), count / statistics.median(peer)
    print_table(
        f"Analyzer rules backend: {count} dev conversations, whole analysis"
        " (peer: dateparser.search_dates on the inbound messages only)",
        [("conversations per second", ours, theirs)],
        "conversations/s",
    )
    print(
        f"  median time per conversation: {1000 / ours:.2f} ms (dateparser {1000 / theirs:.2f} ms)"
    )


if __name__ == "__main__":
    main()
