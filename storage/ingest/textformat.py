"""The native text format: a title line, the body, then an optional comment block.

::

    Title of the article
    5 December 2025
    A paragraph is one line.
    A Short Heading Without Final Punctuation
    - a bullet item
    5 Comments
    Author name
    The comment's body.

The line after the title may give the publication date (``5 December 2025``,
``December 5, 2025``, ``Friday, 5 December 2025``, ``2025-12-05`` or
``2025-12-05T10:30:00Z``); it is not part of the body. Without it the article
has no date of its own here, and the importer gives it the file's.

Real files vary, and all of these import: CRLF or CR line ends, a byte order
mark, blank lines anywhere, curly quotes, no comment block, ``1 Comment``, and
a count that does not match what follows (what is there is imported, with a
warning).
"""

from __future__ import annotations

import re
import unicodedata

from storage.errors import IngestError
from storage.ingest.dates import date_line
from storage.limits import MAX_AUTHOR, MAX_TITLE
from storage.models import Block, BlockKind, ParsedArticle, ParsedComment
from storage.text import clean_line

MAX_HEADING = 120

_COMMENT_HEADER = re.compile(r"(\d{1,7})\s+comments?\s*:?", re.IGNORECASE)
# Files written in Markdown mark their title and headings with "#" signs.
_MARKDOWN_HEADING = re.compile(r"#{1,6}\s+")
_BULLET = re.compile(r"[-*\u2022\u2013\u2014]\s+(?=\S)")
# Characters that end a sentence, and the closing quotes/brackets that may follow them.
_FINAL = ".!?:;\u2026"
_CLOSERS = "'\"\u2019\u201d\u00bb)]"
_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2010": "-", "\u2011": "-"}
)


def title_key(title: str) -> str:
    """The identity of a text article across imports: its title, normalised.

    Curly and straight quotes, case and spacing do not make a different article.
    """
    folded = unicodedata.normalize("NFKC", title).translate(_QUOTES).casefold()
    return "text:" + " ".join(folded.split())


def ends_sentence(line: str) -> bool:
    """Whether a line ends with sentence punctuation (closing quotes looked past)."""
    return line.rstrip(_CLOSERS).endswith(tuple(_FINAL))


def is_heading(line: str) -> bool:
    """A short line without final punctuation is a section heading."""
    return len(line) <= MAX_HEADING and len(line.split()) <= 16 and not ends_sentence(line)


def parse_text(text: str, source: str) -> ParsedArticle:
    """Parse one article in the native text format; raises IngestError when there is none."""
    lines = [clean_line(raw) for raw in text.lstrip("\ufeff").splitlines()]
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line]
    if not numbered:
        raise IngestError(source, "the file is empty")
    title_line, title = numbered[0]
    title = _MARKDOWN_HEADING.sub("", title) or title
    if len(title) > MAX_TITLE:
        raise IngestError(
            source,
            f"the first line should be the title but is {len(title)} characters long "
            f"(at most {MAX_TITLE})",
            line=title_line,
        )
    if _COMMENT_HEADER.fullmatch(title):
        raise IngestError(source, "the file starts with a comment block, not a title", 1)
    rest = numbered[1:]
    published_at = date_line(rest[0][1]) if rest else None
    if published_at is not None:
        rest = rest[1:]
    header_at = next(
        (i for i, (_, line) in enumerate(rest) if _COMMENT_HEADER.fullmatch(line)), None
    )
    body_lines = rest if header_at is None else rest[:header_at]
    blocks = tuple(_block(line) for _, line in body_lines)
    if not blocks:
        raise IngestError(source, "the article has a title but no body", line=title_line)
    warnings: list[str] = []
    comments: tuple[ParsedComment, ...] = ()
    if header_at is not None:
        header_line, header = rest[header_at]
        comments = _comments(rest[header_at + 1 :], warnings)
        claimed = _claimed_count(header)
        if claimed != len(comments):
            warnings.append(
                f"line {header_line}: the header says {header!r} but "
                f"{len(comments)} comment{'s follow' if len(comments) != 1 else ' follows'}; "
                "imported what is there"
            )
    return ParsedArticle(
        title=title,
        blocks=blocks,
        source_key=title_key(title),
        source=source,
        published_at=published_at,
        comments=comments,
        warnings=tuple(warnings),
    )


def _block(line: str) -> Block:
    bullet = _BULLET.match(line)
    if bullet:
        return Block("bullet", line[bullet.end() :])
    marked = _MARKDOWN_HEADING.match(line)
    if marked and line[marked.end() :]:
        return Block("heading", line[marked.end() :])
    kind: BlockKind = "heading" if is_heading(line) else "paragraph"
    return Block(kind, line)


def _claimed_count(header: str) -> int:
    return int(header.split()[0])


def _looks_like_author(line: str) -> bool:
    return len(line) <= MAX_AUTHOR and len(line.split()) <= 6 and not ends_sentence(line)


def _comments(lines: list[tuple[int, str]], warnings: list[str]) -> tuple[ParsedComment, ...]:
    """Author lines alternate with bodies.

    A line where an author is expected but that reads like prose (long, or
    ending a sentence) continues the previous comment: comments may run to
    several paragraphs.
    """
    comments: list[ParsedComment] = []
    author: tuple[int, str] | None = None
    for number, line in lines:
        if author is not None:
            comments.append(ParsedComment(author=author[1], body=line))
            author = None
        elif comments and not _looks_like_author(line):
            last = comments[-1]
            comments[-1] = ParsedComment(author=last.author, body=f"{last.body}\n\n{line}")
        else:
            author = (number, line)
    if author is not None:
        warnings.append(f"line {author[0]}: {author[1]!r} has no comment text after it; skipped")
    return tuple(comments)
