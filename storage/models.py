"""Frozen dataclasses for everything the corpus holds.

Two families live here:

* what an importer produces (``ParsedArticle`` with its ``Block``s and
  ``ParsedComment``s), before it has a database id;
* what the ``Store`` returns (``Article``, ``Comment``, ``TimelineEvent`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["paragraph", "heading", "bullet"]
Precision = Literal["year", "month", "day"]
Origin = Literal["imported", "chat"]
Visibility = Literal["public", "group"]
CommentStatus = Literal["visible", "hidden", "deleted"]

BLOCK_KINDS: tuple[BlockKind, ...] = ("paragraph", "heading", "bullet")
PRECISIONS: tuple[Precision, ...] = ("year", "month", "day")
QUALIFIERS: tuple[str, ...] = (
    "early", "mid", "late", "spring", "summer", "autumn", "winter", "week"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Block:
    """One piece of an article body: a paragraph, a section heading or a bullet item."""

    kind: BlockKind
    text: str


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """A dated event reported by an article.

    ``date`` is ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` and never claims more
    precision than the text gave: May 2016 is ``2016-05``, never a day. A week
    ("last week") is the day of its Monday with the qualifier ``week``.
    """

    date: str
    precision: Precision
    label: str
    sentence: str
    qualifier: str | None = None

    @property
    def sort_key(self) -> str:
        """A string that sorts events chronologically.

        A whole year sorts before its months, an early/mid/late qualifier
        inside its period, so ``2025`` < ``early 2025-12`` < ``2025-12-03``.
        """
        return timeline_sort_key(self.date, self.qualifier)


_QUALIFIER_RANK = {
    None: "5",
    "week": "4",
    "early": "2",
    "winter": "1",
    "spring": "3",
    "mid": "5",
    "summer": "6",
    "autumn": "8",
    "late": "8",
}


def timeline_sort_key(date: str, qualifier: str | None) -> str:
    """Sort key for an event date with its optional qualifier (see TimelineEvent)."""
    parts = date.split("-")
    year = parts[0].rjust(4, "0")
    month = parts[1] if len(parts) > 1 else "00"
    day = parts[2] if len(parts) > 2 else "00"
    return f"{year}-{month}-{day}-{_QUALIFIER_RANK.get(qualifier, '5')}"


@dataclass(frozen=True, slots=True)
class ParsedComment:
    """A comment as an importer found it.

    Native text and feeds give only ``author`` and ``body``; the JSON Lines
    export carries every field so that a round trip is lossless.
    """

    author: str
    body: str
    created_at: str | None = None
    id: int | None = None
    parent_id: int | None = None
    user_id: int | None = None
    origin: Origin = "imported"
    chat_id: int | None = None
    message_id: int | None = None
    visibility: Visibility = "public"
    status: CommentStatus = "visible"
    edited_at: str | None = None
    key: str | None = None  # the import key an export carries


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    """An article as an importer produced it, ready for ``Store.save_article``.

    ``source_key`` names the article across imports (a feed entry's id or
    link, a text file's title); the store derives the content key from the
    rest, so re-importing the same text changes nothing.
    ``summary`` and ``timeline`` are ``None`` when they are still to be
    computed; the JSON Lines importer fills them in from the export.
    """

    title: str
    blocks: tuple[Block, ...]
    source_key: str
    source: str = ""
    url: str | None = None
    published_at: str | None = None
    tags: tuple[str, ...] = ()
    comments: tuple[ParsedComment, ...] = ()
    summary: str | None = None
    timeline: tuple[TimelineEvent, ...] | None = None
    warnings: tuple[str, ...] = ()
    slug: str | None = None
    imported_at: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article."""

    id: int
    slug: str
    title: str
    blocks: tuple[Block, ...]
    source: str
    url: str | None
    published_at: str | None
    imported_at: str
    summary: str
    tags: tuple[str, ...]
    content_key: str
    comment_count: int = 0


@dataclass(frozen=True, slots=True)
class ArticleLine:
    """One line of a listing: enough to show and open an article."""

    id: int
    slug: str
    title: str
    published_at: str | None
    imported_at: str


@dataclass(frozen=True, slots=True)
class TopicEvent:
    """A timeline event together with the article that reported it."""

    event: TimelineEvent
    article_id: int
    article_title: str


@dataclass(frozen=True, slots=True)
class TopicTimeline:
    """The end of a topic's merged timeline; ``earlier`` when older events were left out."""

    tag: str
    events: tuple[TopicEvent, ...]
    earlier: bool


@dataclass(frozen=True, slots=True)
class Comment:
    """A stored comment. ``depth`` is 0 for a top-level comment."""

    id: int
    article_id: int
    parent_id: int | None
    author: str
    user_id: int | None
    origin: Origin
    chat_id: int | None
    message_id: int | None
    visibility: Visibility
    body: str
    created_at: str
    edited_at: str | None
    status: CommentStatus
    depth: int = 0
    import_key: str | None = None  # what recognises it on re-import (see Store)
    seen_in: int | None = None  # where it is seen: see storage.visibility


@dataclass(frozen=True, slots=True)
class CommentPage:
    """One page of an article's comment section as a given chat may see it.

    ``comments`` holds the page's top-level comments, each followed by its
    replies (depth-first), so it reads as a thread from top to bottom.
    """

    article_id: int
    title: str
    page: int
    pages: int
    total: int
    comments: tuple[Comment, ...]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """An article found by full-text search, with a snippet of why."""

    article_id: int
    title: str
    snippet: str
    in_comment: bool


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat the bot has seen."""

    id: int
    type: str
    title: str | None
    subscribed: bool
    scope: Visibility
    topic_id: int | None = None  # the forum topic new articles go to


@dataclass(frozen=True, slots=True)
class User:
    """A Telegram user the bot has seen."""

    id: int
    display_name: str
    banned: bool


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What ``Store.save_article`` did with an article."""

    article_id: int
    outcome: Literal["new", "updated", "unchanged"]
    warnings: tuple[str, ...] = field(default=())
