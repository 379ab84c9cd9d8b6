"""Files ingest keeps on disk, named by the SHA-256 of their content.

- ``HILO_DATA_DIR/media/<sha256>``: voice notes `hilo simulate whatsapp --audio` sends, served
  at ``GET /media/{sha256}`` (with ``<sha256>.type`` beside it: the content type).
- ``HILO_DATA_DIR/calls/<sha256>.mp3``: ElevenLabs call recordings (``call.audio_recorded``
  names them; the bytes never travel on the bus).
- Both are deleted once the store holds their ``audio.expired`` (the retention job's, in the
  transcriber): ``remove_recording``.
- ``HILO_DATA_DIR/simulator-token``: the local signing secret shared by the simulator and
  ingest when no TWILIO_AUTH_TOKEN is configured (mode 0600).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from hilo.privacy.pseudonyms import is_pseudonym

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
DEFAULT_MEDIA_TYPE = "application/octet-stream"
TOKEN_FILE = "simulator-token"


@dataclass(frozen=True)
class Stored:
    sha256: str
    path: Path
    size: int


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers see the whole file or none (a crash leaves only a temporary file behind)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def store_content(folder: Path, data: bytes, suffix: str = "") -> Stored:
    sha256 = hashlib.sha256(data).hexdigest()
    path = folder / f"{sha256}{suffix}"
    if not (path.exists() and path.stat().st_size == len(data)):
        _write_atomically(path, data)
    return Stored(sha256, path, len(data))


def media_folder(data_dir: Path) -> Path:
    return data_dir / "media"


def calls_folder(data_dir: Path) -> Path:
    return data_dir / "calls"


def store_media(data_dir: Path, data: bytes, content_type: str | None) -> Stored:
    stored = store_content(media_folder(data_dir), data)
    kind = (content_type or "").lower()
    if CONTENT_TYPE.match(kind):
        _write_atomically(stored.path.with_name(f"{stored.sha256}.type"), kind.encode())
    return stored


def find_media(data_dir: Path, sha256: str) -> tuple[Path, str] | None:
    """The file and content type of a stored note; None unless ``sha256`` is strictly one."""
    if not SHA256_HEX.match(sha256):
        return None
    path = media_folder(data_dir) / sha256
    if not path.is_file():
        return None
    content_type = DEFAULT_MEDIA_TYPE
    with contextlib.suppress(OSError):
        declared = path.with_name(f"{sha256}.type").read_text().strip()
        if CONTENT_TYPE.match(declared):
            content_type = declared
    return path, content_type


def remove_recording(data_dir: Path, sha256: str, contact: str | None = None) -> int:
    """Delete what ingest keeps of these bytes (a call's recording, a simulated note and its
    type, also in the contact's own media folder); return how many files went. Deleting
    twice is harmless."""
    if not SHA256_HEX.match(sha256):
        return 0
    folders = [media_folder(data_dir)]
    if contact is not None and is_pseudonym(contact):
        folders.append(media_folder(data_dir) / contact)
    removed = 0
    for path in (
        calls_folder(data_dir) / f"{sha256}.mp3",
        *(folder / name for folder in folders for name in (sha256, f"{sha256}.type")),
    ):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


def simulator_token(data_dir: Path) -> str:
    """The local development signing secret: made once (random), then read by everyone."""
    path = data_dir / TOKEN_FILE
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_text().strip()
        if existing:
            return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(32)
    temporary = path.with_name(f".{TOKEN_FILE}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    try:
        # link() fails when another process made the token first: theirs is the one.
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        temporary.unlink()
    return token
