"""Whether the database can serve the bot, and what waits in its queues (for monitoring).

Kept to a trivial read and two counts, so that each database engine answers it alike.
"""

from __future__ import annotations

from storage import db
from storage.store import Store


async def check(store: Store) -> str | None:
    """None when the database answers and its schema is the one this newsbot expects;
    otherwise why not, in one line."""
    try:
        version = await db.schema_version(store.db)
    except Exception as exc:  # closed, unreachable, damaged: each is "not healthy"
        return f"the database does not answer: {str(exc) or type(exc).__name__}"
    expected = len(db.migrations())
    if version != expected:
        return f"the database schema is at version {version}, this newsbot expects {expected}"
    return None


async def backlog(store: Store) -> tuple[int, int]:
    """Updates stored and not yet handled, and deliveries queued to be sent."""
    rows = await store.db.execute_fetchall(
        "SELECT (SELECT count(*) FROM inbox WHERE handled_at IS NULL),"
        " (SELECT count(*) FROM deliveries WHERE state = 'queued')"
    )
    waiting, queued = next(iter(rows))
    return int(waiting), int(queued)
