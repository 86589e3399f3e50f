"""Imported articles obey the limits chat comments and feeds do, so the bot can show them."""

from __future__ import annotations

import json
from pathlib import Path

from storage import Store, import_sources
from storage.limits import MAX_COMMENT, MAX_TAG
from tests.conftest import Driver, only_text, texts


def jsonl_file(tmp_path: Path, **fields: object) -> str:
    """A JSON Lines file of one article with these fields; returns its path."""
    record = {"title": "Long Things", "body": [{"kind": "paragraph", "text": "B."}], **fields}
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return str(path)


async def test_an_overlong_tag_is_left_out_and_timeline_still_answers(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    reader = driver.api.user("Ria")
    long_tag = "very " * 1_000  # 5,000 characters: no topic is that long
    source = jsonl_file(tmp_path, tags=[long_tag, "harbours", "x" * (MAX_TAG + 1)])
    report = await import_sources(store, [source])
    assert report.closing_line() == "1 new, 0 updated, 0 unchanged, 0 failed"
    usage = only_text(await driver.say(reader, reader, "/timeline"))
    assert usage.startswith("Usage: /timeline ID_OR_TOPIC") and "harbours" in usage
    missing = only_text(await driver.say(reader, reader, "/timeline nothing-like-it"))
    assert missing.startswith("No article or topic")
    assert (await store.article(2)).tags == ("harbours",)  # type: ignore[union-attr]
    assert [w.split(": ", 1)[1] for w in report.warnings] == [
        "tag 'very very very very very…' is longer than 40 characters; left out",
        "tag 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is longer than 40 characters; left out",
    ]


async def test_an_overlong_imported_comment_is_cut_to_the_comment_limit(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    reader = driver.api.user("Sol")
    huge = "word " * 24_000  # 120,000 characters
    source = jsonl_file(tmp_path, comments=[{"author": "Ann", "body": huge}])
    report = await import_sources(store, [source])
    assert len(texts(await driver.say(reader, reader, "/comments 2"))) == 1
    [comment] = await store.all_comments(2)
    assert len(comment.body) <= MAX_COMMENT and comment.body.endswith("word…")
    assert [w.split(": ", 1)[1] for w in report.warnings] == [
        "comment 1: 119,999 characters, cut to the 3,500 a comment may have"
    ]
    # The same file again is the same comment, not a second one.
    again = await import_sources(store, [source])
    assert again.closing_line() == "0 new, 0 updated, 1 unchanged, 0 failed"
    assert len(await store.all_comments(2)) == 1
