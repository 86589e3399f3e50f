"""The news desk's channel: connected channels, their published posts, discussion threads.

Every SQL statement about channels. A connected channel is a chat of type
``channel`` that is subscribed, so new articles reach it as pushes reach any
subscribed chat; what is specific to channels (the posts the bot published, and
the threads of their automatic forwards in the discussion group) lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.clock import utc_now
from storage.models import Visibility
from storage.store import Store


@dataclass(frozen=True, slots=True)
class ChannelPost:
    """An article card the bot published in a channel, and the comment count it shows."""

    channel_id: int
    message_id: int
    article_id: int
    shown_count: int


@dataclass(frozen=True, slots=True)
class Channel:
    """A connected channel."""

    id: int
    title: str | None
    posts: int


async def connect_channel(store: Store, channel_id: int, title: str | None) -> bool:
    """Publish new articles to the channel from now on; False if it already was connected."""
    async with store.transaction() as db:
        cursor = await db.execute(
            "INSERT INTO chats (id, type, title, subscribed, updated_at) "
            "VALUES (?, 'channel', ?, 1, ?) "
            "ON CONFLICT (id) DO UPDATE SET type = 'channel', title = excluded.title, "
            "subscribed = 1, updated_at = excluded.updated_at WHERE chats.subscribed = 0",
            (channel_id, title, utc_now()),
        )
        return cursor.rowcount > 0


async def disconnect_channel(store: Store, channel_id: int) -> bool:
    """Publish nothing more to the channel; False if it was not connected."""
    async with store.transaction() as db:
        cursor = await db.execute(
            "UPDATE chats SET subscribed = 0 WHERE id = ? AND type = 'channel' AND subscribed = 1",
            (channel_id,),
        )
        return cursor.rowcount > 0


async def connected_channels(store: Store) -> list[Channel]:
    """The connected channels, with how many cards each was published."""
    rows = await store._all(
        "SELECT id, title, (SELECT count(*) FROM channel_posts WHERE channel_id = chats.id) "
        "AS posts FROM chats WHERE type = 'channel' AND subscribed = 1 ORDER BY title, id"
    )
    return [Channel(row["id"], row["title"], row["posts"]) for row in rows]


async def record_post(
    store: Store, channel_id: int, message_id: int, article_id: int, shown_count: int
) -> None:
    """Remember a card published in a channel (again: keeps the first record)."""
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO channel_posts (channel_id, message_id, article_id, shown_count, "
            "posted_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (channel_id, message_id, article_id, shown_count, utc_now()),
        )


async def article_of_post(store: Store, channel_id: int, message_id: int) -> int | None:
    """The article a channel post of the bot's shows, if it is one."""
    row = await store._one(
        "SELECT article_id FROM channel_posts WHERE channel_id = ? AND message_id = ?",
        (channel_id, message_id),
    )
    return int(row["article_id"]) if row else None


async def record_thread(
    store: Store, chat_id: int, thread_id: int, article_id: int, channel_id: int
) -> None:
    """A published card arrived in the discussion group: replies to it are its comments."""
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO discussion_threads (chat_id, thread_id, article_id, channel_id) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (chat_id, thread_id, article_id, channel_id),
        )


async def open_thread(
    store: Store, chat_id: int, thread_id: int, channel_id: int, post_id: int
) -> int | None:
    """A channel post's forward (``thread_id`` in the group): its article, its thread kept.

    None when the post is no card of ours.
    """
    article_id = await article_of_post(store, channel_id, post_id)
    if article_id is not None:
        await record_thread(store, chat_id, thread_id, article_id, channel_id)
    return article_id


async def article_of_thread(store: Store, chat_id: int, thread_id: int) -> int | None:
    """The article a discussion thread is about, if it is one of a published card."""
    row = await store._one(
        "SELECT article_id FROM discussion_threads WHERE chat_id = ? AND thread_id = ?",
        (chat_id, thread_id),
    )
    return int(row["article_id"]) if row else None


async def stale_posts(store: Store, limit: int = 100) -> list[ChannelPost]:
    """Published cards whose comment count (what every chat counts) changed since shown."""
    rows = await store._all(
        "SELECT p.channel_id, p.message_id, p.article_id, a.comment_count AS current "
        "FROM channel_posts p JOIN articles a ON a.id = p.article_id "
        "JOIN chats ON chats.id = p.channel_id AND chats.subscribed = 1 "
        "WHERE a.comment_count <> p.shown_count ORDER BY p.posted_at DESC LIMIT ?",
        (limit,),
    )
    return [
        ChannelPost(r["channel_id"], r["message_id"], r["article_id"], r["current"]) for r in rows
    ]


async def set_shown_count(store: Store, channel_id: int, message_id: int, count: int) -> None:
    """The post now shows ``count`` comments."""
    async with store.transaction() as db:
        await db.execute(
            "UPDATE channel_posts SET shown_count = ? WHERE channel_id = ? AND message_id = ?",
            (count, channel_id, message_id),
        )


async def discussion_scope(store: Store, chat_id: int) -> Visibility | None:
    """Who sees a discussion group's comments: everyone, unless its admins chose the group.

    None for a chat that is no discussion group (no card of ours ever arrived there).
    """
    row = await store._point_one(
        "SELECT EXISTS (SELECT 1 FROM discussion_threads WHERE chat_id = :chat) AS discussion, "
        "(SELECT scope FROM chats WHERE id = :chat AND scope_chosen = 1) AS chosen",
        {"chat": chat_id},
    )
    if row is None or not row["discussion"]:
        return None
    if row["chosen"] == "group":
        return "group"
    return "public"
