"""Reading files, folders and URLs: every bad source gets one clear line, the rest import."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import Store
from storage.errors import IngestError
from storage.importer import import_sources, sample_path
from storage.ingest import expand_sources, load_source, sources
from storage.ingest.sources import MAX_BYTES
from storage.models import ParsedArticle
from tests.conftest import FeedServer

SAMPLE = sample_path().read_bytes()
FEED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Desk</title>
<item><title>Talks in Moscow</title><link>https://example.org/talks</link>
<guid>talks-1</guid><pubDate>Tue, 02 Dec 2025 10:00:00 GMT</pubDate>
<category>Russia</category>
<description>&lt;p&gt;Russia and China held talks in November 2025.&lt;/p&gt;</description></item>
</channel></rss>"""


def errors_of(name: str | Path) -> list[str]:
    """The error lines load_source gives for a source (and no articles)."""
    items = list(load_source(str(name)))
    assert all(isinstance(item, IngestError) for item in items), items
    return [str(item) for item in items]


def test_a_text_file_is_read_and_enriched(tmp_path: Path) -> None:
    path = tmp_path / "drills.txt"
    path.write_bytes(SAMPLE)
    [article] = list(load_source(str(path)))
    assert isinstance(article, ParsedArticle)
    assert article.source == str(path)
    assert article.summary and article.timeline is not None and len(article.timeline) == 6
    assert {"russia", "china"} <= set(article.tags)


def test_a_text_file_is_dated_by_its_date_line_or_else_by_its_modification_time(
    tmp_path: Path,
) -> None:
    dated = tmp_path / "dated.txt"
    dated.write_text("Bridge Reopens\n5 December 2025\nThe bridge reopened on Tuesday.\n")
    undated = tmp_path / "undated.txt"
    undated.write_text("Ferry Returns\nThe ferry returned yesterday.\n")
    modified = datetime(2026, 3, 12, 9, 30, tzinfo=UTC).timestamp()
    os.utime(dated, (modified, modified))
    os.utime(undated, (modified, modified))
    [bridge] = list(load_source(str(dated)))
    [ferry] = list(load_source(str(undated)))
    assert isinstance(bridge, ParsedArticle) and isinstance(ferry, ParsedArticle)
    assert bridge.published_at == "2025-12-05T00:00:00Z"
    assert [(e.date, e.label) for e in bridge.timeline or ()] == [
        ("2025-12-02", "The bridge reopened on Tuesday")
    ]
    assert ferry.published_at == "2026-03-12T09:30:00Z"
    assert [e.date for e in ferry.timeline or ()] == ["2026-03-11"]


def test_a_feed_file_is_read_and_enriched(tmp_path: Path) -> None:
    path = tmp_path / "desk.rss"
    path.write_bytes(FEED)
    [article] = list(load_source(str(path)))
    assert isinstance(article, ParsedArticle)
    assert (article.title, article.url, article.published_at) == (
        "Talks in Moscow",
        "https://example.org/talks",
        "2025-12-02T10:00:00Z",
    )
    assert article.tags[0] == "russia"
    assert article.timeline is not None and article.timeline[0].date == "2025-11"


def test_formats_are_recognised_by_content_when_the_name_does_not_say(tmp_path: Path) -> None:
    (tmp_path / "feed").write_bytes(b"\xef\xbb\xbf\n  " + FEED)
    (tmp_path / "dump").write_text('{"title": "T", "body": [{"kind": "paragraph", "text": "x"}]}')
    (tmp_path / "article").write_bytes(SAMPLE)
    titles = [
        item.title
        for name in ("feed", "dump", "article")
        for item in load_source(str(tmp_path / name))
        if isinstance(item, ParsedArticle)
    ]
    assert titles == ["Talks in Moscow", "T", "Joint Anti-Missile Drills Conclude in Russia"]


def test_utf16_with_a_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes(SAMPLE.decode().encode("utf-16"))
    [article] = list(load_source(str(path)))
    assert isinstance(article, ParsedArticle) and len(article.comments) == 5


