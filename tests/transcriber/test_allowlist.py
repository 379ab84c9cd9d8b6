"""Which hosts voice notes may come from."""

from __future__ import annotations

import pytest

from services.transcriber.allowlist import HostAllowList, same_origin
from services.transcriber.settings import DEFAULT_MEDIA_HOSTS

DEFAULTS = HostAllowList.of(
    (*DEFAULT_MEDIA_HOSTS, "https://api.twilio.com", "https://graph.facebook.com"),
    "http://127.0.0.1:8000/media/",
)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        "https://mms.twiliocdn.com/AC1/abc",
        "https://s3-external-1.media.twiliocdn.com/x",
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
        "https://graph.facebook.com/v20.0/123",
        "http://127.0.0.1:8000/media/abc.ogg",
    ],
)
def test_the_providers_hosts_and_the_local_media_route_are_allowed(url: str) -> None:
    assert DEFAULTS.allows(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.twilio.com/2010-04-01/x",  # providers are HTTPS only
        "https://twiliocdn.com/x",  # the wildcard covers sub-domains, not the bare domain
        "https://evil-twiliocdn.com/x",
        "https://api.twilio.com.evil.example/x",
        "https://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:8000/webhooks/twilio/whatsapp",  # loopback only under /media/
        "http://127.0.0.1:5432/media/x",  # another local port
        "http://127.0.0.1:8000/media/../admin",
        "ftp://api.twilio.com/x",
        "not a url",
    ],
)
def test_everything_else_is_refused(url: str) -> None:
    assert not DEFAULTS.allows(url)


def test_a_configured_base_with_a_port_allows_that_port_only() -> None:
    allow = HostAllowList.of(("http://127.0.0.1:9999",))
    assert allow.allows("http://127.0.0.1:9999/v20.0/1")
    assert not allow.allows("http://127.0.0.1:9998/v20.0/1")


def test_the_local_route_can_be_switched_off() -> None:
    allow = HostAllowList.of(("api.twilio.com",), local_media_url="")
    assert not allow.allows("http://127.0.0.1:8000/media/abc.ogg")


def test_credentials_follow_the_origin_only() -> None:
    assert same_origin("https://api.twilio.com", "https://api.twilio.com/2010-04-01/x")
    assert not same_origin("https://api.twilio.com", "https://mms.twiliocdn.com/x")
    assert not same_origin("http://127.0.0.1:1", "http://127.0.0.1:2/x")
