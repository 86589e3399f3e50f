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

from storage.models import Precision

_MONTHS = (
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
)
MONTH_NUMBERS = {name: number for number, names in enumerate(_MONTHS, 1) for name in names}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
}  # fmt: skip
_QUARTERS = {"first": "early", "second": "mid", "third": "mid", "fourth": "late"}
_QUARTERS.update({"1st": "early", "2nd": "mid", "3rd": "mid", "4th": "late"})
_QUARTERS.update({"q1": "early", "q2": "mid", "q3": "mid", "q4": "late"})
_PERIODS = {"beginning": "early", "start": "early", "middle": "mid", "end": "late"}

# Month names must be capitalised: "may" and "march" are also verbs.
_MONTH = (
    r"(?P<month>January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
)
_WEEKDAY = r"(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_QUALIFIER = (
    r"(?:(?P<qualifier>(?i:early|mid|late))(?:-|\s+)|"
    r"(?i:the\s+)?(?P<period>(?i:beginning|start|middle|end))\s+of\s+(?:the\s+)?)"
)
# A year: four digits that are not part of a longer figure, a decade ("1980s") or a span
# of figures ("2000-2500"; a span of years is read as a range first).
_YEAR = r"(?P<year>\d{4})(?![\d,.]\d|s\b|\s*[-\u2013]\s*\d)"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?![\d:.,]\d)"
_SEASON = r"(?P<season>(?i:spring|summer|autumn|fall|winter))"
_SEASON_QUALIFIER = r"(?:\b(?P<qualifier>(?i:early|mid|late))(?:-|\s+))?"
# Words that make a following bare year a point in time.
_TIME_WORDS = (
    r"(?P<trigger>(?i:in|since|by|during|until|till|from|before|after|throughout|around|"
    r"circa|between|of the year|the year|as of|as early as|as late as|through|starting))"
)
# What a figure that merely looks like a year is followed by.
_NOT_A_YEAR = (
    r"(?!\s*(?:%|per\s?cent|(?i:years?|months?|weeks?|days?|hours?|minutes?|seconds?|"
    r"people|persons|troops|soldiers|cases|times|units|tonnes|tons|dollars|euros|pounds|"
    r"votes|deaths|km|kilomet(?:re|er)s|miles|met(?:re|er)s|feet|members|employees|jobs|"
    r"acres|hectares|barrels|shares|points|yards|calories|words|pages|rpm|mph)\b))"
)
_FIGURES_FOLLOW = re.compile(_NOT_A_YEAR.replace("(?!", "(?=", 1))
# Mid-sentence, a plural noun straight after the figure ("in 1500 vehicles") counts things;
# at the start of a sentence ("In 2019 prices rose") the figure is a year.
_COUNTED = re.compile(r"\s+(?!(?:was|has|is|as|its|this|his|thus|whereas|less)\b)[a-z]+s\b")
# Words before a year that make it a modifier of what follows: "a 2010 raid", "his 2007 run".
_DETERMINER = r"(?P<det>\b(?i:a|an|the|his|her|its|their|our|my|your|this|that|whose))"
# Names in which a weekday is not a date: "Good Friday", "Super Tuesday".
_NAMED_DAYS = re.compile(
    r"\b(?:Good|Black|Ash|Holy|Maundy|Cyber|Super|Bloody|Fat|Shrove|Easter|Palm|Great|"
    r"Whit|Giving|Plough|Mad|Manic|Blue|Casual|Freaky)\s+$"
)
_NUMBER = (
    r"(?P<count>\d{1,3}|(?i:a|an|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"eleven|twelve|fifteen|twenty|thirty|forty|fifty))"
)
_UNIT = r"(?P<unit>(?i:days?|weeks?|months?|years?))"

# What the first character of a date can be, put before a rule to skip quickly the places
# where none can start; it never changes what a rule finds. Letters are ASCII ones and the
# four characters that match one when case is ignored (\u0130, \u0131, \u017f, \u212a).
_LETTER = "A-Za-z\u0130\u0131\u017f\u212a"
_STARTS_WITH_A_WORD = rf"\b(?=[{_LETTER}])"
_STARTS_WITH_A_WORD_OR_FIGURE = rf"\b(?=[\d{_LETTER}])"


def _quick(start: str, pattern: str) -> re.Pattern[str]:
    """A rule whose every match begins as ``start`` says, compiled with that test first."""
    return re.compile(start + pattern)


