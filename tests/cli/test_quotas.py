"""`relief quotas import|gaps` and `relief readiness`."""

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.cli.harness import DEPOTS_CSV, Relief, write_csv

TODAY = date.today()
EXPIRES = (TODAY + timedelta(days=400)).isoformat()

QUOTAS = """\
item,depot,tier,qty,per_resident
WATER,CNTY,,100,
TENT,CNTY,,10,
WATER,,township,,0.01
"""


@pytest.fixture
def stocked(ledger: Relief, tmp_path: Path) -> Relief:
    """Populations served (county 50,000, township 1,500), 60 water and 12 tents at CNTY,
    10 water at TWN, and a supermarket agreement: 30 water to CNTY in 2 h."""
    depots = DEPOTS_CSV.replace("capacity_m3\n", "capacity_m3,population_served\n")
    depots = depots.replace(",4800\n", ",4800,50000\n").replace(",200\n", ",200,1500\n")
    depots = depots.replace(",40000\n", ",40000,\n")
    ledger.ok("depots", "import", str(write_csv(tmp_path / "depots2.csv", depots)))
    for depot, item, qty, lot, expires in [
        ("CNTY", "WATER", "60", "W1", EXPIRES),
        ("CNTY", "TENT", "12", "T1", None),
        ("TWN", "WATER", "10", "W1", EXPIRES),
    ]:
        extra = ["--expires", expires] if expires else []
        ledger.post(
            "stock", "receive", "--depot", depot, "--item", item, "--qty", qty, "--lot", lot,
            *extra,
        )  # fmt: skip
    start, end = (TODAY - timedelta(days=1)).isoformat(), (TODAY + timedelta(days=300)).isoformat()
    ledger.ok(
        "reserves", "suppliers", "import",
        str(write_csv(tmp_path / "s.csv", "code,name,kind\nSM,Supermarket,supermarket\n")),
    )  # fmt: skip
    agreements = (
        "code,supplier,item,depot,qty,lead_time_hours,valid_from,valid_to,unit_price\n"
        f"AG-W,SM,WATER,CNTY,30,2,{start},{end},28\n"
    )
    ledger.ok("reserves", "agreements", "import", str(write_csv(tmp_path / "a.csv", agreements)))
    return ledger


def test_gaps_json_lists_shortfalls_first(stocked: Relief, tmp_path: Path) -> None:
    """CNTY water: 60 on hand + 30 by agreement = 90 of 100, short 10; TWN water: 0.01 × 1,500
    = 15, holds 10, short 5 (worse covered, so first); CNTY tents: 12 of 10, met."""
    stocked.ok("quotas", "import", str(write_csv(tmp_path / "q.csv", QUOTAS)))
    rows = json.loads(stocked.ok("quotas", "gaps", "--json").stdout)
    assert [
        (r["depot"], r["item"], r["quota"], r["on_hand"], r["agreements"], r["shortfall"])
        for r in rows
    ] == [
        ("TWN", "WATER", 15, 10, 0, 5),
        ("CNTY", "WATER", 100, 60, 30, 10),
        ("CNTY", "TENT", 10, 12, 0, 0),
    ]
    assert [r["status"] for r in rows] == ["short", "short", "met"]
    township = json.loads(stocked.ok("quotas", "gaps", "--tier", "township", "--json").stdout)
    assert [r["depot"] for r in township] == ["TWN"]
    assert "short" in stocked.ok("quotas", "gaps").stdout


def test_quota_row_with_both_scopes_is_refused_naming_row_and_column(
    stocked: Relief, tmp_path: Path
) -> None:
    """A quota for a depot and a tier at once is refused on its line, and nothing is kept."""
    path = write_csv(tmp_path / "q.csv", QUOTAS + "TENT,CNTY,county,5,\n")
    result = stocked("quotas", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}:5: tier: give a depot or a tier, not both" in result.stderr
    assert json.loads(stocked.ok("quotas", "gaps", "--json").stdout) == []
    unknown = write_csv(tmp_path / "u.csv", "item,depot,tier,qty,per_resident\nSOAP,CNTY,,5,\n")
    result = stocked("quotas", "import", str(unknown))
    assert f"{unknown}:2: item: unknown item 'SOAP'" in result.stderr


def test_readiness_per_subtree_from_a_norms_file(stocked: Relief, tmp_path: Path) -> None:
    """CNTY's subtree: water 70 + 30 = 100 at 0.25 a day → 400 residents; tents 12 at 0.02
    → 600: 400 residents, limited by water, 0.8 % of 50,000."""
    norms = write_csv(
        tmp_path / "norms.csv",
        "item,per_person,per,priority,critical\nWATER,0.25,day,1,true\nTENT,0.02,once,2,true\n",
    )
    (row,) = json.loads(stocked.ok("readiness", "--norms", str(norms), "--json").stdout)
    assert (row["depot"], row["residents"], row["limiting_item"], row["share"]) == (
        "CNTY",
        400,
        "WATER",
        0.008,
    )
    bad = write_csv(tmp_path / "bad.csv", "item,per_person,per,critical\nWATER,0,day,true\n")
    result = stocked("readiness", "--norms", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:2: per_person: Input should be greater than 0" in result.stderr
