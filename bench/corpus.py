"""Corpus benchmark: import rate and read latencies on a large synthetic corpus.

Builds, in a temporary folder, a corpus of ARTICLES articles and COMMENTS comments
(one article alone holds BIG_THREAD of them) through the store's own write path,
at the schema before migration 0009 (a search index with copies of the texts),
keeping a copy of it at a tenth of its size on the way; then prints, each figure
next to its baseline from the same run:

* the import rate through the real importer (parse, summarise, timeline, save)
  on a slice of native text files, one article per transaction parsed in-process
  (the slow path) and the default (batched saves, two parsing processes), with
  the peak memory of each;
* the database's size before and after migration 0009 (then VACUUM), and whether
  search gives the same answers before and after;
* search p50 and p99 by query shape at a tenth of the corpus and at all of it;
* p50 / p99 of the reads the bot makes: latest, article by id, comments page 1
  and page 10,000 of the big article (its last page if it has fewer), an article's
  timeline, a topic's timeline, and search, with the far page as a ratio of page 1;
* the export rate of the whole corpus as JSON Lines.

With ``--db postgresql://...`` every database of the run (the corpus, its tenth,
each import's) is a fresh schema of its own on that server, dropped at the end
unless ``--keep`` is given (then their names are printed). PostgreSQL's schema
starts past migration 0009, so the corpus is built at it and the before/after
figures are not printed; its size is that of its tables with their indexes, as
built and after VACUUM ANALYZE (which autovacuum would run soon after a load).

    python bench/corpus.py [--articles N] [--comments N] [--keep DIR] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from engines import NOT_ON_POSTGRES, database_size, fresh_schema, vacuum_analyze

from storage import Store, import_sources, queues
from storage import db as dbmod
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


async def build(
    store: Store, rng: random.Random, first: int, last: int, per_article: int, big: int
) -> None:
    """Articles ``first`` to ``last - 1`` (the first holds the big thread), 200 a call."""
    started = time.perf_counter()
    batch: list[ParsedArticle] = []
    for n in range(first, last):
        batch.append(synthetic_article(n, rng, big if n == 0 else per_article))
        if len(batch) == 200 or n == last - 1:
            for result in await store.save_articles(batch):
                if isinstance(result, Exception):
                    raise result
            batch = []
        if n % 10_000 == 0 and n > first:
            rate = (n - first) / (time.perf_counter() - started)
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


async def read_after_a_commit(store: Store, articles: int, runs: int) -> None:
    """An article read right after a commit, as the bot reads after the inbox stores each
    update (a commit makes a reader drop what it had cached); the commit is not timed."""
    first = 2**40  # update ids no stand-in gives; pruned at the end
    samples = []
    for i in range(runs):
        await queues.store_updates(store, [queues.StoredUpdate(first + i, "{}")])
        start = time.perf_counter()
        await store.article(1 + (i * 7919) % articles)
        samples.append((time.perf_counter() - start) * 1000)
    await queues.mark_handled(store, [first + i for i in range(runs)])
    await queues.prune_inbox(store, now=time.time() + 10 * queues.INBOX_KEEP_SECONDS)
    samples.sort()
    print(
        f"{'article, after a commit':<28} p50 {statistics.median(samples):7.3f} ms   "
        f"p99 {samples[min(len(samples) - 1, int(len(samples) * 0.99))]:7.3f} ms"
    )


# Search, by the shape of what a reader types.
SHAPES = {
    "one common word": ["government", "minister", "market", "said"],
    "one rare word": [WORDS[5000], WORDS[7000], WORDS[9000], WORDS[11000]],
    "two words": [f"kenya {WORDS[300]}", f"china {WORDS[500]}", "trade talks", "border vote"],
    "a phrase": ['"the government"', '"minister said"', '"of the"', '"border trade"'],
}


async def search_by_shape(store: Store, runs: int) -> dict[str, dict[str, float]]:
    """p50 and p99 of search for each query shape, in milliseconds."""
    found = {}
    for shape, queries in SHAPES.items():
        found[shape] = await timed(
            f"search: {shape}", lambda i, q=queries: store.search(q[i % len(q)], None, 8), runs
        )
    return found


async def search_answers(store: Store) -> list[list[tuple[int, str, str, bool]]]:
    """What every query of every shape finds (to compare across a migration)."""
    return [
        [(h.article_id, h.title, h.snippet, h.in_comment) for h in await store.search(q, None, 8)]
        for queries in SHAPES.values()
        for q in queries
    ]


def index_version() -> int:
    """The migration that took the copies of the texts out of the search index."""
    return next(v for v, name, _ in dbmod.migrations() if "search_index_without_copies" in name)


async def run_import(texts: str, target: str, mode: str) -> None:
    """One import of a folder, as the CLI does it, in a process of its own; prints JSON."""
    store = await Store.open(target)
    options: dict[str, int] = {"batch_size": 1, "workers": 0} if mode == "slow" else {}
    started = time.perf_counter()
    report = await import_sources(store, [texts], deployment=True, **options)  # as the CLI
    elapsed = time.perf_counter() - started
    await store.close()
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = {
        "line": report.closing_line(),
        "seconds": elapsed,
        "cpu": own.ru_utime + own.ru_stime,
        "worker_cpu": workers.ru_utime + workers.ru_stime,
    }
    print(json.dumps(line))


def resident_kib(pid: int) -> int:
    """A process's resident memory and its children's (workers), in KiB; 0 once gone."""
    total = 0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        total = int(status.split("VmRSS:")[1].split()[0])
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError):
        return total
    return total + sum(resident_kib(int(child)) for child in children)


@contextlib.asynccontextmanager
async def import_target(args: argparse.Namespace, folder: Path, mode: str) -> AsyncIterator[str]:
    """An empty database for one import: a new file in ``folder``, or a fresh schema."""
    if args.db:
        async with fresh_schema(args.db, keep=bool(args.keep)) as url:
            yield url
        return
    db_path = folder / f"import-{mode}.sqlite3"
    for stale in folder.glob(db_path.name + "*"):
        stale.unlink()
    yield str(db_path)


def timed_import(texts: Path, target: str, mode: str) -> dict[str, Any]:
    """Run ``run_import`` in a fresh process, watching the memory of it and its workers."""
    # Run by "-c", so the worker processes do not import this script as their
    # main module (as with `newsbot import`, whose main module is small).
    runner = (
        "import asyncio, sys; sys.path.insert(0, sys.argv[1]); import corpus; "
        "asyncio.run(corpus.run_import(*sys.argv[2:]))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", runner, str(Path(__file__).parent), str(texts), target, mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, resident_kib(process.pid))
        time.sleep(0.02)
    output, _ = process.communicate()
    if process.returncode:
        sys.exit(f"the import failed ({process.returncode})")
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["peak"] = peak
    return result


async def open_sqlite_corpus(
    args: argparse.Namespace, folder: Path, indexed: int
) -> tuple[Store, str | None]:
    """The corpus in ``folder`` (built now at the schema before migration ``indexed``,
    with a copy of its first tenth, unless an earlier run kept it) and the tenth's path."""
    db_path = folder / "corpus.sqlite3"
    tenth_path = folder / "tenth.sqlite3"
    if not db_path.exists():
        for stale in folder.glob("tenth.sqlite3*"):
            stale.unlink()
        store = Store(await dbmod.connect(db_path, upto=indexed - 1), str(db_path))
        print(
            f"building {args.articles:,} articles and {args.comments:,} comments in {db_path} ...",
            file=sys.stderr,
        )
        started = time.perf_counter()
        rng = random.Random(7)
        per_article = max(0, (args.comments - args.big_thread) // max(1, args.articles - 1))
        tenth = max(1, args.articles // 10)
        await build(store, rng, 0, tenth, per_article, args.big_thread)
        await store.backup(tenth_path)
        await build(store, rng, tenth, args.articles, per_article, args.big_thread)
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    else:
        store = Store(await dbmod.connect(db_path), str(db_path))
    return store, str(tenth_path) if tenth_path.exists() else None


async def build_on_postgres(args: argparse.Namespace, corpus_url: str, tenth_url: str) -> Store:
    """The corpus in the schema of ``corpus_url``, and its first tenth built again from
    the same seed in the schema of ``tenth_url`` (PostgreSQL has no online backup to
    copy it with); both vacuumed and analysed once built."""
    per_article = max(0, (args.comments - args.big_thread) // max(1, args.articles - 1))
    tenth = max(1, args.articles // 10)
    print(
        f"building {args.articles:,} articles and {args.comments:,} comments on PostgreSQL ...",
        file=sys.stderr,
    )
    started = time.perf_counter()
    small = await Store.open(tenth_url)
    try:
        await build(small, random.Random(7), 0, tenth, per_article, args.big_thread)
        await vacuum_analyze(tenth_url)
    finally:
        await small.close()
    print(f"built its tenth in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    started = time.perf_counter()
    store = await Store.open(corpus_url)
    await build(store, random.Random(7), 0, args.articles, per_article, args.big_thread)
    built = await database_size(store)
    await vacuum_analyze(corpus_url)
    print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(f"database as built: {built / 2**20:,.0f} MiB, before VACUUM ANALYZE")
    return store


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--big-thread", type=int, default=100_000)
    parser.add_argument("--import-slice", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--keep", metavar="DIR", help="build the database in DIR and keep it")
    parser.add_argument("--db", metavar="URL", help="a postgresql:// server (default: SQLite)")
    args = parser.parse_args()

    folder = Path(args.keep or tempfile.mkdtemp(prefix="newsbot-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    indexed = index_version()
    async with contextlib.AsyncExitStack() as schemas:
        tenth_target: str | None
        if args.db:
            keep = bool(args.keep)
            corpus_url = await schemas.enter_async_context(fresh_schema(args.db, keep))
            tenth_target = await schemas.enter_async_context(fresh_schema(args.db, keep))
            store = await build_on_postgres(args, corpus_url, tenth_target)
        else:
            store, tenth_target = await open_sqlite_corpus(args, folder, indexed)
        try:
            await measure(store, tenth_target, args, folder, indexed)
        finally:
            await store.close()


async def measure(
    store: Store, tenth_target: str | None, args: argparse.Namespace, folder: Path, indexed: int
) -> None:
    """Every figure of the benchmark, on the corpus ``store`` holds."""
    stats = await store.stats()
    print(f"corpus: {stats['articles']:,} articles, {stats['comments']:,} comments")
    runs = args.runs

    # The search index without copies of the texts: size and answers, before and after.
    if store.engine == "postgres":
        before_search: dict[str, dict[str, float]] = {}
        print(
            f"database: {await database_size(store) / 2**20:,.0f} MiB after VACUUM ANALYZE (its "
            f"schema's tables, indexes and TOAST); migration 0009: {NOT_ON_POSTGRES}"
        )
    elif await dbmod.schema_version(store.db) < indexed:
        before_size = await database_size(store)
        before_answers = await search_answers(store)
        print("search before migration 0009, all of the corpus:")
        before_search = await search_by_shape(store, max(1, runs // 4))
        started = time.perf_counter()
        await dbmod.migrate(store.db)
        migrated = time.perf_counter() - started
        await store.db.execute("VACUUM")
        after_size = await database_size(store)
        same = await search_answers(store) == before_answers
        print(
            f"database: {before_size / 2**20:,.0f} MiB before migration 0009, "
            f"{after_size / 2**20:,.0f} MiB after it and VACUUM "
            f"({100 * (1 - after_size / before_size):.1f} % smaller; migration "
            f"{migrated:.0f} s); same search answers: {'yes' if same else 'NO'}"
        )
    else:
        before_search = {}
        print(f"database: {await database_size(store) / 2**20:,.0f} MiB (already migrated)")

    # Search by shape at a tenth of the corpus and at all of it.
    if tenth_target is not None:
        small = await Store.open(tenth_target)
        small_articles = (await small.stats())["articles"]
        print(f"search at {small_articles:,} articles:")
        at_tenth = await search_by_shape(small, runs // 2)
        await small.close()
        print(f"search at {stats['articles']:,} articles:")
        at_all = await search_by_shape(store, runs // 2)
        print(
            f"{'search (ms)':<20}{small_articles:>10,}{stats['articles']:>10,}"
            f"{'ratio':>8}{'before 0009':>13}"
        )
        for shape in SHAPES:
            for figure in ("p50", "p99"):
                before = before_search.get(shape, {}).get(figure)
                earlier = "n/a" if before is None else f"{before:.2f}"
                print(
                    f"{shape + ' ' + figure:<20}{at_tenth[shape][figure]:>10.2f}"
                    f"{at_all[shape][figure]:>10.2f}"
                    f"{at_all[shape][figure] / at_tenth[shape][figure]:>8.2f}{earlier:>13}"
                )

    # Import rate through the real importer, on native text files: slow path, then default.
    rng = random.Random(11)
    texts = folder / "import-slice"
    shutil.rmtree(texts, ignore_errors=True)  # a kept folder's last slice
    texts.mkdir()
    for n in range(args.import_slice):
        (texts / f"a{n:05d}.txt").write_text(native_text(n, rng), encoding="utf-8")
    for mode in ("slow", "fast"):
        async with import_target(args, folder, mode) as target:
            result = timed_import(texts, target, mode)
        print(
            f"import ({'one per transaction, in-process' if mode == 'slow' else 'default'}): "
            f"{result['line']} in {result['seconds']:.1f} s = "
            f"{args.import_slice / result['seconds']:,.0f} articles/s; peak memory "
            f"{result['peak'] / 1024:.0f} MiB (all its processes together)"
            + f"; CPU {result['cpu']:.1f} s"
            + (f" + {result['worker_cpu']:.1f} s in workers" if result["worker_cpu"] else "")
        )

    big_id = 1
    ids = [r.id for r in await store.latest(1)]
    top = ids[0] if ids else 1
    topic = "economy"
    runs = args.runs
    await timed("latest 10", lambda i: store.latest(10), runs)
    await timed("article by id", lambda i: store.article(1 + (i * 7919) % stats["articles"]), runs)
    await read_after_a_commit(store, stats["articles"], runs)
    page1 = await timed("comments page 1", lambda i: store.comment_page(big_id, 1, -1), runs)
    far = min(10_000, (await store.comment_page(big_id, 1, -1)).pages)
    page_far = await timed(
        f"comments page {far:,}", lambda i: store.comment_page(big_id, far, -1), runs
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
        f"page {far:,} / page 1 p99 ratio: {page_far['p99'] / page1['p99']:.2f}   "
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


if __name__ == "__main__":
    asyncio.run(main())
