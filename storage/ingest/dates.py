"""Dates in a sentence, read as a reader of the news reads them.

Two kinds of date are found:

* **explicit** ones, which carry their year: "3 December 2025", "May 2016",
  "mid-2019", "in 2022", "a 2010 raid", "2009-2010", "fiscal 2013";
* **relative** ones, which need the day the article was published: "on
  Tuesday", "yesterday", "last month", "two years ago", "in July", "Sept. 18".

A relative date is resolved against the publication date (the *anchor*) and
the sentence's tense: "on Tuesday" is the Tuesday before publication unless the
words near it speak of the future ("will meet on Tuesday", "is expected
Tuesday"). Without an anchor, relative dates are recognised (so nothing else
reads them) but give no date. A date keeps the precision the text gives: a
weekday is a day, "last month" a month, "last year" a year; a week is the
Monday that starts it with the qualifier ``week``.

What no reader would call a date stays out: years that are part of a name
("Aerospace Security 2016") or a figure ("2000 troops"), durations ("30
years", "the first time in two years"), decades ("the late 1980s") and
centuries, and "today" in the sense of "nowadays".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from storage.ingest.datewords import (
    _BE,
    _CLAUSE_END,
    _COUNTED,
    _DATE_HINTS,
    _DAY,
    _DURATION_BEFORE,
    _EXPLICIT,
    _FIGURES_FOLLOW,
    _FUTURE_WORDS,
    _MONTH,
    _NAME_AFTER,
    _NAME_BEFORE,
    _NAMED_DAYS,
    _NOT_A_YEAR,
    _NOT_PAST_ED,
    _NUMBER_WORDS,
    _OWNED,
    _PASSIVE,
    _PAST_WORDS,
    _PERIODS,
    _QUARTERS,
    _RANGE_GAP,
    _RELATIVE,
    _SEASON_MONTHS,
    _THE_BEFORE,
    _TODAY_AS_DAY,
    _TODAY_AS_DAY_AFTER,
    _WORD,
    _WORD_AFTER,
    _YEAR,
    MONTH_NUMBERS,
    WEEKDAYS,
    _hints,
)
from storage.models import Precision

_Value = tuple[str, Precision, str | None]  # date, precision, qualifier


@dataclass(frozen=True, slots=True)
class Found:
    """A date in a sentence: where it is, its value, and how it was written."""

    start: int
    end: int
    date: str
    precision: Precision
    qualifier: str | None
    trigger: str | None  # the word that made a bare year a date ("in", "since") or a kind
    relative: bool = False


def anchor_of(published_at: str | None) -> dt.date | None:
    """The day an article was published, from its ISO timestamp; None when unknown."""
    if not published_at:
        return None
    try:
        return dt.date.fromisoformat(published_at[:10])
    except ValueError:
        return None


_DATE_LINE = re.compile(
    r"(?:(?i:published|updated|posted|dated?)\s*:?\s+)?"
    r"(?:(?P<weekday>[A-Za-z]+day),?\s+)?"
    rf"(?:{_DAY}\s+{_MONTH},?\s+{_YEAR}|{_MONTH.replace('month', 'month2')}\s+"
    r"(?P<day2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year2>\d{4})|"
    r"(?P<iso>\d{4}-\d{2}-\d{2})(?P<time>[T ]\d{2}:\d{2}(?::\d{2})?"
    r"(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?)\.?"
)


def date_line(line: str) -> str | None:
    """The publication date a line gives as the whole of it, as an ISO timestamp (UTC).

    ``5 December 2025``, ``December 5, 2025``, ``Friday, 5 December 2025``,
    ``2025-12-05`` and ``2025-12-05T10:30:00Z`` (a time with its offset) are dates;
    a date alone is midnight UTC that day. Anything else, or an impossible
    date, is None.
    """
    match = _DATE_LINE.fullmatch(line.strip())
    if match is None:
        return None
    if match["weekday"] and match["weekday"].lower() not in WEEKDAYS:
        return None
    try:
        if match["iso"]:
            day = dt.date.fromisoformat(match["iso"])
            if match["time"]:
                moment = dt.datetime.fromisoformat(f"{match['iso']}T{match['time'][1:]}")
                if moment.tzinfo is not None:
                    moment = moment.astimezone(dt.UTC)
                return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            year = int(match["year"] or match["year2"])
            month = MONTH_NUMBERS[(match["month"] or match["month2"]).lower()]
            day = dt.date(year, month, int(match["day"] or match["day2"]))
    except ValueError:
        return None
    return f"{day.isoformat()}T00:00:00Z"


def date_hints(text: str) -> set[str] | None:
    """What dates in a text could be made of (for ``find_dates``); None when it holds none."""
    hints = _hints(text)
    return None if _DATE_HINTS.isdisjoint(hints) else hints


def find_dates(
    sentence: str, anchor: dt.date | None, is_bullet: bool = False, hints: set[str] | None = None
) -> list[Found]:
    """Every date in one sentence, in the order written (``hints``: the sentence's, if known)."""
    hints = _hints(sentence) if hints is None else hints
    if not hints:
        return []
    taken: list[tuple[int, int]] = []
    found: list[Found] = []

    def free(start: int, end: int) -> bool:
        return not any(start < t_end and t_start < end for t_start, t_end in taken)

    if is_bullet and (match := _BULLET_YEAR.match(sentence)):
        year = int(match["year"])
        if _plausible(year):
            taken.append(match.span("year"))
            found.append(Found(*match.span("year"), f"{year:04d}", "year", None, None))
    for kind, needs, pattern in _EXPLICIT:
        if not hints.issuperset(needs):
            continue
        for match in pattern.finditer(sentence):
            if not free(*match.span()):
                continue
            item = _explicit(kind, match, anchor)
            if kind in ("modifier", "possessive") and item is None:
                continue  # not a year after all: the figure stays free for other readings
            taken.append(match.span())  # an impossible date is not read again as a month
            if item is not None:
                found.append(item)
    _years_in_lists(sentence, found, taken)
    for kind, needs, pattern in _RELATIVE:
        if not hints.issuperset(needs):
            continue
        for match in pattern.finditer(sentence):
            if not free(*match.span()):
                continue
            reading = _relative(kind, match, anchor, found)
            if reading is False:
                continue
            taken.append(match.span())
            if isinstance(reading, Found):
                found.append(reading)
    return sorted(found, key=lambda item: item.start)


def _years_in_lists(sentence: str, found: list[Found], taken: list[tuple[int, int]]) -> None:
    """Years that follow a date in a list: the 2012 of "in 2009 and 2012", "2007, 2008"."""
    for item in list(found):
        if item.precision != "year":
            continue
        end = item.end
        while (
            (match := _LISTED_YEAR.match(sentence, end) or _LISTED_LAST.match(sentence, end))
            and _plausible(int(match["year"]))
            and not _COUNTED.match(sentence, match.end())
        ):
            year_span = match.span("year")
            if any(year_span[0] < t_end and t_start < year_span[1] for t_start, t_end in taken):
                break
            taken.append(year_span)
            found.append(Found(*year_span, match["year"], "year", None, "list"))
            end = match.end()


# "2007, 2008 and 2010": a year after a comma is listed only if the list goes on or ends.
_LISTED_YEAR = re.compile(rf",\s+{_YEAR}(?=\s*(?:,|(?i:and|or)\b|[.;)]|$))")
_LISTED_LAST = re.compile(rf",?\s+(?i:and|or)\s+{_YEAR}\b{_NOT_A_YEAR}")
_BULLET_YEAR = re.compile(r"^\s*(?P<year>\d{4})\s*[:\u2013\u2014-]\s")


def _plausible(year: int) -> bool:
    return 1000 <= year <= 2199


def _explicit(kind: str, match: re.Match[str], anchor: dt.date | None) -> Found | None:
    groups = match.groupdict()
    if kind == "decade":
        return None  # a decade is no date a timeline can place
    year = int(groups["year"])
    if not _plausible(year):
        return None
    start, end = match.span()
    if kind in ("modifier", "possessive"):
        latest = (anchor.year if anchor else dt.date.today().year) + 30
        if not 1900 <= year <= latest:
            return None
        singular = (groups.get("det") or "").lower() in ("a", "an")
        if kind == "modifier" and not singular and _COUNTED.match(match.string, match.end()):
            return None  # "the 2000 soldiers" counts them; "a 2009 analysis" is one
        return Found(match.start("year"), match.end("year"), f"{year:04d}", "year", None, kind)
    if kind == "range":
        end_text = groups["end"]
        last = int(end_text) if len(end_text) == 4 else year // 100 * 100 + int(end_text)
        if not year < last <= year + 50 or year < 1800:
            return None
        if _FIGURES_FOLLOW.match(match.string, end) or (
            groups.get("trigger") is None and _COUNTED.match(match.string, end)
        ):
            return None
        start = match.start("year")
        return Found(start, end, f"{year:04d}", "year", None, "range")
    if kind == "fiscal":
        return Found(start, end, f"{year:04d}", "year", None, "fiscal")
    if kind == "quarter":
        quarter = _QUARTERS[groups["quarter"].lower()]
        return Found(start, end, f"{year:04d}", "year", quarter, "quarter")
    month = MONTH_NUMBERS[groups["month"].lower()] if groups.get("month") else None
    if groups.get("mnum"):
        month = int(groups["mnum"])
    qualifier = groups.get("qualifier")
    qualifier = (
        qualifier.lower() if qualifier else _PERIODS.get((groups.get("period") or "").lower())
    )
    if groups.get("season"):
        season = groups["season"].lower()
        qualifier = "autumn" if season == "fall" else season
    trigger = groups.get("trigger")
    if trigger and trigger[0].islower() and _COUNTED.match(match.string, match.end()):
        return None
    # A bare year's span is the year alone; its time word stays for the label to judge.
    if trigger:
        start = match.start("year")
        trigger = " ".join(trigger.lower().split())
    if kind in ("iso", "day"):
        try:
            day = dt.date(year, month or 0, int(groups["day"]))
        except ValueError:
            return None
        return Found(start, end, day.isoformat(), "day", None, trigger)
    if kind == "month":
        return Found(start, end, f"{year:04d}-{month:02d}", "month", qualifier, trigger)
    return Found(start, end, f"{year:04d}", "year", qualifier, trigger)


def _relative(
    kind: str, match: re.Match[str], anchor: dt.date | None, explicit: list[Found]
) -> Found | bool | None:
    """A relative date resolved; None when it cannot be (no anchor), False when not a date.

    True means the words are a date that makes no event of its own (the end of a range
    an explicit date opens, "from May 2014 to June"): taken, but no event.
    """
    groups = match.groupdict()
    sentence = match.string
    start, end = match.span()
    if kind == "weekday":
        if _NAMED_DAYS.search(sentence, 0, match.start("weekday")):
            return False
        if _OWNED.search(sentence, 0, start) or (
            not groups.get("which") and _NAME_AFTER.match(sentence, match.end())
        ):
            return False  # "his Tuesday column", "the Sunday Times": a habit or a name
        if groups.get("which") and groups["which"].lower() == "on":
            start = match.start("weekday")  # "on" places the date: the label may drop it
    if kind == "day_word":
        word = groups["word"].lower()
        if word == "today" and not (
            _TODAY_AS_DAY.search(sentence, 0, start) or _TODAY_AS_DAY_AFTER.match(sentence[end:])
        ):
            return False
    if kind == "month":
        prep = (groups.get("prep") or "").lower()
        if not prep and not groups.get("qualifier"):
            return False  # a bare month name: "May" may be a name or a verb
        if prep in ("and", "to", "or", "of") and _NAME_BEFORE.search(sentence, 0, start):
            return False
        if _NAME_AFTER.match(sentence, end):
            return False  # "April Ryan", "by Jan Koum": a name
        if prep == "of" and not groups.get("qualifier"):
            # "the end of May" is a date; "the Ides of March", "a fund of May" are not
            before = sentence[max(0, start - 12) : start].lower()
            if not _PERIOD_OF.search(before):
                return False
        if _ends_a_range(sentence, match.start("month"), explicit):
            return True  # "from May 2014 to June": the range is dated by its start
        borrowed = _year_from_next(sentence, end, explicit)
        if borrowed is not None:
            month = MONTH_NUMBERS[groups["month"].lower()]
            qualifier = (groups.get("qualifier") or "").lower() or None
            return Found(
                match.start("month") if not qualifier else start,
                end,
                f"{borrowed:04d}-{month:02d}",
                "month",
                qualifier if qualifier in ("early", "mid", "late") else None,
                "borrowed",
            )
    if kind in ("month_day", "day_month"):
        if _NAME_BEFORE.search(sentence, 0, start) and groups["month"] == "May":
            return False
        if _THE_BEFORE.search(sentence, 0, start) and _WORD_AFTER.match(sentence, end):
            return False  # "the Sept. 11 attacks", "the July 4 parade": a name of its own
        if _ends_a_range(sentence, start, explicit):
            return True
        borrowed = _year_from_next(sentence, end, explicit)
        if borrowed is not None:
            try:
                day = dt.date(borrowed, MONTH_NUMBERS[groups["month"].lower()], int(groups["day"]))
            except ValueError:
                return False
            return Found(start, end, day.isoformat(), "day", None, "borrowed")
    if kind == "in_n" and (
        _DURATION_BEFORE.search(sentence, 0, start) or not _speaks_of_future(sentence, start, end)
    ):
        return False
    if anchor is None:
        return None
    return _resolve(kind, match, anchor, start, end)


_PERIOD_OF = re.compile(r"\b(?:end|start|beginning|middle|month)\s*$")
# What may come between dates that share the year of the last: "July and August 2012".
_RUN_OF_DATES = re.compile(
    r"\s*(?:,|-|\u2013|and|or|to|through|until|till)?\s*(?:(?:the\s+)?\d{1,2}"
    r"(?:st|nd|rd|th)?\s*(?:,|and|-|\u2013|to)?\s*)*",
    re.IGNORECASE,
)


def _year_from_next(sentence: str, end: int, explicit: list[Found]) -> int | None:
    """The year of an explicit date that closes a run of dates: "July and August 2012"."""
    for item in explicit:
        if item.start >= end and _RUN_OF_DATES.fullmatch(sentence[end : item.start]):
            return int(item.date[:4])
    return None


def _ends_a_range(sentence: str, start: int, explicit: list[Found]) -> bool:
    """Whether a date without a year closes a range an explicit date opens."""
    return any(
        item.end <= start and _RANGE_GAP.fullmatch(sentence, item.end, start) for item in explicit
    )


def _resolve(
    kind: str, match: re.Match[str], anchor: dt.date, start: int, end: int
) -> Found | bool | None:
    groups = match.groupdict()
    sentence = match.string

    def found(date: str, precision: Precision, qualifier: str | None = None) -> Found:
        return Found(start, end, date, precision, qualifier, kind, relative=True)

    if kind == "season":
        season = groups["season"].lower()
        first, last = _SEASON_MONTHS[season]
        which = groups["which"].lower()
        year = anchor.year
        if which == "last" and anchor.month <= last:
            year -= 1  # the season has not ended this year: the last one was a year ago
        elif which == "next" and anchor.month >= first:
            year += 1
        return found(f"{year:04d}", "year", "autumn" if season == "fall" else season)
    if kind == "day_word":
        word = groups["word"].lower()
        shift = {"yesterday": -1, "tomorrow": 1}.get(word, 0)
        return found((anchor + dt.timedelta(days=shift)).isoformat(), "day")
    if kind == "weekday":
        weekday = WEEKDAYS.index(groups["weekday"].lower())
        which = (groups.get("which") or "").lower()
        if which == "last" or (
            which not in ("next", "coming") and not _speaks_of_future(sentence, start, end)
        ):
            back = (anchor.weekday() - weekday) % 7 or (7 if which == "last" else 0)
            day = anchor - dt.timedelta(days=back)
        else:
            ahead = (weekday - anchor.weekday()) % 7 or (7 if which == "next" else 0)
            day = anchor + dt.timedelta(days=ahead)
        return found(day.isoformat(), "day")
    if kind in ("ago", "in_n"):
        count = _count(groups["count"])
        if count is None or count > 200:
            return False
        unit = groups["unit"].lower().rstrip("s")
        sign = -1 if kind == "ago" else 1
        return found(*value) if (value := _shifted(anchor, unit, sign * count)) else False
    if kind == "named":
        which = groups["which"].lower()
        unit = groups["unit"].lower()
        if which in ("past", "coming") and unit != "week":
            return False  # "the past year" is a duration
        shift = {"last": -1, "past": -1, "next": 1, "coming": 1}.get(which, 0)
        value = _shifted(anchor, unit, shift)
        if value is None:
            return False
        qualifier = (groups.get("qualifier") or "").lower()
        if qualifier in ("early", "mid", "late") and unit != "week":
            return found(value[0], value[1], qualifier)
        return found(*value)
    month = MONTH_NUMBERS[groups["month"].lower()]
    prep = (groups.get("prep") or "").lower()
    future = prep == "next" or (prep != "last" and _speaks_of_future(sentence, start, end))
    if prep == "last":
        year = anchor.year if month < anchor.month else anchor.year - 1
    elif prep == "next":
        year = anchor.year if month > anchor.month else anchor.year + 1
    elif prep == "this":
        year = anchor.year
    elif kind == "month":
        year = (
            anchor.year + (month < anchor.month)
            if future
            else anchor.year - (month > anchor.month)
        )
    else:
        try:
            day_in_year = dt.date(anchor.year, month, int(groups["day"]))
        except ValueError:
            return False
        if future:
            year = anchor.year + (day_in_year < anchor)
        else:
            year = anchor.year - (day_in_year > anchor)
    if kind == "month":
        qualifier = (groups.get("qualifier") or "").lower() or None
        return found(f"{year:04d}-{month:02d}", "month", qualifier)
    try:
        return found(dt.date(year, month, int(groups["day"])).isoformat(), "day")
    except ValueError:
        return False  # 29 February in a year without one


def _shifted(anchor: dt.date, unit: str, count: int) -> _Value | None:
    """The day, week, month or year ``count`` units from the anchor's."""
    if unit == "day":
        return (anchor + dt.timedelta(days=count)).isoformat(), "day", None
    if unit == "week":
        monday = anchor - dt.timedelta(days=anchor.weekday()) + dt.timedelta(weeks=count)
        return monday.isoformat(), "day", "week"
    if unit == "month":
        index = anchor.year * 12 + anchor.month - 1 + count
        return f"{index // 12:04d}-{index % 12 + 1:02d}", "month", None
    year = anchor.year + count
    return (f"{year:04d}", "year", None) if _plausible(year) else None


def _count(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return _NUMBER_WORDS.get(text.lower())


def _speaks_of_future(sentence: str, start: int, end: int) -> bool:
    """Whether the verb nearest the date speaks of the future ("will meet on Tuesday")."""
    cut = max((m.end() for m in _CLAUSE_END.finditer(sentence, 0, start)), default=0)
    stop = _CLAUSE_END.search(sentence, end)
    before = [w.lower() for w in _WORD.findall(sentence, cut, start)[-8:]]
    following = _WORD.findall(sentence, end, stop.start() if stop else len(sentence))
    after = [w.lower() for w in following[:8]]
    nearest: tuple[int, bool] | None = None
    for distance, word in enumerate(reversed(before)):
        previous = before[-distance - 2] if distance + 1 < len(before) else ""
        if previous in _PASSIVE:
            continue  # "to be published", "has been held": the auxiliary's tense decides
        if word == "set" and previous in _BE:
            nearest = (distance, True)  # "is set for June 5"
            break
        if (tense := _tense(word)) is not None:
            nearest = (distance, tense)
            break
    for distance, word in enumerate(after):
        if nearest is not None and distance >= nearest[0]:
            break
        if distance > 0 and after[distance - 1] in _PASSIVE:
            continue
        if (tense := _tense(word)) is not None:
            nearest = (distance, tense)
            break
    return nearest is not None and nearest[1]


def _tense(word: str) -> bool | None:
    """True for a word of the future, False for one of the past, None for neither."""
    if word in _FUTURE_WORDS or word.endswith("'ll"):
        return True
    if word in _PAST_WORDS or (len(word) > 4 and word.endswith("ed") and word not in _NOT_PAST_ED):
        return False
    return None
