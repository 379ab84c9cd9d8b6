"""deploy/Procfile and deploy/env/*.env.example are rendered from the registry and settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from hilo import deploy_files, registry
from hilo.registry import ServiceInfo

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class InboxLikeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INBOX_", extra="ignore")

    # Sessions last this long.
    session_hours: float = 12.0
    api_key: SecretStr | None = None
    allowed_origins: list[str] = Field(default_factory=lambda: ["https://a.example"])
    secure_cookies: bool = Field(default=False, examples=[True])


def test_the_checked_in_files_are_what_the_code_renders() -> None:
    assert deploy_files.stale(DEPLOY, deploy_files.render()) == []


def test_every_registered_service_has_its_process_and_env_example() -> None:
    files = deploy_files.render()
    for info in registry.services():
        assert f"{info.name}: HILO_HTTP_PORT=" in files["Procfile"]
        assert f"env/{info.name}.env.example" in files


def test_a_newly_registered_service_appears_with_no_edit_to_the_generator(tmp_path: Path) -> None:
    flows = ServiceInfo(name="flows", port_offset=8, summary="question flows", extra="flows")
    inbox = ServiceInfo(
        name="inbox",
        port_offset=9,
        summary="the operator app",
        extra="inbox",
        public=True,
        port_variable="HILO_INBOX_PORT",
        default_port=8080,
    )
    classes = {"flows": [], "inbox": [InboxLikeSettings]}
    files = deploy_files.render([flows, inbox], lambda info: classes[info.name])

    assert "flows: HILO_HTTP_PORT=8008 hilo serve flows" in files["Procfile"]
    assert "inbox: HILO_HTTP_PORT=8080 hilo serve inbox" in files["Procfile"]
    inbox_env = files["env/inbox.env.example"].splitlines()
    assert "# Sessions last this long." in inbox_env
    assert "INBOX_SESSION_HOURS=12.0" in inbox_env
    assert "INBOX_API_KEY=" in inbox_env  # a secret has no default to print
    assert 'INBOX_ALLOWED_ORIGINS=["https://a.example"]' in inbox_env
    assert "INBOX_SECURE_COOKIES=true" in inbox_env  # the production example, not the default

    assert deploy_files.write(tmp_path, files) == sorted(files)
    assert deploy_files.stale(tmp_path, files) == []
    (tmp_path / "Procfile").write_text("edited by hand\n")
    assert deploy_files.stale(tmp_path, files) == ["Procfile"]


def test_check_mode_names_the_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy_files.main(["--deploy-dir", str(tmp_path), "--check"]) == 1
    assert f"{tmp_path / 'Procfile'}" in capsys.readouterr().err
    assert deploy_files.main(["--deploy-dir", str(tmp_path)]) == 0
    assert deploy_files.main(["--deploy-dir", str(tmp_path), "--check"]) == 0
