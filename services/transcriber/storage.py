"""Voice notes kept on disk per contact and by content: ``<data dir>/audio/<contact>/<sha256>``.

``<contact>`` is the contact's pseudonym (never the number), so forgetting a contact is
deleting one folder (:meth:`AudioStore.forget`). Content addressing within it makes a
redelivery or a replay write nothing new. Files are written to a temporary name and
renamed, so a reader never sees half a note.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

_CONTACT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class AudioStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder_of(self, contact: str) -> Path:
        if not _CONTACT.match(contact):
            raise ValueError("not a contact pseudonym")
        return self.root / contact

    def path_for(self, contact: str, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.folder_of(contact) / sha256

    def get(self, contact: str, sha256: str) -> bytes | None:
        try:
            path = self.path_for(contact, sha256)
        except ValueError:
            return None
        return path.read_bytes() if path.is_file() else None

    def put(self, contact: str, data: bytes) -> str:
        digest = sha256_of(data)
        path = self.path_for(contact, digest)
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

    def forget(self, contact: str) -> int:
        """Delete every note of the contact; how many files there were."""
        folder = self.folder_of(contact)
        if not folder.is_dir():
            return 0
        count = sum(1 for path in folder.iterdir() if path.is_file())
        shutil.rmtree(folder)
        return count

    def delete(self, contact: str, sha256: str) -> bool:
        """Remove one kept note (retention); False when there was none (deleting twice is
        harmless)."""
        try:
            path = self.path_for(contact, sha256)
        except ValueError:
            return False
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    async def aput(self, contact: str, data: bytes) -> str:
        return await asyncio.to_thread(self.put, contact, data)

    async def aget(self, contact: str, sha256: str) -> bytes | None:
        return await asyncio.to_thread(self.get, contact, sha256)

    async def aforget(self, contact: str) -> int:
        return await asyncio.to_thread(self.forget, contact)
