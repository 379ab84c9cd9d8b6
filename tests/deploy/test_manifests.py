"""deploy/: what the generator writes, and the properties operators rely on, on the rendered
objects (kubectl's kustomize from the dev extra), with no cluster."""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.tools import catalog, check, manifests
from deploy.tools.catalog import CONTRACT_VARIABLES, Consumer, ServiceSpec
from hilo import registry

ROOT = Path(__file__).parents[2]
Objects = dict[str, dict[str, dict[str, Any]]]


def by_kind(documents: list[dict[str, Any]]) -> Objects:
    found: Objects = defaultdict(dict)
    for document in documents:
        found[document["kind"]][document["metadata"]["name"]] = document
    return found


@pytest.fixture(scope="module")
def base() -> Objects:
    return by_kind(check.render(check.DEPLOY / "k8s/base"))


def test_the_generated_files_are_current() -> None:
    assert manifests.stale(manifests.generated(catalog.catalog())) == []


def test_every_manifest_renders_and_validates() -> None:
    assert check.problems() == []


def test_every_registered_service_has_its_objects(base: Objects) -> None:
    for info in registry.services():
        name = info.name.replace("_", "-")
        assert name in base["Deployment"], name
        assert name in base["Service"], name
        assert name in base["PodDisruptionBudget"], name


