"""`relief fleet`: the trucks each depot has (the planner routes these when it plans from
the ledger)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import DbOption, console, export_sheet, print_json, run, run_on_sheet

app = typer.Typer(help="The fleet registry: trucks by depot and type.", no_args_is_help=True)

SheetArg = Annotated[Path, typer.Argument(help="A .csv or .xlsx file (first sheet).")]


@app.command("import")
def import_fleet(path: SheetArg, db: DbOption = None) -> None:
    """Create or update vehicles (depot,vehicle_type,count,capacity_kg,capacity_m3,speed_kmh);
    the whole file or nothing."""
    from supply.models import FleetCreate
    from supply.services import fleet

    created, updated = run_on_sheet(
        db, path, FleetCreate, required=fleet.FLEET_COLUMNS, work=fleet.upsert_fleet
    )
    console.print(f"fleet: {created} created, {updated} updated")


@app.command("export")
def export_fleet(
    out: Annotated[Path, typer.Option("--out", help="A .csv or .xlsx file to write.")],
    db: DbOption = None,
) -> None:
    """Write the fleet to a file that `fleet import` reads back."""
    from supply.services import fleet

    export_sheet(db, out, fleet.FLEET_COLUMNS, fleet.fleet_table, title="fleet")


@app.command("list")
def list_fleet(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Show every depot's trucks: 车辆 (vehicles) by type."""
    from supply.services import fleet

    rows = run(db, fleet.fleet_table)
    if as_json:
        print_json([dict(zip(fleet.FLEET_COLUMNS, row, strict=True)) for row in rows])
        return
    table = Table(
        "储备库 depot",
        "车型 type",
        "数量 count",
        "载重 kg",
        "容积 m³",
        "速度 km/h",
        title="车辆 fleet",
    )
    for depot, kind, count, kg, m3, speed in rows:
        table.add_row(depot, kind, str(count), f"{kg:,.0f}", f"{m3:,.1f}", f"{speed:g}")
    console.print(table)