# Explicit dates, longest forms first; a span taken by one is not read again by the next.
_EXPLICIT: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("iso", ("year",), re.compile(r"\b(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})\b")),
    ("day", ("year", "month"), re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}")),
    ("day", ("year", "month"), re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}")),
    (
        "month",
        ("year", "month"),
        _quick(_STARTS_WITH_A_WORD, rf"(?:\b{_QUALIFIER})?\b{_MONTH},?\s+(?:of\s+)?{_YEAR}"),
    ),
    (
        "season",
        ("year", "season"),
        _quick(
            f"(?=[{_LETTER}])",  # "the" may start a match inside a word
            rf"{_SEASON_QUALIFIER}(?i:the\s+)?\b{_SEASON}\s+(?:of\s+)?{_YEAR}",
        ),
    ),
    (
        "quarter",
        ("year", "quarter"),
        re.compile(
            r"\b(?i:the\s+)?(?P<quarter>(?i:first|second|third|fourth|1st|2nd|3rd|4th))"
            rf"(?:\s+|-)(?i:quarter)\s+(?:of\s+)?(?i:(?:fiscal|the)\s+)?(?:year\s+)?{_YEAR}"
        ),
    ),
    ("quarter", ("year", "quarter"), re.compile(rf"\b(?P<quarter>Q[1-4])\s+{_YEAR}\b")),
    ("fiscal", ("year", "fiscal"), re.compile(rf"\b(?i:fiscal(?:\s+year)?|FY)\s*'?{_YEAR}\b")),
    (
        "decade",
        ("decade",),
        re.compile(
            r"(?:\b(?i:early|mid|late)(?:-|\s+))?(?:\b\d{3}0|'\d0)s\b"
            r"|\b(?i:the|early|mid|late)(?:-|\s+)\d{3}0's\b"
        ),
    ),
    (
        "range",
        ("year",),
        _quick(
            _STARTS_WITH_A_WORD_OR_FIGURE,
            rf"(?:\b{_TIME_WORDS}\s+|\b)(?P<year>(?:1[89]|20)\d\d)\s*"
            r"(?:-|\u2013|\u2014|/|(?i:to|through|until)\s)\s*"
            r"(?P<end>(?:1[89]|20)\d\d|\d\d)\b(?![\d,.]\d)",
        ),
    ),
    (
        "range",  # "between 2009 and 2012"; "in 2009 and 2012" names two years
        ("year",),
        re.compile(
            r"\b(?P<trigger>(?i:between))\s+(?P<year>(?:1[89]|20)\d\d)\s+(?i:and)\s+"
            r"(?P<end>(?:1[89]|20)\d\d)\b(?![\d,.]\d)"
        ),
    ),
    ("year", ("year",), _quick(_STARTS_WITH_A_WORD, rf"\b{_QUALIFIER}{_YEAR}")),
    (
        "year",
        ("year",),
        _quick(_STARTS_WITH_A_WORD, rf"\b{_TIME_WORDS}\s+{_YEAR}\b{_NOT_A_YEAR}"),
    ),
    (
        "modifier",
        ("year",),
        _quick(
            _STARTS_WITH_A_WORD, rf"{_DETERMINER}\s+{_YEAR}\b(?!-)(?=\s+[A-Za-z]){_NOT_A_YEAR}"
        ),
    ),
    ("possessive", ("year",), re.compile(rf"\b{_YEAR}(?:'s|\u2019s)\s+(?=[a-z])")),
)

