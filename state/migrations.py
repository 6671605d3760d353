"""Versioned schema migrations: `state/migrations/NNNN_name.sql`, applied in order, once.

Any number of workers may call `apply_migrations` at start-up at the same moment: a session
advisory lock serializes them, and each one re-reads `schema_migrations` after taking the lock,
so exactly one applies each file and the others find it done.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# an arbitrary constant that names "the intake schema" among advisory locks
ADVISORY_LOCK_KEY = 0x1A7A_4E00_0001
_FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The migration files and the database disagree; the message names the version."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_PATTERN.match(path.name)
        if match is None:
            raise MigrationError(f"migration file name not NNNN_name.sql: {path.name}")
        migrations.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return migrations


async def apply_migrations(database_url: str, *, directory: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply pending migrations; returns the versions this call applied (often none)."""
    migrations = load_migrations(directory)
    conn: Any = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        try:
            return await _apply_locked(conn, migrations)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    finally:
        await conn.close()


async def _apply_locked(conn: Any, migrations: list[Migration]) -> list[int]:
    await conn.execute(_CREATE_TABLE)
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    applied = {int(r["version"]): str(r["checksum"]) for r in rows}
    done: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            if applied[migration.version] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d} changed after it was applied; "
                    "add a new migration instead of editing an applied one")
            continue
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version, migration.name, migration.checksum)
        logger.info("migration applied", extra={"migration_version": migration.version})
        done.append(migration.version)
    return done


async def applied_versions(database_url: str) -> list[int]:
    conn: Any = await asyncpg.connect(database_url)
    try:
        exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if not exists:
            return []
        return [int(r["version"]) for r in
                await conn.fetch("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        await conn.close()
