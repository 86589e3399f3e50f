"""answerInlineQuery: results for ``@bot query``."""

from __future__ import annotations

from typing import Final

from bot.offline.checks import inline_markup
from bot.offline.core import ApiCore
from bot.offline.methods.callbacks import QUERY_TOO_OLD
from bot.offline.state import JSON, bad_request, clone

MAX_INLINE_RESULTS: Final = 50
MAX_INLINE_RESULT_ID_BYTES: Final = 64
_INLINE_RESULT_TYPES: Final = frozenset(
    [
        "article",
        "audio",
        "contact",
        "game",
        "document",
        "gif",
        "location",
        "mpeg4_gif",
        "photo",
        "venue",
        "video",
        "voice",
        "sticker",
    ]
)


class InlineMethods(ApiCore):
    """Answers to inline queries, validated as the Bot API does."""

    async def _answer_inline_query(self, params: JSON) -> bool:
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._open_inline_queries:
            raise bad_request(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        results = params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict):
                raise bad_request("can't parse inline query result: expected an Object")
            for key in ("type", "id"):
                if key not in result:
                    raise bad_request(
                        f"can't parse inline query result: Can't find field \"{key}\""
                    )
            if result["type"] not in _INLINE_RESULT_TYPES:
                raise bad_request(
                    f"can't parse inline query result: Unsupported type {result['type']!r}"
                )
            result_id = result["id"]
            if not isinstance(result_id, str) or not (
                1 <= len(result_id.encode()) <= MAX_INLINE_RESULT_ID_BYTES
            ):
                raise bad_request("RESULT_ID_INVALID")
            if result_id in seen:
                raise bad_request("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            if result["type"] == "article":
                for key in ("title", "input_message_content"):
                    if key not in result:
                        raise bad_request(
                            f"can't parse inline query result: Can't find field \"{key}\""
                        )
                content = result["input_message_content"]
                if isinstance(content, dict) and "message_text" in content:
                    self._formatted(content, "message_text")
            inline_markup(result.get("reply_markup"))
        del self._open_inline_queries[query_id]
        self.inline_answers[query_id] = clone(params)
        return True
