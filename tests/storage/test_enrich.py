"""What is computed at import: summaries, timelines and topics."""

from __future__ import annotations

import pytest

from storage.importer import sample_path
from storage.ingest import derive_topics, enrich, extract_timeline, parse_text, summarize
from storage.models import Block

SAMPLE = parse_text(sample_path().read_text(encoding="utf-8"), "sample.txt")


def events_of(text: str, kind: str = "paragraph") -> list[tuple[str, str, str | None, str]]:
    """(date, precision, qualifier, label) of every event found in one block."""
    return [
        (e.date, e.precision, e.qualifier, e.label)
        for e in extract_timeline([Block(kind, text)])  # type: ignore[arg-type]
    ]


def test_sample_summary_is_the_lead_in_whole_sentences() -> None:
    summary = summarize(SAMPLE.title, SAMPLE.blocks)
    lead = SAMPLE.blocks[0].text
    assert summary == lead  # the lead paragraph is three sentences, 473 characters
    assert len(summary) <= 600


def test_summary_stops_at_three_sentences_and_about_600_characters() -> None:
    sentences = [f"Sentence number {n} says something about the news." for n in range(1, 8)]
    summary = summarize("T", [Block("paragraph", " ".join(sentences))])
    assert summary == " ".join(sentences[:3])
    clause = "the officials said that the talks would continue for some time"
    long = [f"Report {n} says {', and '.join([clause] * 4)}." for n in "ABC"]  # 275 characters
    summary = summarize("T", [Block("paragraph", " ".join(long))])
    assert summary == " ".join(long[:2])
    assert len(summary) <= 600


def test_summary_uses_a_segmenter_not_a_split_on_dots() -> None:
    text = (
        "Mr. Smith met U.S. officials in Washington on Jan. 5 to discuss the deal. "
        "The talks lasted 3.5 hours and ended without agreement. Both sides will meet again."
    )
    summary = summarize("T", [Block("paragraph", text)])
    assert summary == text


def test_summary_skips_headings_and_reads_on_past_a_short_lead() -> None:
    blocks = [
        Block("heading", "Breaking"),
        Block("paragraph", "A single opening sentence that is long enough."),
        Block("paragraph", "A second paragraph adds the context readers need. And more."),
    ]
    assert summarize("T", blocks) == (
        "A single opening sentence that is long enough. "
        "A second paragraph adds the context readers need."
    )


def test_a_lead_too_long_to_quote_is_shortened_at_a_word() -> None:
    summary = summarize("T", [Block("paragraph", "word " * 400)])
    assert len(summary) <= 600 and summary.endswith("word\u2026")


def test_sample_timeline_six_events() -> None:
    events = extract_timeline(SAMPLE.blocks)
    assert [(e.date, e.precision, e.qualifier) for e in events] == [
        ("2016-05", "month", None),
        ("2017-12", "month", None),
        ("2022", "year", None),
        ("2025-08", "month", None),
        ("2025-11", "month", None),
        ("2025-12", "month", "early"),
    ]
    assert [e.label for e in events] == [
        "The first such exercise, known as Aerospace Security 2016, took place under the "
        "auspices of Russian air and missile defense forces",
        "The second, Aerospace Security 2017, was a computer-simulated command-post drill held "
        "in Beijing",
        "The two countries formalized a 'no-limits' strategic partnership shortly before "
        "Russia's invasion of Ukraine",
        "Joint artillery and anti-submarine drills were conducted in the Sea of Japan",
        "Russia and China held talks in Moscow on missile defense and strategic stability",
        "The armed forces of the Russian Federation and China have successfully conducted "
        "their third round of joint anti-missile drills",
    ]
    assert events[0].sentence.startswith("The first such exercise, known as Aerospace")
    assert events[3].sentence == SAMPLE.blocks[6].text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "In May 2016, the first exercise took place.",
            [("2016-05", "month", None, "The first exercise took place")],
        ),
        (
            "On 3 December 2025 talks opened in Moscow.",
            [("2025-12-03", "day", None, "Talks opened in Moscow")],
        ),
        (
            "Talks opened on December 3rd, 2025 in Moscow.",
            [("2025-12-03", "day", None, "Talks opened in Moscow")],
        ),
        (
            "The report appeared on 2024-02-29.",
            [("2024-02-29", "day", None, "The report appeared")],
        ),
        ("The treaty was signed in mid-2019.", [("2019", "year", "mid", "The treaty was signed")]),
        ("It collapsed at the end of 2008.", [("2008", "year", "late", "It collapsed")]),
        ("It began in late March 2020.", [("2020-03", "month", "late", "It began")]),
        (
            "Elections followed in the autumn of 2021.",
            [("2021", "year", "autumn", "Elections followed")],
        ),
        ("Prices rose in fall 2022.", [("2022", "year", "autumn", "Prices rose")]),
        (
            "The war has gone on since 2014.",
            [("2014", "year", None, "The war has gone on since 2014")],
        ),
        (
            "By mid-2023 the project had stalled.",
            [("2023", "year", "mid", "By mid-2023 the project had stalled")],
        ),
        (
            "According to officials, the base closed in March 2020.",
            [("2020-03", "month", None, "The base closed")],
        ),
    ],
)
def test_dates_in_running_text(
    text: str, expected: list[tuple[str, str, str | None, str]]
) -> None:
    assert events_of(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The exercise, known as Aerospace Security 2016, was a success.",
        "Euro 2024 drew record crowds.",
        "He served for 30 years and then 30 months more.",
        "The plant employs 2000 people.",
        "Officials counted 2016 troops in 1500 vehicles.",
        "Sales reached 2,024 units, up 20.25 percent.",
        "The Model 2020 costs $1999.",
        "Shares rose in May, and he may march in March.",
        "The date 31 February 2020 does not exist.",
        "Revenue was 2019 euros in 2019 cases.",
    ],
)
def test_no_false_dates_from_names_figures_or_durations(text: str) -> None:
    assert events_of(text) == []


