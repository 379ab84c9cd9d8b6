"""`make fuzz`: every HTTP service that documents an OpenAPI, under generated and hostile input.

For each installed service (hilo/registry.py) that serves routes of its own, or faces the
outside (``public``): start it in-process against real NATS and PostgreSQL (embedded, or
the servers HILO_NATS_URL/HILO_DATABASE_URL name), read its OpenAPI document from
``/openapi.json`` or ``/api/openapi.json``, let schemathesis generate positive and
negative requests for every operation (signed as the provider would for ingest's
webhooks), add the hand-written hostile cases where there are some, and send each one
with a bounded wait while watching the service's bus. Prints, per service and in total:
requests tried, 5xx answers, requests that hung, wrong answers to hostile cases, and
events published by invalid requests; exits 1 if any of those is not zero.

The inbox (the operator API) is fuzzed twice, as two rows: as it is met (nearly every
answer a 401), and ``inbox (signed in)``: with an admin's bearer token over a little
seeded data, every operation that needs sign-in, then those on one contact or task again
with the seeded ones in their path (fuzz/signed_in.py).

FUZZ_EXAMPLES (default 100): examples per operation and mode. FUZZ_SIGNED_IN_EXAMPLES
(default 100): the same for the signed-in inbox pass, which takes about 1.5 minutes with
it on a 2-core machine (about 5,800 requests; two thirds of that drawing them). FUZZ_SEED:
a seed for other examples than the default, deterministic run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.ingest_cases import IngestCases, Secrets

SECRETS = Secrets()
# Services read their settings when imported: set the providers' secrets first.
os.environ.update(SECRETS.environment())
os.environ.setdefault("INGEST_BODY_TIMEOUT_SECONDS", "2")

import httpx  # noqa: E402

from fuzz import signed_in  # noqa: E402
from fuzz.generated import generated_probes  # noqa: E402
from fuzz.harness import Tally, Watch, run_probes  # noqa: E402
from fuzz.overlays import overlaid  # noqa: E402
from fuzz.probes import Probe  # noqa: E402
from hilo import registry  # noqa: E402
from hilo.bus import EventBus  # noqa: E402
from hilo.embedded import ensure_database  # noqa: E402
from hilo.privacy.master import new_master_key  # noqa: E402
from hilo.service import Service  # noqa: E402
from hilo.settings import HiloSettings  # noqa: E402
from hilo.store.migrations import migrate_url  # noqa: E402
from hilo.testing import Infrastructure, infrastructure  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
SEED = int(os.environ.get("FUZZ_SEED", "0"))
SIGNED_IN_EXAMPLES = int(os.environ.get("FUZZ_SIGNED_IN_EXAMPLES", "100"))
STANDARD_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc"}
DOCUMENT_PATHS = ("/openapi.json", "/api/openapi.json")


def own_paths(service: Service) -> set[str]:
    """The paths its OpenAPI document names beyond those every service has."""
    paths = set(service.http_app().openapi().get("paths", {}))
    return paths - STANDARD_PATHS


async def openapi_document(port: int) -> dict[str, Any] | None:
    async with httpx.AsyncClient(timeout=10) as http:
        for path in DOCUMENT_PATHS:
            answer = await http.get(f"http://127.0.0.1:{port}{path}")
            if answer.status_code == 200 and "json" in answer.headers.get("content-type", ""):
                document: dict[str, Any] = answer.json()
                return document
    return None


async def still_healthy(port: int) -> bool:
    async with httpx.AsyncClient(timeout=10) as http:
        return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200


async def settings_for(infra: Infrastructure, name: str, base: Path) -> HiloSettings:
    """A fresh migrated database and NATS namespace of the service's own."""
    suffix = uuid.uuid4().hex[:8]
    database_url = await ensure_database(infra.server_uri, f"fuzz_{name}_{suffix}")
    await migrate_url(database_url)
    return HiloSettings(
        nats_url=infra.nats_url,
        database_url=database_url,
        namespace=f"fz{suffix}",
        http_port=0,
        data_dir=base / f"data-{name}",
        master_key=new_master_key(),
    )


Row = tuple[str, Tally, list[str]]


