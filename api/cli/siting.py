"""`relief siting`: choose depot sites and prepositioned stock across scenarios, evaluate a
network with the real planner on every scenario (Dask), and compare the results."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from api.cli.common import console, err_console, fail, print_json, run

app = typer.Typer(
    help="Depot siting and prepositioning across disaster scenarios (选址与前置储备).",
    no_args_is_help=True,
)

SetArg = Annotated[
    Path,
    typer.Argument(
        help="Scenario set folder: siting.yaml, candidates.csv, items.csv, scenarios.csv."
    ),
]


def _load(folder: Path) -> Any:
    from scenarios.scenario import ScenarioError
    from scenarios.siting_set import load_set

    try:
        return load_set(folder)
    except ScenarioError as exc:
        fail(" ".join(str(exc).split()))


def _save_figure(figure: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure.savefig(path)
    plt.close(figure)


@app.command("solve")
def solve(
    folder: SetArg,
    out: Annotated[Path, typer.Option("--out", help="Folder for the result files.")] = Path(
        "relief-siting"
    ),
    budget: Annotated[
        float | None, typer.Option("--budget", help="¥ (default: the set's).", min=0)
    ] = None,
    objective: Annotated[
        str | None, typer.Option("--objective", help="expected or cvar (default: the set's).")
    ] = None,
    alpha: Annotated[
        float | None, typer.Option("--alpha", help="CVaR: the worst share of scenarios.")
    ] = None,
    mode: Annotated[
        str, typer.Option("--mode", help="coverage (most residents) or cost (cheapest).")
    ] = "coverage",
    coverage: Annotated[
        float | None, typer.Option("--target-coverage", help="Cost mode: share of residents.")
    ] = None,
    probability: Annotated[
        float | None,
        typer.Option("--target-probability", help="Cost mode: share of scenarios (chance)."),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds for the MIP.", min=0.1)
    ] = 60.0,
    rounds: Annotated[
        int,
        typer.Option("--rounds", help="Benders rounds at most (large sets).", min=1),
    ] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print siting.json.")] = False,
) -> None:
    """Solve the two-stage model; write siting.json, sites.csv, stock.csv (quotas),
    siting.geojson and siting.png."""
    from optimizer.siting import Mode, Objective, SitingParams, Target, solve_siting
    from optimizer.siting.report import document, geojson, plot_sites, sites_csv, stock_csv

    sset = _load(folder)
    try:
        target = None
        if coverage is not None:
            target = Target(coverage, probability)
        elif probability is not None:
            base = sset.target.coverage if sset.target else 1.0
            target = Target(base, probability)
        params = SitingParams(
            mode=Mode(mode),
            objective=Objective(objective) if objective else None,
            alpha=alpha,
            budget=budget,
            target=target,
            max_rounds=rounds,
        )
        if params.mode == Mode.COST and (params.target or sset.target) is None:
            raise ValueError("--mode cost: needs --target-coverage or a target in siting.yaml")
    except ValueError as exc:
        fail(" ".join(str(exc).split()))
    with err_console.status("solving the siting model", spinner="dots"):
        result = solve_siting(sset, params, time_limit_s=time_limit)
    if result.size.get("clock_cut"):
        err_console.print(
            f"note: the time limit ({time_limit:g} s) stopped the search before its rounds "
            "or its gap; a longer --time-limit may give a better answer"
        )
    doc = document(result, sset)
    out.mkdir(parents=True, exist_ok=True)
    (out / "siting.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), "utf-8")
    if result.sites:
        (out / "sites.csv").write_text(sites_csv(result, sset), encoding="utf-8")
        (out / "stock.csv").write_text(stock_csv(result, sset), encoding="utf-8")
        (out / "siting.geojson").write_text(
            json.dumps(geojson(result, sset), ensure_ascii=False), encoding="utf-8"
        )
        _save_figure(plot_sites(result, sset), out / "siting.png")
    if as_json:
        print_json(doc)
    else:
        _show(result)
        console.print(f"wrote {out}/siting.json, sites.csv, stock.csv, siting.geojson, siting.png")
    if not result.sites:
        raise typer.Exit(1)


def _show(result: Any) -> None:
    console.print(result.summary(), highlight=False)
    t = Table("site 站点", "kind 类型", "added m³", "cost ¥", "stock 前置储备", title="sites 选址")
    for s in result.sites:
        if s.opened and (not s.existing or s.stock or s.added_m3 > 0):
            stock = ", ".join(f"{i} {q:,}" for i, q in s.stock.items()) or "—"
            t.add_row(f"{s.code} {s.name}", s.kind, f"{s.added_m3:,.1f}", f"{s.cost:,.0f}", stock)
    console.print(t)
    if result.scenarios:
        worst = sorted(result.scenarios, key=lambda o: o.share)[:5]
        console.print(
            "worst scenarios: "
            + "; ".join(f"{o.name} {o.residents_served:,}/{o.residents_total:,}" for o in worst),
            highlight=False,
        )
    for m in result.marginals[:5]:
        console.print(
            f"marginal: one more {m.item} at {m.site} ≈ {m.residents_per_unit:.3g} residents "
            "(LP estimate)",
            highlight=False,
        )


@app.command("evaluate")
def evaluate(
    folder: SetArg,
    network: Annotated[
        Path | None,
        typer.Option("--network", help="A proposal: siting.json (or its folder) from `solve`."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the result files.")] = Path(
        "relief-evaluation"
    ),
    routed: Annotated[
        bool, typer.Option("--routed", help="Plan truck tours too (slower, needs roads).")
    ] = False,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds per scenario plan.", min=0.1)
    ] = 10.0,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler, tcp://HOST:PORT.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="LocalCluster workers (default: cores).")
    ] = None,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="No Dask: one scenario after another.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print evaluation.json.")] = False,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Today's stock from this ledger, not the scenarios' stock.csv."),
    ] = None,
) -> None:
    """Plan every scenario with today's network and, with --network, the proposal; write
    evaluation.csv, evaluation.json and evaluation.png (residents served per scenario)."""
    from optimizer.siting.evaluate import sweep, tasks
    from optimizer.siting.report import (
        aggregate,
        evaluation_csv,
        evaluation_rows,
        network_of,
        plot_evaluation,
    )

    sset = _load(folder)
    if db is not None:
        sset = _from_ledger(sset, db)
    proposal = None
    if network is not None:
        path = network / "siting.json" if network.is_dir() else network
        try:
            proposal = network_of(json.loads(path.read_text(encoding="utf-8")))
            unknown = [c for c in proposal.opened if c not in {k.code for k in sset.candidates}]
            if unknown:
                raise ValueError(f"sites: {', '.join(unknown)} not candidates of this set")
        except OSError as exc:
            fail(f"{path}: {exc.strerror or exc}")
        except json.JSONDecodeError as exc:
            fail(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}")
        except ValueError as exc:
            fail(f"{path}: {' '.join(str(exc).split())}")
    work = tasks(sset, None, time_limit_s=time_limit, routed=routed)
    if proposal is not None:
        work += tasks(sset, proposal, time_limit_s=time_limit, routed=routed)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        job = bar.add_task("planning scenarios", total=len(work))
        try:
            results = sweep(
                work,
                scheduler=scheduler,
                workers=workers,
                in_process=in_process,
                progress=lambda done, _total: bar.update(job, completed=done),
            )
        except (ValueError, OSError) as exc:
            fail(" ".join(str(exc).split()))
    summary = aggregate(results)
    doc = {"set": sset.name, "networks": summary, "scenarios": evaluation_rows(results)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), "utf-8")
    (out / "evaluation.csv").write_text(evaluation_csv(results), encoding="utf-8")
    _save_figure(plot_evaluation(results, f"{sset.title}\nresidents served on time per scenario"),
                 out / "evaluation.png")  # fmt: skip
    if as_json:
        print_json(doc)
        return
    _show_networks(summary, title=sset.name)
    console.print(f"wrote {out}/evaluation.csv, evaluation.json, evaluation.png")


def _from_ledger(sset: Any, db: str) -> Any:
    """Each scenario with the ledger's available stock in place of its stock.csv (as
    `relief plan --db` plans), read in one transaction per scenario."""
    from dataclasses import replace

    from supply.services.snapshot import ledger_snapshot

    scenarios = []
    for sc in sset.scenarios:
        problem = sc.problem

        def read(session: Any, problem: Any = problem) -> Any:
            return ledger_snapshot(session, problem).problem

        scenarios.append(replace(sc, problem=run(db, read)))
    return replace(sset, scenarios=tuple(scenarios))


def _show_networks(summary: dict[str, dict[str, float]], title: str) -> None:
    t = Table(
        "network 方案", "expected served 期望按时救助", "share 比例", "worst 最差情景", title=title
    )
    for name, a in summary.items():
        t.add_row(
            name,
            f"{a['expected_served']:,.0f} / {a['expected_total']:,.0f}",
            f"{a['expected_share']:.1%}",
            f"{a['worst_share']:.1%}",
        )
    console.print(t)


@app.command("compare")
def compare(
    files: Annotated[
        list[Path], typer.Argument(help="evaluation.json or siting.json files (or folders).")
    ],
) -> None:
    """Side by side: each file's networks, expected residents served on time, worst case."""
    rows: list[tuple[str, str, dict[str, float]]] = []
    for given in files:
        path = given
        if given.is_dir():
            path = given / "evaluation.json"
            if not path.exists():
                path = given / "siting.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            fail(f"{path}: {exc.strerror or exc}")
        except json.JSONDecodeError as exc:
            fail(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}")
        if isinstance(doc, dict) and "networks" in doc:
            for name, a in doc["networks"].items():
                rows.append((str(path), name, a))
        elif isinstance(doc, dict) and "expected_served" in doc:
            shares = [s["share"] for s in doc.get("scenarios", [])] or [1.0]
            total = doc["expected_total"] or 1
            rows.append(
                (str(path), f"model ¥{doc['cost']:,.0f}", {
                    "expected_served": doc["expected_served"],
                    "expected_total": doc["expected_total"],
                    "expected_share": doc["expected_served"] / total,
                    "worst_share": min(shares),
                })
            )  # fmt: skip
        else:
            fail(f"{path}: neither an evaluation.json nor a siting.json")
    t = Table("file", "network 方案", "expected served", "share", "worst", title="compare 比较")
    for where, name, a in rows:
        t.add_row(
            where,
            name,
            f"{a['expected_served']:,.0f} / {a['expected_total']:,.0f}",
            f"{a['expected_share']:.1%}",
            f"{a['worst_share']:.1%}",
        )
    console.print(t)
