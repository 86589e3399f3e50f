"""Pure functions from models to Telegram HTML.

Every value that came from a user or a feed is escaped here, at the last
moment, with ``html.escape``. Long texts are split by their plain-text length
(which is what Telegram counts) at line boundaries, and each piece is escaped
and tagged on its own, so a split never lands inside a tag or an entity.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram.constants import MessageLimit

from storage.models import (
    Article,
    ArticleLine,
    Comment,
    CommentPage,
    SearchHit,
    TimelineEvent,
    TopicTimeline,
)
from storage.search import SNIPPET_END, SNIPPET_START
from storage.text import shorten

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted in UTF-16 code units
MIN_PIECE = 400  # a long line starts in the current message only if this much room is left
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def esc(text: str) -> str:
    """Escape a value for Telegram HTML (quotes too, for attribute safety)."""
    if not text.isprintable():  # control characters go (a printable text has none)
        text = _CONTROL.sub("", text)
    return html.escape(text, quote=True)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a message: its plain text, and how to wrap its escaped text."""

    text: str
    tag: str | None = None  # "b", "i" or None
    prefix: str = ""  # trusted markup before the text (already HTML)
    prefix_plain: str = ""  # what the prefix shows as plain text
    suffix: str = ""  # trusted markup after the text
    suffix_plain: str = ""

    def html(self, text: str | None = None) -> str:
        """The line as HTML, optionally with a piece of its text in place of the whole."""
        body = esc(self.text if text is None else text)
        if self.tag:
            body = f"<{self.tag}>{body}</{self.tag}>"
        return self.prefix + body + self.suffix


def _take(text: str, limit: int) -> tuple[str, str]:
    """The first piece of plain text of at most ``limit`` UTF-16 units (at a space if
    possible), and the rest."""
    cut = limit
    while utf16_len(text[:cut]) > limit:
        cut -= 1
    space = text.rfind(" ", 0, cut)
    if space > cut // 2:
        cut = space
    cut = max(cut, 1)
    return text[:cut].rstrip(), text[cut:].lstrip()


def split_message(lines: Sequence[Line], limit: int = MAX_TEXT) -> list[str]:
    """Join lines into as few messages as fit, each under ``limit`` plain characters.

    A line too long for the room left is cut at a space: its first piece fills
    the message (when there is a fair amount of room), the rest goes on.
    """
    sizes = [
        (utf16_len(line.prefix_plain + line.suffix_plain), utf16_len(line.text)) for line in lines
    ]
    if sum(decoration + size for decoration, size in sizes) + len(sizes) - 1 <= limit:
        # All of it fits in one message (as it mostly does): no line is cut.
        whole = "\n".join(line.html() for line in lines).strip("\n")
        return [whole] if whole.strip() else [""]
    messages: list[str] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current:
            messages.append("\n".join(current).strip("\n"))
        current, size = [], 0

    for line, (decoration, _) in zip(lines, sizes, strict=True):
        text = line.text
        while True:
            gap = 1 if current else 0
            room = limit - size - gap - decoration
            if utf16_len(text) <= room:
                current.append(line.html(text))
                size += gap + decoration + utf16_len(text)
                break
            if current and (room < MIN_PIECE or not text):
                flush()  # and try again in a message of its own
                continue
            if not text:  # only its decoration, too long even alone: nothing to cut
                current.append(line.html(text))
                size += decoration
                break
            piece, text = _take(text, max(room, 1))
            current.append(line.html(piece))
            size += gap + decoration + utf16_len(piece)
            flush()
    flush()
    return [m for m in messages if m.strip()] or [""]


def fit(text: str, units: int) -> str:
    """Text shortened (at a word, with an ellipsis) to at most ``units`` UTF-16 units."""
    if utf16_len(text) <= units:
        return text
    limit = units
    short = shorten(text, limit)
    while utf16_len(short) > units:
        if limit <= 1:
            return "\u2026" if units >= 1 else ""
        limit -= max(1, (utf16_len(short) - units) // 2)
        short = shorten(text, limit)
    return short


def title_in_text(title: str) -> str:
    """A title quoted inside a sentence: escaped, and short enough for any message."""
    return esc(fit(title, 200))


def format_date(iso: str | None) -> str:
    """``2025-12-03T10:00:00Z`` as ``3 December 2025``; empty when there is no date."""
    if not iso or len(iso) < 10:
        return ""
    year, month, day = iso[:4], iso[5:7], iso[8:10]
    try:
        return f"{int(day)} {MONTHS[int(month) - 1]} {year}"
    except (ValueError, IndexError):
        return iso[:10]


def event_date(event: TimelineEvent) -> str:
    """An event's date at its own precision: ``2022``, ``May 2016``, ``Early December 2025``.

    A day is named with its weekday (``Tuesday, 10 March 2026``), so a date the
    text gave as "on Tuesday" or "yesterday" reads as the day it resolved to; a
    week is the week of its Monday.
    """
    parts = event.date.split("-")
    try:
        if event.precision == "day" and len(parts) == 3:
            day = datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))
            text = f"{day.day} {MONTHS[day.month - 1]} {parts[0]}"
            if event.qualifier == "week":
                return f"Week of {text}"
            text = f"{WEEKDAYS[day.weekday()]}, {text}"
        elif event.precision in ("month", "day") and len(parts) >= 2:
            text = f"{MONTHS[int(parts[1]) - 1]} {parts[0]}"
        else:
            text = parts[0]
    except (ValueError, IndexError):
        text = event.date
    if event.qualifier:
        text = f"{event.qualifier.capitalize()} {text}"
    return text


