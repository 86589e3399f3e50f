"""The timeline extractor as it was before publication dates were read (commit c824ee0).

Kept unchanged for ``bench/timeline.py``, which scores it next to the current one in
the same run; nothing else imports it.

Dated events found in an article's running text and bullet items.

A date is only taken when the text says it is one: a month or a day with its
year, a season or an early/mid/late period, or a bare year after a word that
makes it a time ("in 2022", "since 2014"). That rule is what keeps names and
figures out: "Aerospace Security 2016" and "2000 troops" have no such word,
and durations ("30 years") are not years at all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from storage.ingest.sentences import rough_sentences, split_sentences
from storage.models import Block, Precision, TimelineEvent
from storage.text import shorten

MAX_LABEL = 140
MAX_EVENTS = 100
# Paragraphs past this many (among those that mention a year) are split into
# sentences by punctuation alone: the segmenter costs about a millisecond a
# paragraph, and a book-length file should import in seconds, not minutes.
SEGMENTED_PARAGRAPHS = 1_000

_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
# Month names must be capitalised: "may" and "march" are also verbs.
_MONTH = (
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_QUALIFIER = (
    r"(?:(?P<qualifier>(?i:early|mid|late))(?:-|\s+)|"
    r"(?i:the\s+)?(?P<period>(?i:beginning|start|middle|end))\s+of\s+)"
)
_YEAR = r"(?P<year>\d{4})(?![\d,.]\d)"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_SEASON = r"(?P<season>(?i:spring|summer|autumn|fall|winter))"
_SEASON_QUALIFIER = r"(?:\b(?P<qualifier>(?i:early|mid|late))(?:-|\s+))?"
# Words that make a following bare year a point in time.
_TIME_WORDS = (
    r"(?P<trigger>(?i:in|since|by|during|until|till|from|before|after|throughout|around|"
    r"circa|between|of the year|the year))"
)
# What a figure that merely looks like a year is followed by.
_NOT_A_YEAR = (
    r"(?!\s*(?:%|per\s?cent|(?i:years?|months?|weeks?|days?|hours?|minutes?|seconds?|"
    r"people|persons|troops|soldiers|cases|times|units|tonnes|tons|dollars|euros|pounds|"
    r"votes|deaths|km|kilomet(?:re|er)s|miles|met(?:re|er)s|feet|members|employees|jobs)\b))"
)
# Mid-sentence, a plural noun straight after the figure ("in 1500 vehicles") counts things;
# at the start of a sentence ("In 2019 prices rose") the figure is a year.
_COUNTED = re.compile(r"\s+(?!(?:was|has|is|as|its|this|his|thus|whereas|less)\b)[a-z]+s\b")

_PATTERNS: tuple[tuple[Precision, re.Pattern[str]], ...] = (
    ("day", re.compile(r"\b(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})\b")),
    ("day", re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}")),
    ("day", re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}")),
    ("month", re.compile(rf"(?:\b{_QUALIFIER})?\b{_MONTH},?\s+(?:of\s+)?{_YEAR}")),
    ("year", re.compile(rf"{_SEASON_QUALIFIER}(?i:the\s+)?\b{_SEASON}\s+(?:of\s+)?{_YEAR}")),
    ("year", re.compile(rf"\b{_QUALIFIER}{_YEAR}")),
    ("year", re.compile(rf"\b{_TIME_WORDS}\s+{_YEAR}\b{_NOT_A_YEAR}")),
)
_BULLET_YEAR = re.compile(r"^\s*(?P<year>\d{4})\s*[:\u2013\u2014-]\s")
_HAS_YEAR = re.compile(r"\d{4}")

_PERIODS = {"beginning": "early", "start": "early", "middle": "mid", "end": "late"}
# Prepositions that only place the date; removed together with it from a label.
_PLACING_WORDS = re.compile(r"(?:\b(?i:in|on|at|during|of|around|circa))?\s*$")
_PLACING_TRIGGERS = frozenset({"in", "during", "around", "circa", "of the year", "the year"})
_KEEPING_WORDS = re.compile(r"\b(?i:since|by|until|till|before|after|from|between|throughout)\s*$")
_LEADING_SEPARATOR = re.compile(r"^[\s,:;\u2013\u2014-]+")
_TRAILING_CLAUSE = re.compile(
    r",\s+(?:\w+ing|which|who|while|whereas|although|though|as well as)\b.*$", re.DOTALL
)
_ATTRIBUTION = re.compile(r"^(?:According to|As reported by|As announced by)\b[^,]*,\s*")
_TRAILING_PHRASE = re.compile(
    r"\s+(?:on|in|at|under|with|for|near|during|amid|after|as part of|across)\s+[^,;]*$"
)


@dataclass(frozen=True, slots=True)
class _Found:
    start: int
    end: int
    date: str
    precision: Precision
    qualifier: str | None
    trigger: str | None


def extract_timeline(blocks: Sequence[Block]) -> tuple[TimelineEvent, ...]:
    """Every dated event in the article, once each, in chronological order."""
    events: dict[tuple[str, str | None], TimelineEvent] = {}
    found_all = (
        (sentence, found)
        for sentence, is_bullet in _sentences(blocks)
        for found in _dates(sentence, is_bullet)
    )
    for sentence, found in found_all:
        key = (found.date, found.qualifier)
        if key in events:
            continue
        label = _label(sentence, found)
        if not label:
            continue
        events[key] = TimelineEvent(
            date=found.date,
            precision=found.precision,
            qualifier=found.qualifier,
            label=label,
            sentence=sentence,
        )
        if len(events) == MAX_EVENTS:
            break
    return tuple(sorted(events.values(), key=lambda event: event.sort_key))


def _sentences(blocks: Sequence[Block]) -> Iterator[tuple[str, bool]]:
    segmented = 0
    for block in blocks:
        if not _HAS_YEAR.search(block.text):
            continue  # no year, no event: spare the segmenter
        if block.kind == "bullet" and len(block.text) <= 2 * MAX_LABEL:
            yield block.text, True
            continue
        segmented += 1
        split = split_sentences if segmented <= SEGMENTED_PARAGRAPHS else rough_sentences
        for sentence in split(block.text):
            if _HAS_YEAR.search(sentence):
                yield sentence, block.kind == "bullet"


def _dates(sentence: str, is_bullet: bool) -> Iterator[_Found]:
    taken: list[tuple[int, int]] = []
    found: list[_Found] = []
    if is_bullet and (match := _BULLET_YEAR.match(sentence)):
        start, end = match.span("year")
        year = int(match["year"])
        if _plausible(year):
            taken.append((start, end))
            found.append(_Found(start, end, f"{year:04d}", "year", None, None))
    for precision, pattern in _PATTERNS:
        for match in pattern.finditer(sentence):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            item = _found(match, precision)
            taken.append((start, end))  # an impossible date is not read again as a month
            if item is not None:
                found.append(item)
    yield from sorted(found, key=lambda item: item.start)


def _found(match: re.Match[str], precision: Precision) -> _Found | None:
    groups = match.groupdict()
    year = int(groups["year"])
    if not _plausible(year):
        return None
    month = _MONTH_NUMBERS[groups["month"].lower()] if groups.get("month") else None
    if groups.get("mnum"):
        month = int(groups["mnum"])
    qualifier = groups.get("qualifier")
    qualifier = (
        qualifier.lower() if qualifier else _PERIODS.get((groups.get("period") or "").lower())
    )
    season = groups.get("season")
    if season:
        qualifier = "autumn" if season.lower() == "fall" else season.lower()
    trigger = groups.get("trigger")
    if trigger and trigger[0].islower() and _COUNTED.match(match.string, match.end()):
        return None
    # A bare year's span is the year alone; its time word stays for the label to judge.
    start = match.start("year") if trigger else match.start()
    trigger = " ".join(trigger.lower().split()) if trigger else None
    if precision == "day":
        try:
            day = dt.date(year, month or 0, int(groups["day"]))
        except ValueError:
            return None
        return _Found(start, match.end(), day.isoformat(), "day", None, trigger)
    if precision == "month":
        return _Found(start, match.end(), f"{year:04d}-{month:02d}", "month", qualifier, trigger)
    return _Found(start, match.end(), f"{year:04d}", "year", qualifier, trigger)


def _plausible(year: int) -> bool:
    return 1000 <= year <= 2199


def _label(sentence: str, found: _Found) -> str:
    """What happened, in one short line: the sentence without its date and asides."""
    before, after = sentence[: found.start], sentence[found.end :]
    if found.trigger is not None and found.trigger not in _PLACING_TRIGGERS:
        text = sentence  # "since 2014", "by 2030": the date is part of what is said
    elif _KEEPING_WORDS.search(before):
        text = sentence  # "by mid-2023", "until May 2020"
    else:
        if found.trigger is not None:
            before = before[: before.lower().rfind(found.trigger)]
        before = _PLACING_WORDS.sub("", before)
        # With nothing before the date, the sentence opens "In May 2016, ...": drop the comma.
        text = before.rstrip() + after if before.strip() else _LEADING_SEPARATOR.sub("", after)
    text = " ".join(text.split())
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = _ATTRIBUTION.sub("", text)
    text = _TRAILING_CLAUSE.sub("", text)
    text = text.strip(" ,;:.\u2013\u2014-")
    while len(text) > MAX_LABEL and (shorter := _TRAILING_PHRASE.sub("", text)) != text:
        text = shorter
    text = shorten(text, MAX_LABEL)
    if len(text) < 3:
        return ""
    return text[0].upper() + text[1:]
