"""Opening the SQLite database and bringing its schema up to date."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from importlib import resources
from pathlib import Path

import aiosqlite

from storage.errors import (
    DatabaseCorrupt,
    DatabaseMissing,
    MigrationError,
    StorageError,
    database_fault,
)

# While opening and migrating, wait long for another process's write lock: nothing else
# runs yet. Afterwards each statement waits briefly, so a lock held elsewhere never
# stalls this connection's reads; Store.transaction waits for the lock itself, retrying.
OPEN_BUSY_TIMEOUT_MS = 30_000
BUSY_TIMEOUT_MS = 100
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """Every shipped migration as (version, file name, SQL), in version order."""
    return read_migrations("storage.migrations", first=1)


def read_migrations(package: str, first: int | None) -> list[tuple[int, str, str]]:
    """The migrations in a package as (version, file name, SQL), in version order: numbered
    in a row from ``first`` (from the lowest when None)."""
    found = []
    for entry in resources.files(package).iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    start = versions[0] if first is None and versions else (first or 1)
    if not versions or versions != list(range(start, start + len(versions))):
        raise MigrationError(f"migrations in {package} are not numbered in a row: {versions}")
    return found


async def connect(path: str | Path, upto: int | None = None) -> aiosqlite.Connection:
    """Open the database in WAL mode with foreign keys and a busy timeout, migrated.

    ``upto`` stops at that schema version (for testing a migration on real data).

    Raises a ``DatabaseFault`` naming the file when it cannot be opened: a missing
    folder, a folder in its place, a file that is not a database.
    """
    name = str(path)
    await asyncio.to_thread(_check_place, name)
    pending = aiosqlite.connect(name, isolation_level=None)
    try:
        db = await pending
    except sqlite3.Error as exc:
        # Let aiosqlite's worker thread finish before the event loop may close under it.
        await asyncio.to_thread(pending._thread.join, 5)
        raise _fault(exc, name) from exc
    try:
        db.row_factory = aiosqlite.Row
        await db.execute(f"PRAGMA busy_timeout = {OPEN_BUSY_TIMEOUT_MS}")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await migrate(db, upto)
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except BaseException as exc:
        await db.close()
        if isinstance(exc, sqlite3.Error):
            raise _fault(exc, name) from exc
        raise
    return db


def _check_place(name: str) -> None:
    """Name what sqlite would only call "unable to open database file"."""
    if name == ":memory:" or name.startswith("file:"):
        return
    if Path(name).is_dir():
        raise DatabaseMissing(name, "it is a folder; name a file")
    folder = Path(name).parent
    if not folder.is_dir():
        raise DatabaseMissing(name, f"its folder {folder} does not exist")


def _fault(exc: sqlite3.Error, path: str) -> StorageError:
    return database_fault(exc, path) or StorageError(f"cannot open database {path}: {exc}")


async def verify(path: str | Path) -> None:
    """Check that the database at ``path`` can serve the bot, or raise a ``DatabaseFault``.

    It must open (and migrate), pass SQLite's ``PRAGMA quick_check`` and take a write.
    """
    name = str(path)
    db = await connect(name)
    try:
        rows = await db.execute_fetchall("PRAGMA quick_check")
        # One problem a row, some over several lines under a "*** in database main ***".
        lines = (line.strip() for row in rows for line in str(row[0]).splitlines())
        problems = [line for line in lines if line and line != "ok" and not line.startswith("*")]
        if problems:
            more = f" and {len(problems) - 1} more problems" if len(problems) > 1 else ""
            raise DatabaseCorrupt(name, problems[0] + more)
        # A write that changes nothing, rolled back: a read-only file refuses it.
        await db.execute("BEGIN IMMEDIATE")
        try:
            await db.execute(f"PRAGMA user_version = {await schema_version(db)}")
        finally:
            await db.rollback()
    except sqlite3.Error as exc:
        raise _fault(exc, name) from exc
    finally:
        await db.close()


async def schema_version(db: aiosqlite.Connection) -> int:
    """The number of the last migration applied."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(db: aiosqlite.Connection, upto: int | None = None) -> int:
    """Apply each migration newer than the database (up to ``upto``) in its own transaction."""
    current = await schema_version(db)
    known = migrations()
    if current > len(known):
        raise MigrationError(
            f"the database is at schema version {current}, newer than this newsbot "
            f"({len(known)}); upgrade newsbot"
        )
    for version, name, sql in known[current:upto]:
        try:
            await db.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except Exception as exc:
            if db.in_transaction:
                await db.rollback()
            if database_fault(exc, "") is not None:
                raise  # the file refused, not the migration: connect names the fault
            raise MigrationError(f"migration {name} failed: {exc}") from exc
    return max(current, len(known[:upto]))
