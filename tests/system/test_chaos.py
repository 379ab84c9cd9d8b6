"""The small run of `make chaos`, in `make test`: ~100 messages through `hilo up`, one kill of
each kind (every service, a PostgreSQL backend, the PostgreSQL server, NATS), fixed seed.

The runner, the load and the verdict are chaos/ (one copy); this only picks the size.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.run import Config, run


@pytest.mark.timeout(1500)
async def test_kill_9_of_every_part_under_mixed_load_loses_doubles_and_reorders_nothing(
    tmp_path: Path,
) -> None:
    os.chmod(tmp_path, 0o777)  # pgserver runs PostgreSQL as its own user when we are root
    report = await run(Config(messages=100, contacts=12, seed=18, rounds=1), tmp_path)
    print("\n".join(report.lines()))
    assert report.ok, "\n".join(report.all_problems)
    assert sum(report.kills.values()) == len(report.kills) == 13  # one of each kind
    assert sum(report.ledger.acknowledged().values()) == 100
    figures = report.verdict.figures
    assert figures["sent"] == figures["provider_received"] > 0
    assert report.verdict.lost == report.verdict.doubled == report.verdict.out_of_order == 0
    assert report.projections == {}
