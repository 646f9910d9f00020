"""`relief fleet` and the catalogue and depot exports: every export reads back as an import,
in .xlsx as in CSV, and a bad fleet row changes nothing."""

import json
from pathlib import Path

import pytest

from tests.cli.harness import Relief, write_csv

FLEET_CSV = """\
depot,vehicle_type,count,capacity_kg,capacity_m3,speed_kmh
CNTY,medium,4,8000,35,60
CNTY,heavy,1,15000,55,70
TWN,van,2,1500,8,50
"""


def fleet(relief: Relief) -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads(relief.ok("fleet", "list", "--json").stdout)
    return data


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_fleet_import_export_round_trip(ledger: Relief, tmp_path: Path, suffix: str) -> None:
    """Import, export, import the export: the same fleet, every row an update."""
    ledger.ok("fleet", "import", str(write_csv(tmp_path / "fleet.csv", FLEET_CSV)))
    before = fleet(ledger)
    assert [(r["depot"], r["vehicle_type"], r["count"]) for r in before] == [
        ("CNTY", "heavy", 1),
        ("CNTY", "medium", 4),
        ("TWN", "van", 2),
    ]
    out = tmp_path / f"export{suffix}"
    ledger.ok("fleet", "export", "--out", str(out))
    again = ledger.ok("fleet", "import", str(out)).stdout
    assert "fleet: 0 created, 3 updated" in again
    assert fleet(ledger) == before


def test_a_bad_fleet_row_is_named_and_nothing_is_written(ledger: Relief, tmp_path: Path) -> None:
    """An unknown depot on line 3: exit 2, `file:3: depot: ...`, no vehicle recorded."""
    bad = write_csv(
        tmp_path / "fleet.csv",
        "depot,vehicle_type,count,capacity_kg,capacity_m3,speed_kmh\n"
        "CNTY,medium,4,8000,35,60\nNOWHERE,van,2,1500,8,50\n",
    )
    result = ledger("fleet", "import", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:3: depot: unknown depot 'NOWHERE'" in result.stderr
    assert fleet(ledger) == []


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_catalog_and_depots_export_import_back(ledger: Relief, tmp_path: Path, suffix: str) -> None:
    """The catalogue and the depot network (parents first) read back unchanged."""
    items, depots = tmp_path / f"items{suffix}", tmp_path / f"depots{suffix}"
    ledger.ok("catalog", "export", "--out", str(items))
    ledger.ok("depots", "export", "--out", str(depots))
    assert "items: 0 created, 2 updated" in ledger.ok("catalog", "import", str(items)).stdout
    assert "depots: 0 created, 3 updated" in ledger.ok("depots", "import", str(depots)).stdout
