"""The store's connections: one write transaction at a time, faults told once, reads on the
event loop where an index makes them cheap."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import sqlite3
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, Self, cast

import aiosqlite

from storage import db as dbmod
from storage.dialect import SQLITE, Dialect
from storage.errors import (
    DatabaseBusy,
    DatabaseFault,
    DatabaseReadOnly,
    StorageError,
    database_fault,
)
from storage.rows import Connection, Row, T

POINT_READ_BUSY_MS = 50
# SQLite copies the write-ahead log into the database when a commit finds it long
# (a checkpoint, with an fsync): that commit then takes milliseconds. The store does it
# instead on a thread of its own, at most every CHECKPOINT_EVERY seconds after a write;
# a commit still does it past WAL_AUTOCHECKPOINT pages, should the thread fall behind.
CHECKPOINT_EVERY = 1.0
WAL_AUTOCHECKPOINT = 20_000
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# A plan step that reads all of a table (or of one of its indexes): SCAN name ...
_SCAN = re.compile(r"SCAN (\w+)")
log = logging.getLogger("storage.store")  # faults are the store's, and logged as its

# How long a write waits for another process's write lock, retrying with backoff.
WRITE_WAIT = 60.0
WRITE_BACKOFF = (0.05, 0.5)  # first pause, longest pause (seconds)
FAULT_LOG_EVERY = 600.0  # seconds: a fault that comes back sooner is not logged again


def new_worker_id() -> int:
    """A number naming this process's store among the workers sharing its database."""
    return secrets.randbelow(2**31 - 2) + 1


def is_postgres(target: object) -> bool:
    """Whether a database setting names a PostgreSQL server (else it is a SQLite file)."""
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def _in_transaction(conn: Connection, work: Callable[..., T], *args: Any) -> tuple[T, bool]:
    """Run ``work(conn, *args)`` between BEGIN IMMEDIATE and COMMIT (on the database
    thread): its result, and whether it changed a row (a refusal, say, changes none)."""
    conn.execute("BEGIN IMMEDIATE")
    before = conn.total_changes
    try:
        result = work(conn, *args)
        changed = conn.total_changes != before
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result, changed


def _file_uri(path: str, mode: str) -> str:
    """The database file as a URI that opens it only as it is (``mode``: ro or rw)."""
    return f"file:{urllib.parse.quote(path)}?mode={mode}"


async def _connect(path: str | Path) -> aiosqlite.Connection:
    """The store's write connection: it leaves checkpoints to the store's own thread."""
    db = await dbmod.connect(path)
    try:
        await db.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
    except BaseException:
        await db.close()
        raise
    return db


