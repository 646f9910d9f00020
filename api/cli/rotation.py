"""`relief rotation`: batches due for rotation (轮换), and rotating them."""

import json
import sys
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from api.cli.common import DbOption, actor, console, fail, print_table, read, run

app = typer.Typer(help="Rotation of stock before it expires.", no_args_is_help=True)


@app.command()
def due(
    within: Annotated[int, typer.Option("--within", help="Days ahead.")] = 90,
    depot: Annotated[str | None, typer.Option("--depot", help="Depot code.")] = None,
    subtree: Annotated[bool, typer.Option("--subtree", help="And every depot below.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Batches whose rotation date (expiry − the item's lead days) is within --within days."""
    from supply.services import balances as balance_service

    if within < 0:
        fail("--within: must be zero or more days")
    if subtree and depot is None:
        fail("--subtree needs --depot")
    today = date.today()
    rows = read(
        db,
        lambda s: balance_service.due_for_rotation(
            s, within_days=within, depot=depot, subtree=subtree, today=today
        ),
    )
    data: list[dict[str, Any]] = [
        {
            "depot": r.depot,
            "item": r.item,
            "lot": r.lot,
            "qty": r.on_hand,
            "reserved": r.reserved,
            "expires_on": r.expires_on.isoformat() if r.expires_on else None,
            "rotation_due": r.rotation_due.isoformat() if r.rotation_due else None,
            "days_left": (r.rotation_due - today).days if r.rotation_due else None,
            "expired": r.expired,
        }
        for r in rows
    ]
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(
        "rotate by",
        "days left",
        "depot",
        "item",
        "lot",
        "qty",
        "expires",
        title=f"rotation due within {within} days",
    )
    for d in data:
        left = d["days_left"]
        shown = (
            "[bold red]EXPIRED[/]"
            if d["expired"]
            else (f"[yellow]{left}[/]" if left is not None and left <= 0 else str(left))
        )
        table.add_row(
            d["rotation_due"],
            shown,
            d["depot"],
            d["item"],
            d["lot"],
            f"{d['qty']:,}",
            d["expires_on"],
        )
    print_table(table)


@app.command()
def rotate(
    depot: Annotated[str, typer.Option("--depot")],
    item: Annotated[str, typer.Option("--item")],
    lot: Annotated[str, typer.Option("--lot", help="The batch going out.")],
    reason: Annotated[str, typer.Option("--reason", help="sold, donated, drill, destroyed...")],
    new_lot: Annotated[str, typer.Option("--new-lot", help="The replacement batch.")],
    new_qty: Annotated[int, typer.Option("--new-qty")],
    new_expires: Annotated[str | None, typer.Option("--new-expires", help="YYYY-MM-DD")] = None,
    qty: Annotated[
        int | None, typer.Option("--qty", help="Units out (default: all unreserved).")
    ] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    db: DbOption = None,
) -> None:
    """Rotate a batch: the old lot leaves to the rotation outlet, the new one comes in."""
    from supply.services.rotation import rotate as rotate_batch
    from supply.services.stock import Meta

    expires = None
    if new_expires is not None:
        try:
            expires = date.fromisoformat(new_expires)
        except ValueError:
            fail(f"--new-expires: {new_expires!r} is not a date (YYYY-MM-DD)")
    posted = run(
        db,
        lambda s: rotate_batch(
            s,
            depot=depot,
            item=item,
            lot=lot,
            reason=reason,
            new_lot=new_lot,
            new_qty=new_qty,
            new_expires_on=expires,
            qty=qty,
            meta=Meta(actor=actor(), note=note),
        ),
    )
    console.print(f"posted {posted.number}")
