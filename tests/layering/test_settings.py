"""Provider credentials are secrets everywhere; list settings read both spellings."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hilo import deploy_files, registry
from hilo.settings import (
    ElevenLabsApiKey,
    ElevenLabsWebhookSecret,
    MetaAccessToken,
    MetaWebhookSecrets,
    OpenAICredentials,
    TwilioCredentials,
)
from services.notifier.settings import NotifierSettings
from services.transcriber.settings import TranscriberSettings
from services.voice_bridge.settings import VoiceBridgeSettings

MIXINS = (
    TwilioCredentials,
    MetaAccessToken,
    MetaWebhookSecrets,
    ElevenLabsApiKey,
    ElevenLabsWebhookSecret,
    OpenAICredentials,
)
SECRET_NAMES = {
    name
    for mixin in MIXINS
    for name, field in mixin.model_fields.items()
    if field.annotation == SecretStr | None
}


def test_every_service_reads_provider_secrets_as_secrets() -> None:
    assert {"twilio_auth_token", "whatsapp_token", "openai_api_key"} <= SECRET_NAMES
    for info in registry.services():
        for cls in deploy_files.settings_classes(info):
            for name in SECRET_NAMES & set(cls.model_fields):
                assert cls.model_fields[name].annotation == SecretStr | None, (cls, name)


@pytest.mark.parametrize("cls", [NotifierSettings, TranscriberSettings, VoiceBridgeSettings])
def test_a_settings_object_never_shows_a_secret(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_NAMES:
        monkeypatch.setenv(name.upper(), f"s3cret-{name}")
    settings = cls(_env_file=None)
    shown = f"{settings!r} {settings} {settings.model_dump()} {settings.model_dump_json()}"
    assert "s3cret" not in shown


def test_list_settings_read_a_json_list_or_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_OPT_OUT_KEYWORDS_ES", "baja, parar ,no mas")
    monkeypatch.setenv("NOTIFIER_OPT_OUT_KEYWORDS_EN", '["stop", "quit, now"]')
    monkeypatch.setenv("TRANSCRIBER_RETRY_BACKOFF_SECONDS", "0.5,2")
    notifier = NotifierSettings(_env_file=None)
    assert notifier.notifier_opt_out_keywords_es == ["baja", "parar", "no mas"]
    assert notifier.notifier_opt_out_keywords_en == ["stop", "quit, now"]
    assert TranscriberSettings(_env_file=None).retry_backoff == (0.5, 2.0)
    assert VoiceBridgeSettings(_env_file=None).batch_ids == ()
