"""Timeline benchmark: the date extractor scored on the TempEval-3 platinum documents.

Each of the 20 TimeML documents (../shared/corpora/tempeval3 from the project
root, or --corpus) is imported as an article: its paragraphs become blocks and
its creation time (DCT) its ``published_at``. The gold standard is every DATE
time expression with a calendar value (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``);
an event counts as found when its sentence holds a gold expression with that
value, so a pair (sentence, value) is scored once however often it is written.
A gold expression is *explicit* when its text carries the year (four digits,
or the "58" of "1957-58"), *relative* when only the publication date gives it;
an event is explicit when its year is written in its sentence.

Weeks and seasons have no calendar value in TimeML (``2013-W11``, ``2012-SU``),
so events with those qualifiers are left out of the scoring, as the gold leaves
those expressions out; so is the day of a TIME expression ("Friday afternoon",
``2013-03-22TAF``), which is neither a DATE to find nor a false one.

The extractor as it was before (``bench/timeline_before.py``, a frozen copy of
the module as it stood) is scored in the same run as the baseline. Prints
precision, recall and F1, overall and by kind; milliseconds per article (best of
--repeat runs) for the extractor alone and for all an import computes for an
article (summary, topics, timeline); and the largest per-article slowdown of
each against the baseline. An article the old extractor skipped (no four-digit
year in it) took it next to no time, so the extractor's own per-article ratio
is large there; the import's ratio is the one a reader of the import rate sees.

    python bench/timeline.py [--corpus DIR] [--repeat 5] [--errors]
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import timeline_before

from storage.ingest.enrich import enrich
from storage.ingest.sentences import split_sentences
from storage.ingest.summary import summarize
from storage.ingest.timeline import extract_timeline
from storage.ingest.topics import derive_topics
from storage.models import Block, ParsedArticle, TimelineEvent

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "tempeval3"
CALENDAR = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
_TAG = re.compile(r"<(/?)(\w+)([^>]*)>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
UNSCORED_QUALIFIERS = frozenset({"week", "spring", "summer", "autumn", "winter"})

Extractor = Callable[[Sequence[Block], str | None], Sequence[TimelineEvent]]


@dataclass(frozen=True)
class Gold:
    sentence: str
    value: str
    text: str
    explicit: bool


@dataclass(frozen=True)
class Document:
    name: str
    title: str
    published_at: str
    blocks: tuple[Block, ...]
    gold: tuple[Gold, ...]
    times: frozenset[tuple[str, str]]  # (sentence, day) of TIME expressions: not scored


def read_document(path: Path) -> Document:
    """A TimeML file as paragraphs, its creation time, and its calendar DATE expressions."""
    raw = path.read_text(encoding="utf-8")
    dct = re.search(r'functionInDocument="CREATION_TIME"[^>]*value="([^"]+)"', raw) or re.search(
        r'value="([^"]+)"[^>]*functionInDocument="CREATION_TIME"', raw
    )
    if dct is None:
        raise SystemExit(f"{path}: no creation time")
    title_match = re.search(r"<TITLE>(.*?)</TITLE>", raw, re.DOTALL)
    title = html.unescape(_TAG.sub("", title_match.group(1))).strip() if title_match else path.stem
    body = re.search(r"<TEXT>(.*?)</TEXT>", raw, re.DOTALL)
    if body is None:
        raise SystemExit(f"{path}: no TEXT")
    # Plain text with the offsets of each TIMEX3; newlines inside a paragraph become spaces.
    text: list[str] = []
    length = 0
    open_timex: list[tuple[int, dict[str, str]]] = []
    spans: list[tuple[int, int, dict[str, str]]] = []
    position = 0
    source = body.group(1)
    for match in _TAG.finditer(source):
        piece = html.unescape(source[position : match.start()])
        text.append(piece)
        length += len(piece)
        position = match.end()
        closing, name, attrs = match.groups()
        if name != "TIMEX3":
            continue
        if closing:
            start, attributes = open_timex.pop()
            spans.append((start, length, attributes))
        else:
            open_timex.append((length, dict(_ATTR.findall(attrs))))
    text.append(html.unescape(source[position:]))
    plain = "".join(text)
    blocks: list[Block] = []
    gold: list[Gold] = []
    times: set[tuple[str, str]] = set()
    for paragraph in re.finditer(r"\S(?:.|\n(?!\s*\n))*", plain):
        para_text = paragraph.group().replace("\n", " ")
        blocks.append(Block("paragraph", para_text))
        sentences: list[tuple[int, int, str]] = []
        cursor = 0
        for sentence in split_sentences(para_text):
            at = para_text.find(sentence, cursor)
            if at < 0:
                at = cursor
            sentences.append((at, at + len(sentence), sentence))
            cursor = at + len(sentence)
        for start, end, attributes in spans:
            if not paragraph.start() <= start < paragraph.end():
                continue
            value = attributes.get("value", "")
            offset = start - paragraph.start()
            words = plain[start:end]
            sentence_text = next((s for a, b, s in sentences if a <= offset < b), para_text)
            if attributes.get("type") == "TIME" and CALENDAR.match(value):
                times.add((sentence_text, value[:10]))  # "Friday afternoon": a day, and a time
            if attributes.get("type") != "DATE" or not CALENDAR.fullmatch(value):
                continue
            explicit = bool(re.search(r"\d{4}", words) or re.fullmatch(r"'?\d{2}", words))
            gold.append(Gold(sentence_text, value, words, explicit))
    return Document(
        path.stem, title, dct.group(1)[:10], tuple(blocks), tuple(gold), frozenset(times)
    )


def new_extractor(blocks: Sequence[Block], published_at: str | None) -> Sequence[TimelineEvent]:
    """The extractor as it is now, given the publication date."""
    return extract_timeline(blocks, published_at)


def old_extractor(blocks: Sequence[Block], published_at: str | None) -> Sequence[TimelineEvent]:
    """The extractor as it was: it never saw a publication date."""
    return timeline_before.extract_timeline(blocks)


def scored(event: TimelineEvent) -> bool:
    """Whether an event has a TimeML calendar value to compare (weeks and seasons do not)."""
    return event.qualifier not in UNSCORED_QUALIFIERS


def event_is_explicit(event: TimelineEvent) -> bool:
    """An event whose year is written in its sentence (as four digits, or 'NN after a range)."""
    year = event.date[:4]
    return year in event.sentence or bool(
        re.search(rf"\d{{4}}\s*[-\u2013]\s*{year[2:]}\b", event.sentence)
    )


@dataclass
class Score:
    found: int = 0
    right: int = 0
    gold: int = 0
    hit: int = 0

    def line(self, name: str) -> str:
        precision = self.right / self.found if self.found else 0.0
        recall = self.hit / self.gold if self.gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return (
            f"  {name:<9} precision {precision:.2f} ({self.right}/{self.found})  "
            f"recall {recall:.2f} ({self.hit}/{self.gold})  F1 {f1:.2f}"
        )


def evaluate(
    name: str, extractor: Extractor, documents: Sequence[Document], repeat: int, errors: bool
) -> tuple[dict[str, Score], dict[str, float]]:
    """Scores by kind and the best time per document, in milliseconds."""
    scores = {kind: Score() for kind in ("all", "explicit", "relative")}
    times: dict[str, float] = {}
    for document in documents:
        published = f"{document.published_at}T00:00:00Z"
        best = float("inf")
        events: Sequence[TimelineEvent] = ()
        for _ in range(repeat):
            started = time.perf_counter()
            events = extractor(document.blocks, published)
            best = min(best, time.perf_counter() - started)
        times[document.name] = best * 1000
        gold_pairs = {(g.sentence, g.value): g for g in document.gold}
        found_pairs = {
            (e.sentence, e.date): e
            for e in events
            if scored(e) and (e.sentence, e.date) not in document.times
        }
        for pair, gold in gold_pairs.items():
            kind = "explicit" if gold.explicit else "relative"
            hit = pair in found_pairs
            for key in ("all", kind):
                scores[key].gold += 1
                scores[key].hit += hit
            if errors and not hit:
                print(f"    MISS {document.name} {gold.value} {gold.text!r}: {gold.sentence}")
        for pair, event in found_pairs.items():
            kind = "explicit" if event_is_explicit(event) else "relative"
            right = pair in gold_pairs
            for key in ("all", kind):
                scores[key].found += 1
                scores[key].right += right
            if errors and not right:
                print(
                    f"    FALSE {document.name} {event.date} {event.qualifier}: {event.sentence}"
                )
    return scores, times


def main() -> None:
    """Score the current extractor and the baseline on the corpus; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5, help="timing runs per article")
    parser.add_argument("--errors", action="store_true", help="print every miss and false date")
    args = parser.parse_args()
    folder = (
        args.corpus / "te3-platinum" if (args.corpus / "te3-platinum").is_dir() else args.corpus
    )
    paths = sorted(folder.glob("*.tml"))
    if not paths:
        raise SystemExit(f"no .tml files in {folder}")
    documents = [read_document(path) for path in paths]
    # The real import path, once, so the benchmark measures what an import stores.
    for document in documents:
        article = ParsedArticle(
            title=document.title,
            blocks=document.blocks,
            source_key=document.name,
            published_at=f"{document.published_at}T00:00:00Z",
        )
        enriched = enrich(article)
        assert enriched.timeline == tuple(new_extractor(document.blocks, article.published_at))
    gold = sum(len({(g.sentence, g.value) for g in d.gold}) for d in documents)
    print(f"{len(documents)} documents, {gold} calendar dates (sentence, value) to find")
    results = {}
    for name, extractor in (("before", old_extractor), ("now", new_extractor)):
        print(f"{name}:")
        scores, times = evaluate(
            name, extractor, documents, args.repeat, args.errors and name == "now"
        )
        for kind, score in scores.items():
            print(score.line(kind))
        total = sum(times.values())
        print(
            f"  time      {total / len(documents):.2f} ms per article "
            f"(slowest {max(times.values()):.2f} ms)"
        )
        results[name] = times
    report_slowdown("extractor", results["before"], results["now"])
    # What an import computes for each article: summary, topics and timeline.
    imports: dict[str, dict[str, float]] = {"before": {}, "now": {}}
    for document in documents:
        article = ParsedArticle(
            title=document.title,
            blocks=document.blocks,
            source_key=document.name,
            published_at=f"{document.published_at}T00:00:00Z",
        )

        def before(article: ParsedArticle = article) -> object:
            summarize(article.title, article.blocks)
            derive_topics(article.title, article.blocks)
            return timeline_before.extract_timeline(article.blocks)

        for name, run in (("before", before), ("now", lambda a=article: enrich(a))):
            imports[name][document.name] = best_ms(run, args.repeat)
    print(
        f"import (summary, topics, timeline): before {mean(imports['before']):.2f} ms, "
        f"now {mean(imports['now']):.2f} ms per article"
    )
    report_slowdown("import", imports["before"], imports["now"])


def best_ms(run: Callable[[], object], repeat: int) -> float:
    """The best of ``repeat`` timings of ``run``, in milliseconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def mean(times: dict[str, float]) -> float:
    """The mean of per-article times."""
    return sum(times.values()) / len(times)


def report_slowdown(what: str, before: dict[str, float], now: dict[str, float]) -> None:
    """The largest per-article slowdown and the overall one."""
    ratios = {name: now[name] / before[name] for name in now}
    slowest = max(ratios, key=ratios.__getitem__)
    print(
        f"{what} slowdown: at most {ratios[slowest]:.2f}x per article ({slowest}: "
        f"{before[slowest]:.2f} -> {now[slowest]:.2f} ms), overall "
        f"{sum(now.values()) / sum(before.values()):.2f}x"
    )


if __name__ == "__main__":
    main()
