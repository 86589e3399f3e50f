"""The write-ahead log is copied into the database by the store's own thread, not by the
commit that happens to find it long (which would then take milliseconds)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from storage import Store
from storage.connection import CHECKPOINT_EVERY, WAL_AUTOCHECKPOINT
from storage.importer import load_bundled_sample
from tests.conftest import until

pytestmark = pytest.mark.sqlite_only("SQLite's write-ahead log")


def titles_in_the_file_alone(path: Path, copy: Path) -> list[str]:
    """The article titles the database file holds without its write-ahead log."""
    shutil.copyfile(path, copy)  # no -wal beside the copy: only what was checkpointed
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT title FROM articles")]
    except sqlite3.OperationalError:  # no such table yet: the schema is still in the log
        return []
    finally:
        conn.close()


async def test_a_write_reaches_the_database_file_soon_without_a_long_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / "news.sqlite3"
    store = await Store.open(path)
    try:
        pages = (await store.db.execute_fetchall("PRAGMA wal_autocheckpoint"))[0][0]
        assert pages == WAL_AUTOCHECKPOINT  # a commit leaves short logs alone
        await load_bundled_sample(store)
        await until(lambda: titles_in_the_file_alone(path, tmp_path / "copy.sqlite3") != [])
        assert len(titles_in_the_file_alone(path, tmp_path / "copy.sqlite3")) == 1
    finally:
        await store.close()


async def test_a_write_ending_while_the_store_closes_starts_no_checkpoint(
    tmp_path: Path,
) -> None:
    path = tmp_path / "news.sqlite3"
    store = await Store.open(path)
    await asyncio.sleep(CHECKPOINT_EVERY)  # the next write would start a checkpoint
    write = asyncio.ensure_future(
        store.write_once(
            lambda conn: conn.execute(
                "INSERT INTO users (id, display_name, updated_at) VALUES (5, 'Ada', 'now')"
            )
        )
    )
    await asyncio.sleep(0)  # the write is on the database thread
    await store.close()
    await write
    await asyncio.sleep(0.2)
    # Nothing opened the file again behind the closed store: the log is gone with it.
    assert sorted(await asyncio.to_thread(os.listdir, tmp_path)) == ["news.sqlite3"]
