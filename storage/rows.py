"""Rows as models, and the SQL pieces the store's queries share."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import fields
from functools import cache
from typing import Any, TypeVar

import aiosqlite

from storage import visibility as rule
from storage.dialect import Dialect
from storage.models import (
    Block,
    Comment,
    ParsedArticle,
    ParsedComment,
    TimelineEvent,
)

Row = aiosqlite.Row
Connection = sqlite3.Connection
T = TypeVar("T")


_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


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


def _comment(row: Row) -> Comment:
    """A comment from a row of ``_COMMENT_COLUMNS``, read by position (by name, each
    column is looked for among the names: pages of comments read many)."""
    return Comment(*row)


# A comment's columns, in the order of ``Comment``'s fields; its depth is where a page
# shows it, not stored: 0 as read.
_COMMENT_COLUMNS = (
    "id, article_id, parent_id, author, user_id, origin, chat_id, message_id, "
    "visibility, body, created_at, edited_at, status, 0 AS depth, import_key, seen_in"
)
# What every chat counts is kept by triggers; a group adds its own on the fly.
_VISIBLE_COUNT = f"""
    a.comment_count + (SELECT count(*) FROM comments g WHERE g.article_id = a.id
        AND {rule.counted_only_here("g")})
"""


@cache  # built once per engine: a point read's SQL is looked up by its text
def article_select(sql: Dialect) -> str:
    """An article with its tags (position, name) and the comments a chat (:chat) may see."""
    return f"""
    SELECT a.*, {_VISIBLE_COUNT} AS visible_count,
        (SELECT {sql.json_list(sql.json_array("x.position", "t.name"))}
         FROM article_tags x JOIN tags t ON t.id = x.tag_id
         WHERE x.article_id = a.id) AS tag_list
    FROM articles a
"""


def _fetch_one(conn: Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    """The first row of a query on the sqlite3 connection itself, or None."""
    return conn.execute(sql, params).fetchone()


def insert_row(conn: Connection, sql: Dialect, table: str, values: dict[str, Any]) -> int:
    """Insert a row and return its id; an ``id`` of None lets the database number it.

    An id given outright (an import keeping its ids) moves PostgreSQL's sequence past
    it, so the rows numbered after it do not collide with it.
    """
    if values.get("id") is None:
        values = {name: value for name, value in values.items() if name != "id"}
    names = ", ".join(values)
    marks = ", ".join("?" * len(values))
    row = conn.execute(
        f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id", tuple(values.values())
    ).fetchone()
    if "id" in values and sql.sets_identity:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT max(id) FROM {table}))"
        )
    return int(row[0])
