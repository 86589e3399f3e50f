"""Comment sections: pages, posting, editing and the rest of every SQL statement about comments."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Generic, TypeVar

from storage import visibility as rule
from storage.clock import utc_now
from storage.dialect import Dialect
from storage.errors import (
    NotFound,
)
from storage.models import (
    Comment,
    CommentPage,
    CommentStatus,
    Visibility,
)
from storage.people import ChatQueries
from storage.rows import (
    _COMMENT_COLUMNS,
    _VISIBLE_COUNT,
    Connection,
    Row,
    _comment,
    _fetch_one,
    _kept_text,
    insert_row,
    message_key,
)
from storage.text import clean_line

COMMENTS_PER_PAGE = 5
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Posting(Generic[R]):
    """What posting a comment came to: the article's title (None: there is no such
    article), and the comment stored (now, or before: ``created`` False) or the
    refusal the check gave."""

    title: str | None
    comment: Comment | None = None
    created: bool = False
    refusal: R | None = None


@cache
def _page_head_sql(sql: Dialect) -> str:
    """A comments page's article: its title, where its top-level comments end, the
    comments ``:chat`` counts and the top-level ones it does not show."""
    return (
        f"SELECT a.title, a.next_seq, {_VISIBLE_COUNT} AS total, "
        # The few exceptions, by their partial index (a plain index on article_id
        # would walk the article's every comment).
        f"  (SELECT {sql.json_list('c.seq')} "
        f"   FROM comments c {sql.using_index('comments_top_level_exceptions')} "
        "   WHERE c.article_id = :article AND c.parent_id IS NULL "
        f"    AND NOT ({rule.counted_everywhere('c')}) "
        f"    AND NOT {rule.shown_sql('c')}) AS unseen "
        "FROM articles a WHERE a.id = :article"
    )


# The page's top-level comments and every reply under them, in one round trip.
_PAGE_SQL = (
    "WITH tops AS ("
    "  SELECT c.id FROM comments c WHERE c.article_id = :article "
    f"  AND c.parent_id IS NULL AND c.seq > :after AND {rule.shown_sql('c')} "
    "  ORDER BY c.seq LIMIT :limit) "
    f"SELECT {_COMMENT_COLUMNS} FROM comments "
    "WHERE root_id IN (SELECT id FROM tops) "  # a top comment is its thread's root
    "ORDER BY parent_id IS NOT NULL, seq, id"
)


def _title(conn: Connection, article_id: int) -> str | None:
    row = conn.execute("SELECT title FROM articles WHERE id = ?", (article_id,)).fetchone()
    return str(row[0]) if row is not None else None


class CommentQueries(ChatQueries):
    """Comments: read by page or one at a time, posted, edited, hidden, deleted."""

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
        article = await self._point_one(_page_head_sql(self.sql), params)
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
        rows = await self._point_all(_PAGE_SQL, {**params, "after": cursor, "limit": per_page})
        found = [_comment(row) for row in rows]
        children: dict[int, list[Comment]] = {}
        for reply in found:
            if reply.parent_id is not None:
                children.setdefault(reply.parent_id, []).append(reply)

        def keeps(comment: Comment) -> bool:
            """Shown itself, or a placeholder above a reply that is shown."""
            if not rule.reaches(comment.seen_in, chat_id):
                return False
            return comment.status == "visible" or any(
                keeps(child) for child in children.get(comment.id, ())
            )

        comments: list[Comment] = []

        def walk(comment: Comment, depth: int) -> None:
            comments.append(replace(comment, depth=depth) if depth else comment)
            for child in children.get(comment.id, ()):
                if keeps(child):
                    walk(child, depth + 1)

        for top in found:
            if top.parent_id is None:
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
        posting: Posting[None] = await self.post_comment(
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
        if posting.comment is None:
            raise NotFound(f"no article {article_id}")
        return posting.comment, posting.created

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
        check: Callable[[Connection], R | None] | None = None,
        then: Callable[[Connection, Comment, str], Any] | None = None,
    ) -> Posting[R]:
        """A comment from the chat, in one write on the database thread: the article
        found, ``check(connection)`` asked whether it may be posted (a refusal, or None),
        its author's name (and ``chat``'s type and title) recorded, the comment stored and
        read back, and ``then(connection, comment, title)`` run in the same transaction (the
        claim of its confirmation, say: committed with the comment or not at all).

        A Telegram message stored before (a redelivery) comes back, not created again.
        """
        return await self.write_once(
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
            check,
            then,
        )

    def _post_comment(
        self,
        conn: Connection,
        fields: dict[str, Any],
        chat: tuple[str, str | None] | None,
        check: Callable[[Connection], R | None] | None,
        then: Callable[[Connection, Comment, str], Any] | None,
    ) -> Posting[R]:
        chat_id, message_id = fields["chat_id"], fields["message_id"]
        select = f"SELECT {_COMMENT_COLUMNS} FROM comments"
        if message_id is not None and chat_id is not None:
            existing: Row | None = conn.execute(
                f"{select} WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
            ).fetchone()
            if existing is not None:  # a redelivered message: stored the first time
                comment = _comment(existing)
                return Posting(_title(conn, comment.article_id), comment, created=False)
        title = _title(conn, fields["article_id"])
        if title is None:
            return Posting(None)
        refusal = check(conn) if check is not None else None
        if refusal is not None:
            return Posting(title, refusal=refusal)
        if fields["user_id"] is not None:
            self._save_user(conn, fields["user_id"], clean_line(fields["author"]) or "?")
        if chat is not None and chat_id is not None:
            self._save_chat(conn, chat_id, *chat)
        comment_id = self._insert_comment(conn, **fields)
        comment = _comment(conn.execute(f"{select} WHERE id = ?", (comment_id,)).fetchone())
        if then is not None:
            then(conn, comment, title)
        return Posting(title, comment, created=True)

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

    @staticmethod
    def recent_comment_count(conn: Connection, user_id: int, since: str) -> int:
        """How many comments a user posted since a time (for the rate limit), read inside
        a write on the database thread."""
        row = conn.execute(
            "SELECT count(*) FROM comments WHERE user_id = ? AND created_at >= ?",
            (user_id, since),
        ).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def is_duplicate(
        conn: Connection,
        user_id: int,
        article_id: int,
        body: str,
        since: str,
        chat_id: int | None,
    ) -> bool:
        """Whether the user posted this same text on this article in this chat since a time,
        read inside a write on the database thread. A comment its author deleted does not
        count."""
        row = conn.execute(
            "SELECT 1 FROM comments WHERE user_id = ? AND created_at >= ? AND article_id = ? "
            "AND chat_id IS NOT DISTINCT FROM ? AND body = ? AND status <> 'deleted' LIMIT 1",
            (user_id, since, article_id, chat_id, body),
        ).fetchone()
        return row is not None

    async def all_comments(self, article_id: int) -> list[Comment]:
        """Every comment on an article, in id order, whatever its status (for export)."""
        rows = await self._all(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE article_id = ? ORDER BY id",
            (article_id,),
        )
        return [_comment(r) for r in rows]

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
        comment_id = insert_row(
            conn,
            self.sql,
            "comments",
            {
                "id": wanted_id,
                "article_id": article_id,
                "parent_id": parent_id,
                "root_id": root_id,
                "seq": seq,
                "author": author,
                "user_id": user_id,
                "origin": origin,
                "chat_id": chat_id,
                "message_id": message_id,
                "visibility": visibility,
                "body": _kept_text(status, body),
                "created_at": created_at,
                "edited_at": edited_at,
                "status": status,
                "import_key": import_key,
                "seen_in": seen_in,
            },
        )
        if root_id is None:
            conn.execute(
                "UPDATE comments SET root_id = id WHERE id = ? AND root_id IS NULL", (comment_id,)
            )
        return comment_id
