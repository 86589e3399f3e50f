"""Where articles come from: files, folders and URLs, each read into articles.

A local JSON Lines file (an export) is read a line at a time, whatever its size;
any other source is read whole, so up to ``MAX_BYTES``.

``load_source`` never raises: every problem with a source becomes an
``IngestError`` item naming it (and the line, where there is one), so a batch
import reports it and carries on with the next source.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import httpx

from storage.errors import IngestError
from storage.ingest.enrich import enrich
from storage.ingest.feedformat import parse_feed
from storage.ingest.jsonl import MAX_LINE, Lines, parse_jsonl, parse_lines
from storage.ingest.textformat import parse_text
from storage.models import ParsedArticle

MAX_BYTES = 50 * 1024 * 1024  # a source read whole; a local JSON Lines file has no limit
LIMIT = "50 MB"
HEAD = 8192  # bytes read to recognise a local file's format
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
FETCH_TIMEOUT = 30.0
USER_AGENT = "newsbot/0.1 (feed import)"

Format = Literal["text", "feed", "jsonl"]
# Per URL, the ETag and Last-Modified of its last answer, for conditional fetches.
Validators = dict[str, tuple[str | None, str | None]]
_EXTENSIONS: dict[str, Format] = {
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".rdf": "feed",
    ".feed": "feed",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
# Signatures of common binary files, for a clearer refusal than "not UTF-8".
_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an Office document?)",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3": "an SQLite database",
}


def is_url(name: str) -> bool:
    """Whether a source names an http(s) URL rather than a path."""
    return name.lower().startswith(("http://", "https://"))


def expand_sources(names: Sequence[str]) -> list[str | IngestError]:
    """Folders replaced by the files under them (sorted, hidden ones skipped).

    A folder (or one under it) that cannot be listed, and a folder with no
    files at all, come back as errors in their place.
    """
    sources: list[str | IngestError] = []
    for name in names:
        path = Path(name)
        if is_url(name) or not path.is_dir():
            sources.append(name)
            continue
        found: list[Path] = []
        unreadable: list[IngestError] = []

        def refuse(error: OSError, unreadable: list[IngestError] = unreadable) -> None:
            reason = "permission denied" if isinstance(error, PermissionError) else error.strerror
            unreadable.append(IngestError(str(error.filename), f"cannot be listed: {reason}"))

        for root, folders, files in os.walk(path, onerror=refuse):
            folders[:] = [folder for folder in folders if not folder.startswith(".")]
            found.extend(Path(root) / file for file in files if not file.startswith("."))
        sources.extend(str(file) for file in sorted(found))
        sources.extend(unreadable)
        if not found and not unreadable:
            sources.append(IngestError(name, "is a folder with no files to import"))
    return sources


def load_source(
    name: str, validators: Validators | None = None
) -> Iterator[ParsedArticle | IngestError]:
    """Every article in a file or at a URL, enriched, or an error for each bad part.

    With ``validators`` (kept by the caller between rounds) a URL is fetched
    conditionally: a server that says it has not changed yields nothing.
    """
    try:
        if is_url(name):
            fetched = _fetch(name, validators)
            if fetched is None:
                return
            data, content_type = fetched
        else:
            lines = local_jsonl(name)
            if lines is not None:
                for item in parse_lines(lines, name, lambda: _whole_text(name)):
                    yield item if isinstance(item, IngestError) else enrich(item)
                return
            data, content_type = _read(name), ""
        if not data.strip():
            raise IngestError(name, "the file is empty")
        kind = _format(name, data, content_type)
        if kind == "feed":
            for article in parse_feed(data, name):
                yield enrich(article)
            return
        text = _decode(name, data)
        if kind == "jsonl":
            for item in parse_jsonl(text, name):
                yield item if isinstance(item, IngestError) else enrich(item)
        else:
            yield enrich(_dated(parse_text(text, name), name))
    except IngestError as error:
        yield error
    except Exception as error:  # a parser bug must not end the batch or show a traceback
        yield IngestError(name, f"could not be imported ({type(error).__name__}: {error})"[:300])


# What a worker process parses: (file, its articles and errors), for each file.
Parsed = list[tuple[str, list[ParsedArticle | IngestError]]]


def parse_files(names: Sequence[str]) -> Parsed:
    """Every article of a few small files, in order (in a worker process or a thread).

    Errors travel as (source, reason, line): an exception with its own
    constructor does not cross a process boundary as itself. This module and
    those it imports hold no database code, so a worker starts without it.
    """
    parsed: Parsed = []
    for name in names:
        items: list[ParsedArticle | IngestError] = []
        for item in load_source(name):
            if isinstance(item, IngestError):
                items.append(_Failure(item.source, item.reason, item.line))
            else:
                items.append(item)
        parsed.append((name, items))
    return parsed


class _Failure(IngestError):
    """An ``IngestError`` that survives pickling (its arguments are its fields)."""

    def __reduce__(self) -> tuple[type[_Failure], tuple[str, str, int | None]]:
        return (_Failure, (self.source, self.reason, self.line))


def could_be_jsonl(name: str) -> bool:
    """Whether a source may be a local JSON Lines file, without reading it: a URL is
    not, nor a file named as another format (its name decides, ``_format``)."""
    return not is_url(name) and _EXTENSIONS.get(_suffix(name), "jsonl") == "jsonl"


def local_jsonl(name: str) -> Lines | None:
    """The numbered lines of a local JSON Lines file (an export), read as they are used.

    None for any other source, and for a file that cannot be opened or is not
    text (``load_source`` reports it); a problem met later comes as an error.
    """
    if not could_be_jsonl(name):
        return None
    try:
        head = _head(name)
        return _lines(name, head) if _format(name, head, "") == "jsonl" else None
    except IngestError:
        return None


def _head(name: str) -> bytes:
    """The first bytes of a local file, which say what it holds."""
    if Path(name).is_dir():
        raise IngestError(name, "is a folder; give it to import to read the files in it")
    try:
        with open(name, "rb") as handle:
            return handle.read(HEAD)
    except OSError as error:
        raise _unreadable(name, error) from None


def _lines(name: str, head: bytes) -> Lines:
    """A local file's lines, numbered from 1, a line in memory at a time.

    UTF-8, or UTF-16 when it starts with that byte order mark. A UTF-8 line
    that is not, or one longer than ``MAX_LINE`` bytes, comes as the error
    saying so, and the next line is read as usual.
    """
    try:
        with open(name, "rb") as handle:
            if head.startswith(UTF16_BOMS):
                yield from _utf16_lines(name, handle)
                return
            number = 0
            while raw := handle.readline(MAX_LINE + 1):
                number += 1
                if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
                    _skip_line(handle)
                    yield number, IngestError(name, f"the line is longer than {MAX_LINE:,} bytes")
                    continue
                yield number, _decode_line(name, raw, first=number == 1)
    except OSError as error:
        raise _unreadable(name, error) from None


def _utf16_lines(name: str, handle: io.BufferedReader) -> Lines:
    """The lines of a UTF-16 file; text that is not UTF-16 ends the file with an error."""
    with io.TextIOWrapper(handle, encoding="utf-16") as text:
        try:
            for number, line in enumerate(text, start=1):
                yield number, line.rstrip("\n")
        except UnicodeDecodeError:
            raise IngestError(name, "is not valid UTF-16 text") from None


def _skip_line(handle: io.BufferedReader) -> None:
    """Read past the rest of an overlong line, a bounded piece at a time."""
    while (piece := handle.readline(MAX_LINE)) and not piece.endswith(b"\n"):
        pass


def _decode_line(name: str, raw: bytes, first: bool) -> str | IngestError:
    """A line of UTF-8 without its ending (nor, on the first, a byte order mark)."""
    raw = raw.rstrip(b"\r\n")
    if first:
        raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = raw[error.start]
        return IngestError(name, f"is not UTF-8 text (byte 0x{byte:02x}); save it as UTF-8")


def _whole_text(name: str) -> str | None:
    """A local file's whole text, if it is small enough to hold and readable as text."""
    try:
        return _decode(name, _read(name))
    except IngestError:
        return None


