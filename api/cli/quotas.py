"""`relief quotas`: reserve quotas (储备定额) and the gaps against them."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli.common import (
    DbOption,
    console,
    export_sheet,
    fail,
    local_now,
    print_json,
    print_table,
    read,
    run_on_sheet,
)
from supply.network import TARGET_HOURS, Tier

if TYPE_CHECKING:
    from supply.services.quotas import Gap

app = typer.Typer(help="Reserve quotas per depot or tier, and the gaps.", no_args_is_help=True)


@app.command("import")
def import_quotas(
    path: Annotated[Path, typer.Argument(help="A .csv or .xlsx file (first sheet).")],
    db: DbOption = None,
) -> None:
    """Create or update quotas: item, then depot or tier, then qty or per_resident."""
    from supply.models import QuotaCreate
    from supply.services import quotas as quota_service

    created, updated = run_on_sheet(
        db, path, QuotaCreate, required=("item",), work=quota_service.upsert_quotas
    )
    console.print(f"quotas: {created} created, {updated} updated")


@app.command("export")
def export_quotas(
    out: Annotated[Path, typer.Option("--out", help="A .csv or .xlsx file to write.")],
    db: DbOption = None,
) -> None:
    """Write every quota to a file that `quotas import` reads back."""
    from supply.services import quotas as quota_service

    export_sheet(db, out, quota_service.QUOTA_COLUMNS, quota_service.quota_table, title="quotas")


@app.command()
def gaps(
    tier: Annotated[Tier | None, typer.Option("--tier", help="Only depots of this tier.")] = None,
    depot: Annotated[str | None, typer.Option("--depot", help="Only this depot.")] = None,
    within: Annotated[
        float, typer.Option("--within", help="Hours an agreement may take to count.")
    ] = TARGET_HOURS,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Each depot's quotas against its stock (not expired) plus what its agreements could
    deliver within --within hours; shortfalls first, worst covered first."""
    from supply.services import quotas as quota_service

    if within < 0:
        fail("--within: must be zero or more hours")
    now = local_now()
    rows = read(db, lambda s: quota_service.gaps(s, now=now, tier=tier, depot=depot, hours=within))
    if as_json:
        print_json([g.to_json() for g in rows])
        return
    print_table(gaps_table(rows, title=f"reserve quotas: stock + agreements within {within:g} h"))


def gaps_table(rows: "list[Gap]", *, title: str) -> Table:
    """Gaps as a keeper reads them: the shortfall in red, per-resident quotas explained."""
    table = Table(
        "depot",
        "tier",
        "item",
        "quota",
        "on hand",
        "agreements",
        "covered",
        "short",
        title=title,
    )
    for g in rows:
        quota = f"{g.quota:,}" if g.quota is not None else "?"
        if g.per_resident is not None:
            quota += f" ({g.per_resident.normalize():f}/resident)"
        if g.status == "short":
            short = f"[bold red]{g.shortfall:,}[/]"
        elif g.status == "met":
            short = "[green]met[/]"
        else:
            short = "[yellow]population unknown[/]"
        table.add_row(
            g.depot,
            g.tier,
            g.item,
            quota,
            f"{g.on_hand:,}",
            f"{g.agreements:,}",
            f"{g.covered:,}",
            short,
        )
    return table
