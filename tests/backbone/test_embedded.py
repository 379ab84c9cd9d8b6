"""The embedded servers never adopt a stranger already listening where they should run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hilo.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedServerError,
    free_port,
    nats_server_binary,
    nats_server_name,
)
from hilo.testing import Infrastructure

HILO = [sys.executable, "-m", "hilo.cli.main"]


@pytest.fixture
def stranger(tmp_path: Path) -> Iterator[int]:
    """Someone else's nats-server (no JetStream, another name), on a port of its own."""
    port = free_port()
    config = tmp_path / "stranger.conf"
    config.write_text(f'listen: "127.0.0.1:{port}"\nserver_name: "someone-else"\n')
    process = subprocess.Popen(
        [nats_server_binary(), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while nats_server_name("127.0.0.1", port, 0.2) != "someone-else":
            assert process.poll() is None, "the stranger did not start"
            assert time.monotonic() < deadline, "the stranger never answered"
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_embedded_nats_answers_with_its_own_name(tmp_path: Path) -> None:
    nats = EmbeddedNats(tmp_path / "nats", port=free_port())
    nats.start()
    try:
        assert nats_server_name(nats.host, nats.port) == nats.server_name
        assert nats.alive()
    finally:
        nats.stop()


def test_embedded_nats_refuses_a_stranger_on_its_port(tmp_path: Path, stranger: int) -> None:
    nats = EmbeddedNats(tmp_path / "nats", port=stranger)
    with pytest.raises(EmbeddedServerError) as refused:
        nats.start()
    message = str(refused.value)
    assert f"127.0.0.1:{stranger}" in message
    assert "HILO_NATS_PORT" in message
    assert not nats.alive()


def test_hilo_up_stops_clearly_when_its_nats_port_is_taken(tmp_path: Path, stranger: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
    env.update(
        HILO_DATA_DIR=str(tmp_path / "data"),
        HILO_HTTP_PORT=str(free_port()),
        HILO_NATS_PORT=str(stranger),
    )
    done = subprocess.run(
        [*HILO, "up", "-s", "recorder"], env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 1
    assert f"127.0.0.1:{stranger}" in done.stderr and "HILO_NATS_PORT" in done.stderr
    assert "Traceback" not in done.stderr
    assert "NATS JetStream on" not in done.stdout  # it never claimed the stranger as its own


async def test_embedded_postgres_refuses_a_server_on_another_data_directory(
    tmp_path: Path, infra: Infrastructure
) -> None:
    # The session's server runs on its own data directory, not on this one.
    ours = EmbeddedPostgres(tmp_path / "pg")
    with pytest.raises(EmbeddedServerError, match="HILO_DATA_DIR"):
        await ours.verify(infra.server_uri)
    if infra.postgres is not None:
        await infra.postgres.verify(infra.server_uri)  # and its own is accepted
