"""Downloads from the Twilio and Meta stand-ins, following each provider's rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response

from hilo.testing import serving
from schemas import MediaRef
from services.transcriber.app import media_config
from services.transcriber.failures import TranscriptionError
from services.transcriber.media import MediaFetcher
from tests.transcriber.conftest import transcriber_settings
from tests.transcriber.standins import API_HOST, ProviderStandIn

NOTE = b"OggS" + b"\x01" * 5000  # the bytes only travel here; nobody decodes them
MiB = 1024 * 1024


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=5) as client:
        yield client


def fetcher(http: httpx.AsyncClient, standin: ProviderStandIn, **overrides: Any) -> MediaFetcher:
    return MediaFetcher(http, media_config(transcriber_settings(standin, **overrides)))


async def failure(fetch: Any) -> TranscriptionError:
    with pytest.raises(TranscriptionError) as caught:
        await fetch
    return caught.value


async def test_twilio_media_uses_basic_auth_and_never_sends_it_to_the_cdn(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("ME1", NOTE, "audio/ogg")
    got = await fetcher(http, standin).fetch("twilio", MediaRef(url=standin.twilio_url("ME1")))
    assert got.data == NOTE and got.content_type == "audio/ogg"
    assert standin.cdn_requests == [("/twilio/ME1", False)]


async def test_twilio_without_credentials_is_refused_permanently(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("ME1", NOTE, "audio/ogg")
    media = MediaRef(url=standin.twilio_url("ME1"))
    error = await failure(fetcher(http, standin, twilio_auth_token=None).fetch("twilio", media))
    assert (error.reason, error.transient) == ("download_failed", False)
    assert "401" in error.detail and standin.cdn_requests == []


async def test_a_redirect_off_the_allow_list_is_not_followed(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("ME1", NOTE, "audio/ogg", redirect_to="http://127.0.0.3:9/steal")
    media = MediaRef(url=standin.twilio_url("ME1"))
    error = await failure(fetcher(http, standin).fetch("twilio", media))
    assert error.reason == "host_not_allowed" and not error.transient


async def test_a_media_url_off_the_allow_list_is_never_requested(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("ME1", NOTE, "audio/ogg")
    media = MediaRef(url=standin.twilio_url("ME1"))
    strict = fetcher(
        http,
        standin,
        twilio_api_base="https://api.twilio.com",
        graph_api_base="https://graph.facebook.com",
    )
    error = await failure(strict.fetch("twilio", media))
    assert error.reason == "host_not_allowed"
    assert standin.api_requests == []


async def test_server_trouble_is_transient(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("ME1", NOTE, "audio/ogg", fail_times=1)
    media = MediaRef(url=standin.twilio_url("ME1"))
    error = await failure(fetcher(http, standin).fetch("twilio", media))
    assert (error.reason, error.transient) == ("download_failed", True)
    # The next attempt works.
    assert (await fetcher(http, standin).fetch("twilio", media)).data == NOTE


async def test_an_unreachable_server_is_transient(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    async with serving(standin.api_app(), API_HOST) as gone:
        pass  # the port is free again: connections are refused
    media = MediaRef(url=f"{gone}/2010-04-01/Accounts/AC/Messages/MM/Media/ME1")
    error = await failure(fetcher(http, standin, twilio_api_base=gone).fetch("twilio", media))
    assert (error.reason, error.transient) == ("download_failed", True)


async def test_meta_media_comes_in_two_steps_with_the_bearer_token(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("1234567890", NOTE, "audio/ogg; codecs=opus")
    got = await fetcher(http, standin).fetch("meta", MediaRef(media_id="1234567890"))
    assert got.data == NOTE
    assert standin.api_requests == ["/v20.0/1234567890"]
    assert standin.cdn_requests == [("/whatsapp_business/attachments/", True)]


async def test_an_expired_meta_url_is_fetched_again_once(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("42", NOTE, "audio/ogg", expire_first_url=True)
    got = await fetcher(http, standin).fetch("meta", MediaRef(media_id="42"))
    assert got.data == NOTE
    assert standin.api_requests == ["/v20.0/42", "/v20.0/42"]


async def test_a_rejected_meta_token_fails_permanently(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("42", NOTE, "audio/ogg")
    bad_token = fetcher(http, standin, whatsapp_token="expired")
    error = await failure(bad_token.fetch("meta", MediaRef(media_id="42")))
    assert (error.reason, error.transient) == ("download_failed", False)
    no_token = fetcher(http, standin, whatsapp_token=None)
    assert (await failure(no_token.fetch("meta", MediaRef(media_id="42")))).reason == (
        "not_configured"
    )


async def test_meta_media_over_the_limit_is_not_downloaded(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("big", b"\0" * (MiB + 1), "audio/ogg")
    error = await failure(
        fetcher(http, standin, transcriber_max_bytes=MiB).fetch("meta", MediaRef(media_id="big"))
    )
    assert error.reason == "too_large"
    assert standin.cdn_requests == []


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_file_over_the_size_limit_is_refused(
    http: httpx.AsyncClient, standin: ProviderStandIn, chunked: bool
) -> None:
    standin.add("ME1", b"\0" * (MiB + 1), "audio/ogg", chunked=chunked)
    small = fetcher(http, standin, transcriber_max_bytes=MiB)
    error = await failure(small.fetch("twilio", MediaRef(url=standin.twilio_url("ME1"))))
    assert (error.reason, error.transient) == ("too_large", False)


async def test_something_that_is_not_audio_is_refused(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    standin.add("ME1", b"<html>login</html>", "text/html")
    media = MediaRef(url=standin.twilio_url("ME1"), content_type="audio/ogg")
    error = await failure(fetcher(http, standin).fetch("twilio", media))
    assert (error.reason, error.transient) == ("unsupported_type", False)


async def test_the_local_media_route_is_fetched_without_credentials(
    http: httpx.AsyncClient, standin: ProviderStandIn
) -> None:
    seen: list[bool] = []
    app = FastAPI()

    @app.get("/media/{name}")
    async def media(name: str, request: Request) -> Response:
        seen.append("authorization" in request.headers)
        return Response(NOTE, media_type="audio/ogg")

    async with serving(app, "127.0.0.1") as ingest:
        local = fetcher(http, standin, transcriber_local_media_url=f"{ingest}/media/")
        got = await local.fetch("twilio", MediaRef(url=f"{ingest}/media/note.ogg"))
        refused = await failure(local.fetch("twilio", MediaRef(url=f"{ingest}/other/x")))
    assert got.data == NOTE and seen == [False]
    assert refused.reason == "host_not_allowed"
