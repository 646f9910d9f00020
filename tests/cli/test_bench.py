"""`relief bench vrp`: a tiny VRPLIB file solved end to end; a bad file refused in one line."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app

#: Depot and four customers on two axes; capacity 2 -> two out-and-back tours of 22 each.
TINY_CVRP = """\
NAME : tiny-n5-k2
TYPE : CVRP
DIMENSION : 5
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 2
NODE_COORD_SECTION
1 0 0
2 0 10
3 0 11
4 10 0
5 11 0
DEMAND_SECTION
1 0
2 1
3 1
4 1
5 1
DEPOT_SECTION
1
-1
EOF
"""

#: Solomon format: two customers 5 away from the depot and 5 from each other, the way
#: back 7.07 (truncated to 7.0): one tour of 17.0.
TINY_SOLOMON = """\
TINY1

VEHICLE
NUMBER     CAPACITY
  2         10

CUSTOMER
CUST NO.   XCOORD.   YCOORD.    DEMAND   READY TIME   DUE DATE   SERVICE TIME

    0          0       0           0       0         1000           0
    1          0       5           1       0         100           10
    2          5       5           1       0         100           10
"""


def test_bench_vrp_solves_a_tiny_cvrplib_file(tmp_path: Path) -> None:
    """JSON with instance, objective (rounded-arc convention), seconds and routes."""
    path = tmp_path / "tiny-n5-k2.vrp"
    path.write_text(TINY_CVRP, encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "vrp", str(path), "--seconds", "1"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["instance"] == "tiny-n5-k2"
    assert doc["objective"] == 44
    assert doc["seconds"] <= 2.5
    assert sorted(sorted(r) for r in doc["routes"]) == [[1, 2], [3, 4]]


def test_bench_vrp_reads_solomon_with_truncated_distances(tmp_path: Path) -> None:
    """Distances truncated to one decimal: 5.0 + 5.0 + 7.0 (7.071 truncated) = 17.0."""
    path = tmp_path / "TINY1.txt"
    path.write_text(TINY_SOLOMON, encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "vrp", str(path), "--seconds", "1"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["objective"] == 17.0
    assert len(doc["routes"]) == 1


def test_bench_vrp_refuses_a_bad_file_in_one_line(tmp_path: Path) -> None:
    """Not a VRPLIB file: one error line, exit code 2, nothing on stdout."""
    path = tmp_path / "junk.vrp"
    path.write_text("this is not an instance\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "vrp", str(path), "--seconds", "1"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "junk.vrp" in result.stderr


def test_bench_vrp_refuses_a_missing_file(tmp_path: Path) -> None:
    """A path that does not exist: one error line naming it, exit code 2."""
    result = CliRunner().invoke(app, ["bench", "vrp", str(tmp_path / "nope.vrp")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


BKS_CSV = """\
family,instance,n,objective,proven_optimal,source_repo,source_path,file,convention,notes
cvrp,tiny-n5-k2,4,44,true,,,cvrp/tiny-n5-k2.vrp,rounded,
vrptw,TINY1,2,17.0,true,,,vrptw/TINY1.txt,truncated,
"""


def _bench_dir(tmp_path: Path) -> Path:
    (tmp_path / "cvrp").mkdir()
    (tmp_path / "vrptw").mkdir()
    (tmp_path / "cvrp" / "tiny-n5-k2.vrp").write_text(TINY_CVRP, encoding="utf-8")
    (tmp_path / "vrptw" / "TINY1.txt").write_text(TINY_SOLOMON, encoding="utf-8")
    (tmp_path / "bks.csv").write_text(BKS_CSV, encoding="utf-8")
    return tmp_path


def _json_tail(text: str) -> dict:
    return json.loads(text[text.index("\n{") + 1 :])


def test_bench_routing_reports_gaps_per_family(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m bench routing` on a folder of instances: zero gap on both tiny ones,
    the family means judged against their targets, JSON at the end."""
    from bench.__main__ import main

    directory = _bench_dir(tmp_path)
    code = main(
        ["routing", "--dir", str(directory), "--seconds", "1", "--workers", "1", "--no-pyvrp"]
    )
    assert code == 0
    doc = _json_tail(capsys.readouterr().out)
    assert {r["instance"]: r["gap"] for r in doc["instances"]} == {"tiny-n5-k2": 0.0, "TINY1": 0.0}
    assert doc["summary"]["cvrp"]["ok"]
    assert doc["summary"]["vrptw"]["ok"]


def test_bench_routing_runs_pyvrp_in_the_same_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With PyVRP installed, each instance is also solved by PyVRP and our routes are
    checked by its evaluator."""
    pytest.importorskip("pyvrp")
    from bench.__main__ import main

    directory = _bench_dir(tmp_path)
    argv = ["routing", "--dir", str(directory), "--seconds", "1", "--workers", "1", "--pyvrp"]
    assert main([*argv, "--instances", "tiny-n5-k2"]) == 0
    doc = _json_tail(capsys.readouterr().out)
    row = doc["instances"][0]
    assert row["pyvrp_objective"] == 44
    assert row["checked_by_pyvrp"] == {"feasible": True, "objective": 44.0}


def test_bench_tours_reports_runs_bound_and_repeatability(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`python -m bench tours` on the tiny scenario, two runs: per run the promise, the
    tours' figure, the bound and the status; a summary per limit counting identical plans;
    the search's speed both ways, making the same steps."""
    from bench.__main__ import main

    tiny = Path(__file__).resolve().parents[1] / "data" / "two-depots"
    # Little work under a generous cap: the clock never decides, whatever the machine's load.
    argv = ["tours", "--scenario", str(tiny), "--seconds", "30", "--steps-per-second", "100"]
    assert main([*argv, "--runs", "2", "--no-pyvrp"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["runs"]) == 2
    for run in doc["runs"]:
        assert 0 < run["served"] <= run["bound"]
        assert run["untoured"] == 0
        assert run["status"] in ("optimal", "feasible")
    (summary,) = doc["summary"]
    assert summary["limit_s"] == 30
    assert summary["capped_runs"] == 0
    assert summary["identical_plans"] == 2
    assert summary["untoured_runs"] == 0
    assert doc["speed"]
    assert all(row["steps_per_s_incremental"] > 0 for row in doc["speed"])
