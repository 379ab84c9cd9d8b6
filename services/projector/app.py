"""The projector: read models (the unified conversation, the conversation list) from the store."""

from __future__ import annotations

from hilo.service import Service
from services.projector.handlers import keep_projections_current


def build() -> Service:
    service = Service("projector")
    service.background(keep_projections_current)
    return service


service = build()
