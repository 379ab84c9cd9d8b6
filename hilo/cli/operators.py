"""`hilo users add` and `hilo tokens create|revoke|list`: operator accounts for the inbox."""

from __future__ import annotations

import asyncio
import getpass
import sys

from hilo.cli.connect import database
from hilo.cli.errors import UserError
from hilo.settings import HiloSettings


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ")
    return password


def add_user(settings: HiloSettings, email: str, role: str, password_from_stdin: bool) -> str:
    from services.inbox import accounts
    from services.inbox.store import AccountExists, AccountStore

    try:
        address = accounts.normal_email(email)
        checked = accounts.checked_role(role)
        password_hash = accounts.hash_password(_password(password_from_stdin))
    except accounts.InvalidAccount as exc:
        raise UserError(str(exc)) from None

    async def main() -> None:
        async with database(settings) as pool:
            await AccountStore(pool).add_operator(address, checked, password_hash)

    try:
        asyncio.run(main())
    except AccountExists as exc:
        raise UserError(str(exc)) from None
    return f"added {checked} {address}"


def create_token(settings: HiloSettings, name: str, role: str) -> str:
    """The new token: shown once, never stored in readable form."""
    from services.inbox import accounts
    from services.inbox.store import AccountExists, AccountStore

    try:
        checked_name = accounts.checked_token_name(name)
        checked = accounts.checked_role(role)
    except accounts.InvalidAccount as exc:
        raise UserError(str(exc)) from None
    token = accounts.new_api_token()

    async def main() -> None:
        async with database(settings) as pool:
            await AccountStore(pool).add_token(checked_name, checked, token)

    try:
        asyncio.run(main())
    except AccountExists as exc:
        raise UserError(str(exc)) from None
    return token


def revoke_token(settings: HiloSettings, name: str) -> None:
    from services.inbox.store import AccountStore

    async def main() -> bool:
        async with database(settings) as pool:
            return await AccountStore(pool).revoke_token(name)

    if not asyncio.run(main()):
        raise UserError(f"no active token named {name!r}")


def list_tokens(settings: HiloSettings) -> list[str]:
    from services.inbox.store import AccountStore

    async def main() -> list[str]:
        async with database(settings) as pool:
            tokens = await AccountStore(pool).tokens()
        return [
            f"{t.name}\t{t.role}\tcreated {t.created_at:%Y-%m-%d %H:%M}"
            + (f"\trevoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "")
            for t in tokens
        ]

    return asyncio.run(main())
