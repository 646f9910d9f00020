"""`relief stock`: what keepers do every day.

Each command imports the services it calls when it runs: the ledger, the tables and the
sheet readers are most of the start-up time, and `relief stock balance --help` needs none.
"""

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli.common import DbOption, actor, console, err_console, fail, print_table, read, run
from supply.errors import SupplyError

if TYPE_CHECKING:
    from decimal import Decimal

    from supply.ledger import Posted
    from supply.services.balances import BalanceRow
    from supply.services.stock import Meta

app = typer.Typer(help="Receive, issue, transfer, count and check stock.", no_args_is_help=True)

Depot = Annotated[str, typer.Option("--depot", help="Depot code.")]
ItemOpt = Annotated[str, typer.Option("--item", help="Item code.")]
Qty = Annotated[int, typer.Option("--qty", help="Units of the item (positive).")]
Note = Annotated[str | None, typer.Option("--note", help="Free text kept on the document.")]
Ref = Annotated[str | None, typer.Option("--reference", help="External reference.")]
Key = Annotated[
    str | None,
    typer.Option("--key", help="Idempotency key: a repeated command with it posts once."),
]


def _meta(reference: str | None, note: str | None, key: str | None) -> "Meta":
    from supply.services.stock import Meta

    return Meta(actor=actor(), reference=reference, note=note, idempotency_key=key)


def _done(posted: "Posted") -> None:
    if posted.replayed:
        console.print(f"already posted as {posted.number} (same key); nothing changed")
    else:
        console.print(f"posted {posted.number}")


