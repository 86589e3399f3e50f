"""Telegram's flood limits on sending messages, enforced when a test or benchmark asks.

Telegram asks bots to send no more than about 30 messages a second overall, 20 a minute to
one group, and one a second to one chat; past them it answers 429 "Too Many Requests" with
``parameters.retry_after``. ``RateLimits`` keeps sliding windows of the messages sent and
says how long a new one must wait; ``OfflineBotAPI(rate_limits=RateLimits())`` turns it on.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass
class RateLimits:
    """Sliding-window flood limits, and how many 429s they caused."""

    per_second: int = 30  # all chats together
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    methods: frozenset[str] = frozenset({"sendmessage"})  # lower-case method names counted
    refused: int = 0  # 429 answers given
    _overall: deque[float] = field(default_factory=deque)
    _chats: dict[int, deque[float]] = field(default_factory=dict)

    def counts(self, method: str) -> bool:
        """Whether calls of ``method`` are limited."""
        return method.lower() in self.methods

    def wait(self, chat_id: int, *, group: bool, now: float) -> float:
        """Seconds until one more message may go to ``chat_id`` (0 when it may go now)."""
        sent = self._chats.get(chat_id, deque())
        _forget_before(self._overall, now - 1.0)
        _forget_before(sent, now - 60.0)
        waits = [
            _wait(self._overall, self.per_second, 1.0, now),
            _wait(sent, self.per_chat_per_second, 1.0, now),
        ]
        if group:
            waits.append(_wait(sent, self.per_group_per_minute, 60.0, now))
        return max(waits)

    def record(self, chat_id: int, now: float) -> None:
        """Count a message sent to ``chat_id`` at ``now``."""
        self._overall.append(now)
        self._chats.setdefault(chat_id, deque()).append(now)

    def refuse(self, wait: float) -> int:
        """Count a 429 answer; the whole seconds to ask the bot to wait (at least 1)."""
        self.refused += 1
        return max(1, math.ceil(wait))


def _forget_before(times: deque[float], start: float) -> None:
    while times and times[0] <= start:
        times.popleft()


def _wait(times: deque[float], limit: int, window: float, now: float) -> float:
    """How long until fewer than ``limit`` of ``times`` fall in the last ``window`` seconds."""
    recent = [t for t in times if t > now - window]
    if len(recent) < limit:
        return 0.0
    return recent[-limit] + window - now
