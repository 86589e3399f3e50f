"""The words and patterns of dates: month and weekday names, the rules that find explicit
and relative dates, and the quick check of which rules a sentence could need.

What they mean, and which day they resolve to, is ``storage.ingest.dates``'s.
"""

from __future__ import annotations

import re

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
