"""`relief demo`: the bundled sample network, end to end on a fresh SQLite database."""

import json
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from api.cli.common import console, engine_for, fail
from api.cli.plan import run_plan, show_plan, write_plan
from api.cli.stock import balance_table
from scenarios.loader import load_sample
from scenarios.scenario import BUNDLED
from supply import migrate
from supply.db import session_scope
from supply.errors import InsufficientStock
from supply.services import balances as balance_service
from supply.services import stock
from supply.verify import verify


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
    with console.status("creating the ledger (alembic upgrade head)"):
        migrate.upgrade(url)
    today = date.today()
    with engine_for(url) as engine:
        with session_scope(engine) as session:
            loaded = load_sample(session)
        console.print(
            f"loaded {loaded.items} items, {loaded.depots} depots, "
            f"{loaded.documents} documents ({loaded.movements} movement lines)"
        )
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
        f"wrote {out}/plan/ (plan.json, plan.geojson, shipments.csv, plan.png), "
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
