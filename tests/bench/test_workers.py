"""The workers benchmark's bookkeeping: answers paired with updates, order, figures."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType


def load_benchmark() -> ModuleType:
    """bench/workers.py, loaded from its file: the benchmarks are scripts, not a package."""
    path = Path(__file__).resolve().parents[2] / "bench" / "workers.py"
    spec = importlib.util.spec_from_file_location("bench_workers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


workers = load_benchmark()
Answer, Sent = workers.Answer, workers.Sent
cpu_seconds, kind_of_answer = workers.cpu_seconds, workers.kind_of_answer
match_answers, percentile, schema_url = (
    workers.match_answers,
    workers.percentile,
    workers.schema_url,
)

LIST = "<b>Latest articles</b>\n\n1. Drills"
CARD = "<b>Joint Anti-Missile Drills</b>\n<i>30 November 2026</i>"
PAGE = "<b>Comments on Joint Anti-Missile Drills</b>"
POSTED = "✅ Comment #6 posted on “Joint Anti-Missile Drills”."


def sent(update_id: int, chat_id: int, message_id: int, kind: str) -> object:
    """An update as the benchmark keeps it (its body does not matter here)."""
    return Sent(update_id, chat_id, message_id, kind, b"", in_group=chat_id < 0)


def test_answers_are_told_apart_by_their_first_words() -> None:
    assert [kind_of_answer(text) for text in (LIST, CARD, PAGE, POSTED)] == [
        "latest",
        "article",
        "comments",
        "comment",
    ]


def test_a_group_answer_goes_to_the_message_it_quotes() -> None:
    updates = [sent(1, -5, 10, "latest"), sent(2, -5, 11, "latest")]
    answers = [Answer(2.0, -5, 11, LIST), Answer(3.0, -5, 10, LIST)]
    matched = match_answers(updates, answers)
    assert matched.times == {1: [3.0], 2: [2.0]}
    assert matched.overtaken == {("group", "latest", "latest"): 1}


def test_a_private_answer_goes_to_the_oldest_unanswered_update_of_its_kind() -> None:
    updates = [sent(1, 7, 1, "latest"), sent(2, 7, 2, "comment"), sent(3, 7, 3, "latest")]
    answers = [
        Answer(1.0, 7, None, LIST),
        Answer(2.0, 7, None, LIST),
        Answer(3.0, 7, None, POSTED),
    ]
    matched = match_answers(updates, answers)
    assert matched.times == {1: [1.0], 2: [3.0], 3: [2.0]}
    assert matched.overtaken == {("private", "comment", "latest"): 1}


def test_answers_in_order_break_no_order() -> None:
    updates = [sent(1, 7, 1, "article"), sent(2, 7, 2, "comments"), sent(3, 8, 1, "latest")]
    answers = [Answer(1.0, 8, None, LIST), Answer(2.0, 7, None, CARD), Answer(3.0, 7, None, PAGE)]
    matched = match_answers(updates, answers)
    assert matched.times == {1: [2.0], 2: [3.0], 3: [1.0]}
    assert not matched.overtaken
    assert matched.strays == 0


def test_a_second_answer_doubles_an_update_and_one_of_no_kind_sent_is_a_stray() -> None:
    updates = [sent(1, 7, 1, "comment"), sent(2, -5, 4, "comment")]
    answers = [
        Answer(1.0, 7, None, POSTED),
        Answer(2.0, 7, None, POSTED),
        Answer(3.0, -5, 4, POSTED),
        Answer(4.0, -5, 4, POSTED),
        Answer(5.0, 7, None, LIST),
    ]
    matched = match_answers(updates, answers)
    assert matched.times == {1: [1.0, 2.0], 2: [3.0, 4.0]}
    assert matched.strays == 1
    assert not matched.overtaken


def test_an_update_with_no_answer_has_no_times() -> None:
    matched = match_answers([sent(1, 7, 1, "latest")], [])
    assert matched.times == {1: []}


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(n) for n in range(100, 0, -1)]
    assert percentile(samples, 0.5) == 51.0
    assert percentile(samples, 0.99) == 100.0
    assert math.isnan(percentile([], 0.5))


def test_the_schema_goes_on_the_search_path_and_names_the_connections() -> None:
    assert schema_url("postgresql://pg@host/db", "bench_1") == (
        "postgresql://pg@host/db?search_path=bench_1&application_name=bench_1"
    )
    assert schema_url("postgresql://pg@host/db?sslmode=disable", "b").startswith(
        "postgresql://pg@host/db?sslmode=disable&search_path=b"
    )


def test_cpu_seconds_add_user_and_system_time_even_with_a_space_in_the_name() -> None:
    fields = ["S", *["0"] * 10, "150", "50", *["0"] * 30]
    stat = "42 (newsbot run) " + " ".join(fields)
    assert math.isclose(cpu_seconds(stat, ticks=100), 2.0)


def test_an_unquoted_group_answer_skips_the_updates_answered_by_their_quote() -> None:
    updates = [sent(1, -5, 10, "latest"), sent(2, -5, 11, "latest")]
    answers = [Answer(1.0, -5, 10, LIST), Answer(2.0, -5, None, LIST)]
    matched = match_answers(updates, answers)
    assert matched.times == {1: [1.0], 2: [2.0]}
