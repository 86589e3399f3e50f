"""Imported articles: held to the limits chat comments and feeds obey, seen by the rule."""

from __future__ import annotations

import json
from pathlib import Path

from storage import Store, import_sources
from storage.limits import MAX_COMMENT, MAX_TAG
from tests.conftest import Driver, only_text, sent, texts


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


async def test_an_imported_group_comment_without_a_chat_is_seen_nowhere(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    reader = driver.api.user("Tam")
    group = driver.api.group("Somewhere")
    source = jsonl_file(
        tmp_path,
        comments=[
            {"author": "Ann", "body": "public aardvarks"},
            {"author": "Bob", "body": "stray aardvarks", "visibility": "group"},
        ],
    )
    report = await import_sources(store, [source])
    assert [w.split(": ", 1)[1] for w in report.warnings] == [
        "line 1: comment 2: group-only but with no chat id, so no chat will see it"
    ]
    # Inline mode asks for no chat: that is no chat either.
    inline = await driver.feed(driver.api.inline_query(reader, "stray", queue=False))
    assert inline[0].params["results"] == []
    inline = await driver.feed(driver.api.inline_query(reader, "aardvarks", queue=False))
    [result] = inline[0].params["results"]
    assert "💬 1 comment" in result["input_message_content"]["message_text"]
    for chat in (reader, group):
        [card] = sent(await driver.say(chat, reader, "/article 2"))
        assert "💬 1 comment" in card["text"]
        page = only_text(await driver.say(chat, reader, "/comments 2"))
        assert "public aardvarks" in page and "stray" not in page
        assert "Nothing found" in only_text(await driver.say(chat, reader, "/search stray"))
        assert only_text(await driver.say(chat, reader, "/reply 7 hi")).startswith(
            "No comment #7 here."
        )
