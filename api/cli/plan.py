"""`relief plan`: plan a disaster scenario and write the plan, its map and its shipments."""

import json
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.common import console, err_console, fail, run
from optimizer import AllocationParams, Plan, solve_allocation
from optimizer.params import AllocationParams as _Allocation
from optimizer.params import RouteParams, as_record, load_params
from optimizer.plan import document_fingerprint
from optimizer.plan_files import plan_files
from optimizer.planner import plan_with_tours, prepare_search
from optimizer.problem import Problem
from optimizer.provenance import (
    Provenance,
    files_sha256,
    inputs_sha256,
    problem_from_record,
)
from scenarios.scenario import ScenarioError, load_scenario
from supply.errors import SupplyError
from supply.services.borrowing import AID_LEAD_HOURS, Borrowing
from supply.services.ledger_problem import ledger_problem


def plan(
    scenario: Annotated[
        Path | None, typer.Argument(help="Scenario folder (scenario.yaml + CSVs).")
    ] = None,
    deadline: Annotated[
        float | None, typer.Option("--deadline", help="Hours (default: the scenario's).")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Seconds (default: the scenario's).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the plan files.")] = Path(
        "relief-plan"
    ),
    solver: Annotated[
        str, typer.Option("--solver", help="Whole-unit backend: HIGHS, SCIP or CP-SAT.")
    ] = AllocationParams().solver,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan JSON.")] = False,
    no_routes: Annotated[
        bool,
        typer.Option("--no-routes", help="Allocation only: no vehicle tours (fast what-ifs)."),
    ] = False,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Plan from this ledger's available stock instead of the scenario's stock.csv.",
        ),
    ] = None,
    replacing: Annotated[
        list[str] | None,
        typer.Option("--replacing", help="With --db: an approved plan this one will replace."),
    ] = None,
    elapsed: Annotated[
        float,
        typer.Option(
            "--elapsed",
            help="Hours since the disaster (re-planning mid-operation): nothing leaves before.",
        ),
    ] = 0.0,
    scenario_fleet: Annotated[
        bool,
        typer.Option(
            "--scenario-fleet", help="With --db: the scenario's fleet.csv, not the ledger's."
        ),
    ] = False,
    outside_depots: Annotated[
        bool,
        typer.Option(
            "--outside-depots",
            help="With --db: also plan from the scenario's depots the ledger does not know.",
        ),
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Route search seed (default 0): same seed, same plan."),
    ] = None,
    neighbours: Annotated[
        str | None,
        typer.Option(
            "--neighbours",
            metavar="JURISDICTION",
            help="With --db: plan for this jurisdiction's depots, borrowing from its "
            "neighbours' shared depots (named in the notes: request loans before dispatch).",
        ),
    ] = None,
    aid_lead_hours: Annotated[
        float,
        typer.Option(
            "--aid-lead-hours",
            help="With --neighbours: hours a neighbour takes to approve a loan, added to its "
            "depots' ready time.",
        ),
    ] = AID_LEAD_HOURS,
    params_file: Annotated[
        Path | None,
        typer.Option("--params", help="TOML file of [allocation] and [routing] parameters."),
    ] = None,
    tiered_targets: Annotated[
        bool,
        typer.Option(
            "--tiered-targets",
            help="Right after residents served: first batches on target per depot tier "
            "(county 6 h, city 8 h, province 10 h; scenario.yaml first_batch_hours).",
        ),
    ] = False,
    reproduce: Annotated[
        Path | None,
        typer.Option(
            "--reproduce",
            help="Re-run a plan.json from its recorded inputs and parameters; exit 0 if the "
            "same plan comes out, 1 if not (or if its scenario's files changed since).",
        ),
    ] = None,
) -> None:
    """Allocate stock and agreement reserves to shelters to serve the most residents in time,
    then route each depot's trucks."""
    if reproduce is not None:
        if scenario is not None:
            fail("--reproduce: give the plan.json alone, not a scenario too")
        raise typer.Exit(reproduce_plan(reproduce))
    if scenario is None:
        fail("SCENARIO: give a scenario folder (or --reproduce PLAN.json)")
    result, problem = run_plan(
        scenario,
        deadline=deadline,
        time_limit=time_limit,
        solver=solver,
        quiet=as_json,
        routes=not no_routes,
        db=db,
        replacing=tuple(replacing or ()),
        elapsed=elapsed,
        scenario_fleet=scenario_fleet,
        outside_depots=outside_depots,
        seed=seed,
        params_file=params_file,
        tiered_targets=tiered_targets,
        neighbours=neighbours,
        aid_lead_hours=aid_lead_hours,
    )
    write_plan(result, problem, out)
    if as_json:
        sys.stdout.write(result.to_json() + "\n")
        return
    show_plan(result)
    files = "plan.json, plan.geojson, shipments.csv, plan.png"
    if result.routing is not None:
        files += ", manifests.csv, manifests.html"
    console.print(f"wrote {out}/{files}", highlight=False)


