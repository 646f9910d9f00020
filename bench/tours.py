"""Tours benchmark: how much of the allocation's promise real truck tours keep.

The allocation plans with a fleet model (whole shuttles, fluid loads); the tours must pack
whole parts into trucks, stop at several shelters and chain trips. For a scenario, at each
time limit, this runs the whole planner (`optimizer.planner.plan_with_tours`) several
times and reports, per run: the residents the first allocation promised on time (the
baseline, measured in the same run), what the first round's tours kept, what the best
round kept after re-allocation, the on-time parts the tours missed, the rounds and the
seconds against the limit. Runs differ because the route search is randomised and timed
by the wall clock, so the spread matters as much as the mean.

Target: the kept share (tours / allocation) as high as the time allows, every run within
its time limit plus a second.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from optimizer.planner import plan_with_tours, prepare_search
from scenarios.scenario import load_scenario

HELP = "Tours: residents the routed plan serves on time against the allocation's promise."

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "haicheng-earthquake"
OVERRUN_S = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument(
        "--seconds", type=float, nargs="+", default=[20.0, 60.0], help="Time limits to try."
    )
    parser.add_argument("--repeat", type=int, default=3, help="Runs per time limit.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the JSON here.")


def _one(problem: Any, seconds: float) -> dict[str, Any]:
    began = time.perf_counter()
    plan = plan_with_tours(problem, time_limit_s=seconds)
    took = time.perf_counter() - began
    assert plan.routing is not None
    rounds = plan.routing["rounds"]
    return {
        "seconds": round(took, 2),
        "allocation": rounds[0]["allocation_residents_on_time"],
        "first_tours": rounds[0]["routed_residents_on_time"],
        "best_tours": plan.kpis()["residents_served_on_time"],
        "rounds": len(rounds),
        "missed_parts_first": rounds[0]["on_time_parts_missed"],
        "late_stops": plan.routing["late_stops"],
        "status": plan.status.value,
    }


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    _, problem = load_scenario(args.scenario)
    with console.status("compiling the route search (once per machine)"):
        prepare_search()
    results: list[dict[str, Any]] = []
    for seconds in args.seconds:
        for k in range(args.repeat):
            with console.status(f"{problem.name}: {seconds:g} s, run {k + 1}/{args.repeat}"):
                results.append({"limit_s": seconds, "run": k + 1, **_one(problem, seconds)})
    table = Table(title=f"tours vs allocation: {problem.name}")
    for col in ("limit s", "run", "s", "allocation", "round-1 tours", "best tours", "kept"):
        table.add_column(col, justify="right")
    table.add_column("rounds", justify="right")
    table.add_column("missed parts (round 1)", justify="right")
    for r in results:
        table.add_row(
            f"{r['limit_s']:g}",
            str(r["run"]),
            f"{r['seconds']:.1f}",
            f"{r['allocation']:,}",
            f"{r['first_tours']:,}",
            f"{r['best_tours']:,}",
            f"{r['best_tours'] / max(r['allocation'], 1):.1%}",
            str(r["rounds"]),
            str(r["missed_parts_first"]),
        )
    console.print(table)
    summary = []
    for seconds in args.seconds:
        rows = [r for r in results if r["limit_s"] == seconds]
        kept = [r["best_tours"] / max(r["allocation"], 1) for r in rows]
        summary.append(
            {
                "limit_s": seconds,
                "kept_mean": round(statistics.mean(kept), 4),
                "kept_min": round(min(kept), 4),
                "kept_max": round(max(kept), 4),
                "within_limit": all(r["seconds"] <= seconds + OVERRUN_S for r in rows),
            }
        )
    document = {"scenario": problem.name, "runs": results, "summary": summary}
    text = json.dumps(document, indent=2)
    sys.stdout.write(text + "\n")
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0
