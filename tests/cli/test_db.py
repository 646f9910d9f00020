"""`relief db upgrade`, and what every other command says before it has been run."""

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app
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


def test_db_option_with_missing_folder_is_one_line_error(runner: CliRunner, tmp_path: Path) -> None:
    """A SQLite path whose folder does not exist is refused in one line, exit 2, and no folder
    or file is created (it used to create both, then blame a missing `db upgrade`)."""
    url = f"sqlite:///{tmp_path}/no/such/dir/x.db"
    for args in (["stock", "balance"], ["db", "upgrade"]):
        result = runner.invoke(app, [*args, "--db", url])

        assert result.exit_code == 2, result.stdout
        assert "does not exist" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    "url", ["notaurl://x", "mysql://u@h/db", "not a url", "postgresql+nodriver://h/db"]
)
def test_db_option_unknown_scheme_is_one_line_error(runner: CliRunner, url: str) -> None:
    """An unknown scheme or driver is a one-line refusal, exit 2, not a traceback."""
    result = runner.invoke(app, ["stock", "balance", "--db", url])

    assert result.exit_code == 2, (result.stdout, result.exception)
    assert "--db" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_only_db_upgrade_creates_a_ledger_and_says_so(empty_db: Relief) -> None:
    """Another command on a missing file creates nothing; `db upgrade` creates it and says so."""
    refused = empty_db("stock", "balance")
    assert refused.exit_code == 2
    assert "relief db upgrade" in refused.stderr
    assert not empty_db.db_file.exists()

    created = empty_db.ok("db", "upgrade")

    assert f"created a new ledger at {empty_db.db_file}" in created.stdout
    assert empty_db.db_file.exists()
