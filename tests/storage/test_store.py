"""The store on hand-made articles: saving, threads, visibility, search, pages by key."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import aiosqlite
import pytest

from storage import Store
from storage.db import migrations, schema_version
from storage.errors import NotFound, StorageError
from storage.importer import load_bundled_sample
from storage.models import Block, Comment, ParsedArticle, ParsedComment, TimelineEvent
from storage.rows import _COMMENT_COLUMNS
from tests.conftest import NO_POSTGRES, POSTGRES_URL, postgres_schema

ARTICLE = ParsedArticle(
    title="Harbour Bridge Reopens",
    blocks=(
        Block("paragraph", "The harbour bridge reopened in March 2024 after repairs."),
        Block("heading", "What Changed"),
        Block("bullet", "New cables were fitted."),
    ),
    source_key="text:harbour bridge reopens",
    source="desk",
    tags=("bridges", "City"),
    summary="The harbour bridge reopened in March 2024 after repairs.",
    timeline=(
        TimelineEvent("2024-03", "month", "The bridge reopened", "The harbour bridge ..."),
        TimelineEvent("2023", "year", "Repairs began", "Repairs began in 2023."),
    ),
    comments=(
        ParsedComment("Ann", "First imported comment about zeppelins."),
        ParsedComment("Bob", "Second imported comment."),
    ),
)


@pytest.mark.sqlite_only("its file, its query plans and its point reads")
async def test_migrations_are_recorded_and_pragmas_set(store: Store) -> None:
    assert await schema_version(store.db) == len(migrations())
    async with store.db.execute("PRAGMA journal_mode") as cur:
        assert (await cur.fetchone())[0] == "wal"
    async with store.db.execute("PRAGMA foreign_keys") as cur:
        assert (await cur.fetchone())[0] == 1


async def test_reopening_a_migrated_database_changes_nothing(tmp_path: Path) -> None:
    first = await Store.open(tmp_path / "db.sqlite3")
    await first.save_article(ARTICLE)
    await first.close()
    again = await Store.open(tmp_path / "db.sqlite3")
    assert await again.article_count() == 1
    await again.close()


async def test_save_then_read_back_keeps_structure_tags_and_timeline(store: Store) -> None:
    result = await store.save_article(ARTICLE)
    assert result.outcome == "new"
    article = await store.article(result.article_id)
    assert article is not None
    assert article.blocks == ARTICLE.blocks
    assert article.tags == ("bridges", "city")
    assert article.slug == "harbour-bridge-reopens"
    assert await store.find_article("harbour-bridge-reopens") == article
    assert await store.find_article(str(article.id)) == article
    events = await store.timeline(article.id)
    assert [e.date for e in events] == ["2023", "2024-03"]
    assert article.comment_count == 2


async def test_reimport_is_idempotent_and_a_change_keeps_chat_comments(store: Store) -> None:
    first = await store.save_article(ARTICLE)
    again = await store.save_article(ARTICLE)
    assert again.outcome == "unchanged"
    await store.add_comment(
        article_id=first.article_id,
        body="from the chat",
        author="Cy",
        user_id=7,
        chat_id=7,
        message_id=1,
        visibility="public",
    )
    changed = replace(
        ARTICLE,
        title="Harbour Bridge Reopens Early",
        comments=(*ARTICLE.comments, ParsedComment("Dee", "A new imported comment.")),
    )
    updated = await store.save_article(changed)
    assert updated.outcome == "updated"
    assert updated.article_id == first.article_id
    comments = await store.all_comments(first.article_id)
    assert [c.author for c in comments] == ["Ann", "Bob", "Cy", "Dee"]
    article = await store.article(first.article_id)
    assert article is not None and article.title == "Harbour Bridge Reopens Early"


async def test_slug_collisions_get_a_number(store: Store) -> None:
    await store.save_article(ARTICLE)
    other = await store.save_article(replace(ARTICLE, source_key="feed:x"))
    article = await store.article(other.article_id)
    assert article is not None and article.slug == "harbour-bridge-reopens-2"


async def test_redelivered_message_does_not_create_a_second_comment(store: Store) -> None:
    saved = await store.save_article(ARTICLE)
    kwargs = dict(
        article_id=saved.article_id,
        body="once",
        author="Cy",
        user_id=7,
        chat_id=-5,
        message_id=42,
        visibility="group",
    )
    first, created = await store.add_comment(**kwargs)  # type: ignore[arg-type]
    second, created_again = await store.add_comment(**kwargs)  # type: ignore[arg-type]
    assert created and not created_again
    assert first == second
    assert len(await store.all_comments(saved.article_id)) == 3


async def test_group_comments_stay_in_their_group(store: Store) -> None:
    saved = await store.save_article(ARTICLE)
    aid = saved.article_id
    await store.add_comment(
        article_id=aid,
        body="secret zeppelins of group A",
        author="A",
        user_id=1,
        chat_id=-100,
        message_id=1,
        visibility="group",
    )
    for chat, expected in ((-100, 3), (-200, 2), (5, 2), (None, 2)):
        assert await store.comment_count(aid, chat) == expected
        page = await store.comment_page(aid, 1, chat)
        assert len(page.comments) == expected
        assert page.total == expected
    hits_a = await store.search("secret", -100)
    assert [h.in_comment for h in hits_a] == [True]
    assert await store.search("secret", -200) == []
    assert await store.search("secret", None) == []


async def test_replies_nest_under_parents_and_placeholders_keep_threads(store: Store) -> None:
    saved = await store.save_article(replace(ARTICLE, comments=()))
    aid = saved.article_id
    top, _ = await store.add_comment(
        article_id=aid,
        body="top",
        author="A",
        user_id=1,
        chat_id=1,
        message_id=1,
        visibility="public",
    )
    child, _ = await store.add_comment(
        article_id=aid,
        body="child",
        author="B",
        user_id=2,
        chat_id=2,
        message_id=1,
        visibility="public",
        parent_id=top.id,
    )
    await store.add_comment(
        article_id=aid,
        body="grandchild",
        author="C",
        user_id=3,
        chat_id=3,
        message_id=1,
        visibility="public",
        parent_id=child.id,
    )
    lonely, _ = await store.add_comment(
        article_id=aid,
        body="lonely",
        author="D",
        user_id=4,
        chat_id=4,
        message_id=1,
        visibility="public",
    )
    page = await store.comment_page(aid, 1, None)
    assert [(c.body, c.depth) for c in page.comments] == [
        ("top", 0),
        ("child", 1),
        ("grandchild", 2),
        ("lonely", 0),
    ]
    await store.set_comment_status(top.id, "deleted")
    await store.set_comment_status(lonely.id, "hidden")
    page = await store.comment_page(aid, 1, None)
    assert [(c.body, c.status) for c in page.comments] == [
        ("", "deleted"),  # deleting erased its text
        ("child", "visible"),
        ("grandchild", "visible"),
    ]
    assert page.total == 2
    assert await store.search("lonely", None) == []


async def test_reply_must_belong_to_the_same_article(store: Store) -> None:
    one = await store.save_article(ARTICLE)
    two = await store.save_article(replace(ARTICLE, source_key="other", comments=()))
    parent = (await store.all_comments(one.article_id))[0]
    with pytest.raises(NotFound):
        await store.add_comment(
            article_id=two.article_id,
            body="x",
            author="A",
            user_id=1,
            chat_id=1,
            message_id=9,
            visibility="public",
            parent_id=parent.id,
        )


async def test_pages_by_key_skip_what_a_chat_cannot_see(store: Store) -> None:
    saved = await store.save_article(replace(ARTICLE, comments=()))
    aid = saved.article_id
    for n in range(1, 13):
        await store.add_comment(
            article_id=aid,
            body=f"c{n}",
            author="A",
            user_id=n,
            chat_id=-7 if n % 3 == 0 else n,
            message_id=n,
            visibility="group" if n % 3 == 0 else "public",
        )
    # Chat -9 sees the 8 public ones: pages of 5 and 3.
    first = await store.comment_page(aid, 1, -9)
    second = await store.comment_page(aid, 2, -9)
    assert [c.body for c in first.comments] == ["c1", "c2", "c4", "c5", "c7"]
    assert [c.body for c in second.comments] == ["c8", "c10", "c11"]
    assert (first.pages, second.page) == (2, 2)
    # Group -7 sees all 12: 5, 5, 2.
    third = await store.comment_page(aid, 3, -7)
    assert [c.body for c in third.comments] == ["c11", "c12"]
    # A page past the end shows the last page.
    assert (await store.comment_page(aid, 99, -9)).page == 2


async def test_search_ranks_title_hits_and_ignores_query_syntax(store: Store) -> None:
    await store.save_article(ARTICLE)
    hits = await store.search('bridge" * (', None)
    assert [h.title for h in hits] == ["Harbour Bridge Reopens"]
    assert "\x02" in hits[0].snippet
    assert await store.search("zeppelins", None)  # only in an imported comment
    assert await store.search("   ", None) == []


async def test_users_chats_and_moderation_log(store: Store) -> None:
    user = await store.save_user(5, "Eve")
    assert not user.banned
    await store.set_banned(5, True)
    assert (await store.save_user(5, "Eve Renamed")).banned
    assert (await store.user(5)).display_name == "Eve Renamed"  # type: ignore[union-attr]
    chat = await store.save_chat(-1, "group", "Desk")
    assert chat.scope == "group" and not chat.subscribed
    await store.set_scope(-1, "public")
    await store.set_subscribed(-1, True)
    assert await store.subscribed_chats() == [-1]
    await store.record_moderation(1, "ban", user_id=5)
    stats = await store.stats()
    assert stats["banned_users"] == 1 and stats["moderation_ban"] == 1


@pytest.mark.sqlite_only("its file, its query plans and its point reads")
async def test_backup_copies_the_live_database(store: Store, tmp_path: Path) -> None:
    await store.save_article(ARTICLE)
    target = tmp_path / "backup.sqlite3"
    await store.backup(target)
    async with (
        aiosqlite.connect(target) as copy,
        copy.execute("SELECT title FROM articles") as cur,
    ):
        assert [r[0] for r in await cur.fetchall()] == ["Harbour Bridge Reopens"]


async def test_topic_timeline_follows_tag_and_event_changes(store: Store) -> None:
    first = await store.save_article(ARTICLE)
    other = replace(
        ARTICLE,
        title="Ferry Returns",
        source_key="text:ferry returns",
        tags=("bridges",),
        timeline=(TimelineEvent("2023-06", "month", "The ferry returned", "..."),),
    )
    second = await store.save_article(other)

    async def topic(tag: str) -> list[tuple[str, int]]:
        return [(t.event.date, t.article_id) for t in (await store.topic_timeline(tag)).events]

    assert await topic("bridges") == [
        ("2023", first.article_id),
        ("2023-06", second.article_id),
        ("2024-03", first.article_id),
    ]
    assert await topic("city") == [("2023", first.article_id), ("2024-03", first.article_id)]
    # The first article loses the tag "city" and one event: both timelines follow.
    changed = replace(ARTICLE, tags=("bridges",), timeline=ARTICLE.timeline[:1])
    assert (await store.save_article(changed)).outcome == "updated"
    assert await topic("bridges") == [
        ("2023-06", second.article_id),
        ("2024-03", first.article_id),
    ]
    assert await topic("city") == []


async def test_a_version_1_database_is_migrated_with_its_topics(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as db:
        _, _, sql = migrations()[0]
        await db.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = 1;\nCOMMIT;")
        await db.execute("INSERT INTO tags (id, name) VALUES (1, 'bridges')")
        await db.execute(
            "INSERT INTO articles (id, slug, title, body, source, source_key, content_key, "
            "imported_at, summary) VALUES (1, 's', 'T', '[]', '', 'k', 'c', '2025', '')"
        )
        await db.execute("INSERT INTO article_tags VALUES (1, 1, 0)")
        await db.execute(
            "INSERT INTO timeline_events (article_id, date, precision, label, sentence, "
            "sort_key) VALUES (1, '2020', 'year', 'L', 'S', '2020-00-00-5')"
        )
        await db.commit()
    store = await Store.open(path)
    try:
        assert await schema_version(store.db) == len(migrations())
        assert [t.event.label for t in (await store.topic_timeline("bridges")).events] == ["L"]
    finally:
        await store.close()


async def test_search_finds_a_word_that_occurs_only_in_a_sample_comment(store: Store) -> None:
    article_id = await load_bundled_sample(store)
    [hit] = await store.search("opaqueness", None)
    assert (hit.article_id, hit.in_comment) == (article_id, True)
    assert "\x02opaqueness\x03" in hit.snippet
    [title_hit] = await store.search("drills conclude", None)
    assert not title_hit.in_comment
    # "drills" is in the title, the body and a comment: the article's own text is shown.
    [word_hit] = await store.search("drills", None)
    assert not word_hit.in_comment
    assert "\x02" in word_hit.snippet


async def test_an_import_never_overwrites_a_comment_from_the_same_telegram_message(
    store: Store,
) -> None:
    """Exports of two deployments can name the same (chat_id, message_id): both are kept."""
    ours = await store.save_article(ARTICLE)
    local, _ = await store.add_comment(
        article_id=ours.article_id,
        body="Ours",
        author="Cy",
        user_id=7,
        chat_id=7,
        message_id=1,
        visibility="public",
    )
    theirs = replace(
        ARTICLE,
        title="Elsewhere",
        source_key="jsonl:elsewhere",
        comments=(
            ParsedComment(
                "Dee", "Theirs", id=40, user_id=7, origin="chat", chat_id=7, message_id=1
            ),
            ParsedComment("Eve", "A reply", id=41, parent_id=40),
        ),
    )
    result = await store.save_article(theirs)
    assert result.warnings == (
        "comment by 'Dee': its Telegram message (7, 1) is already comment #3's; "
        "imported without that link",
    )
    assert (await store.comment(local.id)).body == "Ours"  # type: ignore[union-attr]
    imported = await store.all_comments(result.article_id)
    assert [(c.author, c.body, c.message_id) for c in imported] == [
        ("Dee", "Theirs", None),
        ("Eve", "A reply", None),
    ]
    assert imported[1].parent_id == imported[0].id
    assert await store.comment_by_message(7, 1) == await store.comment(local.id)


@pytest.mark.sqlite_only("its file, its query plans and its point reads")
async def test_the_reads_the_bot_makes_use_the_indexes_made_for_them(store: Store) -> None:
    """SQLite picks plans by rule, not size: a small database shows the large one's plans."""
    article_id = await load_bundled_sample(store)
    statements: list[str] = []
    await store.db.set_trace_callback(statements.append)
    reader = store._point_reader()  # point reads go on the event loop, through this one
    assert reader is not None
    reader.set_trace_callback(statements.append)
    await store.latest(10)
    await store.article(article_id, -5)
    await store.comment_page(article_id, 1, None)
    await store.comment_page(article_id, 2, -5)
    await store.timeline(article_id)
    await store.topic_timeline("china", 40)
    await store.search("drills", -5)
    await store.db.set_trace_callback(None)
    reader.set_trace_callback(None)
    queries = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(queries) >= 7
    for statement in queries:
        plan = [
            row[3] for row in await store.db.execute_fetchall(f"EXPLAIN QUERY PLAN {statement}")
        ]
        # No table is read whole: a scan is of the search index, an index, or a few rows
        # already chosen (a page's threads, a topic's latest events).
        for step in plan:
            if step.startswith("SCAN ") and "VIRTUAL TABLE" not in step and "USING" not in step:
                assert step.split()[1] in ("tops", "l") or "(subquery" in step, (statement, plan)
        # The article's every comment is for the export only, never for a page.
        assert not any("comments_by_article" in step for step in plan), (statement, plan)


