"""What a downloaded file is, by its first bytes (magic numbers), not by its Content-Type.

A media server's Content-Type is a claim: a login page, a redirect target's error
document or a hostile file can be labelled ``audio/ogg``, and a real note can come
as ``application/octet-stream``. The bytes decide, read with `filetype` (magic
numbers, no system libmagic). Pure: no I/O.
"""

from __future__ import annotations

import filetype

# Enough for every audio signature filetype knows (WebM's document type is the deepest).
SNIFF_BYTES = 8192
# Containers WhatsApp voice notes arrive in besides audio/*: MP4/M4A and 3GP (AMR or AAC
# inside), WebM (Opus), Ogg under its older application type.
AUDIO_CONTAINERS = frozenset({"video/mp4", "video/3gpp", "video/webm", "application/ogg"})


def sniff_audio(head: bytes) -> str | None:
    """The MIME type of an audio file starting with ``head``; None when it is not audio."""
    kind = filetype.guess(head[:SNIFF_BYTES])
    if kind is None:
        return None
    mime = str(kind.mime)
    return mime if mime.startswith("audio/") or mime in AUDIO_CONTAINERS else None
