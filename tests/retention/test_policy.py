"""When a recording is due (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.transcriber.retention import RetentionPolicy

NOW = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)


def test_audio_is_due_to_the_second_and_transcripts_by_whole_days() -> None:
    policy = RetentionPolicy(audio_days=30, transcript_days=10)
    assert policy.audio_cutoff(NOW) == datetime(2026, 5, 16, 9, 30, tzinfo=UTC)
    # 5 June 09:30 is 10 days ago, so 4 June is the last whole day older than that.
    assert policy.transcript_cutoff_day(NOW) == date(2026, 6, 5)
    assert policy.transcript_cutoff(NOW) == datetime(2026, 6, 5, tzinfo=UTC)


def test_unset_keeps_forever() -> None:
    policy = RetentionPolicy()
    assert policy.keeps_everything
    assert policy.audio_cutoff(NOW) is None and policy.transcript_cutoff_day(NOW) is None
