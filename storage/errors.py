"""The exceptions the storage layer raises.

NewsbotError
└── StorageError
    ├── IngestError        a file, URL or feed could not be imported
    ├── NotFound           an article or comment id that does not exist
    └── MigrationError     the database schema could not be brought up to date
"""

from __future__ import annotations


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