def _dated(article: ParsedArticle, name: str) -> ParsedArticle:
    """A text article without a date line is dated by its file's modification time.

    (One fetched from a URL, by the time it was fetched.) Relative dates in it
    ("yesterday", "last month") are read against that day.
    """
    if article.published_at is not None:
        return article
    try:
        moment = os.stat(name).st_mtime if not is_url(name) else time.time()
    except OSError:
        return article
    stamp = dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return dataclasses.replace(article, published_at=stamp)


def _read(name: str) -> bytes:
    try:
        if os.path.isdir(name):
            raise IngestError(name, "is a folder; give it to import to read the files in it")
        size = os.stat(name).st_size
        if size > MAX_BYTES:
            raise IngestError(name, f"is too large ({size:,} bytes; the limit is {LIMIT})")
        with open(name, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise _unreadable(name, error) from None
    if len(data) > MAX_BYTES:  # it grew while we read it
        raise IngestError(name, f"is larger than the {LIMIT} limit")
    return data


def _unreadable(name: str, error: OSError) -> IngestError:
    """Why a local file cannot be read, in a few words."""
    if isinstance(error, FileNotFoundError):
        return IngestError(name, "no such file")
    if isinstance(error, PermissionError):
        return IngestError(name, "cannot be read: permission denied")
    if isinstance(error, IsADirectoryError):
        return IngestError(name, "is a folder")
    return IngestError(name, f"cannot be read: {error.strerror or error}")


def _fetch(url: str, validators: Validators | None) -> tuple[bytes, str] | None:
    """The body and content type at a URL; None when unchanged since the last fetch."""
    headers = {"User-Agent": USER_AGENT}
    etag, modified = (validators or {}).get(url, (None, None))
    if etag:
        headers["If-None-Match"] = etag
    if modified:
        headers["If-Modified-Since"] = modified
    try:
        with (
            httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=True, headers=headers) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code == 304:
                return None
            if response.status_code >= 400:
                raise IngestError(url, f"the server answered {response.status_code}")
            if validators is not None:
                validators[url] = (
                    response.headers.get("etag"),
                    response.headers.get("last-modified"),
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise IngestError(url, f"is larger than the {LIMIT} limit")
                chunks.append(chunk)
            return b"".join(chunks), response.headers.get("content-type", "")
    except httpx.InvalidURL:
        raise IngestError(url, "is not a valid URL") from None
    except httpx.TimeoutException:
        raise IngestError(url, f"did not answer within {FETCH_TIMEOUT:.0f} s") from None
    except httpx.HTTPError as error:
        raise IngestError(url, f"could not be fetched ({type(error).__name__})") from None


def _format(name: str, data: bytes, content_type: str) -> Format:
    """What a source holds, from its name, its content type or its first bytes."""
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise IngestError(name, f"is {what}, not articles")
    if b"\x00" in data[:HEAD] and not data.startswith(UTF16_BOMS):
        raise IngestError(name, "is binary data, not articles")
    if is_url(name):
        suffix = Path(name.split("?", 1)[0]).suffix.lower()
        if suffix in (".jsonl", ".ndjson") or "json" in content_type:
            return "jsonl"
        if suffix in (".txt", ".text") or content_type.startswith("text/plain"):
            return "text"
        return "feed"
    by_extension = _EXTENSIONS.get(_suffix(name))
    if by_extension is not None:
        return by_extension
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "feed" if head == b"<" else "jsonl" if head == b"{" else "text"


def _suffix(name: str) -> str:
    """A local file's extension, in lower case ("" for none)."""
    return os.path.splitext(name)[1].lower()


def _decode(name: str, data: bytes) -> str:
    if data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise IngestError(name, "is not valid UTF-16 text") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise IngestError(
            name,
            f"is not UTF-8 text (byte 0x{data[error.start]:02x}); save it as UTF-8",
            line=line,
        ) from None
