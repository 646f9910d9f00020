"""`relief plan`: a scenario folder in, plan files and a headline out."""

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from api.cli.main import app
from optimizer.plan_document import PlanDocument
from scenarios.scenario import BUNDLED
from tests.cli.harness import Relief

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


TWO_DEPOTS = Path(__file__).resolve().parents[1] / "data" / "two-depots"


def little_work(tmp_path: Path) -> list[str]:
    """Options for a plan whose search work is small and whose cap is generous: the clock
    never decides it, however busy the machine running the tests."""
    params = tmp_path / "little.toml"
    params.write_text("[routing]\nsteps_per_second = 200\n", encoding="utf-8")
    return ["--time-limit", "60", "--params", str(params)]


def test_the_same_seed_gives_the_same_plan_and_reproduce_confirms_it(tmp_path: Path) -> None:
    """Two runs with one seed write the same plan (timings aside), with its provenance;
    `--reproduce` re-runs it from inputs.json and says it is the same (exit 0)."""
    docs = []
    for k in range(2):
        out = tmp_path / f"p{k}"
        result = CliRunner().invoke(
            app, ["plan", str(TWO_DEPOTS), "--out", str(out), "--seed", "7", *little_work(tmp_path)]
        )
        assert result.exit_code == 0, result.output
        doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
        assert doc["provenance"]["seed"] == 7
        assert doc["provenance"]["scenario_files"]["shelters.csv"]
        assert doc["routing"]["untoured_depots"] == []
        assert doc["routing"]["capped"] is False
        for key in ("solve_seconds", "provenance"):
            doc.pop(key)
        doc["routing"].pop("seconds")
        docs.append(doc)
    assert docs[0] == docs[1]
    again = CliRunner().invoke(app, ["plan", "--reproduce", str(tmp_path / "p0" / "plan.json")])
    assert again.exit_code == 0, again.output
    assert "same plan" in again.stdout


def test_reproduce_names_a_changed_input_file(tmp_path: Path) -> None:
    """A scenario file edited after planning is named, and reproduce exits 1."""
    folder = tmp_path / "scenario"
    shutil.copytree(TWO_DEPOTS, folder)
    out = tmp_path / "plan"
    argv = ["plan", str(folder), "--out", str(out), *little_work(tmp_path)]
    assert CliRunner().invoke(app, argv).exit_code == 0
    shelters = folder / "shelters.csv"
    shelters.write_text(shelters.read_text(encoding="utf-8").replace(",400", ",450"), "utf-8")
    result = CliRunner().invoke(app, ["plan", "--reproduce", str(out / "plan.json")])
    assert result.exit_code == 1
    assert "shelters.csv: changed since the plan was made" in " ".join(result.stderr.split())


def test_a_time_limit_below_what_planning_needs_is_refused(tmp_path: Path) -> None:
    """A limit too short for reading, travel times and planning is refused up front with
    the time it needs (exit 2, nothing written)."""
    out = tmp_path / "o"
    result = CliRunner().invoke(
        app, ["plan", str(TWO_DEPOTS), "--out", str(out), "--time-limit", "0.2"]
    )
    assert result.exit_code == 2
    assert "use at least" in result.stderr
    assert not out.exists()


def test_plan_neighbours_needs_the_ledger_and_a_known_jurisdiction(
    empty_db: Relief, tmp_path: Path
) -> None:
    """--neighbours borrows from a ledger's neighbours: without --db, for an unknown
    jurisdiction or with a negative lead time it is a one-line error (exit 2)."""
    out = ["--out", str(tmp_path / "p"), "--no-routes"]
    alone = CliRunner().invoke(app, ["plan", str(TINY), *out, "--neighbours", "310101"])
    assert (alone.exit_code, "only with --db" in alone.output) == (2, True)
    empty_db.ok("db", "upgrade")
    unknown = empty_db("plan", str(TINY), *out, "--neighbours", "999999")
    assert (unknown.exit_code, "999999" in unknown.output) == (2, True)
    negative = empty_db("plan", str(TINY), *out, "--neighbours", "310101", "--aid-lead-hours", "-1")
    assert (negative.exit_code, "--aid-lead-hours" in negative.output) == (2, True)
    assert "Traceback" not in unknown.output + negative.output
