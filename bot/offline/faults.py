"""Fault planting: make calls fail, stall or crawl, as a real network and Telegram do.

``fail_next`` plants an error answer (a 429 by default) or a network error for the next calls
of a method; ``hold``/``release`` keep calls waiting; ``latency`` (a constructor option) makes
every call take a round trip's time.
"""

from __future__ import annotations

import asyncio
from collections import deque

from telegram.error import NetworkError

from bot.offline.core import ApiCore
from bot.offline.state import JSON, ApiCall, ApiError, Failure


class FaultPlanting(ApiCore):
    """The faults a test plants, and the part of answering a call that applies them."""

    def hold(self, method: str) -> None:
        """Keep calls of ``method`` waiting, recorded but unanswered, until ``release``."""
        self._holds[method.lower()] = asyncio.Event()

    def release(self, method: str) -> None:
        """Answer the held calls of ``method``, and later ones at once."""
        gate = self._holds.pop(method.lower(), None)
        if gate is not None:
            gate.set()

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        network: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail: an API error or a network error.

        A 429 carries ``parameters.retry_after`` (default 1), so PTB raises ``RetryAfter``;
        ``network=True`` makes the transport raise ``telegram.error.NetworkError`` instead.
        """
        error: ApiError | None = None
        if not network:
            parameters: JSON | None = None
            if error_code == 429:
                retry_after = 1 if retry_after is None else retry_after
            if retry_after is not None:
                parameters = {"retry_after": retry_after}
            if description is None:
                description = (
                    f"Too Many Requests: retry after {retry_after}"
                    if error_code == 429
                    else f"Error {error_code}"
                )
            error = ApiError(error_code, description, parameters)
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend(Failure(error, network) for _ in range(times))

    async def _planted(self, call: ApiCall) -> tuple[int, JSON] | None:
        """Wait out holds and latency; then the planted answer for ``call``, if any.

        Raises ``telegram.error.NetworkError`` for a planted network failure.
        """
        method = call.method.lower()
        gate = self._holds.get(method)
        if gate is not None:
            await gate.wait()
        if self.latency:
            await asyncio.sleep(self.latency)
        planted = self._failures.get(method)
        if not planted:
            return None
        failure = planted.popleft()
        if failure.network:
            call.network_error = True
            raise NetworkError(f"offline API: planted network failure in {call.method}")
        assert failure.error is not None
        call.error = failure.error
        return failure.error.error_code, failure.error.to_dict()
