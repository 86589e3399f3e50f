"""The durable inbox and outbox: every SQL statement about them.

The inbox keeps each Telegram update from the moment it arrives until its
handlers are done with it. The outbox (the ``deliveries`` table) keeps each
message the bot sends on its own or owes a reader, once per chat and key, and
what became of it. Both tables come from migration ``0010_inbox_outbox``; a
trigger there queues every new article for every subscribed chat.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any, Literal

from storage.clock import utc_now
from storage.store import Store

DeliveryKind = Literal["push", "reply"]
DeliveryState = Literal["queued", "sending", "sent", "unknown", "failed", "folded"]
INBOX_KEEP_SECONDS = 2 * 24 * 3600  # longer than Telegram keeps an unconfirmed update
DELIVERIES_KEEP_SECONDS = 30 * 24 * 3600  # what became of a message, for `newsbot stats`


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one chat: an article card (``article_id``) or a ready message."""

    id: int
    chat_id: int
    key: str
    kind: DeliveryKind
    article_id: int | None
    payload: dict[str, Any] | None
    attempts: int


def _delivery(row: Any) -> Delivery:
    payload = json.loads(row["payload"]) if row["payload"] else None
    return Delivery(
        row["id"],
        row["chat_id"],
        row["key"],
        row["kind"],
        row["article_id"],
        payload,
        row["attempts"],
    )


_DELIVERY_COLUMNS = "id, chat_id, key, kind, article_id, payload, attempts"


# ---------------------------------------------------------------------- the inbox


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    """An update as the inbox keeps it: its JSON, and the chat and user it keeps order
    with (``bot.ordering``), either None."""

    update_id: int
    payload: str
    chat_key: int | None = None
    user_key: int | None = None


async def store_updates(store: Store, updates: Sequence[StoredUpdate]) -> set[int]:
    """Write fetched updates in one transaction; the ids already handled.

    An update stored before (a redelivery) is kept as it was.
    """
    if not updates:
        return set()
    now = utc_now()
    ids = [update.update_id for update in updates]
    async with store.transaction() as db:
        await db.executemany(
            "INSERT INTO inbox (update_id, payload, received_at, chat_key, user_key) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(u.update_id, u.payload, now, u.chat_key, u.user_key) for u in updates],
        )
        rows = await db.execute_fetchall(
            "SELECT update_id FROM inbox WHERE handled_at IS NOT NULL AND update_id IN "
            f"({', '.join('?' * len(ids))})",
            ids,
        )
    return {int(row[0]) for row in rows}


async def claim_updates(store: Store, limit: int) -> list[tuple[int, str]]:
    """Take on handling stored updates, oldest first, as (id, JSON): those no live worker
    claimed whose chat and user have no earlier update unhandled. So each is handled by
    one worker, and a chat's (and a user's) one at a time, in update_id order; what a
    worker that died had claimed is taken on by another."""
    async with store.transaction() as db:
        rows = await db.execute_fetchall(
            "UPDATE inbox SET claimed_by = :me WHERE update_id IN ("
            "  SELECT u.update_id FROM inbox u WHERE u.handled_at IS NULL "
            f"  AND {store.gone('u.claimed_by')} "
            "  AND NOT EXISTS (SELECT 1 FROM inbox e WHERE e.handled_at IS NULL "
            "    AND e.update_id < u.update_id "
            "    AND (e.chat_key = u.chat_key OR e.user_key = u.user_key)) "
            f"  ORDER BY u.update_id LIMIT :limit {store.sql.skip_locked}) "
            "RETURNING update_id, payload",
            {"me": store.worker_id, "limit": limit},
        )
    return sorted((int(row[0]), str(row[1])) for row in rows)


async def mark_handled(store: Store, update_ids: Sequence[int]) -> None:
    """Every handler is done with these updates (one transaction for all)."""
    now = utc_now()
    async with store.transaction() as db:
        await db.executemany(
            "UPDATE inbox SET handled_at = ? WHERE update_id = ?",
            [(now, update_id) for update_id in update_ids],
        )


async def unhandled_updates(store: Store) -> list[tuple[int, str]]:
    """Updates stored and not yet handled, oldest first, as (id, JSON)."""
    rows = await store._all(
        "SELECT update_id, payload FROM inbox WHERE handled_at IS NULL ORDER BY update_id"
    )
    return [(int(row[0]), str(row[1])) for row in rows]


