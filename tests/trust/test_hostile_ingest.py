"""The hand-written hostile requests against ingest (the fast subset of `make fuzz`).

Ingest runs in-process against the real NATS and PostgreSQL; every request is a raw
socket write, so truncated and lying bodies reach the server as a hostile peer sends them.
"""

from __future__ import annotations

from fuzz.generated import generated_probes
from fuzz.harness import Watch, run_probes
from fuzz.ingest_cases import IngestCases, Secrets
from fuzz.overlays import overlaid
from hilo.bus import EventBus
from hilo.settings import HiloSettings
from services.ingest.app import build
from services.ingest.settings import IngestSettings


def ingest_config(secrets: Secrets, **overrides: object) -> IngestSettings:
    values: dict[str, object] = {
        "twilio_auth_token": secrets.twilio_token,
        "twilio_account_sid": secrets.account_sid,
        "whatsapp_app_secret": secrets.meta_app_secret,
        "whatsapp_verify_token": secrets.meta_verify_token,
        "elevenlabs_webhook_secret": secrets.elevenlabs_secret,
    }
    values.update(overrides)
    return IngestSettings(_env_file=None, **values)  # type: ignore[arg-type]


async def test_hostile_requests_are_refused_and_publish_nothing(
    settings: HiloSettings, bus: EventBus
) -> None:
    secrets = Secrets()
    service = build(ingest_config(secrets, ingest_body_timeout_seconds=3.0))
    watch = Watch(bus)
    await watch.start()
    async with service.running(settings):
        port = service.http_port
        assert port is not None
        cases = IngestCases(f"http://127.0.0.1:{port}", secrets)
        tally = await run_probes(cases.all(), port, watch)
    assert tally.problems == [], "\n".join(tally.problems)
    assert tally.tried == len(cases.all())
    # The valid originals were published (once each): the watch sees the service's publishes.
    assert tally.accepted_publishes >= 3


async def test_generated_requests_get_no_5xx_and_publish_only_when_accepted(
    settings: HiloSettings, bus: EventBus
) -> None:
    secrets = Secrets()
    service = build(ingest_config(secrets))
    watch = Watch(bus)
    await watch.start()
    async with service.running(settings):
        port = service.http_port
        assert port is not None
        cases = IngestCases(f"http://127.0.0.1:{port}", secrets)
        document = overlaid("ingest", service.http_app().openapi())
        probes, _ = generated_probes(document, 5, cases.sign)
        tally = await run_probes(probes, port, watch, checked=False)
    assert tally.problems == [], "\n".join(tally.problems)
    assert tally.tried >= 40
    # Signed, conforming bodies got through to the bus: the parsing behind the signature ran.
    assert tally.statuses[200] > 0
