"""A single issue over HTTP costs a bounded number of SQL statements, log-in included.

At 16 concurrent clients on two shared cores a request's latency is mostly the queue in
front of it, so what a request costs (its statements, and the CPU each one takes to build
and read) decides the p95 (issue 12). The statements are counted, not timed, so the figure
holds on a loaded machine: a change that adds a statement to every keeper's issue fails
here and has to say why. `tests/supply/test_post_statements.py` bounds the ledger's part.
"""

from typing import Any

from sqlalchemy import event

from tests.http.conftest import Api, on_hand, receive

#: Statements sent for one issue request: the user's lookup, then the post (BEGIN counted
#: where the driver sends it as a statement: SQLite's; psycopg opens PostgreSQL's
#: transactions itself). The pool's pre-ping is not a statement the engine executes.
MOST_STATEMENTS = {"sqlite": 11, "postgresql": 6}
#: With an `Idempotency-Key`: the stored-answer lookup, the stored answer and the ledger's
#: key check (and on PostgreSQL the key's advisory lock).
MOST_WITH_KEY = {"sqlite": 14, "postgresql": 10}


def _issue_statements(api: Api, headers: dict[str, str]) -> list[str]:
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    keeper = api.client("keeper")
    event.listen(api.engine, "before_cursor_execute", count)
    try:
        got = keeper.post(
            "/documents/issues",
            json={"depot": "COUNTY", "item": "WATER", "qty": 1},
            headers=headers,
        )
    finally:
        event.remove(api.engine, "before_cursor_execute", count)
    assert got.status_code == 201, got.text
    return sent


def test_single_issue_stays_within_its_statement_count(api: Api) -> None:
    """A keeper's issue, after a first one has made the rows every issue shares (the
    distributed location's balance, the document counter), sends no more statements than
    `MOST_STATEMENTS` allows, with or without an Idempotency-Key, and moves the stock."""
    receive(api, 100)
    _issue_statements(api, {})  # the first issue creates what later ones update
    backend = api.engine.dialect.name
    plain = _issue_statements(api, {})
    keyed = _issue_statements(api, {"Idempotency-Key": "statements-1"})
    assert len(plain) <= MOST_STATEMENTS[backend], plain
    assert len(keyed) <= MOST_WITH_KEY[backend], keyed
    assert on_hand(api) == 97
