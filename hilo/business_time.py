"""The business's time zone: the one rule for reading dates and placing events, and for
showing times to people.

"El viernes a las 10" means ten o'clock where the business is, whoever writes it: the
business keeps the calendar. So, in order:

1. ``HILO_TIMEZONE``, when set (the README's first steps ask for it);
2. else the zone of the business's WhatsApp number (``TWILIO_WHATSAPP_FROM``, or the
   business number an inbound message was sent to), when its country has exactly one
   (``phonenumbers.timezone``: +57 → America/Bogota, +51 → America/Lima; not +1, +52,
   +55, nor +34 with the Canaries: a guess there would put appointments hours off);
3. else UTC, and the services say so at start-up (:func:`startup_warning`).

The contact's own number plays no part: a customer abroad still books in the
business's hours. Pure, but for reading TWILIO_WHATSAPP_FROM from the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_timezones
from pydantic_settings import BaseSettings, SettingsConfigDict

from hilo.business import ProfileSource, configured_path
from hilo.errors import UserError
from hilo.settings import HiloSettings

Source = Literal["HILO_TIMEZONE", "business number", "fallback"]
FALLBACK = "UTC"


class UnknownTimezone(UserError):
    """HILO_TIMEZONE names no IANA zone: a start-up error, not a silent UTC."""


@dataclass(frozen=True)
class BusinessZone:
    name: str
    source: Source

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.name)


def configured_timezone(settings: HiloSettings) -> str | None:
    """HILO_TIMEZONE as set by the operator; None when left at its default."""
    if "timezone" not in settings.model_fields_set or not settings.timezone.strip():
        return None
    name = settings.timezone.strip()
    if not is_known_zone(name):
        raise UnknownTimezone(
            f"HILO_TIMEZONE={name!r} is not a time zone (e.g. Europe/Madrid, America/Bogota)"
        )
    return name


def zone_of_number(number: str | None) -> str | None:
    """The time zone of a number's country when it has exactly one, else None."""
    if not number:
        return None
    text = number.removeprefix("whatsapp:").strip()
    if text and not text.startswith("+"):
        text = "+" + text  # stored as digits
    try:
        parsed = phonenumbers.parse(text)
    except phonenumbers.NumberParseException:
        return None
    # The whole country's zones, not the area code's: a San Francisco number does not make
    # a business in New York keep Pacific time. phonenumbers has no public name for this.
    country_zones = getattr(number_timezones, "_country_level_time_zones_for_number", None)
    zones = (country_zones or number_timezones.time_zones_for_number)(parsed)
    if len(zones) == 1 and zones[0] != "Etc/Unknown" and is_known_zone(zones[0]):
        return str(zones[0])
    return None


def business_zone(configured: str | None, *business_numbers: str | None) -> BusinessZone:
    """The rule: HILO_TIMEZONE, else the first business number with one zone, else UTC."""
    if configured:
        return BusinessZone(configured, "HILO_TIMEZONE")
    for number in business_numbers:
        zone = zone_of_number(number)
        if zone:
            return BusinessZone(zone, "business number")
    return BusinessZone(FALLBACK, "fallback")


class _BusinessNumber(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    twilio_whatsapp_from: str | None = None


def configured_business_number() -> str | None:
    """TWILIO_WHATSAPP_FROM from the environment or `.env`, for processes without it in
    their own settings (the CLI)."""
    return _BusinessNumber().twilio_whatsapp_from


def profile_timezone(business_file: str | None = None, *, required: bool = False) -> str | None:
    """The business profile's zone, which comes first (HILO_BUSINESS_FILE when not given);
    None without a profile. Raises InvalidProfile when the file is broken."""
    current = ProfileSource(configured_path(business_file), required=required).current()
    return current.profile.timezone if current else None


def settings_zone(settings: HiloSettings, *business_numbers: str | None) -> BusinessZone:
    """:func:`business_zone` for a process's settings (raises on a bad HILO_TIMEZONE)."""
    return business_zone(configured_timezone(settings), *business_numbers)


def startup_warning(zone: BusinessZone) -> str | None:
    """What a service logs at start-up when times would be read in UTC by default."""
    if zone.source != "fallback":
        return None
    return (
        "HILO_TIMEZONE is not set and the business's WhatsApp number (TWILIO_WHATSAPP_FROM) "
        "does not name a country with one time zone: dates are read in UTC until a message "
        "to a business number of such a country arrives. Set HILO_TIMEZONE (e.g. Europe/Madrid)."
    )


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-11-20 10:00:00 +01:00``: a time as the business reads it, offset included."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def zone_or_utc(name: str | None) -> ZoneInfo:
    """A stored zone name as a zone; UTC for one this machine does not know."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
