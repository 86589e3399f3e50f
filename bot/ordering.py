"""``ChatOrderedProcessor``: updates from different chats at once, each chat's in order.

python-telegram-bot handles one update at a time unless told otherwise. Against
Telegram every Bot API call is a network round trip, so one slow chat holds up
every other, and the bot serves a few updates a second however light its work.
Fully concurrent handling (``concurrent_updates(True)``) would let a reader's
second message overtake the first: a comment could arrive before the Comment
button's prompt was handled, or an edit before the message it edits.

This processor runs up to ``MAX_CONCURRENT_UPDATES`` updates at once, but those
of one chat strictly one after another, in the order they arrived, and likewise
those of one user (so a reader posting in two groups at once still meets the
comment rate limit, and inline queries keep their order).

Each update, on arrival, takes its place behind the last update of its chat and
of its user, and waits for both before it takes a running slot. So an update
waiting its turn holds no slot, and a busy chat (one waiting out a flood limit,
say) never keeps other chats from running. Every update waits only for older
ones, so none can wait for each other.

With an ``Inbox`` (``bot.inbox``), an update is handled only if it was not
handled before, and is marked handled in the database once it has been; one
whose handling was cancelled (the bot stopping mid-way) stays unhandled, for
the next start.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.inbox import Inbox, chat_and_user

MAX_CONCURRENT_UPDATES = 64  # running at once: far above what Telegram lets one bot send
MAX_WAITING_UPDATES = 10_000  # arrived and not yet finished, running or waiting their turn

Key = tuple[str, int]


def order_keys(update: object) -> list[Key]:
    """What an update keeps its place behind: its chat, and its user."""
    if not isinstance(update, Update):
        return []
    chat, user = chat_and_user(update)
    keys: list[Key] = []
    if chat is not None:
        keys.append(("chat", chat))
    if user is not None:
        keys.append(("user", user))
    return keys


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Concurrent across chats and users, in arrival order within a chat and for a user."""

    __slots__ = ("_last", "_running", "inbox")

    def __init__(
        self,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        max_waiting_updates: int = MAX_WAITING_UPDATES,
        inbox: Inbox | None = None,
    ) -> None:
        super().__init__(max(max_waiting_updates, max_concurrent_updates))
        self.inbox = inbox
        self._running = asyncio.BoundedSemaphore(max_concurrent_updates)
        # The newest update of each chat and user: done once it has been handled.
        self._last: dict[Key, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update once every earlier update of its chat and its user has finished."""
        keys = order_keys(update)
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        earlier = {f for key in keys if (f := self._last.get(key)) is not None}
        for key in keys:
            self._last[key] = finished
        started = False
        try:
            if earlier:
                await asyncio.wait(earlier)  # waits without cancelling them
            if self.inbox is not None and not self.inbox.begin(update):
                return  # handled before: a redelivery, or a copy replayed after a restart
            async with self._running:
                started = True
                try:
                    await coroutine
                except BaseException:
                    if self.inbox is not None:
                        self.inbox.abandon(update)
                    raise
                if self.inbox is not None:
                    await self.inbox.done(update)
        finally:
            if not started and isinstance(coroutine, Coroutine):
                coroutine.close()  # cancelled while waiting: never started, never awaited
            finished.set_result(None)
            for key in keys:
                if self._last.get(key) is finished:
                    del self._last[key]

    @property
    def waiting_chats(self) -> int:
        """How many chats and users have an update running or waiting."""
        return len(self._last)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: the application waits for running updates itself."""
