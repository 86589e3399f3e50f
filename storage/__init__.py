"""The stored news corpus: articles, their summaries, timelines and comment sections.

The public surface is small: open a ``Store``, feed it with ``import_sources``,
and read models back from it. SQL stays inside this package.
"""

from storage.errors import (
    DatabaseFault,
    IngestError,
    MigrationError,
    NewsbotError,
    NotFound,
    StorageError,
)
from storage.importer import ImportReport, import_sources, load_bundled_sample, sample_path
from storage.store import Store

__all__ = [
    "DatabaseFault",
    "ImportReport",
    "IngestError",
    "MigrationError",
    "NewsbotError",
    "NotFound",
    "StorageError",
    "Store",
    "import_sources",
    "load_bundled_sample",
    "sample_path",
]
