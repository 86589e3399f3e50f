"""``OfflineRequest``: the PTB transport that answers every call from an ``OfflineBotAPI``."""

from __future__ import annotations

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

from bot.offline.api import OfflineBotAPI
from bot.offline.state import encode


class OfflineRequest(BaseRequest):
    """A PTB transport answering every call from an ``OfflineBotAPI``; no network at all."""

    def __init__(self, api: OfflineBotAPI, *, read_timeout: float | None = 5.0) -> None:
        self.api = api
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout PTB adds to getUpdates' long-poll timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up: there is no connection pool."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer ``.../bot<token>/<method>`` from the offline API as (status, JSON bytes)."""
        *_, token_segment, endpoint = url.split("/")
        if self.api.token is not None and token_segment != f"bot{self.api.token}":
            return 401, encode({"ok": False, "error_code": 401, "description": "Unauthorized"})
        if method != "POST":  # file downloads (Bot.get_file(...).download) are not served
            return 404, encode({"ok": False, "error_code": 404, "description": "Not Found"})
        params = request_data.parameters if request_data is not None else {}
        status, body = await self.api.dispatch(endpoint, params)
        return status, encode(body)
