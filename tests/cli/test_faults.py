"""SIGKILL during a bulk import and during a plan approval, at random points, on both
databases: the ledger is left as it was or with the whole operation, never part of it, and
`relief stock verify` stays clean."""

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from tests.cli.harness import DEPOTS_CSV, ITEMS_CSV, MOVEMENT_HEADER, Relief, write_csv
from tests.cli.test_dispatch import plan_json
from tests.conftest import BACKENDS, PG_URL, drop_pg_schema, pg_engine

RUNS = 3
ROWS = 12_000  # a few seconds of import on this machine: kills land before, during, after


@pytest.fixture(params=BACKENDS)
def ledger_url(
    request: pytest.FixtureRequest, tmp_path: Path, runner: CliRunner
) -> Iterator[Relief]:
    """An upgraded ledger with the tiny catalogue and plenty of stock for approvals."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
        schema = "relief_test_faults"
        pg_engine(schema).dispose()
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        relief = Relief(runner, url.render_as_string(hide_password=False), tmp_path / "unused")
    else:
        relief = Relief(runner, f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "ledger.db")
    relief.ok("db", "upgrade")
    relief.ok("catalog", "import", str(write_csv(tmp_path / "items.csv", ITEMS_CSV)))
    relief.ok("depots", "import", str(write_csv(tmp_path / "depots.csv", DEPOTS_CSV)))
    for depot, item, lot, extra in (
        ("CNTY", "WATER", "W1", ["--expires", "2099-06-30"]),
        ("CNTY", "TENT", "T1", []),
        ("TWN", "WATER", "W2", ["--expires", "2099-06-30"]),
    ):
        relief.post(
            "stock", "receive", "--depot", depot, "--item", item, "--qty", "100000",
            "--lot", lot, *extra,
        )  # fmt: skip
    yield relief
    if request.param == "postgresql":
        drop_pg_schema("relief_test_faults")


def _state(relief: Relief) -> tuple[str, str, str]:
    """Everything a keeper can read back: balances with reservations, every movement line,
    and the dispatch plans."""
    return (
        relief.ok("stock", "balance", "--json").stdout,
        relief.ok("stock", "export").stdout,
        relief.ok("dispatch", "status", "--json").stdout,
    )


def _movements(path: Path, run: int) -> Path:
    """Receipts and transfers under fresh references, several rows a reference."""
    rows = [MOVEMENT_HEADER]
    for i in range(ROWS):
        ref = f"K{run}-{i // 4}"
        if i % 4 == 3:
            rows.append(f"{ref},2026-03-02T09:00:00+08:00,receipt,TWN,TENT,K{run},1,,,")
        else:
            rows.append(f"{ref},2026-03-02T09:00:00+08:00,receipt,CNTY,TENT,K{run},2,,,")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _kill_after(args: list[str], delay_s: float, url: str) -> int:
    """Run `relief ARGS --db URL` in a process of its own and SIGKILL it after `delay_s`
    (or let it end first); returns its exit status."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from api.cli.main import app; app()", *args, "--db", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        proc.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
    return proc.wait()


def _all_or_nothing(relief: Relief, before: tuple[str, str, str], *again: str) -> None:
    """After a kill: verify is clean, and the ledger is either as before or holds the whole
    operation (running it again then changes nothing: each part was already there)."""
    assert relief("stock", "verify").exit_code == 0
    after = _state(relief)
    if after != before:
        relief(*again)
        assert _state(relief) == after, "a killed operation left part of itself"


def test_sigkill_during_bulk_import_leaves_all_or_nothing(
    ledger_url: Relief, tmp_path: Path
) -> None:
    """Kill `relief stock import` at random points, several times."""
    rng = random.Random(15)
    for run in range(RUNS):
        before = _state(ledger_url)
        path = _movements(tmp_path / f"m{run}.csv", run)
        _kill_after(["stock", "import", str(path)], rng.uniform(1.0, 8.0), ledger_url.url)
        _all_or_nothing(ledger_url, before, "stock", "import", str(path))


def test_sigkill_during_approval_leaves_all_or_nothing(ledger_url: Relief, tmp_path: Path) -> None:
    """Kill `relief dispatch approve` at random points, several times: reservations and the
    plan appear together or not at all."""
    rng = random.Random(16)
    for run in range(RUNS):
        before = _state(ledger_url)
        plan = plan_json(tmp_path / f"plan{run}.json", name=f"kill-{run}")
        _kill_after(["dispatch", "approve", str(plan)], rng.uniform(0.2, 2.5), ledger_url.url)
        _all_or_nothing(ledger_url, before, "dispatch", "approve", str(plan))
