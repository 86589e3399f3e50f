"""The few SQL pieces the store's shared queries write differently for each engine.

Each query is written once, in SQL both engines read (``ON CONFLICT``, ``RETURNING``,
``IS NOT DISTINCT FROM``); where they part, the query asks its store's dialect
(``self.sql``) for the piece. Full-text search differs too much for pieces: SQLite's
is ``storage.search``, PostgreSQL's is ``storage.postgres``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dialect:
    """The SQL of one engine for what the other writes differently."""

    name: str
    greatest_function: str  # the larger of two values
    json_list_function: str  # the rows' values as a JSON array (text)
    json_array_function: str  # a JSON array of the values given
    index_hint: str  # "INDEXED BY {index}" where the planner needs telling, else ""
    sets_identity: bool  # whether an explicit id leaves the id sequence behind
    skip_locked: str  # after a SELECT of rows to claim: leave those another claims now

    def greatest(self, first: str, second: str) -> str:
        """SQL: the larger of two values."""
        return f"{self.greatest_function}({first}, {second})"

    def json_list(self, expression: str) -> str:
        """SQL: an aggregate of ``expression`` over the rows as a JSON array (text)."""
        return f"coalesce({self.json_list_function}({expression}), '[]')"

    def json_array(self, *values: str) -> str:
        """SQL: a JSON array of these values."""
        return f"{self.json_array_function}({', '.join(values)})"

    def using_index(self, index: str) -> str:
        """SQL after a table's name in FROM: read it through ``index`` (SQLite only)."""
        return self.index_hint.format(index=index)


SQLITE = Dialect(
    name="sqlite",
    greatest_function="max",
    json_list_function="json_group_array",
    json_array_function="json_array",
    index_hint="INDEXED BY {index}",
    sets_identity=False,
    skip_locked="",  # one writer at a time: nobody else is claiming
)
POSTGRES = Dialect(
    name="postgres",
    greatest_function="greatest",
    json_list_function="json_agg",
    json_array_function="json_build_array",
    index_hint="",
    sets_identity=True,
    skip_locked="FOR UPDATE SKIP LOCKED",
)
