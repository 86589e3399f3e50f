"""HTML turned into clean text blocks: paragraphs, headings and bullet items.

Built on the standard library's ``html.parser``, which never raises on bad
markup. Nothing of the markup survives: tags and attributes are never copied
(so no ``onerror=`` or ``javascript:`` URL can), the contents of scripts,
styles, embedded documents and forms are dropped whole, and text that still
looks like a tag after decoding (markup escaped twice) is parsed again.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from storage.models import Block, BlockKind
from storage.text import clean_line

MAX_TEXT = 200_000
REPARSE_ROUNDS = 3

# Elements dropped with everything inside them.
# fmt: off
_DROPPED = frozenset({
    "script", "style", "noscript", "iframe", "frame", "frameset", "object", "embed", "applet",
    "template", "head", "title", "svg", "math", "select", "textarea", "button", "input",
    "option", "datalist", "canvas", "audio", "video", "map", "param", "source", "track",
    "noembed", "noframes", "xmp", "plaintext",
})
# fmt: on
# Of those, the ones that have no end tag, so nothing inside to drop.
_VOID = frozenset({"embed", "input", "param", "source", "track", "frame"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# fmt: off
_BREAKS = frozenset({
    "p", "div", "br", "hr", "section", "article", "header", "footer", "main", "aside", "nav",
    "blockquote", "pre", "table", "thead", "tbody", "tfoot", "tr", "caption", "ul", "ol", "dl",
    "dt", "dd", "figure", "figcaption", "address", "center", "details", "summary", "fieldset",
    "legend", "body", "html", "form",
})
# fmt: on
_CELLS = frozenset({"td", "th"})
# A list's end also ends its last item, whose </li> is often left out.
_LISTS = frozenset({"li", "ul", "ol", "dl"})
_TAG_LIKE = re.compile(r"<(?=[a-zA-Z/!?])")
# Markup escaped twice reads, once decoded, as tags or as entities.
_ESCAPED = re.compile(r"<(?=[a-zA-Z/!?])|&(?:[a-zA-Z]{2,8}|#\d{1,7}|#x[0-9a-fA-F]{1,6});")


def html_to_blocks(markup: str) -> list[Block]:
    """The text of an HTML fragment as blocks, with no markup left in it."""
    blocks = _convert(markup)
    for _ in range(REPARSE_ROUNDS):
        if not any(_ESCAPED.search(block.text) for block in blocks):
            return blocks
        # "&amp;lt;script&amp;gt;" decodes to "&lt;script&gt;": read it as markup again.
        blocks = [again for block in blocks for again in _reparse(block)]
    # Still tag-like after several rounds: show the bracket, but as a harmless character.
    return [Block(block.kind, _TAG_LIKE.sub("\u2039", block.text)) for block in blocks]


def html_to_text(markup: str) -> str:
    """The text of an HTML fragment on one line (for titles and names)."""
    return " ".join(block.text for block in html_to_blocks(markup))


def text_to_blocks(text: str) -> list[Block]:
    """Plain text as paragraphs (split at blank lines), made safe like HTML's text."""
    paragraphs = re.split(r"\n\s*\n", text[: MAX_TEXT * 2])
    blocks = [Block("paragraph", clean) for part in paragraphs if (clean := clean_line(part))]
    if any(_TAG_LIKE.search(block.text) for block in blocks):
        blocks = [again for block in blocks for again in _reparse(block)]
        blocks = [Block(b.kind, _TAG_LIKE.sub("\u2039", b.text)) for b in blocks]
    return blocks


def _reparse(block: Block) -> list[Block]:
    found = _convert(block.text)
    if block.kind == "paragraph":
        return found
    return [Block(block.kind, " ".join(b.text for b in found))] if found else []


def _convert(markup: str) -> list[Block]:
    converter = _Converter()
    try:
        converter.feed(markup[: MAX_TEXT * 5])
        converter.close()
    except (AssertionError, ValueError, IndexError):  # html.parser's rare internal errors
        pass
    converter.flush()
    return converter.blocks


class _Converter(HTMLParser):
    """Collects text into blocks as block-level tags open and close."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.kind: BlockKind = "paragraph"
        self.parts: list[str] = []
        self.dropping: list[str] = []  # open dropped elements, innermost last
        self.size = 0

    def flush(self) -> None:
        text = clean_line("".join(self.parts))
        self.parts = []
        if text and self.size < MAX_TEXT:
            text = text[: MAX_TEXT - self.size]
            self.size += len(text)
            self.blocks.append(Block(self.kind, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            if tag not in _VOID:
                self.dropping.append(tag)
            return
        if self.dropping:
            return
        if tag in _HEADINGS or tag == "li":
            self.flush()
            self.kind = "heading" if tag in _HEADINGS else "bullet"
        elif tag in _BREAKS:
            self.flush()
        elif tag in _CELLS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED or self.dropping:
            return
        if tag in _BREAKS:
            self.flush()

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            if tag in self.dropping:
                while self.dropping.pop() != tag:
                    pass
            return
        if tag in _HEADINGS or tag in _LISTS:
            self.flush()
            self.kind = "paragraph"
        elif tag in _BREAKS:
            self.flush()
        elif tag in _CELLS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.parts.append(data)
