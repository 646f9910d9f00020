"""Routing benchmark: the planner's routing engine on published CVRP and VRPTW instances.

`optimizer.routing.solve_routing` is the engine that plans the trucks' tours; this measures its
gap to best-known solutions on CVRPLIB "X" instances (Uchoa et al. 2017) and Solomon's
VRPTW instances, and, when PyVRP is installed (the `bench` extra), runs PyVRP on the same
data with the same time limit in the same run, so that the ratio of the two gaps says how
far our search is from a state-of-the-art one on this machine.

Distance conventions follow each family's best-known values (`bks.csv`):

* CVRP (CVRPLIB X): Euclidean, each arc rounded to the nearest integer (``int(d + 0.5)``);
  unlimited homogeneous fleet (we give ``max(k, ceil(demand / capacity)) + spare``
  vehicles, k from the name).
* VRPTW (Solomon, DIMACS convention): Euclidean truncated to one decimal, the same values as
  travel times, objective = distance only; scaled by 10 to integers for the solver.

Targets at 30 s per instance: mean gap ≤ 2 % on CVRP, ≤ 1 % on VRPTW, a feasible solution
on every instance.

What was tried and what each gave is in `TUNING` below (printed with ``--tuning``).
"""

import argparse
import csv
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from optimizer.params import DEFAULT_SETTINGS
from optimizer.routing.vrplib import Instance, load_instance, solve_instance, warm_up

HELP = "Routing: gap to best-known values on CVRPLIB X and Solomon VRPTW (vs PyVRP)."

#: Targets (mean gap in percent per family, at 30 s per instance).
TARGET_GAP = {"cvrp": 2.0, "vrptw": 1.0}
DEFAULT_SECONDS = 30.0
FAMILY_DIRS = {"cvrp": "cvrp", "vrptw": "vrptw"}

TUNING = """\
What was tried, mean gap to BKS in % (CVRP X set / Solomon set), 10 s per instance, one
worker, two instances at a time on the two cores; single instances vary by up to ~1 point
between identical runs (OR-Tools' LNS steps are time-sliced, SISR's chunks adapt to speed).

OR-Tools alone (first solution + local search):
  SAVINGS + guided local search, lambda 0.1, all operators        7.00 / 2.36
  PATH_CHEAPEST_ARC + GLS                                          6.34 / no solution on
                                                                   R101, RC101 in 10 s
  time windows: PARALLEL_CHEAPEST_INSERTION 2.46, LOCAL_CHEAPEST_INSERTION 3.46, SAVINGS 3.68
  GLS lambda 0.2 / 0.05 (time windows)                             3.28 / 3.86
  iterated local search (use_iterated_local_search: SISR, random-walk or close-routes
    ruin, annealing or descent): stops at the first local optimum   7.52 / 5.36
  operators limited to the 10/20/40 nearest neighbours             13.7 (stuck)
  lean operators (pickup-delivery, activity, insertion-LNS off)    7.34; LK also off 7.25;
    + cross-exchange + relocate-neighbours 6.64; with PATH_CHEAPEST_ARC 5.45
OR-Tools, then parts (route neighbourhoods re-solved alone from their tours):
  40 customers, 0.3 s each, after 30 %                             6.21 / 1.66
  60 / 0.3 s / 15 %: 5.87; 80 / 0.5 s / 15 %: 6.49; 30 / 0.2 s / 20 %: 6.25
  two workers (SAVINGS / PATH_CHEAPEST_ARC first)                  4.89 / 2.29
OR-Tools for 20 % of the time, then SISR (numba; optimizer/sisr.py):
  removal 10, strings <= 10, T 0.3 -> 0.003 x cost per customer    0.59 / 0.28 (rerun 0.68 / 0.41)
  PATH_CHEAPEST_ARC first                                          0.65 / 0.07
  OR-Tools share 5 % / 50 %                                        0.62 / 0.07, 0.68 / 0.41
  removal 15 / 20 (strings <= 15)                                  0.72 / 0.38, 0.84 / 0.41
  hotter (1 -> 0.01) / colder (0.1 -> 0.001)                       0.69 / 0.28, 1.01 / 0.46
  parts instead of SISR                                            5.44 / 1.27
  two workers (seed + 1, PATH_CHEAPEST_ARC), vs PyVRP on one core  0.52 / 0.26 vs 1.22 / 0.15
Kept: SearchSettings() = the first SISR line, two workers.

At 30 s per instance (same run, PyVRP 0.14 on one core; our routes re-checked by PyVRP's
evaluator): two workers 0.36 / 0.07 vs PyVRP 0.69 / 0.15 (gap ratio 0.5 / 0.5);
one worker 0.36 / 0.23.
"""


