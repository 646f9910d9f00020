"""Allocation benchmark: the lexicographic MIP against a dispatcher's greedy baseline.

The MIP is worth its complexity only if it serves clearly more residents on time than what
a dispatcher does by hand, and only usable if it answers within the minutes of a disaster.
So, for each synthetic size (`bench.synthetic`: *city* and *province*), this measures:

* the travel-time matrix alone (`optimizer.network.travel_times`), the part every planner
  pays before any model exists;
* the greedy baseline (`optimizer.greedy.solve_greedy`);
* the MIP (`optimizer.solve_allocation`) once per backend and shelter-grouping variant
  asked for, with its status, proven gap, model size (stage-1 on-time arcs and shelter
  groups, read from the solver's progress messages), time until the first solver call,
  the stage-1 time and the total.

Both plans are scored the same way: residents in shelters whose critical items all arrive
within the deadline. Greedy ignores fleet capacity, so its plan can promise deliveries the
trucks cannot make; the table counts the depots whose plan exceeds its fleet's tonne-hour or
m³-hour budget (the MIP's own budget formula) so a greedy "win" can be read for what it is.

Targets: city optimal in ≤ 2 s; province within 0.1 % of the bound in ≤ 10 s and at least
5 % more residents on time than greedy; province x 2 within 1 % in ≤ 30 s, x 4 within 1 % in
≤ 120 s; every solve ends within its time limit plus a second; and the solve time grows
near-linearly: the slope of log(seconds) against log(shelters) from x 0.5 to x 4 at most 1.3.

Each (size, seed) runs in a child process of its own, so that its peak memory (resident
set) is its own and one size's caches do not speed up the next.
"""

import argparse
import json
import math
import multiprocessing
import os
import platform
import re
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ortools
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.synthetic import SIZES, build_problem, describe
from optimizer import AllocationParams, Plan, Problem, SolveStatus, solve_allocation
from optimizer.greedy import solve_greedy
from optimizer.network import clear_cache
from optimizer.params import LP_BACKENDS, MIP_BACKENDS
from optimizer.plan import SourceKind
from optimizer.sources import fleet_use, source_travel_times, sources

HELP = "Allocation: MIP vs greedy baseline on synthetic city and province instances."

#: Targets.
CITY_OPTIMAL_S = 2.0
PROVINCE_GAP = 0.001
PROVINCE_S = 10.0
PROVINCE_GAIN = 1.05
#: Scaling targets (issue 16): size -> (gap, seconds); the time limit plus this at most;
#: the slope of log(seconds) against log(shelters) from x 0.5 to x 4 at most.
SCALED_TARGETS = {"province2x": (0.01, 30.0), "province4x": (0.01, 120.0)}
SCALED_GAIN = {"province2x": 1.05}
LIMIT_SLACK_S = 1.0
SLOPE = 1.3

DEFAULT_TIME_LIMIT_S = {"city": 10.0}
PROVINCE_TIME_LIMIT_S = 120.0
FLEET_SLACK = 1.0 + 1e-9  # float noise only: the planner's whole units keep the budgets


@dataclass(frozen=True, slots=True)
class Variant:
    """One MIP configuration to run."""

    solver: str
    lp_solver: str
    cluster_hours: float | None  # None: the planner's own choice by model size

    @property
    def label(self) -> str:
        width = "auto" if self.cluster_hours is None else f"{self.cluster_hours:g} h"
        return f"MIP {self.solver}/{self.lp_solver}, groups {width}"


