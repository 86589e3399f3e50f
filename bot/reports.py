"""How often the admin chat hears of errors: at most once an interval, repeats counted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

REPORT_INTERVAL = 60.0  # seconds between two reports to ADMIN_CHAT_ID


@dataclass
class AdminReports:
    """When the admin chat last heard of an error, and what happened since, by kind."""

    interval: float = REPORT_INTERVAL
    last_sent: float | None = None
    held: Counter[str] = field(default_factory=Counter)

    def admit(self, kind: str, now: float) -> list[tuple[str, int]] | None:
        """None to hold this error back; else the errors held back since the last report."""
        if self.last_sent is not None and now - self.last_sent < self.interval:
            self.held[kind] += 1
            return None
        self.last_sent = now
        held, self.held = self.held.most_common(), Counter()
        return held
