"""An in-process stand-in for the Telegram Bot API (end-to-end tests and ``newsbot chat``).

The real PTB ``Application`` is built with ``OfflineRequest(api)`` as its transport, so every
Bot API call the bot makes is answered here, in the Bot API's own JSON envelope, and PTB
raises ``BadRequest``/``Forbidden``/``RetryAfter`` itself, exactly as against Telegram::

    api = OfflineBotAPI(username="NewsTestBot")
    builder = ApplicationBuilder().token("1:offline").request(OfflineRequest(api))
    app = builder.get_updates_request(OfflineRequest(api)).build()
    alice = api.user("Alice")
    update = api.send_text(api.private_chat(alice), alice, "/start")
    await app.process_update(Update.de_json(update, app.bot))
    assert api.sent_messages(alice.id)[-1]["text"].startswith("Welcome")

``OfflineBotAPI`` keeps the server's state (users, chats, messages, admins, the update queue)
and a log of every call (``api.calls``); its ``send_text``/``press_button``/... methods act as
users. Error texts are Telegram's own where they are known (the HTML parser follows tdlib's
``parse_html``); where this stand-in is deliberately stricter than Telegram, the error says so.

Error answers follow the Bot API server: 400 "Bad Request: ...", 403 "Forbidden: ...",
404 for unknown methods, 409 "Conflict: ...", and 429 with ``parameters.retry_after`` when a
test plants one with ``fail_next``. PTB 22's ``BadRequest`` shows the description with the
first letter capitalised and the rest lower-cased (``str.capitalize``).

Exceptions raised here::

    Exception
     ├── ApiError              a Bot API error answer (also recorded on ApiCall.error)
     ├── LookupError / ValueError / PermissionError   a test acting impossibly (pressing a
     │                         button that is not there, editing another user's message)
     └── ValueError
          └── EntityParseError parse_html() rejected the text ("can't parse entities" reason)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

_T = TypeVar("_T")

JSON = dict[str, Any]
Listener = Callable[["ApiCall"], None]

MAX_TEXT_LENGTH: Final = 4096  # UTF-16 code units of the parsed text
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_CALLBACK_ANSWER_LENGTH: Final = 200  # documented 0-200 characters
MAX_INLINE_RESULTS: Final = 50
MAX_INLINE_RESULT_ID_BYTES: Final = 64
MAX_KEYBOARD_BUTTONS: Final = 100
MAX_BOT_COMMANDS: Final = 100

NOT_MODIFIED: Final = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD: Final = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)
WEBHOOK_ACTIVE: Final = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_TERMINATED: Final = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

# Telegram sends every update type except these unless allowed_updates names them.
_OPT_IN_UPDATES: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
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


# --------------------------------------------------------------------------------------------
# Errors and the call log


class ApiError(Exception):
    """A Bot API error answer: HTTP status, description and optional response parameters."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_dict(self) -> JSON:
        """The error in the Bot API envelope: ``{"ok": false, "error_code": ...}``."""
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    def __repr__(self) -> str:
        return f"ApiError({self.error_code}, {self.description!r})"


def bad_request(reason: str) -> ApiError:
    """A 400 answer with Telegram's ``Bad Request: `` prefix."""
    return ApiError(400, f"Bad Request: {reason}")


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; ``reason`` is what follows "can't parse entities: "."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ApiCall:
    """One request the bot made: method, JSON-decoded parameters, and the result or error."""

    method: str
    params: JSON
    result: Any = None
    error: ApiError | None = None
    network_error: bool = False

    @property
    def ok(self) -> bool:
        """Whether the call was answered successfully."""
        return self.error is None and not self.network_error


@dataclass
class _Failure:
    """A failure planted with ``fail_next``."""

    error: ApiError | None
    network: bool


@dataclass
class _Poll:
    """A getUpdates request waiting for updates."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    terminated: bool = False


# --------------------------------------------------------------------------------------------
# Users and chats


@dataclass(frozen=True)
class OfflineUser:
    """A Telegram user (or the bot itself) known to the offline API."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = None

    @property
    def full_name(self) -> str:
        """First and last name, as Telegram clients show them."""
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_dict(self) -> JSON:
        """The user in Bot API shape (a ``User`` object)."""
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class OfflineChat:
    """A chat: private (id = the user's id), group (negative id) or supergroup (-100...)."""

    id: int
    type: str
    title: str | None = None
    is_forum: bool = False
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    def to_dict(self) -> JSON:
        """The chat in Bot API shape (a ``Chat`` object)."""
        data: JSON = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value:
                data[key] = value
        if self.is_forum:
            data["is_forum"] = True
        return data


ChatRef = OfflineChat | int
UserRef = OfflineUser | int


