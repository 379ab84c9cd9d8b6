"""Which fields are a person's data, and the facts of forgetting a person.

A field annotated :data:`Personal` (names, texts, transcripts, provider payloads,
numbers) is stored and sent encrypted with the contact's data key; forgetting the
contact destroys that key (crypto-shredding), so every stored copy becomes noise
while the event store stays append-only. :data:`Transcript` fields are personal
too, and are sealed with a key per contact and day, so that the retention job can
destroy transcripts older than the retention without forgetting the contact.

Unmarked fields stay readable in the store: ids, types, statuses, times, counts.
``tests/privacy/test_personal_fields.py`` makes every field of every event class a
decision: personal, or listed there as not personal with the reason.

The number itself is personal data: in storage and on the bus a contact's stream
and subject token are a pseudonym, a keyed hash of the number
(:mod:`hilo.privacy.pseudonyms`). The facts below carry that pseudonym as their
``conversation`` and nothing else of the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

from schemas.envelope import Event

T = TypeVar("T")

KeyScope = Literal["contact", "transcript"]


@dataclass(frozen=True)
class PersonalData:
    """Marks a field as a person's data; ``scope`` names the key that seals it."""

    scope: KeyScope = "contact"


Personal = Annotated[T, PersonalData()]
Transcript = Annotated[T, PersonalData(scope="transcript")]


class ContactForgotten(Event):
    """A contact's data keys were destroyed: everything sealed with them is unreadable.

    ``conversation`` is the contact's pseudonym, never the number. Every service that
    keeps a readable copy (read models, its own tables, audio files) deletes it and
    says so with :class:`ContactDataErased`.
    """

    type: Literal["contact.forgotten"] = "contact.forgotten"
    schema_version: int = 1
    keys_destroyed: int
    requested_by: str


class ContactDataErased(Event):
    """One service deleted its readable copies of a forgotten contact's data."""

    type: Literal["contact.data_erased"] = "contact.data_erased"
    schema_version: int = 1
    service: str
    rows_deleted: int = 0
    files_deleted: int = 0