def pyvrp_available() -> bool:
    try:
        import pyvrp  # noqa: F401
    except ImportError:
        return False
    return True


def _pyvrp_data(instance: Instance) -> Any:
    """PyVRP's ProblemData for exactly our data: same matrices, windows, fleet."""
    import pyvrp

    m = instance.model
    n = m.n_nodes
    big = int(np.iinfo(np.int64).max // 4)
    locations = [pyvrp.Location(float(x), float(y)) for x, y in instance.coords]
    has_tw = instance.family == "vrptw"
    depot_late = int(m.window[0, 1]) if has_tw else big
    clients = [
        pyvrp.Client(
            location=i,
            delivery=[int(m.demand[i, 0])],
            service_duration=int(m.service[i]),
            tw_early=int(m.window[i, 0]) if has_tw else 0,
            tw_late=int(m.window[i, 1]) if has_tw else big,
        )
        for i in range(1, n)
    ]
    depot = pyvrp.Depot(location=0, tw_early=0, tw_late=depot_late)
    vt = pyvrp.VehicleType(
        num_available=len(m.vehicles),
        capacity=[int(m.vehicles[0].capacity[0])],
        tw_early=0,
        tw_late=depot_late,
    )
    matrices: list[Any] = [m.distance.copy(), m.times[0].copy()]
    return pyvrp.ProblemData(locations, clients, [depot], [vt], matrices[:1], matrices[1:])


def verify_with_pyvrp(instance: Instance, routes: list[list[int]]) -> dict[str, Any]:
    """An independent check of our routes: PyVRP's own evaluator on the same data says
    whether they are feasible and what they cost (instance units)."""
    import pyvrp

    # PyVRP numbers clients from 0; our node n (depot 0) is its client n - 1
    solution = pyvrp.Solution(_pyvrp_data(instance), [[n - 1 for n in r] for r in routes])
    return {
        "feasible": bool(solution.is_feasible()),
        "objective": solution.distance() / instance.scale,
    }


def solve_pyvrp(instance: Instance, seconds: float, seed: int = 0) -> dict[str, Any]:
    """PyVRP on exactly our data (same matrices, windows, fleet) with the same time limit."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    data = _pyvrp_data(instance)
    started = time.perf_counter()
    res = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=seed, display=False)
    elapsed = time.perf_counter() - started
    best = res.best
    feasible = bool(best.is_feasible())
    return {
        "status": "feasible" if feasible else "infeasible",
        "objective": best.distance() / instance.scale if feasible else None,
        "seconds": round(elapsed, 2),
        "vehicles": best.num_routes(),
    }


# --------------------------------------------------------------------------- judging


def read_bks(directory: Path) -> dict[tuple[str, str], float]:
    """(family, instance) -> best-known objective, for the families this benchmark knows."""
    out: dict[tuple[str, str], float] = {}
    with (directory / "bks.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["family"] in FAMILY_DIRS:
                out[(row["family"], row["instance"])] = float(row["objective"])
    return out


def gap_pct(objective: float | None, bks: float | None) -> float | None:
    if objective is None or bks is None or bks <= 0:
        return None
    return 100.0 * (objective - bks) / bks


def find_instances(directory: Path, names: Sequence[str] | None) -> list[Path]:
    paths = sorted(
        p
        for family, sub in FAMILY_DIRS.items()
        for p in (directory / sub).glob("*")
        if p.suffix in (".vrp", ".txt") and family
    )
    if names:
        wanted = {n.lower() for n in names}
        paths = [p for p in paths if p.stem.lower() in wanted]
    return paths


def _mean(values: Sequence[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return sum(real) / len(real) if real and len(real) == len(values) else None


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per family: mean gaps (ours, PyVRP), their ratio, feasibility and the target."""
    out: dict[str, dict[str, Any]] = {}
    for family in FAMILY_DIRS:
        mine = [r for r in rows if r["family"] == family]
        if not mine:
            continue
        ours = _mean([r["gap"] for r in mine])
        theirs = _mean([r.get("pyvrp_gap") for r in mine]) if "pyvrp_gap" in mine[0] else None
        ratio = ours / theirs if ours is not None and theirs not in (None, 0) else None
        all_feasible = all(r["status"] in ("feasible", "optimal") for r in mine)
        out[family] = {
            "instances": len(mine),
            "mean_gap": None if ours is None else round(ours, 3),
            "pyvrp_mean_gap": None if theirs is None else round(theirs, 3),
            "gap_ratio": None if ratio is None else round(ratio, 2),
            "all_feasible": all_feasible,
            "target_gap": TARGET_GAP[family],
            "ok": all_feasible and ours is not None and ours <= TARGET_GAP[family],
        }
    return out


def _fmt(value: float | None, suffix: str = "", digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}{suffix}"


def render_table(rows: Sequence[dict[str, Any]], summary: dict[str, dict[str, Any]]) -> Table:
    with_pyvrp = any("pyvrp_gap" in r for r in rows)
    table = Table(title="Routing benchmark: gap to best-known (%)")
    columns = ["instance", "n", "BKS", "ours", "gap %", "routes", "s"]
    if with_pyvrp:
        columns += ["PyVRP", "gap %", "routes", "s", "ratio"]
    for c in columns:
        table.add_column(c, justify="left" if c == "instance" else "right")
    for r in rows:
        cells = [
            r["instance"],
            str(r["n"]),
            f"{r['bks']:g}" if r["bks"] is not None else "—",
            _fmt(r["objective"], digits=1) if r["status"] != "infeasible" else "[red]none[/]",
            _fmt(r["gap"]),
            str(r["vehicles"]),
            f"{r['seconds']:.1f}",
        ]
        if with_pyvrp:
            ratio = (
                r["gap"] / r["pyvrp_gap"] if r["gap"] is not None and r.get("pyvrp_gap") else None
            )
            cells += [
                _fmt(r.get("pyvrp_objective"), digits=1),
                _fmt(r.get("pyvrp_gap")),
                str(r.get("pyvrp_vehicles", "—")),
                f"{r.get('pyvrp_seconds', 0):.1f}",
                _fmt(ratio, "x", 1),
            ]
        table.add_row(*cells)
    for family, s in summary.items():
        cells = [
            f"[bold]mean {family}[/]",
            str(s["instances"]),
            "",
            "",
            _fmt(s["mean_gap"]),
            "",
            f"≤ {s['target_gap']:g} %: {'[green]ok[/]' if s['ok'] else '[red]missed[/]'}",
        ]
        if with_pyvrp:
            cells += ["", _fmt(s["pyvrp_mean_gap"]), "", "", _fmt(s["gap_ratio"], "x", 1)]
        table.add_row(*cells)
    return table


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m bench routing`."""
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        metavar="S",
        help=f"time limit per instance and solver (default {DEFAULT_SECONDS:g})",
    )
    parser.add_argument(
        "--instances",
        nargs="+",
        metavar="NAME",
        help="instance names (file stems, e.g. X-n101-k25 R101); default: all",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="independent searches in parallel processes (default: 2, or 1 on one core)",
    )
    parser.add_argument(
        "--pyvrp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run PyVRP with the same time limit (default: when installed)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        required=True,
        help="folder holding bks.csv, cvrp/ and vrptw/ (CVRPLIB X and Solomon instances)",
    )
    parser.add_argument(
        "--json-out", type=Path, metavar="FILE", help="also write the JSON result here"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--tuning", action="store_true", help="print what was tried in tuning, and exit"
    )


def environment() -> dict[str, Any]:
    import ortools

    env: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "ortools": getattr(ortools, "__version__", None),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        from importlib.metadata import version

        env["pyvrp"] = version("pyvrp")
    except Exception:
        env["pyvrp"] = None
    return env


def run(args: argparse.Namespace) -> int:
    """Solve every instance (ours, then PyVRP), print the table and the JSON."""
    if args.tuning:
        print(TUNING, end="")
        return 0
    err = Console(stderr=True)
    if not err.is_terminal:
        err.width = max(err.width, 150)
    out = Console(soft_wrap=False)
    if not out.is_terminal:
        out.width = max(out.width, 150)
    use_pyvrp = pyvrp_available() if args.pyvrp is None else args.pyvrp
    if use_pyvrp and not pyvrp_available():
        err.print("[red]--pyvrp: PyVRP is not installed (pip install 'relief-supply[bench]')[/]")
        return 2
    directory: Path = args.dir
    if not (directory / "bks.csv").is_file():
        err.print(f"[red]{directory}: no bks.csv[/]")
        return 2
    bks = read_bks(directory)
    paths = find_instances(directory, args.instances)
    if not paths:
        err.print("[red]no instance matched[/]")
        return 2
    settings = DEFAULT_SETTINGS
    warm_s = warm_up()
    err.log(f"compiled kernels ready in {warm_s:.1f} s (before any clock starts)")
    began = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for path in paths:
        inst = load_instance(path)
        best = bks.get((inst.family, inst.name))
        result, doc = solve_instance(inst, args.seconds, workers=args.workers, settings=settings)
        row: dict[str, Any] = {
            "instance": inst.name,
            "family": inst.family,
            "n": inst.customers,
            "bks": best,
            "status": doc["status"],
            "objective": doc["objective"],
            "gap": gap_pct(doc["objective"], best),
            "vehicles": doc["vehicles"],
            "seconds": doc["seconds"],
            "workers": result.log,
        }
        line = f"{inst.name}: ours {doc['status']} {_fmt(doc['objective'], digits=1)} "
        line += f"(gap {_fmt(row['gap'], ' %')}) in {doc['seconds']:.1f} s"
        if use_pyvrp:
            if doc["routes"]:
                check = verify_with_pyvrp(inst, doc["routes"])
                row["checked_by_pyvrp"] = check
                if not check["feasible"] or abs(check["objective"] - doc["objective"]) > 1e-6:
                    line += " [red](PyVRP's evaluator disagrees!)[/]"
            py = solve_pyvrp(inst, args.seconds)
            row.update(
                pyvrp_status=py["status"],
                pyvrp_objective=py["objective"],
                pyvrp_gap=gap_pct(py["objective"], best),
                pyvrp_vehicles=py["vehicles"],
                pyvrp_seconds=py["seconds"],
            )
            line += (
                f"; PyVRP {_fmt(py['objective'], digits=1)} (gap {_fmt(row['pyvrp_gap'], ' %')})"
            )
        err.log(line, highlight=False)
        rows.append(row)
    summary = summarise(rows)
    out.print(render_table(rows, summary))
    document = {
        "benchmark": "routing",
        "settings": {
            "seconds": args.seconds,
            "workers": args.workers,
            "pyvrp": use_pyvrp,
            "search": [settings.for_worker(k).describe() for k in range(args.workers)],
        },
        "environment": environment(),
        "wall_seconds": round(time.perf_counter() - began, 1),
        "instances": rows,
        "summary": summary,
        "ok": all(s["ok"] for s in summary.values()),
    }
    text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    print(text)
    sys.stdout.flush()
    if args.json_out:
        args.json_out.write_text(text + "\n", encoding="utf-8")
    if args.strict and not document["ok"]:
        return 1
    return 0
