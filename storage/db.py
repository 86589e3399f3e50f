"""Opening the SQLite database and bringing its schema up to date."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.errors import MigrationError

BUSY_TIMEOUT_MS = 5_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """Every shipped migration as (version, file name, SQL), in version order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migrations are not numbered 1..n: {versions}")
    return found


async def connect(path: str | Path) -> aiosqlite.Connection:
    """Open the database in WAL mode with foreign keys and a busy timeout, migrated."""
    db = await aiosqlite.connect(str(path), isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    return db


async def schema_version(db: aiosqlite.Connection) -> int:
    """The number of the last migration applied."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: aiosqlite.Connection) -> int:
    """Apply every migration newer than the database, each in its own transaction."""
    current = await schema_version(db)
    known = migrations()
    if current > len(known):
        raise MigrationError(
            f"the database is at schema version {current}, newer than this newsbot "
            f"({len(known)}); upgrade newsbot"
        )
    for version, name, sql in known[current:]:
        try:
            await db.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except Exception as exc:
            if db.in_transaction:
                await db.rollback()
            raise MigrationError(f"migration {name} failed: {exc}") from exc
    return len(known)
