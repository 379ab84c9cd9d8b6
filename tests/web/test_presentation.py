"""The web app's pure parts: every word has its Spanish, times and weeks read right."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from services.inbox.web import assets, i18n, present

TEMPLATES = Path(i18n.__file__).parent / "templates"
ASKED = re.compile(r"""\bt\(\s*(["'])(.+?)\1""")
# Texts the templates pass to t() through a variable.
DYNAMIC = [
    *present.MODE_LABELS.values(),
    *present.AUTHOR_LABELS.values(),
    *present.SENTIMENTS,
    *("pending", "sent", "delivered", "read", "failed", "undelivered", "blocked"),
    *("open", "done", "cancelled"),
    *("Messages per day", "First-response time", "Sentiment over time", "Intents", "Tasks"),
    *("Wrong e-mail or password.", "Too many failed sign-ins; try again later."),
]


def test_every_text_the_pages_show_has_its_spanish() -> None:
    asked = {m.group(2) for f in TEMPLATES.glob("*.html") for m in ASKED.finditer(f.read_text())}
    missing = sorted(text for text in asked | set(DYNAMIC) if text not in i18n.SPANISH)
    assert not missing, missing


def test_language_is_the_choice_else_the_browser_else_spanish() -> None:
    assert i18n.choose("en", "es-ES,es;q=0.9") == "en"
    assert i18n.choose(None, "en-GB,en;q=0.9,es;q=0.5") == "en"
    assert i18n.choose("fr", "fr-FR, es;q=0.5") == "es"
    assert i18n.choose(None, None) == "es"
    assert i18n.translator("es")("Window open until {time}", time="10:00") == (
        "Ventana abierta hasta 10:00"
    )
    assert i18n.translator("en")("Take over") == "Take over"


def test_times_are_in_the_business_zone_and_language() -> None:
    madrid = present.Clock(ZoneInfo("Europe/Madrid"), "es")
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert madrid.when("2026-12-01T08:30:00Z", now) == "9:30"
    assert madrid.when("2026-11-20T08:30:00Z", now) == "20 nov 9:30"
    assert present.Clock(ZoneInfo("Europe/Madrid"), "en").when("2026-12-01T08:30:00Z", now) == (
        "9:30\u202fAM"
    )


def test_the_reply_window() -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert present.window_state("2026-12-01T10:00:00Z", now) == "open"
    assert present.window_state("2026-12-01T08:00:00+00:00", now) == "closed"
    assert present.window_state(None, now) == "never"


def test_the_week_places_events_on_their_local_day() -> None:
    zone = ZoneInfo("Europe/Madrid")
    events = [
        # 23:30 UTC on Sunday is Monday in Madrid.
        {"title": "late", "start": "2026-11-29T23:30:00+00:00"},
        {"title": "all day", "start": "2026-12-04"},
        {"title": "next week", "start": "2026-12-08T10:00:00+01:00"},
    ]
    days = present.week(present.week_start(date(2026, 12, 2)), events, zone)
    assert [d.date.isoformat() for d in days][:2] == ["2026-11-30", "2026-12-01"]
    assert [e["title"] for e in days[0].events] == ["late"]
    assert [e["title"] for e in days[4].events] == ["all day"]
    assert sum(len(d.events) for d in days) == 2


def test_analytics_series() -> None:
    figures = {
        "messages": [
            {"day": "2026-12-02", "channel": "whatsapp", "inbound": 3, "outbound": 2},
            {"day": "2026-12-01", "channel": "whatsapp", "inbound": 1, "outbound": 1},
            {"day": "2026-12-02", "channel": "voice", "inbound": 1, "outbound": 0},
        ],
        "sentiment": [{"day": "2026-12-01", "sentiment": "negative", "count": 2}],
        "intents": {"schedule": 2, "info": 5},
        "first_response": {"automatic": {"count": 3, "p50_seconds": 1.5, "p90_seconds": 4}},
    }
    assert present.messages_per_day(figures) == {
        "labels": ["2026-12-01", "2026-12-02"],
        "inbound": [1, 4],
        "outbound": [1, 2],
    }
    assert present.sentiment_over_time(figures)["series"] == {"negative": [2]}
    assert present.intents(figures) == {"labels": ["info", "schedule"], "counts": [5, 2]}
    assert present.response_times(figures)["p50"] == [1.5, None]
    assert present.seconds(42) == "42 s" and present.seconds(600) == "10 min"


def test_only_listed_files_are_served() -> None:
    assert assets.find("app.js") == assets.STATIC / "app.js"
    assert assets.find("../pages.py") is None
    assert assets.find("package.json") is None
    assert assets.find("htmx.min.js") == assets.NODE_MODULES / "htmx.org/dist/htmx.min.js"
