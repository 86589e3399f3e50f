"""The PostgreSQL schema is the one the SQLite migrations reach: same tables, same rules.

Each test applies storage/migrations/postgres/ (0011 on) in a fresh schema of the
server named by NEWSBOT_TEST_POSTGRES, drops it afterwards, and holds it against a
SQLite database migrated by ``storage.db.connect``.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from storage import Store, postgres
from storage.db import connect

POSTGRES_URL = os.environ.get("NEWSBOT_TEST_POSTGRES", "")
if not POSTGRES_URL:
    pytest.skip("NEWSBOT_TEST_POSTGRES is not set", allow_module_level=True)
asyncpg = pytest.importorskip(
    "asyncpg", reason="asyncpg is not installed (pip install -e '.[postgres]')"
)

SCHEMA = "\n".join(sql for _, _, sql in postgres.migrations())  # every migration, in order
# SQLite's search index (FTS5 tables, their shadow tables, the lists of rows not yet
# indexed) is the tsvector column `search` of articles and comments in PostgreSQL.
SEARCH_TABLES = ("articles_fts", "comments_fts", "fts_pending", "fts_pending_articles")
SEARCH_COLUMN = "search"

ARTICLE = (
    "INSERT INTO articles (id, slug, title, body, source_key, content_key, imported_at) "
    "VALUES ({id}, 'a{id}', '{title}', '{body}', 'k{id}', 'c{id}', '2026-01-0{id}T00:00:00Z')"
)
BLOCKS = '[{{"kind": "paragraph", "text": "{0}"}}, {{"kind": "heading", "text": "{1}"}}]'
COMMENT = (
    "INSERT INTO comments (id, article_id, parent_id, author, origin, chat_id, message_id, "
    "body, created_at, status, seen_in) VALUES "
    "({id}, {article}, {parent}, 'Ann', 'chat', {chat}, {message}, '{body}', "
    "'2026-01-01T00:00:00Z', '{status}', {seen_in})"
)


def article(id: int, title: str, *texts: str) -> str:
    """An INSERT of an article whose body holds two blocks of text."""
    return ARTICLE.format(id=id, title=title, body=BLOCKS.format(*texts))


def comment(
    id: int,
    article: int,
    body: str,
    *,
    parent: int | None = None,
    message: int | None = None,
    status: str = "visible",
    seen_in: int | None = None,
) -> str:
    """An INSERT of a comment; one with a message came through chat 2."""
    return COMMENT.format(
        id=id,
        article=article,
        parent=_sql(parent),
        chat=_sql(2 if message else None),
        message=_sql(message),
        body=body,
        status=status,
        seen_in=_sql(seen_in),
    )


def _sql(value: int | None) -> str:
    return "NULL" if value is None else str(value)


NEW_COMMENT = (
    "INSERT INTO comments (article_id, author, origin, body, created_at, visibility, status) "
    "VALUES ({}, 'Ann', {}, 'b', 't', {}, {})"
)
CHAT = "INSERT INTO chats (id, type, subscribed, updated_at) VALUES ({}, '{}', {}, 't')"

# Writes that set off every trigger, in the SQL both engines speak. After each one the
# two databases must hold the same rows (SNAPSHOT).
STORY = [
    CHAT.format(1, "private", 1),
    CHAT.format(2, "group", 0),
    CHAT.format(3, "channel", 1),
    "INSERT INTO tags (id, name) VALUES (1, 'war'), (2, 'peace')",
    article(1, "Troops cross the river", "Columns moved at dawn", "Talks stall"),
    article(2, "Harbour reopens", "Ships return to port", "Trade resumes"),
    "INSERT INTO article_tags (article_id, tag_id, position) VALUES (1, 1, 0)",
    "INSERT INTO timeline_events (id, article_id, date, precision, label, sentence, sort_key) "
    "VALUES (1, 1, '2024', 'year', 'l', 's', '2024'), (2, 1, '2024-05', 'month', 'l', 's', "
    "'2024-05'), (3, 2, '2023-01-02', 'day', 'l', 's', '2023-01-02')",
    "INSERT INTO article_tags (article_id, tag_id, position) VALUES (1, 2, 1), (2, 1, 0)",
    CHAT.format(4, "supergroup", 1),
    article(3, "Budget passes", "The council voted", "Markets rose"),
    "UPDATE deliveries SET state = 'sent' WHERE chat_id = 1 AND key = 'article:1'",
    "INSERT INTO chat_moves (old_id, new_id, moved_at) VALUES (1, 4, 't')",
    comment(100, 1, "first word"),
    comment(101, 1, "a reply", parent=100),
    comment(102, 1, "for the group", seen_in=2),
    comment(103, 1, "hidden from view", status="hidden"),
    comment(104, 1, "through the chat", message=7),
    comment(105, 1, "deeper reply", parent=101),
    comment(110, 2, "harbour news"),
    "UPDATE comments SET status = 'hidden' WHERE id = 104",
    "UPDATE comments SET status = 'visible' WHERE id = 103",
    "UPDATE comments SET seen_in = NULL WHERE id = 102",
    "UPDATE comments SET seen_in = 0 WHERE id = 110",
    "UPDATE comments SET body = 'edited word' WHERE id = 100",
    "UPDATE comments SET status = 'visible', body = 'deeper still' WHERE id = 105",
    "UPDATE comments SET status = 'deleted', body = '' WHERE id = 101",
    "UPDATE comments SET status = 'visible' WHERE id = 101",
    "DELETE FROM comments WHERE id = 100",
    "DELETE FROM timeline_events WHERE id = 2",
    "DELETE FROM article_tags WHERE article_id = 2 AND tag_id = 1",
    article(4, "Retracted", "Never mind", "Gone"),
    "INSERT INTO article_tags (article_id, tag_id, position) VALUES (4, 2, 0)",
    "INSERT INTO timeline_events (id, article_id, date, precision, label, sentence, sort_key) "
    "VALUES (4, 4, '2025', 'year', 'l', 's', '2025')",
    comment(120, 4, "short lived"),
    comment(121, 4, "its reply", parent=120),
    "DELETE FROM articles WHERE id = 4",
]
SNAPSHOT = [
    "SELECT id, comment_count FROM articles ORDER BY id",
    "SELECT chat_id, key, kind, article_id, state FROM deliveries ORDER BY chat_id, key",
    "SELECT tag_id, sort_key, event_id, article_id FROM topic_events "
    "ORDER BY tag_id, sort_key, event_id",
    "SELECT id, parent_id, status, seen_in, body FROM comments ORDER BY id",
]


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """A SQLite database with every migration applied."""
    db = await connect(tmp_path / "x.sqlite3")
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def postgres() -> AsyncIterator[Any]:
    """A connection whose search path is a new schema holding the PostgreSQL schema."""
    conn = await asyncpg.connect(POSTGRES_URL)
    schema = f"newsbot_test_{secrets.token_hex(6)}"
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(f"SET search_path TO {schema}")
        await conn.execute(SCHEMA)
        yield conn
    finally:
        await conn.execute(f"SET client_min_messages = warning; DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def sqlite_rows(db: aiosqlite.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await db.execute_fetchall(sql)]


async def postgres_rows(conn: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return [tuple(record) for record in await conn.fetch(sql, *args)]


async def sqlite_tables(db: aiosqlite.Connection) -> list[str]:
    """SQLite's tables, but for the search index's."""
    return [
        name
        for (name,) in await sqlite_rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")
        if not name.startswith(("sqlite_", *SEARCH_TABLES))
    ]


async def test_the_same_tables_have_the_same_columns(
    sqlite: aiosqlite.Connection, postgres: Any
) -> None:
    """Every column has its name, whether it may be NULL and whether it has a default."""
    expected: dict[str, dict[str, tuple[bool, bool]]] = {}
    for table in await sqlite_tables(sqlite):
        expected[table] = {
            name: (bool(notnull or pk), default is not None)
            for _, name, _, notnull, default, pk in await sqlite_rows(
                sqlite, f"PRAGMA table_info({table})"
            )
        }
    found: dict[str, dict[str, tuple[bool, bool]]] = {}
    for table, column, nullable, default in await postgres_rows(
        postgres,
        "SELECT table_name, column_name, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema()",
    ):
        found.setdefault(table, {})[column] = (nullable == "NO", default is not None)

    assert found.pop("schema_version") == {"version": (True, False)}
    for table in ("articles", "comments"):
        assert found[table].pop(SEARCH_COLUMN) == (True, True)  # kept by a trigger
    assert found == expected


async def test_the_same_keys_and_unique_constraints(
    sqlite: aiosqlite.Connection, postgres: Any
) -> None:
    """Primary keys, UNIQUE constraints and foreign keys name the same columns."""
    expected = set()
    for table in await sqlite_tables(sqlite):
        info = await sqlite_rows(sqlite, f"PRAGMA table_info({table})")
        primary = tuple(row[1] for row in sorted(info, key=lambda row: row[5]) if row[5])
        expected.add((table, "primary", primary))
        for _, index, _, origin, _ in await sqlite_rows(sqlite, f"PRAGMA index_list({table})"):
            if origin == "u":
                columns = await sqlite_rows(sqlite, f"PRAGMA index_info({index})")
                expected.add((table, "unique", tuple(name for _, _, name in columns)))
        for row in await sqlite_rows(sqlite, f"PRAGMA foreign_key_list({table})"):
            _, _, parent, column, parent_column, _, on_delete, _ = row
            expected.add((table, "foreign", (column, parent, parent_column, on_delete)))

    found = set()
    for table, kind, columns, parent, parent_columns, on_delete in await postgres_rows(
        postgres,
        "SELECT c.conrelid::regclass::text, c.contype::text, "
        "  array(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k (n, i) "
        "        JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.i), "
        "  c.confrelid::regclass::text, "
        "  array(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k (n, i) "
        "        JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.i), "
        "  c.confdeltype::text "
        "FROM pg_constraint c "
        "WHERE c.connamespace = current_schema()::regnamespace AND c.contype IN ('p', 'u', 'f')",
    ):
        if kind == "p":
            found.add((table, "primary", tuple(columns)))
        elif kind == "u":
            found.add((table, "unique", tuple(columns)))
        else:
            actions = {"c": "CASCADE", "a": "NO ACTION"}
            found.add((table, "foreign", (*columns, parent, *parent_columns, actions[on_delete])))

    assert found == expected


async def test_the_same_indexes(sqlite: aiosqlite.Connection, postgres: Any) -> None:
    """Every SQLite index exists under its name, on its table, as unique and as partial."""
    expected = {
        name: (table, sql.startswith("CREATE UNIQUE"), " WHERE " in sql)
        for name, table, sql in await sqlite_rows(
            sqlite,
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql NOT NULL",
        )
    }
    found = {
        name: (table, unique, partial)
        for name, table, unique, partial in await postgres_rows(
            postgres,
            "SELECT i.relname, t.relname, x.indisunique, x.indpred IS NOT NULL "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace",
        )
    }
    assert expected
    assert {name: found.get(name) for name in expected} == expected
    assert found["articles_search"] == ("articles", False, False)
    assert found["comments_search"] == ("comments", False, False)


async def test_triggers_leave_the_same_rows(sqlite: aiosqlite.Connection, postgres: Any) -> None:
    """Comment counts, topic events and queued deliveries follow each write alike."""
    for statement in STORY:
        await sqlite.execute(statement)
        await postgres.execute(statement)
        for query in SNAPSHOT:
            assert await postgres_rows(postgres, query) == await sqlite_rows(sqlite, query), (
                f"after {statement}: {query}"
            )

    # Comments 102, 103 and 105 count (100 and its replies went); 110 is seen nowhere.
    assert await postgres_rows(postgres, SNAPSHOT[0]) == [(1, 2), (2, 0), (3, 0)]
    # Chat 1's queued card for article 2 moved to chat 4; the one for article 3 stayed,
    # as chat 4 had its own.
    assert await postgres_rows(postgres, SNAPSHOT[1]) == [
        (1, "article:1", "push", 1, "sent"),
        (1, "article:3", "push", 3, "queued"),
        (3, "article:1", "push", 1, "queued"),
        (3, "article:2", "push", 2, "queued"),
        (3, "article:3", "push", 3, "queued"),
        (4, "article:2", "push", 2, "queued"),
        (4, "article:3", "push", 3, "queued"),
    ]
    assert await postgres_rows(postgres, SNAPSHOT[2]) == [
        (1, "2024", 1, 1),
        (2, "2024", 1, 1),
    ]


@pytest.mark.parametrize(
    ("statement", "allowed", "refused"),
    [
        (
            "INSERT INTO timeline_events (article_id, date, precision, label, sentence, "
            "sort_key) VALUES (1, '2024', {}, 'l', 's', '2024')",
            "'day'",
            "'week'",
        ),
        (
            "INSERT INTO chats (id, type, scope, updated_at) VALUES (5, 'g', {}, 't')",
            "'public'",
            "'x'",
        ),
        (NEW_COMMENT.format("1", "{}", "'public'", "'visible'"), "'imported'", "'feed'"),
        (NEW_COMMENT.format("1", "'chat'", "{}", "'visible'"), "'group'", "'private'"),
        (NEW_COMMENT.format("1", "'chat'", "'public'", "{}"), "'deleted'", "'gone'"),
        (NEW_COMMENT.format("{}", "'chat'", "'public'", "'visible'"), "1", "9"),
        (
            "INSERT INTO deliveries (chat_id, key, kind, state) VALUES (1, 'k', {}, 'queued')",
            "'reply'",
            "'mail'",
        ),
        (
            "INSERT INTO deliveries (chat_id, key, kind, state) VALUES (1, 'k', 'push', {})",
            "'folded'",
            "'lost'",
        ),
        ("INSERT INTO article_tags (article_id, tag_id, position) VALUES (1, {}, 0)", "1", "9"),
    ],
)
async def test_the_same_values_are_refused(
    sqlite: aiosqlite.Connection, postgres: Any, statement: str, allowed: str, refused: str
) -> None:
    """CHECK and foreign key constraints refuse a value in both engines, and only that value."""
    setup = [
        CHAT.format(1, "private", 0),
        article(1, "T", "x", "y"),
        "INSERT INTO tags VALUES (1, 't')",
    ]
    for step in setup:
        await sqlite.execute(step)
        await postgres.execute(step)
    with pytest.raises(sqlite3.IntegrityError):
        await sqlite.execute(statement.format(refused))
    with pytest.raises(asyncpg.IntegrityConstraintViolationError):
        await postgres.execute(statement.format(refused))
    await sqlite.execute(statement.format(allowed))
    await postgres.execute(statement.format(allowed))


async def test_search_finds_the_same_articles_and_comments(
    sqlite: aiosqlite.Connection, postgres: Any, tmp_path: Path
) -> None:
    """The tsvector columns find what FTS5 finds: titles, block texts, visible comments."""
    for statement in STORY:
        await sqlite.execute(statement)
        await postgres.execute(statement)
    # New rows wait for SQLite's index until the store indexes them, as search does first.
    store = await Store.open(tmp_path / "x.sqlite3")
    try:
        assert await store.index_waiting() > 0
    finally:
        await store.close()
    for word in ("troops", "dawn", "talks", "harbour", "paragraph", "heading", "nothing"):
        assert await postgres_rows(
            postgres,
            "SELECT id FROM articles WHERE search @@ to_tsquery('simple', $1) ORDER BY id",
            word,
        ) == await sqlite_rows(
            sqlite, f"SELECT rowid FROM articles_fts WHERE articles_fts MATCH '{word}' ORDER BY 1"
        ), word
    for word in ("group", "hidden", "deeper", "harbour", "chat", "reply"):
        assert await postgres_rows(
            postgres,
            "SELECT id FROM comments WHERE search @@ to_tsquery('simple', $1) "
            "AND status = 'visible' ORDER BY id",
            word,
        ) == await sqlite_rows(
            sqlite, f"SELECT rowid FROM comments_fts WHERE comments_fts MATCH '{word}' ORDER BY 1"
        ), word


async def test_delivery_times_are_sqlites_numbers(
    sqlite: aiosqlite.Connection, postgres: Any
) -> None:
    """A delivery's created_at is the number SQLite's julianday('now') arithmetic gives."""
    for instant in ("2026-11-30 08:04:37.123", "1999-12-31 23:59:59.999", "2038-01-19 03:14:08"):
        [(expected,)] = await sqlite_rows(
            sqlite, f"SELECT (julianday('{instant}') - 2440587.5) * 86400.0"
        )
        [(found,)] = await postgres_rows(
            postgres, "SELECT epoch_seconds($1::text::timestamptz)", f"{instant}+00"
        )
        assert found == expected, instant

    before = time.time()
    [(created,)] = await postgres_rows(
        postgres,
        "INSERT INTO deliveries (chat_id, key, kind) VALUES (1, 'k', 'reply') "
        "RETURNING created_at",
    )
    assert before - 1 < created < time.time() + 1
    # Whole milliseconds, with the very digits SQLite gives that millisecond.
    millisecond = round(created * 1000) / 1000
    assert await sqlite_rows(
        sqlite, f"SELECT (julianday({millisecond}, 'unixepoch') - 2440587.5) * 86400.0"
    ) == [(created,)]
