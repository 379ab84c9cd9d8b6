"""Which hosts voice notes may be downloaded from (no I/O).

Media URLs arrive inside webhooks; fetching whatever they name would let a
forged or mistaken event make the transcriber call internal addresses. Only
the providers' hosts, the configured provider bases (stand-ins, proxies) and,
explicitly, ingest's own local ``/media/`` route are allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class HostPattern:
    host: str  # lower case; "*.example.com" matches sub-domains only
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> HostPattern:
        text = text.strip().lower()
        if "://" in text:
            parts = urlsplit(text)
            return cls(parts.hostname or "", parts.port)
        host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
        return cls(host, int(port)) if port else cls(text)

    def matches(self, host: str, port: int | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and host != self.host[2:]
        return host == self.host


@dataclass(frozen=True)
class HostAllowList:
    patterns: tuple[HostPattern, ...]
    # Ingest's simulator route, e.g. http://127.0.0.1:8000/media/ (loopback only).
    local_media_url: str | None = None

    @classmethod
    def of(cls, entries: tuple[str, ...], local_media_url: str | None = None) -> HostAllowList:
        patterns = tuple(HostPattern.parse(e) for e in entries if e.strip())
        return cls(patterns, local_media_url or None)

    def allows(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not host or parts.scheme not in ("http", "https"):
            return False
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        if self._is_local_media(url):
            return True
        # Plain HTTP only on the loopback (local stand-ins); providers are always HTTPS.
        if parts.scheme == "http" and host not in LOOPBACK_HOSTS and not host.startswith("127."):
            return False
        return any(p.matches(host, port) for p in self.patterns)

    def _is_local_media(self, url: str) -> bool:
        if not self.local_media_url:
            return False
        route = urlsplit(self.local_media_url)
        # Any host the operator names (the loopback under `hilo up`, `ingest` in compose).
        if not route.hostname or route.scheme not in ("http", "https"):
            return False
        if not route.path.startswith("/"):
            return False
        parts = urlsplit(url)
        return (
            same_origin(self.local_media_url, url)
            and parts.path.startswith(route.path.rstrip("/") + "/")
            and ".." not in parts.path.split("/")
        )


def same_origin(first: str, second: str) -> bool:
    """Credentials for ``first`` may be sent to ``second`` only when this holds."""
    a, b = urlsplit(first), urlsplit(second)
    return (a.scheme, (a.hostname or "").lower(), a.port) == (
        b.scheme,
        (b.hostname or "").lower(),
        b.port,
    )
