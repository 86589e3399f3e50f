"""Text as the store keeps it: no control characters, whitespace tidied.

Every importer and the chat pass what they store through these, so no
control character, stray byte order mark or lone surrogate reaches the
database, whatever a file, a feed or a Telegram message carried.

Bidirectional embeddings, overrides and isolates (U+202A-U+202E,
U+2066-U+2069) are removed too, from names and bodies alike: an override
turns the text after it around until it is closed, and a body is shown cut
short and joined to other text (search snippets, previews), where a pair kept
balanced in the stored text can lose its closing half. Right-to-left text
needs none of them to read right; the marks U+200E and U+200F, which turn no
text around, stay.
"""

from __future__ import annotations

import re

# C0 and C1 controls except tab and line feed (handled below), zero-width space,
# bidirectional embeddings, overrides and isolates, byte order mark, and lone
# surrogates (which cannot even be encoded as UTF-8).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)
_LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
# A decoded string holds a surrogate only if its source had a lone one (JSON allows it).
_SURROGATE = re.compile(r"[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def is_valid(text: str) -> bool:
    """Whether the text can be encoded (it holds no lone surrogate)."""
    return text.isascii() or _SURROGATE.search(text) is None


def valid_text(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD, so it can be encoded."""
    return text if is_valid(text) else _SURROGATE.sub(REPLACEMENT, text)


def clean_line(text: str) -> str:
    """Text on one line: control characters removed, runs of whitespace made one space."""
    return " ".join(_CONTROL.sub("", _LINE_BREAKS.sub("\n", text)).split())


def clean_body(text: str) -> str:
    """Text that keeps its line breaks: control characters and trailing blanks removed."""
    text = _CONTROL.sub("", _LINE_BREAKS.sub("\n", text).replace("\t", " "))
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def shorten(text: str, limit: int) -> str:
    """Text cut at a word boundary to at most ``limit`` characters, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return (cut or text[: limit - 1]) + "\u2026"
