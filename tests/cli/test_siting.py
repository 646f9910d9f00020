"""`relief siting`: solve writes its five files, evaluate compares today and the proposal,
compare reads both, and a bad set exits 2 with one line."""

import csv
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from api.cli.main import app
from scenarios.scenario import SCENARIOS_DIR
from tests.cli.harness import Relief

SET = SCENARIOS_DIR / "haicheng-siting"


def test_siting_solve_writes_its_files(tmp_path: Path) -> None:
    """The bundled set solves within its budget and writes the five files; stock.csv has
    the quota import's columns."""
    out = tmp_path / "sol"
    result = CliRunner().invoke(
        app, ["siting", "solve", str(SET), "--out", str(out), "--time-limit", "10"]
    )
    assert result.exit_code == 0, result.output
    for name in ("siting.json", "sites.csv", "stock.csv", "siting.geojson", "siting.png"):
        assert (out / name).exists(), name
    doc = json.loads((out / "siting.json").read_text(encoding="utf-8"))
    assert doc["status"] in ("optimal", "feasible")
    assert doc["cost"] <= doc["budget"] + 1e-6
    with (out / "stock.csv").open(encoding="utf-8") as handle:
        quotas = list(csv.DictReader(handle))
    assert quotas
    assert set(quotas[0]) == {"item", "depot", "tier", "qty", "per_resident"}


def test_siting_evaluate_then_compare(tmp_path: Path) -> None:
    """A proposal (a siting.json's sites) is evaluated in-process beside today's network,
    and compare lists both networks."""
    sol = tmp_path / "sol"
    sol.mkdir()
    sites = [{"code": "NEW-CHAGOU", "opened": True, "stock": {"WATER-24": 300}}]
    doc = {"name": "proposal", "sites": sites, "expected_served": 1.0, "expected_total": 2.0,
           "cost": 1.0, "scenarios": []}  # fmt: skip
    (sol / "siting.json").write_text(json.dumps(doc), encoding="utf-8")
    ev = tmp_path / "ev"
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["siting", "evaluate", str(SET), "--network", str(sol), "--out", str(ev), "--in-process"],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((ev / "evaluation.csv").open(encoding="utf-8")))
    assert [r["network"] for r in rows] == ["today", "proposal"]
    assert (ev / "evaluation.png").exists()
    result = runner.invoke(app, ["siting", "compare", str(sol), str(ev)])
    assert result.exit_code == 0, result.output
    assert "today" in result.stdout


def test_siting_bad_set_exits_2_with_file_and_line(tmp_path: Path) -> None:
    """A candidate with a negative cost: one line naming file, row and column; exit 2."""
    folder = tmp_path / "set"
    shutil.copytree(SET, folder)
    base = SCENARIOS_DIR / "haicheng-earthquake"
    (folder / "scenarios.csv").write_text(f"folder,probability\n{base},1\n", encoding="utf-8")
    path = folder / "candidates.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace(",60000,800,", ",-5,800,"), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["siting", "solve", str(folder), "--out", str(tmp_path)])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "candidates.csv:8: fixed_cost:" in message
    assert "Traceback" not in result.output


def test_siting_evaluate_today_from_the_ledger(relief: Relief, tmp_path: Path) -> None:
    """With --db, today's stock is the ledger's: an empty ledger leaves only the agreement
    reserves, so fewer residents are served than with the scenario's own stock.csv."""
    out = tmp_path / "ev"
    relief.ok("siting", "evaluate", str(SET), "--out", str(out), "--in-process")
    rows = list(csv.DictReader((out / "evaluation.csv").open(encoding="utf-8")))
    assert [r["network"] for r in rows] == ["today"]
    assert int(rows[0]["residents_served"]) < 16890
