"""`relief reserves`: suppliers, agreement reserves, inspections, call-offs and settlement."""

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from api.cli.common import (
    DbOption,
    actor,
    console,
    export_sheet,
    fail,
    local_now,
    print_json,
    run,
    run_on_sheet,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from supply.services.calloffs import Owed

app = typer.Typer(
    help="Agreement reserves (协议储备): suppliers, contracts, inspections, call-off, settlement.",
    no_args_is_help=True,
)
suppliers_app = typer.Typer(help="Suppliers holding reserves for us.", no_args_is_help=True)
agreements_app = typer.Typer(help="Agreements (contracts) with suppliers.", no_args_is_help=True)
inspections_app = typer.Typer(help="On-site inspections of agreements.", no_args_is_help=True)
app.add_typer(suppliers_app, name="suppliers")
app.add_typer(agreements_app, name="agreements")
app.add_typer(inspections_app, name="inspections")

SheetArg = Annotated[Path, typer.Argument(help="A .csv or .xlsx file (first sheet).")]
OutOpt = Annotated[Path, typer.Option("--out", help="A .csv or .xlsx file to write.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Note = Annotated[str | None, typer.Option("--note", help="Free text kept on the record.")]


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)")


# ---------------------------------------------------------------------------- suppliers


@suppliers_app.command("import")
def import_suppliers(path: SheetArg, db: DbOption = None) -> None:
    """Create or update suppliers (code,name,kind,contact,lat,lon); the whole file or nothing."""
    from supply.models import SupplierCreate
    from supply.services import agreements

    created, updated = run_on_sheet(
        db,
        path,
        SupplierCreate,
        required=("code", "name", "kind"),
        work=agreements.upsert_suppliers,
    )
    console.print(f"suppliers: {created} created, {updated} updated")


@suppliers_app.command("export")
def export_suppliers(out: OutOpt, db: DbOption = None) -> None:
    """Write every supplier to a file that `suppliers import` reads back."""
    from supply.services import agreements

    export_sheet(db, out, agreements.SUPPLIER_COLUMNS, agreements.supplier_table, title="suppliers")


@suppliers_app.command("list")
def list_suppliers(as_json: JsonOpt = False, db: DbOption = None) -> None:
    """Show the suppliers."""
    from supply.services import agreements

    rows = run(db, agreements.supplier_table)
    if as_json:
        print_json([dict(zip(agreements.SUPPLIER_COLUMNS, r, strict=True)) for r in rows])
        return
    table = Table(*agreements.SUPPLIER_COLUMNS)
    for r in rows:
        table.add_row(*("" if v is None else str(v) for v in r))
    console.print(table)


# ---------------------------------------------------------------------------- agreements


@agreements_app.command("import")
def import_agreements(path: SheetArg, db: DbOption = None) -> None:
    """Create or update agreements by code; the whole file or nothing.

    Columns: code, supplier, item, depot, qty, lead_time_hours, valid_from, valid_to,
    unit_price; optional kind (goods|capacity), rate_per_hour (capacity), delivery
    (depot|shelters), status (active|suspended|terminated), annual_fee,
    compensation_per_unit, inspection_interval_days (default 90), terms.
    """
    from supply.models import AgreementCreate
    from supply.services import agreements

    created, updated = run_on_sheet(
        db,
        path,
        AgreementCreate,
        required=agreements.AGREEMENT_REQUIRED,
        work=agreements.upsert_agreements,
    )
    console.print(f"agreements: {created} created, {updated} updated")


@agreements_app.command("export")
def export_agreements(out: OutOpt, db: DbOption = None) -> None:
    """Write every agreement to a file that `agreements import` reads back."""
    from supply.services import agreements

    export_sheet(
        db, out, agreements.AGREEMENT_COLUMNS, agreements.agreement_table, title="agreements"
    )


@agreements_app.command("list")
def list_agreements(
    flagged: Annotated[
        bool, typer.Option("--flagged", help="Only agreements flagged by their inspections.")
    ] = False,
    as_json: JsonOpt = False,
    db: DbOption = None,
) -> None:
    """Agreements with their state, what is left, the last inspection and any flags."""
    from supply.services import agreements

    today = local_now().date()
    views = run(db, lambda s: agreements.list_agreements(s, today=today))
    if flagged:
        views = [v for v in views if v.flags]
    if as_json:
        print_json([v.to_json() for v in views])
        return
    table = Table(title=f"agreements on {today.isoformat()}")
    table.add_column("code", no_wrap=True)
    for name in ("item", "depot", "state", "left", "lead h", "valid to", "inspected", "flags"):
        table.add_column(name)
    for v in views:
        state = v.state if v.state == "active" else f"[yellow]{v.state}[/]"
        left = f"{v.remaining:,}/{v.qty:,}"
        if v.rate_per_hour:
            left += f" @{v.rate_per_hour:,}/h"
        table.add_row(
            v.code,
            v.item,
            v.depot,
            state,
            left,
            f"{v.lead_time_hours:g}",
            v.valid_to.isoformat(),
            v.last_inspected_on.isoformat() if v.last_inspected_on else "never",
            f"[red]{len(v.flags)}[/]" if v.flags else "",
        )
    console.print(table)
    for v in views:
        for flag in v.flags:
            console.print(f"[red]flag[/] {v.code}: {flag}", highlight=False)


# ---------------------------------------------------------------------------- inspections


@app.command()
def inspect(
    agreement: Annotated[str, typer.Argument(help="Agreement code.")],
    verified: Annotated[
        int,
        typer.Option(
            "--verified",
            help="Units found on site (capacity reserve: hourly output shown).",
        ),
    ],
    on: Annotated[str | None, typer.Option("--on", help="YYYY-MM-DD (default today).")] = None,
    inspector: Annotated[
        str | None, typer.Option("--inspector", help="Who inspected (default: RELIEF actor).")
    ] = None,
    findings: Annotated[str | None, typer.Option("--findings", help="What was found.")] = None,
    db: DbOption = None,
) -> None:
    """Record an on-site inspection (督促检查) of an agreement."""
    from supply.models import InspectionCreate
    from supply.services import agreements

    today = local_now().date()
    try:
        data = InspectionCreate(
            agreement=agreement,
            inspected_on=_date(on, "--on") or today,
            inspector=inspector or actor(),
            verified_qty=verified,
            findings=findings,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
    _, created = run(db, lambda s: agreements.record_inspection(s, data, today=today))
    console.print(
        f"inspection of {agreement} on {data.inspected_on.isoformat()} "
        + ("recorded" if created else "updated")
    )


@inspections_app.command("import")
def import_inspections(path: SheetArg, db: DbOption = None) -> None:
    """Record inspections (agreement,inspected_on,inspector,verified_qty,findings)."""
    from supply.models import InspectionCreate
    from supply.services import agreements

    today = local_now().date()
    created, updated = run_on_sheet(
        db,
        path,
        InspectionCreate,
        required=("agreement", "inspected_on", "inspector", "verified_qty"),
        work=lambda s, rows: agreements.upsert_inspections(s, rows, today=today),
    )
    console.print(f"inspections: {created} recorded, {updated} updated")


@inspections_app.command("export")
def export_inspections(out: OutOpt, db: DbOption = None) -> None:
    """Write every inspection to a file that `inspections import` reads back."""
    from supply.services import agreements

    export_sheet(
        db, out, agreements.INSPECTION_COLUMNS, agreements.inspection_table, title="inspections"
    )


# ---------------------------------------------------------------------------- call-off


@app.command("call-off")
def call_off(
    agreement: Annotated[str, typer.Argument(help="Agreement code.")],
    qty: Annotated[int, typer.Option("--qty", help="Units to call off.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Receiving depot (default: the agreement's).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Disaster or order reference.")
    ] = None,
    note: Note = None,
    key: Annotated[
        str | None,
        typer.Option("--key", help="Idempotency key: a repeated command with it calls off once."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Call off (征用) goods under an agreement: an expected receipt due after its lead time."""
    from supply.services import calloffs
    from supply.services.stock import Meta

    now = local_now()
    result = run(
        db,
        lambda s: calloffs.call_off(
            s,
            agreement=agreement,
            qty=qty,
            depot=to,
            now=now,
            meta=Meta(actor=actor(), reference=reference, note=note, idempotency_key=key),
        ),
    )
    c = result.call_off
    due = c.due_at.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M")
    if result.replayed:
        console.print(f"already called off as {c.number} (same key); nothing changed")
    else:
        console.print(f"called off {c.number}: {c.qty:,} units, expected by {due}")


@app.command()
def expected(as_json: JsonOpt = False, db: DbOption = None) -> None:
    """Call-offs whose goods have not arrived yet, soonest due first."""
    from supply.services import calloffs

    now = local_now()
    rows = run(db, lambda s: calloffs.expected(s, now=now))
    if as_json:
        print_json([r.to_json() for r in rows])
        return
    table = Table("call-off", "agreement", "supplier", "item", "to depot", "qty", "due", "")
    for r in rows:
        due = r.due_at.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            r.number,
            r.agreement,
            r.supplier,
            r.item,
            r.depot,
            f"{r.qty:,}",
            due,
            "[bold red]OVERDUE[/]" if r.overdue else "",
        )
    console.print(table)


@app.command()
def receive(
    number: Annotated[str, typer.Argument(help="Call-off number, e.g. CO-000001.")],
    lot: Annotated[str, typer.Option("--lot", help="Lot (batch) code on the goods.")],
    expires: Annotated[str | None, typer.Option("--expires", help="YYYY-MM-DD")] = None,
    produced: Annotated[str | None, typer.Option("--produced", help="YYYY-MM-DD")] = None,
    qty: Annotated[
        int | None, typer.Option("--qty", help="Units arrived (default: all called off).")
    ] = None,
    note: Note = None,
    db: DbOption = None,
) -> None:
    """The called-off goods have arrived: receive them into the depot's stock."""
    from supply.services import calloffs
    from supply.services.stock import Meta

    expires_on = _date(expires, "--expires")
    produced_on = _date(produced, "--produced")
    now = local_now()
    row, posted = run(
        db,
        lambda s: calloffs.receive_call_off(
            s,
            number,
            lot=lot,
            qty=qty,
            expires_on=expires_on,
            produced_on=produced_on,
            now=now,
            meta=Meta(actor=actor(), note=note),
        ),
    )
    console.print(
        f"posted {posted.number}: {row.received_qty:,} units received under {number}"
        + (f", issued to shelter {row.shelter} (delivered there)" if row.shelter else ""),
        markup=False,
        highlight=False,
    )


@app.command()
def cancel(
    number: Annotated[str, typer.Argument(help="Call-off number.")], db: DbOption = None
) -> None:
    """Withdraw a call-off whose goods have not arrived; the units return to the agreement."""
    from supply.services import calloffs

    run(db, lambda s: calloffs.cancel_call_off(s, number))
    console.print(f"{number} cancelled")


@app.command()
def settle(
    supplier: Annotated[str | None, typer.Option("--supplier", help="Supplier code.")] = None,
    mark: Annotated[
        bool, typer.Option("--mark", help="Record the payment: mark what is listed settled.")
    ] = False,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Payment voucher or invoice number.")
    ] = None,
    note: Note = None,
    as_json: JsonOpt = False,
    db: DbOption = None,
) -> None:
    """What is owed per supplier for received call-offs (qty × unit price + compensation);
    with --mark, record it as settled (one settlement per supplier)."""
    from supply.services import calloffs

    now = local_now()

    def work(session: "Session") -> tuple[list[calloffs.Owed], list[calloffs.Settled]]:
        owed = calloffs.owed(session, supplier=supplier)
        if not mark:
            return owed, []
        settled = calloffs.settle(
            session, now=now, supplier=supplier, reference=reference, note=note, actor=actor()
        )
        return owed, settled

    owed, done = run(db, work)
    if as_json:
        print_json(
            {
                "owed": [o.to_json() for o in owed],
                "settled": [
                    {
                        "number": d.number,
                        "supplier": d.supplier,
                        "call_offs": d.call_offs,
                        "amount": str(d.amount),
                    }
                    for d in done
                ],
            }
        )
        return
    if not owed:
        console.print("nothing owed: every received call-off is settled")
        return
    console.print(owed_table(owed, settled=mark))
    for d in done:
        console.print(
            f"settled {d.number}: {d.supplier}, {d.call_offs} call-off(s), ¥{d.amount:,.2f}"
        )


def owed_table(owed: "list[Owed]", *, settled: bool = False) -> Table:
    """What is owed per supplier (yuan): goods at the call-off's unit price, compensation."""
    table = Table(
        "supplier",
        "name",
        "call-offs",
        "qty",
        "goods ¥",
        "compensation ¥",
        "total ¥",
        title="owed for received call-offs" + (" (now settled)" if settled else ""),
    )
    for o in owed:
        table.add_row(
            o.supplier,
            o.supplier_name,
            str(len(o.lines)),
            f"{o.qty:,}",
            f"{o.goods:,.2f}",
            f"{o.compensation:,.2f}",
            f"{o.total:,.2f}",
        )
    return table
