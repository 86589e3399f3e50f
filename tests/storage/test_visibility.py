"""Who sees a comment: the rule, counts, pages and search that agree, and migration 0007."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import aiosqlite
import pytest

from storage import Store
from storage import visibility as rule
from storage.db import migrations
from storage.limits import MAX_COMMENT
from storage.models import ParsedComment
from tests.storage.test_store import ARTICLE

GROUP, OTHER = -100, -200


def test_a_reply_is_seen_only_where_its_thread_is() -> None:
    assert rule.audience("public", 5) is None
    assert rule.audience("group", GROUP) == GROUP
    assert rule.audience("group", None) == rule.NOWHERE  # names no chat: no chat sees it
    assert rule.audience("public", 5, within=GROUP) == GROUP
    assert rule.audience("group", GROUP, within=GROUP) == GROUP
    assert rule.audience("group", OTHER, within=GROUP) == rule.NOWHERE
    assert rule.audience("public", None, within=rule.NOWHERE) == rule.NOWHERE
    assert rule.reaches(None, None) and rule.reaches(None, GROUP)
    assert rule.reaches(GROUP, GROUP) and not rule.reaches(GROUP, OTHER)
    assert not rule.reaches(GROUP, None)
    assert not any(rule.reaches(rule.NOWHERE, chat) for chat in (None, 0, GROUP))


@pytest.mark.sqlite_only("its triggers' text")
async def test_the_stored_count_is_kept_by_the_rules_own_condition(store: Store) -> None:
    rows = await store.db.execute_fetchall(
        "SELECT name, sql FROM sqlite_master WHERE name LIKE 'comments_count_%'"
    )
    triggers = {row[0]: row[1] for row in rows}
    assert set(triggers) == {
        "comments_count_insert",
        "comments_count_delete",
        "comments_count_update",
    }
    assert rule.counted_everywhere("new") in triggers["comments_count_insert"]
    assert rule.counted_everywhere("old") in triggers["comments_count_delete"]
    update = triggers["comments_count_update"]
    assert f"({rule.counted_everywhere('old')})" in update
    assert f"({rule.counted_everywhere('new')})" in update


async def _seen(store: Store, article_id: int, chat: int | None, word: str) -> tuple[object, ...]:
    """What a chat sees of an article's comments: count, page bodies, search hit."""
    page = await store.comment_page(article_id, 1, chat)
    found = [hit.in_comment for hit in await store.search(word, chat)]
    return (
        await store.comment_count(article_id, chat),
        page.total,
        [c.body for c in page.comments if c.status == "visible"],
        found,
    )


async def test_an_imported_group_comment_without_a_chat_is_seen_nowhere(store: Store) -> None:
    saved = await store.save_article(
        replace(
            ARTICLE,
            comments=(
                ParsedComment("Ann", "plain public words"),
                ParsedComment("Bob", "orphaned wombats", visibility="group"),
            ),
        )
    )
    for chat in (None, GROUP, 5):
        assert await _seen(store, saved.article_id, chat, "wombats") == (
            1,
            1,
            ["plain public words"],
            [],
        )
    [_, orphan] = await store.all_comments(saved.article_id)
    assert orphan.seen_in == rule.NOWHERE
    assert not any(store.visible_in(orphan, chat) for chat in (None, 0, GROUP))


async def test_imported_threads_follow_the_rule(store: Store) -> None:
    """A public reply under a group-only comment stays there; another group's, nowhere."""
    saved = await store.save_article(
        replace(
            ARTICLE,
            comments=(
                ParsedComment("Ann", "group secret", id=1, visibility="group", chat_id=GROUP),
                ParsedComment("Bob", "public echidnas", id=2, parent_id=1),
                ParsedComment(
                    "Cy", "lost echidnas", id=3, parent_id=1, chat_id=OTHER, visibility="group"
                ),
                ParsedComment("Dee", "deeper echidnas", id=4, parent_id=2),
            ),
        )
    )
    aid = saved.article_id
    assert await _seen(store, aid, GROUP, "echidnas") == (
        3,
        3,
        ["group secret", "public echidnas", "deeper echidnas"],
        [True],
    )
    for chat in (None, OTHER, 5):
        assert await _seen(store, aid, chat, "echidnas") == (0, 0, [], [])
    # The group becomes a supergroup: the whole thread follows it.
    await store.move_chat(GROUP, -300)
    assert (await _seen(store, aid, -300, "echidnas"))[0] == 3
    assert (await _seen(store, aid, GROUP, "echidnas"))[0] == 0


