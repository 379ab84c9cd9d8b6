"""The analyzer: reads conversations, publishes what it understood, and answers in mode analyzer."""

from __future__ import annotations

import logging

from hilo.business_time import business_zone, configured_timezone, startup_warning
from hilo.erasure import erase_on_forget
from hilo.service import Runtime, Service
from schemas import BusinessProfileLoaded
from services.analyzer.backends import Guarded
from services.analyzer.business_desk import on_profile_loaded
from services.analyzer.choose_backend import make_backend
from services.analyzer.handlers import HANDLED_EVENTS, on_event
from services.analyzer.ledger import PERSONAL_COLUMNS
from services.analyzer.responder import Responder
from services.analyzer.routes import router
from services.analyzer.settings import AnalyzerSettings

log = logging.getLogger(__name__)


def build(settings: AnalyzerSettings | None = None) -> Service:
    config = settings or AnalyzerSettings()
    service = Service("analyzer")
    # One consumer: stream order decides the mode, the transcript and the context a message meets.
    service.subscriber(
        *HANDLED_EVENTS, durable="analyzer", max_deliver=6, max_ack_pending=5000, batch=256
    )(on_event)
    service.router.include_router(router)
    # Business hook (issue 19): profile versions read back, so a replay knows each one's time.
    service.subscriber(BusinessProfileLoaded, durable="analyzer-business", max_deliver=6)(
        on_profile_loaded
    )

    # A forgotten contact's rows here are deleted, and the deletion announced.
    erase_on_forget(service, PERSONAL_COLUMNS)

    @service.on_startup
    async def start(runtime: Runtime) -> None:
        # make_backend raises BackendUnavailable saying what to set.
        backend = Guarded(make_backend(config), config.analyzer_default_language)
        responder = Responder(runtime, backend, config)
        runtime.state.update(settings=config, backend=backend, responder=responder)
        # The business profile's version, recorded and announced (business hook, issue 19).
        await responder.desk.refresh()
        # Where dates are read: the profile's zone, HILO_TIMEZONE, the number's, else UTC.
        zone = business_zone(
            responder.desk.timezone(configured_timezone(runtime.settings) or "") or None,
            config.twilio_whatsapp_from,
        )
        if warning := startup_warning(zone):
            log.warning(warning)
        # Bursts that a previous run queued but never finished.
        await responder.resume()

    @service.on_shutdown
    async def stop(runtime: Runtime) -> None:
        await runtime.state["responder"].close()
        await runtime.state["backend"].close()

    return service


service = build()
