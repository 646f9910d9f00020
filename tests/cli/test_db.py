"""`relief db upgrade`, and what every other command says before it has been run."""

import sqlite3

from tests.cli.harness import Relief


def test_db_upgrade_is_idempotent_when_run_twice(empty_db: Relief) -> None:
    """Running `relief db upgrade` on an up-to-date ledger succeeds and changes nothing."""
    first = empty_db("db", "upgrade")
    second = empty_db("db", "upgrade")

    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 0, second.stderr
    assert "head" in second.stdout
    with sqlite3.connect(empty_db.db_file) as conn:
        (revisions,) = conn.execute("SELECT count(*) FROM alembic_version").fetchone()
    assert revisions == 1
    assert empty_db.balances() == []


def test_command_refused_when_database_never_upgraded(empty_db: Relief) -> None:
    """A command on a database without tables exits 2 and tells the keeper to upgrade it."""
    result = empty_db("stock", "balance", "--json")

    assert result.exit_code == 2
    assert "relief db upgrade" in result.stderr
    assert result.stdout == ""


def test_posting_refused_when_database_never_upgraded(empty_db: Relief) -> None:
    """A receipt into a database without tables exits 2 and points at `relief db upgrade`."""
    result = empty_db(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "5", "--lot", "T1"
    )

    assert result.exit_code == 2
    assert "relief db upgrade" in result.stderr
