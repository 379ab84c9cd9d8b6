"""The scripts and styles the pages load, all served by Hilo (no CDN: no internet needed).

Ours live in ``static/``; the libraries come from npm (``package.json`` here, installed
by ``make install`` into ``node_modules/``, which git ignores) and are served from there
by a fixed list of names, so no other file of ``node_modules`` is reachable. An installed
package (a container image) has no ``node_modules`` beside it: INBOX_NODE_MODULES names
where `npm ci` put them instead.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).parent
STATIC = HERE / "static"
NODE_MODULES = Path(os.environ.get("INBOX_NODE_MODULES") or HERE / "node_modules")

VENDORED = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


class MissingAsset(LookupError):
    """A library the pages need is not installed: `make install` brings it."""


def find(name: str) -> Path | None:
    """The file behind ``/static/<name>``, or None for a name that is not ours to serve."""
    if name in VENDORED:
        path = NODE_MODULES / VENDORED[name]
        if not path.is_file():
            raise MissingAsset(f"{name} is missing: run `make install` (npm ci in {HERE})")
        return path
    if "/" in name or name.startswith("."):
        return None
    path = STATIC / name
    return path if path.is_file() and path.suffix in TYPES else None


def media_type(path: Path) -> str:
    return TYPES.get(path.suffix, "application/javascript")
