"""`relief catalog` and `relief depots`: the catalogue and the depot network."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import (
    DbOption,
    console,
    export_sheet,
    fail,
    print_table,
    read,
    run,
    run_on_sheet,
)

catalog_app = typer.Typer(help="The reserve catalogue of items.", no_args_is_help=True)
depots_app = typer.Typer(help="The five-tier depot network.", no_args_is_help=True)
categories_app = typer.Typer(
    help="The catalogue's categories, which items must name; the bureau may add its own.",
    no_args_is_help=True,
)
catalog_app.add_typer(categories_app, name="categories")

SheetArg = Annotated[Path, typer.Argument(help="A .csv or .xlsx file (first sheet).")]
OutOpt = Annotated[Path, typer.Option("--out", help="A .csv or .xlsx file to write.")]

ITEM_COLUMNS = (
    "code",
    "name_zh",
    "name_en",
    "category",
    "unit",
    "unit_weight_kg",
    "unit_volume_m3",
)
"""Required columns of an items file: the first seven of `ITEM_EXPORT_COLUMNS` (not imported
from there: the catalogue service loads every table); `shelf_life_days` and
`rotation_lead_days` are optional."""
DEPOT_COLUMNS = ("code", "name", "tier", "parent_code", "lat", "lon", "capacity_m3")
"""Required columns of a depots file; `population_served` and `loading_hours` are optional."""


@catalog_app.command("import")
def import_items(path: SheetArg, db: DbOption = None) -> None:
    """Create or update items from a .csv or .xlsx file (columns as the Item fields)."""
    from supply.models import ItemCreate
    from supply.services.catalogue import upsert_items

    created, updated = run_on_sheet(db, path, ItemCreate, required=ITEM_COLUMNS, work=upsert_items)
    console.print(f"items: {created} created, {updated} updated")


@catalog_app.command("export")
def export_items(out: OutOpt, db: DbOption = None) -> None:
    """Write the catalogue to a .csv or .xlsx file that `catalog import` reads back."""
    from supply.services.catalogue import ITEM_EXPORT_COLUMNS, item_table

    export_sheet(db, out, ITEM_EXPORT_COLUMNS, item_table, title="items")


@depots_app.command("import")
def import_depots(path: SheetArg, db: DbOption = None) -> None:
    """Create or update depots from a .csv or .xlsx file; parents come before their children."""
    from supply.models import DepotCreate
    from supply.services.catalogue import upsert_depots

    created, updated = run_on_sheet(
        db, path, DepotCreate, required=DEPOT_COLUMNS, work=upsert_depots
    )
    console.print(f"depots: {created} created, {updated} updated")


@depots_app.command("export")
def export_depots(out: OutOpt, db: DbOption = None) -> None:
    """Write the depot network to a .csv or .xlsx file that `depots import` reads back."""
    from supply.services.catalogue import DEPOT_EXPORT_COLUMNS, depot_table

    export_sheet(db, out, DEPOT_EXPORT_COLUMNS, depot_table, title="depots")


@depots_app.command("list")
def list_depots(db: DbOption = None) -> None:
    """Show the depot network."""
    from supply.services.catalogue import list_depots as services_list_depots

    depots = read(db, services_list_depots)
    table = Table(
        "code", "name", "tier", "parent", "capacity m³", "population served", "custodian", "active"
    )
    for loc, parent, custodian in depots:
        capacity = f"{loc.capacity_m3:,.0f}" if loc.capacity_m3 is not None else ""
        population = f"{loc.population_served:,}" if loc.population_served is not None else ""
        table.add_row(
            loc.code,
            loc.name,
            loc.tier,
            parent or "",
            capacity,
            population,
            custodian or "",
            "yes" if loc.active else "no",
        )
    print_table(table)


@depots_app.command("entrust")
def entrust(
    depot: Annotated[str, typer.Argument(help="Depot code.")],
    custodian: Annotated[
        str | None,
        typer.Option("--custodian", help="Supplier code of the enterprise keeping the depot."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="End the entrusted storage.")] = False,
    db: DbOption = None,
) -> None:
    """Entrusted storage (代储): an enterprise keeps this depot for us; the stock stays ours."""
    from supply.services.agreements import entrust as entrust_depot

    if (custodian is None) == (not clear):
        fail("give --custodian SUPPLIER or --clear")
    run(db, lambda s: entrust_depot(s, depot=depot, custodian=custodian))
    if custodian is None:
        console.print(f"{depot}: entrusted storage ended")
    else:
        console.print(f"{depot}: kept by {custodian} (entrusted storage)")


@categories_app.command("list")
def list_categories(db: DbOption = None) -> None:
    """Show the categories items may name."""
    from supply.services.catalogue import list_categories as service

    rows = read(db, lambda s: [(c.code, c.name_zh, c.name_en) for c in service(s)])
    table = Table("code", "名称", "name")
    for row in rows:
        table.add_row(*row)
    print_table(table, wrap=("名称", "name"))


@categories_app.command("add")
def add_category(
    code: Annotated[str, typer.Argument(help="Category code, e.g. water_purification.")],
    name_zh: Annotated[str, typer.Option("--name-zh", help="中文名称")],
    name_en: Annotated[str, typer.Option("--name-en", help="English name")],
    db: DbOption = None,
) -> None:
    """Add a category to the catalogue's list (or rename one)."""
    from supply.services.catalogue import add_category as service

    new = run(db, lambda s: service(s, code=code, name_zh=name_zh, name_en=name_en))
    console.print(f"category {code} {'added' if new else 'renamed'}", highlight=False)
