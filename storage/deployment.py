"""The rest of a deployment, beside its articles: chats, users, bans, moderation, channels,
the inbox and the outbox, as JSON Lines records a move to another database restores.

``newsbot export --all`` writes, after the articles, one record a line for each row of
the tables below, with a ``"type"`` naming its kind (``{"type": "chat", "id": ...}``);
``newsbot import`` restores them into the new database with their ids and states.

A record already there (by what names it: a chat's id, a delivery's chat and key, a
moderation entry's every field) is left as it is, so importing an export twice adds
nothing. Into an empty database every row keeps its id; where an id is taken, a
moderation entry or a delivery gets a new one. Records come in the order of
``KINDS``, which the rows' references follow (chat moves before the deliveries their
trigger would otherwise move again), and after the articles they name.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from storage.dialect import Dialect
from storage.errors import IngestError
from storage.ingest.jsonl import Lines, article_record, is_article
from storage.rows import Connection, _fetch_one, insert_row
from storage.store import Store

PAGE = 500  # rows read from a table at a time
SAVE_BATCH = 500  # records restored in one transaction


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of record: the table it comes from and what names one of its rows."""

    type: str
    table: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # a stored row with the same values is this record, already here
    order: tuple[str, ...]  # the table's primary key: pages are read in its order
    numbered: bool = False  # its id is handed out by the database (kept when free)
    renamed: tuple[tuple[str, str], ...] = ()  # (column, field): a column named "type"

    def field(self, column: str) -> str:
        """The record's name for a column: its own, unless the record's "type" takes it."""
        return dict(self.renamed).get(column, column)

    def named_by(self) -> str:
        """SQL: the rows with the record's key values (``:name`` parameters)."""
        return " AND ".join(f"{name} IS NOT DISTINCT FROM :{name}" for name in self.key)


KINDS: tuple[Kind, ...] = (
    Kind(
        "chat",
        "chats",
        ("id", "type", "title", "subscribed", "scope", "scope_chosen", "topic_id", "updated_at"),
        key=("id",),
        order=("id",),
        renamed=(("type", "chat_type"),),
    ),
    Kind(
        "user",
        "users",
        ("id", "display_name", "banned", "updated_at"),
        key=("id",),
        order=("id",),
    ),
    Kind(
        "chat_ban",
        "chat_bans",
        ("chat_id", "user_id", "banned_at"),
        key=("chat_id", "user_id"),
        order=("chat_id", "user_id"),
    ),
    Kind(
        "moderation",
        "moderation_actions",
        ("id", "actor_id", "action", "comment_id", "user_id", "chat_id", "created_at"),
        key=("actor_id", "action", "comment_id", "user_id", "chat_id", "created_at"),
        order=("id",),
        numbered=True,
    ),
    Kind(
        "chat_move",
        "chat_moves",
        ("old_id", "new_id", "moved_at"),
        key=("old_id",),
        order=("old_id",),
    ),
    Kind(
        "channel_post",
        "channel_posts",
        ("channel_id", "message_id", "article_id", "shown_count", "posted_at"),
        key=("channel_id", "message_id"),
        order=("channel_id", "message_id"),
    ),
    Kind(
        "discussion_thread",
        "discussion_threads",
        ("chat_id", "thread_id", "article_id", "channel_id"),
        key=("chat_id", "thread_id"),
        order=("chat_id", "thread_id"),
    ),
    Kind(
        "update",
        "inbox",
        ("update_id", "payload", "received_at", "handled_at", "chat_key", "user_key"),
        key=("update_id",),
        order=("update_id",),
    ),
    Kind(
        "delivery",
        "deliveries",
        (
            "id",
            "chat_id",
            "key",
            "kind",
            "article_id",
            "payload",
            "state",
            "attempts",
            "not_before",
            "message_id",
            "error",
            "created_at",
            "sent_at",
        ),
        key=("chat_id", "key"),
        order=("id",),
        numbered=True,
    ),
)
BY_TYPE = {kind.type: kind for kind in KINDS}


# ---------------------------------------------------------------------- export


async def exported(store: Store, everything: bool) -> AsyncIterator[dict[str, Any]]:
    """What ``newsbot export`` writes: every article's record, then (``everything``) the
    rest of the deployment's. Articles come first, so an older reader imports them all."""
    async for article, timeline, comments, source_key in store.export_rows():
        yield article_record(article, timeline, comments, source_key)
    if everything:
        async for record in other_records(store):
            yield record


async def other_records(store: Store) -> AsyncIterator[dict[str, Any]]:
    """Every row of every kind as a record, kind by kind in ``KINDS`` order."""
    for kind in KINDS:
        async for row in _rows(store, kind):
            yield {"type": kind.type, **{kind.field(name): value for name, value in row.items()}}


async def _rows(store: Store, kind: Kind) -> AsyncIterator[dict[str, Any]]:
    """A table's rows a page at a time, by key (row values compare on both engines)."""
    columns = ", ".join(kind.columns)
    order = ", ".join(kind.order)
    marks = ", ".join(f":{name}" for name in kind.order)
    after: dict[str, Any] | None = None
    while True:
        where = f"WHERE ({order}) > ({marks}) " if after is not None else ""
        rows = await store._all(
            f"SELECT {columns} FROM {kind.table} {where}ORDER BY {order} LIMIT {PAGE}",
            after or {},
        )
        for row in rows:
            yield dict(row)
        if len(rows) < PAGE:
            return
        after = {name: rows[-1][name] for name in kind.order}


