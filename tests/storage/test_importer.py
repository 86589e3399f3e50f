"""The fast import (batched saves, parsing in worker processes) stores what the slow one does."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
from pathlib import Path
from typing import Any

from storage import Store
from storage.importer import POOL_MIN_FILES, ImportReport, import_sources, sample_path
from storage.ingest import article_record
from storage.models import Block, ParsedArticle, ParsedComment, SaveResult, TimelineEvent

NAMES = ["Kenya", "Chile", "India", "Norway", "the U.S.", "Mr. Smith", "Gen. Lee"]
WORDS = [
    "talks",
    "border",
    "trade",
    "energy",
    "market",
    "court",
    "election",
    "vote",
    "drills",
    "missile",
    "harbour",
]
FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Desk</title>
<item><title>Talks in Moscow</title><link>https://example.org/talks</link>
<guid>talks-1</guid><pubDate>Tue, 02 Dec 2025 10:00:00 GMT</pubDate><category>Russia</category>
<description>&lt;p&gt;Russia and China held talks in November 2025. They met again.&lt;/p&gt;
</description></item>
<item><title>Harbour bridge reopens</title><guid>bridge-1</guid>
<description>&lt;p&gt;The bridge reopened in March 2024 after "repairs" (mostly).&lt;/p&gt;
</description></item>
</channel></rss>"""


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(4, 10))
    words.insert(rng.randrange(len(words)), rng.choice(NAMES))
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", "!", '."'])


