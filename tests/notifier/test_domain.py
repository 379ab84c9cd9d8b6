"""The notifier's rules without servers: window, templates, keywords, error classes, pacing."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hilo.text import keyword
from schemas import ReplyReady, TemplateRef
from services.notifier.delivery import masked
from services.notifier.pacing import TokenBucket
from services.notifier.policy import (
    OptKeywords,
    choose_template,
    classify,
    media_filename,
    media_kind,
    outbox_message_id,
    window_open,
)
from services.notifier.settings import NotifierSettings

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_window_is_open_for_24_hours_after_the_last_inbound_message() -> None:
    assert window_open(NOW - timedelta(hours=23, minutes=59), NOW)
    assert not window_open(NOW - timedelta(hours=24), NOW)
    assert not window_open(None, NOW)


def test_outbox_ids_are_stable_per_reply() -> None:
    reply_id = uuid.uuid4()
    assert outbox_message_id(reply_id) == outbox_message_id(reply_id)
    assert outbox_message_id(reply_id) != outbox_message_id(uuid.uuid4())


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://x.example/a/photo.JPG", "image"),
        ("https://x.example/a/voice.ogg?sig=1", "audio"),
        ("https://x.example/a/clip.mp4", "video"),
        ("https://x.example/a/factura.pdf", "document"),
        ("https://x.example/download", "document"),
    ],
)
def test_media_kind_comes_from_the_extension(url: str, kind: str) -> None:
    assert media_kind(url) == kind


def test_media_filename() -> None:
    assert media_filename("https://x.example/a/factura.pdf?x=1") == "factura.pdf"


def _reply(**fields: object) -> ReplyReady:
    return ReplyReady(
        conversation="+573001112233", reply_id=uuid.uuid4(), author="analyzer", **fields
    )


def test_template_from_the_reply_orders_variables_numerically() -> None:
    reply = _reply(
        text="x",
        template=TemplateRef(name="t", language="en", variables={"10": "c", "2": "b", "1": "a"}),
    )
    template = choose_template(reply, "meta", "default", "es")
    assert template is not None and template.name == "t"
    assert [v for _, v in template.variables] == ["a", "b", "c"]
    assert template.twilio_content_variables() == '{"1": "a", "2": "b", "10": "c"}'


def test_default_template_carries_the_reply_text_and_none_means_blocked() -> None:
    reply = _reply(text="Hola Ana", language="es")
    template = choose_template(reply, "meta", "seguimiento", "en")
    assert template is not None
    assert template.meta_payload() == {
        "type": "template",
        "template": {
            "name": "seguimiento",
            "language": {"code": "es"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Hola Ana"}]}],
        },
    }
    assert choose_template(reply, "twilio", None, "es") is None


def test_keywords_match_whole_messages_ignoring_case_accents_and_punctuation() -> None:
    s = NotifierSettings(_env_file=None)
    keywords = OptKeywords.build(
        s.notifier_opt_out_keywords_es,
        s.notifier_opt_out_keywords_en,
        s.notifier_opt_in_keywords_es,
        s.notifier_opt_in_keywords_en,
    )
    assert keywords.match("STOP") == ("opt_out", "en", "stop")
    assert keywords.match("¡Baja!") == ("opt_out", "es", "baja")
    assert keywords.match("Cancelar suscripción") == ("opt_out", "es", "cancelar suscripcion")
    assert keywords.match("darme de BAJA.") == ("opt_out", "es", "darme de baja")
    assert keywords.match("Unsubscribe") == ("opt_out", "en", "unsubscribe")
    assert keywords.match("start") == ("opt_in", "en", "start")
    assert keywords.match("Alta") == ("opt_in", "es", "alta")
    assert keywords.match("stop sending me the menu please") is None
    assert keywords.match("quiero darme de baja mañana") is None
    assert keywords.match(None) is None
    # In a conversation about appointments these cancel the meeting, not the subscription.
    assert keywords.match("Cancelar") is None
    assert keywords.match("cancel") is None


def test_keywords_ignore_case_accents_and_punctuation() -> None:
    assert keyword("  ¡Cancelar   SUSCRIPCIÓN!! ") == "cancelar suscripcion"


@pytest.mark.parametrize(
    ("channel", "status", "code", "verdict"),
    [
        ("twilio", 400, 63016, "window_closed"),
        ("twilio", 429, 20429, "retry"),
        ("twilio", 400, 63018, "retry"),
        ("twilio", 500, None, "retry"),
        ("twilio", 400, 21211, "permanent"),
        ("twilio", 400, 63003, "permanent"),
        ("twilio", 400, 21610, "opted_out"),
        ("twilio", None, None, "retry"),
        ("meta", 400, 131047, "window_closed"),
        ("meta", 400, 130429, "retry"),
        ("meta", 400, 131056, "retry"),
        ("meta", 400, 80007, "retry"),
        ("meta", 400, 131026, "permanent"),
        ("meta", 401, 190, "permanent"),
        ("meta", 503, None, "retry"),
    ],
)
def test_error_classes(channel: str, status: int | None, code: int | None, verdict: str) -> None:
    assert classify(channel, status, code) == verdict  # type: ignore[arg-type]


def test_masked_numbers_keep_only_the_last_digits() -> None:
    assert masked("+573001112233") == "…2233"


class VirtualClock:
    """Time that passes only when the bucket sleeps: the spacing is exact, the test instant."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_token_bucket_spaces_acquisitions() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(20.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(4):
        await bucket.acquire()
        stamps.append(clock.now - 100.0)
    assert stamps[0] == 0  # the first token is there at once
    assert all(b - a == pytest.approx(0.05) for a, b in itertools.pairwise(stamps))


async def test_token_bucket_off_never_waits() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(0, clock=clock, sleep=clock.sleep)
    await asyncio.gather(*(bucket.acquire() for _ in range(100)))
    assert clock.sleeps == []
