"""What the inbox's routes share while it runs, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from hilo.service import Runtime
from services.inbox.settings import InboxSettings
from services.inbox.store import AccountStore


@dataclass(frozen=True)
class Inbox:
    runtime: Runtime
    settings: InboxSettings
    accounts: AccountStore


def inbox(request: Request) -> Inbox:
    """The running inbox, as a FastAPI dependency."""
    found = request.app.state.service.runtime.state["inbox"]
    assert isinstance(found, Inbox)
    return found