def run_plan(
    scenario: Path,
    *,
    deadline: float | None,
    time_limit: float | None,
    solver: str = AllocationParams().solver,
    quiet: bool = False,
    routes: bool = True,
    db: str | None = None,
    replacing: tuple[str, ...] = (),
    elapsed: float = 0.0,
    scenario_fleet: bool = False,
    outside_depots: bool = False,
    seed: int | None = None,
    params_file: Path | None = None,
    tiered_targets: bool = False,
    neighbours: str | None = None,
    aid_lead_hours: float = AID_LEAD_HOURS,
) -> tuple[Plan, Problem]:
    """Load, allocate and (unless `routes` is false) route, re-allocating while the tours
    miss what the allocation assumed (`optimizer.planner`). The time limit covers it all,
    reading the scenario included; compiling the route search the first time on a machine
    comes before the clock starts."""
    if routes:
        with err_console.status("preparing", spinner="dots") as status:
            prepare_search(lambda message: status.update(message))
    started = time.perf_counter()
    try:
        meta, problem = load_scenario(scenario)
        params, route_params = AllocationParams(), RouteParams()
        if params_file is not None:
            params, route_params = load_params(params_file)
        params = replace(params, solver=solver.upper())
        if tiered_targets:
            params = replace(params, tiered_targets=True)
        if seed is not None:
            route_params = replace(route_params, seed=seed)
    except ScenarioError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(str(exc))
    if elapsed < 0:
        fail("--elapsed: hours since the disaster cannot be negative")
    if elapsed >= problem.deadline_hours + 48:
        fail("--elapsed: later than the planning horizon (deadline + 48 h)")
    problem = replace(problem, now_hours=elapsed)
    ledger_notes: tuple[str, ...] = ()
    as_of: str | None = None
    borrow: Borrowing | None = None
    if neighbours is not None:
        try:
            borrow = Borrowing(neighbours, aid_lead_hours)
        except SupplyError as exc:
            fail(f"--aid-lead-hours: {exc.reason}")
    if db is not None:  # depots, fleet, agreements and stock from the ledger as it is now
        as_of = datetime.now(UTC).isoformat(timespec="seconds")
        made = run(
            db,
            lambda session: ledger_problem(
                session,
                problem,
                replacing=replacing,
                scenario_fleet=scenario_fleet,
                outside_depots=outside_depots,
                borrow=borrow,
            ),
        )
        snapshot, problem, ledger_notes = made.snapshot, made.problem, made.notes
        if snapshot.on_the_road:
            units = sum(load.qty for load in snapshot.on_the_road)
            err_console.print(
                f"note: {len(snapshot.on_the_road)} load(s), {units:,} units, already on the road "
                "to these shelters: counted as arriving when their plans said, not sent again",
                highlight=False,
            )
        if problem.away:
            err_console.print(
                f"note: {len(problem.away)} truck(s) still out ("
                + ", ".join(a.vehicle for a in problem.away)
                + "): they load again after their last stop and the drive home",
                highlight=False,
            )
    elif replacing or scenario_fleet or outside_depots or neighbours:
        fail("--replacing, --scenario-fleet, --outside-depots and --neighbours: only with --db")
    limit = time_limit if time_limit is not None else meta.time_limit_s
    if limit <= 0 or (deadline is not None and deadline <= 0):
        fail("--time-limit and --deadline must be positive")
    with err_console.status("planning", spinner="dots") as status:

        def progress(message: str) -> None:
            if not quiet:
                status.update(f"planning: {message}")

        if routes:
            try:
                result = plan_with_tours(
                    problem,
                    params,
                    route_params,
                    time_limit_s=limit,
                    deadline_hours=deadline,
                    progress=progress,
                    started=started,
                )
            except ValueError as exc:
                fail(f"--time-limit {limit:g}: {exc}".replace("time_limit_s: ", ""))
        else:
            result = solve_allocation(
                problem, params, time_limit_s=limit, deadline_hours=deadline, progress=progress
            )
    result.notes[:0] = ledger_notes
    result.provenance = Provenance(
        inputs_sha256=inputs_sha256(problem),
        seed=route_params.seed,
        time_limit_s=limit,
        deadline_hours=deadline,
        routed=routes,
        parameters={"allocation": as_record(params), "routing": as_record(route_params)},
        scenario=None if db is not None else str(scenario.resolve()),
        scenario_files={} if db is not None else files_sha256(scenario),
        as_of=as_of,
    ).to_dict()
    return result, problem


