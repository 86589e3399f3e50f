"""sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage, sendChatAction."""

from __future__ import annotations

from typing import Any, Final

from bot.offline.checks import inline_markup, message_thread
from bot.offline.core import ApiCore
from bot.offline.state import JSON, bad_request, clone

NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class MessageMethods(ApiCore):
    """The bot's messages: sending, editing, deleting."""

    async def _send_message(self, params: JSON) -> JSON:
        state = self._writable_chat(params)
        text, entities = self._formatted(params, "text")
        markup = inline_markup(params.get("reply_markup"))
        thread_id = message_thread(state, params)
        target = self._reply_target(state, params)
        if target is not None and thread_id is None and target.get("is_topic_message"):
            thread_id = target.get("message_thread_id")
        message = self._store_message(
            state,
            self.bot_user,
            text=text,
            entities=entities,
            reply_to=target,
            thread_id=thread_id,
            markup=markup,
        )
        self._join_thread(state, message, target)
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = params["link_preview_options"]
        if state.chat.type == "channel":  # a channel post: no from, the channel speaks
            del message["from"]
            message["sender_chat"] = state.chat.to_dict()
            state.bot_posts.add(message["message_id"])
            self.forward_to_discussion(state, message)
        return clone(message)

    async def _edit_message_text(self, params: JSON) -> JSON:
        message = self._bot_message(params, "message to edit not found")
        text, entities = self._formatted(params, "text")
        # Without reply_markup an edit removes the inline keyboard, as on Telegram.
        markup = inline_markup(params.get("reply_markup"))
        unchanged = (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == markup
        )
        if unchanged:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        message["text"] = text
        _set_or_drop(message, "entities", entities or None)
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(self.clock())
        return clone(message)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        message = self._bot_message(params, "message to edit not found")
        markup = inline_markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(self.clock())
        return clone(message)

    async def _delete_message(self, params: JSON) -> bool:
        state = self._writable_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        message = self._existing(state, message_id, bad_request("message to delete not found"))
        from_bot = message.get("from", {}).get("id") == self.bot_user.id
        bot_is_admin = self.bot_user.id in state.admin_ids
        # Bots may delete incoming messages in private chats, and others' in groups as admins.
        if not (from_bot or state.chat.type == "private" or bot_is_admin):
            raise bad_request("message can't be deleted")
        del state.messages[message_id]
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        self._writable_chat(params)
        if not params.get("action"):
            raise bad_request("action is empty")
        return True


def _set_or_drop(message: JSON, key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value
