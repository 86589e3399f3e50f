"""``OfflineBotAPI``: the stand-in's server, put together from its parts.

Each Bot API method it implements is listed in ``METHODS`` with the mixin that answers it;
any other method is answered 404 Not Found, as Telegram answers it, and listed by
``unknown_calls``; tests call ``check_methods_known`` so that such a call fails them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from bot.offline.channels import ChannelActions
from bot.offline.checks import decode_params
from bot.offline.faults import FaultPlanting
from bot.offline.methods.callbacks import CallbackMethods
from bot.offline.methods.chats import ChatMethods
from bot.offline.methods.commands import CommandMethods
from bot.offline.methods.inline import InlineMethods
from bot.offline.methods.messages import MessageMethods
from bot.offline.methods.updates import UpdateMethods
from bot.offline.state import JSON, ApiCall, ApiError, clone
from bot.offline.users import UserActions

Handler = Callable[[Any, JSON], Awaitable[Any]]

METHODS: Final[dict[str, Handler]] = {
    "getMe": UpdateMethods._get_me,
    "logOut": UpdateMethods._true,
    "close": UpdateMethods._true,
    "getUpdates": UpdateMethods._get_updates,
    "setWebhook": UpdateMethods._set_webhook,
    "deleteWebhook": UpdateMethods._delete_webhook,
    "getWebhookInfo": UpdateMethods._get_webhook_info,
    "setMyCommands": CommandMethods._set_my_commands,
    "getMyCommands": CommandMethods._get_my_commands,
    "deleteMyCommands": CommandMethods._delete_my_commands,
    "setChatMenuButton": ChatMethods._set_chat_menu_button,
    "getChatMenuButton": ChatMethods._get_chat_menu_button,
    "sendMessage": MessageMethods._send_message,
    "editMessageText": MessageMethods._edit_message_text,
    "editMessageReplyMarkup": MessageMethods._edit_message_reply_markup,
    "deleteMessage": MessageMethods._delete_message,
    "sendChatAction": MessageMethods._send_chat_action,
    "answerCallbackQuery": CallbackMethods._answer_callback_query,
    "answerInlineQuery": InlineMethods._answer_inline_query,
    "getChat": ChatMethods._get_chat,
    "getChatMember": ChatMethods._get_chat_member,
    "getChatAdministrators": ChatMethods._get_chat_administrators,
}
# Telegram compares method names case-insensitively.
_BY_LOWER_NAME: Final = {name.lower(): handler for name, handler in METHODS.items()}


class OfflineBotAPI(
    UserActions,
    ChannelActions,
    MessageMethods,
    CallbackMethods,
    InlineMethods,
    ChatMethods,
    CommandMethods,
    UpdateMethods,
    FaultPlanting,
):
    """The server side: users, chats, messages, the update queue and the log of bot calls."""

    @property
    def unknown_calls(self) -> list[ApiCall]:
        """Calls of methods this stand-in does not implement (answered 404 Not Found)."""
        return [call for call in self.calls if call.method.lower() not in _BY_LOWER_NAME]

    def check_methods_known(self) -> None:
        """Raise ``AssertionError`` if the bot called a method this stand-in does not implement.

        Telegram would have answered those calls; here they got a 404, so whatever the bot
        did next was not what it would do against Telegram. The test fixtures call this after
        every test; ``newsbot chat`` only shows the 404.
        """
        unknown = sorted({call.method for call in self.unknown_calls})
        if unknown:
            raise AssertionError(
                "the bot called Bot API methods the offline API does not implement: "
                + ", ".join(unknown)
                + " (add them to bot/offline/methods/)"
            )

    async def dispatch(self, method: str, params: JSON) -> tuple[int, JSON]:
        """Answer one Bot API call: (HTTP status, envelope). Records it in ``calls``.

        Raises ``telegram.error.NetworkError`` (or ``TimedOut``) for a planted network fault.
        """
        call = ApiCall(method, decode_params(params))
        self.calls.append(call)
        self._arrival.set()
        fault = await self._fault_for(call)
        if fault is not None and fault.drop is None:
            return self._fail_before(call, fault)
        status, body = await self._answer(call)
        if fault is not None:
            self._lose_answer(call, fault)
        return status, body

    async def _answer(self, call: ApiCall) -> tuple[int, JSON]:
        handler = _BY_LOWER_NAME.get(call.method.lower())
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            flood = self._flood_wait(call)
            if flood is not None:
                raise flood
            result = await handler(self, call.params)
        except ApiError as error:
            call.error = error
            self._notify(call)
            return error.error_code, error.to_dict()
        call.result = clone(result)
        self._count_sent(call)
        self._notify(call)
        return 200, {"ok": True, "result": result}
