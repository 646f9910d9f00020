"""The README's walk "the ledger drives the plan": from a fresh database, import the
catalogue, depots, fleet and stock from .xlsx files and a GBK CSV, import agreements (one
suspended, one capacity reserve), plan the tiny scenario from the ledger, approve (the
call-offs exist), depart, deliver, receive the call-offs, settle; `stock verify` is clean."""

import json
from pathlib import Path

from tests.cli.harness import Relief, write_csv, write_xlsx

TINY = Path(__file__).resolve().parents[1] / "data" / "tiny"


def test_plan_from_the_ledger_walk(relief: Relief, tmp_path: Path) -> None:
    """The suspended agreement is not used and the capacity reserve is, at its rate (its
    hour k brings at most 60 units, ready at lead + k); approval calls it off; the whole
    operation leaves a ledger that verifies, with the supplier owed what it delivered."""
    items = write_xlsx(
        tmp_path / "items.xlsx",
        [
            ["code", "name_zh", "name_en", "category", "unit", "unit_weight_kg",
             "unit_volume_m3", "shelf_life_days", "rotation_lead_days"],
            ["WATER", "饮用水", "Drinking water", "food_water", "case", 13.5, 0.02, 730, 60],
            ["QUILT", "棉被", "Quilt", "bedding", "piece", 2.5, 0.03, None, 0],
        ],
    )  # fmt: skip
    relief.ok("catalog", "import", str(items))
    depots = tmp_path / "depots.csv"  # as Excel saves CSV in a Chinese locale
    depots.write_bytes(
        "code,name,tier,parent_code,lat,lon,capacity_m3,loading_hours\n"
        "CTY,县救灾物资储备库,county,,40.0,122.0,4800,0.5\n".encode("gbk")
    )
    relief.ok("depots", "import", str(depots))
    fleet = write_xlsx(
        tmp_path / "fleet.xlsx",
        [
            ["depot", "vehicle_type", "count", "capacity_kg", "capacity_m3", "speed_kmh"],
            ["CTY", "medium", 2, 8000, 35, 60],
        ],
    )
    relief.ok("fleet", "import", str(fleet))
    stock = write_xlsx(
        tmp_path / "movements.xlsx",
        [
            ["reference", "occurred_at", "kind", "depot", "item", "lot", "qty", "expires_on"],
            ["OPEN-1", "2026-05-01T09:00:00+08:00", "receipt", "CTY", "WATER", "W1", 200,
             "2028-06-01"],
            ["OPEN-1", "2026-05-01T09:00:00+08:00", "receipt", "CTY", "QUILT", "Q1", 400, None],
        ],
    )  # fmt: skip
    relief.ok("stock", "import", str(stock))
    suppliers = write_csv(
        tmp_path / "suppliers.csv",
        "code,name,kind,lat,lon\nSM,超市,supermarket,40.06,122.08\nFAB,水厂,manufacturer,40.07,122.1\n",
    )
    relief.ok("reserves", "suppliers", "import", str(suppliers))
    agreements = write_csv(
        tmp_path / "agreements.csv",
        "code,supplier,item,depot,kind,status,qty,rate_per_hour,lead_time_hours,valid_from,"
        "valid_to,unit_price,compensation_per_unit\n"
        "AG-SUSP,SM,WATER,CTY,goods,suspended,1000,,1,2026-01-01,2027-12-31,28.00,1.00\n"
        "AG-CAP,FAB,WATER,CTY,capacity,active,2000,60,1,2026-01-01,2027-12-31,20.00,2.00\n",
    )
    relief.ok("reserves", "agreements", "import", str(agreements))

    out = tmp_path / "op1"
    result = relief.ok("plan", str(TINY), "--out", str(out), "--time-limit", "5")
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    sources = {s["source"] for s in plan["shipments"]}
    assert not any(s.startswith("AG-SUSP") for s in sources)
    hourly = [s for s in plan["shipments"] if s["source"].startswith("AG-CAP@")]
    assert hourly, plan["shipments"]
    by_piece: dict[str, int] = {}
    for s in hourly:
        by_piece[s["source"]] = by_piece.get(s["source"], 0) + s["qty"]
        k = int(s["source"].split("@")[1])
        assert s["ready_hours"] == 1 + k
    assert max(by_piece.values()) <= 60
    assert any("AG-SUSP (suspended)" in note for note in plan["notes"])
    assert "AG-SUSP (suspended)" in " ".join(result.stdout.split())
    called = sum(s["qty"] for s in hourly)

    approved = relief.ok("dispatch", "approve", str(out / "plan.json")).stdout
    assert "called off for the shelters" in approved
    expected = json.loads(relief.ok("reserves", "expected", "--json").stdout)
    assert {c["agreement"] for c in expected} == {"AG-CAP"}
    assert sum(c["qty"] for c in expected) == called

    for route in plan["routes"]:
        for trip in route["trips"]:
            relief.ok("dispatch", "depart", "DP-000001", route["vehicle"], str(trip["trip"]))
            for stop in trip["stops"]:
                relief.ok("dispatch", "deliver", "DP-000001", route["vehicle"], str(stop["stop"]))
    for c in expected:
        relief.ok(
            "reserves", "receive", c["number"], "--lot", f"F-{c['number']}",
            "--expires", "2028-01-01",
        )  # fmt: skip
    owed = relief.ok("reserves", "settle", "--json").stdout
    (supplier,) = json.loads(owed)["owed"]
    assert (supplier["supplier"], supplier["qty"]) == ("FAB", called)
    assert supplier["total"] == f"{called * 22:.2f}"
    relief.ok("reserves", "settle", "--mark", "--reference", "PZ-1")
    relief.ok("stock", "verify")
    status = json.loads(relief.ok("dispatch", "status", "DP-000001", "--json").stdout)
    assert status["status"] == "completed"
