"""`hilo users add` and `hilo tokens create|revoke`, as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from services.inbox.store import AccountStore


async def hilo(
    database_url: str, tmp_path: Path, *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    env = {**os.environ, "HILO_DATABASE_URL": database_url, "HILO_DATA_DIR": str(tmp_path)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hilo.cli.main",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    out, err = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_users_and_tokens_from_the_command_line(
    database_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    code, out, _ = await hilo(
        database_url,
        tmp_path,
        "users",
        "add",
        "Ana@Example.com",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough secret\n",
    )
    assert code == 0 and out.strip() == "added admin ana@example.com"
    hashed = await pool.fetchval("SELECT password_hash FROM inbox_operators")
    assert hashed.startswith("$argon2id$") and "secret" not in hashed

    code, _, err = await hilo(
        database_url,
        tmp_path,
        "users",
        "add",
        "ana@example.com",
        "--password-stdin",
        stdin="another long secret\n",
    )
    assert code == 1 and err.strip() == "hilo: an operator ana@example.com exists already"
    code, _, err = await hilo(
        database_url,
        tmp_path,
        "users",
        "add",
        "bob@example.com",
        "--password-stdin",
        stdin="short\n",
    )
    assert code == 1 and "at least 10 characters" in err and "Traceback" not in err
    code, _, err = await hilo(
        database_url,
        tmp_path,
        "users",
        "add",
        "bob@example.com",
        "--role",
        "boss",
        "--password-stdin",
        stdin="a long enough secret\n",
    )
    assert code == 1 and "unknown role 'boss'" in err

    code, out, _ = await hilo(
        database_url, tmp_path, "tokens", "create", "--name", "crm", "--role", "agent"
    )
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("hilo_") and len(token) > 40
    operator = await AccountStore(pool).token(token)
    assert operator is not None and (operator.name, operator.role) == ("crm", "agent")
    assert token.encode() not in b"".join(
        bytes(r[0]) for r in await pool.fetch("SELECT token_digest FROM inbox_tokens")
    )
    code, _, err = await hilo(database_url, tmp_path, "tokens", "create", "--name", "crm")
    assert code == 1 and "exists already" in err

    code, out, _ = await hilo(database_url, tmp_path, "tokens", "revoke", "crm")
    assert code == 0 and await AccountStore(pool).token(token) is None
    code, _, err = await hilo(database_url, tmp_path, "tokens", "revoke", "crm")
    assert code == 1 and err.strip() == "hilo: no active token named 'crm'"
