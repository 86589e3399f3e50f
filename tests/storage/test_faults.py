"""Database faults, reproduced for real: a lock held by another connection, a full
database, a read-only file, a damaged page, a missing folder."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from storage import Store
from storage.connection import WAL_AUTOCHECKPOINT
from storage.errors import (
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseFull,
    DatabaseMissing,
    DatabaseReadOnly,
)
from storage.models import Block, ParsedArticle, SaveResult
from tests.faults import (
    WriteLock,
    damage_page,
    fill_disk,
    fill_up,
    make_room,
    read_only,
    tiny_disk,
)

pytestmark = pytest.mark.sqlite_only("faults of the database file and its locks")


def fault_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "storage.store"]


async def test_a_write_waits_out_another_programs_lock_while_reads_go_on(
    store: Store, tmp_path: Path
) -> None:
    with WriteLock(tmp_path / "news.sqlite3") as lock:
        write = asyncio.create_task(store.save_user(1, "Ada"))
        await asyncio.sleep(0.3)
        assert not write.done()  # still waiting for the lock
        # Reads are not stuck behind the waiting write.
        assert await store.article_count() == 0
        assert await store.user(77) is None  # the other program has not committed
        lock.release()
        user = await write
    assert user.display_name == "Ada"
    other = await store.user(77)
    assert other is not None and other.display_name == "Other"


async def test_a_lock_held_too_long_fails_the_write_in_plain_words(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storage.store")
    store.write_wait = 0.5
    path = tmp_path / "news.sqlite3"
    with WriteLock(path), pytest.raises(DatabaseBusy) as busy:
        await store.save_user(1, "Ada")
    assert str(busy.value) == (
        f"database {path}: another program kept it locked for too long (waited 0.5s)"
    )
    await store.save_user(1, "Ada")  # the lock is gone: writes go through
    assert fault_lines(caplog) == [
        f"{busy.value}; writes are refused until that clears",
        f"database {path} takes writes again",
    ]


def long_articles() -> list[ParsedArticle]:
    return [
        ParsedArticle(
            title=f"Long {n}",
            blocks=(Block("paragraph", "word " * 20_000),),
            source_key=f"long:{n}",
            summary="",
            timeline=(),
        )
        for n in range(3)
    ]


async def test_a_full_database_refuses_writes_with_one_log_line_and_recovers(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storage.store")
    await fill_up(store.db)
    for n in range(3):
        with pytest.raises(DatabaseFull) as full:
            await store.save_user(n, "A long name " * 500)
    path = tmp_path / "news.sqlite3"
    assert str(full.value) == f"database {path}: the disk is full (database or disk is full)"
    await make_room(store.db)
    await store.save_user(9, "A long name " * 500)  # same connection, no restart
    assert await store.user(9) is not None
    assert fault_lines(caplog) == [
        f"database {path}: the disk is full (database or disk is full); "
        "writes are refused until that clears",
        f"database {path} takes writes again",
    ]
    assert all(r.exc_info is None for r in caplog.records)


async def test_a_read_only_file_refuses_writes_and_takes_them_once_writable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "news.sqlite3"
    await (await Store.open(path)).close()
    with read_only(path):
        store = await Store.open(path)  # reading a read-only file is fine
        try:
            assert await store.article_count() == 0
            for n in range(2):
                with pytest.raises(DatabaseReadOnly) as refused:
                    await store.save_user(n, "Ada")
            with pytest.raises(DatabaseReadOnly):  # the file's fault, not the articles'
                await store.save_articles(long_articles())
        except BaseException:
            await store.close()
            raise
    try:
        assert str(refused.value) == (
            f"database {path}: it is read-only (attempt to write a readonly database)"
        )
        await store.save_user(5, "Bo")  # the same store: no restart
        assert await store.user(5) is not None
    finally:
        await store.close()
    assert len([line for line in fault_lines(caplog) if "read-only" in line]) == 1


async def test_a_batch_of_articles_meets_a_full_database_as_one_fault(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An article that finds the file full is no bad article: the batch raises the fault,
    told once, keeps nothing, and goes through once there is room."""
    caplog.set_level(logging.INFO, logger="storage.store")
    await fill_up(store.db)
    with pytest.raises(DatabaseFull):
        await store.save_articles(long_articles())
    assert await store.article_count() == 0
    await make_room(store.db)
    saved = await store.save_articles(long_articles())
    assert all(isinstance(result, SaveResult) for result in saved)
    assert fault_lines(caplog) == [
        f"database {tmp_path / 'news.sqlite3'}: the disk is full (database or disk is full); "
        "writes are refused until that clears",
        f"database {tmp_path / 'news.sqlite3'} takes writes again",
    ]


