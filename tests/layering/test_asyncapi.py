"""docs/asyncapi.yaml describes every registered service's subjects and events, and is current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hilo import asyncapi, registry
from hilo.registry import ServiceInfo
from schemas import MessageSent

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(asyncapi.document())
    return loaded


def test_the_checked_in_document_is_current(rendered: dict[str, Any]) -> None:
    assert yaml.safe_load(DOCUMENT.read_text()) == rendered


def test_every_subscription_and_publication_is_a_channel(rendered: dict[str, Any]) -> None:
    channels = rendered["channels"]
    for info in registry.services():
        service = registry.load(info.name)
        for subscription in service.subscriptions:
            for event_class in subscription.accepts:
                channel = channels[f"{info.name}.consumes.{event_class.event_type()}"]
                assert channel["address"] == f"{event_class.event_type()}.{{contact}}"
                assert subscription.spec.durable in channel["description"]
        for event_type in info.publishes:
            assert f"{info.name}.publishes.{event_type}" in channels
    operations = rendered["operations"]
    assert operations["notifier.publishes.message.sent"]["action"] == "send"
    assert operations["notifier.consumes.reply.ready"]["action"] == "receive"


def test_payloads_are_the_event_classes_schemas(rendered: dict[str, Any]) -> None:
    schema = rendered["components"]["schemas"]["MessageSent"]
    assert set(MessageSent.model_fields) <= set(schema["properties"])
    assert schema["properties"]["type"]["const"] == "message.sent"


def test_a_publication_of_an_unknown_type_is_refused() -> None:
    wrong = ServiceInfo(
        name="notifier", port_offset=6, summary="", extra="notifier", publishes=("mesage.sent",)
    )
    with pytest.raises(asyncapi.UnknownEventType, match=r"mesage\.sent"):
        asyncapi.broker((wrong,))
