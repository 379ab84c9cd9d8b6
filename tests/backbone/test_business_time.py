"""One rule for the business's zone: the profile's, HILO_TIMEZONE, its number's country, UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hilo.business import InvalidProfile
from hilo.business_time import (
    BusinessZone,
    UnknownTimezone,
    business_zone,
    local_time,
    profile_timezone,
    settings_zone,
    startup_warning,
    zone_of_number,
)
from hilo.settings import HiloSettings


@pytest.mark.parametrize(
    ("number", "zone"),
    [
        ("+573009998877", "America/Bogota"),
        ("573009998877", "America/Bogota"),  # stored as digits
        ("whatsapp:+51987654321", "America/Lima"),
        ("+34600111222", None),  # Spain: the Canaries are an hour behind
        ("+14155238886", None),  # +1 spans many zones
        ("+5215512345678", None),
        ("not a number", None),
        (None, None),
    ],
)
def test_a_number_names_a_zone_only_when_its_country_has_one(
    number: str | None, zone: str | None
) -> None:
    assert zone_of_number(number) == zone


def test_the_rule_in_order() -> None:
    assert business_zone("Europe/Madrid", "+573009998877") == BusinessZone(
        "Europe/Madrid", "HILO_TIMEZONE"
    )
    assert business_zone(None, "+14155238886", "+573009998877") == BusinessZone(
        "America/Bogota", "business number"
    )
    assert business_zone(None, "+34600111222", None) == BusinessZone("UTC", "fallback")


def test_hilo_timezone_is_read_only_when_set_and_must_be_a_zone() -> None:
    assert settings_zone(HiloSettings(_env_file=None), "+51987654321").name == "America/Lima"
    madrid = HiloSettings(_env_file=None, timezone="Europe/Madrid")
    assert settings_zone(madrid, "+51987654321").source == "HILO_TIMEZONE"
    with pytest.raises(UnknownTimezone, match="Mars/Olympus"):
        settings_zone(HiloSettings(_env_file=None, timezone="Mars/Olympus"))


def test_utc_by_default_is_said_at_start_up() -> None:
    assert startup_warning(BusinessZone("UTC", "fallback"))
    assert startup_warning(BusinessZone("UTC", "HILO_TIMEZONE")) is None
    assert startup_warning(BusinessZone("America/Lima", "business number")) is None


def test_times_are_shown_in_the_business_zone_with_their_offset() -> None:
    moment = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert local_time(moment, ZoneInfo("Europe/Madrid")) == "2026-11-20 10:00:00 +01:00"
    assert local_time(moment, ZoneInfo("America/Bogota")) == "2026-11-20 04:00:00 -05:00"
    assert local_time(moment, ZoneInfo("UTC")) == "2026-11-20 09:00:00 +00:00"


def test_the_cli_shows_the_conversation_in_the_business_zone() -> None:
    from hilo.cli.render import conversation_table
    from hilo.projections.conversation import apply, new_document
    from schemas import MessageReceived

    message = MessageReceived(
        conversation="+34600111222",
        occurred_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        provider="twilio",
        provider_message_id="SM1",
        text="Hola",
    )
    doc = new_document(message.conversation)
    apply(doc, message.model_dump(mode="json"), 1)
    table = conversation_table(doc, ZoneInfo("Europe/Madrid"))
    assert table.columns[0].header == "at (Europe/Madrid)"
    assert list(table.columns[0].cells) == ["2026-11-20 10:00:00 +01:00"]


def test_the_profiles_zone_comes_first_and_no_profile_says_nothing(tmp_path: Path) -> None:
    profile = tmp_path / "business.yaml"
    profile.write_text("name: Clínica\ntimezone: America/Bogota\n", encoding="utf-8")
    assert profile_timezone(str(profile)) == "America/Bogota"
    assert profile_timezone(str(tmp_path / "absent.yaml")) is None  # the default may be absent
    assert profile_timezone("") is None  # HILO_BUSINESS_FILE= turns the profile off
    with pytest.raises(InvalidProfile):
        profile_timezone(str(tmp_path / "absent.yaml"), required=True)
