"""The search index without copies of the texts (migration 0009): same answers, less disk."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from storage import Store
from storage import db as dbmod
from storage.importer import load_bundled_sample
from storage.models import (
    Block,
    ParsedArticle,
    ParsedComment,
    SaveResult,
    SearchHit,
    TimelineEvent,
)
from storage.search import _WAITING, RANK_EXACTLY_UP_TO

INDEXED = 9  # the migration that dropped the copies
WAITING = 13  # the migration after which new articles and comments wait for the index
WORDS = [
    "harbour",
    "bridge",
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
    "zeppelin",
    "café",
    "naïve",
    "defence",
    "budget",
    "inflation",
    "strike",
    "union",
    "council",
]
QUERIES = ["harbour", "bridge talks", "zeppelin", "cafe", "naive", "drills", "opaqueness", "zz"]


def article(n: int, rng: random.Random) -> ParsedArticle:
    def text(k: int) -> str:
        return " ".join(rng.choices(WORDS, k=k)).capitalize() + "."

    return ParsedArticle(
        title=f"Report {n}: {text(4)}",
        blocks=(Block("paragraph", text(60)), Block("heading", text(3)), Block("bullet", text(9))),
        source_key=f"index:{n}",
        summary="",
        timeline=(),
        comments=tuple(ParsedComment("Ann", text(25)) for _ in range(6)),
    )


async def answers(store: Store) -> dict[str, list[SearchHit]]:
    return {q: await store.search(q, None) for q in QUERIES} | {
        f"{q} (in a group)": await store.search(q, -100) for q in QUERIES
    }


async def index_is_sound(store: Store) -> None:
    """FTS5's own check: every entry matches the text it is read from, and back."""
    for table in ("articles_fts", "comments_fts"):
        await store.db.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")


async def fill(store: Store) -> None:
    """Articles and comments, then the changes that move entries in and out of the index."""
    rng = random.Random(9)
    await load_bundled_sample(store)
    for n in range(120):
        await store.save_article(article(n, rng))
    await store.save_article(  # changed: its old text leaves the index
        ParsedArticle(
            title="Report 0 rewritten about a zeppelin",
            blocks=(Block("paragraph", "Only the zeppelin is left."),),
            source_key="index:0",
            summary="",
            timeline=(),
        )
    )
    posted, _ = await store.add_comment(
        article_id=3,
        body="A harbour zeppelin seen from the group.",
        author="Cy",
        user_id=7,
        chat_id=-100,
        message_id=1,
        visibility="group",
    )
    await store.edit_comment(posted.id, "An edited zeppelin, naïve and fast.")
    await store.set_comment_status(10, "hidden")
    await store.set_comment_status(11, "deleted")
    await store.set_comment_status(10, "visible")
    await store.set_comment_status(12, "hidden")
    await store.db.execute("DELETE FROM articles WHERE id = 5")  # with its comments


async def file_size(store: Store) -> int:
    await store.db.execute("VACUUM")
    await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    row = await store._one(
        "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"
    )
    assert row is not None
    return int(row[0])


