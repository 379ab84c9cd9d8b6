"""Where a media download may connect to: public addresses, checked when connecting.

The allow-list (allowlist.py) judges a URL's host *name*; what that name resolves to
is decided by DNS, which whoever controls the name controls. A name on the list that
answers 10.0.0.5, 169.254.169.254 (cloud metadata) or 127.0.0.1 would let a media URL
reach inside the network. So every connection resolves the name once, checks every
answer, and connects to the checked address itself: no second lookup that a
rebinding DNS server could answer differently (TLS still verifies the certificate
for the name, since httpcore passes the request's host as the server name).

Loopback is refused unless ``allow_loopback`` (tests' stand-ins). The local media origin
the operator configured (ingest's ``/media/``: the loopback under ``hilo up``, a private
address in compose or a cluster) may be loopback or private. Link-local, shared, reserved,
multicast and unspecified addresses are refused always.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) → the addresses the name stands for; the system resolver by default.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressNotAllowed(Exception):
    """A media host resolved to an address a download must never reach."""


# NAT64's well-known prefix: 64:ff9b::10.0.0.5 reaches 10.0.0.5 through the translator.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def is_allowed_address(address: Address, *, allow_loopback: bool) -> bool:
    embedded = _embedded_ipv4(address)
    if embedded is not None:  # judged by the IPv4 address it leads to
        return is_allowed_address(embedded, allow_loopback=allow_loopback)
    if address.is_loopback:
        return allow_loopback
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, NAT64, 6to4, Teredo)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client behind the relay
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    answers = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in answers))


@dataclass(frozen=True)
class AddressPolicy:
    allow_loopback: bool = False
    # Origins (host, port) allowed on the loopback or a private address: ingest's media route.
    local_origins: frozenset[tuple[str, int]] = frozenset()

    def check(self, host: str, port: int, addresses: Iterable[str]) -> str:
        """The address to connect to; raises AddressNotAllowed when any answer is refused."""
        local = (host.lower(), port) in self.local_origins
        chosen: str | None = None
        for text in addresses:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError as exc:
                raise AddressNotAllowed(f"{host} resolved to something not an address") from exc
            inside = local and (
                address.is_loopback or (address.is_private and not address.is_link_local)
            )
            if not inside and not is_allowed_address(address, allow_loopback=self.allow_loopback):
                # One bad answer is enough: a name mixing public and private answers is a trick.
                raise AddressNotAllowed(f"{host} resolves to a non-public address")
            chosen = chosen or str(address)
        if chosen is None:
            raise AddressNotAllowed(f"{host} resolves to no address")
        return chosen


class GuardedNetwork(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and checking before it connects."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            literal: str | None = str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            literal = None
        answers = [literal] if literal else await self._resolve(host, port, timeout)
        address = self.policy.check(host, port, answers)
        return await self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            async with asyncio.timeout(timeout):
                return await self.resolver(host, port)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressNotAllowed("media is never fetched over a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with the connection pool rebuilt on the guarded network backend.

    httpx takes no network backend of its own, so the pool it built is replaced by the
    same kind of pool (HTTP/1.1, default TLS) connecting through :class:`GuardedNetwork`.
    """

    def __init__(self, policy: AddressPolicy, resolver: Resolver = system_resolver) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=GuardedNetwork(policy, resolver),
        )


def guarded_client(
    policy: AddressPolicy, *, timeout: float, resolver: Resolver = system_resolver
) -> httpx.AsyncClient:
    """The media client: guarded connections, no redirects (media.py follows them hop by
    hop), no proxy or credentials from the environment."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolver),
        follow_redirects=False,
        trust_env=False,
        timeout=timeout,
    )