def test_every_pod_is_probed_bounded_and_unprivileged(base: Objects) -> None:
    for name, deployment in base["Deployment"].items():
        pod = deployment["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name
        assert container["securityContext"]["allowPrivilegeEscalation"] is False, name


def test_pods_stop_later_than_their_longest_handler_may_run(base: Objects) -> None:
    for spec in catalog.catalog():
        deployment = base["Deployment"][spec.k8s_name]
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        for consumer in spec.consumers:
            assert grace > consumer.ack_wait, (spec.name, consumer)


def test_the_recorder_is_one_writer_replaced_not_rolled(base: Objects) -> None:
    recorder = base["Deployment"]["recorder"]
    assert recorder["spec"]["replicas"] == 1
    assert recorder["spec"]["strategy"] == {"type": "Recreate"}
    assert "recorder" not in base["HorizontalPodAutoscaler"]
    assert "recorder" not in base["ScaledObject"]


def test_consumers_scale_on_the_lag_of_their_own_durable_consumers(base: Objects) -> None:
    for spec in catalog.catalog():
        if not spec.scales_on_lag:
            continue
        scaled = base["ScaledObject"][spec.k8s_name]["spec"]
        assert scaled["scaleTargetRef"]["name"] == spec.k8s_name
        assert {t["type"] for t in scaled["triggers"]} == {"nats-jetstream"}
        assert {t["metadata"]["consumer"] for t in scaled["triggers"]} == {
            name
            for c in spec.consumers
            for name in manifests.partition_consumers(c.durable, catalog.PARTITIONS)
        }
        assert {t["metadata"]["stream"] for t in scaled["triggers"]} == {"HILO"}
        assert spec.k8s_name not in base["HorizontalPodAutoscaler"], "KEDA owns its HPA"


def test_only_public_services_are_reachable_from_outside(base: Objects) -> None:
    public_policy = base["NetworkPolicy"]["hilo-public"]["spec"]["podSelector"]["matchLabels"]
    for spec in catalog.catalog():
        pod_labels = base["Deployment"][spec.k8s_name]["spec"]["template"]["metadata"]["labels"]
        selected = all(pod_labels.get(k) == v for k, v in public_policy.items())
        assert selected == spec.public, spec.name
    assert base["NetworkPolicy"]["hilo-default-deny"]["spec"]["policyTypes"] == [
        "Ingress",
        "Egress",
    ]


def test_every_contract_variable_has_a_place(base: Objects) -> None:
    # The first cell of the contract's configuration tables (both parts, when present).
    first_cells = [
        line.split("|")[1]
        for line in (ROOT / "docs/CONTRACT.md").read_text().splitlines()
        if line.startswith("| `")
    ]
    named = {v for cell in first_cells for v in re.findall(r"`([A-Z]+_[A-Z0-9_]+)`", cell)}
    assert "HILO_NATS_URL" in named
    assert named - set(CONTRACT_VARIABLES) == set()

    config = (check.DEPLOY / "k8s/base/config.yaml").read_text()
    secrets = (check.DEPLOY / "k8s/secrets.env.example").read_text()
    for variable, place in CONTRACT_VARIABLES.items():
        if place == "config":
            assert re.search(rf"^\s*#?\s*{variable}:", config, re.M), variable
        elif place == "secret":
            assert re.search(rf"^{variable}=", secrets, re.M), variable


def test_the_pods_read_their_settings_from_the_config_map_and_secrets(base: Objects) -> None:
    notifier = base["Deployment"]["notifier"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in notifier["env"]}
    assert env["TWILIO_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "hilo-secrets"
    assert env["TWILIO_API_BASE"]["valueFrom"]["configMapKeyRef"]["name"] == "hilo-config"
    assert env["HILO_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "hilo-db-app",
        "key": "uri",
    }
    assert env["HILO_HTTP_PORT"]["value"] == "8006"
    assert "ELEVENLABS_API_KEY" not in env, "each pod gets only what its settings read"


def ten_services() -> list[ServiceSpec]:
    """Today's registry plus the three services being added (router, flows, inbox)."""
    later = [
        ServiceSpec("router", 8007, "router", "who answers", False, (Consumer("router", 30),), ()),
        ServiceSpec("flows", 8008, "flows", "question flows", False, (Consumer("flows", 30),), ()),
        ServiceSpec(
            "inbox",
            8080,
            "inbox",
            "the operator app",
            True,
            (),
            ("HILO_NATS_URL", "HILO_DATABASE_URL"),
            own_port_variable="HILO_INBOX_PORT",
        ),
    ]
    return [*catalog.catalog(), *later]


def test_the_operator_app_is_public_on_its_own_port_and_flows_reach_the_internet() -> None:
    files = manifests.kubernetes_files(ten_services())
    inbox = by_kind(list(yaml.safe_load_all(files["k8s/base/services/inbox.yaml"])))
    [container] = inbox["Deployment"]["inbox"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HILO_INBOX_PORT"] == env["HILO_HTTP_PORT"] == "8080"
    assert inbox["Service"]["inbox"]["spec"]["ports"][0]["port"] == 8080
    assert inbox["Deployment"]["inbox"]["metadata"]["labels"]["app.kubernetes.io/component"] == (
        "public"
    )
    assert inbox["HorizontalPodAutoscaler"]["inbox"]["spec"]["minReplicas"] == 2
    flows = by_kind(list(yaml.safe_load_all(files["k8s/base/services/flows.yaml"])))
    pod = flows["Deployment"]["flows"]["spec"]["template"]["metadata"]["labels"]
    assert pod["hilo.dev/egress"] == "internet"
    kustomization = yaml.safe_load(files["k8s/base/services/kustomization.yaml"])
    assert len(kustomization["resources"]) == len(ten_services())
    for document in (d for text in files.values() for d in yaml.safe_load_all(text)):
        if document.get("kind") != "Kustomization":
            assert check.validate(document) == [], document["metadata"]["name"]


def test_with_partitions_a_consumer_scales_to_one_replica_per_partition() -> None:
    analyzer = next(s for s in catalog.catalog() if s.name == "analyzer")
    scaled = manifests.lag_autoscaler(analyzer, partitions=4)
    assert scaled["spec"]["maxReplicaCount"] == 4
    assert [t["metadata"]["consumer"] for t in scaled["spec"]["triggers"]] == [
        f"{consumer.durable}-p{i}" for consumer in analyzer.consumers for i in range(4)
    ]
    assert check.validate(scaled) == []


def test_compose_runs_the_same_images_and_publishes_only_public_ports() -> None:
    compose = yaml.safe_load((check.DEPLOY / "compose.yaml").read_text())
    for spec in catalog.catalog():
        entry = compose["services"][spec.name]
        assert entry["build"]["args"] == {"SERVICE": spec.name, "EXTRA": spec.extra}
        assert entry["image"].startswith(f"{spec.image}:")
        assert ("ports" in entry) == spec.public, spec.name
        assert entry["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert compose["services"]["migrate"]["command"] == ["migrate"]


def test_the_checker_rejects_a_misspelt_field_in_a_custom_resource(base: Objects) -> None:
    cluster = copy.deepcopy(base["Cluster"]["hilo-db"])
    cluster["spec"]["instance"] = 3
    assert any("'instance' was unexpected" in p for p in check.validate(cluster))
    deployment = copy.deepcopy(base["Deployment"]["ingest"])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    assert check.validate(deployment), "strict Kubernetes schemas"


def test_the_nats_values_set_only_what_the_chart_has() -> None:
    assert check.check_nats_values() == []
    chart = {"config": {"jetstream": {"enabled": False}, "merge": {}}}
    assert list(check.unknown_keys({"config": {"jetstrem": {"enabled": True}}}, chart)) == [
        "config.jetstrem"
    ]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_object_of_an_overlay_lands_in_the_hilo_namespace(overlay: str) -> None:
    documents = check.render(check.DEPLOY / f"k8s/overlays/{overlay}")
    outside = [
        check.name_of(d)
        for d in documents
        if d["kind"] != "Namespace" and d["metadata"].get("namespace") != "hilo"
    ]
    assert outside == []


def test_production_ingest_keeps_call_audio_on_a_shared_volume_without_the_simulator() -> None:
    prod = by_kind(check.render(check.DEPLOY / "k8s/overlays/prod"))
    pod = prod["Deployment"]["ingest"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    claim = volumes["data"]["persistentVolumeClaim"]["claimName"]
    assert prod["PersistentVolumeClaim"][claim]["spec"]["accessModes"] == ["ReadWriteMany"]
    [settings] = [
        e["configMapRef"]["name"] for e in pod["containers"][0]["envFrom"] if "configMapRef" in e
    ]
    assert prod["ConfigMap"][settings]["data"] == {
        "INGEST_ALLOW_SIMULATOR": "false",
        "INGEST_SERVE_MEDIA": "false",
    }
