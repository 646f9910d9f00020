"""`relief demo`: the bundled sample network on a fresh ledger, end to end."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import demo
from api.cli.main import app

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny"


def test_demo_loads_sample_and_verifies_on_fresh_db(runner: CliRunner, tmp_path: Path) -> None:
    """The demo exits 0, reports a consistent ledger, and writes balances.json with rows."""
    out = tmp_path / "demo"

    result = runner.invoke(app, ["demo", "--out", str(out)])

    assert result.exit_code == 0, result.stderr
    assert "verify: consistent" in result.stdout
    rows = json.loads((out / "balances.json").read_text(encoding="utf-8"))
    assert rows
    assert {"depot", "item", "lot", "on_hand", "available"} <= set(rows[0])
    # The sample's one local purchase: 30 cases received at Gushan, 6 issued.
    gushan = [r for r in rows if r["depot"] == "HC-T-GUSHAN" and r["lot"] == "W2405G"]
    assert [r["on_hand"] for r in gushan] == [24]
    assert (out / "relief.db").exists()
    # The agreement step: 300 cases called off to Ximu and received, then owed to the supplier.
    assert "called off CO-000001: 300 cases of water under AG-HC-SM-WATER" in result.stdout
    ximu = [r for r in rows if r["depot"] == "HC-T-XIMU" and r["lot"] == "W-DEMO-CO"]
    assert [r["on_hand"] for r in ximu] == [300]
    assert "reserve-quota shortfalls" in result.stdout
    assert "8,850.00" in result.stdout  # 300 × (28.00 + 1.50)
    # The planned scenario comes with truck tours and a manifest page per truck.
    plan = json.loads((out / "plan" / "plan.json").read_text(encoding="utf-8"))
    assert plan["routes"]
    assert plan["routing"]["vehicles_used"] == len(plan["routes"])
    page = (out / "plan" / "manifests.html").read_text(encoding="utf-8")
    assert page.count("<section>") == len(plan["routes"])


def test_demo_into_given_db_matches_balance_and_reruns_without_doubling(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --db the demo loads that ledger; a second run imports nothing new and calls off
    nothing more. (The ledger is the point here: the plan step plans the tiny scenario.)"""
    monkeypatch.setattr(demo, "BUNDLED", TINY)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    out = tmp_path / "demo"
    first = runner.invoke(app, ["demo", "--out", str(out), "--db", url])
    written = json.loads((out / "balances.json").read_text(encoding="utf-8"))

    second = runner.invoke(app, ["demo", "--out", str(out), "--db", url])
    shown = runner.invoke(app, ["stock", "balance", "--json", "--db", url])

    assert first.exit_code == 0, first.stderr
    assert second.exit_code == 0, second.stderr
    assert "verify: consistent" in second.stdout
    assert "was made by an earlier run" in second.stdout
    assert json.loads(shown.stdout) == written
    assert json.loads((out / "balances.json").read_text(encoding="utf-8")) == written
