"""Tours benchmark: what the routed plan serves, how sure it is, and whether it repeats.

For a scenario (or a synthetic size), at each time limit, this runs the whole planner
(`optimizer.planner.plan_with_tours`, reading the scenario inside the time limit as
`relief plan` does) several times and reports per run: residents the trucks' tours serve
on time, the first allocation's promise (measured in the same run), the tour bound and the
gap, depots left untoured, the status, whether the clock cut the search, wall seconds, and
a fingerprint of the plan (everything but timings), so identical plans can be counted.
`--load` keeps one core busy for the whole benchmark (a bounded loop in another process
that stops by itself), as on a dispatcher's busy laptop.

It also measures the route search's speed on the first allocation's depots: steps per
second with insertions evaluated incrementally in trip chains, against re-timing the whole
chain for every candidate (the evaluation before; both make the very same steps).

Targets (Haicheng, 20 s): every run fully toured and the same plan; tours serve at least
97 % of the allocation's promise; search at least 10x the steps per second of before.
"""

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from optimizer import solve_allocation
from optimizer.params import RouteParams, RuinSettings
from optimizer.planner import plan_with_tours, prepare_search
from optimizer.problem import Problem
from optimizer.routing import sisr
from optimizer.routing.depot import DepotTours
from optimizer.routing.plan_tours import depot_fleets, depot_loads

HELP = "Tours: residents served by the routed plan, bound, gap, repeatability, search speed."

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "haicheng-earthquake"
OVERRUN_S = 1.0
TARGET_SHARE = 0.97
TARGET_SPEEDUP = 10.0
SPEED_STEPS = 3000
#: Steps per part of our search in the peer comparison (PyVRP gets the time they take).
PEER_STEPS_PER_PART = 400


def _pyvrp_installed() -> bool:
    try:
        import pyvrp  # noqa: F401
    except ImportError:
        return False
    return True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument(
        "--size", default=None, help="A synthetic size (e.g. province) instead of a scenario."
    )
    parser.add_argument(
        "--seconds", type=float, nargs="+", default=[20.0], help="Time limits to try."
    )
    parser.add_argument("--runs", type=int, default=5, help="Runs per time limit.")
    parser.add_argument("--seed", type=int, default=0, help="Route search seed.")
    parser.add_argument(
        "--steps-per-second",
        type=int,
        default=None,
        help="Route search work per second of the limit (default: RouteParams').",
    )
    parser.add_argument("--load", action="store_true", help="Keep one core busy meanwhile.")
    parser.add_argument("--no-speed", action="store_true", help="Skip the steps/s measurement.")
    parser.add_argument(
        "--pyvrp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Compare each depot's on-time tours with PyVRP (default: when installed).",
    )
    parser.add_argument("--json", type=Path, default=None, help="Also write the JSON here.")


def _busy(until: float) -> None:
    """A busy loop on one core that ends by itself at `until` (wall clock)."""
    x = 0
    while time.time() < until:
        for _ in range(10_000):
            x = (x * 31 + 7) % 1_000_003


def _load_problem(args: argparse.Namespace) -> Problem:
    if args.size is not None:
        from bench.synthetic import build_problem

        return build_problem(args.size)
    from scenarios.scenario import load_scenario

    _, problem = load_scenario(args.scenario)
    return problem


def _route_params(args: argparse.Namespace) -> RouteParams:
    params = RouteParams(seed=args.seed)
    if args.steps_per_second is not None:
        params = replace(params, steps_per_second=args.steps_per_second)
    return params


