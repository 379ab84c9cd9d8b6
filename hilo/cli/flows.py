"""`hilo flows validate [PATH]` and `hilo flows list`: the flow files, checked as the service
checks them at start-up (every error with its file and line)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hilo.cli.errors import UserError
from hilo.flowdefs import Flow, FlowSet, InvalidFlows, load_flow, load_flows


def flows_dir() -> Path:
    return Path(os.environ.get("HILO_FLOWS_DIR") or "flows")


def _load(path: Path) -> FlowSet:
    if not path.exists():
        raise UserError(f"{path}: no such file or directory (HILO_FLOWS_DIR, default flows/)")
    try:
        if path.is_file():
            return FlowSet((load_flow(path),))
        return load_flows(path)
    except InvalidFlows as exc:
        count = len(exc.errors)
        raise UserError(
            f"{count} problem{'s' if count != 1 else ''} in the flows:\n{exc}"
        ) from None


def validate(path: Path | None) -> None:
    target = path or flows_dir()
    flows = _load(target)
    if not flows.flows:
        raise UserError(f"{target}: no flow files (*.yaml) found")
    names = ", ".join(f.id for f in flows.flows)
    print(
        f"{target}: {len(flows.flows)} flow{'s' if len(flows.flows) != 1 else ''} valid ({names})"
    )


def _summary(flow: Flow) -> dict[str, object]:
    return {
        "id": flow.id,
        "name": flow.name,
        "language": flow.language,
        "keywords": list(flow.trigger.keywords),
        "questions": [{"id": q.id, "type": q.type} for q in flow.questions],
        "external_api": flow.external_api.url if flow.external_api else None,
    }


def list_flows(as_json: bool) -> None:
    flows = _load(flows_dir())
    if as_json:
        for flow in flows.flows:
            print(json.dumps(_summary(flow), ensure_ascii=False))
        return
    table = Table("id", "name", "language", "keywords", "questions", "outside API")
    for flow in flows.flows:
        table.add_row(
            flow.id,
            flow.name,
            flow.language,
            ", ".join(flow.trigger.keywords),
            ", ".join(f"{q.id} ({q.type})" for q in flow.questions),
            flow.external_api.url if flow.external_api else "-",
        )
    Console().print(table)
