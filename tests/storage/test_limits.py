"""One set of limits for every import: text files, feeds and JSON Lines alike."""

from __future__ import annotations

from dataclasses import replace

from storage import Store
from storage.ingest import parse_text
from storage.limits import MAX_AUTHOR, MAX_COMMENT, MAX_TAGS, within_limits
from storage.models import ParsedComment
from tests.storage.test_store import ARTICLE


def test_an_article_within_the_limits_is_left_as_it_is() -> None:
    assert within_limits(ARTICLE) is ARTICLE


def test_tags_titles_names_and_comments_are_held_to_the_limits() -> None:
    article = replace(
        ARTICLE,
        title="T " * 200,
        tags=tuple(f"tag {n}" for n in range(15)),
        comments=(ParsedComment("N" * 100, "x" * (MAX_COMMENT + 1)),),
    )
    held = within_limits(article)
    assert len(held.title) <= 300 and held.title.endswith("…")
    assert held.tags == tuple(f"tag {n}" for n in range(MAX_TAGS))
    [comment] = held.comments
    assert len(comment.author) == MAX_AUTHOR and len(comment.body) == MAX_COMMENT
    assert held.warnings == (
        "the title is longer than 300 characters; cut",
        "comment 1: the author's name is cut to 64 characters",
        "comment 1: 3,501 characters, cut to the 3,500 a comment may have",
    )


async def test_a_text_file_comment_is_cut_too_and_known_again_when_merged(store: Store) -> None:
    text = "Harbour News\nThe harbour reopened.\n1 Comment\nAnn\n" + "very long " * 500
    first = await store.save_article(parse_text(text, "a.txt"))
    [comment] = await store.all_comments(first.article_id)
    assert len(comment.body) <= MAX_COMMENT
    assert first.warnings == ("comment 1: 4,999 characters, cut to the 3,500 a comment may have",)
    # The article changes, so its comments are merged: the cut one is the same comment.
    changed = text.replace("reopened", "reopened again")
    second = await store.save_article(parse_text(changed, "a.txt"))
    assert second.outcome == "updated"
    assert len(await store.all_comments(first.article_id)) == 1