@dataclass
class _ChatState:
    """Everything the server holds about one chat."""

    chat: OfflineChat
    next_message_id: int = 1
    messages: dict[int, JSON] = field(default_factory=dict)
    delivered: set[int] = field(default_factory=set)  # message ids the bot received
    left: set[int] = field(default_factory=set)  # users who left (others count as members)
    owner_id: int | None = None
    admin_ids: set[int] = field(default_factory=set)
    topics: dict[int, str] = field(default_factory=dict)
    bot_removed: bool = False  # blocked by the user (private) or kicked (groups)
    migrated_to: int | None = None  # the supergroup this group was upgraded to
    menu_button: JSON | None = None

    def take_message_id(self) -> int:
        """The next message id in this chat (ids are per chat and only grow)."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


# --------------------------------------------------------------------------------------------
# Text: UTF-16 lengths, Telegram HTML, bot commands


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and limits."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_to_index(text: str) -> list[int]:
    """Map each UTF-16 offset (0..len) to a str index; offsets inside a pair map to its start."""
    mapping: list[int] = []
    for index, char in enumerate(text):
        mapping.append(index)
        if ord(char) > 0xFFFF:
            mapping.append(index)
    mapping.append(len(text))
    return mapping


_ALLOWED_TAGS: Final = frozenset(
    [
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    ]
)
_SIMPLE_TAG_TYPES: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
# Order of entities that share offset and length (outermost first), roughly tdlib's.
_TYPE_ORDER: Final = {
    kind: rank
    for rank, kind in enumerate(
        [
            "blockquote",
            "expandable_blockquote",
            "pre",
            "code",
            "text_link",
            "text_mention",
            "url",
            "mention",
            "bot_command",
            "custom_emoji",
            "bold",
            "italic",
            "underline",
            "strikethrough",
            "spoiler",
        ]
    )
}
_SPACES: Final = " \t\r\n\v"  # tdlib's is_space (it also counts the terminating NUL)


def _byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of ``text[index]``, the unit of tdlib's parse errors."""
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, pos: int) -> tuple[int, int] | None:
    """Decode the HTML entity at ``text[pos] == '&'`` as tdlib does: (code point, next index)."""
    end = pos + 1
    n = len(text)
    code = 0
    if end < n and text[end] == "#":
        end += 1
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                code = code * 16 + int(text[end], 16)
                end += 1
        else:
            while end < n and "0" <= text[end] <= "9":
                code = code * 10 + int(text[end])
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(text[pos + 1 : end])
        if named is None:
            return None
        code = ord(named)
    if end < n and text[end] == ";":
        end += 1
    return code, end


def _unescaped_ampersand(text: str, pos: int) -> EntityParseError:
    # Telegram keeps such an '&' literally; it is nearly always a missing html.escape, which
    # would turn "&lt;" typed by a user into "<", so this stand-in refuses it.
    return EntityParseError(
        f'Unescaped "&" at byte offset {_byte_offset(text, pos)} '
        "(offline API: stricter than Telegram, which shows it literally; escape it as &amp;)"
    )


def _checked_link(url: str) -> str | None:
    """The URL Telegram would keep for a text_link, or None when it would drop the entity."""
    url = url.strip()
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://(\S+)$", url)
    if match:
        scheme = match.group(1).lower()
        if scheme in {"http", "https", "tg", "ton", "ftp"}:
            return url
        return None
    if re.match(r"^[\w-]+(\.[\w-]+)+(:\d+)?([/?#]\S*)?$", url):
        return "http://" + url
    return None


@dataclass
class _OpenTag:
    """A start tag waiting for its end tag."""

    name: str
    argument: str
    offset: int  # UTF-16 offset of the entity in the parsed text
    begin: int  # index into the list of parsed pieces where the tag's text starts


_MARKUP_START = re.compile("[&<]")


