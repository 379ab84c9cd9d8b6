"""Operators' secrets and roles, pure: Argon2 password hashes, random tokens, digests.

Passwords are hashed with Argon2id (``argon2-cffi``'s defaults, RFC 9106's low-memory
profile). Session ids and API tokens are 256 random bits, so a SHA-256 digest is
enough to store them: nobody can guess one from the digest, and the lookup is an index.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

Role = Literal["admin", "agent"]
ROLES: tuple[Role, ...] = ("admin", "agent")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "hilo_"

_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so that a wrong e-mail costs as long as a wrong password.
_DECOY_HASH = _hasher.hash(secrets.token_urlsafe(16))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class InvalidAccount(ValueError):
    """An e-mail, password, role or token name that cannot be used; the message says why."""


@dataclass(frozen=True)
class Operator:
    """Who is calling: a signed-in person or an API token."""

    id: str
    name: str  # the e-mail, or the token's name
    role: Role
    via: Literal["session", "token"]

    @property
    def label(self) -> str:
        """How events name this operator: the e-mail, or ``token:<name>``."""
        return self.name if self.via == "session" else f"token:{self.name}"


def normal_email(email: str) -> str:
    folded = email.strip().lower()
    if not _EMAIL.match(folded):
        raise InvalidAccount(f"{email!r} is not an e-mail address")
    return folded


def checked_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise InvalidAccount(f"unknown role {role!r}; use admin or agent")


def checked_token_name(name: str) -> str:
    if not _TOKEN_NAME.match(name):
        raise InvalidAccount(
            f"{name!r} is not a token name (letters, digits, '_', '.', '-'; up to 64)"
        )
    return name


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccount(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists."""
    try:
        return _hasher.verify(password_hash or _DECOY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def same_secret(a: str, b: str) -> bool:
    return secrets.compare_digest(a.encode(), b.encode())
