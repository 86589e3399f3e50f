"""answerCallbackQuery: the answer to a button press."""

from __future__ import annotations

from typing import Final

from bot.offline.core import ApiCore
from bot.offline.state import JSON, bad_request, clone

MAX_CALLBACK_ANSWER_LENGTH: Final = 200  # documented 0-200 characters
QUERY_TOO_OLD: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)


class CallbackMethods(ApiCore):
    """Answers to button presses (each press may be answered once)."""

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_callbacks:
            raise bad_request(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        text = params.get("text")
        # Documented as 0-200 characters; Telegram answers MESSAGE_TOO_LONG above its limit.
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        self.callback_answers[query_id] = clone(params)
        return True
