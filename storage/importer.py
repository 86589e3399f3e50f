"""Importing a batch of files, folders and feed URLs into the store.

Articles are saved a batch to a transaction, each under a savepoint of its
own, so a bad file or a bad line fails alone and the rest of the batch still
lands.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from storage.deployment import Restored, restore_records
from storage.errors import IngestError
from storage.ingest import enrich, expand_sources, load_source, parse_text
from storage.ingest.sources import (
    Parsed,
    Validators,
    could_be_jsonl,
    is_url,
    local_jsonl,
    parse_files,
)
from storage.models import ParsedArticle, SaveResult
from storage.store import Store

SAMPLE_NAME = "joint-anti-missile-drills.txt"
BATCH = 100  # articles read at a time from a large file
SAVE_BATCH = 200  # articles saved in one transaction
WORKERS = 2  # processes that parse a folder of small files
POOL_MIN_FILES = 400  # fewer files are parsed in a thread: starting processes costs more
SMALL_FILE = 1 << 20  # bytes; a larger file is read a batch at a time instead
CHUNK = 25  # small files to a worker at a time
AHEAD = 8  # chunks parsed ahead of the saving
WORKER_NICENESS = 5

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
    # A whole deployment's export: its other records restored, by type, and those already here.
    records: dict[str, int] = field(default_factory=dict)
    records_present: int = 0

    def closing_line(self) -> str:
        """The summary printed at the end: ``N new, N updated, N unchanged, N failed``,
        and how many other records of an export were restored."""
        line = (
            f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.failed} failed"
        )
        if self.records or self.records_present:
            restored = sum(self.records.values())
            line += f"; {restored} other records restored, {self.records_present} already here"
        return line

    def add_restored(self, restored: Restored) -> None:
        """Count in what restoring one file's other records did."""
        for kind, count in restored.new.items():
            self.records[kind] = self.records.get(kind, 0) + count
        self.records_present += restored.present
        self.failed += restored.failed
        self.errors.extend(restored.errors)
        self.warnings.extend(restored.warnings)


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


def _small_file(name: str) -> bool:
    """Whether a source is a local file small enough to parse whole in a worker.

    An export (JSON Lines) is read a batch at a time whatever its size, with
    progress between batches.
    """
    if is_url(name) or Path(name).suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return False
    try:
        return os.stat(name).st_size <= SMALL_FILE
    except OSError:  # load_source names the problem
        return False


@dataclass
class _Importer:
    """One import run: articles saved in batches, in the order the sources give them."""

    store: Store
    report: ImportReport
    batch_size: int
    pending: list[tuple[str, ParsedArticle | IngestError]] = field(default_factory=list)

    async def add(self, name: str, items: Sequence[ParsedArticle | IngestError]) -> None:
        self.pending.extend((name, item) for item in items)
        if len(self.pending) >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        pending, self.pending = self.pending, []
        articles = [item for _, item in pending if not isinstance(item, IngestError)]
        results: list[SaveResult | Exception]
        if self.batch_size == 1:  # one article per transaction
            results = []
            for parsed in articles:
                try:
                    results.append(await self.store.save_article(parsed))
                except Exception as exc:  # one article's failure must not sink the batch
                    results.append(exc)
        elif articles:
            try:
                results = await self.store.save_articles(articles)
            except Exception as exc:  # the file refused the whole batch (full, read-only)
                results = [exc] * len(articles)
        else:
            results = []
        saved = iter(results)
        report = self.report
        for name, item in pending:
            if isinstance(item, IngestError):
                report.failed += 1
                report.errors.append(str(item))
                continue
            result = next(saved)
            if isinstance(result, Exception):
                report.failed += 1
                report.errors.append(str(IngestError(name, f"{item.title[:60]!r}: {result}")))
                continue
            report.article_ids.append(result.article_id)
            if result.outcome == "new":
                report.new += 1
                report.new_ids.append(result.article_id)
            elif result.outcome == "updated":
                report.updated += 1
            else:
                report.unchanged += 1
            report.warnings.extend(f"{name}: {warning}" for warning in result.warnings)


