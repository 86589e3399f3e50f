"""Sentence boundaries, found by a real segmenter (pysbd) rather than a split on '.'."""

from __future__ import annotations

import re

import pysbd

# pysbd's rules are regular expressions over the whole text; past this size a
# paragraph is split on sentence punctuation followed by a capital instead, so
# one pathological block cannot stall an import.
SEGMENTER_LIMIT = 20_000
# Sentence punctuation (perhaps inside a closing quote or bracket), blank space, and
# the capital or digit that opens the next sentence.
_ROUGH_BOUNDARY = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"'\u2019\u201d)]))\s+(?=[\"'\u2018\u201c(]?[A-Z0-9])"
)


def split_sentences(text: str) -> list[str]:
    """The sentences of one paragraph, stripped, in order."""
    if len(text) > SEGMENTER_LIMIT:
        return rough_sentences(text)
    parts = pysbd.Segmenter(language="en", clean=False).segment(text)
    return [part.strip() for part in parts if part.strip()]


def rough_sentences(text: str) -> list[str]:
    """Sentences by punctuation alone: fast, and wrong after abbreviations ("U.S. Navy")."""
    return [part.strip() for part in _ROUGH_BOUNDARY.split(text) if part.strip()]