def article_date(article: Article | ArticleLine) -> str:
    """The date a reader cares about: published, else imported."""
    return format_date(article.published_at or article.imported_at)


def plural(count: int, word: str) -> str:
    """``1 comment``, ``2 comments``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def article_card(article: Article, comment_count: int) -> str:
    """The article card: title, date and source, summary, comment count.

    One message whatever the article holds: a card goes out whole (also as an
    inline result), so its parts are shortened to fit Telegram's limit.
    """
    meta = fit(" · ".join(part for part in (article_date(article), article.source) if part), 200)
    title = fit(article.title, 300)
    tags = " ".join(fit(hashtag(tag), 60) for tag in article.tags[:5])
    footer = f"💬 {plural(comment_count, 'comment')} · id {article.id}"
    if tags:
        footer += f"\n{tags}"
    room = MAX_TEXT - utf16_len(f"{title}\n{meta}\n\n\n\n{footer}")
    lines = [f"<b>{esc(title)}</b>"]
    if meta:
        lines.append(f"<i>{esc(meta)}</i>")
    lines.append("")
    summary = fit(article.summary, min(room, 3000)) if article.summary else ""
    lines.append(esc(summary) if summary else "<i>No summary.</i>")
    lines.append("")
    lines.append(esc(footer))
    return "\n".join(lines)


def full_text(article: Article) -> list[str]:
    """The whole article, headings in bold and bullet items as bullets, split to fit."""
    lines = [Line(article.title, tag="b")]
    if article.url:
        lines.append(Line(article.url))
    previous = None
    for block in article.blocks:
        if block.kind == "bullet":
            if previous != "bullet":
                lines.append(Line(""))
            lines.append(Line(block.text, prefix="• ", prefix_plain="• "))
        elif block.kind == "heading":
            lines.extend([Line(""), Line(block.text, tag="b")])
        else:
            lines.extend([Line(""), Line(block.text)])
        previous = block.kind
    return split_message(lines)


def summary_text(article: Article) -> list[str]:
    """An article's summary under its title."""
    lines = [Line(article.title, tag="b"), Line("")]
    if article.summary:
        lines.extend(Line(line) for line in article.summary.split("\n"))
    else:
        lines.append(Line("This article has no summary.", tag="i"))
    return split_message(lines)


def timeline_text(article: Article, events: Sequence[TimelineEvent]) -> list[str]:
    """An article's dated events, oldest first."""
    lines = [Line(f"Timeline: {article.title}", tag="b"), Line("")]
    if not events:
        lines.append(Line("This article reports no dated events.", tag="i"))
    for event in events:
        when = event_date(event)
        lines.append(Line(event.label, prefix=f"<b>{esc(when)}</b> — ", prefix_plain=f"{when} — "))
    return split_message(lines)


def hashtag(tag: str) -> str:
    """A topic as a hashtag (plain text): ``sea of japan`` is ``#sea_of_japan``."""
    return "#" + "_".join(tag.split())


def topic_timeline_text(timeline: TopicTimeline) -> list[str]:
    """Events of every article on a topic, each pointing back to its article."""
    lines = [Line(f"Timeline: {hashtag(timeline.tag)}", tag="b")]
    if timeline.earlier:
        lines.append(Line(f"the latest {len(timeline.events)} events", tag="i"))
    lines.append(Line(""))
    for item in timeline.events:
        when = event_date(item.event)
        lines.append(
            Line(item.event.label, prefix=f"<b>{esc(when)}</b> — ", prefix_plain=f"{when} — ")
        )
        pointer = f"   ↳ {item.article_title} · /article {item.article_id}"
        lines.append(Line(pointer, tag="i"))
    return split_message(lines)