async def prune_inbox(store: Store, now: float | None = None) -> int:
    """Forget handled updates older than Telegram would redeliver them; how many."""
    cutoff = utc_now((now or time.time()) - INBOX_KEEP_SECONDS)
    async with store.transaction() as db:
        cursor = await db.execute(
            "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?", (cutoff,)
        )
    return cursor.rowcount


# ---------------------------------------------------------------------- the outbox


async def prune_deliveries(store: Store, now: float | None = None) -> int:
    """Forget finished deliveries older than ``DELIVERIES_KEEP_SECONDS``; how many.

    Queued ones stay whatever their age: they are still owed.
    """
    cutoff = (now or time.time()) - DELIVERIES_KEEP_SECONDS
    async with store.transaction() as db:
        cursor = await db.execute(
            "DELETE FROM deliveries WHERE state <> 'queued' AND created_at < ?", (cutoff,)
        )
    return cursor.rowcount


async def claim_reply(
    store: Store, chat_id: int, key: str, payload: dict[str, Any], now: float
) -> int | None:
    """Take on sending an answer owed to a reader; its delivery id, or None if it was taken
    before (sent, queued to be sent, or possibly sent)."""
    return await store.write_once(claim_in, chat_id, key, payload, now, store.worker_id)


def claim_in(
    conn: Connection,
    chat_id: int,
    key: str,
    payload: dict[str, Any],
    now: float,
    worker: int,
) -> int | None:
    """``claim_reply`` inside a write already open on the database thread (the one that
    stores what the answer confirms, say); ``worker`` sends it (``Store.worker_id``)."""
    row = conn.execute(
        "INSERT INTO deliveries "
        "(chat_id, key, kind, payload, state, attempts, not_before, created_at, claimed_by) "
        "VALUES (?, ?, 'reply', ?, 'sending', 1, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (chat_id, key, json.dumps(payload, ensure_ascii=False), now, now, worker),
    ).fetchone()
    return int(row[0]) if row is not None else None


async def start_sending(store: Store, delivery_id: int) -> bool:
    """Mark a queued delivery as being sent now, by this worker; False if it is no longer
    queued (another worker took it, say)."""
    async with store.transaction() as db:
        cursor = await db.execute(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, claimed_by = ? "
            "WHERE id = ? AND state = 'queued'",
            (store.worker_id, delivery_id),
        )
    return cursor.rowcount == 1


async def mark_sent(store: Store, delivery_id: int, message_id: int, now: float) -> None:
    """Telegram accepted the message: record its id."""
    await mark_sent_many(store, [(delivery_id, message_id, now)])


async def mark_sent_many(store: Store, marks: Sequence[tuple[int, int, float]]) -> None:
    """Record several messages Telegram accepted, (delivery, message id, when), in one write."""

    def mark(conn: Connection) -> None:
        conn.executemany(
            "UPDATE deliveries SET state = 'sent', message_id = ?, sent_at = ?, error = NULL "
            "WHERE id = ?",
            [(message_id, now, delivery_id) for delivery_id, message_id, now in marks],
        )

    await store.write_once(mark)


async def mark_unknown(store: Store, delivery_id: int, error: str) -> None:
    """The message may or may not have arrived (a timeout, a dropped connection): it is
    never sent again."""
    await _finish(store, delivery_id, "unknown", error)


async def mark_failed(store: Store, delivery_id: int, error: str) -> None:
    """Telegram refused the message for good (the chat blocked the bot, say)."""
    await _finish(store, delivery_id, "failed", error)


async def _finish(store: Store, delivery_id: int, state: DeliveryState, error: str) -> None:
    async with store.transaction() as db:
        await db.execute(
            "UPDATE deliveries SET state = ?, error = ? WHERE id = ?",
            (state, error[:500], delivery_id),
        )


async def postpone(
    store: Store, delivery_id: int, not_before: float, error: str, payload: dict[str, Any] | None
) -> None:
    """The message did not go (a long flood wait, Telegram failing): queue it for later.

    A chat's later deliveries wait as long, so they keep their order.
    """
    async with store.transaction() as db:
        row = await db.execute_fetchall(
            "UPDATE deliveries SET state = 'queued', not_before = ?, error = ?, "
            "payload = coalesce(?, payload) WHERE id = ? RETURNING chat_id",
            (
                not_before,
                error[:500],
                json.dumps(payload, ensure_ascii=False) if payload is not None else None,
                delivery_id,
            ),
        )
        for found in row:
            await db.execute(
                f"UPDATE deliveries SET not_before = {store.sql.greatest('not_before', '?')} "
                "WHERE chat_id = ? AND state = 'queued' AND id > ?",
                (not_before, found[0], delivery_id),
            )


