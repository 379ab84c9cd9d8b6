"""The projector: read models (the unified conversation, the conversation list) from the store."""

from __future__ import annotations

from hilo.erasure import erase_on_forget
from hilo.service import Service
from services.projector.forgetting import PERSONAL_COLUMNS, after_every_projection
from services.projector.handlers import keep_projections_current


def build() -> Service:
    service = Service("projector")
    service.background(keep_projections_current)
    # A forgotten contact's read-model rows go once every projection has folded past it.
    erase_on_forget(service, PERSONAL_COLUMNS, guard=after_every_projection)
    return service


service = build()