async def fuzz_service(infra: Infrastructure, name: str, base: Path) -> list[Row]:
    """One row a pass: the service as it is met, and for the inbox also signed in."""
    service = registry.load(name)
    notes: list[str] = []
    settings = await settings_for(infra, name, base)
    bus = await EventBus.connect(settings.require_nats_url(), settings.namespace)
    watch = Watch(bus)
    await watch.start()
    try:
        async with service.running(settings):
            port = service.http_port
            assert port is not None
            document = await openapi_document(port)
            if document is None:
                return [(name, Tally(), ["no OpenAPI document"])]
            probes: list[Probe] = []
            signer = None
            if name == "ingest":
                cases = IngestCases(f"http://127.0.0.1:{port}", SECRETS)
                signer = cases.sign
                hostile = await run_probes(cases.all(), port, watch)
                notes.append(f"{hostile.tried} hand-written hostile requests")
            else:
                hostile = Tally()
            generated, skipped = generated_probes(
                overlaid(name, document), EXAMPLES, signer, seed=SEED
            )
            probes += generated
            tally = await run_probes(probes, port, watch, checked=False)
            tally.merge(hostile)
            notes.append(f"{len(generated)} generated by schemathesis")
            notes += [f"not generated: {s}" for s in skipped]
            rows = [(name, tally, notes)]
            if name == "inbox":
                rows.append(await fuzz_signed_in(service, port, watch, document))
            if not await still_healthy(port):
                tally.server_errors.append("GET /healthz after the run: not 200")
            return rows
    finally:
        await bus.close()


async def fuzz_signed_in(
    service: Service, port: int, watch: Watch, document: dict[str, Any]
) -> Row:
    """The operator API with an admin's bearer token, over a little seeded data."""
    assert service.runtime is not None
    started = time.perf_counter()
    seeded = await signed_in.seed(service.runtime)
    sign = signed_in.bearer(seeded.token)
    generated, skipped = generated_probes(
        signed_in.signed_in_document(document), SIGNED_IN_EXAMPLES, sign, seed=SEED
    )
    on_seed, skipped_on_seed = generated_probes(
        signed_in.seeded_document(document, seeded), SIGNED_IN_EXAMPLES, sign, seed=SEED
    )
    generated += on_seed
    skipped += skipped_on_seed
    tally = await run_probes(generated, port, watch, checked=False)
    notes = [
        f"{len(generated)} generated by schemathesis, signed in as an admin token,"
        f" {len(on_seed)} of them on a seeded contact or task"
        f" ({SIGNED_IN_EXAMPLES} per operation and mode; {time.perf_counter() - started:.0f} s)",
        *(f"not generated: {s}" for s in skipped),
    ]
    return f"{service.name} (signed in)", tally, notes


NAME_WIDTH = len("inbox (signed in)") + 1
COLUMNS = ("tried", "5xx", "hung", "no answer", "wrong", "invalid→events")


def _row(name: str, tally: Tally) -> str:
    figures = (
        tally.tried,
        len(tally.server_errors),
        len(tally.hung),
        len(tally.dropped),
        len(tally.wrong_answers),
        tally.invalid_publishes,
    )
    return f"{name:<{NAME_WIDTH}}" + "".join(
        f" {f:>{len(c)}}" for f, c in zip(figures, COLUMNS, strict=True)
    )


def print_figures(results: dict[str, Tally], skipped: list[str]) -> None:
    print("\n" + f"{'service':<{NAME_WIDTH}}" + "".join(f" {c}" for c in COLUMNS))
    total = Tally()
    for name, tally in results.items():
        total.merge(tally)
        print(_row(name, tally))
    print(_row("total", total))
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(total.statuses.items()))
    print(f"answers by status: {statuses}")
    print(f"events published by accepted requests: {total.accepted_publishes}")
    for line in skipped:
        print(f"skipped: {line}")
    for problem in total.problems:
        print(f"PROBLEM {problem}")


async def fuzz_all(infra: Infrastructure, base: Path) -> int:
    results: dict[str, Tally] = {}
    skipped: list[str] = []
    for info in registry.services():
        service = registry.load(info.name)
        if not own_paths(service) and not info.public:
            skipped.append(f"{info.name} (only /healthz, /readyz, /metrics: fuzzed on ingest)")
            continue
        print(f"== {info.name}", flush=True)
        for row, tally, notes in await fuzz_service(infra, info.name, base):
            if row != info.name:
                print(f"== {row}", flush=True)
            for note in notes:
                print(f"   {note}")
            results[row] = tally
    print_figures(results, skipped)
    return 1 if any(t.problems for t in results.values()) else 0


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="hilo-fuzz-"))
    os.chmod(base, 0o777)  # pgserver runs PostgreSQL as its own user when we are root
    try:
        with infrastructure(base) as infra:
            return asyncio.run(fuzz_all(infra, base))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