# ---------------------------------------------------------------------- import


@dataclass
class Restored:
    """What restoring a file's records did: counts by type, and one line per problem."""

    new: dict[str, int] = field(default_factory=dict)
    present: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, other: Restored) -> None:
        """Count in what another batch did."""
        for name, count in other.new.items():
            self.new[name] = self.new.get(name, 0) + count
        self.present += other.present
        self.failed += other.failed
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)


@dataclass(frozen=True, slots=True)
class Record:
    """A record of a known kind, with the line it came from."""

    kind: Kind
    values: dict[str, Any]
    line: int


def read_records(lines: Lines, source: str, restored: Restored) -> Iterator[Record]:
    """The file's records that are not articles; an unknown type is a warning, skipped.

    Lines that are no JSON object (or no text) are the articles' reader's to report.
    """
    for number, line in lines:
        if isinstance(line, IngestError) or '"type"' not in line:  # an older export's article
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(record, dict) or is_article(record):
            continue
        kind = BY_TYPE.get(str(record["type"]))
        if kind is None:
            restored.warnings.append(
                f"{source}: line {number}: unknown record type {str(record['type'])[:40]!r}; "
                "skipped"
            )
            continue
        try:
            yield Record(kind, _values(kind, record), number)
        except IngestError as error:
            restored.failed += 1
            restored.errors.append(f"{source}: line {number}: {kind.type}: {error.reason}")


def _values(kind: Kind, record: dict[str, Any]) -> dict[str, Any]:
    """The record's columns (those it leaves out take their defaults), checked for type."""
    missing = [kind.field(name) for name in kind.key if kind.field(name) not in record]
    if missing:
        raise IngestError("", f"'{missing[0]}' is missing")
    given = {name: kind.field(name) for name in kind.columns if kind.field(name) in record}
    values = {name: record[field] for name, field in given.items()}
    for name, value in values.items():
        if not (value is None or isinstance(value, str | float) or type(value) is int):
            raise IngestError("", f"'{kind.field(name)}' must be a number, a string or null")
    return values


async def restore_records(store: Store, lines: Lines, source: str) -> AsyncIterator[Restored]:
    """Restore a file's records, ``SAVE_BATCH`` to a transaction, each failing alone.

    Yields what each batch did as it is done (with the problems met reading it),
    so a long restore can show its progress; the file is read a batch at a time.
    """
    unread = iter(lines)
    while True:
        batch, outcome = await asyncio.to_thread(_read_batch, unread, source)
        if batch:
            outcome.add(await store.write_once(_restore_batch, store.sql, batch, source))
        yield outcome
        if len(batch) < SAVE_BATCH:
            return


def _read_batch(
    lines: Iterator[tuple[int, str | IngestError]], source: str
) -> tuple[list[Record], Restored]:
    """The next ``SAVE_BATCH`` records and the problems met reading them (in a worker
    thread: the lines between them may be many articles, and a file is slow to read)."""
    problems = Restored()
    records: list[Record] = []
    try:
        records.extend(itertools.islice(read_records(lines, source, problems), SAVE_BATCH))
    except IngestError as error:  # the file cannot be read on; the articles' reader failed there
        problems.warnings.append(f"{error}; the records after it were not restored")
    return records, problems


def _restore_batch(conn: Connection, sql: Dialect, batch: list[Record], source: str) -> Restored:
    """Each record under a savepoint of its own (on the database thread); what became of
    them, counted by the caller once the transaction is in (a retry runs it again)."""
    outcome = Restored()
    for record in batch:
        conn.execute("SAVEPOINT record")
        try:
            if _restore(conn, sql, record):
                outcome.new[record.kind.type] = outcome.new.get(record.kind.type, 0) + 1
            else:
                outcome.present += 1
        except Exception as exc:  # this record only: a missing article, a refused value
            conn.execute("ROLLBACK TO record")
            outcome.failed += 1
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            outcome.errors.append(f"{source}: line {record.line}: {record.kind.type}: {reason}")
        conn.execute("RELEASE record")
    return outcome


def _restore(conn: Connection, sql: Dialect, record: Record) -> bool:
    """Insert one record unless it is there already; whether it was new."""
    kind, values = record.kind, record.values
    if not kind.numbered:  # its key is the table's primary key
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        cursor = conn.execute(
            f"INSERT INTO {kind.table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING", values
        )
        return bool(cursor.rowcount == 1)
    key = {name: values[name] for name in kind.key}
    if _fetch_one(conn, f"SELECT 1 FROM {kind.table} WHERE {kind.named_by()}", key):
        return False
    if values.get("id") is not None and _fetch_one(
        conn, f"SELECT 1 FROM {kind.table} WHERE id = ?", (values["id"],)
    ):
        values = {**values, "id": None}  # another row has it: the database numbers this one
    insert_row(conn, sql, kind.table, values)
    return True
