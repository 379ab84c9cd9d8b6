"""The operator API fuzzed signed in (the fast subset of `make fuzz`'s `inbox (signed in)`).

The inbox runs in-process against the real NATS and PostgreSQL, seeded by fuzz/signed_in.py
with an admin token and a little data; every generated request carries the token.
"""

from __future__ import annotations

from pathlib import Path

from fuzz import signed_in
from fuzz.generated import generated_probes
from fuzz.harness import Watch, run_probes
from hilo.bus import EventBus
from hilo.settings import HiloSettings
from services.inbox.app import build
from services.inbox.settings import InboxSettings

FLOWS = Path(__file__).resolve().parents[2] / "flows"


async def test_signed_in_requests_get_no_5xx_and_publish_only_when_accepted(
    settings: HiloSettings, bus: EventBus
) -> None:
    service = build(InboxSettings(_env_file=None, hilo_flows_dir=FLOWS))
    watch = Watch(bus)
    await watch.start()
    async with service.running(settings):
        port = service.http_port
        assert port is not None and service.runtime is not None
        seeded = await signed_in.seed(service.runtime)
        document = service.http_app().openapi()
        sign = signed_in.bearer(seeded.token)
        anywhere, _ = generated_probes(signed_in.signed_in_document(document), 3, sign)
        on_seed, _ = generated_probes(signed_in.seeded_document(document, seeded), 3, sign)
        tally = await run_probes(anywhere + on_seed, port, watch, checked=False)
    assert tally.problems == [], "\n".join(tally.problems)
    # Signed in: nothing was refused for want of credentials…
    assert tally.statuses[401] == 0
    # …the seeded conversation and task were acted on (takeover, task edits, flow reset)…
    assert tally.statuses[202] > 0 and tally.accepted_publishes > 0
    # …and the event stream (open by design) counted as answered, not hung.
    assert tally.statuses[200] > 0
