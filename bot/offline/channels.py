"""Channels and their discussion groups, and messages sent on behalf of a chat.

As the Bot API documents them:

* a post in a channel has no ``from``; its ``sender_chat`` is the channel. A bot
  that administers the channel gets it as a ``channel_post`` update (an edit as
  ``edited_channel_post``), except for the bot's own posts;
* every post is forwarded automatically into the channel's linked discussion
  group: a message from the shared user ``Channel_Bot`` with ``sender_chat`` the
  channel, ``is_automatic_forward`` and a ``forward_origin`` naming the post;
* a reply there belongs to the post's thread: its ``message_thread_id`` is the
  forward's message id, and so is every reply in that thread;
* a message sent as a chat (a channel, or a group's anonymous admin) comes from
  the shared user ``Channel_Bot`` or ``GroupAnonymousBot`` with the real speaker
  in ``sender_chat``.
"""

from __future__ import annotations

from bot.offline.core import CHANNEL_BOT, GROUP_ANONYMOUS_BOT, ApiCore
from bot.offline.entities import clean_and_trim, find_bot_commands
from bot.offline.state import JSON, ChatRef, ChatState, OfflineChat, OfflineUser, clone

__all__ = ["CHANNEL_BOT", "GROUP_ANONYMOUS_BOT", "ChannelActions"]


class ChannelActions(ApiCore):
    """What channel admins and discussion-group members do, and what Telegram does after."""

    def channel(
        self,
        title: str,
        *,
        username: str | None = None,
        owner: OfflineUser | None = None,
        bot_is_admin: bool = True,
    ) -> OfflineChat:
        """A new channel; the bot is one of its admins unless ``bot_is_admin=False``."""
        chat_id = -(1000000000000 + self._next_supergroup_id)
        self._next_supergroup_id += 1
        chat = OfflineChat(chat_id, "channel", title=title, username=username)
        state = ChatState(chat)
        if owner is not None:
            self.users.setdefault(owner.id, owner)
            state.owner_id = owner.id
        if bot_is_admin:
            state.admin_ids.add(self.bot_user.id)
        self.chats[chat.id] = state
        return chat

    def link_discussion(self, channel: ChatRef, group: ChatRef) -> None:
        """Make ``group`` (a supergroup) the channel's discussion group."""
        channel_state, group_state = self._state(channel), self._state(group)
        if channel_state.chat.type != "channel" or group_state.chat.type != "supergroup":
            raise ValueError("a channel's discussion group is a supergroup")
        channel_state.linked_chat_id = group_state.chat.id
        group_state.linked_chat_id = channel_state.chat.id

    def post_in_channel(
        self, channel: ChatRef, text: str, *, queue: bool = True
    ) -> tuple[JSON | None, JSON | None]:
        """An admin posts ``text`` in the channel.

        Returns the ``channel_post`` update (None if the bot is no admin there) and
        the update of the automatic forward into the discussion group (None if there
        is none, or the bot would not be given it).
        """
        state = self._state(channel)
        if state.chat.type != "channel":
            raise ValueError(f"chat {state.chat.id} is not a channel")
        text, _ = clean_and_trim(text, [])
        message = self._store_message(
            state,
            CHANNEL_BOT,
            text=text,
            entities=find_bot_commands(text),
            thread_id=None,
            extra={"sender_chat": state.chat.to_dict()},
        )
        del message["from"]
        post = None
        if self.bot_user.id in state.admin_ids and not state.bot_removed:
            post = self._queue({"channel_post": clone(message)}, queue)
        return post, self.forward_to_discussion(state, message, queue=queue)

    def edit_channel_post(
        self, channel: ChatRef, message_id: int, text: str, *, queue: bool = True
    ) -> JSON | None:
        """An admin edits a post; the ``edited_channel_post`` update, if the bot gets it."""
        state = self._state(channel)
        message = self._existing(state, message_id, LookupError)
        message["text"], _ = clean_and_trim(text, [])
        message["edit_date"] = int(self.clock())
        if self.bot_user.id not in state.admin_ids or state.bot_removed:
            return None
        return self._queue({"edited_channel_post": clone(message)}, queue)

    def forward_of(self, channel: ChatRef, post_id: int) -> int:
        """The message id, in the discussion group, of a channel post's automatic forward."""
        return self._state(channel).forwards[post_id]