@pytest.mark.sqlite_only("its file, its query plans and its point reads")
async def test_point_reads_skip_the_database_thread(store: Store) -> None:
    article_id = await load_bundled_sample(store)
    on_thread: list[str] = []
    await store.db.set_trace_callback(on_thread.append)
    article = await store.article(article_id)
    comment = await store.comment(1)
    await store.db.set_trace_callback(None)
    assert article is not None and comment is not None
    assert on_thread == []  # read on the event loop, through the read-only connection


@pytest.mark.sqlite_only("its file, its query plans and its point reads")
async def test_a_read_that_would_scan_never_runs_on_the_event_loop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_bundled_sample(store)
    scanning = "SELECT id FROM comments WHERE body = ?"
    with pytest.raises(AssertionError, match="a point read would scan"):
        await store._point_all(scanning, ("Hi",))
    # Outside the tests it is read on the database thread instead.
    monkeypatch.setattr(Store, "strict_point_reads", False)
    on_thread: list[str] = []
    await store.db.set_trace_callback(on_thread.append)
    assert await store._point_all(scanning + " OR 1", ("Hi",))
    await store.db.set_trace_callback(None)
    assert on_thread == [scanning.replace("?", "'Hi'") + " OR 1"]


@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
async def test_a_backup_of_postgresql_names_the_tools_that_make_one(tmp_path: Path) -> None:
    async with postgres_schema() as url:
        store = await Store.open(url)
        try:
            with pytest.raises(StorageError, match="pg_dump"):
                await store.backup(tmp_path / "copy.sqlite3")
        finally:
            await store.close()
    assert not (tmp_path / "copy.sqlite3").exists()


def test_a_comments_columns_follow_its_fields() -> None:
    """Comments are read by position: the columns are its fields, in order."""
    columns = [column.split()[-1] for column in _COMMENT_COLUMNS.split(",")]
    assert columns == [field.name for field in fields(Comment)]
