"""The typed context every handler receives: ``context.store``, ``context.settings``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from storage import Store

STORE_KEY = "store"
SETTINGS_KEY = "settings"
CLOCK_KEY = "clock"


class NewsContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Handler context with the store and settings the application was built with."""

    @property
    def store(self) -> Store:
        """The open corpus store (put in ``bot_data`` by ``post_init`` or by a test)."""
        store: Store = self.bot_data[STORE_KEY]
        return store

    @property
    def settings(self) -> Settings:
        """The validated settings."""
        settings: Settings = self.bot_data[SETTINGS_KEY]
        return settings

    def now(self) -> float:
        """Seconds since the epoch; tests may put their own clock in ``bot_data``."""
        clock: Callable[[], float] = self.bot_data.get(CLOCK_KEY, time.time)
        return clock()


NewsApp = Application[
    ExtBot[None], NewsContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
