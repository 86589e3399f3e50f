"""Corpus benchmark: import rate and read latencies on a large synthetic corpus.

Builds, in a temporary folder, a corpus of ARTICLES articles and COMMENTS comments
(one article alone holds BIG_THREAD of them) through the store's own write path,
then prints:

* the import rate through the real importer (parse, summarise, timeline, save)
  on a slice of native text files;
* p50 / p99 of the reads the bot makes: latest, article by id, comments page 1
  and page 10,000 of the big article, an article's timeline, a topic's timeline,
  and search, with page 10,000 as a ratio of page 1;
* the export rate of the whole corpus as JSON Lines.

    python bench/corpus.py [--articles N] [--comments N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from storage import Store, import_sources
from storage.ingest import article_record
from storage.models import Block, ParsedArticle, ParsedComment, TimelineEvent

COMMON = (
    "the of and to in a for on that with was as by at from said government minister talks "
    "border trade energy market court election vote coalition drills missile defence harbour "
    "bridge budget inflation strike union council city research hospital vaccine climate "
    "storm flood rescue festival museum archive treaty summit alliance pipeline grain export"
).split()
SYLLABLES = "ka lo mi ner tus vel dra po sen ti ar bel cor dun eph fal gor hin".split()


def vocabulary(size: int = 12_000) -> tuple[list[str], list[float]]:
    """News-like word frequencies: a few common words, a long Zipf tail of rarer ones."""
    rng = random.Random(3)
    words = list(COMMON)
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    weights = [1 / rank for rank in range(1, len(words) + 1)]
    total = 0.0
    cumulative = []
    for weight in weights:
        total += weight
        cumulative.append(total)
    return words, cumulative


WORDS, CUMULATIVE = vocabulary()
NAMES = ["Russia", "China", "Brazil", "Kenya", "Norway", "Chile", "India", "Japan", "Egypt"]
MONTHS = ["January", "March", "May", "July", "September", "November"]
TOPICS = ["world", "economy", "science", "politics", "culture", "defence", "climate", "sport"]
AUTHORS = ["Donatello", "Raphael", "Leonardo", "Michelangelo", "April", "Casey", "Splinter"]


def sentence(rng: random.Random, length: int = 16) -> str:
    """A plausible sentence of lower-case words with a capitalised start and a name."""
    words = rng.choices(WORDS, cum_weights=CUMULATIVE, k=length)
    words[rng.randrange(2, length)] = rng.choice(NAMES)
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    """Three to five sentences, about the size of a news paragraph."""
    return " ".join(sentence(rng, rng.randint(12, 24)) for _ in range(rng.randint(3, 5)))


def synthetic_article(n: int, rng: random.Random, comments: int) -> ParsedArticle:
    """An article shaped like the reference one, with precomputed summary and timeline."""
    year = 2000 + n % 25
    blocks = [Block("paragraph", paragraph(rng)) for _ in range(3)]
    blocks.insert(1, Block("heading", f"Section {n}"))
    blocks.append(Block("bullet", f"{MONTHS[n % 6]} {year}: {sentence(rng, 10)}"))
    events = tuple(
        TimelineEvent(
            f"{year - k}-{(n + k) % 12 + 1:02d}", "month", sentence(rng, 6)[:60], sentence(rng)
        )
        for k in range(3)
    )
    return ParsedArticle(
        title=f"{rng.choice(NAMES)} {rng.choice(WORDS)} {rng.choice(WORDS)} report {n}",
        blocks=tuple(blocks),
        source_key=f"bench:{n}",
        source="bench desk",
        published_at=f"{year}-{n % 12 + 1:02d}-{n % 28 + 1:02d}T12:00:00Z",
        tags=(TOPICS[n % len(TOPICS)], rng.choice(NAMES).lower()),
        summary=blocks[0].text[:400],
        timeline=tuple(sorted(events, key=lambda e: e.sort_key)),
        comments=tuple(
            ParsedComment(rng.choice(AUTHORS), sentence(rng, rng.randint(8, 40)))
            for _ in range(comments)
        ),
    )


def native_text(n: int, rng: random.Random) -> str:
    """An article in the native text format, for the importer."""
    lines = [f"{rng.choice(NAMES)} {rng.choice(WORDS)} dispatch {n}", paragraph(rng)]
    lines += ["Background", f"The first round was held in {MONTHS[n % 6]} {2000 + n % 25}."]
    lines += [paragraph(rng), f"- {MONTHS[(n + 1) % 6]} 2025: {sentence(rng, 10)}"]
    lines += ["3 Comments"]
    for _ in range(3):
        lines += [rng.choice(AUTHORS), sentence(rng, 20)]
    return "\n".join(lines) + "\n"


async def build(store: Store, articles: int, comments: int, big: int) -> None:
    """Fill the store: one big thread, the rest spread evenly, with progress on stderr."""
    rng = random.Random(7)
    per_article = max(0, (comments - big) // max(1, articles - 1))
    started = time.perf_counter()
    await store.save_article(synthetic_article(0, rng, big))
    for n in range(1, articles):
        await store.save_article(synthetic_article(n, rng, per_article))
        if n % 5000 == 0:
            rate = n / (time.perf_counter() - started)
            print(f"  built {n:,} articles ({rate:,.0f}/s)", file=sys.stderr, flush=True)


async def timed(
    label: str, action: Callable[[int], Awaitable[Any]], runs: int
) -> dict[str, float]:
    """Run ``action(i)`` ``runs`` times; p50 and p99 in milliseconds."""
    for i in range(min(20, runs)):  # warm the page cache and prepared statements
        await action(i)
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        await action(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    result = {
        "p50": statistics.median(samples),
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
    }
    print(f"{label:<28} p50 {result['p50']:7.3f} ms   p99 {result['p99']:7.3f} ms")
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--big-thread", type=int, default=100_000)
    parser.add_argument("--import-slice", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--keep", metavar="DIR", help="build the database in DIR and keep it")
    args = parser.parse_args()

    folder = Path(args.keep or tempfile.mkdtemp(prefix="newsbot-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "corpus.sqlite3"
    reuse = db_path.exists()
    store = await Store.open(db_path)
    try:
        if not reuse:
            print(
                f"building {args.articles:,} articles and {args.comments:,} comments "
                f"in {db_path} ...",
                file=sys.stderr,
            )
            started = time.perf_counter()
            await build(store, args.articles, args.comments, args.big_thread)
            print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        stats = await store.stats()
        print(f"corpus: {stats['articles']:,} articles, {stats['comments']:,} comments")

        # Import rate through the real importer, on native text files.
        rng = random.Random(11)
        texts = folder / "import-slice"
        shutil.rmtree(texts, ignore_errors=True)  # a kept folder's last slice
        texts.mkdir()
        for n in range(args.import_slice):
            (texts / f"a{n:05d}.txt").write_text(native_text(n, rng), encoding="utf-8")
        for stale in folder.glob("import.sqlite3*"):  # a kept folder's last run
            stale.unlink()
        scratch = await Store.open(folder / "import.sqlite3")
        started = time.perf_counter()
        report = await import_sources(scratch, [str(texts)])
        elapsed = time.perf_counter() - started
        await scratch.close()
        print(
            f"import: {report.closing_line()} in {elapsed:.1f} s = "
            f"{args.import_slice / elapsed:,.0f} articles/s"
        )

        big_id = 1
        ids = [r.id for r in await store.latest(1)]
        top = ids[0] if ids else 1
        topic = "economy"
        runs = args.runs
        await timed("latest 10", lambda i: store.latest(10), runs)
        await timed(
            "article by id", lambda i: store.article(1 + (i * 7919) % stats["articles"]), runs
        )
        page1 = await timed("comments page 1", lambda i: store.comment_page(big_id, 1, -1), runs)
        page_far = await timed(
            "comments page 10,000", lambda i: store.comment_page(big_id, 10_000, -1), runs
        )
        await timed("comments page 2 (small)", lambda i: store.comment_page(top, 2, None), runs)
        await timed(
            "article timeline", lambda i: store.timeline(1 + (i * 7919) % stats["articles"]), runs
        )
        await timed("topic timeline (40)", lambda i: store.topic_timeline(topic, 40), runs)
        # A common word, a mid-frequency one, two rarer ones, a pair, and a miss.
        queries = ["missile", WORDS[400], WORDS[2000], WORDS[6000], f"kenya {WORDS[300]}", "zzzz"]
        search = await timed(
            "search", lambda i: store.search(queries[i % len(queries)], None, 8), runs
        )
        print(
            f"page 10,000 / page 1 p99 ratio: {page_far['p99'] / page1['p99']:.2f}   "
            f"search p99 {search['p99']:.2f} ms"
        )
        # The whole corpus as JSON Lines, as `newsbot export` writes it (into a counter).
        started = time.perf_counter()
        exported = written = 0
        async for article, timeline, comments, source_key in store.export_rows():
            written += len(json.dumps(article_record(article, timeline, comments, source_key)))
            exported += 1
        elapsed = time.perf_counter() - started
        print(
            f"export: {exported:,} articles ({written / 2**20:,.0f} MiB of JSON) in "
            f"{elapsed:.1f} s = {exported / elapsed:,.0f} articles/s"
        )
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
