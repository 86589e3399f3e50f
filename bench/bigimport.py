"""Moving a large deployment: ``newsbot export --all`` then ``newsbot import`` of the file.

Writes N articles with comments, then users' records, as JSON Lines, imports them
with ``newsbot import`` into a SQLite file (the deployment), exports it whole with
``newsbot export --all`` and imports that export into a fresh database: a new
SQLite file, or with
``--db postgresql://...`` a schema of its own on that server (dropped at the end).
Each command runs as its own process; printed for each: the file's size in MB,
articles a second, and the process's peak resident memory.

    .venv/bin/python bench/bigimport.py --articles 30000 --comments 10 --users 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engines import fresh_schema

WORDS = (
    "council harbour bridge tram election vote market energy court border talks drills "
    "minister report budget river station school hospital festival"
).split()
MB = 1024 * 1024


def sentence(rng: random.Random, words: int) -> str:
    """A sentence of plain words, capitalised, with a full stop."""
    return " ".join(rng.choices(WORDS, k=words)).capitalize() + "."


def article_record(n: int, comments: int, rng: random.Random) -> dict[str, object]:
    """An article of eight paragraphs with its comments, some of them replies."""
    return {
        "title": f"Council report {n}",
        "source_key": f"bench:{n}",
        "published_at": f"20{10 + n % 15}-0{1 + n % 9}-1{n % 10}T09:00:00Z",
        "tags": [WORDS[n % len(WORDS)]],
        "body": [
            {"kind": "paragraph", "text": " ".join(sentence(rng, 12) for _ in range(6))}
            for _ in range(8)
        ],
        "comments": [
            {
                "id": c + 1,
                "parent_id": c if c % 3 == 2 else None,
                "author": f"Reader {rng.randrange(1000)}",
                "body": " ".join(sentence(rng, 10) for _ in range(4)),
                "key": f"bench:{n}:{c}",
            }
            for c in range(comments)
        ],
    }


def write_deployment(path: Path, articles: int, comments: int, users: int) -> None:
    """The generated deployment: its articles, one a line, then its users' records."""
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as stream:
        for n in range(articles):
            stream.write(json.dumps(article_record(n, comments, rng)) + "\n")
        for n in range(users):
            user = {"type": "user", "id": n + 1, "display_name": f"Reader {n}"}
            stream.write(json.dumps({**user, "updated_at": "2026-01-01T00:00:00Z"}) + "\n")


def newsbot(database: str, *arguments: str, stdout: int | None = None) -> tuple[float, float]:
    """Run a newsbot command on a database; its seconds and its peak resident MB."""
    env = {**os.environ, "NEWSBOT_DB": database}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *arguments],
        env=env,
        stdout=stdout,
        cwd=tempfile.gettempdir(),  # no .env of a checkout is read
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"newsbot {' '.join(arguments)} failed ({process.returncode})")
    return seconds, usage.ru_maxrss / 1024  # kilobytes on Linux


def show(what: str, path: Path, articles: int, seconds: float, peak: float) -> None:
    """One line of figures."""
    size = path.stat().st_size / MB
    print(
        f"{what:<28} {size:8.1f} MB  {seconds:7.1f} s  {articles / seconds:7.0f} articles/s  "
        f"peak RSS {peak:6.1f} MB",
        flush=True,
    )


@asynccontextmanager
async def target(server: str | None, folder: Path) -> AsyncIterator[str]:
    """The database the export moves to: a new SQLite file, or a fresh schema on server."""
    if server is None:
        yield str(folder / "moved.sqlite3")
        return
    async with fresh_schema(server) as url:
        yield url


async def run(args: argparse.Namespace, folder: Path) -> None:
    generated, export = folder / "articles.jsonl", folder / "all.jsonl"
    write_deployment(generated, args.articles, args.comments, args.users)
    deployment = str(folder / "deployment.sqlite3")
    seconds, peak = newsbot(deployment, "import", "--quiet", str(generated))
    show("import generated (SQLite)", generated, args.articles, seconds, peak)
    with export.open("wb") as stream:
        seconds, peak = newsbot(deployment, "export", "--all", stdout=stream.fileno())
    show("export --all (SQLite)", export, args.articles, seconds, peak)
    async with target(args.db, folder) as moved:
        seconds, peak = newsbot(moved, "import", "--quiet", str(export))
        engine = "PostgreSQL" if args.db else "SQLite"
        show(f"import export ({engine})", export, args.articles, seconds, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--comments", type=int, default=10, help="per article")
    parser.add_argument("--users", type=int, default=100_000, help="records besides articles")
    parser.add_argument("--db", metavar="URL", help="move to this postgresql:// server")
    parser.add_argument("--dir", metavar="DIR", help="work in DIR (default: a temporary one)")
    args = parser.parse_args()
    if args.dir:
        asyncio.run(run(args, Path(args.dir)))
        return
    with tempfile.TemporaryDirectory(prefix="bigimport-") as folder:
        asyncio.run(run(args, Path(folder)))


if __name__ == "__main__":
    main()
