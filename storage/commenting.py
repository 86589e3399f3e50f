"""What makes a comment acceptable, written once for new comments and for edits.

``check_text``, ``check_new`` and ``check_edit`` answer with a ``Refusal`` (what is wrong, with
the figures that say so) or None; the bot only turns a refusal into words.
Who may *see* a comment is a separate rule (``storage.visibility``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from storage.clock import utc_now
from storage.models import Comment
from storage.people import Ban
from storage.rows import Connection
from storage.store import Store

RATE_WINDOW = 60  # seconds over which ``Limits.per_minute`` counts
DUPLICATE_WINDOW = 60  # the same text again within this many seconds is a duplicate


@dataclass(frozen=True, slots=True)
class Limits:
    """The settings that bound comments."""

    max_length: int
    per_minute: int


class Reason(Enum):
    """Why a comment was refused."""

    EMPTY = "empty"
    TOO_LONG = "too long"
    BANNED_EVERYWHERE = "banned everywhere"
    BANNED_HERE = "banned here"
    TOO_FAST = "too fast"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused comment: the reason, the text's length and the limit it broke."""

    reason: Reason
    length: int = 0
    limit: int = 0


def check_text(body: str, limits: Limits) -> Refusal | None:
    """Why this (cleaned) text may not be a comment (empty, too long), or None: asked
    first, with no database (a refusal needs no write)."""
    if not body:
        return Refusal(Reason.EMPTY)
    if len(body) > limits.max_length:
        return Refusal(Reason.TOO_LONG, len(body), limits.max_length)
    return None


def _ban_refusal(ban: Ban) -> Refusal | None:
    if ban == "everywhere":
        return Refusal(Reason.BANNED_EVERYWHERE)
    if ban == "here":
        return Refusal(Reason.BANNED_HERE)
    return None


def check_new(
    conn: Connection,
    limits: Limits,
    *,
    user_id: int,
    chat_id: int | None,
    article_id: int,
    body: str,
    now: float,
) -> Refusal | None:
    """Why this comment, its text accepted (``check_text``), may not be posted in this
    chat now, or None when it may.

    It reads inside the write that would post it (``Store.post_comment``'s ``check``):
    one process's writes take turns, so two comments sent at once cannot both slip under
    a limit (across workers, the inbox hands out one user's updates one at a time).
    """
    refusal = _ban_refusal(Store.ban_in(conn, user_id, chat_id))
    if refusal is not None:
        return refusal
    recent = Store.recent_comment_count(conn, user_id, utc_now(now - RATE_WINDOW))
    if recent >= limits.per_minute:
        return Refusal(Reason.TOO_FAST, limit=limits.per_minute)
    since = utc_now(now - DUPLICATE_WINDOW)
    if Store.is_duplicate(conn, user_id, article_id, body, since, chat_id):
        return Refusal(Reason.DUPLICATE)
    return None


async def check_edit(
    store: Store, limits: Limits, *, comment: Comment, chat_id: int | None, body: str
) -> Refusal | None:
    """Why a comment may not take this (cleaned) new text, or None when it may.

    Only its author edits a comment (the message is theirs); a ban stops edits too.
    """
    banned = None
    if comment.user_id is not None:
        banned = _ban_refusal(await store.ban_of(comment.user_id, chat_id))
    return banned or check_text(body, limits)
