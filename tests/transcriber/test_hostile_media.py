"""The downloader against a media server and a name server that try every trick."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx
import pytest
import pytest_asyncio

from hilo.testing import serving
from schemas import MediaRef
from services.transcriber.addresses import (
    AddressNotAllowed,
    AddressPolicy,
    GuardedNetwork,
    guarded_client,
)
from services.transcriber.app import media_client, media_config
from services.transcriber.failures import TranscriptionError
from services.transcriber.media import MediaFetcher
from services.transcriber.settings import TranscriberSettings
from tests.transcriber.conftest import transcriber_settings
from tests.transcriber.hostile import PRIVATE_NAME, DnsStandIn, HostileServer
from tests.transcriber.standins import API_HOST, ProviderStandIn

NOTE = b"OggS\x00\x02" + b"\x01" * 5000
MiB = 1024 * 1024


@pytest_asyncio.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    server = HostileServer()
    async with serving(server.app(), API_HOST) as base:
        server.base = base
        yield server


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []
    yield made
    for client in made:
        await client.aclose()


def hostile_fetcher(
    clients: list[httpx.AsyncClient], server: HostileServer, **overrides: Any
) -> MediaFetcher:
    """The hostile server as if it were Twilio's API (so it gets the credentials)."""
    values: dict[str, Any] = {
        "twilio_api_base": server.base,
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "secret-token",
        "transcriber_media_hosts": PRIVATE_NAME,
        "transcriber_allow_loopback": True,
        "transcriber_max_bytes": MiB,
        "transcriber_download_timeout_seconds": 5,
    }
    values.update(overrides)
    config = TranscriberSettings(_env_file=None, **values)
    clients.append(media_client(config))
    return MediaFetcher(clients[-1], media_config(config))


async def failure(fetch: Any) -> TranscriptionError:
    with pytest.raises(TranscriptionError) as caught:
        await fetch
    return caught.value


async def fetch(fetcher: MediaFetcher, url: str) -> Any:
    return await fetcher.fetch("twilio", MediaRef(url=url))


# --- addresses ---------------------------------------------------------------------------


async def test_the_loopback_is_refused_unless_configured(
    clients: list[httpx.AsyncClient], standin: ProviderStandIn
) -> None:
    standin.add("ME1", NOTE, "audio/ogg")
    config = transcriber_settings(standin, transcriber_allow_loopback=False)
    clients.append(media_client(config))
    strict = MediaFetcher(clients[-1], media_config(config))
    error = await failure(fetch(strict, standin.twilio_url("ME1")))
    assert (error.reason, error.transient) == ("host_not_allowed", False)
    assert standin.api_requests == []  # refused before connecting


async def test_a_listed_name_resolving_to_the_loopback_is_refused(
    clients: list[httpx.AsyncClient], standin: ProviderStandIn
) -> None:
    standin.add("ME1", NOTE, "audio/ogg")
    by_name = standin.api_base.replace("127.0.0.1", "localhost")
    config = transcriber_settings(
        standin, twilio_api_base=by_name, transcriber_allow_loopback=False
    )
    clients.append(media_client(config))
    strict = MediaFetcher(clients[-1], media_config(config))
    url = standin.twilio_url("ME1").replace("127.0.0.1", "localhost")
    error = await failure(fetch(strict, url))
    assert error.reason == "host_not_allowed" and "non-public" in error.detail
    assert standin.api_requests == []


@pytest.mark.parametrize(
    "answers",
    [
        ["10.0.0.5"],
        ["172.16.3.4"],
        ["192.168.1.10"],
        ["169.254.169.254"],  # cloud metadata
        ["100.64.0.1"],  # carrier-grade NAT
        ["0.0.0.0"],
        ["224.0.0.1"],
        ["::ffff:10.0.0.5"],
        ["::ffff:127.0.0.1"],
        ["64:ff9b::a00:5"],  # NAT64 of 10.0.0.5
        ["2002:a00:5::1"],  # 6to4 of 10.0.0.5
        ["fd00::1"],
        ["fe80::1"],
        ["::1"],
        ["93.184.216.34", "10.0.0.5"],  # one good answer does not excuse a bad one
    ],
)
async def test_a_listed_name_resolving_inside_the_network_is_never_connected(
    answers: list[str],
) -> None:
    dns = DnsStandIn({PRIVATE_NAME: [answers]})
    config = TranscriberSettings(_env_file=None, transcriber_media_hosts=PRIVATE_NAME)
    async with guarded_client(AddressPolicy(), timeout=5, resolver=dns.resolve) as client:
        fetcher = MediaFetcher(client, media_config(config))
        error = await failure(fetch(fetcher, f"https://{PRIVATE_NAME}/note.ogg"))
    assert (error.reason, error.transient) == ("host_not_allowed", False)
    assert dns.lookups == [PRIVATE_NAME]


