"""`relief jurisdictions`: the administrative tree (行政区划) depots and users belong to."""

from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import DbOption, console, fail, print_json, print_table, read, run

app = typer.Typer(
    help="Jurisdictions (行政区划): add, list, assign depots, neighbours and sharing.",
    no_args_is_help=True,
)


@app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="Administrative division code, e.g. 210381.")],
    name: Annotated[str, typer.Argument(help="Its name, e.g. 海城市.")],
    level: Annotated[str, typer.Option("--level", help="province, city, county or township.")],
    parent: Annotated[
        str | None, typer.Option("--parent", help="The code of the jurisdiction above it.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a jurisdiction under its parent."""
    from supply.models import Level
    from supply.services import jurisdictions

    try:
        chosen = Level(level)
    except ValueError:
        fail(f"--level: unknown level {level!r}; use one of {', '.join(lv.value for lv in Level)}")
    made = run(
        db,
        lambda s: jurisdictions.add_jurisdiction(
            s, code=code, name=name, level=chosen, parent=parent
        ),
    )
    console.print(f"added {made.level} {made.code} {made.name}", highlight=False)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Show every jurisdiction with its level and parent."""
    from supply.services import jurisdictions

    rows = read(db, jurisdictions.jurisdiction_views)
    if as_json:
        print_json(
            [
                {
                    "code": v.code,
                    "name": v.name,
                    "level": v.level,
                    "parent": v.parent,
                    "neighbours": list(v.neighbours),
                    "shares_with_neighbours": v.shares_with_neighbours,
                }
                for v in rows
            ]
        )
        return
    table = Table(
        "代码 code", "name", "级别 level", "上级 parent", "相邻 neighbours", "共享 shares"
    )
    for v in rows:
        table.add_row(
            v.code,
            v.name,
            v.level,
            v.parent or "",
            " ".join(v.neighbours),
            "yes" if v.shares_with_neighbours else "",
        )
    print_table(table)


@app.command("assign")
def assign(
    code: Annotated[str, typer.Argument(help="The jurisdiction's code.")],
    depots: Annotated[list[str], typer.Argument(help="Depot codes.")],
    db: DbOption = None,
) -> None:
    """Make depots belong to a jurisdiction (all named, or none if one is unknown)."""
    from supply.services import jurisdictions

    count = run(db, lambda s: jurisdictions.assign_depots(s, code, depots))
    console.print(f"{count} depot(s) now belong to {code}", highlight=False)


@app.command("neighbours")
def neighbours(
    code: Annotated[str, typer.Argument(help="A jurisdiction's code.")],
    others: Annotated[list[str], typer.Argument(help="Codes of the jurisdictions it borders.")],
    db: DbOption = None,
) -> None:
    """Record that a jurisdiction borders others (相邻; both ways). Mutual aid is lent
    between neighbours."""
    from supply.services import jurisdictions

    added = run(db, lambda s: jurisdictions.add_neighbours(s, code, others))
    console.print(f"{code} borders {', '.join(others)} ({added} new pair(s))", highlight=False)


@app.command("share")
def share(
    code: Annotated[str, typer.Argument(help="A jurisdiction's code.")],
    off: Annotated[bool, typer.Option("--off", help="Stop sharing.")] = False,
    db: DbOption = None,
) -> None:
    """Let the neighbours' people see this jurisdiction's depots' stock (or stop, --off)."""
    from supply.services import jurisdictions

    run(db, lambda s: jurisdictions.set_sharing(s, code, not off))
    state = "no longer shares" if off else "shares"
    console.print(f"{code} {state} its stock with its neighbours", highlight=False)
