"""Moving a deployment: ``export --all`` then ``import`` into an empty database loses nothing.

A store is filled through its public methods (articles, comments from chats with
replies, hidden and deleted ones, bans, subscriptions, a channel, a chat move, the
outbox and the inbox), exported whole, imported into a fresh store, and the two
compared row by row and as chats see them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from storage import ImportReport, Store, deployment, import_sources, queues
from storage.channels import connect_channel, record_post, record_thread
from storage.deployment import KINDS, exported
from storage.ingest import sources
from storage.models import Block, ParsedArticle, ParsedComment, TimelineEvent
from tests.conftest import ADMIN_ID, POSTGRES_URL, postgres_schema

GROUP, FORUM, READER, CHANNEL, DISCUSSION, OLD_GROUP, SUPERGROUP = (
    -100,
    -200,
    5,
    -300,
    -400,
    -500,
    -1500,
)
CHATS = (None, GROUP, FORUM, READER, DISCUSSION, SUPERGROUP)
NOW = 1_764_000_000.0


def article(title: str, text: str, *comments: ParsedComment) -> ParsedArticle:
    """A small article with a tag and a dated event."""
    return ParsedArticle(
        title=title,
        blocks=(Block("paragraph", text),),
        source_key=f"text:{title.lower()}",
        source="desk",
        tags=("city",),
        summary=text,
        timeline=(TimelineEvent("2024-03", "month", title, text),),
        comments=comments,
    )


async def fill(store: Store) -> None:
    """A deployment with a little of everything, written through the store's own methods."""
    bridge = await store.save_article(
        article(
            "Harbour Bridge Reopens",
            "The harbour bridge reopened in March 2024.",
            ParsedComment("Ann", "An imported comment about zeppelins."),
        )
    )
    first = bridge.article_id
    for chat_id, chat_type, title in (
        (GROUP, "group", "Desk group"),
        (FORUM, "supergroup", "Forum"),
        (READER, "private", None),
        (DISCUSSION, "supergroup", "Discussion"),
        (OLD_GROUP, "group", "Old group"),
    ):
        await store.save_chat(chat_id, chat_type, title)
    await store.set_scope(GROUP, "group")
    await store.set_subscribed(FORUM, True, topic_id=77)
    await store.set_subscribed(READER, True)

    async def say(chat_id: int, message_id: int, user: int, body: str, **more: Any) -> int:
        comment, _ = await store.add_comment(
            article_id=first,
            body=body,
            author=f"User {user}",
            user_id=user,
            chat_id=chat_id,
            message_id=message_id,
            visibility=more.pop("visibility", "public"),
            **more,
        )
        return comment.id

    in_group = await say(GROUP, 1, 11, "Zeppelins over the bridge", visibility="group")
    await say(GROUP, 2, 12, "Really zeppelins?", visibility="group", parent_id=in_group)
    public = await say(READER, 3, 13, "Public zeppelins from a private chat")
    await say(READER, 4, 11, "A public reply", parent_id=public)
    hidden = await say(READER, 5, 14, "Rude zeppelins")
    await store.set_comment_status(hidden, "hidden")
    await store.record_moderation(ADMIN_ID, "hide", comment_id=hidden)
    deleted = await say(READER, 6, 15, "Regretted zeppelins")
    await store.set_comment_status(deleted, "deleted")
    await store.set_banned(14, True)
    await store.record_moderation(ADMIN_ID, "ban", user_id=14)
    await store.set_banned(12, True, chat_id=GROUP)
    await store.record_moderation(ADMIN_ID, "ban", user_id=12, chat_id=GROUP)
    await say(OLD_GROUP, 7, 16, "Zeppelins before the upgrade", visibility="group")
    await store.set_subscribed(OLD_GROUP, True)
    await connect_channel(store, CHANNEL, "Desk channel")
    await record_post(store, CHANNEL, 41, first, 3)
    await record_thread(store, DISCUSSION, 9, first, CHANNEL)
    # Queued for every subscribed chat by the trigger: the old group's go along on the move.
    second = await store.save_article(article("Tram Line Opens", "A new tram line opened."))
    await store.move_chat(OLD_GROUP, SUPERGROUP)
    pushed = [d for d in await queues.queued_for(store, READER, NOW + 1) if d.kind == "push"]
    assert pushed and pushed[0].article_id == second.article_id
    assert await queues.start_sending(store, pushed[0].id)
    await queues.mark_sent(store, pushed[0].id, 501, NOW)
    reply = await queues.claim_reply(store, READER, f"comment:{public}", {"text": "Saved"}, NOW)
    assert reply is not None
    await queues.mark_sent(store, reply, 502, NOW)
    await queues.store_updates(
        store,
        [
            queues.StoredUpdate(1001, '{"update_id": 1001}', chat_key=-100, user_key=7),
            queues.StoredUpdate(1002, "{}"),
        ],
    )
    await queues.mark_handled(store, [1001])
    await store.index_waiting()


