"""The database a benchmark runs on: a SQLite file (the default) or, given ``--db`` with
a ``postgresql://`` URL, a fresh schema of its own on that server, dropped at the end
of the run unless it is kept.

A figure that only one engine has (a file's pages, a migration PostgreSQL
never had) is printed as ``NOT_ON_POSTGRES`` there, never as a number.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from storage import Store

NOT_ON_POSTGRES = "n/a on PostgreSQL"


@asynccontextmanager
async def fresh_schema(server: str, keep: bool = False) -> AsyncIterator[str]:
    """A URL whose tables live in a new schema ``bench_<random>`` on ``server``; the
    schema is dropped afterwards unless ``keep``, when its name is printed."""
    import asyncpg

    name = f"bench_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"CREATE SCHEMA {name}")
        joiner = "&" if "?" in server else "?"
        yield f"{server}{joiner}search_path={name}"
    finally:
        if keep:
            print(f"kept PostgreSQL schema {name}", file=sys.stderr)
        else:
            await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await admin.close()


async def database_size(store: Store) -> int:
    """Bytes the store takes: on SQLite the file (pages in use and free, the WAL folded
    in); on PostgreSQL its schema's tables with their indexes and TOAST."""
    if store.engine == "postgres":
        row = await store._one(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
    else:
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = await store._one(
            "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"
        )
    return int(row[0]) if row else 0


async def vacuum_analyze(url: str) -> None:
    """VACUUM ANALYZE the tables of the schema ``url`` names, after a bulk load.

    Autovacuum would do it a little later on a deployed server; without it the
    figures would measure the row versions the load left behind (each comment stored
    rewrites its article's row, for the count) and plans made without statistics.
    """
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
        for row in tables:
            await conn.execute(f'VACUUM (ANALYZE) "{row[0]}"')
    finally:
        await conn.close()
