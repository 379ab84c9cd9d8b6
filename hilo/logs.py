"""Log lines without secrets, capability URLs or readable phone numbers.

Hilo's own code logs ids, kinds and counts, never a text or a token, and masks numbers
with :func:`masked`. Libraries log what they log: httpx writes every request URL at INFO,
and a media URL after the provider's redirect carries a signature that fetches the file
(Twilio's CDN ``?Expires=…&Signature=…``, Meta's lookaside ``?…&oh=…``). The
:class:`Redactor` filter, installed on the process's handlers by ``hilo serve`` (and so by
``hilo up``), rewrites every record on its way out: query values, E.164 numbers and the
values of the secrets in the environment are masked.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping

# Variables whose values are secrets (CONTRACT.md names them: *_TOKEN, *_SECRET, *_KEY…).
SECRET_NAME = re.compile(r"(TOKEN|SECRET|KEY|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
# Shorter values are too likely to occur by chance to be replaced everywhere.
MIN_SECRET_LENGTH = 6
_QUERY_VALUE = re.compile(r"(?P<key>[?&][^=&#\s\"']+=)[^&#\s\"']+")
# E.164 (``+573001112233``, ``whatsapp:+57…``), and the digits Hilo puts in NATS subjects
# (``message.received.573001112233``).
_NUMBER = re.compile(r"(?:(?<![\w+])\+|(?<=[a-z_]\.))(?P<digits>[1-9]\d{7,14})(?![\w])")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)


def masked(number: str) -> str:
    """Enough of a phone number to tell conversations apart in logs, not to identify anyone."""
    return f"…{number[-4:]}" if len(number) > 4 else "…"


def secrets_from(environ: Mapping[str, str]) -> list[str]:
    values = {v.strip() for k, v in environ.items() if SECRET_NAME.search(k)}
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    text = _URL.sub(lambda url: _QUERY_VALUE.sub(r"\g<key>…", url.group(0)), text)
    return _NUMBER.sub(lambda number: masked(number.group("digits")), text)


class Redactor(logging.Filter):
    """Rewrites each record's message (arguments merged in) and traceback, masked."""

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__()
        self.secrets = list(secrets) if secrets is not None else secrets_from(os.environ)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # A malformed logging call: let the handler report it as it always would
            # (a filter that raised would break the caller instead).
            return True
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info), self.secrets)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


def install(
    handlers: Iterable[logging.Handler] | None = None, secrets: Iterable[str] | None = None
) -> Redactor:
    """Put one :class:`Redactor` on these handlers (default: the root logger's); ``secrets``
    default to the values of the environment's secret-named variables."""
    redactor = Redactor(secrets)
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor
