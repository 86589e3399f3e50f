"""The one place that speaks SQL: every query the bot and the CLI make.

Methods return the dataclasses of ``storage.models``, never rows. Who may see
a comment is the rule of ``storage.visibility``: every query here that shows,
counts or finds comments uses its SQL fragments.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import sqlite3
import time
import unicodedata
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import fields, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar, cast

import aiosqlite

from storage import db as dbmod
from storage import visibility as rule
from storage.clock import utc_now
from storage.errors import (
    DatabaseBusy,
    DatabaseFault,
    DatabaseReadOnly,
    NotFound,
    StorageError,
    database_fault,
)
from storage.limits import within_limits
from storage.models import (
    Article,
    ArticleLine,
    Block,
    Chat,
    Comment,
    CommentPage,
    CommentStatus,
    ParsedArticle,
    ParsedComment,
    SaveResult,
    SearchHit,
    TimelineEvent,
    TopicEvent,
    TopicTimeline,
    User,
    Visibility,
)
from storage.text import clean_line

COMMENTS_PER_PAGE = 5
EXPORT_BATCH = 200
SEARCH_CANDIDATES = 50
RANK_EXACTLY_UP_TO = 1_000  # rows holding a word, for bm25 (see Store.search)
SNIPPET_START = "\x02"
SNIPPET_END = "\x03"
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_SEARCH_WORD = re.compile(r"\w+", re.UNICODE)
# A phrase in double quotes, or a word.
_SEARCH_TERM = re.compile(r'"([^"]*)"|(\w+)', re.UNICODE)

Row = aiosqlite.Row
Connection = sqlite3.Connection
T = TypeVar("T")


def _fetch_one(conn: Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    """The first row of a query on the sqlite3 connection itself, or None."""
    return conn.execute(sql, params).fetchone()


POINT_READ_BUSY_MS = 50
INDEX_BATCH = 5_000  # comments indexed for search in one write
# A plan step that reads all of a table (or of one of its indexes): SCAN name ...
_SCAN = re.compile(r"SCAN (\w+)")
log = logging.getLogger(__name__)

# How long a write waits for another process's write lock, retrying with backoff.
WRITE_WAIT = 60.0
WRITE_BACKOFF = (0.05, 0.5)  # first pause, longest pause (seconds)
FAULT_LOG_EVERY = 600.0  # seconds: a fault that comes back sooner is not logged again


def slugify(title: str) -> str:
    """A URL-safe slug from a title: lower-case ASCII words joined by hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = _SLUG_JUNK.sub("-", ascii_title.lower()).strip("-")[:60].rstrip("-")
    return slug or "article"


