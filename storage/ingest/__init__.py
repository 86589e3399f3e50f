"""Placeholder until the parsers land: every source is refused with a clear error."""

from collections.abc import Iterator, Sequence
from typing import Any

from storage.errors import IngestError
from storage.models import ParsedArticle


def enrich(article: ParsedArticle) -> ParsedArticle:
    """Return the article unchanged."""
    return article


def expand_sources(names: Sequence[str]) -> list[str]:
    """The sources as given."""
    return list(names)


def load_source(name: str) -> Iterator[ParsedArticle | IngestError]:
    """Refuse every source."""
    yield IngestError(name, "importing is not available yet")


def parse_text(text: str, source: str) -> ParsedArticle:
    """Refuse every text."""
    raise IngestError(source, "importing is not available yet")


def article_record(*parts: Any) -> dict[str, Any]:
    """Nothing to export yet."""
    return {}