def _one(args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    began = time.perf_counter()
    problem = _load_problem(args)
    plan = plan_with_tours(
        problem,
        route_params=_route_params(args),
        time_limit_s=seconds,
        started=began,
    )
    took = time.perf_counter() - began
    assert plan.routing is not None
    r = plan.routing
    served = plan.kpis()["residents_served_on_time"]
    return {
        "seconds": round(took, 2),
        "allocation": r.allocation_residents_on_time,
        "served": served,
        "bound": r.bound_residents,
        "gap": None if plan.gap is None else round(plan.gap, 4),
        "share_of_allocation": round(served / max(r.allocation_residents_on_time, 1), 4),
        "share_of_bound": None if not r.bound_residents else round(served / r.bound_residents, 4),
        "untoured": len(r.untoured_depots),
        "status": plan.status.value,
        "capped": r.capped,
        "rounds": len(r.rounds),
        "steps": r.steps,
        "fingerprint": plan.fingerprint()[:16],
    }


def _depot_jobs(problem: Problem) -> list[tuple[str, DepotTours, np.ndarray]]:
    """The first allocation's depots as routing instances, as the planner builds them."""
    plan = solve_allocation(problem, time_limit_s=30)
    params = RouteParams()
    fleets = depot_fleets(problem)
    depots = {d.code: d for d in problem.depots}
    out = []
    for code, loads in sorted(depot_loads(plan).items()):
        if not fleets.get(code):
            continue
        job = DepotTours.for_loads(
            problem, depots[code], fleets[code], loads, plan.deadline_hours, params
        )
        if job.parts and job.trucks:
            out.append((code, job, np.array([False] + [p.urgent for p in job.parts])))
    return out


def _on_time_only(job: DepotTours) -> DepotTours:
    """The depot's instance with only the parts that must arrive on time (the peer
    comparison's problem: late loads do not decide who is served)."""
    keep = [k for k, p in enumerate(job.parts, start=1) if p.urgent]
    idx = np.array([0, *keep])
    return replace(
        job,
        parts=[job.parts[k - 1] for k in keep],
        times=[t[np.ix_(idx, idx)] for t in job.times],
        demand=job.demand[idx],
        service=job.service[idx],
        residents=job.residents[idx],
    )


def _served_by(job: DepotTours, visited: set[int]) -> int:
    """Residents of the shelters all of whose parts (nodes 1..N) are visited in time."""
    whole: dict[str, bool] = defaultdict(lambda: True)
    people: dict[str, int] = {}
    for k, part in enumerate(job.parts, start=1):
        whole[part.shelter] &= k in visited
        people[part.shelter] = int(job.residents[k])
    return sum(people[s] for s, ok in whole.items() if ok)


def _pyvrp_served(job: DepotTours, seconds: float, seed: int) -> tuple[int, bool]:
    """PyVRP on the same on-time problem: the same drives (minutes, stops included),
    unloading, trucks, trips (reloads at the depot, its reload time as the depot's
    service), deadline windows, and prizes equal to our drop penalties. Residents served,
    and whether its best solution was feasible."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    model = job.model(np.ones(len(job.parts) + 1, dtype=bool))
    n = model.n_nodes
    locations = [pyvrp.Location(0.0, float(k)) for k in range(n)]
    assert model.drop_penalty is not None
    clients = [
        pyvrp.Client(
            location=k,
            delivery=[int(x) for x in model.demand[k]],
            service_duration=int(model.service[k]),
            tw_early=0,
            tw_late=int(model.window[k, 1]),
            prize=int(model.drop_penalty[k]),
            required=False,
        )
        for k in range(1, n)
    ]
    depot = pyvrp.Depot(location=0, service_duration=job.reload_min)
    kinds: dict[tuple[tuple[int, ...], int, int, int], int] = defaultdict(int)
    for chain in job.chains:
        v = model.vehicles[chain[0]]
        start = max(v.earliest_start - job.reload_min, 0)
        kinds[(tuple(v.capacity), v.profile, start, len(chain))] += 1
    types = [
        pyvrp.VehicleType(
            num_available=count,
            capacity=list(capacity),
            profile=profile,
            tw_early=start,
            reload_depots=[0],
            max_reloads=trips - 1,
        )
        for (capacity, profile, start, trips), count in sorted(kinds.items())
    ]
    durations: list[Any] = [t.copy() for t in model.times]  # PyVRP's stubs want int arrays
    distances: list[Any] = [model.times[0].copy() for _ in durations]
    data = pyvrp.ProblemData(locations, clients, [depot], types, distances, durations)
    result = pyvrp.solve(data, stop=MaxRuntime(max(seconds, 0.01)), seed=seed, display=False)
    best = result.best
    visited: set[int] = set()
    if best.is_feasible():  # a route's schedule lists its depot visits (reloads) too
        visited = {a.idx + 1 for r in best.routes() for a in r.schedule() if _client(a)}
    return _served_by(job, visited), bool(best.is_feasible())


def _client(activity: Any) -> bool:
    """Whether a PyVRP schedule entry is a client visit (clients are our nodes 1..N)."""
    flag = activity.is_client
    return bool(flag() if callable(flag) else flag)


def _peer(problem: Problem, steps_per_part: int) -> list[dict[str, Any]]:
    """Each depot's on-time tour problem solved by our search and by PyVRP in the time
    ours took: residents whose parts all arrive on time, side by side."""
    rows = []
    for code, full, _hard in _depot_jobs(problem):
        job = _on_time_only(full)
        if not job.parts:
            continue
        hard = np.ones(len(job.parts) + 1, dtype=bool)
        hard[0] = False
        began = time.perf_counter()
        ours = job.solve(
            hard,
            job.construct(hard),
            steps=steps_per_part * len(job.parts),
            workers=1,
            seed=0,
            cap_at=time.time() + 600,
        )
        took = time.perf_counter() - began
        visited = {n for r in ours.routes for n in r.nodes}
        theirs, feasible = _pyvrp_served(job, took, 0)
        rows.append(
            {
                "depot": code,
                "parts": len(job.parts),
                "seconds": round(took, 2),
                "ours": _served_by(job, visited),
                "pyvrp": theirs,
                "pyvrp_feasible": feasible,
            }
        )
    return rows


def _speed(problem: Problem) -> list[dict[str, Any]]:
    """Steps per second on each depot with more than one trip per truck, both ways."""
    rows = []
    for code, job, hard in _depot_jobs(problem):
        model = job.model(hard)
        start = job.construct(hard)
        tours = {r.vehicle: list(r.nodes) for r in start.routes}
        timing = {}
        for exact in (True, False):
            began = time.perf_counter()
            run = sisr.improve(
                model,
                tours,
                list(start.dropped),
                time.time() + 600,
                0,
                RuinSettings(),
                iterations=SPEED_STEPS,
                exact=exact,
            )
            timing[exact] = run.steps / max(time.perf_counter() - began, 1e-9)
        rows.append(
            {
                "depot": code,
                "parts": len(job.parts),
                "trucks": len(job.trucks),
                "trips_per_truck": len(job.chains[0]) if job.chains else 0,
                "steps_per_s_retimed": round(timing[True]),
                "steps_per_s_incremental": round(timing[False]),
                "speedup": round(timing[False] / max(timing[True], 1e-9), 2),
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    with console.status("compiling the route search (once per machine)"):
        prepare_search()
    loader: multiprocessing.process.BaseProcess | None = None
    if args.load:
        expected = sum(args.seconds) * args.runs * 1.5 + 120
        loader = multiprocessing.get_context("spawn").Process(
            target=_busy, args=(time.time() + expected,), daemon=True
        )
        loader.start()
    try:
        results: list[dict[str, Any]] = []
        for seconds in args.seconds:
            for k in range(args.runs):
                with console.status(f"{seconds:g} s, run {k + 1}/{args.runs}"):
                    results.append({"limit_s": seconds, "run": k + 1, **_one(args, seconds)})
        speed = [] if args.no_speed else _speed(_load_problem(args))
        use_peer = _pyvrp_installed() if args.pyvrp is None else args.pyvrp
        peer = _peer(_load_problem(args), PEER_STEPS_PER_PART) if use_peer else []
    finally:
        if loader is not None:
            loader.terminate()
    name = args.size or args.scenario.name
    table = Table(title=f"routed plans: {name}{' (one core busy)' if args.load else ''}")
    for col in ("limit s", "run", "wall s", "allocation", "tours", "of promise", "bound"):
        table.add_column(col, justify="right")
    for col in ("gap", "untoured", "status", "capped", "plan"):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            f"{r['limit_s']:g}",
            str(r["run"]),
            f"{r['seconds']:.1f}",
            f"{r['allocation']:,}",
            f"{r['served']:,}",
            f"{r['share_of_allocation']:.1%}",
            "—" if r["bound"] is None else f"{r['bound']:,}",
            "—" if r["gap"] is None else f"{r['gap']:.1%}",
            str(r["untoured"]),
            r["status"],
            "yes" if r["capped"] else "no",
            r["fingerprint"][:8],
        )
    console.print(table)
    summary = []
    for seconds in args.seconds:
        rows = [r for r in results if r["limit_s"] == seconds]
        served = [r["served"] for r in rows]
        shares = [r["share_of_allocation"] for r in rows]
        prints = [r["fingerprint"] for r in rows]
        summary.append(
            {
                "limit_s": seconds,
                "served_mean": round(statistics.mean(served), 1),
                "served_min": min(served),
                "served_max": max(served),
                "share_of_allocation_min": min(shares),
                "share_of_bound_min": min(
                    (r["share_of_bound"] for r in rows if r["share_of_bound"] is not None),
                    default=None,
                ),
                "untoured_runs": sum(1 for r in rows if r["untoured"]),
                "statuses": sorted({r["status"] for r in rows}),
                "identical_plans": max(prints.count(p) for p in set(prints)),
                "runs": len(rows),
                "capped_runs": sum(1 for r in rows if r["capped"]),
                "wall_max_s": max(r["seconds"] for r in rows),
                "within_limit": all(r["seconds"] <= seconds + OVERRUN_S for r in rows),
                "meets_share_target": min(shares) >= TARGET_SHARE,
            }
        )
    if speed:
        t = Table(title="route search speed (same steps both ways)")
        for col in ("depot", "parts", "trucks", "trips", "re-timed /s", "incremental /s", "x"):
            t.add_column(col, justify="right")
        for s in speed:
            t.add_row(
                s["depot"],
                str(s["parts"]),
                str(s["trucks"]),
                str(s["trips_per_truck"]),
                f"{s['steps_per_s_retimed']:,}",
                f"{s['steps_per_s_incremental']:,}",
                f"{s['speedup']:.1f}",
            )
        console.print(t)
    if peer:
        t = Table(title="on-time tours per depot: ours vs PyVRP in the same seconds")
        for col in ("depot", "parts", "s", "ours", "PyVRP", "PyVRP feasible"):
            t.add_column(col, justify="right")
        for p in peer:
            t.add_row(
                p["depot"],
                str(p["parts"]),
                f"{p['seconds']:.2f}",
                f"{p['ours']:,}",
                f"{p['pyvrp']:,}",
                "yes" if p["pyvrp_feasible"] else "no",
            )
        t.add_row(
            "total",
            "",
            "",
            f"{sum(p['ours'] for p in peer):,}",
            f"{sum(p['pyvrp'] for p in peer):,}",
            "",
        )
        console.print(t)
    document = {
        "benchmark": "tours",
        "scenario": name,
        "load": bool(args.load),
        "seed": args.seed,
        "runs": results,
        "summary": summary,
        "speed": speed,
        "peer": peer,
    }
    text = json.dumps(document, indent=2)
    sys.stdout.write(text + "\n")
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0