def content_key(article: ParsedArticle) -> str:
    """A hash of everything stored from an article, so an unchanged re-import is a no-op."""
    content = {
        "title": article.title,
        "blocks": [[b.kind, b.text] for b in article.blocks],
        "source": article.source,
        "url": article.url,
        "published_at": article.published_at,
        "tags": list(article.tags),
        "summary": article.summary,
        "timeline": [_fields(e) for e in article.timeline or ()],
        "comments": [_fields(c) for c in article.comments],
    }
    encoded = json.dumps(content, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()


def _fields(item: Any) -> dict[str, Any]:
    """A flat dataclass as a dict (``dataclasses.asdict`` without its deep copy, much faster)."""
    return {f.name: getattr(item, f.name) for f in fields(item)}


def message_key(chat_id: int | None, message_id: int | None) -> str | None:
    """The import key of a comment from a Telegram message: that message, for good."""
    return (
        f"msg:{chat_id}:{message_id}" if chat_id is not None and message_id is not None else None
    )


def _kept_text(status: str, body: str) -> str:
    """What is stored of a comment's text: none once its author deleted it."""
    return "" if status == "deleted" else body


def _import_keys(comments: Sequence[ParsedComment]) -> list[str]:
    """Keys that recognise comments again on a later import.

    An export carries each comment's key. Otherwise a comment from the chat is
    known by its Telegram message, and any other by its author and text (and
    which repeat of them it is), so a text file and its export, imported one
    after the other, add nothing.
    """
    seen: dict[tuple[str, str], int] = {}
    keys: list[str] = []
    for comment in comments:
        known = comment.key  # carried by an export
        if not known and comment.origin == "chat":
            known = message_key(comment.chat_id, comment.message_id)
        if known:
            keys.append(known)
            continue
        pair = (comment.author, comment.body)
        seen[pair] = seen.get(pair, 0) + 1
        digest = hashlib.sha256(f"{comment.author}\n{comment.body}".encode()).hexdigest()
        keys.append(f"{digest[:24]}:{seen[pair]}")
    return keys


def fts_query(words: str) -> str:
    """Turn what a reader typed into a safe FTS5 query: every word must occur.

    Words in double quotes must occur together, in that order (a phrase); a
    quote left open is ignored.
    """
    terms: list[str] = []
    for phrase, word in _SEARCH_TERM.findall(words):
        tokens = _SEARCH_WORD.findall(phrase or word)
        if tokens:
            terms.append('"' + " ".join(tokens) + '"')
    return " ".join(terms[:16])


def _blocks_json(blocks: Iterable[Block]) -> str:
    return json.dumps([{"kind": b.kind, "text": b.text} for b in blocks], ensure_ascii=False)


def _blocks_from_json(text: str) -> tuple[Block, ...]:
    return tuple(Block(kind=item["kind"], text=item["text"]) for item in json.loads(text))


def _event(row: Row) -> TimelineEvent:
    return TimelineEvent(
        date=row["date"],
        precision=row["precision"],
        label=row["label"],
        sentence=row["sentence"],
        qualifier=row["qualifier"],
    )


def _comment(row: Row, depth: int = 0) -> Comment:
    return Comment(
        id=row["id"],
        article_id=row["article_id"],
        parent_id=row["parent_id"],
        author=row["author"],
        user_id=row["user_id"],
        origin=row["origin"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        visibility=row["visibility"],
        body=row["body"],
        created_at=row["created_at"],
        edited_at=row["edited_at"],
        status=row["status"],
        depth=depth,
        import_key=row["import_key"],
        seen_in=row["seen_in"],
    )


_COMMENT_COLUMNS = (
    "id, article_id, parent_id, root_id, seq, author, user_id, origin, chat_id, message_id, "
    "visibility, body, created_at, edited_at, status, import_key, seen_in"
)
# What every chat counts is kept by triggers; a group adds its own on the fly.
_VISIBLE_COUNT = f"""
    a.comment_count + (SELECT count(*) FROM comments g WHERE g.article_id = a.id
        AND {rule.counted_only_here("g")})
"""
# An article with its tags (position, name) and the comments a chat (:chat) may see.
_ARTICLE_SELECT = f"""
    SELECT a.*, {_VISIBLE_COUNT} AS visible_count,
        (SELECT json_group_array(json_array(x.position, t.name))
         FROM article_tags x JOIN tags t ON t.id = x.tag_id
         WHERE x.article_id = a.id) AS tag_list
    FROM articles a
"""


def _in_transaction(conn: Connection, work: Callable[..., T], *args: Any) -> T:
    """Run ``work(conn, *args)`` between BEGIN IMMEDIATE and COMMIT (on the database thread)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn, *args)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


class Store:
    """Everything the bot and the CLI read from and write to the corpus."""

    strict_point_reads = False
    """Raise when a point read would scan (tests set it); otherwise it goes to the thread."""

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self.db = db
        self.path = path
        self._write_lock = asyncio.Lock()
        self._reader: sqlite3.Connection | None = None
        self._reader_failed = False
        self._indexed: dict[str, bool] = {}  # SQL -> whether its plan only searches
        self._tables: set[str] = set()  # a scan of one of these is a scan of a table
        self.write_wait = WRITE_WAIT
        self.fault: DatabaseFault | None = None  # why writes fail, until one succeeds
        self._fault_told = False  # whether this run of failures was logged
        self._fault_logged: dict[type[DatabaseFault], float] = {}  # kind: when last logged

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (creating and migrating as needed) the database at ``path``."""
        try:
            db = await dbmod.connect(path)
        except StorageError:
            raise
        except Exception as exc:  # sqlite3 errors name the problem, not the file
            raise StorageError(f"cannot open database {path}: {exc}") from exc
        return cls(db, str(path))

    @staticmethod
    async def verify(path: str | Path) -> None:
        """Raise a ``DatabaseFault`` naming the file if it is read-only, damaged or unopenable."""
        await dbmod.verify(path)

    async def close(self) -> None:
        """Close the database connections."""
        self._reader_failed = True  # closed: no point read opens it again
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await self.db.close()

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
                try:
                    yield self.db
                    await self.db.commit()
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back
                        await self.db.rollback()
                    raise
            except (sqlite3.Error, DatabaseFault) as exc:
                self._raise_fault(exc)
            self._writes_again()

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
                result: T = await self._waiting_out_locks(
                    partial(self._on_db_thread, _in_transaction, work, *args)
                )
            except (sqlite3.Error, DatabaseFault) as exc:
                self._raise_fault(exc)
            self._writes_again()
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
        fresh = await dbmod.connect(self.path)
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
                    f"file:{urllib.parse.quote(self.path)}?mode=ro",
                    uri=True,
                    check_same_thread=False,
                )
                reader.row_factory = sqlite3.Row
                reader.execute(f"PRAGMA busy_timeout = {POINT_READ_BUSY_MS}")
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

    # ------------------------------------------------------------------ articles

    async def _on_db_thread(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work(connection, *args)`` on the database thread, in one hop.

        aiosqlite runs everything on one thread per connection; a write made of
        many statements costs a hop each through its queue, and the hops cost
        more than the SQL. A function queued there runs them all in one go.
        """
        conn = self.db._conn  # the sqlite3 connection behind aiosqlite's thread
        queue = cast(Callable[..., Awaitable[T]], self.db._execute)
        return await queue(work, conn, *args)

    async def save_article(self, parsed: ParsedArticle) -> SaveResult:
        """Insert a new article, update a changed one in place, or leave an unchanged one.

        One transaction per article; comments already stored are kept. The
        article is held to ``storage.limits`` first; its comments are known
        again by what the file says, cut or not.
        """
        async with self.transaction():
            return await self._on_db_thread(self._save, parsed)

    async def save_articles(
        self, articles: Sequence[ParsedArticle]
    ) -> list[SaveResult | Exception]:
        """Save several articles as ``save_article`` would, in one transaction.

        Each article has a savepoint of its own, so one that fails is rolled
        back alone and comes back as its exception, in its place; the others
        are saved. (Up to a few hundred at a time: the write lock is held.)
        A fault of the whole transaction (the file full or read-only) is raised.
        """
        async with self.transaction():
            return await self._on_db_thread(self._save_each, articles)

    # The writes below run on the database thread, on the sqlite3 connection
    # itself (``_on_db_thread``), inside the caller's transaction: saving an
    # article takes a dozen statements, each far cheaper than a hop to that
    # thread and back.

    def _save_each(
        self, conn: Connection, articles: Sequence[ParsedArticle]
    ) -> list[SaveResult | Exception]:
        """Each article under a savepoint of its own, so it fails alone."""
        results: list[SaveResult | Exception] = []
        for parsed in articles:
            conn.execute("SAVEPOINT article")
            try:
                results.append(self._save(conn, parsed))
            except Exception as exc:  # this article only: the others still land
                conn.execute("ROLLBACK TO article")  # fails if SQLite ended the transaction
                results.append(exc)
            conn.execute("RELEASE article")
        return results

    def _save(self, conn: Connection, parsed: ParsedArticle) -> SaveResult:
        """Insert, update or leave one article, in the caller's transaction."""
        comment_keys = _import_keys(parsed.comments)
        parsed = within_limits(parsed)
        key = content_key(parsed)
        existing = _fetch_one(
            conn, "SELECT id, content_key FROM articles WHERE source_key = ?", (parsed.source_key,)
        )
        if existing is not None and existing["content_key"] == key:
            return SaveResult(existing["id"], "unchanged", parsed.warnings)
        if existing is None:
            article_id = self._insert_article(conn, parsed, key)
            outcome: Literal["new", "updated"] = "new"
        else:
            article_id = existing["id"]
            conn.execute(
                "UPDATE articles SET title = ?, body = ?, source = ?, content_key = ?, "
                "url = ?, published_at = ?, summary = ? WHERE id = ?",
                (
                    parsed.title,
                    _blocks_json(parsed.blocks),
                    parsed.source,
                    key,
                    parsed.url,
                    parsed.published_at,
                    parsed.summary or "",
                    article_id,
                ),
            )
            conn.execute("DELETE FROM article_tags WHERE article_id = ?", (article_id,))
            conn.execute("DELETE FROM timeline_events WHERE article_id = ?", (article_id,))
            outcome = "updated"
        self._write_tags(conn, article_id, parsed.tags)
        self._write_timeline(conn, article_id, parsed.timeline or ())
        merge_warnings: list[str] = []
        if outcome == "new" and all(
            c.id is None and c.parent_id is None and c.message_id is None for c in parsed.comments
        ):
            self._insert_flat_comments(conn, article_id, parsed.comments, comment_keys)
        else:
            merge_warnings = self._merge_comments(conn, article_id, parsed.comments, comment_keys)
        return SaveResult(article_id, outcome, (*parsed.warnings, *merge_warnings))

    def _insert_article(self, conn: Connection, parsed: ParsedArticle, key: str) -> int:
        slug = self._free_slug(conn, parsed.slug or slugify(parsed.title), parsed.source_key)
        wanted_id = parsed.id
        if wanted_id is not None and _fetch_one(
            conn, "SELECT 1 FROM articles WHERE id = ?", (wanted_id,)
        ):
            wanted_id = None
        cursor = conn.execute(
            "INSERT INTO articles (id, slug, title, body, source, source_key, content_key, url, "
            "published_at, imported_at, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                wanted_id,
                slug,
                parsed.title,
                _blocks_json(parsed.blocks),
                parsed.source,
                parsed.source_key,
                key,
                parsed.url,
                parsed.published_at,
                parsed.imported_at or utc_now(),
                parsed.summary or "",
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _free_slug(self, conn: Connection, slug: str, source_key: str) -> str:
        """The slug, else slug-2 .. slug-5, else one made unique by the source key."""
        digest = hashlib.sha256(source_key.encode()).hexdigest()
        candidates = [slug, *(f"{slug}-{n}" for n in range(2, 6))]
        candidates += [f"{slug}-{digest[:8]}", f"{slug}-{digest[:16]}", f"{slug}-{digest}"]
        for candidate in candidates:
            if _fetch_one(conn, "SELECT 1 FROM articles WHERE slug = ?", (candidate,)) is None:
                return candidate
        raise StorageError(f"no free slug for {slug!r}")

    def _write_tags(self, conn: Connection, article_id: int, tags: Sequence[str]) -> None:
        for position, tag in enumerate(dict.fromkeys(t.strip().lower() for t in tags if t)):
            if not tag:
                continue
            conn.execute("INSERT OR IGNORE INTO tags (name) VALUES (?)", (tag,))
            conn.execute(
                "INSERT OR IGNORE INTO article_tags (article_id, tag_id, position) "
                "SELECT ?, id, ? FROM tags WHERE name = ?",
                (article_id, position, tag),
            )

    def _write_timeline(
        self, conn: Connection, article_id: int, events: Sequence[TimelineEvent]
    ) -> None:
        conn.executemany(
            "INSERT INTO timeline_events "
            "(article_id, date, precision, qualifier, label, sentence, sort_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (article_id, e.date, e.precision, e.qualifier, e.label, e.sentence, e.sort_key)
                for e in events
            ],
        )

    def _insert_flat_comments(
        self,
        conn: Connection,
        article_id: int,
        comments: Sequence[ParsedComment],
        keys: Sequence[str],
    ) -> None:
        """A new article's comments without threads: one batch, positions 1..n."""
        if not comments:
            return
        now = utc_now()
        conn.executemany(
            "INSERT INTO comments (article_id, seq, author, user_id, origin, chat_id, "
            "message_id, visibility, body, created_at, edited_at, status, import_key, "
            "seen_in) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    article_id,
                    seq,
                    c.author,
                    c.user_id,
                    c.origin,
                    c.chat_id,
                    c.message_id,
                    c.visibility,
                    _kept_text(c.status, c.body),
                    c.created_at or now,
                    c.edited_at,
                    c.status,
                    key,
                    rule.audience(c.visibility, c.chat_id),
                )
                for seq, (c, key) in enumerate(zip(comments, keys, strict=True), 1)
            ],
        )
        conn.execute(
            "UPDATE comments SET root_id = id WHERE article_id = ? AND root_id IS NULL",
            (article_id,),
        )
        conn.execute("UPDATE articles SET next_seq = ? WHERE id = ?", (len(comments), article_id))

    def _merge_comments(
        self,
        conn: Connection,
        article_id: int,
        comments: Sequence[ParsedComment],
        keys: Sequence[str],
    ) -> list[str]:
        """Add the imported comments not stored yet; never drop or overwrite another one.

        Returns warnings about comments that could not keep their Telegram message.
        """
        warnings: list[str] = []
        id_map: dict[int, int] = {}
        moves: dict[int, int] = {}
        if any(comment.chat_id is not None for comment in comments):  # from the chat
            rows = conn.execute("SELECT old_id, new_id FROM chat_moves")
            moves = {row["old_id"]: row["new_id"] for row in rows}
        for comment, key in zip(comments, keys, strict=True):
            if comment.chat_id in moves:  # posted before its group became a supergroup
                comment = replace(comment, chat_id=moves[comment.chat_id], message_id=None)
            message_id = comment.message_id
            found = _fetch_one(
                conn,
                "SELECT id, article_id FROM comments WHERE article_id = ? AND import_key = ?",
                (article_id, key),
            )
            if found is None and message_id is not None:
                found = _fetch_one(
                    conn,
                    "SELECT id, article_id FROM comments WHERE chat_id = ? AND message_id = ?",
                    (comment.chat_id, message_id),
                )
                if found is not None and found["article_id"] != article_id:
                    # Another comment came from that message: exports of two deployments
                    # met. Both are kept; this one loses its link to the message.
                    warnings.append(
                        f"comment by {comment.author!r}: its Telegram message "
                        f"({comment.chat_id}, {message_id}) is already comment "
                        f"#{found['id']}'s; imported without that link"
                    )
                    found, message_id = None, None
            if found is not None:
                # Already here: what happened to it since (edits, hiding) stands.
                stored_id = int(found["id"])
            else:
                parent = id_map.get(comment.parent_id) if comment.parent_id is not None else None
                stored_id = self._insert_comment(
                    conn,
                    article_id=article_id,
                    parent_id=parent,
                    author=comment.author,
                    user_id=comment.user_id,
                    origin=comment.origin,
                    chat_id=comment.chat_id,
                    message_id=message_id,
                    visibility=comment.visibility,
                    body=comment.body,
                    created_at=comment.created_at or utc_now(),
                    edited_at=comment.edited_at,
                    status=comment.status,
                    import_key=key,
                    wanted_id=comment.id,
                )
            if comment.id is not None:
                id_map[comment.id] = stored_id
        return warnings

    def _insert_comment(
        self,
        conn: Connection,
        *,
        article_id: int,
        parent_id: int | None,
        author: str,
        user_id: int | None,
        origin: str,
        chat_id: int | None,
        message_id: int | None,
        visibility: str,
        body: str,
        created_at: str,
        edited_at: str | None = None,
        status: str = "visible",
        import_key: str | None = None,
        wanted_id: int | None = None,
    ) -> int:
        """Insert one comment, threading it under its parent. Call inside a transaction."""
        root_id: int | None = None
        seq: int | None = None
        seen_in = rule.audience(visibility, chat_id)
        if parent_id is not None:
            parent = _fetch_one(
                conn,
                "SELECT root_id, seen_in FROM comments WHERE id = ? AND article_id = ?",
                (parent_id, article_id),
            )
            if parent is None:
                raise NotFound(f"comment {parent_id} is not a comment on article {article_id}")
            root_id = parent["root_id"]
            seen_in = rule.audience(visibility, chat_id, parent["seen_in"])
        else:
            row = _fetch_one(
                conn,
                "UPDATE articles SET next_seq = next_seq + 1 WHERE id = ? RETURNING next_seq",
                (article_id,),
            )
            if row is None:
                raise NotFound(f"no article {article_id}")
            seq = row[0]
        if wanted_id is not None and _fetch_one(
            conn, "SELECT 1 FROM comments WHERE id = ?", (wanted_id,)
        ):
            wanted_id = None
        cursor = conn.execute(
            "INSERT INTO comments (id, article_id, parent_id, root_id, seq, author, user_id, "
            "origin, chat_id, message_id, visibility, body, created_at, edited_at, status, "
            "import_key, seen_in) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                wanted_id,
                article_id,
                parent_id,
                root_id,
                seq,
                author,
                user_id,
                origin,
                chat_id,
                message_id,
                visibility,
                _kept_text(status, body),
                created_at,
                edited_at,
                status,
                import_key,
                seen_in,
            ),
        )
        comment_id = cursor.lastrowid
        assert comment_id is not None
        if root_id is None:
            conn.execute("UPDATE comments SET root_id = id WHERE id = ?", (comment_id,))
        return comment_id

    def _article_from_row(self, row: Row) -> Article:
        """An article from a row of ``_ARTICLE_SELECT``."""
        tags = sorted(json.loads(row["tag_list"]))
        return Article(
            id=row["id"],
            slug=row["slug"],
            title=row["title"],
            blocks=_blocks_from_json(row["body"]),
            source=row["source"],
            url=row["url"],
            published_at=row["published_at"],
            imported_at=row["imported_at"],
            summary=row["summary"],
            tags=tuple(name for _, name in tags),
            content_key=row["content_key"],
            comment_count=row["visible_count"],
        )

    async def article(self, article_id: int, chat_id: int | None = None) -> Article | None:
        """The article with this id, or None; ``comment_count`` as ``chat_id`` sees it."""
        row = await self._point_one(
            f"{_ARTICLE_SELECT} WHERE a.id = :key", {"key": article_id, **rule.params(chat_id)}
        )
        return self._article_from_row(row) if row else None

    async def article_by_slug(self, slug: str, chat_id: int | None = None) -> Article | None:
        """The article with this slug, or None; ``comment_count`` as ``chat_id`` sees it."""
        row = await self._point_one(
            f"{_ARTICLE_SELECT} WHERE a.slug = :key", {"key": slug.lower(), **rule.params(chat_id)}
        )
        return self._article_from_row(row) if row else None

    async def find_article(self, id_or_slug: str, chat_id: int | None = None) -> Article | None:
        """An article by numeric id or by slug, as a reader would type either."""
        text = id_or_slug.strip()
        if text.isdecimal() and len(text) < 19:
            return await self.article(int(text), chat_id)
        return await self.article_by_slug(text, chat_id)

    async def article_title(self, article_id: int) -> str | None:
        """Just an article's title: cheap, for confirmations and buttons."""
        row = await self._point_one("SELECT title FROM articles WHERE id = ?", (article_id,))
        return str(row["title"]) if row else None

    async def latest(self, limit: int = 10) -> list[ArticleLine]:
        """The newest articles, by publication (or import) time."""
        rows = await self._point_all(
            "SELECT id, slug, title, published_at, imported_at FROM articles "
            "ORDER BY coalesce(published_at, imported_at) DESC, id DESC LIMIT ?",
            (limit,),
            walks_index=True,
        )
        return [
            ArticleLine(r["id"], r["slug"], r["title"], r["published_at"], r["imported_at"])
            for r in rows
        ]

    async def article_count(self) -> int:
        """How many articles are stored."""
        row = await self._one("SELECT count(*) FROM articles")
        return int(row[0]) if row else 0

    async def source_key(self, article_id: int) -> str | None:
        """The key that names an article across imports."""
        row = await self._one("SELECT source_key FROM articles WHERE id = ?", (article_id,))
        return str(row[0]) if row else None

    # ------------------------------------------------------------------ timelines

    async def timeline(self, article_id: int) -> list[TimelineEvent]:
        """An article's dated events in chronological order."""
        rows = await self._point_all(
            "SELECT * FROM timeline_events WHERE article_id = ? ORDER BY sort_key, id",
            (article_id,),
        )
        return [_event(r) for r in rows]

    async def topic_timeline(self, tag: str, limit: int = 50) -> TopicTimeline:
        """The latest ``limit`` events of the articles tagged ``tag``, in chronological order.

        A big topic's oldest events matter least, so a long timeline keeps its
        end; ``earlier`` says whether older events were left out. (Counting them
        would cost a scan of the whole topic.)
        """
        rows = await self._point_all(
            "WITH latest AS ("
            "  SELECT x.event_id, x.article_id, x.sort_key FROM tags t "
            "  JOIN topic_events x ON x.tag_id = t.id WHERE t.name = :tag "
            "  ORDER BY x.sort_key DESC, x.event_id DESC LIMIT :limit + 1) "
            "SELECT e.*, a.title AS article_title FROM latest l "
            "JOIN timeline_events e ON e.id = l.event_id "
            "JOIN articles a ON a.id = l.article_id "
            "ORDER BY l.sort_key, l.event_id",
            {"tag": tag.strip().lower(), "limit": limit},
        )
        earlier = len(rows) > limit  # one row more than asked: the oldest, left out
        kept = rows[1:] if earlier else rows
        events = tuple(TopicEvent(_event(r), r["article_id"], r["article_title"]) for r in kept)
        return TopicTimeline(tag.strip().lower(), events, earlier)

    async def tag_exists(self, tag: str) -> bool:
        """Whether any article carries this tag."""
        row = await self._point_one(
            "SELECT 1 FROM tags t JOIN article_tags x ON x.tag_id = t.id WHERE t.name = ? LIMIT 1",
            (tag.strip().lower(),),
        )
        return row is not None

    async def popular_tags(self, limit: int = 10) -> list[str]:
        """The tags on the most articles, for suggestions."""
        rows = await self._all(
            "SELECT t.name FROM tags t JOIN article_tags x ON x.tag_id = t.id "
            "GROUP BY t.id ORDER BY count(*) DESC, t.name LIMIT ?",
            (limit,),
        )
        return [r["name"] for r in rows]

    # ------------------------------------------------------------------ comments

    async def comment_count(self, article_id: int, chat_id: int | None) -> int:
        """Visible comments on an article that this chat may see."""
        row = await self._point_one(
            f"SELECT {_VISIBLE_COUNT} AS total FROM articles a WHERE a.id = :article",
            {"article": article_id, **rule.params(chat_id)},
        )
        return int(row[0]) if row else 0

    async def comment_page(
        self,
        article_id: int,
        page: int,
        chat_id: int | None,
        per_page: int = COMMENTS_PER_PAGE,
    ) -> CommentPage:
        """One page of top-level comments with their replies, as ``chat_id`` may see them.

        Pages are found by key, not OFFSET: top-level comments carry a dense
        position ``seq``, so page N starts after position (N-1)*per_page plus
        the few positions this chat does not see, which a partial index lists.
        """
        params = {"article": article_id, **rule.params(chat_id)}
        article = await self._point_one(
            f"SELECT a.title, a.next_seq, {_VISIBLE_COUNT} AS total, "
            # The few exceptions, by their partial index (a plain index on article_id
            # would walk the article's every comment).
            "  (SELECT json_group_array(c.seq) "
            "   FROM comments c INDEXED BY comments_top_level_exceptions "
            "   WHERE c.article_id = :article AND c.parent_id IS NULL "
            f"    AND NOT ({rule.counted_everywhere('c')}) "
            f"    AND NOT {rule.shown_sql('c')}) AS unseen "
            "FROM articles a WHERE a.id = :article",
            params,
        )
        if article is None:
            raise NotFound(f"no article {article_id}")
        unseen = sorted(json.loads(article["unseen"]))
        threads = article["next_seq"] - len(unseen)
        pages = max(1, -(-threads // per_page))
        page = min(max(1, page), pages)
        cursor = (page - 1) * per_page
        for seq in unseen:
            if seq > cursor:
                break
            cursor += 1
        # The page's top-level comments and every reply under them, in one round trip.
        rows = await self._point_all(
            "WITH tops AS ("
            f"  SELECT c.id FROM comments c WHERE c.article_id = :article "
            f"  AND c.parent_id IS NULL AND c.seq > :after AND {rule.shown_sql('c')} "
            "  ORDER BY c.seq LIMIT :limit) "
            f"SELECT {_COMMENT_COLUMNS} FROM comments "
            "WHERE id IN tops OR (root_id IN tops AND parent_id IS NOT NULL) "
            "ORDER BY parent_id IS NOT NULL, seq, id",
            {**params, "after": cursor, "limit": per_page},
        )
        tops = [row for row in rows if row["parent_id"] is None]
        replies = [row for row in rows if row["parent_id"] is not None]
        comments: list[Comment] = []
        if tops:
            children: dict[int, list[Row]] = {}
            for reply in replies:
                children.setdefault(reply["parent_id"], []).append(reply)

            def keeps(row: Row) -> bool:
                """Shown itself, or a placeholder above a reply that is shown."""
                if not rule.reaches(row["seen_in"], chat_id):
                    return False
                return row["status"] == "visible" or any(
                    keeps(child) for child in children.get(row["id"], ())
                )

            def walk(row: Row, depth: int) -> None:
                comments.append(_comment(row, depth))
                for child in children.get(row["id"], ()):
                    if keeps(child):
                        walk(child, depth + 1)

            for top in tops:
                walk(top, 0)
        return CommentPage(
            article_id, article["title"], page, pages, article["total"], tuple(comments)
        )

    async def comment(self, comment_id: int) -> Comment | None:
        """A comment by id, whoever may see it (callers check ``visible_in``)."""
        row = await self._point_one(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = ?", (comment_id,)
        )
        return _comment(row) if row else None

    async def last_message_id(self, chat_id: int) -> int:
        """The highest Telegram message id a stored comment came from in a chat (0 if none)."""
        row = await self._one("SELECT max(message_id) FROM comments WHERE chat_id = ?", (chat_id,))
        return int(row[0]) if row and row[0] is not None else 0

    async def comment_by_message(self, chat_id: int, message_id: int) -> Comment | None:
        """The comment that came from this Telegram message, if any."""
        row = await self._point_one(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        )
        return _comment(row) if row else None

    @staticmethod
    def visible_in(comment: Comment, chat_id: int | None) -> bool:
        """Whether a chat may read this comment's text (``storage.visibility``'s rule)."""
        return rule.visible_in(comment, chat_id)

    async def add_comment(
        self,
        *,
        article_id: int,
        body: str,
        author: str,
        user_id: int | None,
        chat_id: int | None,
        message_id: int | None,
        visibility: Visibility,
        parent_id: int | None = None,
        now: str | None = None,
    ) -> tuple[Comment, bool]:
        """Store a comment from the chat and commit it; (comment, False) if it was already stored.

        A redelivered Telegram update carries the same (chat_id, message_id):
        the comment stored the first time comes back and nothing is written.
        """
        return await self.post_comment(
            article_id=article_id,
            parent_id=parent_id,
            body=body,
            author=author,
            user_id=user_id,
            chat=None,
            chat_id=chat_id,
            message_id=message_id,
            visibility=visibility,
            now=now,
        )

    async def post_comment(
        self,
        *,
        article_id: int,
        parent_id: int | None,
        body: str,
        author: str,
        user_id: int | None,
        chat: tuple[str, str | None] | None,
        chat_id: int | None,
        message_id: int | None,
        visibility: Visibility,
        now: str | None = None,
        then: Callable[[Connection, Comment], Any] | None = None,
    ) -> tuple[Comment, bool]:
        """A comment from the chat, in one write on the database thread: its author's name
        (and ``chat``'s type and title) recorded, the comment stored and read back, and
        ``then(connection, comment)`` run in the same transaction (the claim of its
        confirmation, say: committed with the comment or not at all).

        (comment, False) if its Telegram message was stored before (a redelivery).
        """
        if message_id is not None and chat_id is not None:
            existing = await self.comment_by_message(chat_id, message_id)
            if existing is not None:
                return existing, False
        comment, created = await self.write_once(
            self._post_comment,
            dict(
                article_id=article_id,
                parent_id=parent_id,
                author=author,
                user_id=user_id,
                origin="chat",
                chat_id=chat_id,
                message_id=message_id,
                visibility=visibility,
                body=body,
                created_at=now or utc_now(),
                import_key=message_key(chat_id, message_id),
            ),
            chat,
            then,
        )
        return comment, created

    def _post_comment(
        self,
        conn: Connection,
        fields: dict[str, Any],
        chat: tuple[str, str | None] | None,
        then: Callable[[Connection, Comment], Any] | None,
    ) -> tuple[Comment, bool]:
        chat_id, message_id = fields["chat_id"], fields["message_id"]
        select = f"SELECT {_COMMENT_COLUMNS} FROM comments"
        if message_id is not None and chat_id is not None:
            existing: Row | None = conn.execute(
                f"{select} WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
            ).fetchone()
            if existing is not None:  # stored since the caller looked
                return _comment(existing), False
        if fields["user_id"] is not None:
            self._save_user(conn, fields["user_id"], clean_line(fields["author"]) or "?")
        if chat is not None and chat_id is not None:
            self._save_chat(conn, chat_id, *chat)
        comment_id = self._insert_comment(conn, **fields)
        comment = _comment(conn.execute(f"{select} WHERE id = ?", (comment_id,)).fetchone())
        if then is not None:
            then(conn, comment)
        return comment, True

    async def edit_comment(self, comment_id: int, body: str, now: str | None = None) -> None:
        """Replace a comment's text and mark it edited (a deleted comment has none to edit)."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE comments SET body = ?, edited_at = ? WHERE id = ? AND status <> 'deleted'",
                (body, now or utc_now(), comment_id),
            )

    async def set_comment_status(self, comment_id: int, status: CommentStatus) -> None:
        """Show, hide or mark deleted a comment; its replies stay.

        Deleting erases the text for good (a hidden comment keeps it, for moderators).
        """
        async with self.transaction() as db:
            await db.execute(
                "UPDATE comments SET status = :status, "
                "body = CASE WHEN :status = 'deleted' THEN '' ELSE body END WHERE id = :id",
                {"status": status, "id": comment_id},
            )

    async def recent_comment_count(self, user_id: int, since: str) -> int:
        """How many comments a user posted since a time (for the rate limit)."""
        row = await self._point_one(
            "SELECT count(*) FROM comments WHERE user_id = ? AND created_at >= ?",
            (user_id, since),
        )
        return int(row[0]) if row else 0

    async def is_duplicate(
        self, user_id: int, article_id: int, body: str, since: str, chat_id: int | None
    ) -> bool:
        """Whether the user posted this same text on this article in this chat since a time.

        A comment its author deleted does not count.
        """
        row = await self._point_one(
            "SELECT 1 FROM comments WHERE user_id = ? AND created_at >= ? AND article_id = ? "
            "AND chat_id IS ? AND body = ? AND status <> 'deleted' LIMIT 1",
            (user_id, since, article_id, chat_id, body),
        )
        return row is not None

    async def all_comments(self, article_id: int) -> list[Comment]:
        """Every comment on an article, in id order, whatever its status (for export)."""
        rows = await self._all(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE article_id = ? ORDER BY id",
            (article_id,),
        )
        return [_comment(r) for r in rows]

    # ------------------------------------------------------------------ search

    async def index_comments(self, batch: int = INDEX_BATCH) -> int:
        """Index the comments waiting for search (migration 0011); how many there were.

        Comments posted through the chat wait here a moment, so that each costs its
        post no write to the search index: a batch is one write for all of them.
        """
        if self._point_reader() is not None and "fts_pending" not in self._tables:
            return 0  # a database kept at an older schema (some tests hold one there)
        if await self._point_one("SELECT 1 FROM fts_pending WHERE comment_id > 0 LIMIT 1") is None:
            return 0
        total = 0
        while True:
            done = await self.write_once(self._index_pending, batch)
            total += done
            if done < batch:
                return total

    @staticmethod
    def _index_pending(conn: Connection, batch: int) -> int:
        row = conn.execute(
            "SELECT max(comment_id), count(*) FROM "
            "(SELECT comment_id FROM fts_pending ORDER BY comment_id LIMIT ?)",
            (batch,),
        ).fetchone()
        last, count = row[0], int(row[1])
        if not count:
            return 0
        conn.execute(
            "INSERT INTO comments_fts (rowid, body) SELECT c.id, c.body "
            "FROM fts_pending p JOIN comments c ON c.id = p.comment_id "
            "WHERE p.comment_id <= ? AND c.status = 'visible'",
            (last,),
        )
        conn.execute("DELETE FROM fts_pending WHERE comment_id <= ?", (last,))
        return count

    async def search(self, words: str, chat_id: int | None, limit: int = 10) -> list[SearchHit]:
        """Articles whose title, body or a comment this chat may see match every word.

        Best match first (bm25, a title hit weighing most); one hit per article,
        its snippet from the article's own text when that matches, else from a comment.
        Snippets are made for the winners only.

        Ranking stays cheap on a large corpus: each index offers only its
        ``SEARCH_CANDIDATES`` newest matches (FTS5 walks its doclists in rowid
        order), and bm25, which counts every row holding each word, is used only
        while no word of the query is in more than ``RANK_EXACTLY_UP_TO`` rows of
        an index (then the ranking is exact). A query with a more common word
        ranks the newest matches instead: articles whose title matches, then the
        others that match in their text, then those found through a comment,
        newest first within each.
        """
        query = fts_query(words)
        if not query:
            return []
        with contextlib.suppress(DatabaseFault):  # a read-only file still answers
            await self.index_comments()  # the comments of the last moment too
        visible, visible_params = rule.where_visible(chat_id, "c")
        params = {"q": query, **visible_params, "n": SEARCH_CANDIDATES}
        ranked = await self._on_db_thread(self._rank_matches, visible, params)
        # Rank by each article's best score; show the article's own text when it
        # matches, and a comment only for an article found through its comments.
        best: dict[int, int | None] = {}
        for article_id, comment_id in ranked:
            if article_id not in best:
                best[article_id] = comment_id
            elif comment_id is None:
                best[article_id] = None
        best = dict(list(best.items())[:limit])
        if not best:
            return []
        article_ids = [a for a, c in best.items() if c is None]
        comment_ids = [c for c in best.values() if c is not None]
        snippets: dict[tuple[str, int], str] = {}
        markers = {"q": query, "start": SNIPPET_START, "end": SNIPPET_END}
        for table, column, ids in (
            ("articles_fts", -1, article_ids),
            ("comments_fts", 0, comment_ids),
        ):
            if ids:
                marks = ",".join(str(int(i)) for i in ids)
                for row in await self._all(
                    f"SELECT rowid, snippet({table}, {column}, :start, :end, '…', 16) AS snip "
                    f"FROM {table} WHERE {table} MATCH :q AND rowid IN ({marks})",
                    markers,
                ):
                    snippets[(table, row["rowid"])] = row["snip"] or ""
        marks = ",".join(str(int(a)) for a in best)
        titles = {
            row["id"]: row["title"]
            for row in await self._all(f"SELECT id, title FROM articles WHERE id IN ({marks})")
        }
        return [
            SearchHit(
                article_id,
                titles.get(article_id, ""),
                snippets.get(
                    ("comments_fts", comment_id) if comment_id else ("articles_fts", article_id),
                    "",
                ),
                in_comment=comment_id is not None,
            )
            for article_id, comment_id in best.items()
            if article_id in titles
        ]

    def _rank_matches(
        self, conn: Connection, visible: str, params: dict[str, Any]
    ) -> list[tuple[int, int | None]]:
        """(article id, comment id or None) of the matches, best first (see ``search``)."""
        words = _SEARCH_WORD.findall(params["q"])
        if all(
            _fetch_one(
                conn,
                f"SELECT count(*) FROM (SELECT rowid FROM {table} WHERE {table} MATCH ? "
                f"LIMIT {RANK_EXACTLY_UP_TO + 1})",
                (f'"{word}"',),
            )[0]
            <= RANK_EXACTLY_UP_TO
            for table in ("articles_fts", "comments_fts")
            for word in words
        ):
            rows = conn.execute(
                "SELECT article_id, comment_id, score FROM ("
                "  SELECT rowid AS article_id, NULL AS comment_id, "
                "    bm25(articles_fts, 10.0, 1.0) AS score "
                "  FROM articles_fts WHERE articles_fts MATCH :q ORDER BY rowid DESC LIMIT :n"
                ") UNION ALL SELECT article_id, comment_id, score FROM ("
                "  SELECT c.article_id, c.id AS comment_id, bm25(comments_fts) AS score "
                "  FROM comments_fts JOIN comments c ON c.id = comments_fts.rowid "
                f"  WHERE comments_fts MATCH :q AND {visible} "
                "  ORDER BY comments_fts.rowid DESC LIMIT :n"
                ") ORDER BY score, article_id",
                params,
            ).fetchall()
            return [(row[0], row[1]) for row in rows]
        articles = [
            row[0]
            for row in conn.execute(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q "
                "ORDER BY rowid DESC LIMIT :n",
                params,
            )
        ]
        titled: set[int] = set()
        if articles:
            titled = {
                row[0]
                for row in conn.execute(
                    "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :title "
                    "AND rowid >= :oldest",
                    {"title": f"title : ({params['q']})", "oldest": articles[-1]},
                )
            }
        comments = conn.execute(
            "SELECT c.article_id, c.id FROM comments_fts JOIN comments c "
            f"ON c.id = comments_fts.rowid WHERE comments_fts MATCH :q AND {visible} "
            "ORDER BY comments_fts.rowid DESC LIMIT :n",
            params,
        ).fetchall()
        return [
            *((a, None) for a in articles if a in titled),
            *((a, None) for a in articles if a not in titled),
            *((row[0], row[1]) for row in comments),
        ]

    # ------------------------------------------------------------------ chats and users

    async def save_user(self, user_id: int, display_name: str) -> User:
        """Record a user's current display name, also on their comments; returns the user."""
        display_name = clean_line(display_name) or str(user_id)
        banned = await self.write_once(self._save_user, user_id, display_name)
        if banned is None:  # unchanged: the conflict clause updated nothing
            user = await self.user(user_id)
            assert user is not None
            return user
        return User(user_id, display_name, banned)

    @staticmethod
    def _save_user(conn: Connection, user_id: int, display_name: str) -> bool | None:
        """Upsert a user's name (on the database thread); whether banned, None if unchanged."""
        row = conn.execute(
            "INSERT INTO users (id, display_name, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, "
            "updated_at = excluded.updated_at WHERE display_name <> excluded.display_name "
            "RETURNING banned",
            (user_id, display_name, utc_now()),
        ).fetchone()
        if row is None:
            return None
        # New, or renamed: their comments show the name they go by.
        conn.execute(
            "UPDATE comments SET author = ? WHERE user_id = ? AND author <> ?",
            (display_name, user_id, display_name),
        )
        return bool(row[0])

    async def user(self, user_id: int) -> User | None:
        """A user by Telegram id."""
        row = await self._point_one("SELECT * FROM users WHERE id = ?", (user_id,))
        return User(row["id"], row["display_name"], bool(row["banned"])) if row else None

    async def set_banned(
        self, user_id: int, banned: bool, display_name: str = "", chat_id: int | None = None
    ) -> None:
        """Ban or unban a user everywhere, or only in the group ``chat_id``.

        A ban everywhere records the user if the bot has not met them yet.
        """
        async with self.transaction() as db:
            if chat_id is not None and banned:
                await db.execute(
                    "INSERT OR IGNORE INTO chat_bans (chat_id, user_id, banned_at) "
                    "VALUES (?, ?, ?)",
                    (chat_id, user_id, utc_now()),
                )
            elif chat_id is not None:
                await db.execute(
                    "DELETE FROM chat_bans WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
                )
            else:
                await db.execute(
                    "INSERT INTO users (id, display_name, banned, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET banned = excluded.banned",
                    (user_id, clean_line(display_name) or str(user_id), int(banned), utc_now()),
                )

    async def ban_of(
        self, user_id: int, chat_id: int | None
    ) -> Literal["everywhere", "here"] | None:
        """Whether a user is banned from commenting everywhere, in this chat, or not at all."""
        row = await self._point_one(
            "SELECT coalesce((SELECT banned FROM users WHERE id = :user), 0) AS everywhere, "
            "EXISTS (SELECT 1 FROM chat_bans WHERE chat_id IS :chat AND user_id = :user) AS here",
            {"user": user_id, "chat": chat_id},
        )
        if row is not None and row["everywhere"]:
            return "everywhere"
        if row is not None and row["here"]:
            return "here"
        return None

    async def save_chat(self, chat_id: int, chat_type: str, title: str | None) -> Chat:
        """Record a chat the bot has seen; returns it with its settings."""
        row = await self.write_once(self._save_chat, chat_id, chat_type, title)
        if row is None:
            chat = await self.chat(chat_id)
            assert chat is not None
            return chat
        return Chat(
            chat_id, chat_type, title, bool(row["subscribed"]), row["scope"], row["topic_id"]
        )

    @staticmethod
    def _save_chat(
        conn: Connection, chat_id: int, chat_type: str, title: str | None
    ) -> Row | None:
        """Upsert a chat (on the database thread); its settings, None if unchanged."""
        row: Row | None = conn.execute(
            "INSERT INTO chats (id, type, title, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET type = excluded.type, title = excluded.title, "
            "updated_at = excluded.updated_at "
            "WHERE type <> excluded.type OR title IS NOT excluded.title "
            "RETURNING subscribed, scope, topic_id",
            (chat_id, chat_type, title, utc_now()),
        ).fetchone()
        return row

    async def chat(self, chat_id: int) -> Chat | None:
        """A chat by Telegram id."""
        row = await self._point_one("SELECT * FROM chats WHERE id = ?", (chat_id,))
        if row is None:
            return None
        return Chat(
            row["id"],
            row["type"],
            row["title"],
            bool(row["subscribed"]),
            row["scope"],
            row["topic_id"],
        )

    async def move_chat(self, old_id: int, new_id: int) -> int:
        """A group became a supergroup with a new id: its comments, settings and bans follow.

        The moved comments lose their Telegram message ids, which belonged to the
        old chat (the supergroup numbers its messages afresh). Returns how many
        comments moved; moving again does nothing.
        """
        async with self.transaction() as db:
            moved = await db.execute(
                "UPDATE comments SET chat_id = :new, message_id = NULL WHERE chat_id = :old",
                {"old": old_id, "new": new_id},
            )
            await db.execute(  # and so does who sees them
                "UPDATE comments SET seen_in = :new WHERE seen_in = :old",
                {"old": old_id, "new": new_id},
            )
            await db.execute(
                "INSERT INTO chats (id, type, title, subscribed, scope, updated_at) "
                "SELECT :new, 'supergroup', title, subscribed, scope, :now FROM chats "
                "WHERE id = :old "
                "ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, "
                "subscribed = max(subscribed, excluded.subscribed), "
                "updated_at = excluded.updated_at",
                {"old": old_id, "new": new_id, "now": utc_now()},
            )
            await db.execute("UPDATE chats SET subscribed = 0 WHERE id = ?", (old_id,))
            await db.execute(
                "INSERT OR IGNORE INTO chat_bans (chat_id, user_id, banned_at) "
                "SELECT :new, user_id, banned_at FROM chat_bans WHERE chat_id = :old",
                {"old": old_id, "new": new_id},
            )
            await db.execute("DELETE FROM chat_bans WHERE chat_id = ?", (old_id,))
            await db.execute(
                "INSERT OR REPLACE INTO chat_moves (old_id, new_id, moved_at) VALUES (?, ?, ?)",
                (old_id, new_id, utc_now()),
            )
        return moved.rowcount

    async def set_scope(self, chat_id: int, scope: Visibility) -> None:
        """Whether comments posted in a group from now on are public or stay in the group."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE chats SET scope = ?, scope_chosen = 1 WHERE id = ?", (scope, chat_id)
            )

    async def set_subscribed(
        self, chat_id: int, subscribed: bool, topic_id: int | None = None
    ) -> None:
        """Turn pushing new articles to a chat on or off; in a forum, into ``topic_id``."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE chats SET subscribed = ?, topic_id = ? WHERE id = ?",
                (int(subscribed), topic_id if subscribed else None, chat_id),
            )

    async def subscribed_chats(self) -> list[int]:
        """The chats that asked for new articles."""
        rows = await self._all("SELECT id FROM chats WHERE subscribed = 1 ORDER BY id")
        return [r["id"] for r in rows]

    # ------------------------------------------------------------------ moderation

    async def record_moderation(
        self,
        actor_id: int,
        action: str,
        *,
        comment_id: int | None = None,
        user_id: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Write down who did what to which comment or user, and when."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO moderation_actions "
                "(actor_id, action, comment_id, user_id, chat_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (actor_id, action, comment_id, user_id, chat_id, utc_now()),
            )

    # ------------------------------------------------------------------ operations

    async def stats(self) -> dict[str, int]:
        """Counts of everything stored, for ``newsbot stats``."""
        row = await self._one(
            "SELECT "
            "(SELECT count(*) FROM articles) AS articles, "
            "(SELECT count(*) FROM comments) AS comments, "
            "(SELECT count(*) FROM comments WHERE origin = 'chat') AS chat_comments, "
            "(SELECT count(*) FROM comments WHERE status = 'hidden') AS hidden_comments, "
            "(SELECT count(*) FROM comments WHERE status = 'deleted') AS deleted_comments, "
            "(SELECT count(*) FROM timeline_events) AS timeline_events, "
            "(SELECT count(*) FROM tags) AS tags, "
            "(SELECT count(*) FROM chats) AS chats, "
            "(SELECT count(*) FROM chats WHERE subscribed = 1) AS subscribed_chats, "
            "(SELECT count(*) FROM users) AS users, "
            "(SELECT count(*) FROM users WHERE banned = 1) AS banned_users, "
            "(SELECT count(*) FROM chat_bans) AS group_bans"
        )
        assert row is not None
        counts = {key: int(row[key]) for key in row.keys()}  # noqa: SIM118 (Row is not a dict)
        for action_row in await self._all(
            "SELECT action, count(*) AS n FROM moderation_actions GROUP BY action ORDER BY action"
        ):
            counts[f"moderation_{action_row['action']}"] = int(action_row["n"])
        return counts

    async def export_rows(
        self,
    ) -> AsyncIterator[tuple[Article, list[TimelineEvent], list[Comment], str]]:
        """Every article with its timeline, comments and source key, in id order.

        Articles come in batches of ``EXPORT_BATCH``, each batch's timelines and
        comments in one query apiece (the batch is a range of ids).
        """
        last = 0
        while True:
            rows = await self._all(
                f"{_ARTICLE_SELECT} WHERE a.id > :key ORDER BY a.id LIMIT {EXPORT_BATCH}",
                {"key": last, **rule.params(None)},
            )
            if not rows:
                return
            span = {"first": rows[0]["id"], "last": rows[-1]["id"]}
            events: dict[int, list[TimelineEvent]] = {}
            for row in await self._all(
                "SELECT * FROM timeline_events WHERE article_id BETWEEN :first AND :last "
                "ORDER BY article_id, sort_key, id",
                span,
            ):
                events.setdefault(row["article_id"], []).append(_event(row))
            comments: dict[int, list[Comment]] = {}
            for row in await self._all(
                f"SELECT {_COMMENT_COLUMNS} FROM comments "
                "WHERE article_id BETWEEN :first AND :last ORDER BY article_id, id",
                span,
            ):
                comments.setdefault(row["article_id"], []).append(_comment(row))
            for row in rows:
                article = self._article_from_row(row)
                yield (
                    article,
                    events.get(article.id, []),
                    comments.get(article.id, []),
                    row["source_key"],
                )
                last = article.id

    async def backup(self, target: str | Path) -> None:
        """Copy the live database to ``target`` with SQLite's online backup."""
        target_path = Path(target)
        if not str(target).strip():
            raise StorageError("give the backup a file name")
        if await asyncio.to_thread(os.path.lexists, target_path):  # a dangling link too
            raise StorageError(f"{target} already exists; choose a new file name")
        if not await asyncio.to_thread(target_path.parent.is_dir):
            raise StorageError(f"cannot write the backup to {target}: its folder does not exist")
        try:
            async with aiosqlite.connect(str(target_path)) as dest:
                await self.db.backup(dest)
        except (sqlite3.Error, OSError) as exc:
            await asyncio.to_thread(target_path.unlink, missing_ok=True)  # no half backup
            raise StorageError(f"cannot write the backup to {target}: {exc}") from exc