def test_bad_files_get_one_line_naming_them(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Title\nFirst line.\nCaf\xe9 society.\n".encode("latin-1"))
    png = tmp_path / "photo.txt"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    binary = tmp_path / "blob.dat"
    binary.write_bytes(b"abc\x00\x01\x02" * 100)
    not_xml = tmp_path / "page.xml"
    not_xml.write_text("this is not a feed at all, just words")
    folder = tmp_path / "folder"
    folder.mkdir()
    assert errors_of(empty) == [f"{empty}: the file is empty"]
    assert errors_of(latin) == [f"{latin}:3: is not UTF-8 text (byte 0xe9); save it as UTF-8"]
    assert errors_of(png) == [f"{png}: is a PNG image, not articles"]
    assert errors_of(binary) == [f"{binary}: is binary data, not articles"]
    assert errors_of(not_xml) == [f"{not_xml}:1: not an RSS or Atom feed (syntax error)"]
    assert errors_of(tmp_path / "nope.txt") == [f"{tmp_path / 'nope.txt'}: no such file"]
    assert errors_of(folder) == [
        f"{folder}: is a folder; give it to import to read the files in it"
    ]


def test_a_file_over_50_mb_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: no 50 MB written to disk
    assert errors_of(huge) == [f"{huge}: is too large (52,428,801 bytes; the limit is 50 MB)"]


def test_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_bytes(SAMPLE)
    path.chmod(0)
    if os.access(path, os.R_OK):  # running as root: permissions do not stop reading
        path = Path("/proc/self/mem")  # exists, but read() fails with EIO
        assert errors_of(path) == [f"{path}: cannot be read: Input/output error"]
    else:
        assert errors_of(path) == [f"{path}: cannot be read: permission denied"]


def test_folders_expand_recursively_sorted_without_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b/z.txt", "b/a.txt", "c.txt", ".hidden.txt", ".git/config"):
        (tmp_path / name).write_text("x")
    assert expand_sources([str(tmp_path), "https://example.org/feed"]) == [
        str(tmp_path / "b" / "a.txt"),
        str(tmp_path / "b" / "z.txt"),
        str(tmp_path / "c.txt"),
        "https://example.org/feed",
    ]


async def test_a_mixed_folder_imports_the_good_files_and_names_the_bad(
    store: Store, tmp_path: Path
) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "1-good.txt").write_bytes(SAMPLE)
    (batch / "2-feed.xml").write_bytes(FEED)
    (batch / "3-empty.txt").write_bytes(b"")
    (batch / "4-broken.xml").write_text("<rss><channel><item><title>x</ti")
    (batch / "5-dump.jsonl").write_text(
        '{"title": "From a dump", "body": [{"kind": "paragraph", "text": "x"}]}\n{oops\n'
    )
    seen: list[tuple[int, int]] = []
    report = await import_sources(
        store, [str(batch)], progress=lambda done, total, _: seen.append((done, total))
    )
    assert (report.new, report.updated, report.unchanged) == (3, 0, 0)
    assert report.failed == 3
    assert seen == [(n, 5) for n in range(1, 6)]
    assert [line.split(": ")[0] for line in report.errors] == [
        str(batch / "3-empty.txt"),
        str(batch / "4-broken.xml"),
        f"{batch / '5-dump.jsonl'}:2",
    ]
    titles = [line.title for line in await store.latest(10)]
    assert sorted(titles) == [
        "From a dump",
        "Joint Anti-Missile Drills Conclude in Russia",
        "Talks in Moscow",
    ]


def test_feeds_are_fetched_from_urls(feed_server: FeedServer) -> None:
    url = feed_server.serve("/feed.xml", FEED)
    [article] = list(load_source(url))
    assert isinstance(article, ParsedArticle) and article.title == "Talks in Moscow"
    assert errors_of(f"{feed_server.base}/missing.xml") == [
        f"{feed_server.base}/missing.xml: the server answered 404"
    ]
    with socket.socket() as probe:  # a port nothing listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/feed.xml"
    assert errors_of(closed) == [f"{closed}: could not be fetched (ConnectError)"]


async def test_a_large_export_is_imported_in_batches_with_progress(
    store: Store, tmp_path: Path
) -> None:
    dump = tmp_path / "big.jsonl"
    dump.write_text(
        "".join(
            f'{{"title": "Article {n}", "body": [{{"kind": "paragraph", "text": "x"}}]}}\n'
            for n in range(250)
        )
    )
    seen: list[tuple[int, int, int]] = []
    report = await import_sources(
        store, [str(dump)], progress=lambda done, total, r: seen.append((done, total, r.new))
    )
    assert report.new == 250 and report.failed == 0
    assert seen == [(0, 1, 100), (0, 1, 200), (1, 1, 250)]


