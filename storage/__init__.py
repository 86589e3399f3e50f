"""The stored news corpus: articles, their summaries, timelines and comment sections.

The public surface is small: open a ``Store``, feed it with ``import_sources``,
and read models back from it. SQL stays inside this package.

The store and the importer are imported when first asked for: a process that only
parses files (an import's workers, ``storage.ingest``) starts without the database code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from storage.errors import (
    DatabaseFault,
    IngestError,
    MigrationError,
    NewsbotError,
    NotFound,
    StorageError,
)

if TYPE_CHECKING:
    from storage.importer import ImportReport, import_sources, load_bundled_sample, sample_path
    from storage.store import Store

_LAZY = {
    "ImportReport": "storage.importer",
    "import_sources": "storage.importer",
    "load_bundled_sample": "storage.importer",
    "sample_path": "storage.importer",
    "Store": "storage.store",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # asked once
    return value
