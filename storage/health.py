"""Whether the database can serve the bot, and what waits in its queues (for monitoring).

Kept to a trivial read and two counts, so that each database engine answers it alike.
"""

from __future__ import annotations

from storage.store import Store


async def check(store: Store) -> str | None:
    """None when the database answers and its schema is the one this newsbot expects;
    otherwise why not, in one line."""
    try:
        version = await store.schema_version()
    except Exception as exc:  # closed, unreachable, damaged: each is "not healthy"
        return f"the database does not answer: {str(exc) or type(exc).__name__}"
    expected = store.newest_schema_version()
    if version != expected:
        return f"the database schema is at version {version}, this newsbot expects {expected}"
    return None


async def backlog(store: Store) -> tuple[int, int]:
    """Updates stored and not yet handled, and deliveries queued to be sent."""
    row = await store._one(
        "SELECT (SELECT count(*) FROM inbox WHERE handled_at IS NULL),"
        " (SELECT count(*) FROM deliveries WHERE state = 'queued')"
    )
    assert row is not None
    return int(row[0]), int(row[1])
