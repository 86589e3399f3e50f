"""A statement is written once, with SQLite's ``?`` and ``:name`` parameters; on PostgreSQL
they become ``$n``. Only parameters are: what looks like one inside a comment, a string
or a cast is SQL, and stays as it was."""

from __future__ import annotations

import pytest

from storage import Store
from storage.postgres import placeholders


async def test_a_question_mark_or_a_colon_in_a_comment_or_a_string_is_no_parameter(
    store: Store,
) -> None:
    rows = await store._all(
        "SELECT ? AS a, '?' AS b, ':b' AS c -- which one? :b\n/* not ? nor :b */ , ? AS d",
        ("first", "second"),
    )
    assert [tuple(row) for row in rows] == [("first", "?", ":b", "second")]
    rows = await store._all("SELECT :b AS a -- :c? no\n, :b || ':a' AS b", {"b": "same"})
    assert [tuple(row) for row in rows] == [("same", "same:a")]


@pytest.mark.parametrize(
    ("sql", "expected", "names"),
    [
        ("SELECT E'it\\'s ?', ?", "SELECT E'it\\'s ?', $1", None),
        ("SELECT e'\\\\', :a", "SELECT e'\\\\', $1", ("a",)),
        ("SELECT $$ ? :a $$, $tag$ ' ? $tag$, ?", "SELECT $$ ? :a $$, $tag$ ' ? $tag$, $1", None),
        ("SELECT (ARRAY[1, 2])[1:2], :id", "SELECT (ARRAY[1, 2])[1:2], $1", ("id",)),
        ("SELECT :n::int, :n + :m", "SELECT $1::int, $1 + $2", ("n", "m")),
        ("SELECT 'a''?', \"c?\", ?", "SELECT 'a''?', \"c?\", $1", None),
    ],
)
def test_postgresql_only_sql_keeps_what_is_not_a_parameter(
    sql: str, expected: str, names: tuple[str, ...] | None
) -> None:
    translated = placeholders(sql)
    assert (translated.sql, translated.names) == (expected, names)
