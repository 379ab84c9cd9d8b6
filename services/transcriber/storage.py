"""Voice notes kept on disk by content: ``<data dir>/audio/ab/cd/<sha256>``.

Content addressing makes a redelivery or a replay write nothing new and lets
the same bytes sent twice share one file. Files are written to a temporary
name and renamed, so a reader never sees half a note.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class AudioStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def get(self, sha256: str) -> bytes | None:
        try:
            path = self.path_for(sha256)
        except ValueError:
            return None
        return path.read_bytes() if path.is_file() else None

    def put(self, data: bytes) -> str:
        digest = sha256_of(data)
        path = self.path_for(digest)
        if path.is_file():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def delete(self, sha256: str) -> bool:
        """Remove a kept note; False when there was none (deleting twice is harmless)."""
        try:
            path = self.path_for(sha256)
        except ValueError:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    async def aput(self, data: bytes) -> str:
        return await asyncio.to_thread(self.put, data)

    async def aget(self, sha256: str) -> bytes | None:
        return await asyncio.to_thread(self.get, sha256)
