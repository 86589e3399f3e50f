"""Who may see a comment: the one rule, in Python and as the SQL that applies it.

The rule
    A comment is posted either for every chat (``visibility`` public) or for
    the group it was posted in (``visibility`` group, ``chat_id`` that group).
    A reply is seen only where its whole thread above it is seen too: a public
    reply under a group-only comment stays in that group, and a reply that
    names another group than its parent's is seen nowhere. A group-only
    comment that names no chat (an import can carry one) is seen nowhere.

    Where a comment is seen is worked out once, when it is stored, and kept in
    ``comments.seen_in``: NULL for every chat, a chat id for that chat alone,
    ``NOWHERE`` (0, which no Telegram chat has) for none. ``audience`` computes
    it; the store writes it, and moves it with a group that becomes a
    supergroup. Nothing ever changes a stored comment's visibility, chat or
    parent otherwise, so the stored value stays true.

    A chat reads a comment's text when the comment is seen there and its status
    is visible. A comment seen there but hidden or deleted shows as a
    placeholder when a reply under it is shown. A chat counts exactly the
    comments it may read. Counts, comment pages, search and answering a
    comment all use ``visible_in`` or the fragments below.

The SQL
    Every fragment reads the chat from the named parameter ``:chat``
    (``params`` builds it); NULL (no chat, as inline mode and the CLI ask) sees
    only what every chat sees. ``articles.comment_count`` keeps the comments
    every chat counts (``counted_everywhere``), kept by triggers written with
    that very fragment in migration 0007 (a test holds them to it); a chat adds
    its own with ``counted_only_here``, by a partial index.
"""

from __future__ import annotations

from typing import Final

from storage.models import Comment, Visibility

EVERY_CHAT: Final = None
NOWHERE: Final = 0
CHAT_PARAM: Final = "chat"


def audience(
    visibility: Visibility | str, chat_id: int | None, within: int | None = EVERY_CHAT
) -> int | None:
    """Where a comment is seen (``seen_in``), given where its parent is seen (``within``)."""
    own = EVERY_CHAT if visibility == "public" else (NOWHERE if chat_id is None else chat_id)
    if within is EVERY_CHAT:
        return own
    if own is EVERY_CHAT or own == within:
        return within
    return NOWHERE


def reaches(seen_in: int | None, chat_id: int | None) -> bool:
    """Whether a comment seen in ``seen_in`` belongs to this chat's view at all."""
    return seen_in is EVERY_CHAT or (
        chat_id is not None and seen_in != NOWHERE and seen_in == chat_id
    )


def visible_in(comment: Comment, chat_id: int | None) -> bool:
    """Whether a chat may read this comment's text."""
    return comment.status == "visible" and reaches(comment.seen_in, chat_id)


def seen_everywhere(comment: Comment) -> bool:
    """Whether every chat sees this comment (else one group at most)."""
    return comment.seen_in is EVERY_CHAT


def params(chat_id: int | None) -> dict[str, int | None]:
    """The parameters the fragments below read."""
    return {CHAT_PARAM: chat_id}


def reaches_sql(alias: str) -> str:
    """SQL for ``reaches``: the comment ``alias`` belongs to the view of ``:chat``."""
    return f"({alias}.seen_in IS NULL OR {alias}.seen_in = :{CHAT_PARAM})"


def visible_sql(alias: str) -> str:
    """SQL for ``visible_in``: ``:chat`` may read the comment ``alias``."""
    return f"({alias}.status = 'visible' AND {reaches_sql(alias)})"


def counted_everywhere(alias: str) -> str:
    """SQL: every chat counts the comment ``alias`` (what ``articles.comment_count`` keeps)."""
    return f"{alias}.seen_in IS NULL AND {alias}.status = 'visible'"


def counted_only_here(alias: str) -> str:
    """SQL: ``:chat`` counts the comment ``alias`` and other chats do not."""
    return f"{alias}.seen_in = :{CHAT_PARAM} AND {alias}.status = 'visible'"


def shown_sql(alias: str) -> str:
    """SQL: ``:chat`` shows the top-level comment ``alias``, itself or as a placeholder.

    A placeholder stands where a later reply in its thread is shown (a reply
    shown in a chat is seen there, and so is every comment above it).
    """
    return (
        f"({reaches_sql(alias)} AND ({alias}.status = 'visible' OR EXISTS ("
        f"SELECT 1 FROM comments r WHERE r.root_id = {alias}.root_id AND r.id > {alias}.id "
        f"AND {visible_sql('r')})))"
    )


def where_visible(chat_id: int | None, alias: str = "c") -> tuple[str, dict[str, int | None]]:
    """The WHERE fragment and parameters: comments ``chat_id`` may read."""
    return visible_sql(alias), params(chat_id)