def parse_html(html: str, *, strict: bool = True) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into (plain text, entities), or raise ``EntityParseError``.

    Follows tdlib's ``parse_html``: the same tags, entity decoding, nesting rules and error
    texts. With ``strict`` (the default) an '&' that does not start ``&lt; &gt; &amp; &quot;``
    or a numeric reference is an error; Telegram would show it literally.
    """
    n = len(html)

    def at(index: int) -> str:
        return html[index] if index < n else ""

    def is_space(char: str) -> bool:
        return char == "" or char in _SPACES

    out: list[str] = []
    utf16 = 0
    entities: list[JSON] = []
    stack: list[_OpenTag] = []
    i = 0
    while i < n:
        char = html[i]
        if char == "&":
            decoded = _decode_entity(html, i)
            if decoded is not None:
                code, i = decoded
                if 0xD800 <= code <= 0xDFFF:
                    raise EntityParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities, "
                        "check for unmatched surrogate code units"
                    )
                out.append(chr(code))
                utf16 += 2 if code > 0xFFFF else 1
                continue
            if strict:
                raise _unescaped_ampersand(html, i)
        if char != "<":
            special = _MARKUP_START.search(html, i + 1)
            end = special.start() if special else n
            chunk = html[i:end]
            out.append(chunk)
            utf16 += utf16_len(chunk)
            i = end
            continue

        begin = i
        i += 1
        if at(i) != "/":
            while not is_space(at(i)) and at(i) != ">":
                i += 1
            if at(i) == "":
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(html, begin)}"
                )
            tag = html[begin + 1 : i].lower()
            if tag not in _ALLOWED_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                )
            argument = ""
            while at(i) != ">":
                while at(i) != "" and is_space(at(i)):
                    i += 1
                if at(i) == ">":
                    break
                name_begin = i
                while not is_space(at(i)) and at(i) not in ("=", ">", "/", '"', "'"):
                    i += 1
                name = html[name_begin:i]
                if not name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{_byte_offset(html, begin)}"
                    )
                while at(i) != "" and is_space(at(i)):
                    i += 1
                if at(i) != "=":
                    if at(i) == "":
                        raise EntityParseError(
                            f'Unclosed start tag "{tag}" at byte offset '
                            f"{_byte_offset(html, begin)}"
                        )
                    if tag == "blockquote" and name == "expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) != "" and is_space(at(i)):
                    i += 1
                if at(i) == "":
                    raise EntityParseError(
                        f'Unclosed start tag "{tag}" at byte offset {_byte_offset(html, begin)}'
                    )
                if at(i) not in ('"', "'"):
                    token_begin = i
                    while at(i) != "" and (
                        (at(i).isascii() and at(i).isalnum()) or at(i) in (".", "-")
                    ):
                        i += 1
                    value = html[token_begin:i].lower()
                    if not is_space(at(i)) and at(i) != ">":
                        raise EntityParseError(
                            "Unexpected end of name token at byte offset "
                            f"{_byte_offset(html, token_begin)}"
                        )
                else:
                    quote = html[i]
                    i += 1
                    chars: list[str] = []
                    while at(i) not in (quote, ""):
                        if html[i] == "&":
                            decoded = _decode_entity(html, i)
                            if decoded is not None:
                                chars.append(chr(decoded[0]))
                                i = decoded[1]
                                continue
                            if strict:
                                raise _unescaped_ampersand(html, i)
                        chars.append(html[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(chars)
                if at(i) == "":
                    raise EntityParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(html, begin)}"
                    )
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif (tag == "tg-emoji" and name == "emoji-id") or (
                    tag == "blockquote" and name == "expandable"
                ):
                    argument = value if tag == "tg-emoji" else "1"
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(html, begin)}"
                )
            stack.append(_OpenTag(tag, argument, utf16, len(out)))
            i += 1  # past '>'
            continue

        # an end tag
        if not stack:
            raise EntityParseError(
                f"Unexpected end tag at byte offset {_byte_offset(html, begin)}"
            )
        while not is_space(at(i)) and at(i) != ">":
            i += 1
        end_name = html[begin + 2 : i].lower()
        while at(i) != "" and is_space(at(i)):
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(html, begin)}")
        top = stack[-1]
        if end_name and end_name != top.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {_byte_offset(html, begin)}, "
                f'expected "</{top.name}>", found "</{end_name}>"'
            )
        if utf16 > top.offset:
            entity = _closed_entity(top, utf16, "".join(out[top.begin :]), entities)
            if entity is not None:
                entities.append(entity)
        stack.pop()
        i += 1  # past '>'

    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    return "".join(out), _sorted_entities(_merge_splittable(entities))


_SPLITTABLE: Final = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})


def _merge_splittable(entities: list[JSON]) -> list[JSON]:
    """Join touching or overlapping entities of one splittable type, as tdlib does."""
    merged = [entity for entity in entities if entity["type"] not in _SPLITTABLE]
    for kind in sorted(_SPLITTABLE):
        spans = sorted(
            (e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] == kind
        )
        joined: list[list[int]] = []
        for start, end in spans:
            if joined and start <= joined[-1][1]:
                joined[-1][1] = max(joined[-1][1], end)
            else:
                joined.append([start, end])
        merged.extend({"type": kind, "offset": a, "length": b - a} for a, b in joined)
    return merged


def _closed_entity(top: _OpenTag, end: int, inner_text: str, entities: list[JSON]) -> JSON | None:
    """The entity for a closed tag (``entities`` may be updated in place for <pre><code>)."""
    offset, length = top.offset, end - top.offset
    span: JSON = {"offset": offset, "length": length}
    if top.name in _SIMPLE_TAG_TYPES:
        return {"type": _SIMPLE_TAG_TYPES[top.name], **span}
    if top.name == "tg-emoji":
        if not top.argument.isdigit() or int(top.argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        return {"type": "custom_emoji", **span, "custom_emoji_id": top.argument}
    if top.name == "a":
        url = _checked_link(top.argument or inner_text)
        return None if url is None else {"type": "text_link", **span, "url": url}
    if top.name == "blockquote":
        return {"type": "expandable_blockquote" if top.argument else "blockquote", **span}
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == offset and last["length"] == length
    if top.name == "code":
        if last is not None and same_span and last["type"] == "pre":
            # <pre><code class="language-x">: one pre entity with its language
            if top.argument:
                last["language"] = top.argument
            return None
        return {"type": "code", **span, "_language": top.argument}
    # top.name == "pre"
    if last is not None and same_span and last["type"] == "code":
        language = last.pop("_language", "")
        last["type"] = "pre"
        if language:
            last["language"] = language
        return None
    return {"type": "pre", **span}


def _sorted_entities(entities: Iterable[JSON]) -> list[JSON]:
    """Entities ordered as Telegram returns them: by offset, longer first, then by type."""
    cleaned = [{k: v for k, v in e.items() if not k.startswith("_")} for e in entities]
    return sorted(
        cleaned, key=lambda e: (e["offset"], -e["length"], _TYPE_ORDER.get(e["type"], 99))
    )


_COMMAND_RE: Final = re.compile(
    r"(?<![\w/<>\\])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>\\@])"
)
_CONTINUOUS: Final = frozenset({"pre", "code", "text_link", "text_mention", "custom_emoji"})


def find_bot_commands(text: str) -> list[JSON]:
    """The bot_command entities Telegram detects in ``text`` (``/cmd`` or ``/cmd@bot``)."""
    found = []
    for match in _COMMAND_RE.finditer(text):
        offset = utf16_len(text[: match.start()])
        found.append({"type": "bot_command", "offset": offset, "length": utf16_len(match[0])})
    return found


def _merge_detected(entities: list[JSON], detected: list[JSON]) -> list[JSON]:
    """Add detected entities that do not overlap code, pre or links (as tdlib does)."""
    blocking = [e for e in entities if e["type"] in _CONTINUOUS]
    kept = [
        d
        for d in detected
        if not any(
            d["offset"] < b["offset"] + b["length"] and b["offset"] < d["offset"] + d["length"]
            for b in blocking
        )
    ]
    return _sorted_entities([*entities, *kept])


_NEEDS_CLEANING = re.compile("[\x00-\x09\x0b-\x1f\u2028-\u202e]")


def _clean_and_trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram's clean-up: drop '\\r' and U+2028..U+202E, controls to spaces, trim spaces."""
    if not _NEEDS_CLEANING.search(text):
        return _trim(text, [dict(e) for e in entities])
    new_offset: list[int] = []  # old UTF-16 offset -> new UTF-16 offset
    out: list[str] = []
    position = 0
    for char in text:
        units = 2 if ord(char) > 0xFFFF else 1
        new_offset.extend([position] * units)
        if char == "\r" or "\u2028" <= char <= "\u202e":
            continue
        out.append(" " if (ord(char) < 32 and char != "\n") else char)
        position += units
    new_offset.append(position)
    cleaned = "".join(out)
    moved = []
    for entity in entities:
        start = new_offset[entity["offset"]]
        end = new_offset[min(entity["offset"] + entity["length"], len(new_offset) - 1)]
        if end > start:
            moved.append({**entity, "offset": start, "length": end - start})
    return _trim(cleaned, moved)


