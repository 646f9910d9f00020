"""`relief dispatch`: approve a plan file, depart trips, deliver stops, cancel, status; on
SQLite, and on PostgreSQL (a schema of its own) when TEST_DATABASE_URL is set."""

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from optimizer.plan_document import (
    LoadDoc,
    PlanDocument,
    RouteDoc,
    ShipmentDoc,
    StopDoc,
    TripDoc,
)
from tests.cli.harness import DEPOTS_CSV, ITEMS_CSV, Relief, write_csv
from tests.conftest import BACKENDS, PG_URL, drop_pg_schema, pg_engine

EXPIRES = "2099-06-30"

# (vehicle, depot, trip, stop, shelter, item, lot, qty)
LOADS = [
    ("CNTY/truck-1", "CNTY", 1, 1, "SH-A", "WATER", "W1", 30),
    ("CNTY/truck-1", "CNTY", 1, 1, "SH-A", "TENT", "T1", 4),
    ("CNTY/truck-1", "CNTY", 1, 2, "SH-B", "WATER", "W1", 20),
    ("CNTY/truck-1", "CNTY", 2, 3, "SH-B", "TENT", "T1", 3),
    ("TWN/van-1", "TWN", 1, 1, "SH-C", "WATER", "W2", 10),
]


def plan_json(path: Path, *, routes: bool = True, name: str = "cli-plan") -> Path:
    """A plan file built with the plan document schema (one agreement shipment too)."""
    shipments = [
        ShipmentDoc(source=d, source_kind="depot", lot=lot, shelter=sh, item=it, qty=q)
        for _v, d, _t, _s, sh, it, lot, q in LOADS
    ]
    shipments.append(
        ShipmentDoc(source="AG-SM", source_kind="agreement", shelter="SH-C", item="WATER", qty=25)
    )
    vehicles: dict[str, RouteDoc] = {}
    for vehicle, depot, trip, stop, shelter, item, lot, qty in LOADS:
        route = vehicles.setdefault(vehicle, RouteDoc(vehicle=vehicle, depot=depot))
        trips = {t.trip: t for t in route.trips}
        if trip not in trips:
            trips[trip] = TripDoc(trip=trip, depart_hours=1.0)
            route.trips.append(trips[trip])
        stops = {s.stop: s for s in trips[trip].stops}
        if stop not in stops:
            stops[stop] = StopDoc(stop=stop, shelter=shelter)
            trips[trip].stops.append(stops[stop])
        stops[stop].loads.append(LoadDoc(item=item, lot=lot, qty=qty))
    document = PlanDocument(
        name=name,
        status="optimal",
        shipments=shipments,
        routes=list(vehicles.values()) if routes else [],
    )
    path.write_text(json.dumps(document.to_json_dict(), indent=2), encoding="utf-8")
    return path


@pytest.fixture(params=BACKENDS)
def stocked(request: pytest.FixtureRequest, tmp_path: Path, runner: CliRunner) -> Iterator[Relief]:
    """An upgraded ledger (SQLite file, or a PostgreSQL schema) with the tiny catalogue and
    depots, and stock for the plan: CNTY WATER W1 100, TENT T1 10; TWN WATER W2 10."""
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://...)")
        schema = "relief_test_cli_dispatch"
        pg_engine(schema).dispose()
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        relief = Relief(runner, url.render_as_string(hide_password=False), tmp_path / "unused")
    else:
        db_file = tmp_path / "ledger.db"
        relief = Relief(runner, f"sqlite:///{db_file}", db_file)
    relief.ok("db", "upgrade")
    relief.ok("catalog", "import", str(write_csv(tmp_path / "items.csv", ITEMS_CSV)))
    relief.ok("depots", "import", str(write_csv(tmp_path / "depots.csv", DEPOTS_CSV)))
    for depot, item, qty, lot, extra in (
        ("CNTY", "WATER", 100, "W1", ["--expires", EXPIRES]),
        ("CNTY", "TENT", 10, "T1", []),
        ("TWN", "WATER", 10, "W2", ["--expires", EXPIRES]),
    ):
        relief.post(
            "stock", "receive", "--depot", depot, "--item", item, "--qty", str(qty),
            "--lot", lot, *extra,
        )  # fmt: skip
    yield relief
    if request.param == "postgresql":
        drop_pg_schema("relief_test_cli_dispatch")


