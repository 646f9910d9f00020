"""`relief demo`: the bundled sample network, end to end on a fresh SQLite database."""

import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import Engine

from api.cli.common import console, engine_for, fail, local_now, working
from api.cli.plan import run_plan, show_plan, write_plan
from api.cli.quotas import gaps_table
from api.cli.reserves import owed_table
from api.cli.stock import balance_table
from scenarios.scenario import BUNDLED, SAMPLE_DIR
from supply import migrate
from supply.db import session_scope
from supply.errors import InsufficientStock, SupplyError
from supply.models import (
    AgreementCreate,
    CallOffStatus,
    InspectionCreate,
    QuotaCreate,
    SupplierCreate,
)
from supply.services import agreements, calloffs, stock
from supply.services import balances as balance_service
from supply.services import quotas as quota_service
from supply.services.sample import load_sample
from supply.services.stock import Meta
from supply.sheets import read_sheet
from supply.verify import verify

#: The demo's call-off: water from the Haicheng supermarket to Ximu, near the 1975 epicentre.
DEMO_CALL_OFF = ("AG-HC-SM-WATER", 300, "HC-T-XIMU")

M = TypeVar("M", bound=BaseModel)


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the database and reports.")] = Path(
        "relief-demo"
    ),
    within: Annotated[int, typer.Option("--within", help="Rotation horizon in days.")] = 90,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Load into this database instead of a fresh SQLite file."),
    ] = None,
) -> None:
    """Load the sample depot network into a fresh SQLite ledger and report on it, then plan
    the bundled Haicheng earthquake scenario and write the plan, its map and shipments."""
    out.mkdir(parents=True, exist_ok=True)
    db_file = out / "relief.db"
    if db is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    url = db or f"sqlite:///{db_file.resolve()}"
    console.rule("relief-supply demo")
    with working("creating the ledger (alembic upgrade head)"):
        migrate.upgrade(url)
    now = local_now()
    today = now.date()
    with engine_for(url) as engine:
        with session_scope(engine) as session:
            loaded = load_sample(session, SAMPLE_DIR)
        console.print(
            f"loaded {loaded.items} items, {loaded.depots} depots, "
            f"{loaded.documents} documents ({loaded.movements} movement lines)"
        )
        _agreement_reserves(engine, now)
        with session_scope(engine) as session:
            rows = balance_service.balances(session, today=today)
            due = balance_service.due_for_rotation(session, within_days=within, today=today)
        console.print(_by_tier(rows))
        console.print(balance_table(due, title=f"rotation due within {within} days"))

        # A keeper asks for more than a township holds: refused, nothing written.
        biggest = max(rows, key=lambda r: r.available) if rows else None
        if biggest is not None:
            try:
                with session_scope(engine) as session:
                    stock.issue(
                        session,
                        depot=biggest.depot,
                        item=biggest.item,
                        qty=biggest.available + 1,
                        lot=biggest.lot,
                    )
            except InsufficientStock as exc:
                console.print(
                    Panel(
                        str(exc),
                        title="a refused over-issue (nothing written)",
                        border_style="yellow",
                    )
                )
        with session_scope(engine) as session:
            report = verify(session)
        if not report.ok:
            fail("ledger inconsistent: " + "; ".join(report.problems[:3]), code=1)
        console.print(
            f"verify: consistent ({report.movements} movements, {report.balances_checked} balances)"
        )
        with session_scope(engine) as session:
            shortfalls = [g for g in quota_service.gaps(session, now=now) if g.status == "short"]
            owed = calloffs.owed(session)
        console.print(
            gaps_table(
                shortfalls[:8],
                title=f"worst reserve-quota shortfalls ({len(shortfalls)} in all; "
                "stock + agreements within 10 h)",
            )
        )
        console.print(owed_table(owed))

    console.rule("planning the bundled scenario: Haicheng earthquake")
    result, problem = run_plan(BUNDLED, deadline=None, time_limit=None)
    write_plan(result, problem, out / "plan")
    show_plan(result)

    (out / "balances.json").write_text(
        json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (out / "rotation_due.json").write_text(
        json.dumps([r.to_json() for r in due], ensure_ascii=False, indent=2), encoding="utf-8"
    )
    console.print(
        f"wrote {out}/plan/ (plan.json, plan.geojson, shipments.csv, plan.png, "
        "manifests.csv, manifests.html), "
        f"{out}/balances.json, {out}/rotation_due.json; ledger at {db or db_file}",
        highlight=False,
    )


def _by_tier(rows: list[balance_service.BalanceRow]) -> Table:
    """Units on hand per tier and item: the headline a bureau reads first."""
    totals: dict[tuple[str, str], int] = defaultdict(int)
    items: set[str] = set()
    for r in rows:
        totals[(r.tier or "", r.item)] += r.on_hand
        items.add(r.item)
    tiers = ["province", "city", "county", "township", "village"]
    table = Table("item", *tiers, title="units on hand by tier")
    for item in sorted(items):
        table.add_row(item, *[f"{totals.get((t, item), 0):,}" for t in tiers])
    return table


def _agreement_reserves(engine: Engine, now: datetime) -> None:
    """Load the sample's suppliers, agreements, inspections and quotas, then call off water
    for a township and receive it: once only, so a second demo run changes nothing."""
    today = now.date()
    with session_scope(engine) as session:
        agreements.upsert_suppliers(session, _rows("suppliers.csv", SupplierCreate))
        agreements.upsert_agreements(session, _rows("agreements.csv", AgreementCreate))
        inspections = [
            i for i in _rows("inspections.csv", InspectionCreate) if i.inspected_on <= today
        ]
        agreements.upsert_inspections(session, inspections, today=today)
        quota_service.upsert_quotas(session, _rows("quotas.csv", QuotaCreate))
    code, qty, depot = DEMO_CALL_OFF
    try:
        with session_scope(engine) as session:
            made = calloffs.call_off(
                session,
                agreement=code,
                qty=qty,
                depot=depot,
                now=now,
                meta=Meta(actor="demo", reference="demo", idempotency_key="demo:call-off"),
            )
            row = made.call_off
            due = row.due_at.astimezone(now.tzinfo).strftime("%H:%M")
            if row.status == CallOffStatus.EXPECTED:
                _, posted = calloffs.receive_call_off(
                    session,
                    row.number,
                    lot="W-DEMO-CO",
                    expires_on=today + timedelta(days=700),
                    now=now,
                    meta=Meta(actor="demo"),
                )
                console.print(
                    f"called off {row.number}: {qty} cases of water under {code} to {depot}, "
                    f"expected by {due}; the truck arrived and was received as {posted.number}"
                )
            else:
                console.print(f"call-off {row.number} under {code} was made by an earlier run")
    except SupplyError as exc:  # the sample contracts have run out: say so, go on
        console.print(f"[yellow]no demo call-off: {exc}[/]")


def _rows(name: str, model: type[M]) -> list[M]:
    return [row for _, row in read_sheet(SAMPLE_DIR / name, model, required=())]
