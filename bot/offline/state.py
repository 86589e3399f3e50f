"""What the server holds: users, chats, the records of the call log, the errors it answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

_T = TypeVar("_T")

JSON = dict[str, Any]
Listener = Callable[["ApiCall"], None]


def encode(body: JSON) -> bytes:
    """An answer's body as the Bot API sends it: JSON in UTF-8."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def clone(value: _T) -> _T:
    """A deep copy of JSON data (much faster than copy.deepcopy for it)."""
    copied: _T = json.loads(json.dumps(value))
    return copied


# ---- errors and the call log ------------------------------------------------------------------


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional response parameters."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_dict(self) -> JSON:
        """The error in the Bot API envelope: ``{"ok": false, "error_code": ...}``."""
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    def __repr__(self) -> str:
        return f"ApiError({self.error_code}, {self.description!r})"


def bad_request(reason: str) -> ApiError:
    """A 400 answer with Telegram's ``Bad Request: `` prefix."""
    return ApiError(400, f"Bad Request: {reason}")


@dataclass
class ApiCall:
    """One request the bot made: method, JSON-decoded parameters, and the result or error."""

    method: str
    params: JSON
    result: Any = None
    error: ApiError | None = None
    network_error: bool = False  # the bot got a network error instead of an answer
    dropped: bool = False  # ... after the call was applied (see drop_after_delivery)
    rate_limited: bool = False  # answered 429 by the flood limits (see limits.RateLimits)

    @property
    def ok(self) -> bool:
        """Whether the bot got a successful answer."""
        return self.error is None and not self.network_error


@dataclass
class Failure:
    """A fault planted for one call (see faults.py)."""

    error: ApiError | None = None  # answered instead of the method's answer; nothing applied
    connect: bool = False  # a connect error: the call never reached the server
    drop: str | None = None  # "timeout" or "network": the call is applied, the answer is lost


@dataclass
class Poll:
    """A getUpdates request waiting for updates."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    terminated: bool = False


# ---- users and chats --------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineUser:
    """A Telegram user (or the bot itself) known to the offline API."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        """First and last name, as Telegram clients show them."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_dict(self) -> JSON:
        """The user in Bot API shape (a ``User`` object)."""
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class OfflineChat:
    """A chat: private (id = the user's id), group (negative id) or supergroup (-100...)."""

    id: int
    type: str
    title: str | None = None
    is_forum: bool = False
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    def to_dict(self) -> JSON:
        """The chat in Bot API shape (a ``Chat`` object)."""
        data: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value:
                data[key] = value
        if self.is_forum:
            data["is_forum"] = True
        return data


ChatRef = OfflineChat | int
UserRef = OfflineUser | int


@dataclass
class ChatState:
    """Everything the server holds about one chat."""

    chat: OfflineChat
    next_message_id: int = 1
    messages: dict[int, JSON] = field(default_factory=dict)
    delivered: set[int] = field(default_factory=set)  # message ids the bot received
    left: set[int] = field(default_factory=set)  # users who left (others count as members)
    owner_id: int | None = None
    admin_ids: set[int] = field(default_factory=set)
    topics: dict[int, str] = field(default_factory=dict)
    bot_removed: bool = False  # blocked by the user (private) or kicked (groups)
    migrated_to: int | None = None  # the supergroup this group was upgraded to
    menu_button: JSON | None = None
    linked_chat_id: int | None = None  # a channel's discussion group, or a group's channel
    forwards: dict[int, int] = field(default_factory=dict)  # channel post -> its forward
    bot_posts: set[int] = field(default_factory=set)  # channel posts the bot made (no from)

    def take_message_id(self) -> int:
        """The next message id in this chat (ids are per chat and only grow)."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id