class StoreBase:
    """The connections to the database, and the ways the store reads and writes through them."""

    strict_point_reads = False
    """Raise when a point read would scan (tests set it); otherwise it goes to the thread."""

    several_workers = False
    """Whether several processes may share this database (claims then say who does what)."""

    batches_at_once = True
    """Whether a batch of articles is first saved all at once, and article by article only
    if one fails: a rolled-back attempt must leave the ids as they were."""

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self.db = db
        self.path = path
        self.worker_id = new_worker_id()
        self._write_lock = asyncio.Lock()
        self._reader: sqlite3.Connection | None = None
        self._reader_failed = False
        self._indexed: dict[str, bool] = {}  # SQL -> whether its plan only searches
        self._tables: set[str] = set()  # a scan of one of these is a scan of a table
        self.write_wait = WRITE_WAIT
        self.fault: DatabaseFault | None = None  # why writes fail, until one succeeds
        self._fault_told = False  # whether this run of failures was logged
        self._fault_logged: dict[type[DatabaseFault], float] = {}  # kind: when last logged
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpointing: asyncio.Task[None] | None = None
        self._checkpointed_at = 0.0  # event loop time of the last checkpoint started
        self._closing = False

    engine = "sqlite"
    sql: Dialect = SQLITE

    @classmethod
    async def open(cls, path: str | Path) -> Self:
        """Open (creating and migrating as needed) the database at ``path``: a SQLite
        file, or a PostgreSQL server named by a ``postgresql://`` URL."""
        if is_postgres(path):
            from storage import postgres  # its module builds on the whole Store

            return cast(Self, await postgres.open_store(cast(Any, cls), str(path)))
        try:
            db = await _connect(path)
        except StorageError:
            raise
        except Exception as exc:  # sqlite3 errors name the problem, not the file
            raise StorageError(f"cannot open database {path}: {exc}") from exc
        return cls(db, str(path))

    @staticmethod
    async def verify(path: str | Path) -> None:
        """Raise a ``DatabaseFault`` naming the file if it is read-only, damaged or unopenable
        (for a PostgreSQL URL: a ``StorageError`` unless the server answers)."""
        if is_postgres(path):
            from storage import postgres

            await postgres.PostgresConnections.verify(str(path))
            return
        await dbmod.verify(path)

    # Workers. On SQLite the bot is one process: any claim not this store's own was
    # made by an earlier run, and every lock is this process's to hold.

    def gone(self, column: str) -> str:
        """SQL: the worker named in ``column`` is gone (so what it claimed is nobody's)."""
        return f"({column} IS NULL OR {column} <> {int(self.worker_id)})"

    @asynccontextmanager
    async def held(self, name: str) -> AsyncIterator[bool]:
        """Hold the lock ``name`` while the block runs, if no other process holds it;
        yields whether this one does (on SQLite, always)."""
        yield True

    async def live_workers(self) -> int:
        """How many workers share this database now (this one included)."""
        return 1

    async def stay_alive(self) -> None:
        """Keep this worker's claim to be alive (on SQLite there is nothing to keep)."""

    async def schema_version(self) -> int:
        """The schema version the database is at."""
        return await dbmod.schema_version(self.db)

    @staticmethod
    def newest_schema_version() -> int:
        """The schema version this newsbot brings its databases to."""
        return len(dbmod.migrations())

    async def close(self) -> None:
        """Close the database connections."""
        self._reader_failed = True  # closed: no point read opens it again
        self._closing = True  # nor a write that ends meanwhile a checkpoint
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._checkpointing is not None:
            await asyncio.wait([self._checkpointing])
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        await self.db.close()  # the last connection out checkpoints what is left

    # Checkpoints off the write path.

    def _wrote(self) -> None:
        """A write changed the file: it takes writes again (if it did not), and its log
        is copied into the database soon, on a thread of its own."""
        self._writes_again()
        now = asyncio.get_running_loop().time()
        if self._closing:
            return
        if self._checkpointing is None and now - self._checkpointed_at >= CHECKPOINT_EVERY:
            self._checkpointed_at = now
            self._checkpointing = asyncio.ensure_future(self._checkpoint())

    async def _checkpoint(self) -> None:
        try:
            await asyncio.to_thread(self._checkpoint_now)
        finally:
            self._checkpointing = None

    def _checkpoint_now(self) -> None:
        """A PASSIVE checkpoint: what no reader still needs is copied, nobody waits.
        It can fail (a full disk, a read-only file): the next commit's own does it then."""
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(
                    _file_uri(self.path, "rw"),
                    uri=True,
                    check_same_thread=False,
                    isolation_level=None,
                )
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            log.debug("checkpoint of %s not done: %s", self.path, exc)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time on this connection; rolled back on error.

        Another process's write lock is waited out (``write_wait`` seconds, retrying
        with backoff). A fault of the file (full, read-only, damaged) is raised as a
        ``DatabaseFault``, logged once when writes start failing and once when they
        work again; no restart is needed in between.
        """
        async with self._write_lock:
            try:
                if isinstance(self.fault, DatabaseReadOnly):
                    await self._reopen()  # a file opened read-only stays so until reopened
                await self._begin()
                before = self.db.total_changes
                try:
                    yield self.db
                    changed = self.db.total_changes != before
                    await self.db.commit()
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back
                        await self.db.rollback()
                    raise
            except (sqlite3.Error, DatabaseFault) as exc:
                self._raise_fault(exc)
            if changed:  # a write that changed nothing says nothing of the file
                self._wrote()

    def _raise_fault(self, exc: sqlite3.Error | DatabaseFault) -> NoReturn:
        """Raise a failed write's error as the project's fault (logged once), or as it is."""
        fault = database_fault(exc, self.path)
        if fault is None:
            raise exc
        self._note_fault(fault)
        if fault is exc:
            raise fault
        raise fault from exc

    def _writes_again(self) -> None:
        if self.fault is not None:
            if self._fault_told:
                log.info("database %s takes writes again", self.path)
            self.fault, self._fault_told = None, False

    async def write_once(self, work: Callable[..., T], *args: Any) -> T:
        """One write transaction in one hop: ``work(connection, *args)`` on the database
        thread between BEGIN IMMEDIATE and COMMIT, rolled back if it raises.

        As ``transaction``: another process's lock is waited out (the whole call is
        tried again, with backoff) and a fault of the file is raised as a
        ``DatabaseFault``. ``work`` must not commit, and may be run more than once.
        """
        async with self._write_lock:
            try:
                if isinstance(self.fault, DatabaseReadOnly):
                    await self._reopen()
                outcome: tuple[T, bool] = await self._waiting_out_locks(
                    partial(self._on_db_thread, _in_transaction, work, *args)
                )
                result, changed = outcome
            except (sqlite3.Error, DatabaseFault) as exc:
                self._raise_fault(exc)
            if changed:  # a write that changed nothing (a refusal) says nothing of the file
                self._wrote()
        return result

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE, waiting for a lock held by another process."""
        await self._waiting_out_locks(partial(self.db.execute, "BEGIN IMMEDIATE"))

    async def _waiting_out_locks(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()``, tried again with backoff while another process holds the write
        lock (SQLITE_BUSY), for up to ``write_wait`` seconds."""
        pause, longest = WRITE_BACKOFF
        deadline = asyncio.get_running_loop().time() + self.write_wait
        while True:
            try:
                return await attempt()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    raise DatabaseBusy(self.path, f"waited {self.write_wait:g}s") from exc
                await asyncio.sleep(min(pause, left))
                pause = min(pause * 2, longest)

    async def _reopen(self) -> None:
        """Swap the connection for a new one (reads in flight finish on the old one)."""
        fresh = await _connect(self.path)
        old, self.db = self.db, fresh
        await old.close()

    def _note_fault(self, fault: DatabaseFault) -> None:
        """One log line when writes start failing, not one per write.

        A kind of fault is told at most once in ``FAULT_LOG_EVERY`` seconds, even when
        small writes slip through in between (a full disk still takes a few bytes).
        """
        now = time.monotonic()
        last = self._fault_logged.get(type(fault))
        if type(fault) is not type(self.fault) and (last is None or now - last > FAULT_LOG_EVERY):
            log.error("%s; writes are refused until that clears", fault)
            self._fault_logged[type(fault)] = now
            self._fault_told = True
        self.fault = fault

    async def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        rows = await self.db.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def _all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        return list(await self.db.execute_fetchall(sql, params))

    # Point reads: a handful of rows found through an index cost less than the hop
    # to aiosqlite's thread, so they run on the event loop, on a read-only connection
    # of their own (WAL lets it read while the thread writes). A statement whose
    # plan would scan never runs there: it goes to the thread (and fails a test).

    def _point_reader(self) -> sqlite3.Connection | None:
        if self._reader is None and not self._reader_failed:
            try:
                reader = sqlite3.connect(
                    _file_uri(self.path, "ro"),
                    uri=True,
                    check_same_thread=False,
                )
                reader.row_factory = sqlite3.Row
                reader.execute(f"PRAGMA busy_timeout = {POINT_READ_BUSY_MS}")
                # No memory map: after every commit (the inbox writes one for each update)
                # a mapped reader's next read costs about 0.1 ms more than a plain one's.
                self._tables = {
                    row[0]
                    for row in reader.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                    )
                }
            except sqlite3.Error:
                self._reader_failed = True
                return None
            self._reader = reader
        return self._reader

    def _searches_only(
        self,
        reader: sqlite3.Connection,
        sql: str,
        params: Sequence[Any] | dict[str, Any],
        walks_index: bool,
    ) -> bool:
        known = self._indexed.get(sql)
        if known is None:
            plan = [row[3] for row in reader.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
            # A scan of a table is what may not happen; one of a CTE's few rows may.
            scans = [
                step
                for step in plan
                if (m := _SCAN.match(step))
                and m.group(1) in self._tables
                and not (walks_index and " USING " in step and "INDEX" in step)
            ]
            if scans and self.strict_point_reads:
                raise AssertionError(f"a point read would scan ({'; '.join(scans)}): {sql}")
            known = self._indexed[sql] = not scans
        return known

    async def _point_all(
        self,
        sql: str,
        params: Sequence[Any] | dict[str, Any] = (),
        *,
        walks_index: bool = False,
    ) -> list[Row]:
        """Rows found through an index: read on the event loop, without a thread hop.

        ``walks_index``: the statement walks an index in its order and stops at a
        small LIMIT (the newest N), which its plan shows as a scan of that index.
        """
        reader = self._point_reader()
        if reader is not None and self._searches_only(reader, sql, params, walks_index):
            try:
                return reader.execute(sql, params).fetchall()
            except sqlite3.OperationalError:  # busy for a moment: the thread waits better
                pass
        return await self._all(sql, params)

    async def _point_one(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> Row | None:
        """One row found through an index, read on the event loop."""
        rows = await self._point_all(sql, params)
        return rows[0] if rows else None

    async def _on_db_thread(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work(connection, *args)`` on the database thread, in one hop.

        aiosqlite runs everything on one thread per connection; a write made of
        many statements costs a hop each through its queue, and the hops cost
        more than the SQL. A function queued there runs them all in one go.
        """
        conn = self.db._conn  # the sqlite3 connection behind aiosqlite's thread
        queue = cast(Callable[..., Awaitable[T]], self.db._execute)
        return await queue(work, conn, *args)
