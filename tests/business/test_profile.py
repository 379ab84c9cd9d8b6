"""The business profile file: validated with errors by line, reloaded on change. Pure."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hilo.business import (
    InvalidProfile,
    ProfileSource,
    load_profile,
    main,
    parse_profile,
)
from tests.business.conftest import profile_yaml

MADRID = ZoneInfo("Europe/Madrid")
REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_example_profile_is_valid_and_spanish_first() -> None:
    loaded = load_profile(REPO / "business.yaml")
    profile = loaded.profile
    assert profile.default_language == "es" and profile.timezone == "Europe/Madrid"
    assert profile.services[0].name.in_language("en") == "Dental cleaning"
    assert profile.faq[0].q.in_language("es") == "¿Tenéis aparcamiento?"
    assert len(loaded.version) == 16


def test_plain_strings_are_in_the_first_language_and_hours_are_read() -> None:
    profile = parse_profile(profile_yaml()).profile
    monday = date(2026, 12, 7)
    assert [str(s) for s in profile.spans_on(monday)] == ["09:00–14:00", "16:00–18:00"]
    assert profile.spans_on(date(2026, 12, 6)) == ()  # a Sunday, left out
    assert profile.is_open_between(
        datetime(2026, 12, 7, 13, 15, tzinfo=MADRID), datetime(2026, 12, 7, 14, tzinfo=MADRID)
    )
    assert not profile.is_open_between(
        datetime(2026, 12, 7, 13, 30, tzinfo=MADRID), datetime(2026, 12, 7, 14, 15, tzinfo=MADRID)
    )


@pytest.mark.parametrize(
    ("broken", "line", "words"),
    [
        ('name: X\nhours:\n  mon: ["9-14"]\n', 3, "hours.mon.0: '9-14' is not a span"),
        ("name: X\ntimezone: Mars/Base\n", 2, "unknown time zone"),
        ("name: X\nbooking:\n  parallel: 0\n", 3, "booking.parallel"),
        ("name: X\nservices:\n  - price: 4\n", 3, "services.0.name: Field required"),
        ("name: X\nsurprise: 1\n", 2, "surprise: Extra inputs"),
        ('name: X\nhours:\n  tue: ["8:00-9:00",\n    "10:00-09:00"]\n', 4, "ends before it"),
        ('name: X\nhours:\n  tue: ["8:00-10:00", "9:00-11:00"]\n', 3, "overlap"),
        ("name: [unclosed\n", 2, "not valid YAML"),
        ("- a list\n", 1, "a business profile is a mapping"),
    ],
)
def test_errors_name_the_file_and_the_line(broken: str, line: int, words: str) -> None:
    with pytest.raises(InvalidProfile) as raised:
        parse_profile(broken, Path("shop.yaml"))
    message = str(raised.value)
    assert message.startswith(f"shop.yaml:{line}: "), message
    assert words in message


def test_the_check_command_prints_errors_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "business.yaml"
    path.write_text("name: X\nbooking:\n  slot_minutes: -5\n", encoding="utf-8")
    assert main([str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"{path}:3: booking.slot_minutes")
    assert main([str(REPO / "business.yaml")]) == 0


def test_a_changed_file_is_reloaded_and_a_broken_edit_keeps_the_last_good_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "business.yaml"
    path.write_text(profile_yaml(), encoding="utf-8")
    source = ProfileSource(path, required=True)
    first = source.current()
    assert first is not None and source.current() is first  # unchanged: not read again

    path.write_text(profile_yaml(price="50 €"), encoding="utf-8")
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    second = source.current()
    assert second is not None and second.version != first.version
    assert second.profile.services[0].price == "50 €"

    path.write_text("name: [broken\n", encoding="utf-8")
    os.utime(path, ns=(1, 2_000_000_000_000_000_001))
    assert source.current() is second


def test_a_missing_default_file_means_no_profile_but_a_named_one_must_exist(
    tmp_path: Path,
) -> None:
    assert ProfileSource(tmp_path / "business.yaml").current() is None
    with pytest.raises(InvalidProfile, match="cannot read"):
        ProfileSource(tmp_path / "business.yaml", required=True)


def test_hilo_up_refuses_a_broken_profile_with_its_line_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "business.yaml"
    path.write_text('name: X\nhours:\n  mon: ["nine to five"]\n', encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HILO_")},
        "HILO_BUSINESS_FILE": str(path),
        "HILO_DATA_DIR": str(tmp_path / "data"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "hilo.cli.main", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert f"{path}:3: hours.mon.0: 'nine to five' is not a span" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "data").exists()  # nothing was started
