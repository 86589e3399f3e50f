"""What is computed at import: the summary, the timeline and derived topics."""

from __future__ import annotations

import dataclasses

from storage.ingest.summary import summarize
from storage.ingest.timeline import extract_timeline
from storage.ingest.topics import derive_topics
from storage.limits import MAX_TAGS
from storage.models import ParsedArticle


def enrich(article: ParsedArticle) -> ParsedArticle:
    """The article with its summary and timeline filled in where still missing.

    Tags become the explicit ones followed by the derived topics. An article
    read back from an export keeps its stored summary, timeline and tags as
    they are, so a round trip changes nothing.
    """
    if article.summary is not None and article.timeline is not None:
        return article
    derived = derive_topics(article.title, article.blocks)
    tags = tuple(dict.fromkeys((*article.tags, *derived)))[:MAX_TAGS]
    return dataclasses.replace(
        article,
        summary=summarize(article.title, article.blocks)
        if article.summary is None
        else article.summary,
        timeline=extract_timeline(article.blocks, article.published_at)
        if article.timeline is None
        else article.timeline,
        tags=tags,
    )