async def test_a_version_6_database_is_brought_under_the_new_rules(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(path) as db:
        for version, _, sql in migrations()[:6]:
            await db.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
        await db.execute(
            "INSERT INTO articles (id, slug, title, body, source, source_key, content_key, "
            "imported_at, summary) VALUES (1, 's', 'T', '[]', '', 'k', 'c', '2025', '')"
        )
        comments = [  # id, parent, visibility, chat
            (1, None, "group", GROUP),
            (2, 1, "public", GROUP),  # the hole: counted everywhere before
            (3, 2, "public", None),
            (4, None, "public", 7),
            (5, 4, "group", GROUP),
            (6, None, "group", None),
            (7, 1, "group", OTHER),
        ]
        for cid, parent, visibility, chat in comments:
            await db.execute(
                "INSERT INTO comments (id, article_id, parent_id, root_id, seq, author, origin, "
                "chat_id, visibility, body, created_at) "
                "VALUES (?, 1, ?, NULL, ?, 'A', 'imported', ?, ?, 'b', '2025')",
                (cid, parent, None if parent else cid, chat, visibility),
            )
        await db.execute(  # deleted before deleting erased the text
            "INSERT INTO comments (id, article_id, root_id, seq, author, origin, body, "
            "created_at, status) VALUES (8, 1, 8, 8, 'A', 'imported', 'gone words', '2025', "
            "'deleted')"
        )
        await db.execute(  # bidirectional controls, kept before they were removed
            "INSERT INTO comments (id, article_id, root_id, seq, author, origin, body, "
            "created_at) VALUES (9, 1, 9, 9, ?, 'imported', ?, '2025')",
            ("\u202eZed\u202c", "a \u2066b\u2069 \u2067c"),
        )
        await db.execute(
            "INSERT INTO users (id, display_name, updated_at) VALUES (5, ?, '2025')",
            ("\u202bRex",),
        )
        await db.execute(  # imported before the limits: a long topic and comment
            "INSERT INTO comments (id, article_id, root_id, seq, author, origin, body, "
            "created_at) VALUES (10, 1, 10, 10, 'A', 'imported', ?, '2025')",
            ("long " * 1_000,),
        )
        await db.execute("INSERT INTO tags (id, name) VALUES (1, ?), (2, 'fine')", ("t" * 41,))
        await db.execute("INSERT INTO article_tags VALUES (1, 1, 0), (1, 2, 1)")
        await db.commit()
    store = await Store.open(path)
    try:
        stored = {c.id: c for c in await store.all_comments(1)}
        expected: dict[int, int | None] = {}
        for cid, parent, visibility, chat in comments:
            within = expected[parent] if parent else None
            expected[cid] = rule.audience(visibility, chat, within)
        assert stored.pop(8).body == ""
        assert len(stored.pop(10).body) == MAX_COMMENT
        assert (await store.article(1)).tags == ("fine",)  # type: ignore[union-attr]
        bidi = stored.pop(9)
        assert (bidi.author, bidi.body) == ("Zed", "a b c")
        assert (await store.user(5)).display_name == "Rex"  # type: ignore[union-attr]
        assert [h.in_comment for h in await store.search("c", None)] == [True]
        assert {cid: c.seen_in for cid, c in stored.items()} == expected
        assert expected == {1: GROUP, 2: GROUP, 3: GROUP, 4: None, 5: GROUP, 6: 0, 7: 0}
        # Public: 4, 9 and 10; the group adds 1, 2, 3 and 5; 6 and 7 are seen nowhere.
        assert await store.comment_count(1, None) == 3
        assert await store.comment_count(1, GROUP) == 7
    finally:
        await store.close()
