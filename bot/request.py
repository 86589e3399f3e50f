"""The request layer: retries only what is safe to retry, and keeps the pace Telegram asks.

``ResilientRequest`` wraps the real transport (``HTTPXRequest`` against
Telegram, or the offline stand-in in tests and ``newsbot chat``), so every Bot
API call the bot makes, from any handler, gets the same treatment in one place:

* a call that provably never reached Telegram (the connection could not be
  made, or no pooled connection was free) is sent again, a few times, with a
  growing pause; if it still cannot go, it fails as ``NotDelivered``;
* a call cut off after it may have reached Telegram (a read timeout, a dropped
  connection) is never sent again: it fails as ``TimedOut`` or
  ``MaybeDelivered``, and the caller must assume it may have arrived;
* a flood limit (429) is waited out when Telegram asks for a minute or less;
  a longer one surfaces as ``RetryAfter``;
* an answered server error (5xx) means Telegram did not act on the call: it
  fails as ``NotDelivered``, for the caller to send it again later if it owes it.

Exceptions raised here (all ``telegram.error.NetworkError``, so python-telegram-bot
treats them as it treats any network trouble)::

    NetworkError
     ├── NotDelivered     Telegram surely did not act on the call: safe to send again
     ├── MaybeDelivered   the call may have reached Telegram: never send it again
     └── TimedOut         (python-telegram-bot's) likewise, may have reached Telegram

``Pacer`` counts every message the bot sends (through this layer) and makes
the bot's own messages (pushes) wait for room: about 30 a second in all, 20 a
minute in a group, and one a second in a chat (with short bursts, as Telegram
allows). Replies to readers never wait for it, so they go before pushes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

import httpx
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.metrics import Metrics

log = logging.getLogger(__name__)

TOO_MANY_REQUESTS = 429
# Errors of the transport raised before a single byte of the request left.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, ConnectionRefusedError)


class NotDelivered(NetworkError):
    """Telegram surely did not act on the call (no connection, or it answered 5xx)."""


class MaybeDelivered(NetworkError):
    """The connection broke after the call was sent: it may have reached Telegram."""


def never_sent(exc: BaseException) -> bool:
    """Whether a transport error happened before the request could reach Telegram."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, (*_NEVER_SENT, NotDelivered)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _counts_as_message(endpoint: str) -> bool:
    """Calls Telegram's message limits count: sending, copying and editing messages."""
    name = endpoint.lower()
    return name != "sendchataction" and name.startswith(("send", "copy", "forward", "edit"))


