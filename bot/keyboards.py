"""Inline keyboards and the callback_data codec.

callback_data is ``ACTION:N[:N]`` with short action names and integer
arguments, far below Telegram's 64-byte limit; ``decode`` refuses anything
else, so a stale or forged button is recognised and answered politely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from storage.models import ArticleLine

OPEN = "open"  # show an article card
FULL = "full"  # full text
TIMELINE = "tl"  # an article's timeline
COMMENTS = "cm"  # a page of comments, as a new message
PAGE = "cp"  # a page of comments, editing the message in place
WRITE = "wr"  # start writing a comment on an article
REPLY = "rp"  # start writing a reply to a comment
ACTIONS = {OPEN: 1, FULL: 1, TIMELINE: 1, COMMENTS: 2, PAGE: 2, WRITE: 1, REPLY: 1}
MAX_CALLBACK_BYTES = 64
# Keyboards are immutable once built: the common ones are built once and shared.
KEYBOARD_CACHE = 4096


@dataclass(frozen=True, slots=True)
class ButtonData:
    """A decoded button press."""

    action: str
    args: tuple[int, ...]


def encode(action: str, *args: int) -> str:
    """callback_data for an action and its integer arguments."""
    data = ":".join([action, *(str(int(a)) for a in args)])
    if action not in ACTIONS or len(args) != ACTIONS[action]:
        raise ValueError(f"bad button {data!r}")
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback_data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def pattern(action: str) -> str:
    """The regular expression that callback_data of ``action`` matches (for its handler)."""
    return rf"^{action}(:\d{{1,19}}){{{ACTIONS[action]}}}$"


def decode(data: str | None) -> ButtonData | None:
    """The action and arguments in callback_data, or None if it is not ours."""
    if not data:
        return None
    action, *raw = data.split(":")
    if ACTIONS.get(action) != len(raw):
        return None
    try:
        args = tuple(int(a) for a in raw)
    except ValueError:
        return None
    if any(a < 0 or a > 2**62 for a in args):
        return None
    return ButtonData(action, args)


@lru_cache(maxsize=KEYBOARD_CACHE)
def article_buttons(article_id: int, comment_count: int) -> InlineKeyboardMarkup:
    """The card's buttons: Full text, Timeline, Comments (N), Comment."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Full text", callback_data=encode(FULL, article_id)),
                InlineKeyboardButton("Timeline", callback_data=encode(TIMELINE, article_id)),
            ],
            [
                InlineKeyboardButton(
                    f"Comments ({comment_count})", callback_data=encode(COMMENTS, article_id, 1)
                ),
                InlineKeyboardButton("Comment", callback_data=encode(WRITE, article_id)),
            ],
        ]
    )


def deep_link(bot_username: str, payload: str) -> str:
    """A t.me link that opens the bot and sends it ``/start PAYLOAD``."""
    return f"https://t.me/{bot_username}?start={payload}"


def open_in_bot(bot_username: str, article_id: int) -> InlineKeyboardMarkup:
    """One button that opens the article in the bot (under a shared card)."""
    link = deep_link(bot_username, f"a{article_id}")
    return InlineKeyboardMarkup([[InlineKeyboardButton("Open in the bot", url=link)]])


def channel_buttons(
    bot_username: str, article_id: int, comment_count: int
) -> InlineKeyboardMarkup:
    """Under a card published in a channel: open it, or its comments, in the bot."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "Open in the bot", url=deep_link(bot_username, f"a{article_id}")
                ),
                InlineKeyboardButton(
                    f"💬 Comments ({comment_count})",
                    url=deep_link(bot_username, f"c{article_id}"),
                ),
            ]
        ]
    )


def latest_buttons(articles: Sequence[ArticleLine]) -> InlineKeyboardMarkup | None:
    """One numbered button per listed article, five to a row."""
    if not articles:
        return None
    buttons = [
        InlineKeyboardButton(str(n), callback_data=encode(OPEN, item.id))
        for n, item in enumerate(articles, start=1)
    ]
    return InlineKeyboardMarkup([buttons[i : i + 5] for i in range(0, len(buttons), 5)])


def open_buttons(
    article_ids: Sequence[int], label: str = "Open", *, by_id: bool = False
) -> InlineKeyboardMarkup | None:
    """Buttons that open articles: numbered like a list's lines, or named by article id."""
    if not article_ids:
        return None
    buttons = [
        InlineKeyboardButton(
            f"{label} {article_id if by_id else n}", callback_data=encode(OPEN, article_id)
        )
        for n, article_id in enumerate(article_ids, start=1)
    ]
    return InlineKeyboardMarkup([buttons[i : i + 4] for i in range(0, len(buttons), 4)])


@lru_cache(maxsize=KEYBOARD_CACHE)
def page_buttons(article_id: int, page: int, pages: int) -> InlineKeyboardMarkup:
    """Prev / Next under a comments page (they edit it in place), and Comment."""
    row = []
    if page > 1:
        row.append(
            InlineKeyboardButton("« Prev", callback_data=encode(PAGE, article_id, page - 1))
        )
    if page < pages:
        row.append(
            InlineKeyboardButton("Next »", callback_data=encode(PAGE, article_id, page + 1))
        )
    rows = [row] if row else []
    rows.append(
        [
            InlineKeyboardButton("Comment", callback_data=encode(WRITE, article_id)),
            InlineKeyboardButton("Article", callback_data=encode(OPEN, article_id)),
        ]
    )
    return InlineKeyboardMarkup(rows)


def comment_buttons(article_id: int, comment_id: int) -> InlineKeyboardMarkup:
    """Under a posted or shown comment: Reply to it, or read the article's comments."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Reply", callback_data=encode(REPLY, comment_id)),
                InlineKeyboardButton("Comments", callback_data=encode(COMMENTS, article_id, 1)),
            ]
        ]
    )


def retry_button(article_id: int, parent_id: int | None) -> InlineKeyboardMarkup:
    """Under a refused comment: write it again (a reply to the refusal is the new text)."""
    if parent_id is None:
        button = InlineKeyboardButton("Comment", callback_data=encode(WRITE, article_id))
    else:
        button = InlineKeyboardButton("Reply", callback_data=encode(REPLY, parent_id))
    return InlineKeyboardMarkup([[button]])


_BUTTON_FIELDS = ("text", "url", "callback_data")  # all this project's buttons carry


def as_json(markup: InlineKeyboardMarkup) -> dict[str, Any]:
    """The keyboard as the Bot API's JSON, what ``markup.to_dict()`` gives for this
    project's buttons, at a fraction of its cost (it is kept with owed answers)."""
    return {
        "inline_keyboard": [
            [
                {name: value for name in _BUTTON_FIELDS if (value := getattr(button, name))}
                for button in row
            ]
            for row in markup.inline_keyboard
        ]
    }


def reply_target(markup: InlineKeyboardMarkup | None) -> ButtonData | None:
    """What a message of the bot's is about, read from its buttons.

    A reply to an article card comments on the article (its Comment button);
    a reply to a comment's message answers that comment (its Reply button).
    """
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            data = decode(button.callback_data if isinstance(button.callback_data, str) else None)
            if data is not None and data.action in (WRITE, REPLY):
                return data
    return None
