"""The typed context every handler receives, and the services the application holds.

``BotData`` is the application's ``bot_data``: one typed field a service instead
of string keys. ``NewsContext`` gives handlers ``context.store``,
``context.settings`` and ``context.now()``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.metrics import Metrics
from bot.reports import AdminReports
from storage import Store
from storage.ingest.sources import Validators

if TYPE_CHECKING:
    from bot.inbox import Inbox
    from bot.outbox import Outbox


@dataclass
class BotData:
    """Everything the application holds for its handlers (PTB makes one with no arguments).

    ``store`` is opened by ``post_init`` (``owns_store``: and closed by
    ``post_shutdown``) or put here by a test; ``settings`` by ``build_application``.
    """

    settings: Settings | None = None
    store: Store | None = None
    owns_store: bool = False
    clock: Callable[[], float] = time.time
    # (chat id, user id) -> (is admin, when asked); see bot.permissions.
    admin_cache: dict[tuple[int, int], tuple[bool, float]] = field(default_factory=dict)
    # Feed URL -> its ETag / Last-Modified, so an unchanged feed costs a 304.
    feed_validators: Validators = field(default_factory=dict)
    feed_task: asyncio.Task[Any] | None = None
    channel_task: asyncio.Task[Any] | None = None  # keeps channel cards' counts current
    index_task: asyncio.Task[Any] | None = None  # indexes new comments for search
    # When ADMIN_CHAT_ID last heard of an error, and the errors held back since.
    admin_reports: AdminReports = field(default_factory=AdminReports)
    inbox: Inbox | None = None  # updates kept until handled (bot.inbox)
    outbox: Outbox | None = None  # messages kept until sent (bot.outbox)
    metrics: Metrics = field(default_factory=Metrics)  # served on /metrics (bot.webserver)

    def open_store(self) -> Store:
        """The store; an error if the application has none yet."""
        if self.store is None:
            raise RuntimeError("the store is not open: post_init opens it, tests set it")
        return self.store

    def valid_settings(self) -> Settings:
        """The settings; an error if the application was built without them."""
        if self.settings is None:
            raise RuntimeError("no settings: build_application sets them")
        return self.settings


class NewsContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """Handler context with the store and settings the application was built with."""

    @property
    def store(self) -> Store:
        """The open corpus store."""
        return self.bot_data.open_store()

    @property
    def settings(self) -> Settings:
        """The validated settings."""
        return self.bot_data.valid_settings()

    def now(self) -> float:
        """Seconds since the epoch; tests may set their own clock in ``bot_data.clock``."""
        return self.bot_data.clock()


NewsApp = Application[ExtBot[None], NewsContext, dict[Any, Any], dict[Any, Any], BotData, Any]
