"""Dates read against the day an article was published: one test per rule.

The article in these tests was published on Thursday 12 March 2026.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.importer import sample_path
from storage.ingest import extract_timeline, parse_text
from storage.ingest.dates import date_line
from storage.ingest.datewords import (
    _EXPLICIT,
    _HINT_WORDS,
    _HINT_WORDS_ANY_CASE,
    _LETTER,
    _RELATIVE,
    _STARTS_WITH_A_WORD,
    _STARTS_WITH_A_WORD_OR_FIGURE,
    _hints,
    _token_hints,
)
from storage.models import Block

PUBLISHED = "2026-03-12T09:30:00Z"  # a Thursday

Event = tuple[str, str, str | None]


def dates_in(text: str, published_at: str | None = PUBLISHED) -> list[Event]:
    """(date, precision, qualifier) of every event in one paragraph, in date order."""
    return [
        (e.date, e.precision, e.qualifier)
        for e in extract_timeline([Block("paragraph", text)], published_at)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The council voted on Tuesday to close the library.", "2026-03-10"),
        ("The mayor resigned Thursday after a long row.", "2026-03-12"),
        ("Police said Monday that the suspect had fled.", "2026-03-09"),
        ("The council will vote on Tuesday on the budget.", "2026-03-17"),
        ("A ruling is expected Friday.", "2026-03-13"),
        ("The storm is forecast to reach the coast on Saturday.", "2026-03-14"),
        ("The mayor said on Monday that the bridge will reopen soon.", "2026-03-09"),
        ("The ferry sank last Thursday.", "2026-03-05"),
        ("The court sits again next Thursday.", "2026-03-19"),
        ("Dockers walked out on Saturday's early shift.", "2026-03-07"),
    ],
)
def test_a_weekday_is_the_one_before_publication_unless_the_sentence_looks_ahead(
    text: str, expected: str
) -> None:
    assert dates_in(text) == [(expected, "day", None)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Officials announced today that the border is open.", "2026-03-12"),
        ("Ferries stopped running yesterday.", "2026-03-11"),
        ("The strike begins tomorrow.", "2026-03-13"),
        ("The minister speaks tonight on television.", "2026-03-12"),
    ],
)
def test_today_yesterday_tomorrow_and_tonight(text: str, expected: str) -> None:
    assert dates_in(text) == [(expected, "day", None)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Exports fell sharply last month.", ("2026-02", "month", None)),
        ("The factory shut its gates this month.", ("2026-03", "month", None)),
        ("A new contract starts next month.", ("2026-04", "month", None)),
        ("Sales doubled last year.", ("2025", "year", None)),
        ("Elections are due next year.", ("2027", "year", None)),
        ("The firm was sold earlier this year.", ("2026", "year", None)),
        ("The plant was opened late last year.", ("2025", "year", "late")),
        ("Talks resume next week.", ("2026-03-16", "day", "week")),
        ("Markets may calm in the coming week.", ("2026-03-16", "day", "week")),
        ("Three banks failed in the past week.", ("2026-03-02", "day", "week")),
        ("Two ministers quit last week.", ("2026-03-02", "day", "week")),
        ("The port opened three years ago.", ("2023", "year", None)),
        ("The merger was agreed two months ago.", ("2026-01", "month", None)),
        ("The fire broke out five days ago.", ("2026-03-07", "day", None)),
        ("The first shop opened a year ago.", ("2025", "year", None)),
        ("The mine will close in two years.", ("2028", "year", None)),
        ("Revenue will be reported for this fiscal year.", ("2026", "year", None)),
        ("Wildfires spread last summer.", ("2025", "year", "summer")),
        ("The festival returns next summer.", ("2026", "year", "summer")),
        ("Crops failed last spring.", ("2025", "year", "spring")),
    ],
)
def test_named_and_counted_periods_keep_the_precision_the_text_gives(
    text: str, expected: Event
) -> None:
    assert dates_in(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Talks broke down in October.", ("2025-10", "month", None)),
        ("The station will open in July.", ("2026-07", "month", None)),
        ("Prices rose in March.", ("2026-03", "month", None)),
        ("The bill passed on Jan. 20 by a wide margin.", ("2026-01-20", "day", None)),
        ("The trial began April 7 in the capital.", ("2025-04-07", "day", None)),
        ("Voting will end on Sept. 18.", ("2026-09-18", "day", None)),
        ("The harbour froze on 2 February.", ("2026-02-02", "day", None)),
        ("The festival was cancelled last July.", ("2025-07", "month", None)),
        ("The runway reopens next June.", ("2026-06", "month", None)),
        ("Repairs started in early August.", ("2025-08", "month", "early")),
        ("A book about the flood is due to be published in May.", ("2026-05", "month", None)),
    ],
)
def test_months_and_days_without_a_year_take_the_tense_into_account(
    text: str, expected: Event
) -> None:
    assert dates_in(text) == [expected]


def test_months_before_a_year_borrow_it() -> None:
    assert dates_in("Floods hit the valley in July and August 2024.") == [
        ("2024-07", "month", None),
        ("2024-08", "month", None),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Her 2019 campaign ended in defeat.", "2019"),
        ("A 2009 survey of farmers found the same.", "2009"),
        ("Memories of the 2012 Olympics faded quickly.", "2012"),
        ("The union recalled 2010's floods.", "2010"),
        ("Profit rose in fiscal 2024.", "2024"),
    ],
)
def test_years_as_modifiers_and_fiscal_years(text: str, expected: str) -> None:
    assert dates_in(text) == [(expected, "year", None)]


def test_years_listed_after_a_date_are_dates_too() -> None:
    events = extract_timeline([Block("paragraph", "Elections were held in 2007, 2008 and 2010.")])
    assert [e.date for e in events] == ["2007", "2008", "2010"]
    assert {e.label for e in events} == {"Elections were held in 2007, 2008 and 2010"}
    assert dates_in("Prices doubled between 2009 and 2012.") == [("2009", "year", None)]


def test_a_quarter_is_its_year_with_a_period_of_it() -> None:
    assert dates_in("Output fell in the fourth quarter of 2025.") == [("2025", "year", "late")]


def test_a_range_is_dated_by_its_start_and_shown_whole() -> None:
    [event] = extract_timeline(
        [Block("paragraph", "The dig ran from November 2014 until February.")], PUBLISHED
    )
    assert (event.date, event.label) == (
        "2014-11",
        "The dig ran from November 2014 until February",
    )
    [event] = extract_timeline([Block("paragraph", "The drought of 2011-2012 ruined crops.")])
    assert (event.date, event.precision) == ("2011", "year")
    assert event.label == "The drought of 2011-2012 ruined crops"
    [event] = extract_timeline([Block("paragraph", "He coached during the 1998-99 season.")])
    assert event.date == "1998" and "1998-99" in event.label


@pytest.mark.parametrize(
    "text",
    [
        "Rents rose steeply in the late 1990s.",
        "Music from the 1980's still sells.",
        "The '80s were kind to the town.",
        "It was the worst storm of the 20th century.",
        "The 2000 soldiers marched north.",
        "Between 2000-2500 people marched.",
        "The drill, called Shield 2024, ended well.",
        "Children today spend more time online.",
        "Unemployment hit its highest level in two years.",
        "Over the past year the firm hired widely.",
        "Theresa May said the plan would work.",
        "Shares may rise, analysts say.",
        "Shops close early on Good Friday.",
        "The lake froze last winter.",
        "The market opens on Fridays.",
        "The deal took 30 years to reach.",
        "The next year, the band split up.",
        "Prices rose over the last year.",
        "The app was written by Jan Koum.",
        "He spoke to April Ryan at length.",
        "She swims every Tuesday.",
        "His Sunday column was dropped.",
        "The Sept. 11 attacks changed air travel.",
    ],
)
def test_what_no_reader_would_call_a_date_stays_out(text: str) -> None:
    assert dates_in(text) == []


def test_the_sample_keeps_its_six_events_whatever_its_date() -> None:
    sample = parse_text(sample_path().read_text(encoding="utf-8"), "sample.txt")
    expected = [e.date for e in extract_timeline(sample.blocks)]
    assert expected == ["2016-05", "2017-12", "2022", "2025-08", "2025-11", "2025-12"]
    for published_at in ("2025-12-05T00:00:00Z", PUBLISHED):
        assert [e.date for e in extract_timeline(sample.blocks, published_at)] == expected


def test_without_a_publication_date_only_dates_with_their_year_are_read() -> None:
    text = "Exports fell last month. Imports fell in May 2025. The port closed on Tuesday."
    assert dates_in(text, None) == [("2025-05", "month", None)]


def test_a_date_named_again_for_another_event_is_a_second_event() -> None:
    text = "The dam was finished in 2015. In 2015 the river also flooded the old town."
    events = extract_timeline([Block("paragraph", text)])
    assert [(e.date, e.label) for e in events] == [
        ("2015", "The dam was finished"),
        ("2015", "The river also flooded the old town"),
    ]


def test_an_aside_is_cut_from_a_label_only_when_enough_is_left() -> None:
    text = "The firm, which was founded in 1998, said on Wednesday it would cut 500 jobs."
    labels = [e.label for e in extract_timeline([Block("paragraph", text)], PUBLISHED)]
    assert labels == [
        "The firm, which was founded, said on Wednesday it would cut 500 jobs",
        "The firm, which was founded in 1998, said on Wednesday it would cut 500 jobs",
    ]


def test_relative_dates_keep_their_words_in_the_label() -> None:
    [event] = extract_timeline(
        [Block("paragraph", "According to the ministry, exports fell sharply last month.")],
        PUBLISHED,
    )
    assert event.label == "Exports fell sharply last month"


def test_events_from_relative_and_explicit_dates_are_in_date_order() -> None:
    text = (
        "The mayor resigned on Tuesday. The scandal began in 2024. "
        "An inquiry opened last month, and a report is due next year."
    )
    assert [e.date for e in extract_timeline([Block("paragraph", text)], PUBLISHED)] == [
        "2024",
        "2026-02",
        "2026-03-10",
        "2027",
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("5 December 2025", "2025-12-05T00:00:00Z"),
        ("December 5, 2025", "2025-12-05T00:00:00Z"),
        ("Friday, 5 December 2025", "2025-12-05T00:00:00Z"),
        ("2025-12-05", "2025-12-05T00:00:00Z"),
        ("2025-12-05T10:30:00+02:00", "2025-12-05T08:30:00Z"),
        ("Published: 5 Dec. 2025", "2025-12-05T00:00:00Z"),
        ("31 February 2025", None),
        ("December 2025", None),
        ("Talks ended on 5 December 2025.", None),
    ],
)
def test_a_date_line_is_a_date_and_nothing_else(line: str, expected: str | None) -> None:
    assert date_line(line) == expected


# Pieces of text around the words dates are made of: their case changed, run together with
# letters and digits, decades, quarters, and letters and digits beyond ASCII.
HINT_PIECES = (
    *_HINT_WORDS,
    *_HINT_WORDS_ANY_CASE,
    *(word.upper() for word in _HINT_WORDS_ANY_CASE),
    *(word.capitalize() for word in _HINT_WORDS_ANY_CASE),
    "yEsTerday", "2019", "19", "1", "12345", "1980", "s", "'s", "'", "0", "Q", "Q5", "q1", "FY",
    "fy", "Mayor", "Monday's", "x", "_", "-", ".", ",", " ", "  ", "\u00e9", "\u212a",
    "\u017f", "\u0662\u0660\u0661\u0669", "\u0130", "e", "ago", "fiscal", "quarter"
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(HINT_PIECES), max_size=14), st.sampled_from(["", " "]))
def test_the_quick_reading_of_date_words_finds_what_the_token_rule_finds(
    pieces: list[str], joint: str
) -> None:
    text = joint.join(pieces)
    assert _hints(text) == _token_hints(text)


def test_no_date_word_is_read_both_by_its_case_and_in_any_case() -> None:
    assert not {word.lower() for word in _HINT_WORDS} & set(_HINT_WORDS_ANY_CASE)


RULE_WORDS = (
    *HINT_PIECES, "in", "since", "the", "The", "early", "mid-", "late", "end of", "of", "a",
    "his", "2009", "2010", "-", "\u2013", "to", "ago", "about", "two", "3", "21st", "on",
    "last", "next", "this", "past", "summer", "fall", "between", "and", "bathe", "1980s",
    "'80s", "year", "Sept.", "Tuesday's", "troops", "%", "since 2010", "\u017fince 2010",
    "\u0130n 2009-10", "\u0131n 2012", "\u017fome two years ago", "la\u017ft Friday",
    "la\u017ft \u017fummer", "thi\u017f month", "ju\u017ft 3 days ago"
)  # fmt: skip
_STARTS = (_STARTS_WITH_A_WORD, _STARTS_WITH_A_WORD_OR_FIGURE, f"(?=[{_LETTER}])")
QUICK_RULES = [
    (pattern, re.compile(pattern.pattern.removeprefix(start)))
    for _, _, pattern in (*_EXPLICIT, *_RELATIVE)
    for start in _STARTS
    if pattern.pattern.startswith(start)
]


def test_most_rules_test_their_first_character_first() -> None:
    assert len(QUICK_RULES) >= 10


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(RULE_WORDS), max_size=16), st.sampled_from(["", " ", "  "]))
def test_the_first_character_test_never_changes_what_a_rule_finds(
    words: list[str], joint: str
) -> None:
    text = joint.join(words)
    for quick, plain in QUICK_RULES:
        assert [m.span() for m in quick.finditer(text)] == [m.span() for m in plain.finditer(text)]
