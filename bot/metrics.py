"""What the bot counts for Prometheus: updates, handling time, backlogs, deliveries, 429s.

Each application owns its registry (not prometheus-client's global one), so several
applications in one process, as in the tests, count apart. ``/metrics`` on the webhook
server (``bot.webserver``) reads the backlogs from the store, then writes
``exposition()``.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from telegram import Update

from storage import Store, health

DELIVERY_RESULTS = ("sent", "failed", "unknown")
EXPOSITION_TYPE = CONTENT_TYPE_LATEST  # the Content-Type of ``exposition()``


class Metrics:
    """The application's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "newsbot_updates", "Updates handled, by kind.", ["kind"], registry=self.registry
        )
        self.update_seconds = Histogram(
            "newsbot_update_seconds", "Time to handle one update.", registry=self.registry
        )
        self.inbox_waiting = Gauge(
            "newsbot_inbox_waiting", "Updates stored and not yet handled.", registry=self.registry
        )
        self.outbox_queued = Gauge(
            "newsbot_outbox_queued", "Deliveries queued to be sent.", registry=self.registry
        )
        self.deliveries = Counter(
            "newsbot_deliveries",
            "Deliveries the outbox finished, by result.",
            ["result"],
            registry=self.registry,
        )
        self.flood_waits = Counter(
            "newsbot_flood_waits", "Flood limits (429) Telegram answered.", registry=self.registry
        )
        for result in DELIVERY_RESULTS:  # shown from the start, at zero
            self.deliveries.labels(result)

    def handled(self, update: object, seconds: float) -> None:
        """Count an update handled in ``seconds``."""
        self.updates.labels(update_kind(update)).inc()
        self.update_seconds.observe(seconds)

    def delivered(self, result: str, count: int = 1) -> None:
        """Count deliveries that ended ``sent``, ``failed`` or ``unknown`` (others are not)."""
        if result in DELIVERY_RESULTS and count:
            self.deliveries.labels(result).inc(count)

    async def read_backlog(self, store: Store) -> None:
        """Set the backlog gauges from the store."""
        waiting, queued = await health.backlog(store)
        self.inbox_waiting.set(waiting)
        self.outbox_queued.set(queued)

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)


def update_kind(update: object) -> str:
    """What an update carries: ``message``, ``callback_query``, ``my_chat_member`` …"""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return str(kind)
    return "other"
