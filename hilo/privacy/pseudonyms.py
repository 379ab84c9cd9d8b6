"""Pseudonymous keys for contacts: a keyed hash of the number.

Streams in the store and tokens in NATS subjects are pseudonyms, so neither holds
a phone number, and a lookup by number still works for whoever holds the key
(every Hilo process, through ``HILO_MASTER_KEY``). Without the key a pseudonym
cannot be turned back into a number, even by trying every number of a country.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# Pseudonyms are told apart from numbers (which start with "+") and from the
# business's own streams by this prefix.
PREFIX = "c"


def derive_key(master_key: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the master key.

    HKDF-Expand with one output block (RFC 5869) is exactly this HMAC, and the
    master key is already uniformly random, so no extract step is needed.
    """
    return hmac.new(master_key, f"hilo {purpose} v1".encode() + b"\x01", hashlib.sha256).digest()


def pseudonym(number: str, key: bytes) -> str:
    """The contact's pseudonym: stable for one key, 130 bits, safe as a NATS token."""
    digest = hmac.new(key, number.encode(), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode().rstrip("=").lower()[:26]


def is_pseudonym(conversation: str) -> bool:
    return (
        len(conversation) == 27 and conversation.startswith(PREFIX) and conversation[1:].isalnum()
    )