@app.command()
def receive(
    depot: Depot,
    item: ItemOpt,
    qty: Qty,
    lot: Annotated[str, typer.Option("--lot", help="Lot (batch) code.")],
    expires: Annotated[str | None, typer.Option("--expires", help="YYYY-MM-DD")] = None,
    produced: Annotated[str | None, typer.Option("--produced", help="YYYY-MM-DD")] = None,
    supplier: Annotated[str | None, typer.Option("--supplier")] = None,
    unit_cost: Annotated[
        str | None, typer.Option("--unit-cost", help="Price of one unit (yuan).")
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Jurisdiction code owning a new lot (default the depot's)."),
    ] = None,
    donor: Annotated[
        str | None, typer.Option("--donor", help="A donor owning the lot, instead of --owner.")
    ] = None,
    funding: Annotated[
        str | None,
        typer.Option(
            "--funding", help="Who paid: fiscal (default), donation (a donor's), agreement, other."
        ),
    ] = None,
    reference: Ref = None,
    note: Note = None,
    key: Key = None,
    db: DbOption = None,
) -> None:
    """Record goods received into a depot."""
    from supply.models import Funding
    from supply.services import stock

    expires_on = _date(expires, "--expires")
    produced_on = _date(produced, "--produced")
    cost = _unit_cost(unit_cost)
    try:
        paid_by = None if funding is None else Funding(funding)
    except ValueError:
        fail(f"--funding: unknown {funding!r}; use one of {', '.join(f.value for f in Funding)}")
    posted = run(
        db,
        lambda s: stock.receive(
            s,
            depot=depot,
            item=item,
            qty=qty,
            lot=lot,
            expires_on=expires_on,
            produced_on=produced_on,
            supplier=supplier,
            unit_cost=cost,
            owner=owner,
            donor=donor,
            funding=paid_by,
            meta=_meta(reference, note, key),
        ),
    )
    _done(posted)


@app.command("issue")
def issue_(
    depot: Depot,
    item: ItemOpt,
    qty: Qty,
    lot: Annotated[str | None, typer.Option("--lot", help="Lot; FEFO when omitted.")] = None,
    allow_expired: Annotated[bool, typer.Option("--allow-expired")] = False,
    reference: Ref = None,
    note: Note = None,
    key: Key = None,
    db: DbOption = None,
) -> None:
    """Issue stock out of a depot (first-expiry-first-out unless a lot is named)."""
    from supply.services import stock

    posted = run(
        db,
        lambda s: stock.issue(
            s,
            depot=depot,
            item=item,
            qty=qty,
            lot=lot,
            allow_expired=allow_expired,
            meta=_meta(reference, note, key),
        ),
    )
    _done(posted)


@app.command()
def transfer(
    source: Annotated[str, typer.Option("--from", help="Depot the stock leaves.")],
    destination: Annotated[str, typer.Option("--to", help="Depot the stock goes to.")],
    item: ItemOpt,
    qty: Qty,
    lot: Annotated[str | None, typer.Option("--lot", help="Lot; FEFO when omitted.")] = None,
    in_transit: Annotated[
        bool, typer.Option("--in-transit", help="Goods travel; `relief stock arrive` lands them.")
    ] = False,
    reference: Ref = None,
    note: Note = None,
    key: Key = None,
    db: DbOption = None,
) -> None:
    """Move stock between depots."""
    from supply.services import stock

    posted = run(
        db,
        lambda s: stock.transfer(
            s,
            source=source,
            destination=destination,
            item=item,
            qty=qty,
            lot=lot,
            in_transit=in_transit,
            meta=_meta(reference, note, key),
        ),
    )
    _done(posted)


@app.command()
def arrive(document: str, note: Note = None, db: DbOption = None) -> None:
    """Land an in-transit transfer at its destination."""
    from supply.services import stock

    _done(run(db, lambda s: stock.arrive(s, document, meta=_meta(None, note, None))))


@app.command()
def count(
    counts_csv: Annotated[
        Path,
        typer.Argument(
            help=".csv or .xlsx: item,lot,counted[,reason,note]; reason: damaged, lost, found, "
            "mis_picked or other."
        ),
    ],
    depot: Depot,
    note: Note = None,
    db: DbOption = None,
) -> None:
    """Post a stocktake: counted quantities replace the ledger's for the lots listed."""
    from pydantic import BaseModel, Field

    from supply.models import CountReason
    from supply.services import stock
    from supply.services.stock import Count
    from supply.sheets import read_rows

    class _Row(BaseModel):
        item: str
        lot: str
        counted: int = Field(ge=0)
        reason: CountReason | None = None
        note: str | None = Field(default=None, max_length=500)

    try:
        rows = read_rows(counts_csv, _Row, required=("item", "lot", "counted"))
    except SupplyError as exc:
        fail(str(exc))
    counts = [Count(r.item, r.lot, r.counted, r.reason, r.note) for _, r in rows]
    posted = run(
        db, lambda s: stock.stocktake(s, depot=depot, counts=counts, meta=_meta(None, note, None))
    )
    if posted is None:
        console.print("every count matches the ledger; nothing posted")
    else:
        _done(posted)


@app.command()
def reverse(document: str, note: Note = None, db: DbOption = None) -> None:
    """Undo a posted document with a reversing one."""
    from supply.services import reversal

    _done(run(db, lambda s: reversal.reverse(s, document, meta=_meta(None, note, None))))


@app.command("write-off")
def write_off_(
    depot: Depot,
    item: ItemOpt,
    lot: Annotated[str, typer.Option("--lot", help="Lot code.")],
    reason: Annotated[str, typer.Option("--reason", help="expired, damaged, lost, ...")],
    qty: Annotated[
        int | None, typer.Option("--qty", help="Units (default: all unreserved).")
    ] = None,
    note: Note = None,
    key: Key = None,
    db: DbOption = None,
) -> None:
    """Write stock off (核销) with a reason; the way expired stock leaves."""
    from supply.services.rotation import write_off

    _done(
        run(
            db,
            lambda s: write_off(
                s,
                depot=depot,
                item=item,
                lot=lot,
                reason=reason,
                qty=qty,
                meta=_meta(None, note, key),
            ),
        )
    )


@app.command()
def balance(
    depot: Annotated[str | None, typer.Option("--depot", help="Depot code.")] = None,
    subtree: Annotated[
        bool, typer.Option("--subtree", help="Include every depot below --depot.")
    ] = False,
    item: Annotated[str | None, typer.Option("--item", help="Item code.")] = None,
    expires_before: Annotated[
        str | None, typer.Option("--expires-before", help="YYYY-MM-DD, inclusive.")
    ] = None,
    totals: Annotated[
        bool, typer.Option("--totals", help="One line per item, summed over the depots.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Show stock per depot, item and lot (or per item with --totals)."""
    from supply.services import balances as balance_service

    if subtree and depot is None:
        fail("--subtree needs --depot")
    before = _date(expires_before, "--expires-before")
    if totals:
        sums = read(
            db,
            lambda s: balance_service.balance_totals(s, depot=depot, subtree=subtree, item=item),
        )
        if as_json:
            _print_json([t.to_json() for t in sums])
            return
        table = Table(
            "item",
            "name",
            "unit",
            "depots",
            "lots held",
            "on hand",
            "reserved",
            "expired",
            "available",
        )
        for t in sums:
            table.add_row(
                t.item,
                t.item_name,
                t.unit,
                f"{t.depots:,}",
                f"{t.lots:,}",
                f"{t.on_hand:,}",
                f"{t.reserved:,}",
                f"{t.expired:,}",
                f"{t.available:,}",
            )
        print_table(table)
        return
    rows = read(
        db,
        lambda s: balance_service.balances(
            s, depot=depot, subtree=subtree, item=item, expires_before=before
        ),
    )
    if as_json:
        _print_json([r.to_json() for r in rows])
        return
    print_table(balance_table(rows))


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
    sys.stdout.write("\n")


def balance_table(rows: "list[BalanceRow]", title: str | None = None) -> Table:
    table = Table(
        "depot",
        "item",
        "lot",
        "on hand",
        "reserved",
        "available",
        "expires",
        "rotate by",
        title=title,
    )
    today = date.today()
    for r in rows:
        due = r.rotation_due.isoformat() if r.rotation_due else ""
        if r.expired:
            due = "[bold red]EXPIRED[/]"
        elif r.rotation_due and r.rotation_due <= today:
            due = f"[yellow]{due}[/]"
        table.add_row(
            r.depot,
            r.item,
            r.lot,
            f"{r.on_hand:,}",
            f"{r.reserved:,}",
            f"{r.available:,}",
            r.expires_on.isoformat() if r.expires_on else "",
            due,
        )
    return table


@app.command("import")
def import_(
    movements_csv: Annotated[
        Path,
        typer.Argument(help=".csv or .xlsx of movements, or a file `relief stock export` wrote."),
    ],
    db: DbOption = None,
) -> None:
    """Import movements, one document per reference; the whole file or nothing.

    A file written by `relief stock export` imports back as the documents it lists."""
    from supply.services import ledger_lines, movements_io
    from supply.sheets import iter_rows

    if ledger_lines.is_ledger_lines(_header(movements_csv)):
        _import_ledger_lines(movements_csv, db)
        return
    rows = iter_rows(
        movements_csv, movements_io.MovementRow, required=movements_io.REQUIRED_COLUMNS
    )
    try:
        first = next(rows, None)  # the header and first row are checked before any lock
    except SupplyError as exc:
        fail(str(exc))
    if first is not None:
        rows = chain([first], rows)
    with _progress(2 * _data_lines(movements_csv)) as tick:
        result = run(
            db, lambda s: movements_io.import_movements(s, rows, actor=actor(), progress=tick)
        )
    console.print(
        f"imported {result.documents} documents, {result.movements} movements"
        + (f"; {result.replayed} references already imported, skipped" if result.replayed else "")
    )


def _import_ledger_lines(path: Path, db: str | None) -> None:
    from supply.services import ledger_lines
    from supply.sheets import read_rows

    try:
        rows = read_rows(path, ledger_lines.LedgerLineRow, required=ledger_lines.REQUIRED_COLUMNS)
    except SupplyError as exc:
        fail(str(exc))
    with _progress(len(rows)) as tick:
        result = run(
            db, lambda s: ledger_lines.import_ledger_lines(s, rows, actor=actor(), progress=tick)
        )
    console.print(
        f"imported {result.documents} documents, {result.movements} movements"
        + (
            f"; {result.already_there} already in this ledger, skipped"
            if result.already_there
            else ""
        )
    )


def _data_lines(path: Path) -> int:
    """Lines after the header: the progress bar's scale (a line is at most a row)."""
    with path.open("rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def _header(path: Path) -> list[str]:
    """The first row of a CSV file, to tell an export from a movements file (empty if the
    file cannot be read: the reader then says why)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A bar on stderr for a terminal; plain lines every 10 % when stderr is not one (a
    log, a pipe), so long work is never silent."""
    if err_console.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("import", total=total)
            yield lambda done: bar.update(task, completed=done)
        return
    step = max(total // 10, 1)
    shown = [0]

    def tick(done: int) -> None:
        if done - shown[0] >= step or done == total:
            shown[0] = done
            print(f"importing: {done:,}/{total:,} movement lines", file=sys.stderr, flush=True)

    yield tick


@app.command()
def export(
    out: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
    db: DbOption = None,
) -> None:
    """Export every movement line (signed) as CSV, or as .xlsx when --out ends so."""
    from supply.services import movements_io
    from supply.sheets import write_sheet

    if out is None:
        read(db, lambda s: movements_io.export_movements(s, sys.stdout))
        return
    if out.suffix.lower() == ".xlsx":
        text = io.StringIO()
        read(db, lambda s: movements_io.export_movements(s, text))
        header, *rows = list(csv.reader(io.StringIO(text.getvalue())))
        qty = header.index("qty")
        cells = [[int(r[qty]) if i == qty else r[i] for i in range(len(r))] for r in rows]
        n = write_sheet(out, header, cells, title="movements")
        console.print(f"wrote {n} movement lines to {out}")
        return
    with out.open("w", newline="", encoding="utf-8") as handle:
        n = read(db, lambda s: movements_io.export_movements(s, handle))
    console.print(f"wrote {n} movement lines to {out}")


@app.command()
def verify(db: DbOption = None) -> None:
    """Rebuild balances from movements; exit 1 with a report if anything differs."""
    from supply.verify import verify as verify_ledger

    report = read(db, verify_ledger)
    if report.ok:
        console.print(
            f"ledger consistent: {report.movements:,} movements, "
            f"{report.balances_checked:,} balances"
        )
        return
    for problem in report.problems:
        err_console.print(problem, highlight=False, markup=False)
    err_console.print(f"{len(report.problems)} problem(s) found")
    raise typer.Exit(1)


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date (YYYY-MM-DD)")


def _unit_cost(value: str | None) -> "Decimal | None":
    """--unit-cost held to what the HTTP receipt accepts: ≥ 0, 14 digits, 4 after the point."""
    if value is None:
        return None
    from decimal import Decimal

    from pydantic import Field, TypeAdapter, ValidationError

    price = TypeAdapter(Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4)])
    try:
        return price.validate_python(value)
    except ValidationError as exc:
        fail(f"--unit-cost: {value!r}: {exc.errors()[0]['msg']}")
