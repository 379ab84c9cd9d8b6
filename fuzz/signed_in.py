"""The operator API fuzzed signed in: an admin token, a little real data, and paths that hit it.

Without credentials nearly every inbox request is a 401, so the routes behind sign-in are
never reached. Here an admin account and an API token are made in the inbox's database by
the inbox's own account code (what `hilo users add` and `hilo tokens create` call), a few
events are appended to its store and folded by the projections' own catch-up (what the
projector runs), and the document's contact and task parameters are widened to also draw
those existing ones, so that generated requests find a conversation, a task, a flow session
to act on as well as ones that do not exist.

The seed goes through the store, not the bus: nothing is published, so the watch of the
namespace puts every event it sees down to a fuzzed request.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fuzz.generated import Signer
from hilo.projections.runner import PROJECTIONS, catch_up
from hilo.service import Runtime
from hilo.store.eventstore import EventStore
from schemas import (
    CalendarEventScheduled,
    Event,
    FlowSessionStarted,
    MessageReceived,
    ReplyReady,
    TaskCreated,
    utc_now,
)
from services.inbox import accounts
from services.inbox.store import AccountStore

ADMIN_EMAIL = "fuzz-admin@example.com"
TOKEN_NAME = "fuzz-admin"
# Fixed, so that a seed draws the same requests on every run.
CONTACTS = ("+34600111222", "+573001112233")
TASK_ID = uuid.UUID("6f1c2a52-0b7e-4d8a-9a43-2f0e5c1d9b10")
FLOW_SESSION_ID = uuid.UUID("0d5e8b1a-63c4-4f1e-8d52-7a9c3e2b4f61")
# A flow of the repository's flows/ (the inbox's default HILO_FLOWS_DIR).
FLOW_ID = "alta"
CALENDAR_EVENT_ID = uuid.UUID("9b2d4e6f-1a3c-4e5f-8a7b-6c5d4e3f2a10")
Schema = dict[str, Any]


@dataclass(frozen=True)
class SignedIn:
    token: str
    contacts: tuple[str, ...]
    task_ids: tuple[uuid.UUID, ...]


async def admin_token(runtime: Runtime) -> str:
    """An admin operator and an admin API token, as `hilo users add` / `tokens create` make
    them; the password is random and thrown away (the fuzzer signs in with the token)."""
    store = AccountStore(runtime.db)
    password_hash = accounts.hash_password(accounts.new_secret())
    await store.add_operator(accounts.normal_email(ADMIN_EMAIL), "admin", password_hash)
    token = accounts.new_api_token()
    await store.add_token(accounts.checked_token_name(TOKEN_NAME), "admin", token)
    return token


def seed_events() -> list[Event]:
    """Two conversations: one that wrote a minute ago (its reply window is open), with a
    reply, a task, an appointment and a flow session under way; one that only wrote."""
    open_window, other = CONTACTS
    first = MessageReceived(
        conversation=open_window,
        provider="twilio",
        provider_message_id=f"SM{uuid.uuid4().hex}",
        contact_name="Ana Fuzz",
        text="Quiero una cita el viernes",
    )
    return [
        first,
        ReplyReady(
            conversation=open_window,
            reply_id=uuid.uuid4(),
            author="analyzer",
            text="¿A qué hora le viene bien?",
            in_reply_to=(first.event_id,),
        ),
        TaskCreated(
            conversation=open_window,
            task_id=TASK_ID,
            title="Llamar para confirmar la cita",
            task_type="call",
            priority=2,
            due=date.today() + timedelta(days=2),
        ),
        CalendarEventScheduled(
            conversation=open_window,
            calendar_event_id=CALENDAR_EVENT_ID,
            title="Cita",
            start=utc_now() + timedelta(days=3),
            timezone="Europe/Madrid",
        ),
        FlowSessionStarted(
            conversation=open_window,
            session_id=FLOW_SESSION_ID,
            flow_id=FLOW_ID,
            language="es",
            source="api",
        ),
        MessageReceived(
            conversation=other,
            provider="twilio",
            provider_message_id=f"SM{uuid.uuid4().hex}",
            text="Hola",
        ),
    ]


async def seed(runtime: Runtime) -> SignedIn:
    """The token, and the seed stored and folded into every read model the inbox reads."""
    token = await admin_token(runtime)
    await EventStore(runtime.db, runtime.codec).append(seed_events())
    for projection in PROJECTIONS.values():
        await catch_up(runtime.db, projection, codec=runtime.codec)
    return SignedIn(token, CONTACTS, (TASK_ID,))


def bearer(token: str) -> Signer:
    """Every generated request carries the token (in place of any it drew itself)."""

    def sign(path: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        kept = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        return kept | {"Authorization": f"Bearer {token}"}

    return sign


def signed_in_document(document: Schema) -> Schema:
    """Only the operations that need sign-in: the others answer alike without a token and
    are fuzzed by the anonymous pass."""
    result = copy.deepcopy(document)
    for path, methods in list(result.get("paths", {}).items()):
        for method in [m for m, op in methods.items() if isinstance(op, dict)]:
            if not methods[method].get("security"):
                del methods[method]
        if not methods:
            del result["paths"][path]
    return result


def _seeded_body(document: Schema, operation: Schema, existing: dict[str, list[str]]) -> bool:
    """Point the JSON body's seeded fields at the seed (a copy of its schema, inlined)."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    reference = (content or {}).get("schema", {}).get("$ref", "")
    name = reference.removeprefix("#/components/schemas/")
    body = document.get("components", {}).get("schemas", {}).get(name)
    if content is None or body is None:
        return False
    seeded = {f: {"type": "string", "enum": existing[f]} for f in body.get("properties", {})}
    seeded = {f: s for f, s in seeded.items() if f in existing}
    if not seeded:
        return False
    content["schema"] = body | {"properties": body["properties"] | seeded}
    return True


def seeded_document(document: Schema, signed_in: SignedIn) -> Schema:
    """The operations on one contact or task (in the path, or in the JSON body), with it
    drawn from the seeded ones only, so that their bodies (conforming or not) reach
    something that exists.

    Only, not as well: hypothesis-jsonschema merges "one of these or any string" into "any
    string" and never draws the seeded values; the other pass draws any string.
    """
    existing = {
        "contact": list(signed_in.contacts),
        "task_id": [str(t) for t in signed_in.task_ids],
        "flow": [FLOW_ID],
    }
    result = signed_in_document(document)
    for path, methods in list(result["paths"].items()):
        for method in [m for m, op in methods.items() if isinstance(op, dict)]:
            operation = methods[method]
            parameters = operation.get("parameters", [])
            seeded = [p for p in parameters if p.get("in") == "path" and p["name"] in existing]
            for parameter in seeded:
                parameter["schema"] = {"type": "string", "enum": existing[parameter["name"]]}
            if not seeded and not _seeded_body(result, operation, existing):
                del methods[method]
        if not methods:
            del result["paths"][path]
    return result
