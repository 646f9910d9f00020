"""`relief dispatch`: commit a plan to the ledger, then follow its vehicles to the shelters."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.common import DbOption, actor, console, fail, local_now, print_json, run

if TYPE_CHECKING:
    from supply.models import DispatchPlanRead

app = typer.Typer(
    help="Dispatch: approve a plan (reserve its lots), depart trips, deliver stops, cancel.",
    no_args_is_help=True,
)

PlanRef = Annotated[
    str, typer.Argument(help="The plan: its number (DP-000001) or its plan.json file.")
]
Note = Annotated[str | None, typer.Option("--note", help="Free text kept on the document.")]


def _say(text: str) -> None:
    """One plain line: codes from the plan are printed as they are, never as markup."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{path}: {exc.strerror or exc}")
    except json.JSONDecodeError as exc:
        fail(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}")
    if not isinstance(data, dict):
        fail(f"{path}: a plan file holds a JSON object")
    return data


def _ref(plan: str) -> str:
    """A plan number as given, or the content hash of a plan file (how approval knows it)."""
    from supply.services import dispatch

    path = Path(plan)
    if path.suffix.lower() == ".json" or path.is_file():
        return dispatch.plan_hash(_read_json(path))
    return plan


@app.command()
def approve(
    plan_file: Annotated[Path, typer.Argument(help="The plan.json written by `relief plan`.")],
    replaces: Annotated[
        list[str] | None,
        typer.Option(
            "--replaces", help="An approved plan this one replaces (cancelled at once; repeat)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Reserve exactly the lots of the plan's loads, or nothing if stock moved since."""
    from supply.services import dispatch
    from supply.services.stock import Meta

    document = _read_json(plan_file)
    refs = [_ref(r) for r in replaces or []]
    result = run(
        db,
        lambda s: dispatch.approve(
            s, document, replaces=refs, now=local_now(), meta=Meta(actor=actor())
        ),
    )
    for old in result.replaced:
        _say(
            f"cancelled {old.number}: released {old.released_loads} loads "
            f"({old.released_qty:,} units); {old.on_the_road_loads} loads "
            f"({old.on_the_road_qty:,} units) on the road go on",
        )
    _say(
        f"approved {result.number} ({result.name}): {result.loads} loads, "
        f"{result.qty:,} units reserved at {result.depots} depots",
    )
    if result.call_offs:
        calls = result.call_offs
        shown = ", ".join(calls) if len(calls) <= 4 else f"{calls[0]} … {calls[-1]}"
        _say(
            f"called off for the shelters (agreement reserves): {len(calls)} call-off(s), "
            f"{shown} (see `relief reserves expected`; receive each with `reserves receive`)"
        )
    if result.outside_qty:
        shown = ", ".join(f"{code} {q:,}" for code, q in result.outside_qty.items())
        _say(f"from outside depots, not ledger stock, not reserved (arrange by hand): {shown}")
    if result.unknown_agreements:
        shown = ", ".join(f"{code} {q:,}" for code, q in result.unknown_agreements.items())
        _say(f"agreements not in the ledger, not called off (arrange them by hand): {shown}")
    if result.unrouted_qty:
        _say(
            f"not reserved: {result.unrouted_qty:,} units of depot shipments no route carries",
        )
    if not result.routed:
        _say(
            "this plan has no routes: its stock is held; approve a routed plan with "
            f"--replaces {result.number} to depart and deliver",
        )


@app.command()
def depart(
    plan: PlanRef,
    vehicle: Annotated[str, typer.Argument(help="As in the plan, e.g. AS-CITY/heavy-2.")],
    trip: Annotated[int, typer.Argument(help="The trip number (1-based).")],
    note: Note = None,
    db: DbOption = None,
) -> None:
    """A vehicle leaves: its trip's loads move from the depot into in_transit."""
    from supply.services import dispatch
    from supply.services.stock import Meta

    ref = _ref(plan)
    moved = run(
        db, lambda s: dispatch.depart(s, ref, vehicle, trip, meta=Meta(actor=actor(), note=note))
    )
    _say(
        f"posted {moved.document}: {moved.plan} {moved.vehicle} trip {moved.trip}, "
        f"{moved.loads} loads, {moved.qty:,} units in transit to "
        f"{', '.join(moved.shelters)}",
    )


@app.command()
def deliver(
    plan: PlanRef,
    vehicle: Annotated[str, typer.Argument(help="As in the plan, e.g. AS-CITY/heavy-2.")],
    stop: Annotated[int, typer.Argument(help="The stop number (1-based, across trips).")],
    note: Note = None,
    db: DbOption = None,
) -> None:
    """A vehicle reaches a stop: its loads are issued to the shelter (to distributed)."""
    from supply.services import dispatch
    from supply.services.stock import Meta

    ref = _ref(plan)
    moved = run(
        db, lambda s: dispatch.deliver(s, ref, vehicle, stop, meta=Meta(actor=actor(), note=note))
    )
    _say(
        f"posted {moved.document}: {moved.plan} {moved.vehicle} stop {stop}, "
        f"{moved.loads} loads, {moved.qty:,} units delivered to {', '.join(moved.shelters)}",
    )


@app.command()
def cancel(plan: PlanRef, db: DbOption = None) -> None:
    """Release every load that has not left; loads on the road can still be delivered."""
    from supply.services import dispatch
    from supply.services.stock import Meta

    ref = _ref(plan)
    done = run(db, lambda s: dispatch.cancel(s, ref, meta=Meta(actor=actor())))
    _say(
        f"cancelled {done.number}: released {done.released_loads} loads "
        f"({done.released_qty:,} units); {done.on_the_road_loads} loads "
        f"({done.on_the_road_qty:,} units) on the road",
    )
    if done.cancelled_call_offs:
        _say(f"call-offs cancelled: {', '.join(done.cancelled_call_offs)}")


@app.command()
def status(
    plan: Annotated[
        str | None, typer.Argument(help="A plan number or plan.json (default: every plan).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Approved plans and where each load is: reserved, in transit, delivered, released."""
    from supply.services import dispatch

    if plan is None:
        plans = run(db, dispatch.list_plans)
        if as_json:
            print_json([p.model_dump(mode="json", exclude={"loads"}) | _totals(p) for p in plans])
            return
        table = Table(title="dispatch plans")
        table.add_column("plan", no_wrap=True)
        for column in ("name", "status", "approved", "units by load status"):
            table.add_column(column, overflow="fold")
        for p in plans:
            table.add_row(
                p.number,
                escape(p.name),
                p.status,
                p.approved_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                _by_status(p),
            )
        console.print(table)
        return
    ref = _ref(plan)
    view = run(db, lambda s: dispatch.plan_status(s, ref))
    if as_json:
        print_json(view.model_dump(mode="json") | _totals(view))
        return
    _show(view)


def _totals(view: "DispatchPlanRead") -> dict[str, Any]:
    return {"qty_by_status": view.qty_by_status()}


def _by_status(view: "DispatchPlanRead") -> str:
    return ", ".join(f"{s} {q:,}" for s, q in view.qty_by_status().items() if q)


def _show(view: "DispatchPlanRead") -> None:
    totals = _by_status(view)
    extra = f"; replaced by {view.replaced_by}" if view.replaced_by else ""
    _say(
        f"{view.number} ({view.name}): {view.status}{extra}; {totals or 'no loads'}",
    )
    table = Table()
    table.add_column("vehicle" if view.routed else "depot", overflow="fold")
    for column in ("trip", "stop", "shelter", "item", "lot", "qty"):
        table.add_column(column, overflow="fold", justify="right" if column == "qty" else "left")
    table.add_column("status", no_wrap=True)
    for ld in view.loads:
        shown = ld.status
        if ld.problem:
            shown = f"[bold red]{ld.status}[/] ({escape(ld.problem)})"
        elif ld.delivery or ld.departure:
            shown = f"{ld.status} {ld.delivery or ld.departure}"
        table.add_row(
            escape(ld.vehicle or ld.depot),
            str(ld.trip or "—"),
            str(ld.stop or "—"),
            escape(ld.shelter),
            ld.item,
            escape(ld.lot),
            f"{ld.qty:,}",
            shown,
        )
    console.print(table)
