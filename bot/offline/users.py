"""Acting as Telegram and its users: new users and chats, messages, edits, button presses.

Each action returns the update Telegram would send the bot, and queues it for getUpdates
unless ``queue=False`` (tests that feed updates straight to ``Application.process_update``).
"""

from __future__ import annotations

from bot.offline.checks import inline_markup
from bot.offline.core import CHANNEL_BOT, GROUP_ANONYMOUS_BOT, ApiCore
from bot.offline.entities import clean_and_trim, find_bot_commands
from bot.offline.state import JSON, ChatRef, ChatState, OfflineChat, OfflineUser, clone


class UserActions(ApiCore):
    """What users do: join, post, edit, press buttons, use inline mode; and how chats change."""

    # ---- users and chats -----------------------------------------------------------------------

    def user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        *,
        language_code: str | None = "en",
    ) -> OfflineUser:
        """Register a new user with a fresh id."""
        user = OfflineUser(
            self._next_user_id, first_name, last_name, username, language_code=language_code
        )
        self._next_user_id += 1
        self.users[user.id] = user
        return user

    def private_chat(self, user: OfflineUser) -> OfflineChat:
        """The user's private chat with the bot (created as if they pressed Start)."""
        if user.id in self.chats:
            return self.chats[user.id].chat
        chat = OfflineChat(
            user.id,
            "private",
            username=user.username,
            first_name=user.first_name,
            last_name=user.last_name,
        )
        self.users.setdefault(user.id, user)
        self.chats[chat.id] = ChatState(chat)
        return chat

    def group(
        self,
        title: str,
        *,
        supergroup: bool = False,
        forum: bool = False,
        owner: OfflineUser | None = None,
    ) -> OfflineChat:
        """A new group with the bot in it; ``forum=True`` makes a supergroup with topics."""
        if supergroup or forum:
            chat_id = -(1000000000000 + self._next_supergroup_id)
            self._next_supergroup_id += 1
            chat = OfflineChat(chat_id, "supergroup", title=title, is_forum=forum)
        else:
            chat_id = -self._next_group_id
            self._next_group_id += 1
            chat = OfflineChat(chat_id, "group", title=title)
        state = ChatState(chat)
        if owner is not None:
            self.users.setdefault(owner.id, owner)
            state.owner_id = owner.id
        self.chats[chat.id] = state
        return chat

    def add_member(self, chat: ChatRef, user: OfflineUser, *, queue: bool = True) -> JSON:
        """Add ``user`` to a group; returns the ``new_chat_members`` service message update."""
        state = self._state(chat)
        state.left.discard(user.id)
        self.users.setdefault(user.id, user)
        message = self._store_message(
            state, user, extra={"new_chat_members": [user.to_dict()]}, thread_id=None
        )
        return self._user_update("message", state, message, queue, delivered=True)

    def remove_member(self, chat: ChatRef, user: OfflineUser) -> None:
        """Mark ``user`` as having left the group (getChatMember then says "left")."""
        self._state(chat).left.add(user.id)

    def continue_chat(self, chat: ChatRef, after_message_id: int) -> None:
        """Number the chat's next messages after ``after_message_id``.

        Telegram never reuses a message id in a chat; a stand-in started afresh
        against a kept database must not either, or a new message would look
        like the redelivery of an old one.
        """
        state = self._state(chat)
        state.next_message_id = max(state.next_message_id, after_message_id + 1)

    def set_admins(
        self, chat: ChatRef, *admins: OfflineUser, owner: OfflineUser | None = None
    ) -> None:
        """Set a group's administrators (replacing the previous ones) and optionally its owner.

        Include ``api.bot_user`` to make the bot an administrator (it then sees every message
        and may delete others' messages).
        """
        state = self._state(chat)
        if state.chat.type == "private":
            raise ValueError("a private chat has no administrators")
        state.admin_ids = {admin.id for admin in admins}
        if owner is not None:
            state.owner_id = owner.id
        for user in (*admins, *([owner] if owner else [])):
            self.users.setdefault(user.id, user)
            state.left.discard(user.id)

    def create_topic(self, chat: ChatRef, name: str, *, by: OfflineUser) -> int:
        """``by`` opens a forum topic; returns its ``message_thread_id`` (root message id)."""
        state = self._state(chat)
        if not state.chat.is_forum:
            raise ValueError(f"chat {state.chat.id} is not a forum")
        thread_id = state.next_message_id
        message = self._store_message(
            state,
            by,
            extra={"forum_topic_created": {"name": name, "icon_color": 7322096}},
            thread_id=None,
        )
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        state.topics[thread_id] = name
        self._user_update("message", state, message, queue=True, delivered=True)
        return thread_id

    def upgrade_to_supergroup(
        self, chat: ChatRef, by: OfflineUser, *, queue: bool = True
    ) -> tuple[OfflineChat, JSON, JSON]:
        """``by`` upgrades a group to a supergroup, which has a new chat id.

        Returns the supergroup and the two service-message updates Telegram sends:
        ``migrate_to_chat_id`` in the old group, ``migrate_from_chat_id`` in the new
        one. From then on, sending to the old group answers 400 with
        ``parameters.migrate_to_chat_id``.
        """
        old = self._state(chat)
        if old.chat.type != "group":
            raise ValueError(f"chat {old.chat.id} is not a basic group")
        new_chat = self.group(old.chat.title or "", supergroup=True)
        new = self._state(new_chat)
        new.owner_id, new.admin_ids, new.left = old.owner_id, set(old.admin_ids), set(old.left)
        moved = self._store_message(
            old, by, extra={"migrate_to_chat_id": new_chat.id}, thread_id=None
        )
        old.migrated_to = new_chat.id
        arrived = self._store_message(
            new, by, extra={"migrate_from_chat_id": old.chat.id}, thread_id=None
        )
        return (
            new_chat,
            self._user_update("message", old, moved, queue, delivered=True),
            self._user_update("message", new, arrived, queue, delivered=True),
        )

    def block_bot(self, user: OfflineUser, *, queue: bool = True) -> JSON:
        """The user blocks the bot: sending to them answers 403; returns my_chat_member."""
        state = self._state(user.id)
        state.bot_removed = True
        return self._my_chat_member(state, user, "member", "kicked", queue)

    def kick_bot(self, chat: ChatRef, by: OfflineUser, *, queue: bool = True) -> JSON:
        """Remove the bot from a group: sending there answers 403; returns my_chat_member."""
        state = self._state(chat)
        state.bot_removed = True
        return self._my_chat_member(state, by, "member", "left", queue)

    def unblock_bot(self, chat: ChatRef) -> None:
        """Undo ``block_bot``/``kick_bot`` (the user restarts the bot, or re-adds it)."""
        self._state(chat).bot_removed = False

    # ---- acting as users -----------------------------------------------------------------------

    def send_text(
        self,
        chat: ChatRef,
        user: OfflineUser,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        as_chat: OfflineChat | None = None,
        queue: bool = True,
    ) -> JSON:
        """``user`` sends ``text`` to ``chat``; returns the update (queued for getUpdates).

        ``reply_to`` is a message id in that chat (the update carries the full replied message);
        ``thread_id`` posts into a forum topic made with ``create_topic``; a reply in a
        channel post's discussion thread joins that thread. ``as_chat`` sends it on behalf
        of a chat: a channel, or the group itself (an anonymous admin); it then comes from
        Telegram's shared user for those, with the chat in ``sender_chat``. In a group the
        update is queued only if Telegram would deliver it (see ``would_deliver``).
        """
        extra: JSON | None = None
        if as_chat is not None:
            extra = {"sender_chat": as_chat.to_dict()}
            self.users.setdefault(user.id, user)
            user = GROUP_ANONYMOUS_BOT if as_chat.type != "channel" else CHANNEL_BOT
        state = self._poster_state(chat, user)
        target = None
        if reply_to is not None:
            target = self._existing(state, reply_to, LookupError)
            if thread_id is None:
                thread_id = target.get("message_thread_id") if state.chat.is_forum else None
        if thread_id is not None and state.chat.is_forum and thread_id not in state.topics:
            raise LookupError(f"no topic {thread_id} in chat {state.chat.id}; use create_topic")
        text, entities = clean_and_trim(text, [])
        if not text:
            raise ValueError("Telegram clients do not send empty messages")
        entities = find_bot_commands(text)
        message = self._store_message(
            state,
            user,
            text=text,
            entities=entities,
            reply_to=target,
            thread_id=thread_id,
            extra=extra,
        )
        self._join_thread(state, message, target)  # a comment in a post's discussion
        return self._user_update("message", state, message, queue)

    def edit_text(
        self,
        chat: ChatRef,
        message_id: int,
        user: OfflineUser,
        new_text: str,
        *,
        queue: bool = True,
    ) -> JSON:
        """``user`` edits their own message; returns the ``edited_message`` update."""
        state = self._state(chat)
        message = self._existing(state, message_id, LookupError)
        if message.get("from", {}).get("id") != user.id:
            raise PermissionError(f"message {message_id} was not sent by {user.first_name}")
        text, _ = clean_and_trim(new_text, [])
        if not text:
            raise ValueError("Telegram clients do not send empty messages")
        message["text"] = text
        entities = find_bot_commands(text)
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        message["edit_date"] = int(self.clock())
        was_delivered = message_id in state.delivered
        return self._user_update("edited_message", state, message, queue, delivered=was_delivered)

    def press_button(
        self,
        chat: ChatRef,
        message_id: int,
        user: OfflineUser,
        data: str,
        *,
        queue: bool = True,
    ) -> JSON:
        """``user`` presses the inline button with callback ``data`` under a bot message."""
        state = self._state(chat)
        message = self._existing(state, message_id, LookupError)
        if message.get("from", {}).get("id") != self.bot_user.id:
            raise LookupError(f"message {message_id} was not sent by the bot")
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        if not any(button.get("callback_data") == data for row in rows for button in row):
            raise LookupError(f"message {message_id} has no button with callback_data {data!r}")
        self.users.setdefault(user.id, user)
        query_id = str(self._next_query_id)
        self._next_query_id += 1
        self._open_callbacks.add(query_id)
        callback = {
            "id": query_id,
            "from": user.to_dict(),
            "message": clone(message),
            "chat_instance": str(abs(state.chat.id) * 7919 % 10**12),
            "data": data,
        }
        return self._queue({"callback_query": callback}, queue)

    def press_button_number(
        self, chat: ChatRef, message_id: int, user: OfflineUser, number: int, *, queue: bool = True
    ) -> JSON:
        """Press the ``number``-th button (1-based, as ``format_message`` numbers them)."""
        button = self.button_by_number(chat, message_id, number)
        if "callback_data" not in button:
            raise LookupError(f"button {number} is not a callback button: {button}")
        return self.press_button(chat, message_id, user, button["callback_data"], queue=queue)

    def inline_query(
        self,
        user: OfflineUser,
        query: str,
        *,
        chat_type: str | None = "sender",
        queue: bool = True,
    ) -> JSON:
        """``user`` types ``@bot query`` in some chat; returns the ``inline_query`` update."""
        self.users.setdefault(user.id, user)
        query_id = str(self._next_query_id)
        self._next_query_id += 1
        self._open_inline_queries[query_id] = user
        inline: JSON = {"id": query_id, "from": user.to_dict(), "query": query, "offset": ""}
        if chat_type is not None:
            inline["chat_type"] = chat_type
        return self._queue({"inline_query": inline}, queue)

    def choose_inline_result(
        self,
        chat: ChatRef,
        user: OfflineUser,
        query_id: str,
        result_id: str,
        *,
        queue: bool = True,
    ) -> JSON:
        """``user`` picks an answered inline result: it is posted in ``chat`` via the bot."""
        answer = self.inline_answers.get(query_id)
        if answer is None:
            raise LookupError(f"inline query {query_id} was not answered")
        result = next((r for r in answer["results"] if r.get("id") == result_id), None)
        if result is None:
            raise LookupError(f"inline query {query_id} has no result {result_id!r}")
        content = result.get("input_message_content", {})
        text, entities = self._formatted(content, "message_text")
        state = self._poster_state(chat, user)
        markup = inline_markup(result.get("reply_markup"))
        message = self._store_message(
            state,
            user,
            text=text,
            entities=entities,
            thread_id=None,
            markup=markup,
            extra={"via_bot": self.bot_user.to_dict()},
        )
        return self._user_update("message", state, message, queue)
