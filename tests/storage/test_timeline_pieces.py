"""A paragraph cut into pieces first must give the segmenter's own sentences."""

from __future__ import annotations

from storage.ingest.sentences import split_sentences
from storage.ingest.timeline import _one_sentence, _pieces


def test_nested_brackets_are_cut_as_the_segmenter_cuts_them() -> None:
    text = "(in (in (a) May))."
    cut = [
        sentence
        for piece in _pieces(text)
        for sentence in ([piece] if _one_sentence(piece) else split_sentences(piece))
    ]
    assert cut == split_sentences(text)
