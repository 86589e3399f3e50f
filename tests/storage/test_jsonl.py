"""JSON Lines: the export read back without loss, and bad lines named by number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import Store, import_sources
from storage.errors import IngestError
from storage.importer import load_bundled_sample, sample_path
from storage.ingest import article_record, enrich, parse_jsonl, parse_text
from storage.ingest.jsonl import parse_record


async def export_lines(store: Store) -> list[str]:
    """What ``newsbot export`` writes, line by line."""
    return [
        json.dumps(article_record(*row), ensure_ascii=False) async for row in store.export_rows()
    ]


async def test_export_then_import_restores_threads_statuses_and_chat_fields(
    store: Store, tmp_path: Path
) -> None:
    article_id = await load_bundled_sample(store)
    [first, *_] = await store.all_comments(article_id)
    reply, _ = await store.add_comment(
        article_id=article_id,
        body="A reply\nover two lines <b>with</b> markup & more",
        author="Ada",
        user_id=7,
        chat_id=-100123,
        message_id=55,
        visibility="group",
        parent_id=first.id,
        now="2025-12-05T10:00:00Z",
    )
    await store.add_comment(
        article_id=article_id,
        body="Replying to the reply",
        author="Bob",
        user_id=8,
        chat_id=8,
        message_id=3,
        visibility="public",
        parent_id=reply.id,
    )
    await store.edit_comment(reply.id, "An edited reply", now="2025-12-05T11:00:00Z")
    await store.set_comment_status(first.id, "hidden")
    before = await export_lines(store)

    again = await Store.open(tmp_path / "second.sqlite3")
    try:
        for number, line in enumerate(before, start=1):
            [item] = list(parse_jsonl(line, f"dump.jsonl:{number}"))
            assert not isinstance(item, IngestError), item
            assert (await again.save_article(item)).outcome == "new"
        after = await export_lines(again)
        assert after == before
        [thread] = [c for c in await again.all_comments(article_id) if c.id == reply.id]
        assert (thread.parent_id, thread.visibility, thread.chat_id) == (
            first.id,
            "group",
            -100123,
        )
        assert await again.comment_by_message(-100123, 55) is not None
        # Importing the same export again changes nothing.
        [item] = list(parse_jsonl(before[0], "dump.jsonl"))
        assert not isinstance(item, IngestError)
        assert (await again.save_article(item)).outcome == "unchanged"
        assert await export_lines(again) == before
    finally:
        await again.close()


def test_every_record_field_is_read() -> None:
    record = {
        "id": 12,
        "slug": "a-title",
        "title": "A title",
        "source": "desk",
        "source_key": "feed:abc",
        "url": "https://example.org/a",
        "published_at": "2025-01-02T03:04:05Z",
        "imported_at": "2025-01-03T00:00:00Z",
        "tags": ["Russia", "china"],
        "summary": "",
        "body": [{"kind": "heading", "text": "H"}, {"kind": "bullet", "text": "b"}],
        "timeline": [
            {
                "date": "2025-01",
                "precision": "month",
                "qualifier": "early",
                "label": "L",
                "sentence": "S",
            }
        ],
        "comments": [{"id": 3, "parent_id": None, "author": "", "body": "x", "status": "deleted"}],
    }
    article = parse_record(json.dumps(record), "f.jsonl")
    assert (article.id, article.slug, article.source_key, article.summary) == (
        12,
        "a-title",
        "feed:abc",
        "",
    )
    assert article.tags == ("russia", "china")
    assert article.timeline is not None and article.timeline[0].qualifier == "early"
    assert article.comments[0].author == "Anonymous"
    assert article.comments[0].status == "deleted"
    minimal = parse_record('{"title": "T", "body": [{"kind": "paragraph", "text": "b"}]}', "m")
    assert minimal.summary is None and minimal.timeline is None
    assert minimal.source_key == "jsonl:t"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            "{not json",
            "not valid JSON (Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1))",
        ),
        ("[1, 2]", "each line must be a JSON object"),
        ('{"body": []}', "'title' is missing"),
        ('{"title": 5}', "'title' must be a string"),
        ('{"title": " \\u0000 "}', "'title' is empty"),
        ('{"title": "T"}', "'body' has no paragraphs"),
        ('{"title": "T", "body": "text"}', "'body' must be a list"),
        (
            '{"title": "T", "body": [{"kind": "table", "text": "x"}]}',
            "body item 1: 'kind' must be one of paragraph, heading, bullet",
        ),
        (
            '{"title": "T", "body": [{"kind": "paragraph", "text": "x"}], '
            '"timeline": [{"date": "2016-05-01", "precision": "month"}]}',
            "timeline item 1: date '2016-05-01' does not match precision month",
        ),
        (
            '{"title": "T", "body": [{"kind": "paragraph", "text": "x"}], "id": 1e400}',
            "'id' must be a whole number",
        ),
        (
            '{"title": "T", "body": [{"kind": "paragraph", "text": "x"}], '
            '"comments": [{"body": "x", "status": "gone"}]}',
            "comment 1: unknown origin, visibility or status",
        ),
        ("[" * 100_000, "not valid JSON (nested too deeply)"),
    ],
)
def test_bad_records_are_refused_with_the_reason(line: str, reason: str) -> None:
    with pytest.raises(IngestError) as raised:
        parse_record(line, "dump.jsonl")
    assert raised.value.reason == reason
    assert raised.value.source == "dump.jsonl"


def test_bad_lines_are_named_and_the_good_ones_still_come() -> None:
    good = '{"title": "T", "body": [{"kind": "paragraph", "text": "x"}]}'
    items = list(parse_jsonl(f"{good}\n\n{{oops\n{good.replace('T', 'U')}\n", "dump.jsonl"))
    assert [type(item).__name__ for item in items] == [
        "ParsedArticle",
        "IngestError",
        "ParsedArticle",
    ]
    assert str(items[1]).startswith("dump.jsonl:3: not valid JSON")
    assert [str(e) for e in parse_jsonl("\n \n", "e.jsonl")] == ["e.jsonl: the file is empty"]
    pretty = json.dumps({"title": "T", "body": [{"kind": "paragraph", "text": "x"}]}, indent=2)
    assert [str(e) for e in parse_jsonl(pretty, "doc.json")] == [
        "doc.json: one JSON document over many lines, not JSON Lines (an article a line)"
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=500)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["title", "body", "kind", "text", "comments", "timeline", "id", "tags"]
                ),
                children,
                max_size=5,
            )
        ),
    ).map(json.dumps)
)
def test_arbitrary_lines_parse_or_raise_only_the_import_error(line: str) -> None:
    for item in parse_jsonl(line, "fuzz.jsonl"):
        assert isinstance(item, IngestError) or item.title


@pytest.mark.sqlite_only("its query plans")
async def test_the_export_reads_comments_and_timelines_by_index_in_batches(store: Store) -> None:
    """Scanning every comment once per article made a large export take hours."""
    text = sample_path().read_text(encoding="utf-8")
    for n in range(3):
        await store.save_article(enrich(parse_text(f"Part {n}: {text}", f"part{n}.txt")))
    statements: list[str] = []
    await store.db.set_trace_callback(statements.append)
    lines = await export_lines(store)
    await store.db.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(lines) == 3 and len(selects) == 4  # articles, timelines, comments, the end
    for statement in selects:
        plan = await store.db.execute_fetchall(f"EXPLAIN QUERY PLAN {statement}")
        scans = [row[3] for row in plan if row[3].startswith("SCAN")]
        assert not any(scan.split()[1] in ("comments", "timeline_events") for scan in scans)


async def test_a_file_and_its_export_are_the_same_comments_in_either_order(
    store: Store, tmp_path: Path
) -> None:
    sample = tmp_path / "drills.txt"
    sample.write_text(sample_path().read_text(encoding="utf-8"), encoding="utf-8")
    await import_sources(store, [str(sample)])
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(await export_lines(store)) + "\n", encoding="utf-8")
    report = await import_sources(store, [str(export)])
    assert (report.new, report.failed) == (0, 0)
    assert len(await store.all_comments(1)) == 5
    fresh = await Store.open(tmp_path / "fresh.sqlite3")
    try:
        await import_sources(fresh, [str(export)])
        await import_sources(fresh, [str(sample)])
        assert len(await fresh.all_comments(1)) == 5
        assert await export_lines(fresh) == await export_lines(store)
    finally:
        await fresh.close()


def record(**fields: object) -> str:
    base: dict[str, object] = {"title": "T", "body": [{"kind": "paragraph", "text": "B."}]}
    return json.dumps({**base, **fields})


def comment(cid: int | None, body: str, parent: int | None = None, **more: object) -> dict:
    return {"id": cid, "parent_id": parent, "author": "A", "body": body, **more}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (record(id=0), "'id' must be a positive whole number"),
        (record(id=-5), "'id' must be a positive whole number"),
        (
            record(comments=[comment(400, "first"), comment(400, "second")]),
            "comment 2: id 400 is comment 1's too",
        ),
        (
            record(
                comments=[
                    comment(None, "a", chat_id=5, message_id=9),
                    comment(None, "b", chat_id=5, message_id=9),
                ]
            ),
            "comment 2: Telegram message (5, 9) is comment 1's too",
        ),
    ],
)
def test_ambiguous_or_unexportable_records_are_refused_by_line(line: str, reason: str) -> None:
    [error] = list(parse_jsonl(f"\n{line}\n", "edited.jsonl"))
    assert isinstance(error, IngestError)
    assert str(error) == f"edited.jsonl:2: {reason}"


def test_replies_follow_their_parents_and_broken_links_become_threads() -> None:
    comments = [
        comment(301, "reply to a later comment", parent=302),
        comment(302, "the parent"),
        comment(303, "points nowhere", parent=999),
        comment(304, "points at itself", parent=304),
        comment(305, "in a circle", parent=306),
        comment(306, "in a circle too", parent=305),
    ]
    [article] = list(parse_jsonl(record(comments=comments), "edited.jsonl"))
    assert not isinstance(article, IngestError)
    assert [(c.id, c.parent_id) for c in article.comments] == [
        (302, None),
        (301, 302),
        (303, None),
        (304, None),
        (305, None),
        (306, 305),
    ]
    assert article.warnings == (
        "line 1: comment 3: its parent #999 is not another comment of the article; "
        "imported as a top-level comment",
        "line 1: comment 4: its parent #304 is not another comment of the article; "
        "imported as a top-level comment",
        "line 1: comment 5: its parent #306 is one of its own replies; "
        "imported as a top-level comment",
    )


async def save_lines(store: Store, lines: list[str]) -> None:
    for line in lines:
        [article] = list(parse_jsonl(line, "dump.jsonl"))
        assert not isinstance(article, IngestError)
        await store.save_article(article)


async def test_an_export_from_before_a_group_moved_finds_its_comments(store: Store) -> None:
    article_id = await load_bundled_sample(store)
    await store.add_comment(
        article_id=article_id, body="Said in the old group", author="Gus", user_id=5,
        chat_id=-400, message_id=1, visibility="group",
    )  # fmt: skip
    before = await export_lines(store)
    assert await store.move_chat(-400, -100400) == 1
    await save_lines(store, before)
    [moved] = [c for c in await store.all_comments(article_id) if c.origin == "chat"]
    assert (moved.chat_id, moved.message_id) == (-100400, None)


async def test_two_deployments_comments_with_the_same_ids_are_both_kept(store: Store) -> None:
    def line(chat_id: int, body: str) -> str:
        chat = {"origin": "chat", "chat_id": chat_id, "message_id": 9, "user_id": 1}
        return record(source_key="same", comments=[comment(6, body, **chat)])

    await save_lines(store, [line(111, "from deployment A")])
    await save_lines(store, [line(222, "from deployment C")])
    bodies = sorted(c.body for c in await store.all_comments(1))
    assert bodies == ["from deployment A", "from deployment C"]


def chat_comment(cid: int, body: str, chat_id: int, message_id: int) -> dict:
    return comment(cid, body, origin="chat", chat_id=chat_id, message_id=message_id, user_id=1)


async def test_a_comment_that_lost_its_message_link_is_known_again(store: Store) -> None:
    await save_lines(
        store, [record(source_key="ours", comments=[chat_comment(6, "ours", 111, 9)])]
    )
    theirs = [chat_comment(7, "theirs", 111, 9)]
    await save_lines(store, [record(source_key="theirs", comments=theirs)])
    later = [*theirs, chat_comment(8, "more", 111, 10)]
    await save_lines(store, [record(source_key="theirs", comments=later)])
    assert sorted(c.body for c in await store.all_comments(2)) == ["more", "theirs"]


async def test_a_moved_comment_is_known_in_another_database_and_not_confused(
    store: Store, tmp_path: Path
) -> None:
    article_id = await load_bundled_sample(store)
    kept = {"author": "Gus", "user_id": 5, "visibility": "group"}
    await store.add_comment(
        article_id=article_id, body="in the old group", chat_id=-400, message_id=1, **kept
    )
    await store.move_chat(-400, -100400)
    first = await export_lines(store)
    await store.add_comment(
        article_id=article_id, body="later", chat_id=-100400, message_id=1, **kept
    )
    second = await export_lines(store)
    other = await Store.open(tmp_path / "other.sqlite3")
    try:
        other_id = await load_bundled_sample(other)
        await other.add_comment(
            article_id=other_id, body="its own", author="Zed", user_id=9, chat_id=77,
            message_id=1, visibility="public",
        )  # fmt: skip
        await save_lines(other, first)  # comment 6 is taken there: it gets another id
        await save_lines(other, second)
        bodies = sorted(c.body for c in await other.all_comments(other_id) if c.origin == "chat")
        assert bodies == ["in the old group", "its own", "later"]
    finally:
        await other.close()
    # Another message of the old group, from another database, is another comment.
    await save_lines(store, [record(source_key="s", comments=[chat_comment(6, "x", -400, 2)])])
    await save_lines(store, [record(source_key="s", comments=[chat_comment(6, "y", -400, 3)])])
    assert sorted(c.body for c in await store.all_comments(2)) == ["x", "y"]


async def test_an_older_export_leaves_later_edits_and_hiding_alone(store: Store) -> None:
    article_id = await load_bundled_sample(store)
    posted, _ = await store.add_comment(
        article_id=article_id, body="v1", author="Gus", user_id=5, chat_id=-400,
        message_id=1, visibility="group",
    )  # fmt: skip
    before = await export_lines(store)
    await store.edit_comment(posted.id, "v2")
    await store.set_comment_status(1, "hidden")
    await save_lines(store, before)
    stored = {c.id: c for c in await store.all_comments(article_id)}
    assert (stored[posted.id].body, stored[1].status) == ("v2", "hidden")
    assert len(stored) == 6


async def test_a_chat_comment_without_its_message_is_still_known_on_re_import(
    store: Store,
) -> None:
    no_link = comment(None, "from a chat long ago", origin="chat", user_id=3)
    await save_lines(store, [record(source_key="k", comments=[no_link])])
    changed = record(source_key="k", title="T, revised", comments=[no_link])
    await save_lines(store, [changed])  # the article changed, so its comments are merged
    assert [c.body for c in await store.all_comments(1)] == ["from a chat long ago"]


async def test_a_deleted_comment_is_stored_without_its_text_whatever_the_file_says(
    store: Store,
) -> None:
    original = record(
        source_key="k",
        comments=[
            comment(None, "kept words", user_id=4),
            comment(None, "erased words", status="deleted"),
            comment(None, "hidden words", status="hidden"),
        ],
    )
    await save_lines(store, [original])
    stored = await store.all_comments(1)
    assert [(c.body, c.status) for c in stored] == [
        ("kept words", "visible"),
        ("", "deleted"),
        ("hidden words", "hidden"),
    ]
    # Its author deletes the first; the original file, imported again (as it is, or
    # with the article changed so its comments are merged), does not bring it back.
    await store.set_comment_status(stored[0].id, "deleted")
    changed = record(source_key="k", title="T, revised", comments=json.loads(original)["comments"])
    for line in (original, changed):
        await save_lines(store, [line])
        assert [(c.body, c.status) for c in await store.all_comments(1)][:2] == [
            ("", "deleted"),
            ("", "deleted"),
        ]
    assert len(await store.all_comments(1)) == 3
    assert await store.search("erased", None) == [] and await store.search("kept", None) == []


async def test_imported_names_and_comments_lose_bidirectional_controls(store: Store) -> None:
    line = record(
        source_key="k",
        comments=[comment(None, "a \u202ereversed\u202c b\n\u2068c", author="\u202eZed")],
    )
    await save_lines(store, [line])
    [stored] = await store.all_comments(1)
    assert (stored.author, stored.body) == ("Zed", "a reversed b\nc")
    await store.set_banned(42, True, "\u202bRex\u2069")
    assert (await store.user(42)).display_name == "Rex"  # type: ignore[union-attr]
