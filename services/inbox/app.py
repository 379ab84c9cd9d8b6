"""The inbox: the operator API under /api (and the web app, services/inbox/pages.py, at /)."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

from hilo.service import Runtime, Service
from services.inbox.routes import router as api_router
from services.inbox.settings import InboxSettings
from services.inbox.state import Inbox
from services.inbox.store import AccountStore


def _pages_router() -> APIRouter | None:
    """The web app's routes, when services/inbox/pages.py exists (built beside the API)."""
    try:
        pages = importlib.import_module("services.inbox.pages")
    except ModuleNotFoundError as exc:
        if exc.name != "services.inbox.pages":
            raise
        return None
    router = getattr(pages, "router", None)
    return router if isinstance(router, APIRouter) else None


def build(settings: InboxSettings | None = None) -> Service:
    config = settings or InboxSettings()
    service = Service("inbox")
    service.router.include_router(api_router)
    pages = _pages_router()
    if pages is not None:
        service.router.include_router(pages)

    @service.on_startup
    async def start(runtime: Runtime) -> None:
        runtime.state["inbox"] = Inbox(runtime, config, AccountStore(runtime.db))

    return service


service = build()
