"""Timelines of articles with relative dates: dated by each article's own day, kept in order."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from storage import Store
from storage.ingest import article_record, enrich
from storage.ingest.jsonl import parse_record
from storage.ingest.sentences import split_sentences
from storage.ingest.timeline import _LIST_MARK, _has_list_mark, _one_sentence, _pieces
from storage.models import Block, ParsedArticle

PUBLISHED = "2026-03-12T08:00:00Z"  # a Thursday


def article(title: str, text: str, published_at: str) -> ParsedArticle:
    """An enriched article on the topic 'harbour'."""
    return enrich(
        ParsedArticle(
            title=title,
            blocks=(Block("paragraph", text),),
            source_key=f"text:{title.lower()}",
            source="desk",
            published_at=published_at,
            tags=("harbour",),
        )
    )


async def test_a_topic_timeline_of_relative_dates_is_in_date_order(store: Store) -> None:
    later = await store.save_article(
        article(
            "Ferry Returns",
            "The ferry returned yesterday. The old pier was built in 2019.",
            "2026-03-20T08:00:00Z",
        )
    )
    earlier = await store.save_article(
        article("Pier Closes", "The pier closed on Tuesday for repairs.", "2026-03-12T08:00:00Z")
    )
    topic = await store.topic_timeline("harbour")
    assert [(t.event.date, t.event.label, t.article_id) for t in topic.events] == [
        ("2019", "The old pier was built", later.article_id),
        ("2026-03-10", "The pier closed on Tuesday for repairs", earlier.article_id),
        ("2026-03-19", "The ferry returned yesterday", later.article_id),
    ]
    assert [e.date for e in await store.timeline(later.article_id)] == ["2019", "2026-03-19"]


async def test_a_week_and_a_relative_day_survive_an_export_round_trip(
    store: Store, tmp_path: Path
) -> None:
    await store.save_article(
        article(
            "Talks Resume",
            "Talks resume next week after a walkout on Monday, the union said.",
            PUBLISHED,
        )
    )
    [before] = [json.dumps(article_record(*row)) async for row in store.export_rows()]
    restored = parse_record(before, "export.jsonl")
    assert [(e.date, e.precision, e.qualifier) for e in restored.timeline or ()] == [
        ("2026-03-09", "day", None),
        ("2026-03-16", "day", "week"),
    ]
    again = await Store.open(tmp_path / "second.sqlite3")
    try:
        await again.save_article(restored)
        assert [json.dumps(article_record(*row)) async for row in again.export_rows()] == [before]
    finally:
        await again.close()


# Words that test the segmenter's rules: abbreviations, initials, lists, quotes, brackets.
TRICKY_WORDS = (
    "the", "talks", "ended", "Mr.", "Dr.", "Smith", "U.S.", "Jan.", "July", "Inc.", "St.",
    "No.", "said", "in", "on", "Tuesday", "2019", "3.5", "e.g.", "etc.", "Gen.", "Mass.",
    "Washington", "(in", "May)", '"We', 'left."', "“We", "go.”", "it's", "'Hi", "there'", "(a)",
    "[b]", "Co.,", "1.", "2.", "x:", "y;", "A.", "Ltd.", "vs.", "approx.", "p.m.", "Fig.",
    "Vol.", "Ill.", "Calif.", "…", "...", "!", "?", "—", "Jr.", "Ph.D.", "Rev.", "Sept.",
    "Prof.", "Mrs.", "Ms.", "Jones"
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(TRICKY_WORDS), min_size=2, max_size=12),
            st.sampled_from([".", ".", "!", "?", '."', ").", ".\u201d"]),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_cutting_a_paragraph_first_gives_the_segmenters_sentences(
    sentences: list[tuple[list[str], str]],
) -> None:
    text = " ".join(" ".join(words) + end for words, end in sentences)
    cut = [
        sentence
        for piece in _pieces(text)
        for sentence in ([piece] if _one_sentence(piece) else split_sentences(piece))
    ]
    assert cut == split_sentences(text)


def test_a_quotation_closed_by_a_comma_and_its_speaker_are_one_sentence() -> None:
    text = '"The pier is open again. Come and see it on Friday," the harbour master said.'
    assert _one_sentence(text)
    assert split_sentences(text) == [text]
    assert not _one_sentence('"The pier is open again." The harbour master said so.')
    assert not _one_sentence('"Open. Closed," she said. He left.')
    assert not _one_sentence('"Plan A. Plan B," she said.')  # "A." might start a list
    assert not _one_sentence('"Wait... no," she said.')


# Words for quotations: abbreviations, figures and initials among plain words (what may read
# as a list or an ellipsis is left to the segmenter, as the test above shows).
QUOTED_WORDS = (
    "we", "Won", "it", "was", "hard", "Mr.", "Jan.", "8", "PM", "A.", "ok", "Smith", "Inc.",
    "$5", "50%", "no-one", "R&D", "and/or", "x:", "on", "Sunday", "Dr.", "St.", "vs.", "Co.",
    "the", "I", "Sept.", "come", "and", "see", "us", "there", "is", "a", "way", "home", "they",
    "all", "left", "early", "to", "be", "sure", "Yes", "No", "this", "year", "today", "at",
    "noon", "in", "May", "we", "will", "go"
)  # fmt: skip
# Words after the quotation: mostly plain, some that end or hide a sentence.
AFTER_WORDS = (
    "on", "Monday", "in", "a", "statement", "to", "reporters", "at", "the", "harbour", "after",
    "talks", "and", "left", "Smith", "it's", "Jones'", "(in", "May)", "Mr.", "U.S.", "Inc.",
    "x:", "y;", "—", "2019", "p.m.", "1.", "A.", "said", "“We", "go.”", "…", "?", "!"
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(QUOTED_WORDS), min_size=1, max_size=8),
            st.sampled_from([".", "?", "!", ";", ",", ""]),
        ),
        min_size=1,
        max_size=4,
    ),
    st.lists(st.sampled_from(AFTER_WORDS), min_size=1, max_size=8),
    st.sampled_from(["she said", "Mr. Lee said", "the U.S. envoy said", "said Smith", "he"]),
    st.sampled_from([".", "", "!", "?", '."']),
)
def test_a_quotation_read_as_one_sentence_is_one_to_the_segmenter(
    quoted: list[tuple[list[str], str]], after: list[str], speaker: str, end: str
) -> None:
    inside = " ".join(" ".join(words) + mark for words, mark in quoted)
    text = f'"{inside}," {speaker} {" ".join(after)}{end}'
    if _one_sentence(text):
        assert split_sentences(text) == [text]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*TRICKY_WORDS, "iv.", "b)", "12.", "\u00a0", "\t", "x"]), max_size=10
    )
)
def test_a_list_mark_is_found_where_it_stands_alone(words: list[str]) -> None:
    for text in (" ".join(words), "".join(words)):
        assert _has_list_mark(text) == bool(re.search(rf"(?<!\S){_LIST_MARK.pattern}", text))
