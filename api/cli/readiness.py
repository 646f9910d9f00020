"""`relief readiness`: residents each city and county reserve could supply for one day."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import DbOption, fail, local_now, print_json, print_table, run_on_sheet
from scenarios.paths import SAMPLE_DIR
from supply.network import TARGET_HOURS

#: The sample's per-resident norms, used when no --norms file is given.
SAMPLE_NORMS = SAMPLE_DIR / "norms.csv"


def readiness(
    norms: Annotated[
        Path,
        typer.Option(
            "--norms",
            help="Per-resident norms (.csv or .xlsx): item,per_person,per,priority,critical.",
        ),
    ] = SAMPLE_NORMS,
    depot: Annotated[str | None, typer.Option("--depot", help="Only this depot's subtree.")] = None,
    within: Annotated[
        float, typer.Option("--within", help="Hours an agreement may take to count.")
    ] = TARGET_HOURS,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Per city and county subtree: residents its stock plus agreements could supply for one
    day with every critical item, and the item that limits it."""
    from supply.services import readiness as readiness_service

    if within < 0:
        fail("--within: must be zero or more hours")
    now = local_now()
    result = run_on_sheet(
        db,
        norms,
        readiness_service.NormRow,
        required=readiness_service.NORM_COLUMNS,
        work=lambda s, rows: readiness_service.readiness(
            s, rows, now=now, hours=within, depot=depot
        ),
    )
    if as_json:
        print_json([r.to_json() for r in result])
        return
    table = Table(
        "depot",
        "tier",
        "depots",
        "population served",
        "residents for 1 day",
        "share",
        "limited by",
        title=f"readiness: stock + agreements within {within:g} h ({norms.name})",
    )
    for r in result:
        share = f"{r.share:.1%}" if r.share is not None else ""
        table.add_row(
            r.depot,
            r.tier,
            str(r.depots),
            f"{r.population_served:,}" if r.population_served is not None else "",
            f"{r.residents:,}",
            share,
            r.limiting_item,
        )
    print_table(table)
