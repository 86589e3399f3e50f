"""``Store``: every query the bot and the CLI make, a module a job, joined in one class.

``storage.connection`` (connections, transactions, faults, point reads) is the
base; ``storage.people`` (chats, users, moderation), ``storage.comments`` and
``storage.search`` build on it in that order; this module adds articles,
timelines and what the CLI needs (stats, export, backup). ``storage.rows`` turns
rows into models and holds the SQL pieces they share. Methods return the
dataclasses of ``storage.models``, never rows. Who may see
a comment is the rule of ``storage.visibility``: every query here that shows,
counts or finds comments uses its SQL fragments.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import aiosqlite

from storage import visibility as rule
from storage.clock import utc_now
from storage.errors import (
    StorageError,
    database_fault,
)
from storage.limits import within_limits
from storage.models import (
    Article,
    ArticleLine,
    Comment,
    ParsedArticle,
    ParsedComment,
    SaveResult,
    TimelineEvent,
    TopicEvent,
    TopicTimeline,
)
from storage.rows import (
    _COMMENT_COLUMNS,
    Connection,
    Row,
    _blocks_from_json,
    _blocks_json,
    _comment,
    _event,
    _fetch_one,
    _import_keys,
    _kept_text,
    article_select,
    content_key,
    insert_row,
    slugify,
)
from storage.search import SearchQueries

EXPORT_BATCH = 200


class _ArticleFailed(Exception):
    """An article of a batch saved all at once failed: the batch is saved again, each
    article under a savepoint of its own, so that it fails alone."""


class Store(SearchQueries):
    """Everything the bot and the CLI read from and write to the corpus."""

    # ------------------------------------------------------------------ articles

    async def save_article(self, parsed: ParsedArticle) -> SaveResult:
        """Insert a new article, update a changed one in place, or leave an unchanged one.

        One transaction per article; comments already stored are kept. The
        article is held to ``storage.limits`` first; its comments are known
        again by what the file says, cut or not.
        """
        async with self.transaction():
            return await self._on_db_thread(self._save_indexed, parsed)

    async def save_articles(
        self, articles: Sequence[ParsedArticle]
    ) -> list[SaveResult | Exception]:
        """Save several articles as ``save_article`` would, in one transaction.

        One that fails is rolled back alone and comes back as its exception, in
        its place; the others are saved. They are first saved all at once, with
        no savepoint (SQLite's statements cost a third more while one is open);
        if one fails, all are rolled back and saved again, each under a
        savepoint of its own. (Up to a few hundred at a time: the write lock is
        held.) A fault of the whole transaction (the file full or read-only) is
        raised.
        """
        if self.batches_at_once:  # as nearly always: statements cost less with no savepoint
            try:
                return await self.write_once(self._save_all, articles)
            except _ArticleFailed:
                pass  # rolled back: each article again, under a savepoint of its own
        async with self.transaction():
            return await self._on_db_thread(self._save_each, articles)

    def _save_indexed(self, conn: Connection, parsed: ParsedArticle) -> SaveResult:
        """One article saved, and what it brought indexed for search."""
        result = self._save(conn, parsed)
        self._index_waiting(conn, None)
        return result

    # The writes below run on the database thread, on the sqlite3 connection
    # itself (``_on_db_thread``), inside the caller's transaction: saving an
    # article takes a dozen statements, each far cheaper than a hop to that
    # thread and back.

    def _save_all(
        self, conn: Connection, articles: Sequence[ParsedArticle]
    ) -> list[SaveResult | Exception]:
        """Every article in the caller's transaction, or ``_ArticleFailed`` at the first
        that fails (the caller rolls them all back); then indexed for search."""
        results: list[SaveResult | Exception] = []
        for parsed in articles:
            try:
                results.append(self._save(conn, parsed))
            except Exception as exc:
                if database_fault(exc, self.path) is not None:
                    raise  # the file's fault, not the article's: raised as a DatabaseFault
                raise _ArticleFailed from exc
        self._index_waiting(conn, None)
        return results

    def _save_each(
        self, conn: Connection, articles: Sequence[ParsedArticle]
    ) -> list[SaveResult | Exception]:
        """Each article under a savepoint of its own, so it fails alone; then what they
        brought is indexed for search, all at once (migration 0013 says why)."""
        results: list[SaveResult | Exception] = []
        for parsed in articles:
            conn.execute("SAVEPOINT article")
            try:
                results.append(self._save(conn, parsed))
            except Exception as exc:  # this article only: the others still land
                if database_fault(exc, self.path) is not None:
                    raise  # the file's fault, not the article's: raised as a DatabaseFault
                conn.execute("ROLLBACK TO article")  # fails if SQLite ended the transaction
                results.append(exc)
            conn.execute("RELEASE article")
        self._index_waiting(conn, None)
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
        return insert_row(
            conn,
            self.sql,
            "articles",
            {
                "id": wanted_id,
                "slug": slug,
                "title": parsed.title,
                "body": _blocks_json(parsed.blocks),
                "source": parsed.source,
                "source_key": parsed.source_key,
                "content_key": key,
                "url": parsed.url,
                "published_at": parsed.published_at,
                "imported_at": parsed.imported_at or utc_now(),
                "summary": parsed.summary or "",
            },
        )

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
            conn.execute("INSERT INTO tags (name) VALUES (?) ON CONFLICT DO NOTHING", (tag,))
            conn.execute(
                "INSERT INTO article_tags (article_id, tag_id, position) "
                "SELECT ?, id, ? FROM tags WHERE name = ? ON CONFLICT DO NOTHING",
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
            f"{article_select(self.sql)} WHERE a.id = :key",
            {"key": article_id, **rule.params(chat_id)},
        )
        return self._article_from_row(row) if row else None

    async def article_by_slug(self, slug: str, chat_id: int | None = None) -> Article | None:
        """The article with this slug, or None; ``comment_count`` as ``chat_id`` sees it."""
        row = await self._point_one(
            f"{article_select(self.sql)} WHERE a.slug = :key",
            {"key": slug.lower(), **rule.params(chat_id)},
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
                f"{article_select(self.sql)} WHERE a.id > :key ORDER BY a.id LIMIT {EXPORT_BATCH}",
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
