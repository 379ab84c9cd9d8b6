"""The inbox's own tables: operators, sessions, API tokens, failed sign-ins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.inbox.accounts import Operator, Role, checked_role, digest


class AccountExists(Exception):
    """An operator with this e-mail, or a token with this name, exists already."""


@dataclass(frozen=True)
class Session:
    operator: Operator
    csrf_token: str


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


class AccountStore:
    def __init__(self, db: asyncpg.Pool) -> None:
        self.db = db

    # --- operators -------------------------------------------------------------------
    async def add_operator(self, email: str, role: Role, password_hash: str) -> uuid.UUID:
        operator_id = uuid.uuid4()
        try:
            await self.db.execute(
                "INSERT INTO inbox_operators (operator_id, email, role, password_hash)"
                " VALUES ($1, $2, $3, $4)",
                operator_id,
                email,
                role,
                password_hash,
            )
        except asyncpg.UniqueViolationError:
            raise AccountExists(f"an operator {email} exists already") from None
        return operator_id

    async def password_hash(self, email: str) -> tuple[uuid.UUID, Role, str] | None:
        row = await self.db.fetchrow(
            "SELECT operator_id, role, password_hash FROM inbox_operators"
            " WHERE email = $1 AND disabled_at IS NULL",
            email,
        )
        if row is None:
            return None
        return row["operator_id"], checked_role(row["role"]), row["password_hash"]

    async def operators(self) -> list[tuple[uuid.UUID, str, Role, datetime]]:
        rows = await self.db.fetch(
            "SELECT operator_id, email, role, created_at FROM inbox_operators"
            " WHERE disabled_at IS NULL ORDER BY email"
        )
        return [(r[0], r[1], checked_role(r[2]), r[3]) for r in rows]

    # --- sessions --------------------------------------------------------------------
    async def open_session(
        self, operator_id: uuid.UUID, session_id: str, csrf_token: str, lifetime: timedelta
    ) -> None:
        async with self.db.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM inbox_sessions WHERE expires_at < now()")
            await conn.execute(
                "INSERT INTO inbox_sessions (session_digest, operator_id, csrf_token, expires_at)"
                " VALUES ($1, $2, $3, now() + $4::interval)",
                digest(session_id),
                operator_id,
                csrf_token,
                lifetime,
            )

    async def session(self, session_id: str) -> Session | None:
        row = await self.db.fetchrow(
            "SELECT o.operator_id, o.email, o.role, s.csrf_token FROM inbox_sessions s"
            " JOIN inbox_operators o USING (operator_id)"
            " WHERE s.session_digest = $1 AND s.expires_at > now() AND o.disabled_at IS NULL",
            digest(session_id),
        )
        if row is None:
            return None
        operator = Operator(str(row[0]), row[1], checked_role(row[2]), "session")
        return Session(operator, row[3])

    async def close_session(self, session_id: str) -> None:
        await self.db.execute(
            "DELETE FROM inbox_sessions WHERE session_digest = $1", digest(session_id)
        )

    # --- API tokens ------------------------------------------------------------------
    async def add_token(self, name: str, role: Role, token: str) -> None:
        try:
            await self.db.execute(
                "INSERT INTO inbox_tokens (token_id, name, role, token_digest)"
                " VALUES ($1, $2, $3, $4)",
                uuid.uuid4(),
                name,
                role,
                digest(token),
            )
        except asyncpg.UniqueViolationError:
            raise AccountExists(f"a token named {name} exists already") from None

    async def token(self, token: str) -> Operator | None:
        row = await self.db.fetchrow(
            "SELECT token_id, name, role FROM inbox_tokens"
            " WHERE token_digest = $1 AND revoked_at IS NULL",
            digest(token),
        )
        if row is None:
            return None
        return Operator(str(row[0]), row[1], checked_role(row[2]), "token")

    async def revoke_token(self, name: str) -> bool:
        result = await self.db.execute(
            "UPDATE inbox_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL",
            name,
        )
        return str(result).endswith(" 1")

    async def tokens(self) -> list[TokenInfo]:
        rows = await self.db.fetch(
            "SELECT name, role, created_at, revoked_at FROM inbox_tokens ORDER BY name"
        )
        return [TokenInfo(r[0], checked_role(r[1]), r[2], r[3]) for r in rows]

    # --- failed sign-ins -------------------------------------------------------------
    async def recent_failures(self, keys: list[str], window: timedelta) -> dict[str, int]:
        rows = await self.db.fetch(
            "SELECT key, count(*) FROM inbox_login_failures"
            " WHERE key = ANY($1::text[]) AND at > now() - $2::interval GROUP BY key",
            keys,
            window,
        )
        return {r[0]: int(r[1]) for r in rows}

    async def record_failure(self, keys: list[str], window: timedelta) -> None:
        async with self.db.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM inbox_login_failures WHERE at < now() - $1::interval", window
            )
            await conn.executemany(
                "INSERT INTO inbox_login_failures (key) VALUES ($1)", [(k,) for k in keys]
            )

    async def forget_failures(self, key: str) -> None:
        await self.db.execute("DELETE FROM inbox_login_failures WHERE key = $1", key)
