"""Console accounts and their server-side sessions in Postgres (tables from migration 0002).

The store keeps hashes only: the password's (argon2, made by the caller) and the session
token's (SHA-256: the token is 256 random bits, so a fast hash is enough and a lookup is one
index probe). Disabling an account deletes its sessions at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

ROLES = ("operator", "supervisor", "admin")

INSERT_USER = """
INSERT INTO console_users (name, role, password_hash) VALUES ($1, $2, $3) RETURNING user_id
"""
UPSERT_USER = """
INSERT INTO console_users (name, role, password_hash) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role, password_hash = EXCLUDED.password_hash,
    disabled_at = NULL
RETURNING user_id
"""
GET_USER = """
SELECT user_id, name, role, password_hash, created_at, disabled_at FROM console_users
WHERE name = $1
"""
LIST_USERS = """
SELECT user_id, name, role, password_hash, created_at, disabled_at FROM console_users
ORDER BY name
"""
DISABLE_USER = """
UPDATE console_users SET disabled_at = coalesce(disabled_at, $2) WHERE name = $1
RETURNING user_id
"""
DELETE_USER_SESSIONS = "DELETE FROM console_sessions WHERE user_id = $1"
INSERT_SESSION = """
INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5)
"""
GET_SESSION = """
SELECT s.csrf_token, s.expires_at, u.user_id, u.name, u.role
FROM console_sessions s JOIN console_users u USING (user_id)
WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL
"""
DELETE_SESSION = "DELETE FROM console_sessions WHERE token_hash = $1"
DELETE_EXPIRED_SESSIONS = "DELETE FROM console_sessions WHERE expires_at <= $1"


class AccountExistsError(ValueError):
    """An account with that name exists already."""


@dataclass(frozen=True)
class Account:
    user_id: int
    name: str
    role: str
    password_hash: str
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True)
class SessionInfo:
    user_id: int
    name: str
    role: str
    csrf_token: str
    expires_at: datetime


def _account(row: Any) -> Account:
    return Account(int(row["user_id"]), row["name"], row["role"], row["password_hash"],
                   row["created_at"], row["disabled_at"])


class AccountStore:
    """Accounts and sessions, built from an asyncpg pool."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def create_user(self, name: str, role: str, password_hash: str) -> int:
        async with self.pool.acquire() as conn:
            try:
                return int(await conn.fetchval(INSERT_USER, name, role, password_hash))
            except asyncpg.UniqueViolationError:
                raise AccountExistsError(name) from None

    async def put_user(self, name: str, role: str, password_hash: str) -> int:
        """Create the account, or give an existing one this role and password (the demo)."""
        async with self.pool.acquire() as conn, conn.transaction():
            user_id = int(await conn.fetchval(UPSERT_USER, name, role, password_hash))
            await conn.execute(DELETE_USER_SESSIONS, user_id)
            return user_id

    async def get_user(self, name: str) -> Account | None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(GET_USER, name)
        return None if row is None else _account(row)

    async def list_users(self) -> list[Account]:
        async with self.pool.acquire() as conn:
            return [_account(r) for r in await conn.fetch(LIST_USERS)]

    async def disable_user(self, name: str, at: datetime) -> bool:
        """Disable the account and end its sessions; False if there is no such account."""
        async with self.pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(DISABLE_USER, name, at)
            if user_id is None:
                return False
            await conn.execute(DELETE_USER_SESSIONS, user_id)
            return True

    async def create_session(self, token_hash: str, user_id: int, csrf_token: str,
                             created_at: datetime, expires_at: datetime) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(INSERT_SESSION, token_hash, user_id, csrf_token, created_at,
                               expires_at)

    async def get_session(self, token_hash: str, now: datetime) -> SessionInfo | None:
        """The live session for this token: not expired, its account not disabled."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(GET_SESSION, token_hash, now)
        if row is None:
            return None
        return SessionInfo(int(row["user_id"]), row["name"], row["role"], row["csrf_token"],
                           row["expires_at"])

    async def delete_session(self, token_hash: str) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(DELETE_SESSION, token_hash)

    async def delete_expired_sessions(self, now: datetime) -> int:
        async with self.pool.acquire() as conn:
            status = await conn.execute(DELETE_EXPIRED_SESSIONS, now)
        return int(str(status).rsplit(" ", 1)[-1])