class Pacer:
    """Telegram's flood limits, kept by the bot's own messages; replies are only counted.

    ``record`` counts a message that went (any message, from any handler);
    ``push_slot`` waits until one more pushed message fits every limit, then
    counts it. A flood wait Telegram asks for (``pause``) holds every push.
    """

    def __init__(
        self,
        *,
        per_second: int = 30,
        per_group_minute: int = 20,
        chat_burst: int = 6,
        chat_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_pause: float = 60.0,
        margin: float = 0.05,
    ) -> None:
        self.per_second = per_second
        self.per_group_minute = per_group_minute
        self.chat_burst = chat_burst
        self.chat_interval = chat_interval
        self.clock = clock
        self.sleep = sleep
        self.max_pause = max_pause
        self.margin = margin  # seconds added to each window: Telegram counts a little later
        self.waited = 0.0  # seconds pushes spent waiting for room (for benchmarks)
        self._overall: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._chats: dict[int, tuple[float, float]] = {}  # chat -> (tokens, when)
        self._reserved: dict[int, list[float]] = {}  # pushes counted, not yet sent: when
        self._paused_until = 0.0
        self._overall_lock = asyncio.Lock()

    def record(self, chat_id: int | None) -> None:
        """A message is going to ``chat_id`` now: count it. A push counted itself when it
        took its slot; it is moved to now, when it really goes, so the limits follow the
        times Telegram sees even when the push was held up between the two."""
        reserved = self._reserved.get(chat_id) if chat_id is not None else None
        if reserved:
            taken = reserved.pop(0)
            if not reserved:
                del self._reserved[chat_id]  # type: ignore[arg-type]
            now = self.clock()
            self._move(self._overall, taken, now)
            group = self._groups.get(chat_id)  # type: ignore[arg-type]
            if group is not None:
                self._move(group, taken, now)
            return
        self._count(chat_id)

    @staticmethod
    def _move(times: deque[float], taken: float, now: float) -> None:
        with contextlib.suppress(ValueError):  # already out of the window
            times.remove(taken)
        times.append(now)

    def release(self, chat_id: int) -> None:
        """A push that took its slot did not go after all."""
        reserved = self._reserved.get(chat_id)
        if reserved:
            reserved.pop(0)
            if not reserved:
                del self._reserved[chat_id]

    def _count(self, chat_id: int | None) -> float:
        now = self.clock()
        self._overall.append(now)
        if chat_id is None:
            return now
        if chat_id < 0:
            self._groups.setdefault(chat_id, deque()).append(now)
        tokens, _ = self._chat_tokens(chat_id, now)
        self._chats[chat_id] = (tokens - 1, now)
        if len(self._chats) > 50_000:
            self._forget_idle(now)
        return now

    def pause(self, seconds: float) -> None:
        """Telegram asked to wait: hold every push that long (at most ``max_pause``; a
        longer wait postpones only the delivery that met it)."""
        seconds = min(seconds, self.max_pause)
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    async def push_slot(self, chat_id: int) -> None:
        """Wait until a pushed message to ``chat_id`` fits every limit, and count it."""
        while True:
            wait = self._chat_wait(chat_id)
            if wait <= 0:
                async with self._overall_lock:
                    wait = max(self._overall_wait(), self._chat_wait(chat_id))
                    if wait <= 0:
                        self._reserved.setdefault(chat_id, []).append(self._count(chat_id))
                        return
                    await self._sleep(wait)
                continue
            await self._sleep(wait)

    async def _sleep(self, seconds: float) -> None:
        self.waited += seconds
        await self.sleep(seconds)

    def _chat_tokens(self, chat_id: int, now: float) -> tuple[float, float]:
        tokens, when = self._chats.get(chat_id, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - when) / self.chat_interval)
        return tokens, now

    def _chat_wait(self, chat_id: int) -> float:
        """Seconds until this chat (and its group limit) has room for one more message."""
        now = self.clock()
        wait = self._paused_until - now
        tokens, _ = self._chat_tokens(chat_id, now)
        if tokens < 1:
            wait = max(wait, (1 - tokens) * self.chat_interval + self.margin)
        group = self._groups.get(chat_id)
        if group is not None:
            while group and group[0] <= now - 60 - self.margin:
                group.popleft()
            if len(group) >= self.per_group_minute:
                wait = max(wait, group[-self.per_group_minute] + 60 + self.margin - now)
        return wait

    def _overall_wait(self) -> float:
        """Seconds until the bot as a whole has room for one more message."""
        now = self.clock()
        overall = self._overall
        while overall and overall[0] <= now - 1 - self.margin:
            overall.popleft()
        wait = self._paused_until - now
        if len(overall) >= self.per_second:
            wait = max(wait, overall[-self.per_second] + 1 + self.margin - now)
        return wait

    def _forget_idle(self, now: float) -> None:
        for chat_id, (tokens, when) in list(self._chats.items()):
            if tokens + (now - when) / self.chat_interval >= self.chat_burst:
                del self._chats[chat_id]
        for chat_id, group in list(self._groups.items()):
            if not group or group[-1] <= now - 60:
                del self._groups[chat_id]


class WrappedRequest(BaseRequest):
    """A transport that wraps another (HTTPXRequest, or the offline stand-in's) and passes
    calls on; subclasses add what they do around ``do_request``."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner

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
        """Pass the call on to the wrapped transport."""
        return await self.inner.do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )


class ResilientRequest(WrappedRequest):
    """Resends a call only when it never reached Telegram; waits out flood limits."""

    def __init__(
        self,
        inner: BaseRequest,
        *,
        max_retries: int = 3,
        max_wait: float = 60.0,
        backoff: float = 0.5,
        pacer: Pacer | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(inner)
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff
        self.pacer = pacer
        self.metrics = metrics or Metrics()

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
        if self.pacer is not None and _counts_as_message(endpoint):
            self.pacer.record(_chat_id(request_data))
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
            except NetworkError as exc:  # TimedOut included
                if not never_sent(exc):
                    if isinstance(exc, TimedOut | MaybeDelivered):
                        raise
                    # The connection broke mid-call: it may have arrived; never resend.
                    raise MaybeDelivered(f"{endpoint}: {exc}") from exc
                if attempt >= self.max_retries or endpoint == "getUpdates":
                    raise NotDelivered(f"{endpoint}: {exc}") from exc
                attempt += 1
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning(
                    "%s: cannot reach Telegram (%s), retry %d in %.1fs",
                    endpoint,
                    exc,
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            if code == TOO_MANY_REQUESTS:
                self.metrics.flood_waits.inc()
            if code == TOO_MANY_REQUESTS and attempt < self.max_retries:
                wait = _retry_after(payload)
                if wait is not None and wait <= self.max_wait:
                    attempt += 1
                    if self.pacer is not None:
                        self.pacer.pause(wait)
                    log.warning("%s: flood limit, waiting %ss (retry %d)", endpoint, wait, attempt)
                    await asyncio.sleep(wait)
                    continue
            if code >= 500:
                raise NotDelivered(f"{endpoint}: Telegram answered {code}")
            return code, payload


def _chat_id(request_data: RequestData | None) -> int | None:
    if request_data is None:
        return None
    value = request_data.parameters.get("chat_id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdecimal():
        return int(value)
    return None


def _retry_after(payload: bytes) -> float | None:
    try:
        value = json.loads(payload)["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None
