"""Timelines of articles with relative dates: dated by each article's own day, kept in order."""

from __future__ import annotations

from storage import Store
from storage.ingest import enrich
from storage.models import Block, ParsedArticle


def article(title: str, text: str, published_at: str) -> ParsedArticle:
    """An enriched article on the topic 'harbour'."""
    return enrich(
        ParsedArticle(
            title=title,
            blocks=(Block("paragraph", text),),
            source_key=f"text:{title.lower()}",
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
