"""Readers never wait for writers on SQLite; a writer that times out says who holds the lock."""

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.cli.common import lock_holder, writer_note
from supply.settings import get_settings
from tests.cli.harness import Relief


@pytest.fixture
def short_wait(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Writers give up after 1 s instead of 60 s (readers must not wait at all)."""
    monkeypatch.setenv("RELIEF_BUSY_TIMEOUT_S", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_reads_answer_from_last_commit_while_writer_holds_lock(
    ledger: Relief, short_wait: None
) -> None:
    """While another connection holds the write lock with uncommitted changes (as a long
    import does), balance, verify and export answer from the last committed state; a writer
    times out with a message naming the lock, not `db upgrade`, and writes nothing. Every
    transaction used to begin IMMEDIATE, so readers waited and failed too."""
    ledger.post(
        "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "5", "--lot", "T1"
    )
    writer = sqlite3.connect(ledger.db_file, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE balance SET on_hand = on_hand + 1000 WHERE on_hand > 0")

        assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 5}
        assert ledger("stock", "verify").exit_code == 0
        exported = ledger("stock", "export")
        assert exported.exit_code == 0
        assert exported.stdout.count("\n") == 3
        refused = ledger(
            "stock", "receive", "--depot", "CNTY", "--item", "TENT", "--qty", "1", "--lot", "T1"
        )
        assert refused.exit_code == 2
        assert "locked by another writer" in refused.stderr
        assert "db upgrade" not in refused.stderr
    finally:
        writer.rollback()
        writer.close()
    assert ledger.on_hand() == {("CNTY", "TENT", "T1"): 5}


def test_lock_holder_names_the_command_or_a_stale_note(tmp_path: Path) -> None:
    """The writer's note names pid and command while it runs; a note left by a killed
    process is called stale; without a note the holder is unknown."""
    ledger_file = tmp_path / "l.db"
    assert "no relief command" in lock_holder(ledger_file)
    with writer_note(ledger_file):
        assert f"pid {os.getpid()}" in lock_holder(ledger_file)
    assert not (tmp_path / "l.db-writer").exists()
    (tmp_path / "l.db-writer").write_text("999999999\t2026-12-01T10:00:00\trelief stock import x\n")
    assert "stale" in lock_holder(ledger_file)


def test_read_results_stay_loaded_after_the_read(ledger: Relief) -> None:
    """A read returns ORM rows (depots list): they must still be readable once the read-only
    transaction has ended."""
    listed = ledger.ok("depots", "list").stdout

    assert "CNTY" in listed
    assert "TWN" in listed
