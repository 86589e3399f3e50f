"""Extractive summaries: the article's lead, two or three whole sentences."""

from __future__ import annotations

from collections.abc import Sequence

from storage.ingest.sentences import split_sentences
from storage.models import Block
from storage.text import shorten

MAX_SUMMARY = 600
MAX_SENTENCES = 3
MIN_SENTENCE = 20
# Only the opening of an article is read: a summary is lead-biased, and the
# segmenter's cost then stays flat however long the article is.
LEAD_BLOCKS = 4


def summarize(title: str, blocks: Sequence[Block]) -> str:
    """Two or three lead sentences, at most about 600 characters, never cut mid-sentence.

    Sentences are taken in order from the opening paragraphs; one that would
    push the summary past the limit ends it. A lead too long to quote whole
    falls back to its first words, marked with an ellipsis.
    """
    candidates = _lead_sentences(blocks)
    chosen: list[str] = []
    length = 0
    for sentence in candidates:
        extra = len(sentence) + (1 if chosen else 0)
        if length + extra > MAX_SUMMARY:
            if chosen:
                break
            continue  # a lead sentence too long to quote; try the next one
        chosen.append(sentence)
        length += extra
        if len(chosen) == MAX_SENTENCES:
            break
    if chosen:
        return " ".join(chosen)
    if candidates:
        return shorten(candidates[0], MAX_SUMMARY)
    return shorten(title, MAX_SUMMARY)


def _lead_sentences(blocks: Sequence[Block]) -> list[str]:
    paragraphs = [block.text for block in blocks if block.kind == "paragraph"]
    if not paragraphs:
        paragraphs = [block.text for block in blocks]
    sentences: list[str] = []
    for text in paragraphs[:LEAD_BLOCKS]:
        sentences.extend(s for s in split_sentences(text) if len(s) >= MIN_SENTENCE)
        if len(sentences) >= MAX_SENTENCES:
            break
    if not sentences:  # only very short sentences: better than nothing
        sentences = [s for text in paragraphs[:LEAD_BLOCKS] for s in split_sentences(text)]
    return sentences