def test_a_folder_that_cannot_be_listed_or_holds_nothing_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    # Folders nested deeper than a path may be long: listing the deepest fails
    # (as a folder without permission would, which root could still read).
    fd = os.open(tmp_path, os.O_RDONLY)
    for _ in range(25):
        os.mkdir("d" * 200, dir_fd=fd)
        inner = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    [found, error] = expand_sources([str(tmp_path)])
    assert found == str(tmp_path / "a.txt")
    assert isinstance(error, IngestError)
    assert str(error).endswith(": cannot be listed: File name too long")
    empty = tmp_path / "empty"
    empty.mkdir()
    [nothing] = expand_sources([str(empty)])
    assert str(nothing) == f"{empty}: is a folder with no files to import"


def jsonl_line(title: str, words: int = 5) -> str:
    """An article record a line long, its paragraph ``words`` words."""
    text = " ".join(["Word"] * words) + "."
    return json.dumps({"title": title, "body": [{"kind": "paragraph", "text": text}]}) + "\n"


def test_a_json_lines_file_has_no_size_limit_but_other_files_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_BYTES", 64 * 1024)
    dump = tmp_path / "big.jsonl"
    dump.write_text("".join(jsonl_line(f"Article {n}", 100) for n in range(300)))
    text = tmp_path / "big.txt"
    text.write_text("A long article\n" + "Word. " * 20_000)
    assert dump.stat().st_size > sources.MAX_BYTES and text.stat().st_size > sources.MAX_BYTES
    titles = [item.title for item in load_source(str(dump)) if isinstance(item, ParsedArticle)]
    assert titles == [f"Article {n}" for n in range(300)]
    size = text.stat().st_size
    assert errors_of(text) == [f"{text}: is too large ({size:,} bytes; the limit is 50 MB)"]


def test_lines_that_are_no_text_or_too_long_fail_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_LINE", 1000)
    dump = tmp_path / "dump.jsonl"
    dump.write_bytes(
        b"\xef\xbb\xbf"
        + jsonl_line("First").encode()
        + jsonl_line("Too long", 300).encode()
        + jsonl_line("Caf\xe9 society").replace("\\u00e9", "\xe9").encode("latin-1")
        + b"\r\n"
        + jsonl_line("Last").replace("\n", "\r\n").encode()
    )
    items = [
        str(item) if isinstance(item, IngestError) else item.title
        for item in load_source(str(dump))
    ]
    assert items == [
        "First",
        f"{dump}:2: the line is longer than 1,000 bytes",
        f"{dump}:3: is not UTF-8 text (byte 0xe9); save it as UTF-8",
        "Last",
    ]


def test_a_json_lines_file_in_utf16_or_as_one_document_is_read_as_before(tmp_path: Path) -> None:
    wide = tmp_path / "wide.jsonl"
    wide.write_bytes((jsonl_line("Wide one") + jsonl_line("Wide two")).encode("utf-16"))
    titles = [item.title for item in load_source(str(wide)) if isinstance(item, ParsedArticle)]
    assert titles == ["Wide one", "Wide two"]
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(json.loads(jsonl_line("Pretty")), indent=2))
    assert errors_of(pretty) == [
        f"{pretty}: one JSON document over many lines, not JSON Lines (an article a line)"
    ]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    assert errors_of(empty) == [f"{empty}: the file is empty"]


async def test_a_json_lines_file_that_is_not_text_fails_once(store: Store, tmp_path: Path) -> None:
    wide = tmp_path / "wide.jsonl"
    text = jsonl_line("Wide one") + '{"type": "user", "id": 5}\n' + jsonl_line("Wide two")
    wide.write_bytes(text.encode("utf-16") + b"\x00\xd8\x41\x00")  # a lone surrogate
    report = await import_sources(store, [str(wide)], deployment=True)
    # Text is decoded a few thousand characters at a time: this file is refused whole.
    assert (report.new, report.records, report.failed) == (0, {}, 1)
    assert report.errors == [f"{wide}: is not valid UTF-16 text"]
    assert report.warnings == [
        f"{wide}: is not valid UTF-16 text; the records after it were not restored"
    ]