async def write_export(store: Store, path: Path) -> None:
    """What ``newsbot export --all`` writes, into a file."""
    with path.open("w", encoding="utf-8") as stream:
        async for record in exported(store, everything=True):
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")


@asynccontextmanager
async def empty_store(engine: str, tmp_path: Path, name: str = "moved") -> AsyncIterator[Store]:
    """A fresh store on the engine named, beside the test's own."""
    if engine == "sqlite":
        opened = await Store.open(tmp_path / f"{name}.sqlite3")
        try:
            yield opened
        finally:
            await opened.close()
        return
    async with postgres_schema() as url:
        opened = await Store.open(url)
        try:
            yield opened
        finally:
            await opened.close()


ARTICLE_COLUMNS = (
    # Not content_key: a hash of what the article was saved from, the export this time.
    "id, slug, title, body, source, source_key, url, published_at, imported_at, summary, "
    "comment_count, next_seq"
)
COMMENT_COLUMNS = (
    "id, article_id, parent_id, root_id, seq, author, user_id, origin, chat_id, message_id, "
    "visibility, body, created_at, edited_at, status, import_key, seen_in"
)


async def everything(store: Store, snippets: bool = True) -> dict[str, Any]:
    """All a deployment holds, as plain values: rows, counts, and what chats are shown.

    Without ``snippets``, a search hit is its article alone: which matching comment
    gives the snippet is each engine's own ranking.
    """
    seen: dict[str, Any] = {
        "stats": await store.stats(),
        "deliveries": await queues.delivery_counts(store),
        "articles": await rows(store, f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY id"),
        "comments": await rows(store, f"SELECT {COMMENT_COLUMNS} FROM comments ORDER BY id"),
        "timelines": await rows(
            store,
            "SELECT article_id, date, precision, qualifier, label, sentence, sort_key "
            "FROM timeline_events ORDER BY article_id, sort_key",
        ),
        "tags": await rows(
            store,
            "SELECT x.article_id, t.name, x.position FROM article_tags x "
            "JOIN tags t ON t.id = x.tag_id ORDER BY x.article_id, t.name",
        ),
    }
    for kind in KINDS:
        seen[kind.table] = await rows(
            store,
            f"SELECT {', '.join(kind.columns)} FROM {kind.table} ORDER BY {', '.join(kind.order)}",
        )
    for chat_id in CHATS:
        seen[f"page {chat_id}"] = await store.comment_page(1, 1, chat_id)
        hits = await store.search("zeppelins", chat_id)
        seen[f"search {chat_id}"] = [
            hit if snippets else (hit.article_id, hit.title, hit.in_comment) for hit in hits
        ]
        seen[f"count {chat_id}"] = await store.comment_count(1, chat_id)
    later = NOW + 3600
    seen["queued"] = {chat: await queues.queued_for(store, chat, later) for chat in CHATS if chat}
    return seen


async def rows(store: Store, sql: str) -> list[dict[str, Any]]:
    return [dict(row) for row in await store._all(sql)]


async def test_a_whole_deployment_moves_with_its_ids_and_states(
    store: Store, tmp_path: Path
) -> None:
    await fill(store)
    before = await everything(store)
    export = tmp_path / "all.jsonl"
    await write_export(store, export)
    async with empty_store(store.sql.name, tmp_path) as moved:
        report = await import_sources(moved, [str(export)], deployment=True)
        assert (report.failed, report.errors, report.warnings) == (0, [], [])
        assert report.new == 2
        assert report.records == {
            "chat": 7,
            "user": 6,
            "chat_ban": 1,
            "moderation": 3,
            "chat_move": 1,
            "channel_post": 1,
            "discussion_thread": 1,
            "update": 2,
            "delivery": 5,
        }
        assert await everything(moved) == before


async def test_what_a_chat_sees_and_what_is_owed_survive_the_move(
    store: Store, tmp_path: Path
) -> None:
    await fill(store)
    export = tmp_path / "all.jsonl"
    await write_export(store, export)
    async with empty_store(store.sql.name, tmp_path) as moved:
        await import_sources(moved, [str(export)], deployment=True)
        page = await moved.comment_page(1, 1, READER)
        assert [c.body for c in page.comments if c.depth == 0] == [
            "An imported comment about zeppelins.",
            "Public zeppelins from a private chat",
        ]
        assert await moved.ban_of(14, None) == "everywhere"
        assert await moved.ban_of(12, GROUP) == "here"
        assert await moved.ban_of(12, READER) is None
        forum = await moved.chat(FORUM)
        assert forum is not None and (forum.subscribed, forum.topic_id) == (True, 77)
        assert await queues.unhandled_updates(moved) == [(1002, "{}")]
        # The sent push and reply are not sent again; the queued ones still go.
        assert await queues.delivery(moved, READER, "comment:4") == {
            "state": "sent",
            "message_id": 502,
            "attempts": 1,
            "error": None,
        }
        assert [d.key for d in await queues.queued_for(moved, READER, NOW + 3600)] == []
        assert [d.key for d in await queues.queued_for(moved, SUPERGROUP, NOW + 3600)] == [
            "article:2"
        ]
        # Ids handed out after the move do not collide with the restored ones.
        comment, _ = await moved.add_comment(
            article_id=2,
            body="After the move",
            author="User 11",
            user_id=11,
            chat_id=READER,
            message_id=8,
            visibility="public",
        )
        assert comment.id == 9
        await moved.record_moderation(ADMIN_ID, "unban", user_id=14)
        assert (await moved.stats())["moderation_unban"] == 1
        claimed = await queues.claim_reply(moved, READER, "comment:9", {"text": "Saved"}, NOW)
        assert claimed == 6


async def test_importing_the_same_export_twice_adds_nothing(store: Store, tmp_path: Path) -> None:
    await fill(store)
    export = tmp_path / "all.jsonl"
    await write_export(store, export)
    async with empty_store(store.sql.name, tmp_path) as moved:
        await import_sources(moved, [str(export)], deployment=True)
        once = await everything(moved)
        again = await import_sources(moved, [str(export)], deployment=True)
        assert (again.new, again.unchanged, again.failed) == (0, 2, 0)
        assert again.records == {}
        assert again.records_present == 27
        assert again.closing_line() == (
            "0 new, 0 updated, 2 unchanged, 0 failed; 0 other records restored, 27 already here"
        )
        assert await everything(moved) == once


async def test_unknown_and_broken_records_are_reported_and_the_rest_restored(
    store: Store, tmp_path: Path
) -> None:
    await store.save_article(article("Harbour Bridge Reopens", "The bridge reopened."))
    export = tmp_path / "all.jsonl"
    await write_export(store, export)
    with export.open("a", encoding="utf-8") as stream:
        for record in (
            {"type": "sticker", "id": 1},
            {"type": "chat", "id": 7, "title": "No chat_type"},  # refused by the table
            {"type": "user", "display_name": "No id"},
            {"type": "user", "id": 8, "display_name": ["not", "text"]},
            {"type": "channel_post", "channel_id": -3, "message_id": 1, "article_id": 99},
            {"type": "user", "id": 9, "display_name": "Kept", "updated_at": "2026-01-01"},
        ):
            stream.write(json.dumps(record) + "\n")
    async with empty_store(store.sql.name, tmp_path) as moved:
        report = await import_sources(moved, [str(export)], deployment=True)
        assert report.new == 1
        assert report.records == {"user": 1}
        assert report.warnings == [f"{export}: line 2: unknown record type 'sticker'; skipped"]
        assert report.failed == 4
        assert [error.split(": ")[1:3] for error in report.errors] == [
            ["line 4", "user"],
            ["line 5", "user"],
            ["line 3", "chat"],
            ["line 6", "channel_post"],
        ]
        user = await moved.user(9)
        assert user is not None and user.display_name == "Kept"


async def test_a_plain_export_keeps_to_the_articles(store: Store) -> None:
    await fill(store)
    records = [record async for record in exported(store, everything=False)]
    assert [record["title"] for record in records] == ["Harbour Bridge Reopens", "Tram Line Opens"]
    assert all("type" not in record for record in records)


@pytest.mark.skipif(not POSTGRES_URL, reason="NEWSBOT_TEST_POSTGRES is not set")
async def test_a_sqlite_deployment_moves_to_postgresql(tmp_path: Path) -> None:
    source = await Store.open(tmp_path / "news.sqlite3")
    try:
        await fill(source)
        before = await everything(source, snippets=False)
        export = tmp_path / "all.jsonl"
        await write_export(source, export)
    finally:
        await source.close()
    async with empty_store("postgres", tmp_path) as moved:
        report = await import_sources(moved, [str(export)], deployment=True)
        assert (report.failed, report.errors, report.warnings) == (0, [], [])
        assert await everything(moved, snippets=False) == before
        again = await import_sources(moved, [str(export)], deployment=True)
        assert (again.records, again.failed) == ({}, 0)
        assert await everything(moved, snippets=False) == before


async def fill_big(store: Store, articles: int) -> None:
    """A deployment with a little of everything, and many articles with comments."""
    await fill(store)
    for first in range(0, articles, 50):
        await store.save_articles(
            [
                article(
                    f"Council Report {n}",
                    f"The council met for the {n}th time and spoke of the harbour at length.",
                    *(
                        ParsedComment(f"Reader {c}", f"Comment {c} on report {n}.")
                        for c in range(6)
                    ),
                )
                for n in range(first, min(first + 50, articles))
            ]
        )


def split(export: Path, limit: int) -> list[Path]:
    """The export cut between lines into files of at most ``limit`` bytes each."""
    pieces: list[Path] = []
    piece = b""
    for line in export.read_bytes().splitlines(keepends=True):
        if piece and len(piece) + len(line) > limit:
            pieces.append(export.with_name(f"piece-{len(pieces):02d}.jsonl"))
            pieces[-1].write_bytes(piece)
            piece = b""
        piece += line
    pieces.append(export.with_name(f"piece-{len(pieces):02d}.jsonl"))
    pieces[-1].write_bytes(piece)
    return pieces


async def test_an_export_larger_than_the_limit_moves_as_its_pieces_do(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_BYTES", 64 * 1024)
    monkeypatch.setattr(deployment, "SAVE_BATCH", 300)  # the records restore in several batches
    await fill_big(store, 250)
    before = await everything(store)
    export = tmp_path / "all.jsonl"
    await write_export(store, export)
    assert export.stat().st_size > 2 * sources.MAX_BYTES
    records = sum('"type"' in line for line in export.read_text().splitlines())
    assert records > 900  # the outbox holds a push of every article to every subscriber
    seen: list[tuple[int, int, int, int]] = []

    def watch(done: int, total: int, report: ImportReport) -> None:
        seen.append((done, total, report.new, sum(report.records.values())))

    async with empty_store(store.sql.name, tmp_path, "whole") as moved:
        whole = await import_sources(moved, [str(export)], progress=watch, deployment=True)
        assert (whole.failed, whole.errors, whole.warnings) == (0, [], [])
        assert whole.new == 252 and sum(whole.records.values()) == records
        assert await everything(moved) == before
    # Progress while the articles are read, then while the other records are restored.
    assert seen[:2] == [(0, 1, 100, 0), (0, 1, 200, 0)]
    assert seen[2:] == [(1, 1, 252, n) for n in (0, *range(300, records, 300), records)]
    pieces = split(export, sources.MAX_BYTES)
    assert len(pieces) > 2
    async with empty_store(store.sql.name, tmp_path, "pieces") as moved:
        pieced = await import_sources(moved, [str(p) for p in pieces], deployment=True)
        assert pieced.closing_line() == whole.closing_line()
        assert (pieced.records, pieced.article_ids) == (whole.records, whole.article_ids)
        assert await everything(moved) == before


async def test_a_broken_line_in_a_large_export_fails_alone(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_BYTES", 64 * 1024)
    await fill_big(store, 150)
    before = await everything(store)
    export = tmp_path / "all.jsonl"
    await write_export(store, export)
    lines = export.read_bytes().splitlines(keepends=True)
    broken = [*lines[:70], b'{"title": "Cut short", "bo\n', *lines[70:], b"\xff\xfe\n"]
    export.write_bytes(b"".join(broken))
    async with empty_store(store.sql.name, tmp_path) as moved:
        report = await import_sources(moved, [str(export)], deployment=True)
        assert report.errors == [
            f"{export}:71: not valid JSON (Unterminated string starting at: line 1 column 24 "
            "(char 23))",
            f"{export}:{len(broken)}: is not UTF-8 text (byte 0xff); save it as UTF-8",
        ]
        assert (report.failed, report.new) == (2, 152)
        assert await everything(moved) == before
