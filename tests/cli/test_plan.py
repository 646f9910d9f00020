"""`relief plan`: a scenario folder in, plan files and a headline out."""

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from api.cli.main import app
from optimizer.plan_document import PlanDocument
from scenarios.scenario import BUNDLED

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny"


def test_plan_bundled_scenario_writes_files_and_headline(tmp_path: Path) -> None:
    """The bundled scenario plans in seconds and writes JSON, GeoJSON, CSV and a PNG map
    whose figures agree with each other."""
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        app, ["plan", str(BUNDLED), "--out", str(out), "--time-limit", "20"]
    )
    assert result.exit_code == 0, result.output
    assert "served within 10 h" in " ".join(result.stdout.split())  # however Rich wraps
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert plan["status"] in ("optimal", "feasible")
    k = plan["kpis"]
    assert k["residents_served_on_time"] == sum(
        s["residents"] for s in plan["shelters"] if s["served_on_time"]
    )
    assert 0 < k["share_served_on_time"] < 1
    unreachable = [s for s in plan["shelters"] if any("unreachable" in r for r in s["reasons"])]
    assert unreachable
    assert all(not s["served_on_time"] for s in unreachable)
    geo = json.loads((out / "plan.geojson").read_text(encoding="utf-8"))
    assert geo["type"] == "FeatureCollection"
    assert (out / "shipments.csv").read_text(encoding="utf-8").startswith("source,")
    assert (out / "plan.png").read_bytes()[:4] == b"\x89PNG"


def test_plan_with_bad_scenario_exits_2_with_loader_message(tmp_path: Path) -> None:
    """A scenario error exits 2 and prints the loader's file:line message."""
    folder = tmp_path / "bad"
    shutil.copytree(BUNDLED, folder)
    path = folder / "shelters.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",many"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", str(folder), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "shelters.csv:3: residents" in result.stderr


def test_plan_json_flag_prints_plan(tmp_path: Path) -> None:
    """--json prints the plan document itself on stdout (the tiny scenario: seconds, not
    the bundled one's twenty), valid under the plan document schema."""
    result = CliRunner().invoke(
        app, ["plan", str(TINY), "--out", str(tmp_path / "o"), "--json", "--deadline", "6"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["deadline_hours"] == 6
    doc = PlanDocument.model_validate(plan)
    assert doc.routes
    on_time = [s for s in doc.shipments if s.arrival_hours is not None and s.arrival_hours <= 6]
    assert sum(s.qty for s in on_time) > 0