# Relative dates: found only where no explicit date was.
_RELATIVE: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "ago",
        ("ago",),
        _quick(
            _STARTS_WITH_A_WORD_OR_FIGURE,
            rf"\b(?:(?i:about|nearly|almost|some|roughly|just|more than|less than)\s+)?"
            rf"{_NUMBER}\s+{_UNIT}\s+(?i:ago)\b",
        ),
    ),
    (
        "in_n",
        ("unit",),
        re.compile(rf"\b(?i:in)\s+{_NUMBER}\s+{_UNIT}(?:'|\u2019)?(?:\s+(?i:time))?\b"),
    ),
    (
        "named",
        ("unit", "which"),
        _quick(
            _STARTS_WITH_A_WORD,
            r"(?:\b(?P<qualifier>(?i:early|mid|late|earlier|later))(?:-|\s+)(?:(?i:in)\s+)?)?"
            # "the next year" follows the story, not the publication; "the past year"
            # is a duration; "the past week" and "the coming week" are weeks.
            r"\b(?P<which>(?<![Tt]he )(?i:this|last|next)|"
            r"(?<=[Tt]he )(?i:past|coming|last)(?=\s+(?i:week)\b))\s+"
            r"(?:(?P<fiscal>(?i:fiscal))\s+)?(?P<unit>(?i:week|month|year))\b",
        ),
    ),
    (
        "month_day",
        ("month",),
        re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?!\s*(?:,\s*)?\d)(?!\s*(?:%|per|-|\u2013))"),
    ),
    (
        "day_month",
        ("month",),
        re.compile(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?!\s*,?\s*\d)"),
    ),
    (
        "month",
        ("month",),
        _quick(
            _STARTS_WITH_A_WORD,
            r"(?:\b(?P<qualifier>(?i:early|mid|late))(?:-|\s+)(?:(?i:in)\s+)?)?"
            r"(?:\b(?P<prep>(?i:in|since|by|until|till|from|through|during|before|after|"
            r"last|next|this|of|between|and|to|or|throughout))"
            r"(?:-|\s+))?"
            rf"\b{_MONTH}\b(?!\s*\d)",
        ),
    ),
    (
        "weekday",
        ("weekday",),
        _quick(
            _STARTS_WITH_A_WORD,
            rf"(?:\b(?P<which>(?i:last|next|this|on|coming|past))\s+)?\b{_WEEKDAY}"
            r"(?:'s|\u2019s)?(?![a-z])",
        ),
    ),
    (
        "day_word",
        ("day_word",),
        re.compile(r"\b(?P<word>(?i:yesterday|tomorrow|tonight|today))(?:'s)?\b"),
    ),
    (
        "season",  # "last summer"; a winter runs into the next year, so it is left alone
        ("season", "which"),
        _quick(
            _STARTS_WITH_A_WORD,
            r"(?:\b(?P<qualifier>(?i:early|mid|late))(?:-|\s+))?"
            r"\b(?P<which>(?<![Tt]he )(?i:this|last|next))\s+"
            r"(?P<season>(?i:spring|summer|autumn|fall))\b",
        ),
    ),
)
# The months each season spans, for "last summer" and "next spring".
_SEASON_MONTHS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11)}
# Plain words that make a sentence speak of what is still to come.
_FUTURE_WORDS = frozenset(
    {
        "will", "would", "shall", "'ll", "won't", "expected", "expects", "expect", "scheduled",
        "due", "plans", "plan", "planned", "upcoming", "coming", "next", "forthcoming", "intends",
        "aims", "hopes", "later", "soon", "await", "awaits", "awaiting", "looming", "forecast"
    }
)  # fmt: skip
_PAST_WORDS = frozenset(
    {
        "said", "says", "was", "were", "had", "did", "ago", "last", "told", "announced",
        "earlier", "previously", "since", "ended", "began", "took", "came", "went", "saw", "made",
        "met", "won", "lost", "fell", "rose", "left", "held", "gave"
    }
)  # fmt: skip
_NOT_PAST_ED = frozenset(
    {
        "need", "speed", "feed", "red", "bed", "seed", "proceed", "exceed", "succeed", "indeed",
        "embed", "hundred", "shed", "bred", "expected", "scheduled", "planned"
    }
)  # fmt: skip
_PASSIVE = frozenset({"be", "been", "being"})
_BE = frozenset({"is", "are", "was", "were", "be", "been"})
_WORD = re.compile(r"[A-Za-z']+")
# A clause boundary stops the search for the verb a date belongs to.
_CLAUSE_END = re.compile(r"[;:\u2014]|,\s+(?:but|and|while|whereas|although|though)\b")
# Vague words that make "in N years" a duration, not a date: "the first time in two years".
_DURATION_BEFORE = re.compile(
    r"\b(?:time|first|ever|most|least|highest|lowest|biggest|largest|worst|best|fastest|"
    r"slowest|strongest|weakest|only|once|twice|times|since|over|within|for)\b[^.;]{0,40}$",
    re.IGNORECASE,
)
# "Today" as the day of publication, not as "nowadays": next to a verb of the news.
_TODAY_AS_DAY = re.compile(
    r"(?:\b(?:said|announced|told|confirmed|earlier|later|until|\w+ed)\s+$)", re.IGNORECASE
)
_TODAY_AS_DAY_AFTER = re.compile(r"^(?:'s)?\s+(?:said|announced|confirmed|told)\b", re.IGNORECASE)
_RANGE_GAP = re.compile(r"\s*(?:-|\u2013|\u2014|(?i:to|until|till|through))\s*")
_THE_BEFORE = re.compile(r"\b[Tt]he\s+$")
_WORD_AFTER = re.compile(r"\s+[a-z]")
_OWNED = re.compile(r"\b(?i:his|her|their|its|our|my|your|every|each)\s+$")
_NAME_AFTER = re.compile(r"\s+[A-Z][a-z]")
# What a capitalised month name is when a person's or a thing's name goes before it.
_NAME_BEFORE = re.compile(r"\b(?:[A-Z][a-z]+|Mrs?\.|Ms\.)\s+$")
# What each kind of date needs somewhere in the text (see _hints): one pass over the
# words finds them all, so a sentence is only searched for the dates it could hold.
_TOKEN = re.compile(r"\d{3}0'?s\b|'\d0s\b|\d{4}|\bQ[1-4]\b|[A-Za-z]+")
_HINT_WORDS = {
    **{name: "month" for name in _MONTH[len("(?P<month>") : _MONTH.index(")")].split("|")},
    **{day.capitalize(): "weekday" for day in WEEKDAYS},
    "FY": "fiscal",
    "Q1": "quarter", "Q2": "quarter", "Q3": "quarter", "Q4": "quarter",
}  # fmt: skip
_HINT_WORDS_ANY_CASE = {
    **dict.fromkeys(("yesterday", "tomorrow", "tonight", "today"), "day_word"),
    **dict.fromkeys(("day", "days", "week", "weeks", "month", "months", "year", "years"), "unit"),
    **dict.fromkeys(("this", "last", "next", "past", "coming"), "which"),
    **dict.fromkeys(("spring", "summer", "autumn", "fall", "winter"), "season"),
    "ago": "ago",
    "quarter": "quarter",
    "fiscal": "fiscal",
}
# The hints a date of any kind needs: a text without one holds no date.
_DATE_HINTS = frozenset({"decade", "year", "month", "weekday", "day_word", "unit", "season"})