def test_bullets_with_a_leading_date() -> None:
    assert events_of("2022: The war began.", "bullet") == [("2022", "year", None, "The war began")]
    assert events_of("March 2023 \u2013 talks resumed", "bullet") == [
        ("2023-03", "month", None, "Talks resumed")
    ]


def test_an_event_mentioned_twice_appears_once_and_order_is_chronological() -> None:
    blocks = [
        Block("paragraph", "The summit took place in June 2021 in Geneva."),
        Block("paragraph", "Before that, a call was held in early 2021."),
        Block("bullet", "June 2021: Summit in Geneva."),
        Block("paragraph", "A deal was signed on 4 June 2021 and another in 2021."),
    ]
    events = extract_timeline(blocks)
    assert [(e.date, e.qualifier) for e in events] == [
        ("2021", "early"),
        ("2021", None),
        ("2021-06", None),
        ("2021-06-04", None),
    ]
    assert events[2].label == "The summit took place in Geneva"


def test_long_labels_are_shortened() -> None:
    text = (
        "In 2020 the committee that had been set up to review the long-running dispute between "
        "the two neighbouring municipalities over water rights finally published its findings "
        "after a delay of many months."
    )
    [(_, _, _, label)] = events_of(text)
    assert len(label) <= 140
    assert label.startswith("The committee that had been set up")


def test_sample_topics_name_the_countries() -> None:
    topics = derive_topics(SAMPLE.title, SAMPLE.blocks)
    assert topics[:2] == ("russia", "china")
    assert len(topics) <= 5


def test_topics_ignore_sentence_openers_and_function_words() -> None:
    blocks = [
        Block("paragraph", "The vote was close. The Sea of Japan is cold. However, nobody cared."),
        Block(
            "paragraph", "Ships crossed the Sea of Japan. Whatever happens, Moscow and Tokyo talk."
        ),
    ]
    topics = derive_topics("Ships in the Sea of Japan", blocks)
    assert topics == ("sea of japan",)


def test_enrich_fills_what_is_missing_and_keeps_what_is_given() -> None:
    enriched = enrich(SAMPLE)
    assert enriched.summary == summarize(SAMPLE.title, SAMPLE.blocks)
    assert enriched.timeline is not None and len(enriched.timeline) == 6
    assert enriched.tags[:2] == ("russia", "china")
    assert enrich(enriched) is enriched


def test_a_timeline_keeps_at_most_100_events() -> None:
    blocks = [
        Block("paragraph", f"Event number {n} took place in {1800 + n}.") for n in range(150)
    ]
    events = extract_timeline(blocks)
    assert len(events) == 100
    assert events[0].date == "1800" and events[-1].date == "1899"


def test_a_book_length_text_keeps_its_late_events() -> None:
    """Past the first thousand paragraphs with a year, sentences are split by punctuation."""
    blocks = [
        Block("paragraph", f"Budget line {n} was agreed for 2019. It passed.")
        for n in range(1_200)
    ]
    blocks.append(
        Block("paragraph", "The bridge over the strait opened in March 2031. Crowds came.")
    )
    events = extract_timeline(blocks)
    assert [(e.date, e.precision) for e in events] == [("2031-03", "month")]
    assert events[0].sentence == "The bridge over the strait opened in March 2031."
