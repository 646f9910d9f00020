"""Fixtures for the `relief` CLI tests: a fresh SQLite file per test, driven by CliRunner."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cli.harness import DEPOTS_CSV, ITEMS_CSV, Relief, write_csv


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def empty_db(tmp_path: Path, runner: CliRunner) -> Relief:
    """A database file that exists in name only: `relief db upgrade` never ran on it."""
    db_file = tmp_path / "ledger.db"
    return Relief(runner, f"sqlite:///{db_file}", db_file)


@pytest.fixture
def relief(empty_db: Relief) -> Relief:
    """A fresh, upgraded ledger with no catalogue and no depots."""
    empty_db.ok("db", "upgrade")
    return empty_db


@pytest.fixture
def ledger(relief: Relief, tmp_path: Path) -> Relief:
    """An upgraded ledger holding the tiny catalogue and depot network (no stock)."""
    relief.ok("catalog", "import", str(write_csv(tmp_path / "items.csv", ITEMS_CSV)))
    relief.ok("depots", "import", str(write_csv(tmp_path / "depots.csv", DEPOTS_CSV)))
    return relief
