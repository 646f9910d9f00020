"""`relief plan`: plan a disaster scenario and write the plan, its map and its shipments."""

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import console, err_console, fail, run
from optimizer import AllocationParams, Plan, solve_allocation
from optimizer.manifests import manifest_csv, manifest_html
from optimizer.planner import plan_with_tours, prepare_search
from optimizer.plotting import plot_plan
from optimizer.problem import Problem
from scenarios.scenario import ScenarioError, load_scenario
from supply.services.ledger_problem import ledger_problem


def plan(
    scenario: Annotated[Path, typer.Argument(help="Scenario folder (scenario.yaml + CSVs).")],
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
) -> None:
    """Allocate stock and agreement reserves to shelters to serve the most residents in time,
    then route each depot's trucks."""
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
) -> tuple[Plan, Problem]:
    """Load, allocate and (unless `routes` is false) route, re-allocating while the tours
    miss what the allocation assumed (`optimizer.planner`). The time limit covers it all."""
    try:
        meta, problem = load_scenario(scenario)
        params = AllocationParams(solver=solver.upper())
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
    if db is not None:  # depots, fleet, agreements and stock from the ledger as it is now
        made = run(
            db,
            lambda session: ledger_problem(
                session,
                problem,
                replacing=replacing,
                scenario_fleet=scenario_fleet,
                outside_depots=outside_depots,
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
    elif replacing or scenario_fleet or outside_depots:
        fail("--replacing, --scenario-fleet and --outside-depots: only with --db")
    limit = time_limit if time_limit is not None else meta.time_limit_s
    if limit <= 0 or (deadline is not None and deadline <= 0):
        fail("--time-limit and --deadline must be positive")
    with err_console.status("planning", spinner="dots") as status:

        def progress(message: str) -> None:
            if not quiet:
                status.update(f"planning: {message}")

        if routes:
            prepare_search(progress)
            result = plan_with_tours(
                problem, params, time_limit_s=limit, deadline_hours=deadline, progress=progress
            )
        else:
            result = solve_allocation(
                problem, params, time_limit_s=limit, deadline_hours=deadline, progress=progress
            )
    result.notes[:0] = ledger_notes
    return result, problem


def write_plan(result: Plan, problem: Problem, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(result.to_json(), encoding="utf-8")
    (out / "plan.geojson").write_text(
        json.dumps(result.to_geojson(), ensure_ascii=False), encoding="utf-8"
    )
    (out / "shipments.csv").write_text(result.to_csv(), encoding="utf-8")
    if result.routing is not None:
        (out / "manifests.csv").write_text(manifest_csv(result), encoding="utf-8")
        (out / "manifests.html").write_text(manifest_html(result), encoding="utf-8")
    figure = plot_plan(result, problem)
    figure.savefig(out / "plan.png")
    import matplotlib.pyplot as plt

    plt.close(figure)


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
    if result.routing is not None:
        r = result.routing
        table.add_row(
            "tours",
            f"{r['vehicles_used']} trucks, {r['trips']} trips, {r['stops']} stops "
            f"({r['late_stops']} after {result.deadline_hours:g} h); routing {r['status']}; "
            f"allocation alone: {r['allocation_residents_on_time']:,} residents",
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