def write_plan(result: Plan, problem: Problem, out: Path) -> None:
    """The plan's files (`optimizer.plan_files`); `inputs.json` is the problem as planned
    (`--reproduce` reads it)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, body in plan_files(result, problem).items():
        (out / name).write_bytes(body)


def show_plan(result: Plan, worst: int = 8) -> None:
    k = result.kpis()
    console.print(result.summary(), highlight=False)
    table = Table("figure", "value", title="headline")
    table.add_row(
        "status", result.status.value + (f" (gap {result.gap:.2%})" if result.gap else "")
    )
    table.add_row(
        "residents served on time",
        f"{k['residents_served_on_time']:,} / {k['residents_total']:,} "
        f"({k['share_served_on_time']:.1%})",
    )
    table.add_row(
        "shelters served on time", f"{k['shelters_served_on_time']} / {k['shelters_total']}"
    )
    table.add_row("units shipped (late)", f"{k['units_shipped']:,} ({k['units_late']:,})")
    unmet = ", ".join(f"{i} {q:,}" for i, q in k["units_unmet"].items() if q) or "none"
    table.add_row("units unmet", unmet)
    targets = {
        b.tier: b.target_hours
        for s in result.shelters
        for b in s.first_batches
        if b.target_hours is not None
    }
    shares = k["first_batch_on_target"]
    if shares:
        table.add_row(
            "first batch on target (2024)",
            "; ".join(
                f"{tier} {row['on_target']}/{row['shelters']} shelters ({row['share']:.0%})"
                + (f" within {targets[tier]:g} h" if tier in targets else "")
                for tier, row in shares.items()
            ),
        )
    if result.routing is not None:
        r = result.routing
        if r.bound_residents is not None:
            table.add_row(
                "most any tours could serve",
                f"{r.bound_residents:,} residents (bound; {r.bound_note})",
            )
        table.add_row(
            "tours",
            f"{r.vehicles_used} trucks, {r.trips} trips, {r.stops} stops "
            f"({r.late_stops} after {result.deadline_hours:g} h)",
        )
        table.add_row(
            "depots not toured",
            ", ".join(r.untoured_depots) if r.untoured_depots else "none: every depot toured",
        )
        table.add_row(
            "route search",
            f"{r.steps:,} of {r.steps_planned:,} steps, seed {r.seed}"
            + ("; CUT SHORT by the time limit" if r.capped else ""),
        )
        table.add_row(
            "allocation alone (fleet estimate)",
            f"{r.allocation_residents_on_time:,} residents"
            + (f" ({r.allocation_status.value})" if r.allocation_status else ""),
        )
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    shelters = sorted(
        result.shelters, key=lambda s: (s.served_on_time, s.on_time_share, -s.residents)
    )
    n_bad = sum(not s.served_on_time for s in shelters)
    bad = [s for s in shelters if not s.served_on_time][:worst]
    if bad:
        t = Table(
            "shelter",
            "residents",
            "on time",
            "last arrival h",
            "why",
            title=f"worst-served shelters ({n_bad} not served on time)",
        )
        for s in bad:
            last = f"{s.last_arrival_hours:.1f}" if s.last_arrival_hours is not None else "—"
            t.add_row(
                f"{s.code} {s.name}",
                f"{s.residents:,}",
                f"{s.on_time_share:.0%}",
                last,
                "; ".join(s.reasons[:2]),
            )
        console.print(t)


def reproduce_plan(path: Path) -> int:
    """Re-run a plan from its `inputs.json` with its recorded seed, parameters and limits;
    0 when the same plan comes out, 1 when it does not or its scenario's files changed."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        record = document["provenance"]
        if not isinstance(record, dict):
            raise KeyError("provenance")
        made = Provenance.from_dict(record)
        inputs = path.parent / "inputs.json"
        problem = problem_from_record(json.loads(inputs.read_text(encoding="utf-8")))
        allocation = _Allocation(**_tuples(made.parameters["allocation"]))
        routing = RouteParams(**_tuples(made.parameters["routing"]))
    except FileNotFoundError as exc:
        fail(f"{exc.filename}: not found (a plan's folder holds plan.json and inputs.json)")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        fail(f"{path}: not a plan with recorded inputs ({type(exc).__name__}: {exc})")
    changed = False
    if inputs_sha256(problem) != made.inputs_sha256:
        err_console.print(f"{inputs}: changed since the plan was made", highlight=False)
        changed = True
    if made.scenario is not None and Path(made.scenario).is_dir():
        now = files_sha256(Path(made.scenario))
        for name in sorted(set(now) | set(made.scenario_files)):
            if now.get(name) != made.scenario_files.get(name):
                what = "added" if name not in made.scenario_files else (
                    "removed" if name not in now else "changed"
                )  # fmt: skip
                err_console.print(
                    f"{Path(made.scenario) / name}: {what} since the plan was made "
                    "(re-planning from the recorded inputs)",
                    highlight=False,
                )
                changed = True
    started = time.perf_counter()
    with err_console.status("re-planning", spinner="dots") as status:
        if made.routed:
            prepare_search(lambda m: status.update(m))
            started = time.perf_counter()
            again = plan_with_tours(
                problem,
                allocation,
                routing,
                time_limit_s=made.time_limit_s,
                deadline_hours=made.deadline_hours,
                progress=lambda m: status.update(f"re-planning: {m}"),
                started=started,
            )
        else:
            again = solve_allocation(
                problem,
                allocation,
                time_limit_s=made.time_limit_s,
                deadline_hours=made.deadline_hours,
            )
    if document_fingerprint(document) == again.fingerprint():
        console.print(
            f"same plan: {again.kpis()['residents_served_on_time']:,} residents served on time "
            f"(fingerprint {again.fingerprint()[:16]})",
            highlight=False,
        )
        return 1 if changed else 0
    served_old = document.get("kpis", {}).get("residents_served_on_time")
    console.print(
        f"a different plan: {served_old:,} residents served on time before, "
        f"{again.kpis()['residents_served_on_time']:,} now"
        + (
            "; the time limit cut the search short in one of them"
            if _capped(document, again)
            else ""
        ),
        highlight=False,
    )
    return 1


def _tuples(values: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def _capped(document: dict[str, Any], again: Plan) -> bool:
    before = document.get("clock_cut") or (document.get("routing") or {}).get("capped", False)
    return bool(before) or again.clock_cut