def latest_text(articles: Sequence[ArticleLine]) -> list[str]:
    """The newest articles, one line each, numbered like their buttons."""
    if not articles:
        return ["No articles yet. An operator can load some with <code>newsbot import</code>."]
    lines = [Line("Latest articles", tag="b"), Line("")]
    for n, item in enumerate(articles, start=1):
        date = article_date(item)
        lines.append(
            Line(
                shorten(item.title, 200),
                prefix=f"{n}. ",
                prefix_plain=f"{n}. ",
                suffix=f" <i>· {esc(date)}</i>" if date else "",
                suffix_plain=f" · {date}" if date else "",
            )
        )
    return split_message(lines)


def more_new_articles(count: int) -> str:
    """The line after pushed cards when more articles came than were pushed."""
    noun = "article" if count == 1 else "articles"
    return f"…and {count} more new {noun}: /latest lists them."


def comment_status_line(comment: Comment) -> str | None:
    """The placeholder shown instead of a hidden or deleted comment's text."""
    if comment.status == "deleted":
        return "[deleted by its author]"
    if comment.status == "hidden":
        return "[hidden by a moderator]"
    return None


def _comment_lines(comment: Comment) -> list[Line]:
    indent = "    " * min(comment.depth, 4)
    arrow = "↳ " if comment.depth else ""
    placeholder = comment_status_line(comment)
    if placeholder:
        text = f"{indent}{arrow}#{comment.id} {placeholder}"
        return [Line(text, tag="i")]
    when = format_date(comment.created_at)
    edited = " · edited" if comment.edited_at else ""
    head_plain = f"{indent}{arrow}"
    head = [
        Line(
            comment.author,
            tag="b",
            prefix=esc(head_plain),
            prefix_plain=head_plain,
        ),
    ]
    meta = f"{indent}{'  ' if comment.depth else ''}#{comment.id} · {when}{edited}"
    head.append(Line(meta, tag="i"))
    body_indent = indent + ("  " if comment.depth else "")
    body = [
        Line(text, prefix=esc(body_indent), prefix_plain=body_indent)
        for text in comment.body.splitlines() or [""]
    ]
    return [*head, *body]


def comments_text(page: CommentPage, asked: int | None = None) -> list[str]:
    """One page of a comment section: top-level comments with their replies nested.

    ``asked``: the page the reader asked for, when it was past the last one.
    """
    header = f"Comments on {page.title}"
    count = f"{plural(page.total, 'comment')} · page {page.page} of {page.pages}"
    if asked is not None and asked > page.pages:
        count += f" (there is no page {asked})"
    lines = [Line(header, tag="b"), Line(count, tag="i")]
    if not page.comments:
        lines.extend([Line(""), Line("No comments yet. Be the first: press Comment.")])
    for comment in page.comments:
        lines.append(Line(""))
        lines.extend(_comment_lines(comment))
    return split_message(lines)


def single_comment(title: str, comment: Comment) -> str:
    """One comment on its own, with the article it belongs to."""
    lines = [Line(f"On {title}", tag="i"), Line("")]
    lines.extend(_comment_lines(comment))
    return split_message(lines)[0]


def highlight(snippet: str) -> str:
    """Escape a search snippet and turn its match markers into balanced bold tags."""
    out: list[str] = []
    bold = False
    for piece in re.split(f"([{SNIPPET_START}{SNIPPET_END}])", snippet):
        if piece == SNIPPET_START:
            if not bold:
                out.append("<b>")
                bold = True
        elif piece == SNIPPET_END:
            if bold:
                out.append("</b>")
                bold = False
        else:
            out.append(esc(piece))
    if bold:
        out.append("</b>")
    return "".join(out)


def search_text(words: str, hits: Sequence[SearchHit]) -> list[str]:
    """Search results: title, where it matched, and a snippet with the words in bold."""
    if not hits:
        return [f"Nothing found for “{esc(shorten(words, 100))}”."]
    lines = [Line(f"Search: {shorten(words, 100)}", tag="b"), Line("")]
    for n, hit in enumerate(hits, start=1):
        where, where_plain = (
            (" <i>(in a comment)</i>", " (in a comment)") if hit.in_comment else ("", "")
        )
        lines.append(
            Line(
                shorten(hit.title, 150),
                tag="b",
                prefix=f"{n}. ",
                prefix_plain=f"{n}. ",
                suffix=where,
                suffix_plain=where_plain,
            )
        )
        snippet = shorten(" ".join(hit.snippet.split()), 240)
        if snippet:
            plain = snippet.replace(SNIPPET_START, "").replace(SNIPPET_END, "")
            lines.append(Line("", prefix=f"    {highlight(snippet)}", prefix_plain=f"    {plain}"))
    return split_message(lines)


def bullet_list(items: Iterable[str]) -> str:
    """Escaped items as a bullet list."""
    return "\n".join(f"• {esc(item)}" for item in items)
