"""`relief aid`: loans between neighbouring jurisdictions (跨区域借调).

The CLI acts for the whole bureau (as `RELIEF_ACTOR`), so it may act for either party; the
server checks each user's party (`supply.services.aid`).
"""

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli.common import DbOption, actor, console, fail, print_json, print_table, read, run

if TYPE_CHECKING:
    from supply.services.aid import Actor
    from supply.services.loan_views import LoanView

app = typer.Typer(
    help="Mutual aid between neighbouring jurisdictions (跨区域借调): request, approve, "
    "refuse, return, settle, list.",
    no_args_is_help=True,
)

QtyOption = Annotated[
    list[str] | None,
    typer.Option("--qty", help="ITEM=QTY, once per item (default: all of it).", metavar="ITEM=QTY"),
]


def _pairs(option: str, values: list[str] | None) -> dict[str, int] | None:
    """ITEM=QTY options as a mapping; a malformed one refuses the command."""
    if not values:
        return None
    found: dict[str, int] = {}
    for value in values:
        code, sep, qty = value.partition("=")
        if not sep or not code or not qty.strip().isdigit():
            fail(f"{option}: {value!r} is not ITEM=QTY with a whole number")
        if code in found:
            fail(f"{option}: item {code} is named twice")
        found[code] = int(qty)
    return found


def _me() -> "Actor":
    from supply.services.aid import Actor

    return Actor(actor())


def _show(loan: "LoanView") -> None:
    lines = ", ".join(
        f"{line.item} {line.requested}→{line.approved if line.approved is not None else '-'}"
        f" (out {line.outstanding})"
        for line in loan.lines
    )
    console.print(
        f"{loan.number} {loan.status}: {loan.lender} → {loan.borrower} at {loan.destination}; "
        f"{lines}",
        highlight=False,
    )


@app.command("request")
def request(
    lender: Annotated[str, typer.Option("--from", help="The lending jurisdiction's code.")],
    borrower: Annotated[str, typer.Option("--to", help="The borrowing jurisdiction's code.")],
    depot: Annotated[str, typer.Option("--depot", help="The borrower's depot to deliver to.")],
    items: Annotated[
        list[str], typer.Option("--item", help="ITEM=QTY, once per item.", metavar="ITEM=QTY")
    ],
    disaster: Annotated[str, typer.Option("--disaster", help="What the goods are for.")],
    needed_by: Annotated[
        str, typer.Option("--needed-by", help="Date needed by, YYYY-MM-DD.", metavar="DATE")
    ],
    note: Annotated[str | None, typer.Option("--note")] = None,
    db: DbOption = None,
) -> None:
    """Ask a neighbour for items (借调申请)."""
    from supply.services import aid

    wanted = _pairs("--item", items) or {}
    try:
        by = date.fromisoformat(needed_by)
    except ValueError:
        fail(f"--needed-by: {needed_by!r} is not a date (YYYY-MM-DD)")
    loan = run(
        db,
        lambda s: aid.request_loan(
            s,
            borrower=borrower,
            lender=lender,
            destination=depot,
            lines=list(wanted.items()),
            disaster=disaster,
            needed_by=by,
            note=note,
            actor=_me(),
        ),
    )
    _show(loan)


@app.command("approve")
def approve(
    number: Annotated[str, typer.Argument(help="The loan's number, e.g. LN-000001.")],
    source: Annotated[str, typer.Option("--source", help="The lender's depot it leaves from.")],
    qty: QtyOption = None,
    db: DbOption = None,
) -> None:
    """Grant a loan, fully or (with --qty) partly: the lender's lots move at once."""
    from supply.services import aid

    granted = _pairs("--qty", qty)
    _show(
        run(db, lambda s: aid.approve_loan(s, number, source=source, approved=granted, actor=_me()))
    )


@app.command("refuse")
def refuse(
    number: Annotated[str, typer.Argument(help="The loan's number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (the borrower reads it).")],
    db: DbOption = None,
) -> None:
    """Decline a loan, saying why; nothing moves."""
    from supply.services import aid

    _show(run(db, lambda s: aid.refuse_loan(s, number, reason=reason, actor=_me())))


@app.command("return")
def return_(
    number: Annotated[str, typer.Argument(help="The loan's number.")],
    qty: QtyOption = None,
    db: DbOption = None,
) -> None:
    """Send lent goods back to the lender's depot (all that is out, or --qty)."""
    from supply.services import aid

    wanted = _pairs("--qty", qty)
    _show(run(db, lambda s: aid.return_loan(s, number, quantities=wanted, actor=_me())))


@app.command("settle")
def settle(
    number: Annotated[str, typer.Argument(help="The loan's number.")],
    qty: QtyOption = None,
    db: DbOption = None,
) -> None:
    """Keep lent goods and pay for them at the lots' unit cost; they become the borrower's."""
    from supply.services import aid

    wanted = _pairs("--qty", qty)
    loan = run(db, lambda s: aid.settle_loan(s, number, quantities=wanted, actor=_me()))
    _show(loan)
    console.print(f"settled amount 结算金额: {loan.settled_amount}", highlight=False)


@app.command("list")
def list_(
    jurisdiction: Annotated[
        str | None, typer.Option("--jurisdiction", help="Loans it borrows or lends.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="requested, approved, refused or closed.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Show loans by number."""
    from supply.models import LoanStatus
    from supply.services import loan_views

    chosen = None
    if status is not None:
        try:
            chosen = LoanStatus(status)
        except ValueError:
            fail(f"--status: unknown status {status!r}; use one of {', '.join(LoanStatus)}")
    loans = read(db, lambda s: loan_views.list_loans(s, jurisdiction=jurisdiction, status=chosen))
    if as_json:
        print_json(
            [
                {
                    "number": v.number,
                    "status": v.status,
                    "borrower": v.borrower,
                    "lender": v.lender,
                    "destination": v.destination,
                    "source": v.source,
                    "disaster": v.disaster,
                    "needed_by": v.needed_by.isoformat(),
                    "requested_by": v.requested_by,
                    "decided_by": v.decided_by,
                    "refusal_reason": v.refusal_reason,
                    "settled_amount": str(v.settled_amount),
                    "lines": [
                        {
                            "item": line.item,
                            "requested": line.requested,
                            "approved": line.approved,
                            "lent": line.lent,
                            "returned": line.returned,
                            "settled": line.settled,
                        }
                        for line in v.lines
                    ],
                }
                for v in loans
            ]
        )
        return
    table = Table(
        "单号 number", "状态 status", "借出 lender", "借入 borrower", "items", "needed by"
    )
    for v in loans:
        table.add_row(
            v.number,
            v.status,
            v.lender,
            v.borrower,
            " ".join(f"{line.item}:{line.outstanding}/{line.requested}" for line in v.lines),
            v.needed_by.isoformat(),
        )
    print_table(table)
