"""Dated events found in an article's running text and bullet items.

The dates themselves are read by ``storage.ingest.dates``: explicit ones
("May 2016", "in 2022", "a 2010 raid") and, given the day the article was
published, relative ones ("on Tuesday", "last month", "two years ago"). This
module walks the article's sentences, turns each date into an event with a
one-line label that says what happened, and keeps the events in order.

A date named again in a later sentence is a new event when that sentence tells
of something else; the same happening told twice is one event.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence

from pysbd.lang.common.standard import Standard

from storage.ingest.dates import Found, anchor_of, date_hints, find_dates
from storage.ingest.sentences import rough_sentences, split_sentences
from storage.models import Block, TimelineEvent
from storage.text import shorten

MAX_LABEL = 140
MAX_EVENTS = 100
# Paragraphs past this many (among those that need the segmenter) are split into
# sentences by punctuation alone: the segmenter costs about a millisecond a
# paragraph, and a book-length file should import in seconds, not minutes.
SEGMENTED_PARAGRAPHS = 1_000

# A paragraph with no sentence punctuation before its end is one sentence, as the
# segmenter would find at many times the cost (most news paragraphs are one sentence);
# see _one_sentence.
_ONE_SENTENCE = re.compile(
    r"(?=[\w\"'(\[\u2018\u201c])[^.!?\u2026\n\r]*[.!?\u2026]?[\"')\]\u2019\u201d]*"
)
# A quotation that opens a paragraph and ends in a comma, then who said it: '"We won. It
# was hard," she said.' The segmenter reads no sentence end between quotation marks, nor
# after the comma; only plain words, figures and punctuation are taken inside.
_QUOTATION_FIRST = re.compile(r'"(?P<quoted>[A-Za-z0-9 ,;:$%&/?!.-]+),"(?= [A-Za-z])')
# What inside a quotation might read as a list item, an ellipsis or a dash: left to the
# segmenter ("A.", "iv.", "2.", "...", "--").
_MARK = r"(?<![A-Za-z0-9])(?:\d+|[A-Za-z]|[ivxlcdmIVXLCDM]+)"  # "2", "b", "iv" on its own
_LIST_LIKE = re.compile(rf"{_MARK}[.)]|--|\.\.")
# A list mark closed by a bracket, "(a)" or "2)", anywhere in a sentence.
_BRACKETED_MARK = re.compile(rf"{_MARK}\)")
# A title before a name: "Mr. Erdogan", "Dr. Jhung".
_TITLE_BEFORE_NAME = re.compile(r"(?<![\w.'\u2019-])(?:Mr|Mrs|Ms|Dr)\.(?= [A-Z][a-z])")
# Where a paragraph may be cut between sentences (see _pieces).
_CUT = re.compile(r"(?<![\w.'\u2019-])(?P<word>[A-Za-z][a-z]{2,}+)\. +(?=[\"\u201c]?[A-Z])")
# A list mark standing alone ("1.", "b)", "iv."): at the start, or after a blank space.
_LIST_MARK = re.compile(r"(?:\d{1,3}|[A-Za-z]|[ivxlcdmIVXLCDM]+)[.)](?!\S)")
_LIST_MARK_AFTER_BLANK = re.compile(rf"\s{_LIST_MARK.pattern}")
_ABBREVIATIONS = frozenset(
    word.lower()
    for word in (
        *Standard.Abbreviation.ABBREVIATIONS,
        *Standard.Abbreviation.PREPOSITIVE_ABBREVIATIONS,
        *Standard.Abbreviation.NUMBER_ABBREVIATIONS,
    )
)
# Prepositions that only place the date; removed together with it from a label.
_PLACING_WORDS = re.compile(r"(?:\b(?i:in|on|at|during|of|around|circa))?\s*$")
_KEPT_KINDS = frozenset(
    {"range", "modifier", "possessive", "fiscal", "quarter", "borrowed", "list"}
)
# A date followed by another joined to it ("in 2009 and 2012"): the sentence says both.
_JOINED_AFTER = re.compile(
    r"\s*(?:,\s*\d{4}(?=\s*(?:,|(?i:and|or)\b|[.;)]|$))|"
    r"(?i:and|or|to|through|until)\s+(?:the\s+)?\d|[-\u2013]\s*\d)"
)
_PLACING_TRIGGERS = frozenset({"in", "during", "around", "circa", "of the year", "the year"})
# Words that make the date part of what is said, or join it to another ("July and August").
_KEEPING_WORDS = re.compile(
    r"(?:\b(?i:since|by|until|till|before|after|from|between|throughout|and|or|to)|"
    r"[-\u2013\u2014])\s*$"
)
_LEADING_SEPARATOR = re.compile(r"^[\s,:;\u2013\u2014-]+")
_TRAILING_CLAUSE = re.compile(
    r",\s+(?:\w+ing|which|who|while|whereas|although|though|as well as)\b.*$", re.DOTALL
)
_ATTRIBUTION = re.compile(r"^(?:According to|As reported by|As announced by)\b[^,]*,\s*")
_TRAILING_PHRASE = re.compile(
    r"\s+(?:on|in|at|under|with|for|near|during|amid|after|as part of|across)\s+[^,;]*$"
)


def extract_timeline(
    blocks: Sequence[Block], published_at: str | None = None
) -> tuple[TimelineEvent, ...]:
    """Every dated event in the article, in chronological order.

    ``published_at`` (an ISO timestamp) resolves relative dates; without it
    only dates that carry their year are read.
    """
    anchor = anchor_of(published_at)
    events: list[TimelineEvent] = []
    seen: dict[tuple[str, str | None], list[frozenset[str]]] = {}
    for sentence, found_in_sentence in _sentences(blocks, anchor):
        for found in found_in_sentence:
            key = (found.date, found.qualifier)
            label = _label(sentence, found)
            if not label:
                continue
            words = _content_words(label)
            told = seen.setdefault(key, [])
            if any(_same_happening(words, other) for other in told):
                continue
            told.append(words)
            events.append(
                TimelineEvent(
                    date=found.date,
                    precision=found.precision,
                    qualifier=found.qualifier,
                    label=label,
                    sentence=sentence,
                )
            )
            if len(events) == MAX_EVENTS:
                return tuple(sorted(events, key=lambda event: event.sort_key))
    return tuple(sorted(events, key=lambda event: event.sort_key))


def _sentences(
    blocks: Sequence[Block], anchor: dt.date | None
) -> Iterator[tuple[str, list[Found]]]:
    """The sentences of the article that hold a date, each with the dates in it."""
    segmented = 0
    for block in blocks:
        if (hints := date_hints(block.text)) is None:
            continue
        is_bullet = block.kind == "bullet"
        if is_bullet and len(block.text) <= 2 * MAX_LABEL:
            if found := find_dates(block.text, anchor, True, hints):
                yield block.text, found
            continue
        if segmented >= SEGMENTED_PARAGRAPHS:
            for sentence in rough_sentences(block.text):
                if found := find_dates(sentence, anchor, is_bullet):
                    yield sentence, found
            continue
        counted = False
        # No date in a piece, no event: the segmenter never sees it.
        pieces = _pieces(block.text)
        for piece in pieces:
            known = hints if len(pieces) == 1 else None
            if not (found := find_dates(piece, anchor, is_bullet, known)):
                continue
            if _one_sentence(piece):
                yield piece, found  # nothing for the segmenter to split
                continue
            if not counted:
                segmented += 1
                counted = True
            for sentence in split_sentences(piece):
                if sentence == piece:
                    yield piece, found  # one sentence after all: its dates are known
                elif (known := date_hints(sentence)) is not None and (
                    found_in_sentence := find_dates(sentence, anchor, is_bullet, known)
                ):
                    yield sentence, found_in_sentence


def _pieces(text: str) -> list[str]:
    """A paragraph cut where every segmenter ends a sentence, so each piece is split alone.

    The segmenter's time grows with the text it reads; cut first, only the pieces
    that hold a date go through it. A cut is made only after a plain word (not an
    abbreviation the segmenter knows) and a period, before a capital, outside any
    quotation or bracket: there the segmenter always ends a sentence, and what it
    finds on each side does not depend on the other.
    """
    if ". " not in text and text == text.strip():
        return [text]  # no cut (see _CUT) to make
    if _has_list_mark(text) or not _balanced(text):
        return [text]  # the segmenter reads lists and quotations across the paragraph
    pieces: list[str] = []
    start = 0
    for cut in _CUT.finditer(text):
        word = cut.group("word").lower()
        before = text[start : cut.start()]
        if word in _ABBREVIATIONS or not _balanced(before):
            continue
        pieces.append(text[start : cut.end("word") + 1])
        start = cut.end()
    pieces.append(text[start:])
    return [piece.strip() for piece in pieces]


def _has_list_mark(text: str) -> bool:
    """Whether a list mark stands alone in the text, as the segmenter would read one."""
    return bool(_LIST_MARK.match(text) or _LIST_MARK_AFTER_BLANK.search(text))


def _one_sentence(text: str) -> bool:
    """Whether the segmenter would find one sentence: no sentence punctuation but a single
    mark at the end, and every quotation and bracket closed; or a quotation closed by a
    comma, then such a sentence (see _QUOTATION_FIRST)."""
    if text[:1] == '"' and (quotation := _QUOTATION_FIRST.match(text)):
        if _LIST_LIKE.search(quotation["quoted"]) or _has_list_mark(text):
            return False
        text = text[quotation.end() + 1 :]
        if '"' in text:
            return False
    if _BRACKETED_MARK.search(text):  # "(a)", "2)": the segmenter may cut after them
        return False
    text = _TITLE_BEFORE_NAME.sub("", text)  # the segmenter never ends a sentence there
    return _ONE_SENTENCE.fullmatch(text) is not None and _balanced(text)


def _balanced(text: str) -> bool:
    return (
        (text.count('"') + text.count("\u201c") + text.count("\u201d")) % 2 == 0
        and text.count("\u201c") == text.count("\u201d")
        and text.rfind("(") <= text.rfind(")")
        and text.count("(") == text.count(")")
        and text.rfind("[") <= text.rfind("]")
        and text.count("[") == text.count("]")
        and "'" not in text.replace("'s ", "").replace("n't", "").replace("s' ", "")
        and "\u2018" not in text
    )


_LABEL_WORD = re.compile(r"[a-z0-9]+")
_SPACE_BEFORE_MARK = re.compile(r"\s+([,.;:!?])")
_STOP_WORDS = frozenset(
    {
        "the", "a", "an", "and", "or", "of", "in", "on", "at", "to", "for", "with", "from", "by",
        "as", "that", "this", "these", "those", "it", "its", "is", "was", "were", "be", "been",
        "has", "have", "had", "said", "says", "will", "would", "their", "his", "her", "they",
        "he", "she", "we"
    }
)  # fmt: skip


def _content_words(label: str) -> frozenset[str]:
    return frozenset(
        word for word in _LABEL_WORD.findall(label.lower()) if word not in _STOP_WORDS
    )


def _same_happening(words: frozenset[str], other: frozenset[str]) -> bool:
    """Whether two labels of one date tell the same thing: half their words or more shared."""
    if not words or not other:
        return True
    return len(words & other) >= 0.5 * len(words | other)


def _label(sentence: str, found: Found) -> str:
    """What happened, in one short line: the sentence without its date and asides."""
    before, after = sentence[: found.start], sentence[found.end :]
    if found.relative or found.trigger in _KEPT_KINDS:
        text = sentence  # "last month", "2009-2010": what was written is what is shown
    elif found.trigger is not None and found.trigger not in _PLACING_TRIGGERS:
        text = sentence  # "since 2014", "by 2030": the date is part of what is said
    elif _KEEPING_WORDS.search(before) or _JOINED_AFTER.match(after):
        text = sentence  # "by mid-2023", "until May 2020"
    else:
        if found.trigger is not None:
            before = before[: before.lower().rfind(found.trigger)]
        before = _PLACING_WORDS.sub("", before)
        # With nothing before the date, the sentence opens "In May 2016, ...": drop the comma.
        text = before.rstrip() + after if before.strip() else _LEADING_SEPARATOR.sub("", after)
    text = " ".join(text.split())
    text = _SPACE_BEFORE_MARK.sub(r"\1", text)
    text = _ATTRIBUTION.sub("", text)
    if len((shorter := _TRAILING_CLAUSE.sub("", text)).split()) >= 4:
        text = shorter  # an aside at the end goes, unless it leaves only a subject
    text = text.strip(" ,;:.\u2013\u2014-")
    while len(text) > MAX_LABEL and (shorter := _TRAILING_PHRASE.sub("", text)) != text:
        text = shorter
    text = shorten(text, MAX_LABEL)
    if len(text) < 3:
        return ""
    return text[0].upper() + text[1:]