def _trim(cleaned: str, moved: list[JSON]) -> tuple[str, list[JSON]]:
    """Trim spaces and line breaks at both ends, as Telegram does, moving entities along."""
    # rtrim: entities are cut at the last non-space character
    stripped_right = cleaned.rstrip(" \n")
    end_units = utf16_len(stripped_right)
    trimmed = []
    for entity in moved:
        if entity["offset"] >= end_units:
            continue
        length = min(entity["length"], end_units - entity["offset"])
        trimmed.append({**entity, "length": length})
    # ltrim: only the spaces before the first entity go
    first = min((e["offset"] for e in trimmed), default=end_units)
    lead = len(stripped_right) - len(stripped_right.lstrip(" \n"))
    lead = min(lead, first)
    result = [{**e, "offset": e["offset"] - lead} for e in trimmed]
    return stripped_right[lead:], _sorted_entities(result)


# --------------------------------------------------------------------------------------------
# The server


class OfflineBotAPI:
    """The server side: users, chats, messages, the update queue and the log of bot calls."""

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
    ) -> None:
        """``latency``: seconds each call waits before it is answered, as a network round
        trip to Telegram would (for benchmarks and demos of concurrent updates)."""
        self.bot_user = OfflineUser(bot_id, first_name, username=username, is_bot=True)
        self.privacy_mode = privacy_mode
        self.strict_html = strict_html
        self.token = token
        self.clock = clock
        self.calls: list[ApiCall] = []
        self.users: dict[int, OfflineUser] = {}
        self.chats: dict[int, _ChatState] = {}
        self.callback_answers: dict[str, JSON] = {}
        self.inline_answers: dict[str, JSON] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON | None = None
        self.default_menu_button: JSON = {"type": "commands"}
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._poll: _Poll | None = None
        self._next_user_id = 10001
        self._next_group_id = 4000000001
        self._next_supergroup_id = 1000000001
        self._next_query_id = 1
        self._open_callbacks: set[str] = set()
        self._open_inline_queries: dict[str, OfflineUser] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._listeners: list[Listener] = []
        self.latency = latency
        self._holds: dict[str, asyncio.Event] = {}
        self._arrival = asyncio.Event()
        table: dict[str, Callable[[JSON], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
        }
        self._methods = {name.lower(): handler for name, handler in table.items()}

    # ---- the call log -----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        """Every call of one Bot API method (names compare case-insensitively, as Telegram's)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def clear_calls(self) -> None:
        """Forget the calls made so far (state such as messages is kept)."""
        self.calls.clear()

    @property
    def unknown_calls(self) -> list[ApiCall]:
        """Calls of methods this stand-in does not implement (answered 404 Not Found)."""
        return [call for call in self.calls if call.method.lower() not in self._methods]

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(call)`` after every answered request (e.g. to print bot messages)."""
        self._listeners.append(listener)

    def hold(self, method: str) -> None:
        """Keep calls of ``method`` waiting, recorded but unanswered, until ``release``."""
        self._holds[method.lower()] = asyncio.Event()

    def release(self, method: str) -> None:
        """Answer the held calls of ``method``, and later ones at once."""
        gate = self._holds.pop(method.lower(), None)
        if gate is not None:
            gate.set()

    async def wait_for_calls(self, method: str, count: int) -> None:
        """Wait until ``count`` calls of ``method`` have arrived (answered or not)."""
        while len(self.calls_to(method)) < count:
            self._arrival.clear()
            await self._arrival.wait()

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        network: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail: an API error or a network error.

        A 429 carries ``parameters.retry_after`` (default 1), so PTB raises ``RetryAfter``;
        ``network=True`` makes the transport raise ``telegram.error.NetworkError`` instead.
        """
        error: ApiError | None = None
        if not network:
            parameters: JSON | None = None
            if error_code == 429:
                retry_after = 1 if retry_after is None else retry_after
            if retry_after is not None:
                parameters = {"retry_after": retry_after}
            if description is None:
                description = (
                    f"Too Many Requests: retry after {retry_after}"
                    if error_code == 429
                    else f"Error {error_code}"
                )
            error = ApiError(error_code, description, parameters)
        queue = self._failures.setdefault(method.lower(), deque())
        queue.extend(_Failure(error, network) for _ in range(times))

    # ---- dispatch ---------------------------------------------------------------------------

    async def dispatch(self, method: str, params: JSON) -> tuple[int, JSON]:
        """Answer one Bot API call: (HTTP status, envelope). Records it in ``calls``.

        Raises ``telegram.error.NetworkError`` for a planted network failure.
        """
        params = _decode_json_fields(params)
        call = ApiCall(method, params)
        self.calls.append(call)
        self._arrival.set()
        gate = self._holds.get(method.lower())
        if gate is not None:
            await gate.wait()
        if self.latency:
            await asyncio.sleep(self.latency)
        planted = self._failures.get(method.lower())
        if planted:
            failure = planted.popleft()
            if failure.network:
                call.network_error = True
                raise NetworkError(f"offline API: planted network failure in {method}")
            assert failure.error is not None
            call.error = failure.error
            return failure.error.error_code, failure.error.to_dict()
        handler = self._methods.get(method.lower())
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
        except ApiError as error:
            call.error = error
            self._notify(call)
            return error.error_code, error.to_dict()
        call.result = _clone(result)
        self._notify(call)
        return 200, {"ok": True, "result": result}

    def _notify(self, call: ApiCall) -> None:
        for listener in self._listeners:
            listener(call)

    # ---- users and chats (acting as Telegram) -------------------------------------------------

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
        self.chats[chat.id] = _ChatState(chat)
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
        state = _ChatState(chat)
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

    # ---- acting as users --------------------------------------------------------------------

    def send_text(
        self,
        chat: ChatRef,
        user: OfflineUser,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        queue: bool = True,
    ) -> JSON:
        """``user`` sends ``text`` to ``chat``; returns the update (queued for getUpdates).

        ``reply_to`` is a message id in that chat (the update carries the full replied message);
        ``thread_id`` posts into a forum topic made with ``create_topic``. In a group the
        update is queued only if Telegram would deliver it (see ``would_deliver``).
        """
        state = self._poster_state(chat, user)
        target = None
        if reply_to is not None:
            target = self._existing(state, reply_to, LookupError)
            if thread_id is None:
                thread_id = target.get("message_thread_id") if state.chat.is_forum else None
        if thread_id is not None and state.chat.is_forum and thread_id not in state.topics:
            raise LookupError(f"no topic {thread_id} in chat {state.chat.id}; use create_topic")
        text, entities = _clean_and_trim(text, [])
        if not text:
            raise ValueError("Telegram clients do not send empty messages")
        entities = find_bot_commands(text)
        message = self._store_message(
            state, user, text=text, entities=entities, reply_to=target, thread_id=thread_id
        )
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
        text, _ = _clean_and_trim(new_text, [])
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
            "message": _clone(message),
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
        markup = self._inline_markup(result.get("reply_markup"))
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

    # ---- what the bot sent ------------------------------------------------------------------

    def messages(self, chat: ChatRef) -> list[JSON]:
        """Every message in the chat (users' and the bot's), oldest first, current state."""
        state = self._state(chat)
        return [_clone(state.messages[i]) for i in sorted(state.messages)]

    def sent_messages(self, chat: ChatRef) -> list[JSON]:
        """The bot's messages in the chat, oldest first, as they are now (edits applied)."""
        return [m for m in self.messages(chat) if m.get("from", {}).get("id") == self.bot_user.id]

    def message(self, chat: ChatRef, message_id: int) -> JSON:
        """One message as it is now; ``LookupError`` if it does not exist (or was deleted)."""
        return _clone(self._existing(self._state(chat), message_id, LookupError))

    def button_by_number(self, chat: ChatRef, message_id: int, number: int) -> JSON:
        """The ``number``-th inline button (1-based, row by row) of a message, as JSON."""
        message = self.message(chat, message_id)
        rows: list[list[JSON]] = message.get("reply_markup", {}).get("inline_keyboard", [])
        buttons = [button for row in rows for button in row]
        if not 1 <= number <= len(buttons):
            raise LookupError(f"message {message_id} has {len(buttons)} buttons, not {number}")
        return buttons[number - 1]

    def my_commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[JSON]:
        """The command menu set for a scope (default scope when omitted)."""
        return _clone(self.commands.get(_scope_key(scope, language_code), []))

    def pending_updates(self) -> list[JSON]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return _clone(self._updates)

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

    # ---- internals: state ---------------------------------------------------------------------

    def _state(self, chat: ChatRef) -> _ChatState:
        chat_id = chat.id if isinstance(chat, OfflineChat) else chat
        try:
            return self.chats[chat_id]
        except KeyError:
            raise LookupError(
                f"no chat {chat_id}; create it with private_chat() or group()"
            ) from None

    def _poster_state(self, chat: ChatRef, user: OfflineUser) -> _ChatState:
        """The chat ``user`` posts in; posting makes them a member again."""
        state = self._state(chat)
        if state.chat.type == "private" and state.chat.id != user.id:
            raise ValueError(f"{user.first_name} cannot post in another user's private chat")
        self.users.setdefault(user.id, user)
        state.left.discard(user.id)
        return state

    def _existing(
        self, state: _ChatState, message_id: int, error: type[Exception] | ApiError
    ) -> JSON:
        message = state.messages.get(message_id)
        if message is None:
            if isinstance(error, ApiError):
                raise error
            raise error(f"no message {message_id} in chat {state.chat.id}")
        return message

    def _store_message(
        self,
        state: _ChatState,
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
                k: _clone(v) for k, v in reply_to.items() if k != "reply_to_message"
            }
        if text is not None:
            message["text"] = text
            if entities:
                message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        if extra:
            message.update(_clone(extra))
        state.messages[message["message_id"]] = message
        return message

    def _user_update(
        self,
        kind: str,
        state: _ChatState,
        message: JSON,
        queue: bool,
        *,
        delivered: bool | None = None,
    ) -> JSON:
        if delivered is None:
            delivered = self.would_deliver(state.chat, message)
        if delivered:
            state.delivered.add(message["message_id"])
        return self._queue({kind: _clone(message)}, queue and delivered)

    def _queue(self, payload: JSON, queue: bool) -> JSON:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        if queue:
            self._updates.append(_clone(update))
            if self._poll is not None:
                self._poll.event.set()
        return update

    def _my_chat_member(
        self, state: _ChatState, by: OfflineUser, old: str, new: str, queue: bool
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

    # ---- internals: parameter checks ------------------------------------------------------------

    def _chat_param(self, params: JSON, key: str = "chat_id") -> _ChatState:
        raw = params.get(key)
        if raw is None or raw == "":
            raise bad_request(f"{key} is empty")
        state: _ChatState | None = None
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

    def _writable_chat(self, params: JSON) -> _ChatState:
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
            text, entities = raw, _sorted_entities(_clone(explicit))
        elif parse_mode in (None, ""):
            text, entities = raw, []
        elif str(parse_mode).lower() == "html":
            try:
                text, entities = parse_html(raw, strict=self.strict_html)
            except EntityParseError as error:
                raise bad_request(f"can't parse entities: {error.reason}") from None
        elif str(parse_mode).lower() in ("markdown", "markdownv2"):
            raise bad_request(
                f"can't parse entities: the offline API implements parse_mode HTML only, "
                f"not {parse_mode}"
            )
        else:
            raise bad_request("unsupported parse_mode")
        text, entities = _clean_and_trim(text, entities)
        if not text:
            raise bad_request("message text is empty")
        # Telegram documents the limit in characters; it counts UTF-16 code units.
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return text, _merge_detected(entities, find_bot_commands(text))

    def _inline_markup(self, markup: Any) -> JSON | None:
        """Validate a reply_markup; returns the inline keyboard to keep on the message."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of '
                    "Arrays"
                )
            if sum(len(row) for row in rows) > MAX_KEYBOARD_BUTTONS:
                raise bad_request("reply markup is too long")
            for row in rows:
                for button in row:
                    _check_inline_button(button)
            rows = [row for row in rows if row]
            return {"inline_keyboard": _clone(rows)} if rows else None
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

    def _thread(self, state: _ChatState, params: JSON) -> int | None:
        thread_id = params.get("message_thread_id")
        if thread_id is None or not state.chat.is_forum:
            return None  # outside forums Telegram ignores it for our purposes
        if not isinstance(thread_id, int) or thread_id not in state.topics:
            raise bad_request("message thread not found")
        return thread_id

    def _reply_target(self, state: _ChatState, params: JSON) -> JSON | None:
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
        if message.get("from", {}).get("id") != self.bot_user.id or "text" not in message:
            raise bad_request("message can't be edited")
        return message

    # ---- methods ----------------------------------------------------------------------------

    async def _true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = params.get("offset")
        limit = params.get("limit", 100)
        timeout = params.get("timeout", 0)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            limit = 100
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed] or None
        if isinstance(offset, int):
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        found = self._select_updates(limit)
        if found or not isinstance(timeout, int | float) or timeout <= 0:
            return found
        if self._poll is not None:  # the older long poll loses, as on Telegram
            self._poll.terminated = True
            self._poll.event.set()
        poll = _Poll()
        self._poll = poll
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(poll.event.wait(), timeout)
        finally:
            if self._poll is poll:
                self._poll = None
        if poll.terminated:
            raise ApiError(409, POLL_TERMINATED)
        return self._select_updates(limit)

    def _select_updates(self, limit: int) -> list[JSON]:
        def allowed(update: JSON) -> bool:
            kind = next(k for k in update if k != "update_id")
            if self._allowed_updates is None:
                return kind not in _OPT_IN_UPDATES
            return kind in self._allowed_updates

        return [_clone(u) for u in self._updates if allowed(u)][:limit]

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(params)
        if not str(url).startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {k: v for k, v in params.items() if k != "certificate"}
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook and self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > MAX_BOT_COMMANDS:
            raise bad_request("too many commands specified")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            # Telegram's rules: 1-32 of a-z 0-9 _, a 1-256 character description.
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = self._checked_scope(params.get("scope"))
        key = _scope_key(scope, params.get("language_code", ""))
        self.commands[key] = _clone(commands)
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        scope = self._checked_scope(params.get("scope"))
        return _clone(self.commands.get(_scope_key(scope, params.get("language_code", ""))) or [])

    async def _delete_my_commands(self, params: JSON) -> bool:
        scope = self._checked_scope(params.get("scope"))
        self.commands.pop(_scope_key(scope, params.get("language_code", "")), None)
        return True

    def _checked_scope(self, scope: Any) -> JSON | None:
        if scope is None:
            return None
        kinds = {
            "default",
            "all_private_chats",
            "all_group_chats",
            "all_chat_administrators",
            "chat",
            "chat_administrators",
            "chat_member",
        }
        if not isinstance(scope, dict) or scope.get("type") not in kinds:
            raise bad_request("can't parse BotCommandScope JSON object")
        if str(scope["type"]).startswith("chat"):
            self._chat_param(scope)
        return dict(scope)

    async def _set_chat_menu_button(self, params: JSON) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if params.get("chat_id") is None:
            self.default_menu_button = button
        else:
            self._chat_param(params).menu_button = button
        return True

    async def _get_chat_menu_button(self, params: JSON) -> JSON:
        if params.get("chat_id") is None:
            return self.default_menu_button
        return self._chat_param(params).menu_button or self.default_menu_button

    async def _send_message(self, params: JSON) -> JSON:
        state = self._writable_chat(params)
        text, entities = self._formatted(params, "text")
        markup = self._inline_markup(params.get("reply_markup"))
        thread_id = self._thread(state, params)
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
        if isinstance(params.get("link_preview_options"), dict):
            message["link_preview_options"] = params["link_preview_options"]
        return _clone(message)

    async def _edit_message_text(self, params: JSON) -> JSON:
        message = self._bot_message(params, "message to edit not found")
        text, entities = self._formatted(params, "text")
        # Without reply_markup an edit removes the inline keyboard, as on Telegram.
        markup = self._inline_markup(params.get("reply_markup"))
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
        return _clone(message)

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        message = self._bot_message(params, "message to edit not found")
        markup = self._inline_markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(self.clock())
        return _clone(message)

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

    async def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_callbacks:
            raise bad_request(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        text = params.get("text")
        # Documented as 0-200 characters; Telegram answers MESSAGE_TOO_LONG above its limit.
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        self.callback_answers[query_id] = _clone(params)
        return True

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
            self._inline_markup(result.get("reply_markup"))
        del self._open_inline_queries[query_id]
        self.inline_answers[query_id] = _clone(params)
        return True

    async def _get_chat(self, params: JSON) -> JSON:
        state = self._chat_param(params)
        if state.bot_removed and state.chat.type != "private":
            kind = "supergroup" if state.chat.type == "supergroup" else "group"
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        return {
            **state.chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, params: JSON) -> JSON:
        state = self._chat_param(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        user = self.bot_user if user_id == self.bot_user.id else self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        if state.chat.type == "private":
            if user_id not in (state.chat.id, self.bot_user.id):
                raise bad_request("user not found")
            return {"status": "member", "user": user.to_dict()}
        return _member(state, user)

    async def _get_chat_administrators(self, params: JSON) -> list[JSON]:
        state = self._chat_param(params)
        if state.chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        ids = ([state.owner_id] if state.owner_id is not None else []) + sorted(
            state.admin_ids - {state.owner_id}
        )
        users = [self.bot_user if i == self.bot_user.id else self.users[i] for i in ids]
        return [_member(state, user) for user in users]


def _member(state: _ChatState, user: OfflineUser) -> JSON:
    """A ChatMember object for a group member."""
    if user.id == state.owner_id:
        return {"status": "creator", "user": user.to_dict(), "is_anonymous": False}
    if user.id in state.admin_ids:
        rights = (
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_promote_members",
            "can_change_info",
            "can_invite_users",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
            "can_pin_messages",
            "can_manage_topics",
        )
        return {
            "status": "administrator",
            "user": user.to_dict(),
            "can_be_edited": False,
            "is_anonymous": False,
            **dict.fromkeys(rights, True),
        }
    if user.id in state.left:
        return {"status": "left", "user": user.to_dict()}
    return {"status": "member", "user": user.to_dict()}


def _check_inline_button(button: Any) -> None:
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
        if not isinstance(url, str) or _checked_link(url) is None:
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    for key in ("switch_inline_query", "switch_inline_query_current_chat"):
        if key in button and not isinstance(button[key], str):
            raise bad_request(prefix + f'Field "{key}" must be of type String')


def _set_or_drop(message: JSON, key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value


def _scope_key(scope: Mapping[str, Any] | None, language_code: Any) -> tuple[str, str]:
    """The key commands are stored under: (canonical scope JSON, language code)."""
    canonical = dict(scope) if scope else {"type": "default"}
    return json.dumps(canonical, sort_keys=True), str(language_code or "")


def _decode_json_fields(params: Mapping[str, Any]) -> JSON:
    """Round-trip through JSON, and decode object fields sent pre-serialised as strings."""
    decoded: JSON = json.loads(json.dumps(dict(params)))
    for key in decoded.keys() & _JSON_FIELDS:
        if isinstance(decoded[key], str):
            with contextlib.suppress(ValueError):
                decoded[key] = json.loads(decoded[key])
    return decoded


# --------------------------------------------------------------------------------------------
# The transport PTB talks to


class OfflineRequest(BaseRequest):
    """A PTB transport answering every call from an ``OfflineBotAPI``; no network at all."""

    def __init__(self, api: OfflineBotAPI, *, read_timeout: float | None = 5.0) -> None:
        self.api = api
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout PTB adds to getUpdates' long-poll timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up: there is no connection pool."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer ``.../bot<token>/<method>`` from the offline API as (status, JSON bytes)."""
        *_, token_segment, endpoint = url.split("/")
        if self.api.token is not None and token_segment != f"bot{self.api.token}":
            return 401, _encode({"ok": False, "error_code": 401, "description": "Unauthorized"})
        if method != "POST":  # file downloads (Bot.get_file(...).download) are not served
            return 404, _encode({"ok": False, "error_code": 404, "description": "Not Found"})
        params = request_data.parameters if request_data is not None else {}
        status, body = await self.api.dispatch(endpoint, params)
        return status, _encode(body)


def _clone(value: _T) -> _T:
    """A deep copy of JSON data (much faster than copy.deepcopy for it)."""
    copied: _T = json.loads(json.dumps(value))
    return copied


def _encode(body: JSON) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------------------------
# Terminal rendering (``newsbot chat``)

_MARKS: Final = {"bold": "*", "italic": "_", "code": "`", "strikethrough": "~"}


def format_message(message: Mapping[str, Any], *, marks: bool = False) -> str:
    """A message as terminal text: its plain text, then its inline buttons numbered by row.

    With ``marks``, bold/italic/code/strikethrough are wrapped in ``* _ ` ~`` and text links
    get their URL in angle brackets after the linked words.
    """
    text = str(message.get("text") or message.get("caption") or "")
    if marks and text:
        text = _apply_marks(text, message.get("entities", []))
    lines = [text] if text else []
    if not text and "forum_topic_created" in message:
        lines.append(f"(topic created: {message['forum_topic_created'].get('name', '')})")
    if not text and "new_chat_members" in message:
        names = ", ".join(m.get("first_name", "") for m in message["new_chat_members"])
        lines.append(f"({names} joined)")
    number = 0
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        cells = []
        for button in row:
            number += 1
            cell = f"[{number}] {button.get('text', '')}"
            if "url" in button:
                cell += f" <{button['url']}>"
            cells.append(cell)
        lines.append("  ".join(cells))
    return "\n".join(lines)


def _apply_marks(text: str, entities: Iterable[Mapping[str, Any]]) -> str:
    """Insert simple marks at entity boundaries (UTF-16 offsets)."""
    index = _utf16_to_index(text)
    inserts: list[tuple[int, int, str]] = []  # (str index, order, mark)
    last = len(index) - 1
    for order, entity in enumerate(entities):
        start = index[min(entity["offset"], last)]
        end = index[min(entity["offset"] + entity["length"], last)]
        kind = entity["type"]
        if kind in _MARKS:
            inserts.append((start, order, _MARKS[kind]))
            inserts.append((end, -order, _MARKS[kind]))
        elif kind == "text_link":
            inserts.append((end, -order, f" <{entity['url']}>"))
    result = text
    for position, _, mark in sorted(inserts, key=lambda item: (item[0], item[1]), reverse=True):
        result = result[:position] + mark + result[position:]
    return result
