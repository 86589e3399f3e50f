"""The server's state and the helpers every part of the stand-in uses.

``ApiCore`` holds what Telegram's servers would: users, chats and their messages, the update
queue, the log of the bot's calls. The Bot API methods (``methods/``), the users' actions
(``users.py``) and fault planting (``faults.py``) are mixins on it; ``api.OfflineBotAPI``
puts them together.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from bot.offline.checks import formatted
from bot.offline.limits import RateLimits
from bot.offline.state import (
    JSON,
    ApiCall,
    ApiError,
    ChatRef,
    ChatState,
    Failure,
    Listener,
    OfflineChat,
    OfflineUser,
    Poll,
    bad_request,
    clone,
)

CHANNEL_BOT = OfflineUser(136817688, "Channel", username="Channel_Bot", is_bot=True)
"""The shared user that messages sent as a channel come from (``sender_chat`` says which)."""
GROUP_ANONYMOUS_BOT = OfflineUser(1087968824, "Group", username="GroupAnonymousBot", is_bot=True)
"""The shared user that a group's anonymous admins post as."""


class ApiCore:
    """Users, chats, messages, the update queue and the log of bot calls."""

    def __init__(
        self,
        *,
        bot_id: int = 7000000001,
        username: str = "NewsTestBot",
        first_name: str = "News Test Bot",
        privacy_mode: bool = True,
        strict_html: bool = True,
        token: str | None = None,
        clock: Callable[[], float] = time.time,
        latency: float = 0.0,
        rate_limits: RateLimits | None = None,
        first_user_id: int = 10001,
    ) -> None:
        """A server with no users or chats yet; the bot is ``bot_id``/``username``.

        ``privacy_mode``: groups deliver only what Telegram delivers to a bot in privacy mode.
        ``strict_html``: refuse a bare '&' in HTML that Telegram would show literally.
        ``token``: answer 401 to any other token (None accepts every token).
        ``clock``: the time messages are dated with and flood limits are counted by.
        ``latency``: seconds each call waits before it is answered, as a network round
        trip to Telegram would (for benchmarks and demos of concurrent updates).
        ``rate_limits``: enforce Telegram's flood limits (429 past them); off by default.
        ``first_user_id``: the id of the first user registered (the next ones follow it).
        """
        self.bot_user = OfflineUser(bot_id, first_name, username=username, is_bot=True)
        self.privacy_mode = privacy_mode
        self.strict_html = strict_html
        self.token = token
        self.clock = clock
        self.calls: list[ApiCall] = []
        self.users: dict[int, OfflineUser] = {}
        self.chats: dict[int, ChatState] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.inline_answers: dict[str, JSON] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON | None = None
        self.default_menu_button: JSON = {"type": "commands"}
        self._updates: list[JSON] = []  # queued, not yet confirmed by a getUpdates offset
        self._every_update: dict[int, JSON] = {}  # every update queued, for redeliver()
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._poll: Poll | None = None
        self._next_user_id = first_user_id
        self._next_group_id = 4000000001
        self._next_supergroup_id = 1000000001
        self._next_query_id = 1
        self._open_callbacks: set[str] = set()
        self._open_inline_queries: dict[str, OfflineUser] = {}
        self._listeners: list[Listener] = []
        self._arrival = asyncio.Event()
        # fault planting (faults.py)
        self.latency = latency
        self._failures: dict[str, deque[Failure]] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self.rate_limits = rate_limits

    # ---- the call log --------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        """Every call of one Bot API method (names compare case-insensitively, as Telegram's)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def clear_calls(self) -> None:
        """Forget the calls made so far (state such as messages is kept)."""
        self.calls.clear()

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(call)`` after every answered request (e.g. to print bot messages)."""
        self._listeners.append(listener)

    async def wait_for_calls(self, method: str, count: int) -> None:
        """Wait until ``count`` calls of ``method`` have arrived (answered or not)."""
        while len(self.calls_to(method)) < count:
            self._arrival.clear()
            await self._arrival.wait()

    def _notify(self, call: ApiCall) -> None:
        for listener in self._listeners:
            listener(call)

    # ---- what is in the chats ------------------------------------------------------------------

    def messages(self, chat: ChatRef) -> list[JSON]:
        """Every message in the chat (users' and the bot's), oldest first, current state."""
        state = self._state(chat)
        return [clone(state.messages[i]) for i in sorted(state.messages)]

    def sent_messages(self, chat: ChatRef) -> list[JSON]:
        """The bot's messages in the chat, oldest first, as they are now (edits applied)."""
        return [m for m in self.messages(chat) if m.get("from", {}).get("id") == self.bot_user.id]

    def message(self, chat: ChatRef, message_id: int) -> JSON:
        """One message as it is now; ``LookupError`` if it does not exist (or was deleted)."""
        return clone(self._existing(self._state(chat), message_id, LookupError))

    def button_by_number(self, chat: ChatRef, message_id: int, number: int) -> JSON:
        """The ``number``-th inline button (1-based, row by row) of a message, as JSON."""
        message = self.message(chat, message_id)
        rows: list[list[JSON]] = message.get("reply_markup", {}).get("inline_keyboard", [])
        buttons = [button for row in rows for button in row]
        if not 1 <= number <= len(buttons):
            raise LookupError(f"message {message_id} has {len(buttons)} buttons, not {number}")
        return buttons[number - 1]

    def would_deliver(self, chat: ChatRef, message: Mapping[str, Any]) -> bool:
        """Whether Telegram gives this user message to the bot (privacy mode in groups).

        In privacy mode a group's plain chatter is not delivered: only commands (not those
        addressed to another bot), mentions of the bot, replies to the bot's messages (or to
        messages it received), messages via the bot and service messages.
        """
        state = self._state(chat)
        if state.bot_removed:
            return False
        if state.chat.type == "private" or not self.privacy_mode:
            return True
        if self.bot_user.id in state.admin_ids:
            return True
        if "text" not in message:
            return True  # service messages
        if message.get("via_bot", {}).get("id") == self.bot_user.id:
            return True
        text = message["text"]
        username = self.bot_user.username or ""
        for entity in message.get("entities", []):
            if entity["type"] == "bot_command" and entity["offset"] == 0:
                command = text[: entity["length"]]
                _, _, addressee = command.partition("@")
                if not addressee or addressee.lower() == username.lower():
                    return True
        if username and re.search(rf"@{re.escape(username)}\b", text, re.IGNORECASE):
            return True
        replied = message.get("reply_to_message")
        if replied and "forum_topic_created" not in replied:
            from_bot = replied.get("from", {}).get("id") == self.bot_user.id
            if from_bot or replied["message_id"] in state.delivered:
                return True
        return False

    # ---- channels -------------------------------------------------------------------------------

    def forward_to_discussion(
        self, channel_state: ChatState, post: JSON, *, queue: bool = True
    ) -> JSON | None:
        """Telegram forwards a channel post into the linked group; that message's update."""
        if channel_state.linked_chat_id is None:
            return None
        group = self._state(channel_state.linked_chat_id)
        extra: JSON = {
            "sender_chat": channel_state.chat.to_dict(),
            "is_automatic_forward": True,
            "forward_origin": {
                "type": "channel",
                "chat": channel_state.chat.to_dict(),
                "message_id": post["message_id"],
                "date": post["date"],
            },
        }
        forward = self._store_message(
            group,
            CHANNEL_BOT,
            text=post.get("text"),
            entities=post.get("entities"),
            thread_id=None,
            markup=post.get("reply_markup"),
            extra=extra,
        )
        channel_state.forwards[post["message_id"]] = forward["message_id"]
        return self._user_update("message", group, forward, queue)

    def _join_thread(self, state: ChatState, message: JSON, target: JSON | None) -> None:
        """A reply in a channel post's discussion thread joins that thread, whoever sends it."""
        if target is None or state.chat.is_forum:
            return
        root = target.get("message_thread_id")
        if root is None and target.get("is_automatic_forward"):
            root = target["message_id"]
        if root is not None:
            message["message_thread_id"] = root

    # ---- internals: state ----------------------------------------------------------------------

    def _state(self, chat: ChatRef) -> ChatState:
        chat_id = chat.id if isinstance(chat, OfflineChat) else chat
        try:
            return self.chats[chat_id]
        except KeyError:
            raise LookupError(
                f"no chat {chat_id}; create it with private_chat() or group()"
            ) from None

    def _poster_state(self, chat: ChatRef, user: OfflineUser) -> ChatState:
        """The chat ``user`` posts in; posting makes them a member again."""
        state = self._state(chat)
        if state.chat.type == "private" and state.chat.id != user.id:
            raise ValueError(f"{user.first_name} cannot post in another user's private chat")
        self.users.setdefault(user.id, user)
        state.left.discard(user.id)
        return state

    def _existing(
        self, state: ChatState, message_id: int, error: type[Exception] | ApiError
    ) -> JSON:
        message = state.messages.get(message_id)
        if message is None:
            if isinstance(error, ApiError):
                raise error
            raise error(f"no message {message_id} in chat {state.chat.id}")
        return message

    def _store_message(
        self,
        state: ChatState,
        sender: OfflineUser,
        *,
        text: str | None = None,
        entities: list[JSON] | None = None,
        reply_to: JSON | None = None,
        thread_id: int | None,
        markup: JSON | None = None,
        extra: JSON | None = None,
    ) -> JSON:
        message: JSON = {
            "message_id": state.take_message_id(),
            "from": sender.to_dict(),
            "chat": state.chat.to_dict(),
            "date": int(self.clock()),
        }
        if state.chat.is_forum and thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
            if reply_to is None:
                # Telegram marks a topic message as a reply to the topic's opening message.
                reply_to = state.messages.get(thread_id)
        if reply_to is not None:
            message["reply_to_message"] = {
                k: clone(v) for k, v in reply_to.items() if k != "reply_to_message"
            }
        if text is not None:
            message["text"] = text
            if entities:
                message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        if extra:
            message.update(clone(extra))
        state.messages[message["message_id"]] = message
        return message

    def _user_update(
        self,
        kind: str,
        state: ChatState,
        message: JSON,
        queue: bool,
        *,
        delivered: bool | None = None,
    ) -> JSON:
        if delivered is None:
            delivered = self.would_deliver(state.chat, message)
        if delivered:
            state.delivered.add(message["message_id"])
        return self._queue({kind: clone(message)}, queue and delivered)

    def _queue(self, payload: JSON, queue: bool) -> JSON:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        if queue:
            stored = clone(update)
            self._updates.append(stored)
            self._every_update[update["update_id"]] = stored
            if self._poll is not None:
                self._poll.event.set()
        return update

    def _my_chat_member(
        self, state: ChatState, by: OfflineUser, old: str, new: str, queue: bool
    ) -> JSON:
        now = int(self.clock())
        new_member: JSON = {"status": new, "user": self.bot_user.to_dict()}
        if new == "kicked":
            new_member["until_date"] = 0
        change = {
            "chat": state.chat.to_dict(),
            "from": by.to_dict(),
            "date": now,
            "old_chat_member": {"status": old, "user": self.bot_user.to_dict()},
            "new_chat_member": new_member,
        }
        return self._queue({"my_chat_member": change}, queue)

    # ---- internals: parameters naming chats and messages ---------------------------------------

    def _chat_param(self, params: JSON, key: str = "chat_id") -> ChatState:
        raw = params.get(key)
        if raw is None or raw == "":
            raise bad_request(f"{key} is empty")
        state: ChatState | None = None
        if isinstance(raw, int) or (isinstance(raw, str) and re.fullmatch(r"-?\d+", raw)):
            state = self.chats.get(int(raw))
        elif isinstance(raw, str) and raw.startswith("@"):
            state = next(
                (
                    s
                    for s in self.chats.values()
                    if s.chat.username and s.chat.username.lower() == raw[1:].lower()
                ),
                None,
            )
        if state is None:
            raise bad_request("chat not found")
        return state

    def _writable_chat(self, params: JSON) -> ChatState:
        state = self._chat_param(params)
        if state.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": state.migrated_to},
            )
        if state.bot_removed:
            if state.chat.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            kind = "supergroup" if state.chat.type == "supergroup" else "group"
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        return state

    def _formatted(self, params: Mapping[str, Any], key: str) -> tuple[str, list[JSON]]:
        """Parse, clean and check a message text the way sendMessage does."""
        return formatted(params, key, strict=self.strict_html)

    def _reply_target(self, state: ChatState, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        if reply is None and params.get("reply_to_message_id") is not None:
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply", False),
            }
        if reply is None:
            return None
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        target_state = state
        if reply.get("chat_id") is not None:
            target_state = self._chat_param(reply, "chat_id")
        target = target_state.messages.get(reply["message_id"])
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        # A reply across chats becomes an external_reply on Telegram; not modelled here.
        return target if target_state is state else None

    def _bot_message(self, params: JSON, missing: str) -> JSON:
        if params.get("inline_message_id") is not None:
            raise bad_request("MESSAGE_ID_INVALID")
        state = self._writable_chat(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise bad_request("message identifier is not specified")
        message = self._existing(state, message_id, bad_request(missing))
        mine = message.get("from", {}).get("id") == self.bot_user.id
        if not (mine or message_id in state.bot_posts) or "text" not in message:
            raise bad_request("message can't be edited")
        return message
