"""Full-text search over titles, bodies and comments (SQLite FTS5), and its index of comments."""

from __future__ import annotations

import contextlib
import re
from typing import Any, ClassVar

from storage import visibility as rule
from storage.comments import CommentQueries
from storage.errors import (
    DatabaseFault,
)
from storage.models import (
    SearchHit,
)
from storage.rows import (
    Connection,
    _fetch_one,
)

SEARCH_CANDIDATES = 50
RANK_EXACTLY_UP_TO = 1_000  # rows holding a word, for bm25 (see Store.search)
SNIPPET_START = "\x02"
SNIPPET_END = "\x03"
_SEARCH_WORD = re.compile(r"\w+", re.UNICODE)
# A phrase in double quotes, or a word.
_SEARCH_TERM = re.compile(r'"([^"]*)"|(\w+)', re.UNICODE)

INDEX_BATCH = 5_000  # articles, and comments, indexed for search in one write
# The lists of rows waiting for the search index: (list, its key, how they are indexed).
_WAITING = (
    (
        "fts_pending_articles",
        "article_id",
        "INSERT INTO articles_fts (rowid, title, body) SELECT id, title, body "
        "FROM articles_text WHERE id IN "
        "(SELECT article_id FROM fts_pending_articles WHERE article_id <= ?)",
    ),
    (
        "fts_pending",
        "comment_id",
        # CROSS JOIN: the list drives, each comment found by its id (as a JOIN, SQLite
        # walks every comment up to the last one waiting, a million on a large corpus).
        "INSERT INTO comments_fts (rowid, body) SELECT c.id, c.body "
        "FROM fts_pending p CROSS JOIN comments c ON c.id = p.comment_id "
        "WHERE p.comment_id <= ? AND c.status = 'visible'",
    ),
)


def _waiting_lists(conn: Connection) -> list[tuple[str, str, str]]:
    """The lists of ``_WAITING`` this database has (an older schema lacks some)."""
    names = [table for table, _, _ in _WAITING]
    present = {
        row[0]
        for row in conn.execute(
            f"SELECT name FROM sqlite_master WHERE type = 'table' AND name IN "
            f"({', '.join('?' * len(names))})",
            names,
        )
    }
    return [entry for entry in _WAITING if entry[0] in present]


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


