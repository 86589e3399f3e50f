"""Turning files, feeds and exports into articles, with summaries and timelines.

The public names are re-exported here; the modules behind them are:

* ``textformat``  the native text format
* ``feedformat``  RSS and Atom (their HTML cleaned by ``markup``)
* ``jsonl``       JSON Lines, the export format, both ways
* ``summary``, ``timeline``, ``topics``  what is computed at import (``enrich``)
* ``dates``       dates in a sentence, relative ones read against the publication day
* ``sources``     files, folders and URLs
"""

from storage.ingest.enrich import enrich
from storage.ingest.feedformat import parse_feed
from storage.ingest.jsonl import article_record, parse_jsonl
from storage.ingest.sources import expand_sources, load_source
from storage.ingest.summary import summarize
from storage.ingest.textformat import parse_text
from storage.ingest.timeline import extract_timeline
from storage.ingest.topics import derive_topics

__all__ = [
    "article_record",
    "derive_topics",
    "enrich",
    "expand_sources",
    "extract_timeline",
    "load_source",
    "parse_feed",
    "parse_jsonl",
    "parse_text",
    "summarize",
]
