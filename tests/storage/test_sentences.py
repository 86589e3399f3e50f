"""The sentence splitter's fast path gives pysbd's answer wherever it answers at all."""

from __future__ import annotations

import random
import tarfile
from pathlib import Path

import pysbd
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.errors import IngestError
from storage.importer import sample_path
from storage.ingest import parse_feed, parse_text
from storage.ingest.sentences import _Segmenter, plain_sentences, split_sentences

CORPUS = Path(__file__).parents[1] / "data" / "feedparser-corpus.tar.gz"
SEGMENTER = pysbd.Segmenter(language="en", clean=False)
# Words that pysbd has rules about (abbreviations, single letters, roman numerals,
# list numbers, numbers) among ordinary ones, in both cases.
TRICKY_WORDS = (
    "the of and to in a i is no co mr dr st gen sen rep may man me ok us it be ii iv x "
    "vi mix civil did fig inc ltd jan dec etc vs v p pp art 1 12 100 2005 1,000 3-2 "
    "co-op x-ray Kenya Mr Dr Gen St No I A U US UK EU Jr Sr Ave Mt Is Ms Mrs"
)
TRICKY = TRICKY_WORDS.split()
PLAIN_WORDS = (
    "government minister talks border trade energy market court election vote coalition "
    "drills missile defence harbour bridge budget inflation strike union council city "
    "research hospital vaccine climate storm flood rescue festival museum archive treaty"
)
PLAIN = PLAIN_WORDS.split()


def pysbd_sentences(text: str) -> list[str]:
    return [part.strip() for part in SEGMENTER.segment(text) if part.strip()]


def assert_agrees(text: str) -> bool:
    """Whether the fast path answered; when it does, it must be pysbd's answer."""
    fast = plain_sentences(text)
    if fast is None:
        return False
    assert fast == pysbd_sentences(text), text
    return True


words = st.sampled_from(TRICKY + PLAIN)
sentences = st.lists(words, min_size=1, max_size=8).map(lambda w: " ".join(w))
endings = st.sampled_from([".", ".", ".", "!", "?", "", ". ", ".  "])


@settings(max_examples=1_500)
@given(st.lists(st.tuples(sentences, endings, st.booleans()), min_size=1, max_size=5))
def test_generated_paragraphs_split_as_pysbd_splits_them(
    parts: list[tuple[str, str, bool]],
) -> None:
    text = " ".join(
        (sentence[:1].upper() + sentence[1:] if capital else sentence) + ending
        for sentence, ending, capital in parts
    )
    assert_agrees(text)


@settings(max_examples=500)
@given(st.text(alphabet="Aa1 .,-'\"()?!:;Mr", max_size=60))
def test_arbitrary_short_text_splits_as_pysbd_splits_it(text: str) -> None:
    assert_agrees(text)


def news_paragraph(rng: random.Random) -> str:
    """Three to five capitalised sentences of plain words with a name and a year."""
    out = []
    for _ in range(rng.randint(3, 5)):
        chosen = rng.choices([*PLAIN, "the", "of", "and", "in", "a", "was"], k=rng.randint(8, 20))
        chosen.insert(rng.randrange(len(chosen)), rng.choice(["Kenya", "Chile", "India"]))
        chosen.append(rng.choice([*PLAIN, "2005", "1999"]))
        out.append(" ".join(chosen).capitalize() + ".")
    return " ".join(out)


def test_generated_news_takes_the_fast_path_and_agrees() -> None:
    rng = random.Random(5)
    paragraphs = [news_paragraph(rng) for _ in range(300)]
    answered = sum(assert_agrees(text) for text in paragraphs)
    assert answered == len(paragraphs)


def real_paragraphs() -> list[str]:
    """Paragraphs of the bundled sample and of every article in the feed corpus."""
    sample = parse_text(sample_path().read_text(encoding="utf-8"), "sample.txt")
    texts = [block.text for block in sample.blocks]
    with tarfile.open(CORPUS) as archive:
        for member in archive.getmembers():
            if not (member.isfile() and member.name.startswith("feedparser/tests/")):
                continue
            data = archive.extractfile(member).read()  # type: ignore[union-attr]
            try:
                found = parse_feed(data, member.name)
            except IngestError:
                continue
            texts.extend(block.text for article in found for block in article.blocks)
    return texts


def test_real_paragraphs_split_as_pysbd_splits_them() -> None:
    texts = real_paragraphs()
    assert len(texts) > 500
    answered = 0
    for text in texts:
        answered += assert_agrees(text)
        assert split_sentences(text) == pysbd_sentences(text)
    assert answered > 0  # the fast path saw real text too


def test_what_the_fast_path_leaves_to_pysbd() -> None:
    assert plain_sentences("The talks ended. Gen. Smith left.") is None  # an abbreviation
    assert plain_sentences("It rose by 5 per cent. It fell.") is not None
    assert plain_sentences("The U.S. Navy sailed.") is None  # inner periods
    assert plain_sentences('He said "no". Then left.') is None  # quotes
    assert plain_sentences("Item 1. Next item.") is None  # a list number
    assert split_sentences("The U.S. Navy sailed. It docked.") == [
        "The U.S. Navy sailed.",
        "It docked.",
    ]


def placed_as_pysbd_places_them(text: str) -> None:
    ours = _Segmenter(language="en", clean=False).segment(text)
    assert ours == SEGMENTER.segment(text), text


@settings(max_examples=1_000)
@given(st.lists(st.tuples(sentences, endings, st.sampled_from([" ", "  ", "\n", "\t ", ""]))))
def test_sentences_are_placed_in_the_text_as_pysbd_places_them(
    parts: list[tuple[str, str, str]],
) -> None:
    """Repeated sentences, runs of blank space and sentences inside others included."""
    text = "".join(sentence + ending + space for sentence, ending, space in parts)
    placed_as_pysbd_places_them(text)
    placed_as_pysbd_places_them(text + text)  # every sentence again


@settings(max_examples=500)
@given(st.text(alphabet="Aa1 .\n\u00a0\u2003,-'\"()?!:;Mr", max_size=80))
def test_any_short_text_is_placed_as_pysbd_places_it(text: str) -> None:
    placed_as_pysbd_places_them(text)


def test_real_paragraphs_are_placed_as_pysbd_places_them() -> None:
    for text in real_paragraphs():
        placed_as_pysbd_places_them(text)


def test_a_sentence_is_looked_for_past_its_earlier_match_as_pysbd_looks() -> None:
    """pysbd's pattern finds matches that do not overlap: "aXa" is not found inside
    "aXaXa" again at 2 once the match at 0 ended before the last sentence did."""

    def places(segmenter: pysbd.Segmenter) -> list[tuple[str, int, int]]:
        segmenter.original_text = "aXaXa b"
        spans = segmenter.sentences_with_char_spans(["aXaX", "aXa", "b"])
        return [(span.sent, span.start, span.end) for span in spans]

    ours = places(_Segmenter(language="en", clean=False))
    assert ours == places(pysbd.Segmenter(language="en", clean=False))
    assert ours == [("aXaX", 0, 4), ("b", 6, 7)]
