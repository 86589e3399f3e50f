"""Checks of a call's parameters, as the Bot API makes them: texts, keyboards, threads.

Plain functions; the ones that look chats up live on the server (``core.ApiCore``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any, Final

from bot.offline.entities import (
    EntityParseError,
    checked_link,
    clean_and_trim,
    find_bot_commands,
    merge_detected,
    parse_html,
    sorted_entities,
    utf16_len,
)
from bot.offline.state import JSON, ChatState, bad_request, clone

MAX_TEXT_LENGTH: Final = 4096  # UTF-16 code units of the parsed text
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_KEYBOARD_BUTTONS: Final = 100

_INLINE_ACTIONS: Final = tuple(
    [
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    ]
)
# Object-valued parameters, which a client may also send as JSON strings.
_JSON_FIELDS: Final = frozenset(
    [
        "reply_markup",
        "reply_parameters",
        "entities",
        "results",
        "commands",
        "scope",
        "link_preview_options",
        "allowed_updates",
        "menu_button",
        "button",
    ]
)


def decode_params(params: Mapping[str, Any]) -> JSON:
    """Round-trip through JSON, and decode object fields sent pre-serialised as strings."""
    decoded: JSON = json.loads(json.dumps(dict(params)))
    for key in decoded.keys() & _JSON_FIELDS:
        if isinstance(decoded[key], str):
            with contextlib.suppress(ValueError):
                decoded[key] = json.loads(decoded[key])
    return decoded


def formatted(params: Mapping[str, Any], key: str, *, strict: bool) -> tuple[str, list[JSON]]:
    """Parse, clean and check a message text the way sendMessage does."""
    raw = params.get(key)
    if raw is None:
        raise bad_request("message text is empty")
    if not isinstance(raw, str):
        raw = str(raw)
    parse_mode = params.get("parse_mode")
    explicit = params.get("entities")
    if explicit is not None:
        # Explicit entities win over parse_mode, as in the Bot API.
        if not isinstance(explicit, list) or not all(
            isinstance(e, dict) and {"type", "offset", "length"} <= e.keys() for e in explicit
        ):
            raise bad_request("can't parse entities JSON object")
        size = utf16_len(raw)
        for entity in explicit:
            offset, length = entity["offset"], entity["length"]
            if not (isinstance(offset, int) and isinstance(length, int)) or offset < 0:
                raise bad_request("can't parse entities JSON object")
            if offset + length > size:
                raise bad_request(
                    f"can't parse entities: Entity beginning at UTF-16 offset {offset} "
                    f"ends after the end of the text at UTF-16 offset {offset + length}"
                )
        text, entities = raw, sorted_entities(clone(explicit))
    elif parse_mode in (None, ""):
        text, entities = raw, []
    elif str(parse_mode).lower() == "html":
        try:
            text, entities = parse_html(raw, strict=strict)
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error.reason}") from None
    elif str(parse_mode).lower() in ("markdown", "markdownv2"):
        raise bad_request(
            f"can't parse entities: the offline API implements parse_mode HTML only, "
            f"not {parse_mode}"
        )
    else:
        raise bad_request("unsupported parse_mode")
    text, entities = clean_and_trim(text, entities)
    if not text:
        raise bad_request("message text is empty")
    # Telegram documents the limit in characters; it counts UTF-16 code units.
    if utf16_len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return text, merge_detected(entities, find_bot_commands(text))


def inline_markup(markup: Any) -> JSON | None:
    """Validate a reply_markup; returns the inline keyboard to keep on the message."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
            )
        if sum(len(row) for row in rows) > MAX_KEYBOARD_BUTTONS:
            raise bad_request("reply markup is too long")
        for row in rows:
            for button in row:
                check_inline_button(button)
        rows = [row for row in rows if row]
        return {"inline_keyboard": clone(rows)} if rows else None
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str):
                    raise bad_request(
                        'can\'t parse keyboard button: Field "text" must be of type String'
                    )
        return None
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return None
    raise bad_request("can't parse reply keyboard markup JSON object")


def message_thread(state: ChatState, params: JSON) -> int | None:
    """The forum topic a message goes to (None outside forums, where it does not matter)."""
    thread_id = params.get("message_thread_id")
    if thread_id is None or not state.chat.is_forum:
        return None  # outside forums Telegram ignores it for our purposes
    if not isinstance(thread_id, int) or thread_id not in state.topics:
        raise bad_request("message thread not found")
    return thread_id


def check_inline_button(button: Any) -> None:
    """Validate one InlineKeyboardButton as the Bot API does (stricter on several actions)."""
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(prefix + "InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise bad_request(prefix + 'Field "text" must be of type String')
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")  # approximate; Telegram refuses empty labels
    actions = [key for key in _INLINE_ACTIONS if key in button]
    if not actions:
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        # Telegram silently uses the first field it knows; two actions is always a bug here.
        raise bad_request(
            prefix + f"offline API: exactly one action field expected, got {', '.join(actions)}"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise bad_request(prefix + 'Field "callback_data" must be of type String')
        if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or checked_link(url) is None:
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    for key in ("switch_inline_query", "switch_inline_query_current_chat"):
        if key in button and not isinstance(button[key], str):
            raise bad_request(prefix + f'Field "{key}" must be of type String')
