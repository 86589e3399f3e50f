"""Importing a batch of files, folders and feed URLs into the store.

Each article is saved in its own transaction, so a bad file or a bad line
fails alone and the rest of the batch still lands.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from storage.errors import IngestError
from storage.ingest import enrich, expand_sources, load_source, parse_text
from storage.ingest.sources import Validators
from storage.models import ParsedArticle
from storage.store import Store

SAMPLE_NAME = "joint-anti-missile-drills.txt"
BATCH = 100

Progress = Callable[[int, int, "ImportReport"], None]


@dataclass
class ImportReport:
    """What a batch import did: counts, and one line per problem."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    article_ids: list[int] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)

    def closing_line(self) -> str:
        """The summary printed at the end: ``N new, N updated, N unchanged, N failed``."""
        return (
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.failed} failed"
        )


def sample_path() -> Path:
    """Where the bundled sample article lives inside the installed package."""
    return Path(str(resources.files("storage.data").joinpath(SAMPLE_NAME)))


async def load_bundled_sample(store: Store) -> int:
    """Import the bundled sample article; returns its id."""
    path = sample_path()
    parsed = enrich(parse_text(path.read_text(encoding="utf-8"), path.name))
    result = await store.save_article(parsed)
    return result.article_id


def _next_batch(
    items: Iterator[ParsedArticle | IngestError],
) -> list[ParsedArticle | IngestError]:
    """The next few parsed articles; runs in a worker thread so the event loop stays free."""
    return list(itertools.islice(items, BATCH))


async def import_sources(
    store: Store,
    names: Sequence[str],
    progress: Progress | None = None,
    validators: Validators | None = None,
) -> ImportReport:
    """Import every article from the given files, folders and URLs into the store.

    A source is parsed a batch at a time, so a large export neither sits whole
    in memory as articles nor goes without progress reports.
    """
    report = ImportReport()
    sources = expand_sources(names)
    for done, name in enumerate(sources, start=1):
        if isinstance(name, IngestError):  # a folder that could not be listed
            report.failed += 1
            report.errors.append(str(name))
            continue
        items = load_source(name, validators)
        while batch := await asyncio.to_thread(_next_batch, items):
            for item in batch:
                if isinstance(item, IngestError):
                    report.failed += 1
                    report.errors.append(str(item))
                    continue
                await _save(store, item, name, report)
            if progress is not None and len(batch) == BATCH:
                progress(done - 1, len(sources), report)
        if progress is not None:
            progress(done, len(sources), report)
    return report


async def _save(store: Store, parsed: ParsedArticle, name: str, report: ImportReport) -> None:
    try:
        result = await store.save_article(parsed)
    except Exception as exc:  # one article's failure must not sink the batch
        report.failed += 1
        report.errors.append(str(IngestError(name, f"{parsed.title[:60]!r}: {exc}")))
        return
    report.article_ids.append(result.article_id)
    if result.outcome == "new":
        report.new += 1
        report.new_ids.append(result.article_id)
    elif result.outcome == "updated":
        report.updated += 1
    else:
        report.unchanged += 1
    report.warnings.extend(f"{name}: {warning}" for warning in result.warnings)
