"""Sentence boundaries, found by a real segmenter (pysbd) rather than a split on '.'.

pysbd costs most of an import's time (about 0.7 ms a paragraph), yet most news
paragraphs are plain: capitalised sentences of words, digits and commas, each
ending in a period after a word no rule of pysbd's looks at twice. Those are
split here by a regular expression, giving exactly pysbd's answer (the tests
compare the two on generated and real paragraphs); every other paragraph still
goes to pysbd.
"""

from __future__ import annotations

import re

import pysbd
from pysbd.lang.common.standard import Standard
from pysbd.utils import TextSpan

# pysbd's rules are regular expressions over the whole text; past this size a
# paragraph is split on sentence punctuation followed by a capital instead, so
# one pathological block cannot stall an import.
SEGMENTER_LIMIT = 20_000
# Sentence punctuation (perhaps inside a closing quote or bracket), blank space, and
# the capital or digit that opens the next sentence.
_ROUGH_BOUNDARY = re.compile(
    r"(?:(?<=[.!?])|(?<=[.!?][\"'\u2019\u201d)]))\s+(?=[\"'\u2018\u201c(]?[A-Z0-9])"
)

# A plain sentence: a capital, then letters, digits, commas, hyphens and single
# spaces only, ending in a period right after a word of letters or a number. No quotes,
# brackets, other punctuation or inner periods, which pysbd has rules for.
_PLAIN_SENTENCE = r"[A-Z](?:[A-Za-z0-9,\-]| (?! ))*[A-Za-z0-9]\."
_PLAIN_PARAGRAPH = re.compile(rf"{_PLAIN_SENTENCE}(?: {_PLAIN_SENTENCE})*")
_BOUNDARY = re.compile(r"(?<=\.) ")
_LAST_WORD = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]+|[0-9]+)\.$")
# Words a period may follow without ending a sentence, to pysbd: its abbreviations
# and anything that reads as a roman numeral or a list letter.
_ABBREVIATIONS = frozenset(
    word for word in Standard.Abbreviation.ABBREVIATIONS if word.isalpha()
) | frozenset(Standard.Abbreviation.PREPOSITIVE_ABBREVIATIONS)
_NUMERAL = re.compile(r"[ivxlcdm]+", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """The sentences of one paragraph, stripped, in order."""
    plain = plain_sentences(text)
    if plain is not None:
        return plain
    if len(text) > SEGMENTER_LIMIT:
        return rough_sentences(text)
    parts = _Segmenter(language="en", clean=False).segment(text)
    return [part.strip() for part in parts if part.strip()]


class _Segmenter(pysbd.Segmenter):  # type: ignore[misc]
    """pysbd's segmenter, placing its sentences in the text as pysbd does (each at its
    first occurrence ending past the last one's end, with the blank space after it)
    without compiling a regular expression for every sentence, which pysbd does and
    which costs it more than the rest on a news paragraph (the tests compare the two)."""

    def sentences_with_char_spans(self, sentences: list[str]) -> list[TextSpan]:
        if not all(sentences):  # an empty one matches anywhere: pysbd's own way then
            return list(super().sentences_with_char_spans(sentences))
        text: str = self.original_text
        spans = []
        prior_end = 0
        for sentence in sentences:
            start = text.find(sentence)
            while start != -1:
                end = start + len(sentence)
                while end < len(text) and text[end].isspace():  # as the pattern's \s*
                    end += 1
                if end > prior_end:
                    spans.append(TextSpan(text[start:end], start, end))
                    prior_end = end
                    break
                start = text.find(sentence, end)  # the next match starts past this one
        return spans


def plain_sentences(text: str) -> list[str] | None:
    """A plain paragraph's sentences, exactly as pysbd finds them; None for any other."""
    text = text.strip()
    if len(text) > SEGMENTER_LIMIT or not _PLAIN_PARAGRAPH.fullmatch(text):
        return None
    sentences = _BOUNDARY.split(text)
    for sentence in sentences:
        match = _LAST_WORD.search(sentence)
        word = match.group(1) if match else ""
        if word.isdigit():
            if len(word) < 3:  # a list item's number, to pysbd
                return None
        elif len(word) < 2 or word.lower() in _ABBREVIATIONS or _NUMERAL.fullmatch(word):
            return None
    return sentences


def rough_sentences(text: str) -> list[str]:
    """Sentences by punctuation alone: fast, and wrong after abbreviations ("U.S. Navy")."""
    return [part.strip() for part in _ROUGH_BOUNDARY.split(text) if part.strip()]
