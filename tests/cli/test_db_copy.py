"""`relief db copy`, `db backup` and `db restore`: a whole ledger moves between databases
(SQLite and PostgreSQL) with identical balances, documents and reservations."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from supply.db import make_engine, session_scope
from supply.services.reservations import reserve
from tests.cli.harness import Relief, movements_csv
from tests.conftest import PG_URL, drop_pg_schema, pg_engine

ROWS = [
    "RCV-1,2026-03-02T09:00:00+08:00,receipt,CNTY,WATER,W1,100,2099-06-30,,",
    "RCV-1,2026-03-02T09:00:00+08:00,receipt,CNTY,TENT,T1,40,,,",
    "TRF-1,2026-03-05T09:00:00+08:00,transfer,CNTY,WATER,W1,30,,,TWN",
    "ISS-1,2026-03-08T09:00:00+08:00,issue,TWN,WATER,W1,10,,,",
]


@pytest.fixture
def stocked(ledger: Relief, tmp_path: Path) -> Relief:
    """The tiny ledger with three documents, a reversal and a reservation."""
    ledger.ok("stock", "import", str(movements_csv(tmp_path / "m.csv", ROWS)))
    ledger.post("stock", "reverse", "IS-000001")
    engine = make_engine(ledger.url)
    with session_scope(engine) as session:
        reserve(session, depot="CNTY", item="TENT", qty=7, plan_ref="drill")
    engine.dispose()
    return ledger


def _state(relief: Relief) -> tuple[object, str]:
    """Balances with reservations, and every document line, as a keeper reads them."""
    return relief.balances(), relief.ok("stock", "export").stdout


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, not yet upgraded."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    pg_engine("relief_test_copy").dispose()
    yield f"{PG_URL}?options=-csearch_path%3Drelief_test_copy"
    drop_pg_schema("relief_test_copy")


def test_copy_moves_whole_ledger(
    stocked: Relief, runner: CliRunner, tmp_path: Path, fresh_url: str
) -> None:
    """SQLite to SQLite or PostgreSQL: every table comes across, `verify` runs on the target
    and its balances (reservations too) and documents equal the source's; posting goes on
    there with the next numbers."""
    target = Relief(runner, fresh_url, tmp_path / "target.db")
    target.ok("db", "upgrade")

    result = stocked("db", "copy", "--to", fresh_url)

    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "verified: ledger consistent" in result.stdout
    assert _state(target) == _state(stocked)
    assert ("CNTY", "TENT", "T1", 7) in {
        (b["depot"], b["item"], b["lot"], b["reserved"]) for b in target.balances()
    }
    assert target.post("stock", "issue", "--depot", "CNTY", "--item", "TENT", "--qty", "1") == (
        "IS-000002"
    )


def test_copy_refuses_a_target_that_holds_a_ledger(stocked: Relief) -> None:
    """Copying onto a ledger with data is refused in one line and changes nothing."""
    before = _state(stocked)

    result = stocked("db", "copy", "--to", stocked.url)

    assert result.exit_code == 2
    assert "fresh ledger" in result.stderr
    assert _state(stocked) == before


def test_backup_and_restore_round_trip(
    stocked: Relief, runner: CliRunner, tmp_path: Path, fresh_url: str
) -> None:
    """A backup restored into a new database has identical balances and documents; a
    backup of that (PostgreSQL: a portable SQLite file) restores once more to the same."""
    backup = tmp_path / "backup.db"
    stocked.ok("db", "backup", str(backup))
    target = Relief(runner, fresh_url, tmp_path / "target.db")
    if fresh_url.startswith("postgresql"):
        target.ok("db", "upgrade")

    restored = target.ok("db", "restore", str(backup))

    assert "verified: ledger consistent" in restored.stdout
    assert _state(target) == _state(stocked)
    again = tmp_path / "again.db"
    target.ok("db", "backup", str(again))
    last = Relief(runner, f"sqlite:///{tmp_path / 'last.db'}", tmp_path / "last.db")
    last.ok("db", "restore", str(again))
    assert _state(last) == _state(stocked)
    assert json.loads(last.ok("stock", "balance", "--json").stdout) == stocked.balances()


def test_restore_refuses_a_file_that_is_not_a_backup(relief: Relief, tmp_path: Path) -> None:
    """Any other file is refused in one line."""
    bogus = tmp_path / "notes.db"
    bogus.write_text("not a ledger", encoding="utf-8")

    result = relief("db", "restore", str(bogus))

    assert result.exit_code == 2
    assert "not a relief ledger backup" in result.stderr
