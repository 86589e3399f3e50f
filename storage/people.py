"""Chats, users and moderation: every SQL statement about them."""

from __future__ import annotations

from typing import Literal

from storage.clock import utc_now
from storage.connection import StoreBase
from storage.models import (
    Chat,
    User,
    Visibility,
)
from storage.rows import Connection, Row
from storage.text import clean_line

Ban = Literal["everywhere", "here"] | None

_BAN_SQL = (
    "SELECT coalesce((SELECT banned FROM users WHERE id = :user), 0) AS everywhere, "
    "EXISTS (SELECT 1 FROM chat_bans "
    "WHERE chat_id IS NOT DISTINCT FROM :chat AND user_id = :user) AS here"
)


def _ban(row: Row | None) -> Ban:
    if row is not None and row["everywhere"]:
        return "everywhere"
    if row is not None and row["here"]:
        return "here"
    return None


class ChatQueries(StoreBase):
    """Chats the bot has seen, the users who spoke, bans and the moderation log."""

    # ------------------------------------------------------------------ chats and users

    async def save_user(self, user_id: int, display_name: str) -> User:
        """Record a user's current display name, also on their comments; returns the user."""
        display_name = clean_line(display_name) or str(user_id)
        banned = await self.write_once(self._save_user, user_id, display_name)
        if banned is None:  # unchanged: the conflict clause updated nothing
            user = await self.user(user_id)
            assert user is not None
            return user
        return User(user_id, display_name, banned)

    @staticmethod
    def _save_user(conn: Connection, user_id: int, display_name: str) -> bool | None:
        """Upsert a user's name (on the database thread); whether banned, None if unchanged."""
        row = conn.execute(
            "INSERT INTO users (id, display_name, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, "
            "updated_at = excluded.updated_at WHERE users.display_name <> excluded.display_name "
            "RETURNING banned",
            (user_id, display_name, utc_now()),
        ).fetchone()
        if row is None:
            return None
        # New, or renamed: their comments show the name they go by.
        conn.execute(
            "UPDATE comments SET author = ? WHERE user_id = ? AND author <> ?",
            (display_name, user_id, display_name),
        )
        return bool(row[0])

    async def user(self, user_id: int) -> User | None:
        """A user by Telegram id."""
        row = await self._point_one("SELECT * FROM users WHERE id = ?", (user_id,))
        return User(row["id"], row["display_name"], bool(row["banned"])) if row else None

    async def set_banned(
        self, user_id: int, banned: bool, display_name: str = "", chat_id: int | None = None
    ) -> None:
        """Ban or unban a user everywhere, or only in the group ``chat_id``.

        A ban everywhere records the user if the bot has not met them yet.
        """
        async with self.transaction() as db:
            if chat_id is not None and banned:
                await db.execute(
                    "INSERT INTO chat_bans (chat_id, user_id, banned_at) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (chat_id, user_id, utc_now()),
                )
            elif chat_id is not None:
                await db.execute(
                    "DELETE FROM chat_bans WHERE chat_id = ? AND user_id = ?", (chat_id, user_id)
                )
            else:
                await db.execute(
                    "INSERT INTO users (id, display_name, banned, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET banned = excluded.banned",
                    (user_id, clean_line(display_name) or str(user_id), int(banned), utc_now()),
                )

    async def ban_of(self, user_id: int, chat_id: int | None) -> Ban:
        """Whether a user is banned from commenting everywhere, in this chat, or not at all."""
        return _ban(await self._point_one(_BAN_SQL, {"user": user_id, "chat": chat_id}))

    @staticmethod
    def ban_in(conn: Connection, user_id: int, chat_id: int | None) -> Ban:
        """``ban_of``, read inside a write on the database thread."""
        return _ban(conn.execute(_BAN_SQL, {"user": user_id, "chat": chat_id}).fetchone())

    async def save_chat(self, chat_id: int, chat_type: str, title: str | None) -> Chat:
        """Record a chat the bot has seen; returns it with its settings.

        Its title is kept without control characters (``_save_chat``).
        """
        row = await self.write_once(self._save_chat, chat_id, chat_type, title)
        if row is None:
            chat = await self.chat(chat_id)
            assert chat is not None
            return chat
        return Chat(
            chat_id,
            chat_type,
            row["title"],
            bool(row["subscribed"]),
            row["scope"],
            row["topic_id"],
        )

    @staticmethod
    def _save_chat(
        conn: Connection, chat_id: int, chat_type: str, title: str | None
    ) -> Row | None:
        """Upsert a chat (on the database thread); its settings, None if unchanged.

        Its title is kept without control characters, as every stored text is (a NUL,
        which a group's title may carry, is text PostgreSQL refuses), whichever path
        records the chat: a command, or a comment posted there.
        """
        title = clean_line(title) if title is not None else None
        row: Row | None = conn.execute(
            "INSERT INTO chats (id, type, title, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET type = excluded.type, title = excluded.title, "
            "updated_at = excluded.updated_at "
            "WHERE chats.type <> excluded.type OR chats.title IS DISTINCT FROM excluded.title "
            "RETURNING subscribed, scope, topic_id, title",
            (chat_id, chat_type, title, utc_now()),
        ).fetchone()
        return row

    async def chat(self, chat_id: int) -> Chat | None:
        """A chat by Telegram id."""
        row = await self._point_one("SELECT * FROM chats WHERE id = ?", (chat_id,))
        if row is None:
            return None
        return Chat(
            row["id"],
            row["type"],
            row["title"],
            bool(row["subscribed"]),
            row["scope"],
            row["topic_id"],
        )

    async def move_chat(self, old_id: int, new_id: int) -> int:
        """A group became a supergroup with a new id: its comments, settings and bans follow.

        The moved comments lose their Telegram message ids, which belonged to the
        old chat (the supergroup numbers its messages afresh). Returns how many
        comments moved; moving again does nothing.
        """
        async with self.transaction() as db:
            moved = await db.execute(
                "UPDATE comments SET chat_id = :new, message_id = NULL WHERE chat_id = :old",
                {"old": old_id, "new": new_id},
            )
            await db.execute(  # and so does who sees them
                "UPDATE comments SET seen_in = :new WHERE seen_in = :old",
                {"old": old_id, "new": new_id},
            )
            await db.execute(
                "INSERT INTO chats (id, type, title, subscribed, scope, updated_at) "
                "SELECT :new, 'supergroup', title, subscribed, scope, :now FROM chats "
                "WHERE id = :old "
                "ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, "
                f"subscribed = {self.sql.greatest('chats.subscribed', 'excluded.subscribed')}, "
                "updated_at = excluded.updated_at",
                {"old": old_id, "new": new_id, "now": utc_now()},
            )
            await db.execute("UPDATE chats SET subscribed = 0 WHERE id = ?", (old_id,))
            await db.execute(
                "INSERT INTO chat_bans (chat_id, user_id, banned_at) "
                "SELECT :new, user_id, banned_at FROM chat_bans WHERE chat_id = :old "
                "ON CONFLICT DO NOTHING",
                {"old": old_id, "new": new_id},
            )
            await db.execute("DELETE FROM chat_bans WHERE chat_id = ?", (old_id,))
            await db.execute(
                # Replaced, not updated: its insert trigger moves the queued deliveries.
                "DELETE FROM chat_moves WHERE old_id = ?",
                (old_id,),
            )
            await db.execute(
                "INSERT INTO chat_moves (old_id, new_id, moved_at) VALUES (?, ?, ?)",
                (old_id, new_id, utc_now()),
            )
        return moved.rowcount

    async def set_scope(self, chat_id: int, scope: Visibility) -> None:
        """Whether comments posted in a group from now on are public or stay in the group."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE chats SET scope = ?, scope_chosen = 1 WHERE id = ?", (scope, chat_id)
            )

    async def set_subscribed(
        self, chat_id: int, subscribed: bool, topic_id: int | None = None
    ) -> None:
        """Turn pushing new articles to a chat on or off; in a forum, into ``topic_id``."""
        async with self.transaction() as db:
            await db.execute(
                "UPDATE chats SET subscribed = ?, topic_id = ? WHERE id = ?",
                (int(subscribed), topic_id if subscribed else None, chat_id),
            )

    async def subscribed_chats(self) -> list[int]:
        """The chats that asked for new articles."""
        rows = await self._all("SELECT id FROM chats WHERE subscribed = 1 ORDER BY id")
        return [r["id"] for r in rows]

    # ------------------------------------------------------------------ moderation

    async def record_moderation(
        self,
        actor_id: int,
        action: str,
        *,
        comment_id: int | None = None,
        user_id: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Write down who did what to which comment or user, and when."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO moderation_actions "
                "(actor_id, action, comment_id, user_id, chat_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (actor_id, action, comment_id, user_id, chat_id, utc_now()),
            )