def status(relief: Relief, plan: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(relief.ok("dispatch", "status", plan, "--json").stdout)
    return data


def test_approve_depart_deliver_leaves_ledger_consistent(stocked: Relief, tmp_path: Path) -> None:
    """The whole walk from the command line: approve, depart both trips and the van, deliver
    every stop; `stock verify` passes and each shelter received what the plan said."""
    plan = plan_json(tmp_path / "plan.json")
    out = stocked.ok("dispatch", "approve", str(plan)).stdout
    assert "approved DP-000001 (cli-plan): 5 loads, 67 units reserved at 2 depots" in out
    assert "agreements not in the ledger, not called off (arrange them by hand): AG-SM 25" in out
    assert {(r["depot"], r["lot"]): r["reserved"] for r in stocked.balances()} == {
        ("CNTY", "T1"): 7,
        ("CNTY", "W1"): 50,
        ("TWN", "W2"): 10,
    }

    first = stocked.post("dispatch", "depart", "DP-000001", "CNTY/truck-1", "1")
    assert first.startswith("TD-")
    stocked.post("dispatch", "depart", str(plan), "CNTY/truck-1", "2")  # by file, as well
    stocked.post("dispatch", "depart", "DP-000001", "TWN/van-1", "1")
    for vehicle, stop in (("CNTY/truck-1", 1), ("CNTY/truck-1", 2), ("CNTY/truck-1", 3)):
        assert stocked.post("dispatch", "deliver", "DP-000001", vehicle, str(stop)).startswith(
            "IS-"
        )
    result = stocked.ok("dispatch", "deliver", "DP-000001", "TWN/van-1", "1")
    assert "delivered to SH-C" in result.stdout

    stocked.ok("stock", "verify")
    planned: dict[tuple[str, str], int] = defaultdict(int)
    for _v, _d, _t, _s, shelter, item, _lot, qty in LOADS:
        planned[(shelter, item)] += qty
    received: dict[tuple[str, str], int] = defaultdict(int)
    view = status(stocked, "DP-000001")
    for load in view["loads"]:
        assert load["status"] == "delivered"
        assert load["delivery"].startswith("IS-")
        received[(load["shelter"], load["item"])] += load["qty"]
    assert received == planned
    assert view["status"] == "completed"
    assert {(r["depot"], r["lot"]): (r["on_hand"], r["reserved"]) for r in stocked.balances()} == {
        ("CNTY", "T1"): (3, 0),
        ("CNTY", "W1"): (50, 0),
    }


def test_approve_stale_plan_changes_nothing(stocked: Relief, tmp_path: Path) -> None:
    """Stock issued after planning: approval exits 2 naming the lot, and reserves nothing."""
    stocked.post("stock", "issue", "--depot", "CNTY", "--item", "WATER", "--qty", "60")
    before = stocked.balances()
    result = stocked("dispatch", "approve", str(plan_json(tmp_path / "plan.json")))
    assert result.exit_code == 2
    assert "stock has moved" in result.stderr
    assert "CNTY WATER lot W1: available 40, plan needs 50" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert stocked.balances() == before
    assert json.loads(stocked.ok("dispatch", "status", "--json").stdout) == []


def test_approve_twice_and_deliver_before_depart_are_refused(
    stocked: Relief, tmp_path: Path
) -> None:
    """A plan file is approved once; a stop is delivered only after its trip departed."""
    plan = plan_json(tmp_path / "plan.json")
    stocked.ok("dispatch", "approve", str(plan))
    again = stocked("dispatch", "approve", str(plan))
    assert again.exit_code == 2
    assert "already approved as DP-000001 (approved)" in again.stderr
    early = stocked("dispatch", "deliver", "DP-000001", "CNTY/truck-1", "2")
    assert early.exit_code == 2
    assert "has not departed (trip 1)" in early.stderr
    assert status(stocked, "DP-000001")["qty_by_status"]["reserved"] == 67


def test_cancel_releases_what_has_not_left(stocked: Relief, tmp_path: Path) -> None:
    """After the first trip departs, cancel releases the rest; that trip is still delivered."""
    plan = plan_json(tmp_path / "plan.json")
    stocked.ok("dispatch", "approve", str(plan))
    stocked.post("dispatch", "depart", "DP-000001", "CNTY/truck-1", "1")
    out = stocked.ok("dispatch", "cancel", str(plan)).stdout
    assert "released 2 loads (13 units); 3 loads (54 units) on the road" in out
    assert all(r["reserved"] == 0 for r in stocked.balances())
    stocked.post("dispatch", "deliver", "DP-000001", "CNTY/truck-1", "2")
    refused = stocked("dispatch", "depart", "DP-000001", "CNTY/truck-1", "2")
    assert refused.exit_code == 2
    assert "released" in refused.stderr
    stocked.ok("stock", "verify")
    table = stocked.ok("dispatch", "status").stdout
    assert "DP-000001" in table
    assert "cancelled" in table


def test_plan_without_routes_is_held_then_replaced(stocked: Relief, tmp_path: Path) -> None:
    """A --no-routes plan holds its shipments; depart says it needs routes; a routed plan
    approved with --replaces takes over its stock."""
    first = plan_json(tmp_path / "first.json", routes=False, name="first")
    out = stocked.ok("dispatch", "approve", str(first)).stdout
    assert "has no routes" in out
    refused = stocked("dispatch", "depart", "DP-000001", "CNTY/truck-1", "1")
    assert refused.exit_code == 2
    assert "no routes" in refused.stderr
    routed = plan_json(tmp_path / "routed.json", name="routed")
    out = stocked.ok("dispatch", "approve", str(routed), "--replaces", "DP-000001").stdout
    assert "cancelled DP-000001: released 5 loads (67 units)" in out
    assert "approved DP-000002 (routed)" in out
    assert status(stocked, "DP-000001")["replaced_by"] == "DP-000002"
    stocked.ok("stock", "verify")


def test_bad_plan_file_exits_2(stocked: Relief, tmp_path: Path) -> None:
    """A file that is not JSON, or a plan of the wrong shape, is one line and exit 2."""
    broken = write_csv(tmp_path / "broken.json", '{"name": "x",\n  "shipments": [\n')
    result = stocked("dispatch", "approve", str(broken))
    assert result.exit_code == 2
    assert f"{broken}:3: not valid JSON" in result.stderr
    shapeless = write_csv(tmp_path / "shapeless.json", '{"name": "x", "shipments": [{}]}')
    result = stocked("dispatch", "approve", str(shapeless))
    assert result.exit_code == 2
    assert "plan.shipments[0].source" in result.stderr
    unknown = stocked("dispatch", "status", "DP-000404")
    assert unknown.exit_code == 2
    assert "unknown plan 'DP-000404'" in unknown.stderr
