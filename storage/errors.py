"""The exceptions the storage layer raises.

NewsbotError
└── StorageError
    ├── IngestError        a file, URL or feed could not be imported
    ├── NotFound           an article or comment id that does not exist
    ├── MigrationError     the database schema could not be brought up to date
    └── DatabaseFault      the database file itself refuses: ``str()`` names file and fault
        ├── DatabaseMissing   its folder does not exist (or it cannot be opened at all)
        ├── DatabaseBusy      another process held the write lock past our wait
        ├── DatabaseFull      the disk (or the database's size limit) is full
        ├── DatabaseReadOnly  the file or its file system cannot be written
        ├── DatabaseDiskError the disk failed a read or a write
        └── DatabaseCorrupt   a damaged page, or not a database at all
"""

from __future__ import annotations

import sqlite3


class NewsbotError(Exception):
    """Base of every error this project raises on purpose."""


class StorageError(NewsbotError):
    """Something about the stored corpus went wrong."""


class IngestError(StorageError):
    """A source could not be imported. ``str()`` is one line naming the source."""

    def __init__(self, source: str, reason: str, line: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


class NotFound(StorageError):
    """An id or slug that names nothing in the store."""


class MigrationError(StorageError):
    """The schema could not be migrated."""


class DatabaseFault(StorageError):
    """The database file refuses to be read or written; a fault of the machine, not the data.

    ``str()`` is one line naming the file and the fault; ``reader_text`` is what a
    reader is told when their action could not be saved.
    """

    reason = "cannot be used"
    reader_text = "Sorry, I cannot save anything right now. Please try again in a few minutes."

    def __init__(self, path: str, detail: str | None = None) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"database {path}: {self.reason}" + (f" ({detail})" if detail else ""))


class DatabaseMissing(DatabaseFault):
    """The database cannot be opened: its folder is missing, or the path is no file."""

    reason = "cannot be opened"


class DatabaseBusy(DatabaseFault):
    """Another process kept the write lock longer than we wait."""

    reason = "another program kept it locked for too long"
    reader_text = (
        "Sorry, the database was busy for too long and nothing was saved. Please try again."
    )


class DatabaseFull(DatabaseFault):
    """No room for more: the disk is full (or the database reached its size limit)."""

    reason = "the disk is full"
    reader_text = (
        "Sorry, I cannot save anything right now: my disk is full. The newsroom has been "
        "told; please try again later."
    )


class DatabaseReadOnly(DatabaseFault):
    """The file, its folder or its file system cannot be written."""

    reason = "it is read-only"
    reader_text = (
        "Sorry, I cannot save anything right now: my database is read-only. The newsroom "
        "has been told; please try again later."
    )


class DatabaseDiskError(DatabaseFault):
    """The operating system failed a read or a write of the file."""

    reason = "the disk reported an error"


class DatabaseCorrupt(DatabaseFault):
    """A damaged page, or a file that is not a database."""

    reason = "it is damaged"
    reader_text = "Sorry, my database is damaged and I cannot do that. The newsroom has been told."


_FAULTS: dict[int, type[DatabaseFault]] = {
    sqlite3.SQLITE_BUSY: DatabaseBusy,
    sqlite3.SQLITE_LOCKED: DatabaseBusy,
    sqlite3.SQLITE_FULL: DatabaseFull,
    sqlite3.SQLITE_READONLY: DatabaseReadOnly,
    sqlite3.SQLITE_CORRUPT: DatabaseCorrupt,
    sqlite3.SQLITE_NOTADB: DatabaseCorrupt,
    sqlite3.SQLITE_CANTOPEN: DatabaseMissing,
    sqlite3.SQLITE_IOERR: DatabaseDiskError,
}


def database_fault(exc: BaseException, path: str) -> DatabaseFault | None:
    """The fault an ``sqlite3`` error stands for, or None for an error in the code or data.

    SQLite's result code tells (``sqlite_errorcode``): SQLITE_FULL is "database or disk is
    full", SQLITE_READONLY "attempt to write a readonly database", and so on.
    """
    if isinstance(exc, DatabaseFault):
        return exc
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    kind = _FAULTS.get(code & 0xFF)  # the primary code; extended codes add detail
    if kind is None:
        return None
    fault = kind(path, str(exc))
    fault.__cause__ = exc
    return fault