@dataclass(slots=True)
class Run:
    """One solve's figures (greedy or a MIP variant)."""

    method: str
    solver: str | None = None
    lp_solver: str | None = None
    cluster_hours: float | None = None
    time_limit_s: float | None = None
    status: str = ""
    gap: float | None = None
    solve_s: float = 0.0
    residents_on_time: int = 0
    share_on_time: float = 0.0
    units_late: int = 0
    depots_over_fleet_budget: int = 0
    arcs: int | None = None  # stage-1 on-time arcs
    groups: int | None = None  # shelter groups sharing flow variables
    solving_from_s: float | None = None  # travel times and arcs done, first LP starts
    stage1_s: float | None = None  # residents-served stage, when a later stage followed it
    bound_s: float | None = None  # the relaxation's bound LP (grouped shelters only)
    stages: list[tuple[float, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """One judged line of the report."""

    size: str
    metric: str
    value: float
    unit: str
    target: str
    ok: bool
    why: str = ""  # why a missed target cannot be met, where the figures prove it


# --------------------------------------------------------------------------- measuring


def time_travel(problem: Problem) -> tuple[float, int, int]:
    """Seconds for the source x shelter travel-time matrix, as `solve_allocation` builds it;
    also how many shelters no source can reach and the matrix's source count."""
    srcs = sources(problem)
    clear_cache()
    started = time.perf_counter()
    times = source_travel_times(problem, srcs)
    seconds = time.perf_counter() - started
    cut_off = int((~(times.hours < float("inf"))).all(axis=0).sum()) if len(srcs) else 0
    return seconds, cut_off, len(srcs)


def fleet_overruns(problem: Problem, plan: Plan) -> int:
    """Depots whose on-time shipments need more truck shuttles than their fleet has.

    The planner's own fleet model (`optimizer.sources.fleet_use`): a unit sent to a place
    the depot's trucks can reach n times by the deadline takes 1/n of a truck's capacity.
    Greedy ignores it, which is what this column shows.
    """
    srcs = sources(problem)
    times = source_travel_times(problem, srcs)
    kg, m3 = fleet_use(problem, srcs, times.hours, plan.shipments, plan.deadline_hours)
    return sum(
        1
        for i, s in enumerate(srcs)
        if s.kind == SourceKind.DEPOT
        and (kg[i] > s.kg_capacity * FLEET_SLACK or m3[i] > s.m3_capacity * FLEET_SLACK)
    )


def _scored(problem: Problem, plan: Plan, run: Run) -> Run:
    k = plan.kpis()
    run.status = plan.status.value
    run.gap = plan.gap
    run.solve_s = round(plan.solve_seconds, 3)
    run.residents_on_time = k["residents_served_on_time"]
    run.share_on_time = k["share_served_on_time"]
    run.units_late = k["units_late"]
    run.depots_over_fleet_budget = fleet_overruns(problem, plan)
    run.notes = list(plan.notes)
    return run


def run_greedy(problem: Problem) -> Run:
    clear_cache()  # every method pays for its own road index, as a user's first run does
    plan = solve_greedy(problem)
    return _scored(problem, plan, Run("greedy"))


def run_mip(
    problem: Problem,
    variant: Variant,
    time_limit_s: float,
    relative_gap: float,
    log: Callable[[str], None],
) -> Run:
    """One MIP solve; progress messages give the model size and when each stage began."""
    run = Run(variant.label, variant.solver, variant.lp_solver, variant.cluster_hours, time_limit_s)
    clear_cache()
    started = time.perf_counter()

    def progress(message: str) -> None:
        at = round(time.perf_counter() - started, 3)
        run.stages.append((at, message))
        if (m := re.match(r"stage 1 LP: ([\d,]+) on-time arcs, ([\d,]+)", message)) is not None:
            run.arcs = int(m.group(1).replace(",", ""))
            run.groups = int(m.group(2).replace(",", ""))
            run.solving_from_s = at
        if message.startswith("stage 1 bound:") and run.bound_s is None:
            run.bound_s = -at  # until the next stage's message
        elif (
            run.bound_s is not None and run.bound_s < 0 and not message.startswith("stage 1 bound")
        ):
            run.bound_s = round(at + run.bound_s, 3)
        if (
            message.startswith(("stage 2", "stage 3"))
            and run.stage1_s is None
            and run.solving_from_s is not None
        ):
            run.stage1_s = round(at - run.solving_from_s, 3)
        log(f"  {at:7.1f} s  {escape(message)}")

    try:
        params = AllocationParams(
            solver=variant.solver,
            lp_solver=variant.lp_solver,
            cluster_hours=variant.cluster_hours,
            relative_gap=relative_gap,
        )
        plan = solve_allocation(problem, params, time_limit_s=time_limit_s, progress=progress)
    except Exception as exc:  # report the other variants even if one backend fails
        run.status = "error"
        run.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        run.solve_s = round(time.perf_counter() - started, 3)
        return run
    return _scored(problem, plan, run)


def _child(
    size: str,
    variants: Sequence[Variant],
    time_limit_s: float,
    relative_gap: float,
    seed: int,
    answer: Any,
) -> None:
    """`bench_size` in a process of its own; sends its result and peak memory back."""
    err = Console(stderr=True)

    def log(message: str) -> None:
        err.log(message, highlight=False)

    try:
        result = bench_size(size, variants, time_limit_s, relative_gap, seed, log)
        result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        answer.put(result)
    except BaseException as exc:  # the parent reports it; a child must not hang it
        answer.put({"size": size, "seed": seed, "error": f"{type(exc).__name__}: {exc}"})


def bench_apart(
    size: str,
    variants: Sequence[Variant],
    time_limit_s: float,
    relative_gap: float,
    seed: int,
) -> dict[str, Any]:
    """One size and seed in a child process (spawned: nothing inherited but arguments)."""
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    child = context.Process(
        target=_child, args=(size, variants, time_limit_s, relative_gap, seed, answer)
    )
    child.start()
    result: dict[str, Any] = answer.get()
    child.join()
    if "error" in result:
        raise RuntimeError(f"{size} seed {seed}: {result['error']}")
    return result


def bench_size(
    size: str,
    variants: Sequence[Variant],
    time_limit_s: float,
    relative_gap: float,
    seed: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    started = time.perf_counter()
    problem = build_problem(size, seed=seed)
    build_s = time.perf_counter() - started
    log(f"[bold]{size}[/]: instance built in {build_s:.1f} s")
    travel_s, cut_off, n_sources = time_travel(problem)
    log(
        f"{size}: travel times {n_sources} sources x {len(problem.shelters)} shelters "
        f"in {travel_s:.2f} s"
    )
    greedy = run_greedy(problem)
    log(f"{size}: greedy {greedy.residents_on_time:,} residents on time in {greedy.solve_s:.1f} s")
    mips: list[Run] = []
    for variant in variants:
        log(f"{size}: {variant.label}, time limit {time_limit_s:g} s")
        mip = run_mip(problem, variant, time_limit_s, relative_gap, log)
        log(
            f"{size}: {variant.label}: {mip.status}, {mip.residents_on_time:,} residents on "
            f"time, {mip.solve_s:.1f} s" + (f" ({escape(mip.error)})" if mip.error else "")
        )
        mips.append(mip)
    return {
        "size": size,
        "seed": seed,
        "instance": {**describe(problem), "build_s": round(build_s, 3)},
        "travel_times": {
            "seconds": round(travel_s, 3),
            "sources": n_sources,
            "shelters": len(problem.shelters),
            "shelters_cut_off": cut_off,
        },
        "time_limit_s": time_limit_s,
        "relative_gap": relative_gap,
        "greedy": asdict(greedy),
        "mip": [asdict(m) for m in mips],
    }


# --------------------------------------------------------------------------- judging


def checks_for(result: dict[str, Any]) -> list[Check]:
    """The targets, judged for every MIP variant of a size."""
    size = result["size"]
    greedy = result["greedy"]["residents_on_time"]
    tag = f"{size} (seed {result['seed']})"
    out: list[Check] = []
    for m in result["mip"]:
        label = m["method"]
        limit = result["time_limit_s"]
        out.append(
            Check(
                tag,
                f"{label}: within the time limit",
                m["solve_s"],
                "s",
                f"≤ {limit:g} + {LIMIT_SLACK_S:g} s",
                m["solve_s"] <= limit + LIMIT_SLACK_S,
            )
        )
        if size == "city":
            out.append(
                Check(
                    tag,
                    f"{label}: optimal",
                    m["solve_s"],
                    "s",
                    f"optimal, ≤ {CITY_OPTIMAL_S:g} s",
                    m["status"] == SolveStatus.OPTIMAL and m["solve_s"] <= CITY_OPTIMAL_S,
                )
            )
            continue
        targets = {"province": (PROVINCE_GAP, PROVINCE_S), **SCALED_TARGETS}
        if size in targets:
            gap_target, seconds = targets[size]
            gap = m["gap"]
            out.append(
                Check(
                    tag,
                    f"{label}: gap {_pct(gap)}",
                    m["solve_s"],
                    "s",
                    f"gap ≤ {gap_target:.1%}, ≤ {seconds:g} s",
                    m["status"] in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
                    and gap is not None
                    and gap <= gap_target + 1e-12
                    and m["solve_s"] <= seconds,
                )
            )
        gain = {"province": PROVINCE_GAIN, **SCALED_GAIN}.get(size)
        if gain is not None:
            ratio = _ratio(m["residents_on_time"], greedy)
            why = ""
            gap = m["gap"]
            if ratio < gain and gap is not None and gap < 1:
                # The proven bound caps every plan the fleet can drive; greedy ignores the
                # fleet, so where it beats that bound its plan promises undrivable trips.
                bound = m["residents_on_time"] / (1 - gap)
                if bound < gain * greedy:
                    over = result["greedy"]["depots_over_fleet_budget"]
                    why = (
                        f"unreachable: no fleet-feasible plan serves more than {bound:,.0f} "
                        f"(< {gain:.2f} × greedy's {greedy:,}); greedy's plan overruns "
                        f"{over} depots' fleet budgets"
                    )
            out.append(
                Check(
                    tag,
                    f"{label}: on time vs greedy",
                    ratio,
                    "x",
                    f"≥ {gain:.2f} x",
                    ratio >= gain,
                    why,
                )
            )
    return out


def slope(results: Sequence[dict[str, Any]]) -> float | None:
    """Least-squares slope of log(solve seconds) against log(shelters), over the province
    sizes and every seed and variant (the city has no roads: another kind of instance)."""
    points = [
        (math.log(r["instance"]["shelters"]), math.log(max(m["solve_s"], 1e-3)))
        for r in results
        if r["size"] != "city"
        for m in r["mip"]
        if not m["error"]
    ]
    xs = {x for x, _ in points}
    if len(xs) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


def _ratio(mip: int, greedy: int) -> float:
    """MIP over greedy residents; a greedy plan that serves nobody counts as serving one."""
    return mip / max(greedy, 1)


def _pct(gap: float | None) -> str:
    return "—" if gap is None else f"{gap:.2%}"


def render_table(results: Sequence[dict[str, Any]]) -> Table:
    """One row per size and method: what it served on time, how fast, how sure."""
    table = Table(title="Allocation benchmark: residents served within the deadline")
    for name, justify in (
        ("size", "left"),
        ("method", "left"),
        ("status", "left"),
        ("gap", "right"),
        ("solve s", "right"),
        ("model s", "right"),
        ("bound s", "right"),
        ("stage 1 s", "right"),
        ("arcs", "right"),
        ("groups", "right"),
        ("on time", "right"),
        ("share", "right"),
        ("vs greedy", "right"),
        ("late units", "right"),
        ("fleet over", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in results:
        greedy = r["greedy"]["residents_on_time"]
        tt = r["travel_times"]
        inst = r["instance"]
        tag = f"{r['size']} ({r['seed']})"
        table.add_row(
            tag,
            f"build {inst['build_s']:.1f} s; travel times ({tt['sources']} x "
            f"{tt['shelters']}, {inst['road_nodes']:,} nodes); peak {r.get('peak_mb', 0):,.0f} MB",
            *[""] * 2,
            f"{tt['seconds']:.2f}",
            *[""] * 10,
        )
        for run in [r["greedy"], *r["mip"]]:
            ratio = _ratio(run["residents_on_time"], greedy)
            status = run["status"] if not run["error"] else f"[red]{escape(run['error'])}[/]"
            built = run["solving_from_s"]
            table.add_row(
                tag,
                run["method"],
                status,
                _pct(run["gap"]),
                f"{run['solve_s']:.1f}",
                "" if built is None else f"{built:.1f}",
                "" if run.get("bound_s") is None else f"{run['bound_s']:.1f}",
                "" if run["stage1_s"] is None else f"{run['stage1_s']:.1f}",
                "" if run["arcs"] is None else f"{run['arcs']:,}",
                "" if run["groups"] is None else f"{run['groups']:,}",
                f"{run['residents_on_time']:,}",
                f"{run['share_on_time']:.1%}",
                f"{ratio:.3f}",
                f"{run['units_late']:,}",
                str(run["depots_over_fleet_budget"]),
            )
    return table


def render_checks(checks: Sequence[Check]) -> Table:
    table = Table(title="Targets")
    for name in ("size", "metric", "value", "target", "ok?"):
        table.add_column(name, justify="right" if name == "value" else "left")
    for c in checks:
        value = {"x": f"{c.value:.3f} x", "s": f"{c.value:.1f} s"}.get(c.unit, f"{c.value:.2f}")
        ok = "[green]yes[/]" if c.ok else "[bold red]NO[/]"
        table.add_row(
            c.size, c.metric, value, c.target, ok + (f" ({escape(c.why)})" if c.why else "")
        )
    return table


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "ortools": getattr(ortools, "__version__", "unknown"),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------- command line


def _sizes(text: str) -> list[str]:
    sizes = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or not sizes:
        raise argparse.ArgumentTypeError(f"sizes: choose from {', '.join(SIZES)}")
    return sizes


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("seeds: whole numbers, comma-separated") from None
    if not seeds:
        raise argparse.ArgumentTypeError("seeds: at least one")
    return seeds


def _backends(option: str, known: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        chosen = [s.strip().upper() for s in text.split(",") if s.strip()]
        if not chosen or any(s not in known for s in chosen):
            raise argparse.ArgumentTypeError(f"{option}: choose from {', '.join(known)}")
        return chosen

    return parse


def _cluster_hours(text: str) -> list[float | None]:
    out: list[float | None] = []
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        if part == "auto":
            out.append(None)
            continue
        try:
            out.append(float(part))
        except ValueError:
            raise argparse.ArgumentTypeError("cluster-hours: hours (0 = exact) or 'auto'") from None
    if not out:
        raise argparse.ArgumentTypeError("cluster-hours: at least one value")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m bench allocation`."""
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=["city", "province"],
        metavar="LIST",
        help=f"instance sizes, comma-separated, of {','.join(SIZES)} (default city,province)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help=f"time limit in seconds for every size (default: city 10, the province sizes "
        f"{PROVINCE_TIME_LIMIT_S:g})",
    )
    parser.add_argument(
        "--seeds",
        type=_seeds,
        default=[0],
        metavar="LIST",
        help="instance seeds, comma-separated (default 0: the bench's own instances)",
    )
    parser.add_argument(
        "--solvers",
        type=_backends("solvers", MIP_BACKENDS),
        default=[AllocationParams().solver],
        metavar="LIST",
        help=f"MIP backends to compare, of {','.join(MIP_BACKENDS)} "
        f"(default {AllocationParams().solver})",
    )
    parser.add_argument(
        "--lp-solvers",
        type=_backends("lp-solvers", LP_BACKENDS),
        default=["HIGHS"],
        metavar="LIST",
        help=f"LP backends to compare, of {','.join(LP_BACKENDS)} (default HIGHS)",
    )
    parser.add_argument(
        "--cluster-hours",
        type=_cluster_hours,
        default=[None],
        metavar="LIST",
        help="shelter-grouping widths to compare, in hours (0 = exact), or 'auto' "
        "(default: auto, the planner's own choice)",
    )
    parser.add_argument(
        "--relative-gap",
        type=float,
        default=AllocationParams().relative_gap,
        metavar="G",
        help="MIP relative gap at which a stage counts as solved "
        f"(default {AllocationParams().relative_gap:g}, AllocationParams' own)",
    )
    parser.add_argument(
        "--json-out", type=Path, metavar="FILE", help="also write the JSON result here"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")


def run(args: argparse.Namespace) -> int:
    """Bench every size, print the tables and the JSON; 1 if a solve failed."""
    err = Console(stderr=True)
    if not err.is_terminal:
        err.width = max(err.width, 150)  # keep progress lines whole in a log file
    out = Console(soft_wrap=False)
    if not out.is_terminal:
        out.width = max(out.width, 170)  # a log file has room; do not wrap the table

    def log(message: str) -> None:
        err.log(message, highlight=False)

    env = environment()
    began = time.perf_counter()
    results = []
    variants = [
        Variant(s, lp, h)
        for s in args.solvers
        for lp in args.lp_solvers
        for h in args.cluster_hours
    ]
    for size in args.sizes:
        limit = args.time_limit or DEFAULT_TIME_LIMIT_S.get(size, PROVINCE_TIME_LIMIT_S)
        for seed in args.seeds:
            log(f"[bold]{size}[/], seed {seed}: a child process of its own")
            results.append(bench_apart(size, variants, limit, args.relative_gap, seed))
    checks = [c for r in results for c in checks_for(r)]
    grown = slope(results)
    provinces = {r["size"] for r in results if r["size"] != "city"}
    if grown is not None and {"province-half", "province4x"} <= provinces:
        checks.append(
            Check(
                "x 0.5 to x 4",
                "log-log slope, seconds vs shelters",
                grown,
                "",
                f"≤ {SLOPE:g}",
                grown <= SLOPE,
            )
        )
    out.print(render_table(results))
    out.print(render_checks(checks))
    if grown is not None:
        out.print(f"log-log slope of solve seconds against shelters: {grown:.2f}")
    failed = [m for r in results for m in r["mip"] if m["error"]]
    missed = [c for c in checks if not c.ok]
    document = {
        "benchmark": "allocation",
        "settings": {
            "sizes": args.sizes,
            "seeds": args.seeds,
            "solvers": args.solvers,
            "lp_solvers": args.lp_solvers,
            "cluster_hours": args.cluster_hours,
            "time_limit_s": args.time_limit,
            "relative_gap": args.relative_gap,
        },
        "targets": {
            "city_optimal_s": CITY_OPTIMAL_S,
            "province_gap": PROVINCE_GAP,
            "province_s": PROVINCE_S,
            "province_mip_over_greedy": PROVINCE_GAIN,
            "scaled": {k: {"gap": g, "seconds": t} for k, (g, t) in SCALED_TARGETS.items()},
            "scaled_mip_over_greedy": SCALED_GAIN,
            "limit_slack_s": LIMIT_SLACK_S,
            "slope": SLOPE,
        },
        "slope": grown,
        "environment": env,
        "wall_seconds": round(time.perf_counter() - began, 1),
        "sizes": results,
        "checks": [asdict(c) for c in checks],
        "ok": not failed and not missed,
    }
    text_out = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    print(text_out)
    sys.stdout.flush()
    if args.json_out:
        args.json_out.write_text(text_out + "\n", encoding="utf-8")
    if failed or (args.strict and missed):
        return 1
    return 0
