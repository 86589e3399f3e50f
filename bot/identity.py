"""Who speaks in an update: a user, or a chat that a message is sent on behalf of.

Telegram sends a message posted as a channel, or by a group's anonymous admin,
with one shared ``from`` user (``Channel_Bot``, ``GroupAnonymousBot``) and the
real speaker in ``sender_chat``. Authorship, ``/delete``, edits, bans and rate
limits all go by ``Author.id``: the user's id, or that chat's (negative) id.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Chat, ChatFullInfo, Message, Update, User

from storage.limits import MAX_AUTHOR as MAX_NAME
from storage.text import clean_line


@dataclass(frozen=True, slots=True)
class Author:
    """Who a message is from: a user, or a chat speaking for itself (``is_chat``)."""

    id: int
    name: str
    is_chat: bool = False


def display_name(user: User) -> str:
    """A user's name as shown on their comments: full name, else @username."""
    name = clean_line(user.full_name or "")
    if not name and user.username:
        name = f"@{user.username}"
    return name[:MAX_NAME] or f"user {user.id}"


def chat_name(chat: Chat | ChatFullInfo) -> str:
    """A chat's name as shown on the comments it posts: its title, else @username."""
    name = clean_line(chat.title or chat.effective_name or "")
    if not name and chat.username:
        name = f"@{chat.username}"
    return name[:MAX_NAME] or f"chat {chat.id}"


def author_of_message(message: Message) -> Author | None:
    """The author of a message: its sender chat if it speaks for one, else its user."""
    if message.sender_chat is not None:
        return Author(message.sender_chat.id, chat_name(message.sender_chat), is_chat=True)
    if message.from_user is not None:
        return Author(message.from_user.id, display_name(message.from_user))
    return None


def author_of(update: Update) -> Author | None:
    """Who speaks in the update: the message's author, or the user who pressed or asked."""
    message = update.effective_message
    if message is not None and update.callback_query is None:
        return author_of_message(message)
    user = update.effective_user
    return Author(user.id, display_name(user)) if user is not None else None


def speaks_for_chat(update: Update) -> bool:
    """Whether the message was sent as the chat it is in (a group's anonymous admin)."""
    message = update.effective_message
    chat = update.effective_chat
    return bool(
        message is not None
        and chat is not None
        and message.sender_chat is not None
        and message.sender_chat.id == chat.id
    )
