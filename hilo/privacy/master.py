"""The master key (``HILO_MASTER_KEY``) and the keys derived from it.

Production gives the key in the environment (a Secret in Kubernetes). A development
stack (``hilo up``, ``make run``) makes one once under ``HILO_DATA_DIR`` (mode 0600) and
hands it to its children; CLI commands on the same machine find it there. Losing the
master key loses every contact's personal data: back it up with the database.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from hilo.errors import UserError
from hilo.privacy.pseudonyms import derive_key
from hilo.settings import HiloSettings

DEV_KEY_FILE = "master.key"
ENV_NAME = "HILO_MASTER_KEY"
WRAPPING_PURPOSE = "data key wrapping"
PSEUDONYM_PURPOSE = "contact pseudonym"


class MissingMasterKey(UserError):
    """No master key: personal data can be neither sealed nor read."""


def decode_master_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UserError(f"{ENV_NAME} is not base64 ({exc})") from exc
    if len(key) != 32:
        raise UserError(f"{ENV_NAME} must be the base64 of 32 random bytes, not {len(key)}")
    return key


def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def dev_key_path(settings: HiloSettings) -> Path:
    return settings.data_dir / DEV_KEY_FILE


def ensure_dev_master_key(settings: HiloSettings) -> tuple[str, Path | None]:
    """The development stack's key: HILO_MASTER_KEY, or the one kept under the data dir
    (made now if there is none), with that file's path (None for the configured key)."""
    if settings.master_key is not None and settings.master_key.get_secret_value().strip():
        return settings.master_key.get_secret_value().strip(), None
    path = dev_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(new_master_key() + "\n")
    text = path.read_text().strip()
    decode_master_key(text)
    return text, path


def master_key(settings: HiloSettings, *, dev_file: bool = False) -> bytes:
    """The master key from the settings, or (``dev_file``) the development stack's file."""
    if settings.master_key is not None and settings.master_key.get_secret_value().strip():
        return decode_master_key(settings.master_key.get_secret_value())
    path = dev_key_path(settings)
    if dev_file and path.exists():
        return decode_master_key(path.read_text())
    raise MissingMasterKey(
        f"{ENV_NAME} is not set: personal data is sealed with it. Give it the base64 of 32"
        f" random bytes (e.g. `python -c 'import base64,os;"
        f" print(base64.b64encode(os.urandom(32)).decode())'`), the same for every service;"
        " `hilo up` makes a development key by itself"
    )


def wrapping_key(master: bytes) -> bytes:
    return derive_key(master, WRAPPING_PURPOSE)


def pseudonym_key(master: bytes) -> bytes:
    return derive_key(master, PSEUDONYM_PURPOSE)
