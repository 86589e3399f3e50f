"""JSON Lines: the export format, one article a line, read back without loss.

A line with a ``"type"`` other than ``"article"`` is another record of a whole
deployment's export (``newsbot export --all``): skipped here, restored by
``storage.deployment``.

``article_record`` writes a stored article as a plain dict; ``parse_jsonl``
reads such records back into ``ParsedArticle``s that keep every field (ids,
slug, summary, timeline, comments with their threads and statuses), so an
export imported into an empty database exports again identically.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from storage import visibility as rule
from storage.errors import IngestError
from storage.models import (
    BLOCK_KINDS,
    PRECISIONS,
    QUALIFIERS,
    Article,
    Block,
    BlockKind,
    Comment,
    CommentStatus,
    Origin,
    ParsedArticle,
    ParsedComment,
    Precision,
    TimelineEvent,
    Visibility,
)
from storage.text import clean_body, clean_line

_DATE_FORMS: dict[str, re.Pattern[str]] = {
    "year": re.compile(r"\d{4}"),
    "month": re.compile(r"\d{4}-(0[1-9]|1[0-2])"),
    "day": re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"),
}
_ORIGINS: tuple[Origin, ...] = ("imported", "chat")
_VISIBILITIES: tuple[Visibility, ...] = ("public", "group")
_STATUSES: tuple[CommentStatus, ...] = ("visible", "hidden", "deleted")
MAX_LINE = 50_000_000  # bytes: a longer line is refused unread, so memory stays bounded
ARTICLE = "article"  # an article's record type; a record without a type is one too
# A file's lines, numbered from 1; one that could not be read as text is the error saying why.
Lines = Iterable[tuple[int, str | IngestError]]


def is_article(record: dict[str, Any]) -> bool:
    """Whether an exported record is an article (every record of an older export is)."""
    return bool(record.get("type", ARTICLE) == ARTICLE)


def article_record(
    article: Article,
    timeline: Sequence[TimelineEvent],
    comments: Sequence[Comment],
    source_key: str,
) -> dict[str, Any]:
    """One exported line: the article with its summary, timeline and comments."""
    return {
        "id": article.id,
        "slug": article.slug,
        "title": article.title,
        "source": article.source,
        "source_key": source_key,
        "url": article.url,
        "published_at": article.published_at,
        "imported_at": article.imported_at,
        "tags": list(article.tags),
        "summary": article.summary,
        "body": [{"kind": block.kind, "text": block.text} for block in article.blocks],
        "timeline": [
            {
                "date": event.date,
                "precision": event.precision,
                "qualifier": event.qualifier,
                "label": event.label,
                "sentence": event.sentence,
            }
            for event in timeline
        ],
        "comments": [
            {
                "id": comment.id,
                "parent_id": comment.parent_id,
                "author": comment.author,
                "user_id": comment.user_id,
                "body": comment.body,
                "created_at": comment.created_at,
                "edited_at": comment.edited_at,
                "origin": comment.origin,
                "chat_id": comment.chat_id,
                "message_id": comment.message_id,
                "visibility": comment.visibility,
                "status": comment.status,
                "key": comment.import_key,
            }
            for comment in comments
        ],
    }


def parse_jsonl(text: str, source: str) -> Iterator[ParsedArticle | IngestError]:
    """Each non-blank line of a text as an article, or as an IngestError naming the line."""
    lines = enumerate(text.lstrip("\ufeff").splitlines(), start=1)
    return parse_lines(lines, source, lambda: text)


def parse_lines(
    lines: Lines, source: str, whole: Callable[[], str | None]
) -> Iterator[ParsedArticle | IngestError]:
    """Each non-blank numbered line as an article, or as an IngestError naming the line.

    Lines are read as they are needed, so a file of any size passes a line at a
    time. A file whose first line is not JSON but which is, whole, one JSON
    document spread over many lines is refused once rather than line by line:
    ``whole`` gives its text for that check (None when too large to hold).
    """
    first = True
    for number, line in lines:
        if isinstance(line, IngestError):  # a line that is not text
            yield IngestError(source, line.reason, line=number)
            continue
        if not line.strip():
            continue
        if first:
            first = False
            if not _is_json(line) and _is_json(whole() or ""):
                yield IngestError(
                    source, "one JSON document over many lines, not JSON Lines (an article a line)"
                )
                return
        try:
            record = _load(line, source)
            if not is_article(record):
                continue  # the rest of a deployment: storage.deployment restores it
            article = _article(record, source)
        except IngestError as error:
            yield IngestError(source, error.reason, line=number)
            continue
        if article.warnings:
            warnings = tuple(f"line {number}: {warning}" for warning in article.warnings)
            article = dataclasses.replace(article, warnings=warnings)
        yield article
    if first:
        yield IngestError(source, "the file is empty")


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def parse_record(line: str, source: str) -> ParsedArticle:
    """One JSON Lines record; raises IngestError saying what is wrong with it."""
    return _article(_load(line, source), source)


def _load(line: str, source: str) -> dict[str, Any]:
    """A line as a JSON object; raises IngestError if it is none."""
    try:
        record = json.loads(line)
    except ValueError as error:
        raise IngestError(source, f"not valid JSON ({_first_line(error)})") from None
    except RecursionError:
        raise IngestError(source, "not valid JSON (nested too deeply)") from None
    if not isinstance(record, dict):
        raise IngestError(source, "each line must be a JSON object")
    return record


def _article(record: dict[str, Any], source: str) -> ParsedArticle:
    """An article record as a ParsedArticle; raises IngestError saying what is wrong."""
    try:
        return _parse_article(record, source)
    except IngestError as error:
        raise IngestError(source, error.reason) from None


def _parse_article(record: dict[str, Any], source: str) -> ParsedArticle:
    title = clean_line(_text(record, "title", required=True) or "")
    if not title:
        raise IngestError(source, "'title' is empty")
    blocks = tuple(_block(item, n) for n, item in enumerate(_list(record, "body"), start=1))
    if not blocks:
        raise IngestError(source, "'body' has no paragraphs")
    source_key = _text(record, "source_key") or "jsonl:" + (
        _text(record, "url") or _text(record, "slug") or title.casefold()
    )
    timeline = None
    if "timeline" in record and record["timeline"] is not None:
        timeline = tuple(
            _event(item, n) for n, item in enumerate(_list(record, "timeline"), start=1)
        )
    tags = tuple(clean_line(tag).lower() for tag in _strings(record, "tags") if clean_line(tag))
    read = [_comment(item, n) for n, item in enumerate(_list(record, "comments"), start=1)]
    unseen = tuple(
        f"comment {n}: group-only but with no chat id, so no chat will see it"
        for n, comment in enumerate(read, start=1)
        if rule.audience(comment.visibility, comment.chat_id) == rule.NOWHERE
    )
    comments, threading = _thread(read)
    warnings = (*unseen, *threading)
    return ParsedArticle(
        title=title,
        blocks=blocks,
        source_key=source_key,
        source=_text(record, "source") or source,
        url=_text(record, "url"),
        published_at=_text(record, "published_at"),
        tags=tags,
        comments=comments,
        summary=_text(record, "summary"),
        timeline=timeline,
        slug=_text(record, "slug"),
        imported_at=_text(record, "imported_at"),
        id=_positive(record, "id"),
        warnings=warnings,
    )


def _thread(comments: list[ParsedComment]) -> tuple[tuple[ParsedComment, ...], tuple[str, ...]]:
    """Check the comments' ids and Telegram messages, and put every parent before its replies.

    A repeated id or message makes the line ambiguous (an error). A reply whose
    parent is not a comment of the article (or is itself, or is its own reply)
    is kept as a top-level comment, with a warning. Otherwise the order is the
    file's, a reply moved only as far as needed to follow its parent.
    """
    ids: dict[int, int] = {}
    messages: dict[tuple[int | None, int], int] = {}
    for number, comment in enumerate(comments, start=1):
        if comment.id is not None:
            if comment.id in ids:
                raise IngestError(
                    "", f"comment {number}: id {comment.id} is comment {ids[comment.id]}'s too"
                )
            ids[comment.id] = number
        if comment.message_id is not None:
            message = (comment.chat_id, comment.message_id)
            if message in messages:
                raise IngestError(
                    "",
                    f"comment {number}: Telegram message {message} is comment "
                    f"{messages[message]}'s too",
                )
            messages[message] = number
    warnings: list[str] = []
    ready: list[int] = []
    replies: dict[int, list[int]] = {}
    items = list(comments)

    def orphan(index: int, why: str) -> None:
        warnings.append(
            f"comment {index + 1}: its parent #{items[index].parent_id} {why}; "
            "imported as a top-level comment"
        )
        items[index] = dataclasses.replace(items[index], parent_id=None)
        heapq.heappush(ready, index)

    for index, comment in enumerate(items):
        parent = comment.parent_id
        if parent is None:
            ready.append(index)
        elif parent == comment.id or parent not in ids:
            orphan(index, "is not another comment of the article")
        else:
            replies.setdefault(ids[parent] - 1, []).append(index)
    heapq.heapify(ready)
    ordered: list[ParsedComment] = []
    placed: set[int] = set()
    unplaced = 0  # every comment before this one is placed
    while len(ordered) < len(items):
        if not ready:  # replies in a circle: one of them starts a thread
            while unplaced in placed:
                unplaced += 1
            first, seen = unplaced, set()
            while first not in seen:  # up its parents until the circle closes
                seen.add(first)
                first = ids[items[first].parent_id or 0] - 1
            replies[ids[items[first].parent_id or 0] - 1].remove(first)
            orphan(first, "is one of its own replies")
        index = heapq.heappop(ready)
        placed.add(index)
        ordered.append(items[index])
        for reply in replies.pop(index, []):
            heapq.heappush(ready, reply)
    return tuple(ordered), tuple(warnings)


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:120] if str(error) else type(error).__name__


def _text(record: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = record.get(key)
    if value is None:
        if required:
            raise IngestError("", f"'{key}' is missing")
        return None
    if not isinstance(value, str):
        raise IngestError("", f"'{key}' must be a string")
    return value


def _int(record: dict[str, Any], key: str) -> int | None:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise IngestError("", f"'{key}' must be a whole number")
    if not -(2**63) <= value < 2**63:
        raise IngestError("", f"'{key}' is out of range")
    return value


def _positive(record: dict[str, Any], key: str) -> int | None:
    value = _int(record, key)
    if value is not None and value < 1:
        raise IngestError("", f"'{key}' must be a positive whole number")
    return value


def _list(record: dict[str, Any], key: str) -> list[Any]:
    value = record.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise IngestError("", f"'{key}' must be a list")
    return value


def _strings(record: dict[str, Any], key: str) -> list[str]:
    values = _list(record, key)
    if not all(isinstance(value, str) for value in values):
        raise IngestError("", f"'{key}' must be a list of strings")
    return values


def _object(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise IngestError("", f"{where} must be an object")
    return item


def _block(item: Any, number: int) -> Block:
    where = f"body item {number}"
    record = _object(item, where)
    kind = record.get("kind")
    if kind not in BLOCK_KINDS:
        raise IngestError("", f"{where}: 'kind' must be one of {', '.join(BLOCK_KINDS)}")
    text = clean_line(_text(record, "text", required=True) or "")
    if not text:
        raise IngestError("", f"{where}: 'text' is empty")
    block_kind: BlockKind = kind
    return Block(block_kind, text)


def _event(item: Any, number: int) -> TimelineEvent:
    where = f"timeline item {number}"
    record = _object(item, where)
    precision = record.get("precision")
    if precision not in PRECISIONS:
        raise IngestError("", f"{where}: 'precision' must be one of {', '.join(PRECISIONS)}")
    checked: Precision = precision
    date = _text(record, "date", required=True) or ""
    if not _DATE_FORMS[checked].fullmatch(date):
        raise IngestError("", f"{where}: date {date[:20]!r} does not match precision {checked}")
    qualifier = _text(record, "qualifier")
    if qualifier is not None and qualifier not in QUALIFIERS:
        raise IngestError("", f"{where}: unknown qualifier {qualifier[:20]!r}")
    return TimelineEvent(
        date=date,
        precision=checked,
        qualifier=qualifier,
        label=_text(record, "label") or "",
        sentence=_text(record, "sentence") or "",
    )


def _comment(item: Any, number: int) -> ParsedComment:
    where = f"comment {number}"
    record = _object(item, where)
    origin = record.get("origin", "imported")
    visibility = record.get("visibility", "public")
    status = record.get("status", "visible")
    if origin not in _ORIGINS or visibility not in _VISIBILITIES or status not in _STATUSES:
        raise IngestError("", f"{where}: unknown origin, visibility or status")
    body = clean_body(_text(record, "body", required=True) or "")
    author = clean_line(_text(record, "author") or "") or "Anonymous"
    return ParsedComment(
        author=author,
        body=body,
        created_at=_text(record, "created_at"),
        id=_positive(record, "id"),
        parent_id=_int(record, "parent_id"),
        user_id=_int(record, "user_id"),
        origin=origin,
        chat_id=_int(record, "chat_id"),
        message_id=_int(record, "message_id"),
        visibility=visibility,
        status=status,
        edited_at=_text(record, "edited_at"),
        key=_text(record, "key"),
    )
