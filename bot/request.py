"""A request layer that waits out flood limits and retries dropped connections.

It wraps the real transport (``HTTPXRequest`` against Telegram, or the offline
stand-in in tests and ``newsbot chat``), so every Bot API call the bot makes,
from any handler, gets the same treatment in one place.
"""

from __future__ import annotations

import asyncio
import json
import logging

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

TOO_MANY_REQUESTS = 429


class ResilientRequest(BaseRequest):
    """Retries a call after a 429 (as long as Telegram asks) and after a network error."""

    def __init__(
        self,
        inner: BaseRequest,
        *,
        max_retries: int = 3,
        max_wait: float = 60.0,
        backoff: float = 0.5,
    ) -> None:
        self.inner = inner
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff

    @property
    def read_timeout(self) -> float | None:
        """The wrapped transport's read timeout."""
        return self.inner.read_timeout

    async def initialize(self) -> None:
        """Initialise the wrapped transport."""
        await self.inner.initialize()

    async def shutdown(self) -> None:
        """Shut the wrapped transport down."""
        await self.inner.shutdown()

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
        """Send through the wrapped transport, retrying what is safe to retry."""
        endpoint = url.rsplit("/", 1)[-1]
        attempt = 0
        while True:
            try:
                code, payload = await self.inner.do_request(
                    url,
                    method,
                    request_data,
                    read_timeout,
                    write_timeout,
                    connect_timeout,
                    pool_timeout,
                )
            except TimedOut:
                # The request may have reached Telegram: sending it again could duplicate it.
                raise
            except NetworkError as exc:
                if attempt >= self.max_retries or endpoint == "getUpdates":
                    raise
                attempt += 1
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning(
                    "%s: network error (%s), retry %d in %.1fs", endpoint, exc, attempt, delay
                )
                await asyncio.sleep(delay)
                continue
            if code != TOO_MANY_REQUESTS or attempt >= self.max_retries:
                return code, payload
            wait = _retry_after(payload)
            if wait is None or wait > self.max_wait:
                return code, payload
            attempt += 1
            log.warning("%s: flood limit, waiting %ss (retry %d)", endpoint, wait, attempt)
            await asyncio.sleep(wait)


def _retry_after(payload: bytes) -> float | None:
    try:
        value = json.loads(payload)["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None
