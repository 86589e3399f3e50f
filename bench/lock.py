"""Lock benchmark: the bot's store while another program holds the database's write lock.

A second connection (as `newsbot import` or a backup tool in another process would)
takes ``BEGIN IMMEDIATE`` and keeps it for HOLD seconds. Meanwhile the store starts a
write and then reads. Prints how long the read took while the write waited, how long
after the lock was let go the write went through, and the store's write rate with no
lock held (transactions/s), so the waiting costs nothing when there is none.

    python bench/lock.py --hold 3
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from storage import Store


async def measure(path: Path, hold: float, writes: int) -> None:
    store = await Store.open(path)
    try:
        held, release = threading.Event(), threading.Event()

        def other_program() -> None:
            db = sqlite3.connect(path, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            held.set()
            release.wait(60)
            db.execute("COMMIT")
            db.close()

        threading.Thread(target=other_program, daemon=True).start()
        held.wait(10)
        write = asyncio.create_task(store.save_user(1, "Ada"))
        await asyncio.sleep(0.2)
        started = time.perf_counter()
        await store.article_count()
        read_ms = (time.perf_counter() - started) * 1000
        await asyncio.sleep(max(hold - 0.2, 0))
        release.set()
        released = time.perf_counter()
        await write
        after_ms = (time.perf_counter() - released) * 1000
        print(f"lock held by another connection: {hold:g} s")
        print(f"a read while a write waits for it: {read_ms:.1f} ms")
        print(f"the write went through {after_ms:.0f} ms after the lock was let go")

        started = time.perf_counter()
        for n in range(writes):
            await store.save_user(n % 500, f"user {n}")
        rate = writes / (time.perf_counter() - started)
        print(f"write transactions with no lock held: {rate:,.0f}/s ({writes:,} writes)")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold", type=float, default=3.0, help="seconds the lock is held")
    parser.add_argument("--writes", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure(Path(folder) / "lock.sqlite3", args.hold, args.writes))


if __name__ == "__main__":
    main()