class SearchQueries(CommentQueries):
    """Search, ranked, with snippets; and the articles and comments waiting to be indexed."""

    # ------------------------------------------------------------------ search

    async def index_waiting(self, batch: int = INDEX_BATCH) -> int:
        """Index for search the articles and comments waiting for it (migrations 0011 and
        0013); how many there were.

        A save of articles indexes its own before it commits; comments posted through
        the chat wait a moment, so that each costs its post no write to the search
        index: a batch is one write for all of them.
        """
        if self._point_reader() is not None:
            lists = [entry for entry in _WAITING if entry[0] in self._tables]
        else:  # no reader (a store opened on a path it was not given): ask the writer
            lists = await self._on_db_thread(_waiting_lists)
        for table, key, _ in lists:
            if await self._point_one(f"SELECT 1 FROM {table} WHERE {key} > 0 LIMIT 1"):
                break
        else:
            return 0  # nothing waits (or a database kept at an older schema: some tests)
        total = 0
        while True:
            done = await self.write_once(self._index_waiting, batch)
            total += done
            if done < batch:
                return total

    @staticmethod
    def _index_waiting(conn: Connection, batch: int | None) -> int:
        """Index up to ``batch`` waiting rows of each list (all with None), in the caller's
        transaction: one statement for each index. How many rows that was."""
        total = 0
        for table, key, index in _waiting_lists(conn):
            row = conn.execute(
                f"SELECT max({key}), count(*) FROM "
                f"(SELECT {key} FROM {table} ORDER BY {key} LIMIT ?)",
                (-1 if batch is None else batch,),
            ).fetchone()
            last, count = row[0], int(row[1])
            if count:
                conn.execute(index, (last,))
                conn.execute(f"DELETE FROM {table} WHERE {key} <= ?", (last,))
                total += count
        return total

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
            await self.index_waiting()  # the comments of the last moment too
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
        snippets = await self._snippets(
            query,
            [a for a, c in best.items() if c is None],
            [c for c in best.values() if c is not None],
        )
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
                    ("comment", comment_id) if comment_id else ("article", article_id), ""
                ),
                in_comment=comment_id is not None,
            )
            for article_id, comment_id in best.items()
            if article_id in titles
        ]

    async def _snippets(
        self, query: str, article_ids: list[int], comment_ids: list[int]
    ) -> dict[tuple[str, int], str]:
        """("article" or "comment", id): the matching words in a few words of context."""
        snippets: dict[tuple[str, int], str] = {}
        markers = {"q": query, "start": SNIPPET_START, "end": SNIPPET_END}
        for kind, table, column, ids in (
            ("article", "articles_fts", -1, article_ids),
            ("comment", "comments_fts", 0, comment_ids),
        ):
            if ids:
                marks = ",".join(str(int(i)) for i in ids)
                for row in await self._all(
                    f"SELECT rowid, snippet({table}, {column}, :start, :end, '…', 16) AS snip "
                    f"FROM {table} WHERE {table} MATCH :q AND rowid IN ({marks})",
                    markers,
                ):
                    snippets[(kind, row["rowid"])] = row["snip"] or ""
        return snippets

    # The SQL of each step of ``_rank_matches`` (PostgreSQL's store has its own).
    # ``{visible}`` is the visibility rule's fragment for the comment ``c``.
    SEARCH_SQL: ClassVar[dict[str, str]] = {
        # Rows of an index holding one word (the word as ``word_term`` gives it), up to
        # one more than RANK_EXACTLY_UP_TO.
        "articles holding": "SELECT count(*) FROM (SELECT rowid FROM articles_fts "
        f"WHERE articles_fts MATCH ? LIMIT {RANK_EXACTLY_UP_TO + 1})",
        "comments holding": "SELECT count(*) FROM (SELECT rowid FROM comments_fts "
        f"WHERE comments_fts MATCH ? LIMIT {RANK_EXACTLY_UP_TO + 1})",
        # (article, comment or NULL) of the newest :n matches of each index, best first.
        "ranked": "SELECT article_id, comment_id, score FROM ("
        "  SELECT rowid AS article_id, NULL AS comment_id, "
        "    bm25(articles_fts, 10.0, 1.0) AS score "
        "  FROM articles_fts WHERE articles_fts MATCH :q ORDER BY rowid DESC LIMIT :n"
        ") UNION ALL SELECT article_id, comment_id, score FROM ("
        "  SELECT c.article_id, c.id AS comment_id, bm25(comments_fts) AS score "
        "  FROM comments_fts JOIN comments c ON c.id = comments_fts.rowid "
        "  WHERE comments_fts MATCH :q AND {visible} "
        "  ORDER BY comments_fts.rowid DESC LIMIT :n"
        ") ORDER BY score, article_id",
        # The newest :n articles that match, newest first.
        "newest articles": "SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q "
        "ORDER BY rowid DESC LIMIT :n",
        # Of the articles from :oldest on, those whose title matches.
        "title hits": "SELECT rowid FROM articles_fts WHERE articles_fts MATCH "
        "'title : (' || :q || ')' AND rowid >= :oldest",
        # (article, comment) of the newest :n comments that match, newest first.
        "newest comments": "SELECT c.article_id, c.id FROM comments_fts JOIN comments c "
        "ON c.id = comments_fts.rowid WHERE comments_fts MATCH :q AND {visible} "
        "ORDER BY comments_fts.rowid DESC LIMIT :n",
    }

    @staticmethod
    def word_term(word: str) -> str:
        """One word as the count of rows holding it asks for it."""
        return f'"{word}"'

    def _rank_matches(
        self, conn: Connection, visible: str, params: dict[str, Any]
    ) -> list[tuple[int, int | None]]:
        """(article id, comment id or None) of the matches, best first (see ``search``)."""
        sql = self.SEARCH_SQL
        words = _SEARCH_WORD.findall(params["q"])
        if all(
            _fetch_one(conn, sql[f"{kind} holding"], (self.word_term(word),))[0]
            <= RANK_EXACTLY_UP_TO
            for kind in ("articles", "comments")
            for word in words
        ):
            rows = conn.execute(sql["ranked"].format(visible=visible), params).fetchall()
            return [(row[0], row[1]) for row in rows]
        articles = [row[0] for row in conn.execute(sql["newest articles"], params)]
        titled: set[int] = set()
        if articles:
            titled = {
                row[0]
                for row in conn.execute(
                    sql["title hits"], {"q": params["q"], "oldest": articles[-1]}
                )
            }
        comments = conn.execute(sql["newest comments"].format(visible=visible), params).fetchall()
        return [
            *((a, None) for a in articles if a in titled),
            *((a, None) for a in articles if a not in titled),
            *((row[0], row[1]) for row in comments),
        ]