async def import_sources(
    store: Store,
    names: Sequence[str],
    progress: Progress | None = None,
    validators: Validators | None = None,
    *,
    batch_size: int = SAVE_BATCH,
    workers: int = WORKERS,
    deployment: bool = False,
) -> ImportReport:
    """Import every article from the given files, folders and URLs into the store.

    With ``deployment`` the other records of a whole deployment's export (chats,
    users, bans, the outbox: ``storage.deployment``) in local JSON Lines files are
    restored too, after every article, which they name, with progress between
    batches. (Feeds never restore them.)

    Articles are saved ``batch_size`` to a transaction, each under a savepoint
    of its own so a bad one still fails alone (1 gives every article its own
    transaction). A folder of many small files is parsed by ``workers``
    processes, a few files at a time, while the saving goes on; a large file
    is parsed here a batch at a time, so it neither sits whole in memory as
    articles nor goes without progress reports. A local JSON Lines file (an
    export) is read a line at a time too, so it may be of any size.
    """
    report = ImportReport()
    sources = expand_sources(names)
    importer = _Importer(store, report, max(1, batch_size))
    small = [isinstance(name, str) and _small_file(name) for name in sources]
    pool: ProcessPoolExecutor | None = None
    if workers > 0 and sum(small) >= POOL_MIN_FILES:
        # The workers yield to this process, whose saving is what an import waits on.
        pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=os.nice,
            initargs=(WORKER_NICENESS,),
        )
    loop = asyncio.get_running_loop()

    def parse(names: list[str]) -> asyncio.Future[Parsed]:
        nonlocal pool
        if pool is not None:
            try:
                return loop.run_in_executor(pool, parse_files, names)
            except BrokenProcessPool:  # a worker died: the rest is parsed here
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
        return asyncio.ensure_future(asyncio.to_thread(parse_files, names))

    # Runs of small files are parsed ahead, a chunk at a time, up to AHEAD chunks.
    chunks: dict[int, tuple[list[str], asyncio.Future[Parsed]]] = {}
    starts = [
        i
        for i in range(len(sources))
        if small[i] and (i == 0 or not small[i - 1] or i % CHUNK == 0)
    ]
    queued = 0

    def parse_ahead() -> None:
        nonlocal queued
        while queued < len(starts) and len(chunks) < AHEAD:
            first = starts[queued]
            last = first
            while last + 1 < len(sources) and small[last + 1] and (last + 1) % CHUNK:
                last += 1
            files = [str(sources[i]) for i in range(first, last + 1)]
            chunks[first] = (files, parse(files))
            queued += 1

    try:
        done = 0
        while done < len(sources):
            name = sources[done]
            parse_ahead()
            if isinstance(name, IngestError):  # a folder that could not be listed
                await importer.add(str(name.source), [name])
                done += 1
            elif done in chunks:
                files, parsing = chunks.pop(done)
                try:
                    parsed = await parsing
                except BrokenProcessPool:  # a worker died (killed, out of memory): here then
                    parsed = await asyncio.to_thread(parse_files, files)
                for source, items in parsed:
                    parse_ahead()
                    await importer.add(source, items)
                    done += 1
                    if done == len(sources):
                        await importer.flush()
                    if progress is not None:
                        progress(done, len(sources), report)
                continue
            else:
                stream = load_source(name, validators)
                while batch := await asyncio.to_thread(_next_batch, stream):
                    await importer.add(name, batch)
                    await importer.flush()
                    if progress is not None and len(batch) == BATCH:
                        progress(done, len(sources), report)
                done += 1
            if done == len(sources):
                await importer.flush()
            if progress is not None:
                progress(done, len(sources), report)
    finally:
        for _, parsing in chunks.values():
            parsing.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    if deployment:
        for name in sources:  # a folder of text files asks no thread to look at each
            if not (isinstance(name, str) and could_be_jsonl(name)):
                continue
            lines = await asyncio.to_thread(local_jsonl, name)
            if lines is None:
                continue
            async for restored in restore_records(store, lines, str(name)):
                report.add_restored(restored)
                if progress is not None:
                    progress(len(sources), len(sources), report)
    await store.index_waiting()  # comments from the chat, in an export, wait for search
    return report
