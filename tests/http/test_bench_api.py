"""`python -m bench api` runs a real server and a bounded load on SQLite, and reports every
phase with no error (figures are not asserted: they depend on the machine's load)."""

import argparse
import json
from pathlib import Path

import pytest

from bench import api as bench_api


def _args(tmp_path: Path, **given: object) -> argparse.Namespace:
    """`python -m bench api`'s options for a short run on SQLite, with `given` changed."""
    options: dict[str, object] = {
        "pg": None,
        "clients": [1, 2],
        "requests": 3,
        "workers": 1,
        "cost": False,
        "access_log": False,
        "json_out": tmp_path / "api.json",
    }
    return argparse.Namespace(**{**options, **given})


def test_bench_api_reports_each_phase_without_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two operations x two client counts, every request answered 2xx."""
    args = _args(tmp_path)
    assert bench_api.run(args) == 0
    document = json.loads((tmp_path / "api.json").read_text(encoding="utf-8"))
    phases = [(r["operation"], r["clients"], r["n"], r["errors"]) for r in document["results"]]
    assert phases == [
        ("balance query", 1, 3, 0),
        ("balance query", 2, 6, 0),
        ("single issue", 1, 3, 0),
        ("single issue", 2, 6, 0),
    ]
    assert "HTTP API over loopback" in capsys.readouterr().out


def test_bench_api_cost_counts_statements_and_cpu_of_each_operation(tmp_path: Path) -> None:
    """`--cost` runs the app in process: each operation answers 2xx, its statements are
    counted (an issue writes, so it sends more than a balance query reads) and its CPU
    time is measured."""
    args = _args(tmp_path, clients=[1], requests=2, cost=True)
    assert bench_api.run(args) == 0
    document = json.loads((tmp_path / "api.json").read_text(encoding="utf-8"))
    rows = {r["operation"]: r for r in document["results"]}
    assert set(rows) == {"balance query", "single issue"}
    assert all(r["errors"] == 0 and r["cpu_ms"] > 0 for r in rows.values())
    assert rows["single issue"]["statements"] > rows["balance query"]["statements"] > 0
