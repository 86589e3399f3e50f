"""The store on PostgreSQL (asyncpg): its connections, its migrations, and the SQL that
differs from SQLite's.

``Store.open`` comes here for a ``postgresql://`` URL and returns a ``PostgresStore``:
the same ``Store``, its queries unchanged, over this module's connections. Statements
are written once, with SQLite's ``?`` and ``:name`` parameters; ``placeholders``
turns them into PostgreSQL's ``$1``. What must differ in the SQL itself is here and
in ``storage.dialect``: full-text search (``tsvector`` columns, ``websearch_to_tsquery``,
``ts_rank``, ``ts_headline``), identity sequences, and locks across processes
(advisory locks, ``FOR UPDATE SKIP LOCKED``).

The store's multi-statement writes are plain functions over a connection
(``write_once``); on SQLite they run on its database thread. Here they run on a
worker thread, each statement handed to the event loop's asyncpg connection, so
that one function serves both engines.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import re
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self, cast

from storage.connection import WRITE_WAIT, new_worker_id
from storage.db import read_migrations
from storage.dialect import POSTGRES, Dialect
from storage.errors import DatabaseBusy, DatabaseFault, MigrationError, StorageError
from storage.rows import T
from storage.search import RANK_EXACTLY_UP_TO, SNIPPET_END, SNIPPET_START

if TYPE_CHECKING:
    import asyncpg

    from storage.store import Store

# Advisory locks: one process migrates at a time; each worker holds (its deployment's
# workers, its id) while it runs; (its deployment's held locks, key) are those of ``held``.
# Locks are the database's, and a deployment is a schema: see ``lock_space``.
MIGRATION_LOCK = 7_415_001
log = logging.getLogger("storage.store")
# Statements whose rows are read; the rest report how many rows they changed.
_RETURNS_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES)\b|\bRETURNING\b", re.IGNORECASE)
# What may hold a ? or a colon without being a parameter: a comment, a string (with
# backslash escapes after E, between dollar quotes), a quoted name, a cast; then a
# parameter, ? or :name (a name starts with a letter: [1:2] is an array's slice).
_TOKEN = re.compile(
    r"--[^\n]*|/\*.*?\*/"
    r"|\b[Ee]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?\$(?P=tag)\$"
    r"|\"(?:[^\"]|\"\")*\"|::|:(?P<name>[A-Za-z_]\w*)|\?",
    re.DOTALL,
)
# SQLSTATEs of a transaction PostgreSQL gave up so another could go on: run it again.
_TRY_AGAIN = {"40001", "40P01", "55P03"}
POOL_SIZE = 16  # the worker's lock and each job held by ``held`` keep one
# Locks of ``held`` at once: each keeps a connection while its block runs, and the block
# reads and writes on others, so the rest of the pool must stay free for them.
HELD_AT_ONCE = POOL_SIZE // 2
# What search finds of an article ``a``: its title and its blocks' text, a line each.
ARTICLE_TEXT = (
    "a.title || E'\\n' || coalesce((SELECT string_agg(b->>'text', E'\\n') "
    "FROM jsonb_array_elements(a.body::jsonb) b), '')"
)
# ts_rank's weights of D, C, B and A: a title (A) weighs ten times an article's body (B).
TITLE_WEIGHTS = "ARRAY[0.1, 0.1, 0.1, 1.0]::real[]"
# Snippets as SQLite's: 16 words or so, the words found between \x02 and \x03.
HEADLINE_OPTIONS = (
    f'StartSel="{SNIPPET_START}", StopSel="{SNIPPET_END}", MaxWords=16, MinWords=8, '
    'ShortWord=0, MaxFragments=1, FragmentDelimiter=" … "'
)
CLOSE_WAIT = 10.0  # seconds closing waits for connections in use to come back


_THIS_DATABASE = "(SELECT oid FROM pg_database WHERE datname = current_database())"


def lock_space(schema: str, kind: str) -> int:
    """The first key of a deployment's advisory locks of one kind: deployments sharing a
    database (a schema each) hold locks of their own, whatever ids their chats have."""
    return zlib.crc32(f"{schema}/{kind}".encode()) & 0x7FFF_FFFF


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


# ---------------------------------------------------------------------- parameters


@dataclass(frozen=True, slots=True)
class _Translated:
    sql: str
    names: tuple[str, ...] | None  # the :names in $n order; None for ? parameters


# Statements are mostly constants, but some name their ids inline (``IN (1, 2, 3)``):
# the translations kept are bounded, the most used staying.
@functools.lru_cache(maxsize=4096)
def placeholders(sql: str) -> _Translated:
    """SQLite's parameters (``?`` in order, or ``:name``) as PostgreSQL's ``$n``."""
    names: list[str] = []
    count = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal count
        token = match.group(0)
        if token == "?":
            count += 1
            return f"${count}"
        name = match.group("name")
        if name is None:
            return token  # a comment, a literal, a quoted name or a cast
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    text = _TOKEN.sub(swap, sql)
    if names and count:
        raise StorageError(f"a statement mixes ? and :name parameters: {sql}")
    return _Translated(text, tuple(names) if names else None)


def arguments(translated: _Translated, params: Sequence[Any] | dict[str, Any]) -> list[Any]:
    """The values in ``$n`` order."""
    if translated.names is None:
        if isinstance(params, dict):
            return []
        return list(params)
    values = cast(dict[str, Any], params)
    return [values[name] for name in translated.names]


def _changed(status: str | None) -> int:
    """Rows a command changed, from its status ("UPDATE 3", "INSERT 0 1")."""
    if not status:
        return 0
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


# ---------------------------------------------------------------------- results


class Result:
    """A statement's rows and how many rows it changed, read as a sqlite3 cursor is."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


