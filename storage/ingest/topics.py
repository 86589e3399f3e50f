"""Topics for an article: the names it keeps coming back to.

A topic is a run of capitalised words ("China", "Sea of Japan") counted over
the body; words that are capitalised only because they open a sentence, and
function words, do not count. Names that also appear in the title weigh more.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from storage.ingest.sentences import rough_sentences
from storage.limits import MAX_TAG
from storage.models import Block

_WORD = re.compile(r"\w[\w'\u2019.-]*")
_CONNECTORS = frozenset({"of", "the", "de", "la", "du", "von", "van"})
# fmt: off
_STOP = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "it", "its", "he", "she", "they", "we",
    "i", "you", "his", "her", "their", "our", "my", "your", "and", "or", "but", "if", "then",
    "so", "yet", "for", "nor", "of", "in", "on", "at", "to", "by", "with", "from", "as", "into",
    "after", "before", "over", "under", "about", "above", "below", "between", "during", "since",
    "until", "while", "when", "where", "which", "who", "whom", "whose", "what", "why", "how",
    "all", "both", "each", "every", "either", "neither", "some", "any", "no", "not", "one",
    "two", "three", "first", "second", "third", "last", "next", "new", "however", "meanwhile",
    "also", "according", "yes", "mr", "mrs", "ms", "dr", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may",
    "june", "july", "august", "september", "october", "november", "december",
})
# fmt: on
_POSSESSIVE = ("'s", "\u2019s")


def derive_topics(title: str, blocks: Sequence[Block], limit: int = 5) -> tuple[str, ...]:
    """Up to ``limit`` lower-case topics, the most mentioned first."""
    counts: Counter[str] = Counter()
    openers: Counter[str] = Counter()
    for block in blocks:
        if block.kind == "heading":
            continue  # headings are title case: every word would look like a name
        # Only which word opens a sentence matters here, and a wrong split costs at most
        # one count, so the fast split serves; summaries and timelines, which quote
        # sentences, use the segmenter.
        for sentence in rough_sentences(block.text):
            for position, name in _names(sentence):
                (openers if position == 0 else counts)[name] += 1
    for name, count in openers.items():
        if name in counts:  # capitalised mid-sentence too, so a name after all
            counts[name] += count
    for name in list(counts):
        if name.endswith("an") and name[:-1] in counts:  # "Russian" speaks of Russia
            counts[name[:-1]] += counts.pop(name)
    in_title = {name for _, name in _names(title)}
    scored = Counter(
        {name: count + (2 if name in in_title else 0) for name, count in counts.items()}
    )
    topics = [name for name, score in scored.most_common() if score >= 2 and len(name) <= MAX_TAG]
    return tuple(topics[:limit])


def _names(sentence: str) -> list[tuple[int, str]]:
    """Capitalised runs in a sentence, with the word position each starts at."""
    words = _WORD.findall(sentence)
    names: list[tuple[int, str]] = []
    run: list[str] = []
    start = 0
    for position, raw in enumerate([*words, ""]):
        if not run and raw and not raw[0].isupper():
            continue  # most words: in lower case, outside a name (a word starts as it is cut)
        word = raw.rstrip(".-")
        possessive = word.endswith(_POSSESSIVE)
        if possessive:
            word = word[:-2]
        capital = bool(word) and word[0].isupper() and word.lower() not in _STOP
        if capital:
            if not run:
                start = position
            run.append(word)
        elif run and word.lower() in _CONNECTORS and word.islower():
            run.append(word)
            continue
        if run and (not capital or possessive or raw.endswith(".")):
            while run and run[-1] in _CONNECTORS:
                run.pop()
            if run:
                names.append((start, " ".join(run).lower()))
            run = []
    return names
