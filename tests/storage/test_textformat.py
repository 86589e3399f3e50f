"""The native text format: the sample, and every variant real files come in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.errors import IngestError
from storage.importer import sample_path
from storage.ingest import parse_text
from storage.models import Block

SAMPLE = sample_path().read_text(encoding="utf-8")
TITLE = "Joint Anti-Missile Drills Conclude in Russia"
AUTHORS = ["Donatello", "Raphael", "Donatello", "Raphael", "Donatello"]


def test_sample_structure() -> None:
    article = parse_text(SAMPLE, "sample.txt")
    assert article.title == TITLE
    assert article.source_key == "text:joint anti-missile drills conclude in russia"
    assert [block.kind for block in article.blocks] == [
        "paragraph",
        "heading",
        "paragraph",
        "heading",
        "paragraph",
        "bullet",
        "bullet",
        "paragraph",
        "heading",
        "paragraph",
    ]
    headings = [block.text for block in article.blocks if block.kind == "heading"]
    assert headings == [
        "Third Iteration of Joint Drills",
        "Deepening Strategic Partnership and Shared Concerns",
        "Focus on Operational Coordination",
    ]
    assert article.blocks[5] == Block(
        "bullet",
        "November 2025: Russia and China held talks in Moscow on missile defense and "
        "strategic stability.",
    )
    assert article.blocks[0].text.startswith("The armed forces of the Russian Federation")
    assert article.warnings == ()


def test_sample_comments_exact() -> None:
    comments = parse_text(SAMPLE, "sample.txt").comments
    assert [c.author for c in comments] == AUTHORS
    bodies = [line for line in SAMPLE.splitlines()[-10:]][1::2]
    assert [c.body for c in comments] == bodies
    assert (
        comments[1].body
        == "Smart move. Every nation has a right to defend itself against threats."
    )
    assert all(c.origin == "imported" and c.parent_id is None for c in comments)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda s: s.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda s: s.replace("\n", "\r"), id="cr"),
        pytest.param(lambda s: "\ufeff" + s, id="bom"),
        pytest.param(lambda s: "\n\n" + s.replace("\n", "\n\n") + "\n\n", id="blank-lines"),
        pytest.param(lambda s: s.replace("\n", "  \n\t"), id="trailing-spaces-and-tabs"),
    ],
)
def test_layout_variants_parse_the_same(variant: object) -> None:
    reference = parse_text(SAMPLE, "a.txt")
    assert callable(variant)
    assert parse_text(variant(SAMPLE), "a.txt") == reference


def test_curly_quotes_keep_the_text_and_the_article_identity() -> None:
    curly = SAMPLE.replace("'not", "\u2018not").replace("party'", "party\u2019")
    curly = curly.replace("China's", "China\u2019s").replace(
        TITLE, "Joint Anti\u2011Missile Drills"
    )
    straight = SAMPLE.replace(TITLE, "Joint Anti-Missile Drills")
    article = parse_text(curly, "curly.txt")
    assert "\u2018not directed against any third party\u2019" in article.blocks[0].text
    assert len(article.comments) == 5 and article.warnings == ()
    heading = parse_text("Title\nShe said \u201cno.\u201d\nA Heading\nText.\n", "q.txt").blocks
    assert [b.kind for b in heading] == ["paragraph", "heading", "paragraph"]
    assert parse_text(straight, "s.txt").source_key == "text:joint anti-missile drills"
    assert article.source_key == parse_text(straight, "s.txt").source_key


def test_no_comment_block() -> None:
    article = parse_text(SAMPLE.split("5 Comments")[0], "plain.txt")
    assert article.comments == () and article.warnings == ()
    assert len(article.blocks) == 10


def test_one_comment() -> None:
    text = "Title\nBody text here.\n1 Comment\nAda\nFirst!\n"
    article = parse_text(text, "one.txt")
    assert [(c.author, c.body) for c in article.comments] == [("Ada", "First!")]
    assert article.warnings == ()


def test_a_count_that_does_not_match_imports_what_is_there_and_warns() -> None:
    text = SAMPLE.replace("5 Comments", "7 Comments")
    article = parse_text(text, "count.txt")
    assert len(article.comments) == 5
    assert article.warnings == (
        "line 12: the header says '7 Comments' but 5 comments follow; imported what is there",
    )
    fewer = parse_text(SAMPLE.replace("5 Comments", "2 Comments"), "c.txt")
    assert len(fewer.comments) == 5 and "2 Comments" in fewer.warnings[0]


def test_an_author_without_a_body_is_skipped_with_a_warning() -> None:
    article = parse_text("T\nBody.\n2 Comments\nAda\nHi there.\nBob\n", "d.txt")
    assert [c.author for c in article.comments] == ["Ada"]
    assert article.warnings == (
        "line 6: 'Bob' has no comment text after it; skipped",
        "line 3: the header says '2 Comments' but 1 comment follows; imported what is there",
    )


def test_a_comment_of_several_paragraphs_stays_one_comment() -> None:
    text = (
        "T\nBody.\n2 Comments\nAda\nFirst paragraph of a long comment.\n"
        "And a second paragraph that goes on for a while, ending properly.\nBob\nShort.\n"
    )
    comments = parse_text(text, "m.txt").comments
    assert [(c.author, c.body) for c in comments] == [
        (
            "Ada",
            "First paragraph of a long comment.\n\n"
            "And a second paragraph that goes on for a while, ending properly.",
        ),
        ("Bob", "Short."),
    ]


def test_control_characters_are_removed() -> None:
    article = parse_text("Ti\x00tle\x1b\nBo\x07dy text.\x7f\n", "ctl.txt")
    assert article.title == "Title" and article.blocks == (Block("paragraph", "Body text."),)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "sample.txt: the file is empty"),
        ("\ufeff \r\n\t\n", "sample.txt: the file is empty"),
        ("Only a title\n\n", "sample.txt:1: the article has a title but no body"),
        ("\n\nTitle\n3 Comments\nA\nB\n", "sample.txt:3: the article has a title but no body"),
        ("3 Comments\nA\nB\n", "sample.txt:1: the file starts with a comment block, not a title"),
        (
            "x" * 301 + "\nbody",
            "sample.txt:1: the first line should be the title but is 301 characters long "
            "(at most 300)",
        ),
    ],
)
def test_files_without_an_article_are_refused_clearly(text: str, reason: str) -> None:
    with pytest.raises(IngestError) as raised:
        parse_text(text, "sample.txt")
    assert str(raised.value) == reason


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2_000))
def test_arbitrary_text_parses_or_raises_only_the_import_error(text: str) -> None:
    try:
        article = parse_text(text, "fuzz.txt")
    except IngestError:
        return
    assert article.title and article.blocks
    strings = [article.title, *(b.text for b in article.blocks)]
    strings += [c.author for c in article.comments] + [c.body for c in article.comments]
    assert not any(ch in s for s in strings for ch in "\x00\x1b\x7f\r")


def test_markdown_style_title_and_headings() -> None:
    article = parse_text(
        "# Ports Reopen\n\nShips sailed.\n\n## Why It Matters\n#hashtag line\n", "m.md"
    )
    assert article.title == "Ports Reopen"
    assert article.blocks == (
        Block("paragraph", "Ships sailed."),
        Block("heading", "Why It Matters"),
        Block("heading", "#hashtag line"),
    )


def test_a_date_line_after_the_title_is_the_publication_date() -> None:
    text = "Bridge Reopens\nFriday, 5 December 2025\nThe bridge reopened on Tuesday.\n"
    article = parse_text(text, "bridge.txt")
    assert article.published_at == "2025-12-05T00:00:00Z"
    assert article.blocks == (Block("paragraph", "The bridge reopened on Tuesday."),)


def test_without_a_date_line_the_text_gives_no_date() -> None:
    article = parse_text(SAMPLE, "sample.txt")
    assert article.published_at is None
    assert article.blocks[0].text.startswith("The armed forces of the Russian Federation")
    late = parse_text("Bridge Reopens\nThe bridge reopened.\n5 December 2025\n", "b.txt")
    assert late.published_at is None and len(late.blocks) == 2