async def _run(conn: asyncpg.Connection, sql: str, params: Any = ()) -> Result:
    translated = placeholders(sql)
    args = arguments(translated, params)
    if _RETURNS_ROWS.search(translated.sql):
        rows = await conn.fetch(translated.sql, *args)
        return Result(list(rows), len(rows))
    return Result([], _changed(await conn.execute(translated.sql, *args)))


class Transaction:
    """An open transaction, used as ``Store.transaction`` yields it (as aiosqlite's is)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Any = ()) -> Result:
        return await _run(self.conn, sql, params)

    async def executemany(self, sql: str, rows: Any) -> None:
        translated = placeholders(sql)
        await self.conn.executemany(
            translated.sql, [arguments(translated, params) for params in rows]
        )

    async def execute_fetchall(self, sql: str, params: Any = ()) -> list[Any]:
        return (await _run(self.conn, sql, params)).rows


class ThreadConnection:
    """A connection for the store's write functions, run on a worker thread: each
    statement is handed to the event loop's asyncpg connection and waited for."""

    def __init__(self, tx: Transaction, loop: asyncio.AbstractEventLoop) -> None:
        self._tx = tx
        self._loop = loop

    def _wait(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def execute(self, sql: str, params: Any = ()) -> Result:
        return cast(Result, self._wait(self._tx.execute(sql, params)))

    def executemany(self, sql: str, rows: Any) -> None:
        self._wait(self._tx.executemany(sql, rows))

    @property
    def in_transaction(self) -> bool:
        return True


# ---------------------------------------------------------------------- migrations


def migrations() -> list[tuple[int, str, str]]:
    """PostgreSQL's migrations as (version, file name, SQL), in order.

    PostgreSQL came at SQLite's schema version 11, so its first migration is 0011,
    the whole schema; each later version has a file for each engine.
    """
    return read_migrations("storage.migrations.postgres", first=None)


async def schema_version(conn: asyncpg.Connection) -> int:
    """The last migration applied (0 for an empty database)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))


async def migrate(conn: asyncpg.Connection) -> int:
    """Apply the migrations the database lacks, one transaction each; the version reached.

    An advisory lock keeps two workers starting together from migrating at once.
    """
    known = migrations()
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        current = await schema_version(conn)
        newest = known[-1][0]
        if current > newest:
            raise MigrationError(
                f"the database is at schema version {current}, newer than this newsbot "
                f"({newest}); upgrade newsbot"
            )
        for version, name, sql in known:
            if version <= current:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("DELETE FROM schema_version")
                    await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", version)
            except Exception as exc:
                raise MigrationError(f"migration postgres/{name} failed: {exc}") from exc
            current = version
        return current
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


# ---------------------------------------------------------------------- the store

_open_transaction: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "newsbot_pg_transaction", default=None
)


class PostgresConnections:
    """``StoreBase``'s ways of reading and writing, over a pool of asyncpg connections.

    Mixed in before ``Store``: the queries above ``StoreBase`` do not change.
    """

    engine = "postgres"
    sql: Dialect = POSTGRES
    pool: asyncpg.Pool
    path: str
    write_wait: float
    fault: DatabaseFault | None

    @classmethod
    async def open_url(cls, url: str) -> Self:
        """Connect to the server (creating and migrating the schema as needed)."""
        try:
            import asyncpg
        except ImportError as exc:
            raise StorageError(
                "PostgreSQL needs the asyncpg package: pip install 'newsbot[postgres]'"
            ) from exc
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=POOL_SIZE)
        except (OSError, asyncpg.PostgresError, ValueError) as exc:
            raise StorageError(f"cannot open database {redacted(url)}: {exc}") from exc
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        store = cls.__new__(cls)
        store._init_postgres(pool, url)
        try:
            await store._announce()
        except BaseException:
            await pool.close()
            raise
        return store

    def _init_postgres(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self.path = redacted(url)
        self.write_wait = WRITE_WAIT
        self.fault = None
        self._write_lock = asyncio.Lock()
        self.worker_id = new_worker_id()
        self._alive: asyncpg.Connection | None = None
        self._workers = self._held = 0  # lock spaces, known once the schema is (``_announce``)
        self._held_slots = asyncio.Semaphore(HELD_AT_ONCE)

    async def _announce(self) -> None:
        """Hold this worker's lock for as long as the store is open: while it is held the
        worker is alive, and what it claimed is its own. PostgreSQL lets go of it the
        moment the process dies, whatever kills it."""
        self._alive = alive = await self.pool.acquire()
        schema = str(await alive.fetchval("SELECT current_schema()"))
        self._workers, self._held = lock_space(schema, "workers"), lock_space(schema, "held")
        while not await alive.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", self._workers, self.worker_id
        ):
            self.worker_id = new_worker_id()  # another worker drew the same number

    async def stay_alive(self) -> None:
        """If this worker's lock went with its connection (cut while the process lives on),
        the others take it for gone and take over what it claimed: from now on it works
        under a new number, so that what it claims next is its own again."""
        if self._alive is None or not _cut(self._alive):
            return
        log.warning("worker %s lost its database lock: working on as a new worker", self.worker_id)
        with contextlib.suppress(Exception):
            await self.pool.release(self._alive)
        self._alive = None
        self.worker_id = new_worker_id()
        await self._announce()

    async def close(self) -> None:
        if self._alive is not None:
            alive, self._alive = self._alive, None
            with contextlib.suppress(Exception):
                await alive.execute("SELECT pg_advisory_unlock_all()")
            await self.pool.release(alive)
        try:  # connections still taken (a task cut short) are cut after a while
            await asyncio.wait_for(self.pool.close(), CLOSE_WAIT)
        except TimeoutError:
            self.pool.terminate()

    # ------------------------------------------------------------------ workers

    several_workers = True
    batches_at_once = False  # a sequence keeps the ids a rolled-back attempt took

    def gone(self, column: str) -> str:
        """SQL: the worker named in ``column`` holds its lock no more (or none is named)."""
        return (
            f"({column} IS NULL OR NOT EXISTS (SELECT 1 FROM pg_locks l "
            f"WHERE l.locktype = 'advisory' AND l.classid = {self._workers} "
            f"AND l.objid::bigint = {column} AND l.objsubid = 2 AND l.granted "
            f"AND l.database = {_THIS_DATABASE}))"
        )

    async def live_workers(self) -> int:
        """How many workers of this deployment hold their lock now."""
        row = await self._one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            f"AND classid = {self._workers} AND objsubid = 2 AND granted "
            f"AND database = {_THIS_DATABASE}"
        )
        return max(1, int(row[0])) if row else 1

    @staticmethod
    async def verify(path: str) -> None:
        """The server answers and the schema can be brought up to date."""
        import asyncpg

        try:
            conn = await asyncpg.connect(path)
        except (OSError, asyncpg.PostgresError, ValueError) as exc:
            raise StorageError(f"cannot open database {redacted(path)}: {exc}") from exc
        try:
            await migrate(conn)
        finally:
            await conn.close()

    async def schema_version(self) -> int:
        async with self.pool.acquire() as conn:
            return await schema_version(conn)

    @staticmethod
    def newest_schema_version() -> int:
        return migrations()[-1][0]

    # ------------------------------------------------------------------ writes

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One write transaction of this process at a time, as on SQLite; rolled back on
        error. Reads by the same task inside it see its writes."""
        async with self._write_lock, self.pool.acquire() as conn, conn.transaction():
            tx = Transaction(conn)
            token = _open_transaction.set(tx)
            try:
                yield tx
            finally:
                _open_transaction.reset(token)

    async def write_once(self, work: Callable[..., T], *args: Any) -> T:
        """``work(connection, *args)`` in one transaction; run again when PostgreSQL
        gave the transaction up to let another go on (a deadlock, say)."""
        import asyncpg

        deadline = asyncio.get_running_loop().time() + self.write_wait
        pause = 0.01
        while True:
            try:
                async with self.transaction():
                    return await self._on_db_thread(work, *args)
            except asyncpg.PostgresError as exc:
                if getattr(exc, "sqlstate", None) not in _TRY_AGAIN:
                    raise
                if asyncio.get_running_loop().time() > deadline:
                    raise DatabaseBusy(self.path, f"waited {self.write_wait:g}s") from exc
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.5)

    async def _on_db_thread(self, work: Callable[..., T], *args: Any) -> T:
        """``work(connection, *args)`` on a worker thread, inside this task's transaction
        if it has one, else on a connection of its own."""
        tx = _open_transaction.get()
        loop = asyncio.get_running_loop()
        if tx is not None:
            return await asyncio.to_thread(work, ThreadConnection(tx, loop), *args)
        async with self.pool.acquire() as conn:
            return await asyncio.to_thread(work, ThreadConnection(Transaction(conn), loop), *args)

    async def backup(self, target: str | Path) -> None:
        """SQLite's online backup copies a file; PostgreSQL's server has its own tools."""
        raise StorageError(
            "backup copies a SQLite database; back up PostgreSQL with pg_dump "
            "(or move the deployment with newsbot export --all)"
        )

    # ------------------------------------------------------------------ reads

    async def _all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Any]:
        tx = _open_transaction.get()
        if tx is not None:
            return await tx.execute_fetchall(sql, params)
        async with self.pool.acquire() as conn:
            return (await _run(conn, sql, params)).rows

    async def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _point_all(
        self,
        sql: str,
        params: Sequence[Any] | dict[str, Any] = (),
        *,
        walks_index: bool = False,
    ) -> list[Any]:
        return await self._all(sql, params)

    async def _point_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return await self._one(sql, params)

    # ------------------------------------------------------------------ search

    async def index_waiting(self, batch: int = 0) -> int:
        """Nothing waits: a row's ``search`` column is computed as it is stored."""
        return 0

    @staticmethod
    def _index_waiting(conn: Any, batch: int | None) -> int:
        return 0

    # The steps of ``SearchQueries._rank_matches`` in PostgreSQL's full-text search:
    # the same matches in the same order, ranked by ts_rank instead of bm25.
    SEARCH_SQL: ClassVar[dict[str, str]] = {
        "articles holding": "SELECT count(*) FROM (SELECT 1 FROM articles "
        "WHERE search @@ plainto_tsquery('simple', ?) "
        f"LIMIT {RANK_EXACTLY_UP_TO + 1}) x",
        "comments holding": "SELECT count(*) FROM (SELECT 1 FROM comments "
        "WHERE search @@ plainto_tsquery('simple', ?) AND status = 'visible' "
        f"LIMIT {RANK_EXACTLY_UP_TO + 1}) x",
        "ranked": "WITH q AS (SELECT websearch_to_tsquery('simple', :q) AS q) "
        "SELECT article_id, comment_id FROM ("
        "  (SELECT a.id AS article_id, NULL::bigint AS comment_id, "
        f"    ts_rank({TITLE_WEIGHTS}, a.search, q.q) AS score "
        "   FROM articles a, q WHERE a.search @@ q.q ORDER BY a.id DESC LIMIT :n) "
        "  UNION ALL "
        "  (SELECT c.article_id, c.id, ts_rank(c.search, q.q) "
        "   FROM comments c, q WHERE c.search @@ q.q AND {visible} "
        "   ORDER BY c.id DESC LIMIT :n)"
        ") m ORDER BY score DESC, article_id",
        "newest articles": "SELECT id FROM articles "
        "WHERE search @@ websearch_to_tsquery('simple', :q) ORDER BY id DESC LIMIT :n",
        "title hits": "SELECT id FROM articles WHERE id >= :oldest "
        "AND ts_filter(search, '{a}') @@ websearch_to_tsquery('simple', :q)",
        "newest comments": "SELECT c.article_id, c.id FROM comments c "
        "WHERE c.search @@ websearch_to_tsquery('simple', :q) AND {visible} "
        "ORDER BY c.id DESC LIMIT :n",
    }

    @staticmethod
    def word_term(word: str) -> str:
        return word

    async def _snippets(
        self, query: str, article_ids: list[int], comment_ids: list[int]
    ) -> dict[tuple[str, int], str]:
        """("article" or "comment", id): the matching words in a few words of context
        (``ts_headline``), marked as SQLite's snippets are."""
        params = {"q": query, "options": HEADLINE_OPTIONS}
        headline = "ts_headline('simple', {text}, websearch_to_tsquery('simple', :q), :options)"
        snippets: dict[tuple[str, int], str] = {}
        for kind, text, table, ids in (
            ("article", ARTICLE_TEXT, "articles a", article_ids),
            ("comment", "a.body", "comments a", comment_ids),
        ):
            if ids:
                marks = ",".join(str(int(i)) for i in ids)
                for row in await self._all(
                    f"SELECT a.id, {headline.format(text=text)} AS snip FROM {table} "
                    f"WHERE a.id IN ({marks})",
                    params,
                ):
                    # A phrase is marked as one, as SQLite marks it.
                    snip = (row["snip"] or "").replace(f"{SNIPPET_END} {SNIPPET_START}", " ")
                    snippets[(kind, row["id"])] = snip
        return snippets

    @asynccontextmanager
    async def held(self, name: str) -> AsyncIterator[bool]:
        """Hold the lock ``name`` while the block runs, if no other process holds it;
        yields whether this one does. Blocks beyond ``HELD_AT_ONCE`` wait their turn, so
        that those running always find a connection for their reads and writes."""
        key = zlib.crc32(name.encode()) & 0x7FFF_FFFF
        async with self._held_slots, self.pool.acquire() as conn:
            got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", self._held, key))
            try:
                yield got
            finally:
                if got:
                    with contextlib.suppress(Exception):
                        await conn.execute("SELECT pg_advisory_unlock($1, $2)", self._held, key)


def _cut(conn: asyncpg.Connection) -> bool:
    """Whether a connection taken from the pool was lost (the pool takes it back then)."""
    import asyncpg

    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:  # "released back to the pool": it was lost
        return True


async def open_store(cls: type[Store], url: str) -> Store:
    """``cls`` (a ``Store``) over PostgreSQL."""
    combined = cast(
        type[PostgresConnections], type(f"Postgres{cls.__name__}", (PostgresConnections, cls), {})
    )
    return cast("Store", await combined.open_url(url))
