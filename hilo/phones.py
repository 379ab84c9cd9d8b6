"""Phone numbers as the one key that joins WhatsApp and voice: E.164, via `phonenumbers`."""

from __future__ import annotations

import phonenumbers

from hilo.errors import UserError


class InvalidPhoneNumber(UserError, ValueError):
    """Not a phone number that can be written in E.164."""


def to_e164(raw: str, default_region: str | None = None) -> str:
    """``whatsapp:+57 300…``, ``57300…`` (Meta) and ``+57300…`` all become ``+57300…``."""
    text = raw.strip()
    for prefix in ("whatsapp:", "tel:", "sip:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    text = text.split("@", 1)[0]
    if not text.startswith("+") and default_region is None:
        text = "+" + text.lstrip("0")
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+") and len(digits) == 13 and digits.startswith("521"):
        # WhatsApp still names Mexican mobiles with the old "1" after the country code (a
        # wa_id of 52, 1, then ten digits); the number a phone call shows is +52 and the ten.
        text = "+52" + digits[3:]
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(f"{raw!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
