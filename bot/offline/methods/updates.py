"""The bot's connection: getMe, getUpdates (long polling), webhooks, logOut and close.

getUpdates follows Telegram: an update is returned by every call until a call with a
higher ``offset`` confirms it; a second long poll terminates the first with 409.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

from bot.offline.core import ApiCore
from bot.offline.state import JSON, ApiError, Poll, bad_request, clone

WEBHOOK_ACTIVE: Final = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_TERMINATED: Final = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
# Telegram sends every update type except these unless allowed_updates names them.
_OPT_IN_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


class UpdateMethods(ApiCore):
    """Who the bot is, and how it receives updates."""

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting for updates."""
        return self._poll is not None

    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return clone(self._updates)

    def take_updates(self) -> list[JSON]:
        """Take the queued updates off the queue, oldest first (as a confirming getUpdates)."""
        taken, self._updates = self._updates, []
        return taken

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = params.get("offset")
        limit = params.get("limit", 100)
        timeout = params.get("timeout", 0)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            limit = 100
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed] or None
        if isinstance(offset, int):
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        found = self._select_updates(limit)
        if found or not isinstance(timeout, int | float) or timeout <= 0:
            return found
        if self._poll is not None:  # the older long poll loses, as on Telegram
            self._poll.terminated = True
            self._poll.event.set()
        poll = Poll()
        self._poll = poll
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(poll.event.wait(), timeout)
        finally:
            if self._poll is poll:
                self._poll = None
        if poll.terminated:
            raise ApiError(409, POLL_TERMINATED)
        return self._select_updates(limit)

    def _select_updates(self, limit: int) -> list[JSON]:
        def allowed(update: JSON) -> bool:
            kind = next(k for k in update if k != "update_id")
            if self._allowed_updates is None:
                return kind not in _OPT_IN_UPDATES
            return kind in self._allowed_updates

        return [clone(u) for u in self._updates if allowed(u)][:limit]

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(params)
        if not str(url).startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {k: v for k, v in params.items() if k != "certificate"}
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook and self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info
