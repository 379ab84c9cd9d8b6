"""The keyring against real PostgreSQL: one key per contact and scope, destroyed for good."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import asyncpg
import pytest
from pydantic import SecretStr

from hilo.privacy.codec import EventCodec, codec_for
from hilo.privacy.keyring import CONTACT_SCOPE, Keyring, KeyUnwrapFailed, transcript_scope
from hilo.privacy.master import (
    MissingMasterKey,
    decode_master_key,
    ensure_dev_master_key,
    master_key,
    new_master_key,
    wrapping_key,
)
from hilo.settings import HiloSettings
from hilo.testing import eventually

PSEUDONYM = "c" + "a" * 26


def keyring(settings: HiloSettings, pool: asyncpg.Pool, **options: float) -> Keyring:
    return Keyring(pool, wrapping_key(master_key(settings)), **options)


async def test_two_keyrings_creating_at_once_get_one_key(
    settings: HiloSettings, pool: asyncpg.Pool
) -> None:
    rings = [keyring(settings, pool) for _ in range(6)]
    keys = await asyncio.gather(*(r.key_for(PSEUDONYM) for r in rings))
    assert len({k.key_id for k in keys}) == 1
    assert await pool.fetchval("SELECT count(*) FROM hilo_data_keys") == 1
    # The secrets are the same too: what one seals, another opens.
    nonce = b"\0" * 12
    sealed = keys[0].cipher.encrypt(nonce, b"hola", None)
    assert keys[5].cipher.decrypt(nonce, sealed, None) == b"hola"


async def test_keys_are_stored_wrapped_and_need_the_master_key(
    settings: HiloSettings, pool: asyncpg.Pool
) -> None:
    key = await keyring(settings, pool).key_for(PSEUDONYM)
    wrapped = await pool.fetchval("SELECT wrapped FROM hilo_data_keys")
    assert len(wrapped) == 12 + 32 + 16  # nonce, key, tag: never the key alone
    stranger = Keyring(pool, wrapping_key(bytes(32)))
    with pytest.raises(KeyUnwrapFailed):
        await stranger.by_ids([key.key_id])


async def test_destroy_takes_every_scope_and_a_new_life_gets_new_keys(
    settings: HiloSettings, pool: asyncpg.Pool
) -> None:
    ring = keyring(settings, pool)
    first = await ring.key_for(PSEUDONYM)
    day = await ring.key_for(PSEUDONYM, transcript_scope(date(2026, 12, 1)))
    other = await ring.key_for("c" + "b" * 26)
    assert await ring.destroy(PSEUDONYM) == 2
    assert await ring.get(PSEUDONYM) is None
    found = await ring.by_ids([first.key_id, day.key_id, other.key_id])
    assert found[first.key_id] is None and found[day.key_id] is None
    assert found[other.key_id] is not None
    # Writing again after being forgotten: a new key; the old one stays destroyed.
    again = await ring.key_for(PSEUDONYM)
    assert again.key_id != first.key_id
    assert (await keyring(settings, pool).by_ids([first.key_id]))[first.key_id] is None
    assert await ring.destroy(PSEUDONYM) == 1
    assert await ring.destroy(PSEUDONYM) == 0


async def test_old_transcript_days_are_destroyed_and_the_rest_kept(
    settings: HiloSettings, pool: asyncpg.Pool
) -> None:
    ring = keyring(settings, pool)
    for day in (1, 2, 3):
        await ring.key_for(PSEUDONYM, transcript_scope(date(2026, 11, day)))
    await ring.key_for("c" + "b" * 26, transcript_scope(date(2026, 10, 30)))
    contact = await ring.key_for(PSEUDONYM)
    destroyed = await ring.destroy_transcripts_before(date(2026, 11, 3))
    assert destroyed == [
        ("c" + "a" * 26, date(2026, 11, 1)),
        ("c" + "a" * 26, date(2026, 11, 2)),
        ("c" + "b" * 26, date(2026, 10, 30)),
    ]
    assert await ring.get(PSEUDONYM, transcript_scope(date(2026, 11, 3))) is not None
    assert await ring.get(PSEUDONYM) == contact


async def test_a_destroy_in_one_process_clears_the_others_cache(
    settings: HiloSettings, pool: asyncpg.Pool, codec: EventCodec
) -> None:
    """``codec`` listens, as every service does; the other keyring stands for the CLI."""
    # A cache that would otherwise hold the key for an hour.
    listening = codec_for(master_key(settings), pool, cache_seconds=3600)
    await listening.keyring.listen(settings.require_database_url())
    try:
        key = await listening.keyring.key_for(PSEUDONYM)
        assert listening.keyring.cached(PSEUDONYM) == key
        await keyring(settings, pool).destroy(PSEUDONYM)

        async def dropped() -> bool:
            return listening.keyring.cached(PSEUDONYM) is None

        await eventually(dropped)
        assert (await listening.keyring.by_ids([key.key_id]))[key.key_id] is None
        assert (await listening.keyring.key_for(PSEUDONYM)).key_id != key.key_id
    finally:
        await listening.keyring.close()


async def test_a_cached_key_is_read_again_after_its_time(
    settings: HiloSettings, pool: asyncpg.Pool
) -> None:
    """The backstop when a notification is missed: a cache entry has a bounded life."""
    ring = keyring(settings, pool, cache_seconds=0)
    await ring.key_for(PSEUDONYM)
    await keyring(settings, pool).destroy(PSEUDONYM)  # not listening: no notification
    assert await ring.get(PSEUDONYM) is None


def test_a_master_key_must_be_32_bytes_of_base64(settings: HiloSettings) -> None:
    from hilo.errors import UserError

    for wrong in ("not base64!", "c2hvcnQ="):
        with pytest.raises(UserError):
            master_key(settings.model_copy(update={"master_key": SecretStr(wrong)}))
    right = SecretStr(new_master_key())
    assert len(master_key(settings.model_copy(update={"master_key": right}))) == 32


def test_contact_scope_is_named() -> None:
    assert CONTACT_SCOPE == "contact"
    assert transcript_scope(date(2026, 12, 1)) == "transcript:2026-12-01"


def test_a_service_without_a_master_key_does_not_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HILO_")}
    env.update(
        HILO_NATS_URL="nats://127.0.0.1:9",
        HILO_DATABASE_URL="postgresql://nobody@127.0.0.1:9/none",
        HILO_DATA_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-m", "hilo.cli.main", "serve", "recorder"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "HILO_MASTER_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_development_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = HiloSettings(_env_file=None, data_dir=tmp_path)
    key, path = ensure_dev_master_key(settings)
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    assert ensure_dev_master_key(settings) == (key, path)
    assert master_key(settings, dev_file=True) == decode_master_key(key)
    with pytest.raises(MissingMasterKey):
        master_key(settings)  # a service is never started on the development file