def _hints(text: str) -> set[str]:
    """The kinds of word in a text that dates are made of (see _EXPLICIT and _RELATIVE)."""
    if not text.isascii() or "0s" in text or "0'" in text:
        return _token_hints(text)  # decades, and letters and digits beyond ASCII
    # In ASCII text without a decade, the tokens are the runs of letters, runs of four
    # digits and "Q1" to "Q4": the same kinds as _token_hints finds, read from the bytes.
    raw = text.encode()
    words = raw.translate(_LETTERS_KEPT)
    hints = {
        _HINT_BYTES_ANY_CASE[word] for word in _ANY_CASE_KEYS.intersection(words.lower().split())
    }
    if cased := _CASED_KEYS.intersection(words.split()):
        hints.update(_HINT_BYTES[word] for word in cased)
    if b"9999" in raw.translate(_DIGITS_AS_NINES):
        hints.add("year")
    if b"Q" in raw and _QUARTER_TOKEN.search(text):
        hints.add("quarter")
    return hints


# For _hints: ASCII letters kept and every other byte a space; digits as 9 and the rest a space.
_LETTERS_KEPT = bytes(
    byte if chr(byte).isascii() and chr(byte).isalpha() else 32 for byte in range(256)
)
_DIGITS_AS_NINES = bytes(57 if chr(byte) in "0123456789" else 32 for byte in range(256))
_HINT_BYTES = {word.encode(): hint for word, hint in _HINT_WORDS.items() if word.isalpha()}
_HINT_BYTES_ANY_CASE = {word.encode(): hint for word, hint in _HINT_WORDS_ANY_CASE.items()}
_CASED_KEYS = frozenset(_HINT_BYTES)
_ANY_CASE_KEYS = frozenset(_HINT_BYTES_ANY_CASE)
_QUARTER_TOKEN = re.compile(r"\bQ[1-4]\b")


def _token_hints(text: str) -> set[str]:
    """What _hints finds, token by token: the rule itself, for any text."""
    hints: set[str] = set()
    for token in set(_TOKEN.findall(text)):
        if token[-1] == "s" and not token[0].isalpha():
            hints.add("decade")  # "1980s", "the 1990's", "'80s"
            if token[0] != "'":
                hints.add("year")  # "2010's floods" may be a possessive year
        elif token[0].isdigit():
            hints.add("year")
        elif hint := _HINT_WORDS.get(token) or _HINT_WORDS_ANY_CASE.get(token.lower()):
            hints.add(hint)
    return hints


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