async def test_each_connection_resolves_once_and_connects_to_the_address_it_checked(
    hostile: HostileServer,
) -> None:
    port = int(hostile.base.rsplit(":", 1)[1])
    # A rebinding name server: the loopback stand-in first, an inside address afterwards.
    dns = DnsStandIn({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    network = GuardedNetwork(AddressPolicy(allow_loopback=True), dns.resolve)
    async with httpcore.AsyncConnectionPool(
        network_backend=network, max_keepalive_connections=0
    ) as pool:
        first = await pool.request("GET", f"http://rebind.test:{port}/ogg-as-text")
        with pytest.raises(AddressNotAllowed):
            await pool.request("GET", f"http://rebind.test:{port}/ogg-as-text")
    # Reached through the checked answer: the system resolver does not know this name.
    assert first.status == 200 and first.content.startswith(b"OggS")
    assert dns.lookups == ["rebind.test", "rebind.test"]  # one lookup per connection
    assert hostile.requests == [("/ogg-as-text", False)]


# --- redirects ----------------------------------------------------------------------------


async def test_a_redirect_to_the_metadata_address_is_not_followed(
    clients: list[httpx.AsyncClient], hostile: HostileServer
) -> None:
    error = await failure(fetch(hostile_fetcher(clients, hostile), f"{hostile.base}/to-metadata"))
    assert error.reason == "host_not_allowed"


async def test_a_redirect_to_a_listed_name_that_resolves_inside_is_refused(
    clients: list[httpx.AsyncClient], hostile: HostileServer
) -> None:
    dns = DnsStandIn({PRIVATE_NAME: [["192.168.0.7"]], "127.0.0.1": [["127.0.0.1"]]})
    config = TranscriberSettings(
        _env_file=None,
        twilio_api_base=hostile.base,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="secret-token",
        transcriber_media_hosts=PRIVATE_NAME,
        transcriber_allow_loopback=True,
    )
    policy = AddressPolicy(allow_loopback=True)
    async with guarded_client(policy, timeout=5, resolver=dns.resolve) as client:
        fetcher = MediaFetcher(client, media_config(config))
        error = await failure(fetch(fetcher, f"{hostile.base}/to-private-name"))
    assert error.reason == "host_not_allowed"
    assert dns.lookups == [PRIVATE_NAME]
    # The first hop was Twilio's own origin, so it carried the credentials; nothing else was.
    assert hostile.requests == [("/to-private-name", True)]


async def test_a_redirect_loop_ends(
    clients: list[httpx.AsyncClient], hostile: HostileServer
) -> None:
    error = await failure(fetch(hostile_fetcher(clients, hostile), f"{hostile.base}/loop/0"))
    assert (error.reason, error.transient) == ("download_failed", False)
    assert len(hostile.requests) == 6


# --- size, time and content -----------------------------------------------------------------


async def test_a_compressed_body_cannot_inflate_past_the_size_limit(
    clients: list[httpx.AsyncClient], hostile: HostileServer
) -> None:
    error = await failure(fetch(hostile_fetcher(clients, hostile), f"{hostile.base}/gzip-bomb"))
    assert (error.reason, error.transient) == ("too_large", False)


async def test_a_server_dripping_bytes_cannot_hold_a_worker(
    clients: list[httpx.AsyncClient], hostile: HostileServer
) -> None:
    slow = hostile_fetcher(clients, hostile, transcriber_download_deadline_seconds=1)
    error = await failure(fetch(slow, f"{hostile.base}/drip"))
    assert (error.reason, error.transient) == ("download_failed", True)
    assert "within 1 s" in error.detail


async def test_the_bytes_decide_what_a_file_is_not_the_content_type(
    clients: list[httpx.AsyncClient], hostile: HostileServer
) -> None:
    fetcher = hostile_fetcher(clients, hostile)
    error = await failure(fetch(fetcher, f"{hostile.base}/html-as-audio"))
    assert (error.reason, error.transient) == ("unsupported_type", False)
    assert "served as audio/ogg" in error.detail
    got = await fetch(fetcher, f"{hostile.base}/ogg-as-text")
    assert got.content_type == "audio/ogg" and got.data.startswith(b"OggS")


def test_the_configured_local_media_origin_may_be_private_and_only_it() -> None:
    """Compose and the dev cluster serve simulated notes from `ingest` on a private address."""
    config = TranscriberSettings(
        _env_file=None, transcriber_local_media_url="http://ingest:8000/media/"
    )
    policy = guarded_client_policy(config)
    assert policy.check("ingest", 8000, ["172.18.0.5"]) == "172.18.0.5"
    for host, port, answer in (
        ("ingest", 8001, "172.18.0.5"),  # another port
        ("postgres", 8000, "172.18.0.6"),  # another host
        ("ingest", 8000, "169.254.169.254"),  # never the metadata address
    ):
        with pytest.raises(AddressNotAllowed):
            policy.check(host, port, [answer])
    assert media_config(config).allow.allows("http://ingest:8000/media/abc")
    assert not media_config(config).allow.allows("http://ingest:8000/admin")


def guarded_client_policy(config: TranscriberSettings) -> AddressPolicy:
    client = media_client(config)
    network = client._transport._pool._network_backend  # type: ignore[attr-defined]
    assert isinstance(network, GuardedNetwork)
    return network.policy