async def test_the_migration_keeps_every_answer_and_drops_the_copies(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = Store(await dbmod.connect(path, upto=INDEXED - 1), str(path))
    try:
        assert await dbmod.schema_version(old.db) == INDEXED - 1
        await fill(old)
        before, size_before = await answers(old), await file_size(old)
        assert sum(len(hits) for hits in before.values()) > 20
        assert await dbmod.migrate(old.db) == len(dbmod.migrations())
        assert await answers(old) == before
        await index_is_sound(old)
        size_after = await file_size(old)
        assert size_after < 0.8 * size_before, (size_before, size_after)
    finally:
        await old.close()


async def test_a_new_database_answers_as_a_migrated_one(tmp_path: Path) -> None:
    migrated = Store(await dbmod.connect(tmp_path / "m.sqlite3", upto=INDEXED - 1), "m")
    fresh = await Store.open(tmp_path / "f.sqlite3")
    try:
        await fill(migrated)
        await dbmod.migrate(migrated.db)
        await fill(fresh)
        assert await answers(fresh) == await answers(migrated)
        await index_is_sound(fresh)
        # Changes after the migration keep the index in step with the texts.
        for store in (fresh, migrated):
            await store.set_comment_status(20, "hidden")
            await store.edit_comment(21, "Rewritten into a harbour note.")
            await store.db.execute("DELETE FROM articles WHERE id = 7")
            await index_is_sound(store)
        assert await answers(fresh) == await answers(migrated)
        edited = await fresh.comment(21)
        assert edited is not None
        [hit] = await fresh.search("rewritten note", None)
        assert (hit.article_id, hit.in_comment) == (edited.article_id, True)
    finally:
        await migrated.close()
        await fresh.close()


async def test_words_in_quotes_are_found_together_in_order(store: Store) -> None:
    def text(n: int, body: str) -> ParsedArticle:
        return ParsedArticle(
            title=f"Note {n}",
            blocks=(Block("paragraph", body),),
            source_key=f"phrase:{n}",
            summary="",
            timeline=(),
        )

    await store.save_article(text(1, "The harbour bridge reopened."))
    await store.save_article(text(2, "The bridge by the harbour reopened."))
    together = await store.search('"harbour bridge"', None)
    assert [hit.title for hit in together] == ["Note 1"]
    assert "\x02harbour bridge\x03" in together[0].snippet
    assert sorted(hit.title for hit in await store.search("harbour bridge", None)) == [
        "Note 1",
        "Note 2",
    ]
    assert await store.search('"bridge harbour"', None) == []
    # A quote left open, or an empty pair, leaves plain words.
    assert len(await store.search('"harbour bridge', None)) == 2
    assert len(await store.search('"" reopened', None)) == 2


async def test_a_word_in_very_many_rows_ranks_the_newest_title_hits_first(store: Store) -> None:
    def note(n: int, comments: int = 0) -> ParsedArticle:
        titled = n % 3 == 0
        return ParsedArticle(
            title=f"Widget news {n}" if titled else f"Note {n}",
            blocks=(Block("paragraph", f"Story {n} about a widget." if n else "No such thing."),),
            source_key=f"many:{n}",
            summary="",
            timeline=(),
            comments=tuple(ParsedComment("Ann", f"A widget remark {k}.") for k in range(comments)),
        )

    # Article 1 has more comments with the word than bm25 is asked to count.
    results = await store.save_articles(
        [note(0, comments=RANK_EXACTLY_UP_TO + 1), *(note(n) for n in range(1, 450))]
    )
    assert all(isinstance(result, SaveResult) for result in results)
    hits = await store.search("widget", None, limit=12)
    titles = [hit.title for hit in hits]
    newest_titled = [f"Widget news {n}" for n in range(449, 0, -1) if n % 3 == 0]
    assert titles == newest_titled[:12]
    assert not any(hit.in_comment for hit in hits)
    [only_comments] = await store.search("remark", None)
    assert (only_comments.title, only_comments.in_comment) == ("Widget news 0", True)
    # A rarer word is still ranked by bm25: the denser match first, though older.
    for n, text in ((2000, "Zebra, zebra, zebra."), (2001, "A long story " * 30 + "zebra.")):
        await store.save_article(
            ParsedArticle(
                title=f"Animal {n}",
                blocks=(Block("paragraph", text),),
                source_key=f"animal:{n}",
                summary="",
                timeline=(),
            )
        )
    assert [hit.title for hit in await store.search("zebra", None)] == [
        "Animal 2000",
        "Animal 2001",
    ]


async def _fts_intact(store: Store) -> None:
    """FTS5's own check that the comments index holds exactly the visible comments."""
    await store.db.execute("INSERT INTO comments_fts (comments_fts) VALUES ('integrity-check')")


async def _pending(store: Store) -> int:
    row = await store._one("SELECT count(*) FROM fts_pending")
    return int(row[0]) if row else 0


@pytest.mark.sqlite_only("FTS5 and the comments waiting for it")
async def test_chat_comments_are_indexed_in_a_batch_whatever_happens_before(
    store: Store,
) -> None:
    article_id = await load_bundled_sample(store)

    async def post(n: int, text: str) -> int:
        posting = await store.post_comment(
            article_id=article_id,
            parent_id=None,
            body=text,
            author="Ann",
            user_id=5,
            chat=None,
            chat_id=5,
            message_id=n,
            visibility="public",
        )
        assert posting.comment is not None
        return posting.comment.id

    kept = await post(1, "zebra crossing")
    edited = await post(2, "yellow submarine")
    hidden = await post(3, "xylophone recital")
    deleted = await post(4, "walrus song")
    shown_again = await post(5, "violin lessons")
    assert await _pending(store) == 5
    # Changed before they were indexed: the index is not told about rows it never held.
    await store.edit_comment(edited, "yellow umbrella")
    await store.set_comment_status(hidden, "hidden")
    await store.set_comment_status(deleted, "deleted")
    await store.set_comment_status(shown_again, "hidden")
    await store.set_comment_status(shown_again, "visible")
    assert await store.index_waiting(batch=2) == 5  # in three writes
    assert await _pending(store) == 0
    await _fts_intact(store)
    for words, found in [
        ("zebra", True),
        ("yellow umbrella", True),
        ("submarine", False),
        ("xylophone", False),
        ("walrus", False),
        ("violin", True),
    ]:
        hits = await store.search(words, None)
        assert bool(hits and hits[0].in_comment) is found, words
    # Changes after indexing go through the index as before.
    await store.set_comment_status(kept, "hidden")
    await store.edit_comment(edited, "yellow taxi")
    await _fts_intact(store)
    assert await store.search("zebra", None) == []


@pytest.mark.sqlite_only("FTS5 and the comments waiting for it")
async def test_search_finds_a_comment_of_the_last_moment(store: Store) -> None:
    article_id = await load_bundled_sample(store)
    await store.post_comment(
        article_id=article_id,
        parent_id=None,
        body="quokka sighting",
        author="Bo",
        user_id=6,
        chat=None,
        chat_id=6,
        message_id=1,
        visibility="public",
    )
    [hit] = await store.search("quokka", None)
    assert hit.in_comment
    assert await _pending(store) == 0
    await _fts_intact(store)


async def _indexed(store: Store, table: str) -> list[int]:
    """The rows an FTS5 index holds: it keeps a size record for each."""
    return [int(row[0]) for row in await store._all(f"SELECT id FROM {table}_docsize ORDER BY id")]


@pytest.mark.sqlite_only("FTS5 and the rows waiting for it")
async def test_a_save_indexes_all_it_brought_before_it_commits(store: Store) -> None:
    """New articles and comments wait for the index only while their save goes on: an
    article saved and changed in the same batch is indexed with its last text, one that
    failed leaves nothing behind, and nothing waits once the save is done."""
    rng = random.Random(3)
    impossible = TimelineEvent("2025-01", "fortnight", "x", "x")  # breaks a CHECK constraint
    changed = replace(article(1, rng), title="Report 1 rewritten about a zeppelin")
    hidden = replace(
        article(3, rng), comments=(ParsedComment("Bo", "A hidden harbour.", status="hidden"),)
    )
    results = await store.save_articles(
        [
            article(1, rng),
            replace(article(2, rng), timeline=(impossible,)),  # fails alone
            changed,  # the same source: article 1 again, changed
            hidden,
        ]
    )
    assert [type(result).__name__ for result in results] == [
        "SaveResult",
        "IntegrityError",
        "SaveResult",
        "SaveResult",
    ]
    assert [result.outcome for result in results if isinstance(result, SaveResult)] == [
        "new",
        "updated",
        "new",
    ]
    for waiting in ("fts_pending", "fts_pending_articles"):
        assert await store._all(f"SELECT * FROM {waiting}") == []
    article_ids = [int(row[0]) for row in await store._all("SELECT id FROM articles ORDER BY id")]
    visible = await store._all("SELECT id FROM comments WHERE status = 'visible' ORDER BY id")
    # Article 1's six comments and the six its new version brought; not the hidden one.
    assert len(article_ids) == 2 and len(visible) == 12
    assert await _indexed(store, "articles_fts") == article_ids
    assert await _indexed(store, "comments_fts") == [int(row[0]) for row in visible]
    await index_is_sound(store)
    [hit] = await store.search("zeppelin rewritten", None)
    assert hit.title == "Report 1 rewritten about a zeppelin"
    assert await store.search("hidden harbour", None) == []
    # One article saved on its own is indexed as it commits, too.
    await store.save_article(article(4, rng))
    assert len(await _indexed(store, "articles_fts")) == 3
    assert await store._all("SELECT * FROM fts_pending_articles") == []


async def test_the_migration_to_indexing_once_per_save_keeps_every_answer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    old = Store(await dbmod.connect(path, upto=WAITING - 1), str(path))
    try:
        await fill(old)
        await old.index_waiting()
        before = await answers(old)
        assert sum(len(hits) for hits in before.values()) > 20
        assert await dbmod.migrate(old.db) == len(dbmod.migrations())
        assert await answers(old) == before
        await fill(old)  # the same sources again, and more comments: now they wait
        await old.save_article(article(500, random.Random(2)))  # and a new article
        await old.index_waiting()
        await index_is_sound(old)
        assert await answers(old) != before
        # Every article and every visible comment is in the index, and nothing else.
        articles = await old._all("SELECT id FROM articles ORDER BY id")
        visible = await old._all("SELECT id FROM comments WHERE status = 'visible' ORDER BY id")
        assert await _indexed(old, "articles_fts") == [int(row[0]) for row in articles]
        assert await _indexed(old, "comments_fts") == [int(row[0]) for row in visible]
    finally:
        await old.close()


@pytest.mark.sqlite_only("databases held at SQLite's older schemas")
@pytest.mark.parametrize("version", [8, 10, 12])
async def test_search_answers_at_an_older_schema_without_a_point_reader(
    tmp_path: Path, version: int
) -> None:
    """Some tests hold a database at an older schema, through a store given a path that
    is not the file (so no read-only reader opens): search still answers there."""
    store = Store(await dbmod.connect(tmp_path / "m.sqlite3", upto=version), "m")
    try:
        await store.save_article(article(1, random.Random(1)))
        assert len(await store.search("report", None)) == 1
    finally:
        await store.close()


@pytest.mark.sqlite_only("SQLite's query plans")
async def test_indexing_looks_up_each_waiting_row_and_walks_no_table(store: Store) -> None:
    """The waiting lists drive the statements that index them: an article or a comment
    is found by its id, never by walking the table up to the last one waiting."""
    await load_bundled_sample(store)
    for _, _, statement in _WAITING:
        plan = [str(row[3]) for row in await store._all(f"EXPLAIN QUERY PLAN {statement}", (9,))]
        for step in plan:
            assert not re.match(r"SCAN (articles|comments|a|c)\b", step), plan
            assert "(rowid<" not in step or re.match(r"SEARCH (p|fts_pending\w*) ", step), plan
