"""Telegram's text rules: UTF-16 lengths, the HTML parse mode, bot commands, clean-up.

``parse_html`` follows tdlib's ``parse_html``: the same tags, entity decoding, nesting rules
and error texts. Where this stand-in is stricter than Telegram (a bare '&'), the error says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from bot.offline.state import JSON


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; ``reason`` is what follows "can't parse entities: "."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and limits."""
    return len(text.encode("utf-16-le")) // 2


def utf16_to_index(text: str) -> list[int]:
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


def checked_link(url: str) -> str | None:
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
    return "".join(out), sorted_entities(_merge_splittable(entities))


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
        url = checked_link(top.argument or inner_text)
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


def sorted_entities(entities: Iterable[JSON]) -> list[JSON]:
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


def merge_detected(entities: list[JSON], detected: list[JSON]) -> list[JSON]:
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
    return sorted_entities([*entities, *kept])


_NEEDS_CLEANING = re.compile("[\x00-\x09\x0b-\x1f\u2028-\u202e]")


def clean_and_trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
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
    return stripped_right[lead:], sorted_entities(result)
