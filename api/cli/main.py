"""The `relief` command."""

import typer

from api.cli import (
    bench,
    catalog,
    db,
    demo,
    dispatch,
    docs,
    fleet,
    plan,
    quotas,
    readiness,
    reserves,
    rotation,
    scenarios,
    siting,
    stock,
)

app = typer.Typer(
    help="relief-supply: emergency relief-supply stock ledger and planner.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(catalog.catalog_app, name="catalog")
app.add_typer(catalog.depots_app, name="depots")
app.add_typer(fleet.app, name="fleet")
app.add_typer(stock.app, name="stock")
app.add_typer(rotation.app, name="rotation")
app.add_typer(reserves.app, name="reserves")
app.add_typer(quotas.app, name="quotas")
app.add_typer(dispatch.app, name="dispatch")
app.add_typer(docs.app, name="docs")
app.command("readiness")(readiness.readiness)
app.command("plan")(plan.plan)
app.command("demo")(demo.demo)
app.add_typer(bench.app, name="bench")
app.add_typer(siting.app, name="siting")
app.add_typer(scenarios.app, name="scenarios")

if __name__ == "__main__":
    app()