async def test_verify_names_a_read_only_file(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    await (await Store.open(path)).close()
    await Store.verify(path)
    with read_only(path), pytest.raises(DatabaseReadOnly):
        await Store.verify(path)


async def test_verify_finds_a_damaged_page(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    await (await Store.open(path)).close()
    damage_page(path, 4)
    await (await Store.open(path)).close()  # opening alone does not notice
    with pytest.raises(DatabaseCorrupt) as damaged:
        await Store.verify(path)
    assert str(damaged.value).startswith(f"database {path}: it is damaged (")
    assert "\n" not in str(damaged.value)


async def test_a_file_that_is_no_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list\n" * 100)
    with pytest.raises(DatabaseCorrupt) as damaged:
        await Store.open(path)
    assert str(damaged.value) == f"database {path}: it is damaged (file is not a database)"


async def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "news.sqlite3"
    with pytest.raises(DatabaseMissing) as missing:
        await Store.open(path)
    assert str(missing.value) == (
        f"database {path}: cannot be opened (its folder {path.parent} does not exist)"
    )


async def test_a_full_file_system_refuses_writes_until_space_is_freed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with tiny_disk(tmp_path / "disk") as disk:
        store = await Store.open(disk / "news.sqlite3")
        try:
            await store.save_user(1, "Ada")
            fill_disk(disk / "ballast")
            for n in range(3):
                with pytest.raises(DatabaseFull):
                    await store.save_user(2 + n, "Bo")
            (disk / "ballast").unlink()
            await store.save_user(9, "Cy")  # no restart
            assert await store.user(9) is not None
            assert await store.user(2) is None
        finally:
            await store.close()
    assert len([line for line in fault_lines(caplog) if "disk is full" in line]) == 1


async def test_a_write_that_changes_nothing_does_not_say_a_read_only_file_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "news.sqlite3"
    await (await Store.open(path)).close()
    with read_only(path):
        store = await Store.open(path)
        try:
            with pytest.raises(DatabaseReadOnly):
                await store.save_user(1, "Ada")
            # A refusal (here: no such article) is a write that changes nothing: it
            # commits even on a read-only file, and must not be taken for a recovery.
            posting = await store.post_comment(
                article_id=999,
                parent_id=None,
                body="Hello.",
                author="Ada",
                user_id=1,
                chat=None,
                chat_id=1,
                message_id=1,
                visibility="public",
            )
            assert posting.title is None
            assert isinstance(store.fault, DatabaseReadOnly)
        finally:
            await store.close()
    assert not [line for line in fault_lines(caplog) if "takes writes again" in line]


async def test_a_connection_opened_again_leaves_checkpoints_to_the_store(tmp_path: Path) -> None:
    path = tmp_path / "news.sqlite3"
    await (await Store.open(path)).close()
    with read_only(path):
        store = await Store.open(path)
        with pytest.raises(DatabaseReadOnly):
            await store.save_user(1, "Ada")
    try:
        await store.save_user(2, "Bo")  # on a connection opened again
        pages = (await store.db.execute_fetchall("PRAGMA wal_autocheckpoint"))[0][0]
        assert pages == WAL_AUTOCHECKPOINT
    finally:
        await store.close()
