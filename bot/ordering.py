"""``ChatOrderedProcessor``: updates from different chats at once, each chat's in order.

python-telegram-bot handles one update at a time unless told otherwise. Against
Telegram every Bot API call is a network round trip, so one slow chat holds up
every other, and the bot serves a few updates a second however light its work.
Fully concurrent handling (``concurrent_updates(True)``) would let a reader's
second message overtake the first: a comment could arrive before the Comment
button's prompt was handled, or an edit before the message it edits.

This processor runs updates concurrently, up to ``max_concurrent_updates``, but
those of one chat strictly one after another, in the order they arrived, and
likewise those of one user (so a reader posting in two groups at once still
meets the comment rate limit, and inline queries keep their order).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 64  # far above what Telegram lets one bot send in a second


def order_keys(update: object) -> list[tuple[str, int]]:
    """What an update keeps its place behind: its chat, then its user."""
    if not isinstance(update, Update):
        return []
    keys = []
    if update.effective_chat is not None:
        keys.append(("chat", update.effective_chat.id))
    if update.effective_user is not None:
        keys.append(("user", update.effective_user.id))
    return keys


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats and users, in arrival order within a chat and for a user."""

    __slots__ = ("_locks", "_users")

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._users: dict[tuple[str, int], int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update once every earlier update of its chat and its user has finished.

        The chat's turn is always taken before the user's, so two updates never
        wait for each other.
        """
        started = False
        try:
            async with contextlib.AsyncExitStack() as turns:
                for key in order_keys(update):
                    await turns.enter_async_context(self._turn(key))
                started = True
                await coroutine
        finally:
            if not started and isinstance(coroutine, Coroutine):
                coroutine.close()  # cancelled while waiting: never started, never awaited

    @contextlib.asynccontextmanager
    async def _turn(self, key: tuple[str, int]) -> AsyncIterator[None]:
        """Hold ``key``'s lock; first come, first served (as ``asyncio.Lock`` wakes waiters)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    @property
    def waiting_chats(self) -> int:
        """How many chats and users have an update running or waiting."""
        return len(self._locks)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: the application waits for running updates itself."""
