"""Real database faults for tests: another process's write lock, a read-only file, a
damaged page, a full database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import aiosqlite
import pytest

PAGE_SIZE = 4096


class WriteLock:
    """Another program holding the database's write lock (``BEGIN IMMEDIATE``) until released.

    Its own connection on its own thread, as a second process would hold it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = threading.Event()
        self.released = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO users (id, display_name, updated_at) VALUES (77, 'Other', 'now')"
            )
            self.held.set()
            self.released.wait(30)
            db.execute("COMMIT")
        finally:
            db.close()

    def release(self) -> None:
        """Commit and let go."""
        self.released.set()
        self.thread.join(10)

    def __enter__(self) -> WriteLock:
        self.thread.start()
        assert self.held.wait(10), "the other connection never got the lock"
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make the file read-only for this process, then writable again.

    Tests may run as root, whom file modes do not stop: then the file is made
    immutable (``chattr +i``) or, where the file system has no such flag, bound
    read-only over itself (a read-only mount of one file), which stop root too.
    """
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    if _run("chattr", "+i", str(path)):
        try:
            yield
        finally:
            _run("chattr", "-i", str(path), check=True)
        return
    if not _run("mount", "--bind", str(path), str(path)):
        pytest.skip("as root, neither chattr nor a bind mount can make a file read-only here")
    try:
        _run("mount", "-o", "remount,bind,ro", str(path), check=True)
        yield
    finally:
        _run("umount", str(path), check=True)


def _run(*command: str, check: bool = False) -> bool:
    done = subprocess.run(command, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.returncode == 0


def damage_page(path: Path, page: int) -> None:
    """Overwrite one page of a closed database with garbage (pages count from 1)."""
    with path.open("r+b") as file:
        file.seek((page - 1) * PAGE_SIZE)
        file.write(b"\xa5" * PAGE_SIZE)


async def fill_up(db: aiosqlite.Connection) -> None:
    """Fill the database to its size limit: later writes that need a page fail.

    ``PRAGMA max_page_count`` (on this connection) makes SQLite answer SQLITE_FULL,
    "database or disk is full", exactly as a full disk does.
    """
    pages = (await db.execute_fetchall("PRAGMA page_count"))[0][0]  # type: ignore[index]
    await db.execute(f"PRAGMA max_page_count = {pages + 4}")
    await db.execute("CREATE TABLE IF NOT EXISTS ballast (junk BLOB)")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for _ in range(1000):
            await db.execute("INSERT INTO ballast VALUES (zeroblob(1000))")


async def make_room(db: aiosqlite.Connection) -> None:
    """Free space again: lift the size limit ``fill_up`` set."""
    await db.execute("PRAGMA max_page_count = 1073741823")


@contextmanager
def tiny_disk(folder: Path, size: str = "1m") -> Iterator[Path]:
    """A small file system of its own (tmpfs) at ``folder``, unmounted afterwards.

    Mounting needs root; elsewhere the test is skipped (``fill_up`` covers the full
    database without a mount).
    """
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def fill_disk(path: Path) -> None:
    """Write ``path`` until its file system has no byte left (ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError, match="No space left"):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
