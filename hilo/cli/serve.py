"""`hilo serve NAME`: one service alone, as deployed."""

from __future__ import annotations

import asyncio
import logging
import signal

from hilo import logs, registry
from hilo.errors import UserError
from hilo.privacy.master import master_key
from hilo.service import Service
from hilo.settings import HiloSettings


def load_service(name: str) -> Service:
    try:
        return registry.load(name)
    except registry.UnknownService as exc:
        raise UserError(str(exc)) from exc


def serve(name: str, settings: HiloSettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s",
    )
    # Libraries' records too: no secret, signed URL or readable number in a log line.
    logs.install()
    service = load_service(name)
    settings.require_nats_url()
    settings.require_database_url()
    master_key(settings)  # no key, no start: personal data could be neither sealed nor read

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, service.stop)
        await service.serve_forever(settings)

    asyncio.run(main())
