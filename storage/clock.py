"""The store's timestamps: UTC, to the second, ``2025-12-05T09:30:00Z``, written one way.

Stored as text in this format they sort as they happen, so SQL compares them as strings.
"""

from __future__ import annotations

import time

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now(seconds: float | None = None) -> str:
    """A timestamp: of ``seconds`` since the epoch, or of now."""
    return time.strftime(TIMESTAMP_FORMAT, time.gmtime(seconds))


def from_struct(value: time.struct_time) -> str:
    """A timestamp of a parsed UTC time (feeds give their dates so)."""
    return time.strftime(TIMESTAMP_FORMAT, value)
