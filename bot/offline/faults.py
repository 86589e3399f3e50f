"""Fault planting: what a real network and Telegram do to a bot, on demand.

- ``fail_next``: the next calls of a method get an error answer (a 429 by default), or, with
  ``network=True``, a connect error: the call never reached Telegram, nothing was applied.
- ``drop_after_delivery``: the next calls are applied (the message is in the chat) but the
  connection drops before the answer: the bot gets ``TimedOut`` or a ``NetworkError``.
- ``hold``/``release``: calls of a method wait, recorded but unanswered.
- ``redeliver``: an update the bot already fetched is queued again, with its update_id.
- ``latency`` and ``rate_limits`` (constructor options): a round trip's wait on every call,
  and Telegram's flood limits (``limits.py``).

The exceptions raised are the ones PTB's ``HTTPXRequest`` raises against Telegram, with the
same ``httpx`` cause, so code that tells a connect error from a lost answer works on both.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Literal

import httpx
from telegram.error import NetworkError, TimedOut

from bot.offline.core import ApiCore
from bot.offline.state import JSON, ApiCall, ApiError, Failure, clone


class FaultPlanting(ApiCore):
    """The faults a test plants, and the parts of answering a call that apply them."""

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
        """Make the next ``times`` calls of ``method`` fail, before anything is applied.

        An API error answer by default: a 429 carries ``parameters.retry_after`` (default 1),
        so PTB raises ``RetryAfter``. ``network=True`` is a connect error instead: the call
        never reached Telegram, and the transport raises ``NetworkError`` caused by
        ``httpx.ConnectError``.
        """
        if network:
            self._plant(method, times, Failure(connect=True))
            return
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
        self._plant(method, times, Failure(error=ApiError(error_code, description, parameters)))

    def drop_after_delivery(self, method: str, *, timeout: bool = True, times: int = 1) -> None:
        """Apply the next ``times`` calls of ``method``, then lose their answers.

        The message is sent (or edited, ...) as usual, but the bot gets ``TimedOut`` (a read
        timeout, ``timeout=True``) or ``NetworkError`` caused by ``httpx.RemoteProtocolError``
        (the connection closed, ``timeout=False``). Such a call is marked ``dropped``.
        """
        drop: Literal["timeout", "network"] = "timeout" if timeout else "network"
        self._plant(method, times, Failure(drop=drop))

    def redeliver(self, update_id: int) -> JSON:
        """Queue an update again, with its own update_id, as Telegram does until confirmed.

        Only updates queued for getUpdates can come again (not those made with
        ``queue=False``: a test feeding those to the application can feed them twice).

        The next getUpdates whose offset does not confirm it returns it again (a restarted
        bot polls from offset 0); a poller already past it confirms it at once, as on
        Telegram. Returns the update, e.g. to feed it to ``Application.process_update`` again.
        """
        update = self._every_update.get(update_id)
        if update is None:
            raise LookupError(f"no update {update_id} was queued for getUpdates")
        if all(pending["update_id"] != update_id for pending in self._updates):
            self._updates.append(update)
            self._updates.sort(key=lambda pending: int(pending["update_id"]))
            if self._poll is not None:
                self._poll.event.set()
        return clone(update)

    # ---- applying them ------------------------------------------------------------------

    def _plant(self, method: str, times: int, failure: Failure) -> None:
        self._failures.setdefault(method.lower(), deque()).extend([failure] * times)

    async def _fault_for(self, call: ApiCall) -> Failure | None:
        """Wait out holds and latency; then the fault planted for ``call``, if any."""
        method = call.method.lower()
        gate = self._holds.get(method)
        if gate is not None:
            await gate.wait()
        if self.latency:
            await asyncio.sleep(self.latency)
        planted = self._failures.get(method)
        return planted.popleft() if planted else None

    def _fail_before(self, call: ApiCall, failure: Failure) -> tuple[int, JSON]:
        """The planted error answer; raises for a connect error. Nothing is applied."""
        if failure.connect:
            call.network_error = True
            cause = httpx.ConnectError(
                f"offline API: planted connect error in {call.method}; nothing was applied"
            )
            raise NetworkError(f"httpx.ConnectError: {cause}") from cause
        assert failure.error is not None
        call.error = failure.error
        return failure.error.error_code, failure.error.to_dict()

    def _lose_answer(self, call: ApiCall, failure: Failure) -> None:
        """Raise what the bot sees when the connection drops after the call was applied."""
        call.network_error = call.dropped = True
        if failure.drop == "timeout":
            raise TimedOut("Timed out") from httpx.ReadTimeout(
                f"offline API: planted read timeout after {call.method} was applied"
            )
        cause = httpx.RemoteProtocolError("Server disconnected without sending a response.")
        raise NetworkError(f"httpx.RemoteProtocolError: {cause}") from cause

    def _flood_wait(self, call: ApiCall) -> ApiError | None:
        """The 429 the flood limits answer to ``call``, or None when it may go now."""
        limits = self.rate_limits
        if limits is None or not limits.counts(call.method):
            return None
        try:
            state = self._chat_param(call.params)
        except ApiError:
            return None  # the method itself refuses the call
        group = state.chat.type in ("group", "supergroup")
        wait = limits.wait(state.chat.id, group=group, now=self.clock())
        if wait <= 0:
            return None
        call.rate_limited = True
        retry_after = limits.refuse(wait)
        return ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    def _count_sent(self, call: ApiCall) -> None:
        """Count an answered call against the flood limits."""
        limits = self.rate_limits
        if limits is not None and limits.counts(call.method) and isinstance(call.result, dict):
            chat_id = call.result.get("chat", {}).get("id")
            if isinstance(chat_id, int):
                limits.record(chat_id, self.clock())