def text_file(n: int, rng: random.Random) -> str:
    """A native text article; some share a title, so a later one updates an earlier."""
    title = f"Report {n % 430} from {NAMES[n % 430 % len(NAMES)]}"
    lines = [title, " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))]
    lines += ["Background", f"The first round was held in May {1990 + n % 30}."]
    lines += [" ".join(sentence(rng) for _ in range(3)), f"- March 2025: {sentence(rng)}"]
    comments = rng.randint(0, 3)
    lines.append(f"{comments} Comments")
    for _ in range(comments):
        lines += [rng.choice(["Ann", "Bob", "Cy"]), sentence(rng)]
    return "\n".join(lines) + "\n"


def mixed_corpus(folder: Path) -> Path:
    """Text files (enough for the worker processes), a feed, an export and bad files."""
    rng = random.Random(4)
    folder.mkdir()
    for n in range(POOL_MIN_FILES + 40):
        (folder / f"t{n:04d}.txt").write_text(text_file(n, rng), encoding="utf-8")
    (folder / "t0100-sample.txt").write_bytes(sample_path().read_bytes())
    (folder / "t0200-desk.rss").write_text(FEED, encoding="utf-8")
    (folder / "t0300-broken.xml").write_text("<rss><channel><item><title>x</ti")
    (folder / "t0301-empty.txt").write_bytes(b"")
    record = {
        "title": "From an export",
        "body": [{"kind": "paragraph", "text": "Exported in 2024. It had replies."}],
        "source_key": "export:1",
        "comments": [
            {"id": 7, "author": "Ann", "body": "First."},
            {"id": 8, "parent_id": 7, "author": "Bob", "body": "A reply."},
        ],
    }
    (folder / "t0302-dump.jsonl").write_text(json.dumps(record) + "\n{oops\n", encoding="utf-8")
    return folder


async def exported(store: Store) -> list[dict[str, Any]]:
    """The store's export, with the times of the import itself left out."""
    records = []
    async for article, timeline, comments, source_key in store.export_rows():
        record = article_record(article, timeline, comments, source_key)
        record["imported_at"] = None
        for comment in record["comments"]:
            comment["created_at"] = None
        records.append(record)
    return records


def outcome(report: ImportReport) -> tuple[Any, ...]:
    return (report.closing_line(), report.errors, report.warnings, report.article_ids)


async def test_the_fast_import_stores_exactly_what_the_slow_one_does(tmp_path: Path) -> None:
    corpus = mixed_corpus(tmp_path / "corpus")
    slow_store = await Store.open(tmp_path / "slow.sqlite3")
    fast_store = await Store.open(tmp_path / "fast.sqlite3")
    try:
        slow = await import_sources(slow_store, [str(corpus)], batch_size=1, workers=0)
        seen: list[int] = []
        fast = await import_sources(
            fast_store, [str(corpus)], progress=lambda done, total, _: seen.append(done)
        )
        assert outcome(fast) == outcome(slow)
        assert slow.updated > 0 and slow.new > POOL_MIN_FILES // 2
        assert seen == list(range(1, len(seen) + 1)) and seen[-1] == POOL_MIN_FILES + 45
        # The bad files failed alone, each with one line (and its line number).
        assert [line.split(": ")[0].rsplit("/", 1)[-1] for line in fast.errors] == [
            "t0300-broken.xml",
            "t0301-empty.txt",
            "t0302-dump.jsonl:2",
        ]
        assert await exported(fast_store) == await exported(slow_store)
        for words in ("talks", "harbour bridge", "reply"):
            assert await fast_store.search(words, None) == await slow_store.search(words, None)
        assert await fast_store.stats() == await slow_store.stats()
        for query in (
            "SELECT * FROM tags ORDER BY id",
            "SELECT * FROM article_tags ORDER BY article_id, tag_id",
            "SELECT * FROM topic_events ORDER BY tag_id, sort_key, event_id",
            "SELECT rowid, * FROM articles_fts ORDER BY rowid",
            "SELECT rowid, * FROM comments_fts ORDER BY rowid",
        ):
            assert list(map(tuple, await fast_store._all(query))) == list(
                map(tuple, await slow_store._all(query))
            )
        # Again: the same again by either path (files sharing a title update each other).
        slow_again = await import_sources(slow_store, [str(corpus)], batch_size=1, workers=0)
        fast_again = await import_sources(fast_store, [str(corpus)])
        assert outcome(fast_again) == outcome(slow_again)
        assert fast_again.new == 0 and fast_again.unchanged > POOL_MIN_FILES // 2
        assert await exported(fast_store) == await exported(slow_store)
    finally:
        await slow_store.close()
        await fast_store.close()


def article(n: int, **changes: Any) -> ParsedArticle:
    return ParsedArticle(
        title=f"Article {n}",
        blocks=(Block("paragraph", f"Text number {n}."),),
        source_key=f"key:{n}",
        tags=("world",),
        summary="",
        timeline=changes.pop("timeline", ()),
        comments=(ParsedComment("Ann", f"On {n}."),),
        **changes,
    )


async def test_one_bad_article_in_a_batch_fails_alone(store: Store) -> None:
    impossible = TimelineEvent("2025-01", "fortnight", "x", "x")  # breaks a CHECK constraint
    results = await store.save_articles(
        [article(1), article(2, timeline=(impossible,)), article(3)]
    )
    assert isinstance(results[0], SaveResult) and isinstance(results[2], SaveResult)
    assert isinstance(results[1], Exception) and "check" in str(results[1]).lower()
    assert [line.title for line in await store.latest(5)] == ["Article 3", "Article 1"]
    stats = await store.stats()
    assert (stats["articles"], stats["comments"], stats["timeline_events"]) == (2, 2, 0)
    assert sorted(hit.title for hit in await store.search("number", None)) == [
        "Article 1",
        "Article 3",
    ]
    # The store is still usable, and the bad one alone can be retried once fixed.
    [again] = await store.save_articles([article(2)])
    assert isinstance(again, SaveResult) and again.outcome == "new"


async def test_a_batch_with_a_bad_article_numbers_the_rest_as_saving_one_by_one_does(
    store: Store,
) -> None:
    """The batch's first attempt, all at once, is rolled back when one fails: the ids it
    took are given again (on PostgreSQL, whose sequences keep them, there is no such try)."""
    impossible = TimelineEvent("2025-01", "fortnight", "x", "x")  # breaks a CHECK constraint
    results = await store.save_articles(
        [article(1), article(2), article(3, timeline=(impossible,)), article(4)]
    )
    ids = [result.article_id for result in results if isinstance(result, SaveResult)]
    # One by one: 1, 2, then 3 again on SQLite; PostgreSQL's sequence has given 3 away.
    assert ids == [1, 2, 3 if store.engine == "sqlite" else 4]
    comments = await store._all("SELECT id FROM comments ORDER BY id")
    assert [int(row[0]) for row in comments] == [1, 2, 3]


async def test_a_feed_link_holding_a_control_character_is_no_link(
    store: Store, tmp_path: Path
) -> None:
    # XML carries a NUL as "&#0;"; SQLite would keep it, PostgreSQL refuses the article.
    feed = tmp_path / "desk.rss"
    feed.write_text(FEED.replace("https://example.org/talks", "https://example.org/ta&#0;lks"))
    report = await import_sources(store, [str(feed)])
    assert (report.new, report.failed, report.errors) == (2, 0, [])
    talks = await store.article(report.article_ids[0])
    assert talks is not None
    assert (talks.title, talks.url) == ("Talks in Moscow", None)


async def test_an_import_survives_its_worker_processes_dying(tmp_path: Path) -> None:
    corpus = mixed_corpus(tmp_path / "corpus")
    slow_store = await Store.open(tmp_path / "slow.sqlite3")
    fast_store = await Store.open(tmp_path / "fast.sqlite3")
    killed: list[int] = []

    def kill_the_workers(done: int, total: int, report: ImportReport) -> None:
        if done == 30 and not killed:
            for child in multiprocessing.active_children():
                assert child.pid is not None
                os.kill(child.pid, signal.SIGKILL)
                killed.append(child.pid)

    try:
        slow = await import_sources(slow_store, [str(corpus)], batch_size=1, workers=0)
        fast = await import_sources(fast_store, [str(corpus)], progress=kill_the_workers)
        assert len(killed) == 2  # both workers were there, and died
        assert outcome(fast) == outcome(slow)
        assert await exported(fast_store) == await exported(slow_store)
    finally:
        await slow_store.close()
        await fast_store.close()
