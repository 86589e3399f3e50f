"""RSS and Atom feeds, read with feedparser; their HTML becomes clean text blocks.

feedparser copes with real-world breakage (it reads many ill-formed feeds and
says so in ``bozo``); a document with no usable entry is refused with one
line. feedparser's own sanitiser is switched off because ours (``markup``)
keeps the structure it needs and drops every tag anyway.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
import warnings
from typing import Any
from xml.sax import SAXParseException

import feedparser

from storage.clock import from_struct
from storage.errors import IngestError
from storage.ingest.markup import html_to_blocks, html_to_text, text_to_blocks
from storage.limits import MAX_TAG, MAX_TAGS, MAX_TITLE
from storage.models import Block, ParsedArticle
from storage.text import clean_line, shorten

MAX_URL = 2_000
# A URL holds no blank, no control character (a NUL, which PostgreSQL's text refuses)
# and no quote or angle bracket.
_URL = re.compile(r"https?://[^\s<>\"'\x00-\x1f\x7f]+", re.IGNORECASE)
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})")  # W3C dates, as Atom writes them
_GLOBAL_ID = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # a URL, tag: or urn: id


def parse_feed(data: bytes, source: str) -> list[ParsedArticle]:
    """Every usable entry of an RSS or Atom document; IngestError when there is none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = feedparser.parse(data, resolve_relative_uris=False, sanitize_html=False)
    except Exception as error:  # feedparser's parsers can fail in their own ways
        raise IngestError(source, f"not a readable feed ({type(error).__name__})") from None
    entries: list[Any] = list(parsed.get("entries") or [])
    if not entries:
        problem = parsed.get("bozo_exception")
        if parsed.get("bozo") and problem is not None:
            line = _line_of(problem, data)
            raise IngestError(source, f"not an RSS or Atom feed ({_one_line(problem)})", line)
        if not parsed.get("version"):
            raise IngestError(source, "not an RSS or Atom feed")
        raise IngestError(source, "the feed has no articles")
    feed = parsed.get("feed") or {}
    # Readers see the feed's own name on a card; the file or URL names it in errors.
    desk = html_to_text(str(feed.get("title") or ""))[:100] or source
    feed_id = clean_line(str(feed.get("id") or feed.get("link") or feed.get("title") or ""))
    articles: list[ParsedArticle] = []
    notes: list[str] = []
    first_of: dict[str, int] = {}  # source key -> the entry number that had it first
    for number, entry in enumerate(entries, start=1):
        article = _article(entry, desk, feed_id)
        if article is None:
            continue
        if article.source_key in first_of:
            notes.append(
                f"entry {number} has the same id as entry {first_of[article.source_key]}; "
                "imported the first of them"
            )
            continue
        first_of[article.source_key] = number
        articles.append(article)
    if not articles:
        raise IngestError(source, "no entry in the feed has a title or any text")
    if parsed.get("bozo") and parsed.get("bozo_exception") is not None:
        note = f"the feed is not entirely valid ({_one_line(parsed['bozo_exception'])}); "
        notes.insert(0, note + f"imported the {len(articles)} readable entries")
    if notes:
        articles[0] = dataclasses.replace(articles[0], warnings=tuple(notes))
    return articles


def _one_line(error: object) -> str:
    """The parser's complaint, without the position ``_line_of`` reports."""
    message = error.getMessage() if isinstance(error, SAXParseException) else str(error)
    return (clean_line(message) or type(error).__name__)[:120]


def _line_of(error: object, data: bytes) -> int | None:
    """The line of the document an XML error is on, when the parser said."""
    if not isinstance(error, SAXParseException):
        return None
    line = error.getLineNumber()
    if not isinstance(line, int) or line < 1:
        return None
    # feedparser puts an XML declaration on a line of its own before a document
    # that has none, so the parser counts one line too many.
    head = data.decode("utf-16", "ignore") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
    declared = data.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml") or head.startswith("<?xml")
    return line if declared else max(1, line - 1)


def _article(entry: Any, desk: str, feed_id: str) -> ParsedArticle | None:
    blocks = _body(entry)
    title = _title(entry)
    if not title and blocks:
        title = shorten(blocks[0].text, 80)
    if not title:
        return None
    if not blocks:
        blocks = [Block("paragraph", title)]
    url = _url(entry.get("link"))
    return ParsedArticle(
        title=title,
        blocks=tuple(blocks),
        source_key=_source_key(entry, url, title, feed_id),
        source=desk,
        url=url,
        published_at=_published(entry),
        tags=_tags(entry),
    )


def _title(entry: Any) -> str:
    raw = entry.get("title")
    if not isinstance(raw, str):
        return ""
    detail = entry.get("title_detail") or {}
    kind = str(detail.get("type") or "")
    text = html_to_text(raw) if "html" in kind else " ".join(b.text for b in text_to_blocks(raw))
    return shorten(text, MAX_TITLE)


def _body(entry: Any) -> list[Block]:
    """The longest of the entry's contents and its summary, as blocks."""
    candidates: list[tuple[str, str]] = []
    for content in entry.get("content") or []:
        if isinstance(content, dict) and isinstance(content.get("value"), str):
            candidates.append((content["value"], str(content.get("type") or "")))
    summary = entry.get("summary")
    if isinstance(summary, str):
        detail = entry.get("summary_detail") or {}
        candidates.append((summary, str(detail.get("type") or "text/html")))
    # The fullest text wins; on a tie the content, which comes first, over the summary.
    best: list[Block] = []
    for value, kind in sorted(candidates, key=lambda c: len(c[0]), reverse=True)[:2]:
        blocks = html_to_blocks(value) if "html" in kind else text_to_blocks(value)
        if _length(blocks) > _length(best) + 1:
            best = blocks
    return best


def _length(blocks: list[Block]) -> int:
    return sum(len(block.text) for block in blocks)


def _url(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    match = _URL.fullmatch(value.strip())
    return match.group(0) if match and len(value) <= MAX_URL else None


def _source_key(entry: Any, url: str | None, title: str, feed_id: str) -> str:
    """An entry's identity across imports: its id if global, else qualified by its feed."""
    entry_id = clean_line(str(entry.get("id") or ""))[:MAX_URL]
    if entry_id and _GLOBAL_ID.match(entry_id):
        return f"feed:{entry_id}"
    local = entry_id or url or title.casefold()
    return f"feed:{feed_id}#{local}" if feed_id else f"feed:{local}"


def _published(entry: Any) -> str | None:
    """The entry's date in UTC; a date the feed got wrong (a 13th month) is no date.

    feedparser rolls an impossible date over (2021-13-45 becomes 2022-02-14),
    so the raw text is checked before its reading is believed.
    """
    for key in ("published", "updated", "created"):
        raw, value = entry.get(key), entry.get(f"{key}_parsed")
        if isinstance(raw, str) and (numbers := _ISO_DATE.match(raw)):
            try:
                dt.date(*(int(n) for n in numbers.groups()))
            except ValueError:
                continue
        if isinstance(value, time.struct_time) and 1 <= value.tm_year <= 9999:
            try:
                return from_struct(value)
            except (ValueError, OverflowError):
                continue
    return None


def _tags(entry: Any) -> tuple[str, ...]:
    tags: list[str] = []
    for tag in entry.get("tags") or []:
        term = tag.get("term") if isinstance(tag, dict) else None
        if not isinstance(term, str):
            continue
        name = html_to_text(term).lower()
        if name and len(name) <= MAX_TAG and name not in tags:
            tags.append(name)
    return tuple(tags[:MAX_TAGS])