async def due_chats(
    store: Store, now: float, settled: float, limit: int
) -> list[tuple[int, bool]]:
    """Chats with a delivery due now, as (chat, whether a reply is owed there), those
    owed replies first.

    A chat's pushes are due once none of them is younger than ``settled`` (a
    burst of imported articles goes out as one round), or the oldest is a
    minute old.
    """
    rows = await store._all(
        "SELECT chat_id, max(CASE WHEN kind = 'reply' THEN 1 ELSE 0 END) AS owed "
        "FROM deliveries WHERE state = 'queued' AND not_before <= :now GROUP BY chat_id "
        "HAVING max(CASE WHEN kind = 'reply' THEN 1 ELSE 0 END) = 1 "
        "OR max(created_at) <= :settled OR min(created_at) <= :minute "
        "ORDER BY owed DESC, min(id) LIMIT :limit",
        {"now": now, "settled": settled, "minute": now - 60, "limit": limit},
    )
    return [(int(row[0]), bool(row[1])) for row in rows]


async def queued_for(store: Store, chat_id: int, now: float) -> list[Delivery]:
    """A chat's queued deliveries that are due, oldest first."""
    rows = await store._all(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries "
        "WHERE chat_id = ? AND state = 'queued' AND not_before <= ? ORDER BY id",
        (chat_id, now),
    )
    return [_delivery(row) for row in rows]


async def fold_pushes(
    store: Store, chat_id: int, folded: Sequence[int], pointer_key: str, text: str
) -> None:
    """Leave these pushed cards out and queue one pointer message in their place."""
    async with store.transaction() as db:
        await db.executemany(
            "UPDATE deliveries SET state = 'folded' WHERE id = ? AND state = 'queued'",
            [(delivery_id,) for delivery_id in folded],
        )
        await db.execute(
            "INSERT INTO deliveries (chat_id, key, kind, payload) "
            "VALUES (?, ?, 'push', ?) ON CONFLICT DO NOTHING",
            (chat_id, pointer_key, json.dumps({"text": text}, ensure_ascii=False)),
        )


@dataclass(frozen=True, slots=True)
class PushTarget:
    """Where a chat's pushes go: whether it still wants them, its type, its forum topic."""

    subscribed: bool
    chat_type: str
    topic_id: int | None


async def push_target(store: Store, chat_id: int) -> PushTarget:
    """Whether pushes may still go to this chat, and how (a channel, a forum topic)."""
    rows = await store._all(
        "SELECT subscribed, type, topic_id FROM chats WHERE id = ?", (chat_id,)
    )
    for row in rows:
        return PushTarget(bool(row[0]), str(row[1]), row[2])
    return PushTarget(False, "private", None)


async def fail_queued_pushes(store: Store, chat_id: int, error: str) -> int:
    """The chat left (unsubscribed, blocked the bot): its queued pushes will not go."""
    async with store.transaction() as db:
        cursor = await db.execute(
            "UPDATE deliveries SET state = 'failed', error = ? "
            "WHERE chat_id = ? AND kind = 'push' AND state = 'queued'",
            (error, chat_id),
        )
    return cursor.rowcount


async def settle_interrupted(store: Store, *, starting: bool = False) -> int:
    """Deliveries left ``sending`` by a worker that is gone (a crash, this one's last run)
    may have arrived: mark them unknown. A live worker's sends in flight are its own,
    except this one's when it is ``starting`` (it has none in flight then)."""
    own = " OR claimed_by = :me" if starting else ""
    async with store.transaction() as db:
        cursor = await db.execute(
            "UPDATE deliveries SET state = 'unknown', error = 'interrupted while sending' "
            f"WHERE state = 'sending' AND ({store.gone('claimed_by')}{own})",
            {"me": store.worker_id},
        )
    return cursor.rowcount


async def delivery(store: Store, chat_id: int, key: str) -> dict[str, Any] | None:
    """One delivery's state, message id and attempts (for tests and the operator)."""
    rows = await store._all(
        "SELECT state, message_id, attempts, error FROM deliveries WHERE chat_id = ? AND key = ?",
        (chat_id, key),
    )
    for row in rows:
        return dict(row)
    return None


async def delivery_counts(store: Store) -> dict[str, int]:
    """Deliveries by state, for ``newsbot stats``: queued, sent, failed and the rest."""
    counts = dict.fromkeys(("queued", "sending", "sent", "unknown", "failed", "folded"), 0)
    rows = await store._all("SELECT state, count(*) FROM deliveries GROUP BY state")
    for state, count in rows:
        counts[str(state)] = int(count)
    return counts
