"""`relief scenarios`: generate seeded disaster scenarios and compare scenario folders."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.common import console, fail, print_json

app = typer.Typer(
    help="Disaster scenarios: generate and compare (情景生成与比较).", no_args_is_help=True
)


@app.command("generate")
def generate(
    hazard: Annotated[Path, typer.Argument(help="Folder with hazard.yaml and population.csv.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the scenarios.")],
    count: Annotated[int, typer.Option("--count", help="Scenarios to draw.", min=1)] = 50,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same set).")] = 0,
    siting_set: Annotated[
        Path | None,
        typer.Option("--set", help="Copy this set's siting.yaml, candidates and items into OUT."),
    ] = None,
) -> None:
    """Draw COUNT events from the hazard's frequency table and write one scenario folder per
    event plus scenarios.csv (folder, probability)."""
    from scenarios.generate import generate as run
    from scenarios.scenario import ScenarioError

    if siting_set is not None and not (siting_set / "siting.yaml").exists():
        fail(f"--set: {siting_set} has no siting.yaml")
    try:
        made = run(hazard, out, count=count, seed=seed, siting_set=siting_set)
    except ScenarioError as exc:
        fail(" ".join(str(exc).split()))
    t = Table("scenario", "size", "probability", "residents", "roads closed/damaged")
    for g in made:
        t.add_row(g.name, f"{g.size:g}", f"{g.probability:.4f}", f"{g.residents:,}",
                  f"{g.closed}/{g.damaged}")  # fmt: skip
    console.print(t)
    console.print(f"wrote {len(made)} scenarios and scenarios.csv to {out}", highlight=False)


def _figures(folder: Path) -> dict[str, Any]:
    from optimizer.demand import needs
    from optimizer.problem import RoadStatus
    from optimizer.sources import sources
    from scenarios.scenario import load_scenario

    meta, problem = load_scenario(folder)
    critical = {n.item for n in problem.norms if n.critical}
    need: dict[str, int] = {}
    for n in needs(problem):
        if n.item in critical:
            need[n.item] = need.get(n.item, 0) + n.qty
    supply: dict[str, int] = {}
    for s in sources(problem):
        for item, qty in s.supply.items():
            supply[item] = supply.get(item, 0) + qty
    cover = min((supply.get(i, 0) / q for i, q in need.items() if q), default=1.0)
    return {
        "scenario": meta.name,
        "kind": meta.disaster.kind,
        "shelters": len(problem.shelters),
        "residents": sum(h.residents for h in problem.shelters),
        "roads_closed": sum(r.status == RoadStatus.CLOSED for r in problem.roads),
        "roads_damaged": sum(r.status == RoadStatus.DAMAGED for r in problem.roads),
        "critical_need": need,
        "critical_supply": {i: supply.get(i, 0) for i in need},
        "scarcest_cover": round(cover, 4),
    }


@app.command("compare")
def compare(
    folders: Annotated[list[Path], typer.Argument(help="Scenario folders.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write compare.png (and compare.json) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Side by side: residents, shelters, roads closed and damaged, and how far the stock
    covers the scarcest critical item (stock and agreements ÷ need)."""
    from scenarios.scenario import ScenarioError

    try:
        rows = [_figures(f) for f in folders]
    except ScenarioError as exc:
        fail(" ".join(str(exc).split()))
    if out is not None:
        import json

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2), "utf-8")
        fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(rows) + 3), 4.5), dpi=110)
        ax.bar([r["scenario"] for r in rows], [r["residents"] for r in rows], color="#4575b4")
        ax.set_ylabel("residents in shelters")
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.set_title("scenarios compared")
        fig.tight_layout()
        fig.savefig(out / "compare.png")
        plt.close(fig)
    if as_json:
        print_json(rows)
        return
    t = Table("scenario 情景", "kind", "shelters", "residents 受灾群众", "roads closed/damaged",
              "stock ÷ need (scarcest)", title="compare 比较")  # fmt: skip
    for r in rows:
        roads = f"{r['roads_closed']}/{r['roads_damaged']}"
        t.add_row(r["scenario"], r["kind"], str(r["shelters"]), f"{r['residents']:,}", roads,
                  f"{r['scarcest_cover']:.0%}")  # fmt: skip
    console.print(t)
