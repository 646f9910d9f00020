"""`relief catalog import` and `relief depots import`: counts, and refusals that write nothing."""

from pathlib import Path

from tests.cli.harness import DEPOTS_CSV, ITEMS_CSV, Relief, query, write_csv

ITEM_HEADER = ITEMS_CSV.splitlines()[0]
DEPOT_HEADER = DEPOTS_CSV.splitlines()[0]


def test_catalog_import_reports_created_then_updated(relief: Relief, tmp_path: Path) -> None:
    """Items are upserted by code: new codes count as created, known codes as updated."""
    first = relief.ok("catalog", "import", str(write_csv(tmp_path / "items.csv", ITEMS_CSV)))
    again = write_csv(
        tmp_path / "items2.csv",
        f"{ITEM_HEADER}\n"
        "WATER,饮用水,Bottled water,food_water,case,13.8,0.022,730,45\n"
        "RAINCOAT,雨衣,Raincoat,clothing,piece,0.4,0.002,,0\n",
    )
    second = relief.ok("catalog", "import", str(again))

    assert "items: 2 created, 0 updated" in first.stdout
    assert "items: 1 created, 1 updated" in second.stdout
    assert query(
        relief.db_file, "SELECT code, name_en, rotation_lead_days FROM item ORDER BY code"
    ) == [
        ("RAINCOAT", "Raincoat", 0),
        ("TENT", "Relief tent", 0),
        ("WATER", "Bottled water", 45),
    ]


def test_catalog_import_refuses_bad_row_naming_file_line_and_column(
    relief: Relief, tmp_path: Path
) -> None:
    """A bad cell exits 2 with `file:line: column`, and no row of the file is written."""
    path = write_csv(
        tmp_path / "items.csv",
        f"{ITEM_HEADER}\n"
        "WATER,饮用水,Drinking water,food_water,case,13.8,0.022,730,60\n"
        "TENT,帐篷,Relief tent,shelter,set,heavy,0.2,,0\n",
    )
    result = relief("catalog", "import", str(path))

    assert result.exit_code == 2
    assert f"{path}:3: unit_weight_kg" in result.stderr
    assert query(relief.db_file, "SELECT count(*) FROM item") == [(0,)]


def test_catalog_import_refuses_missing_column(relief: Relief, tmp_path: Path) -> None:
    """A file without a required column exits 2 naming the column, and writes nothing."""
    path = write_csv(tmp_path / "items.csv", "code,name_zh,name_en\nWATER,水,Water\n")
    result = relief("catalog", "import", str(path))

    assert result.exit_code == 2
    assert f"{path}:1" in result.stderr
    assert "unit_weight_kg" in result.stderr
    assert query(relief.db_file, "SELECT count(*) FROM item") == [(0,)]


def test_depots_import_reports_created_then_updated(relief: Relief, tmp_path: Path) -> None:
    """Depots are upserted by code; the parent link is stored from parent_code."""
    path = write_csv(tmp_path / "depots.csv", DEPOTS_CSV)
    first = relief.ok("depots", "import", str(path))
    second = relief.ok("depots", "import", str(path))

    assert "depots: 3 created, 0 updated" in first.stdout
    assert "depots: 0 created, 3 updated" in second.stdout
    assert query(
        relief.db_file,
        "SELECT d.code, d.tier, p.code FROM location d LEFT JOIN location p "
        "ON p.id = d.parent_id WHERE d.kind = 'depot' ORDER BY d.code",
    ) == [("CNTY", "county", "PROV"), ("PROV", "province", None), ("TWN", "township", "CNTY")]


def test_depots_import_refuses_bad_row_naming_file_line_and_column(
    relief: Relief, tmp_path: Path
) -> None:
    """An unknown tier on line 3 exits 2 with `file:3: tier`; line 2 is not written either."""
    path = write_csv(
        tmp_path / "depots.csv",
        f"{DEPOT_HEADER}\n"
        "PROV,Province depot,province,,41.79,123.43,40000\n"
        "HAMLET,Hamlet point,hamlet,PROV,40.0,122.0,10\n",
    )
    result = relief("depots", "import", str(path))

    assert result.exit_code == 2
    assert f"{path}:3: tier" in result.stderr
    assert query(relief.db_file, "SELECT count(*) FROM location WHERE kind = 'depot'") == [(0,)]


def test_depots_import_refuses_unknown_parent(relief: Relief, tmp_path: Path) -> None:
    """A parent_code that is neither in the ledger nor earlier in the file exits 2, whole file."""
    path = write_csv(
        tmp_path / "depots.csv",
        f"{DEPOT_HEADER}\n"
        "PROV,Province depot,province,,41.79,123.43,40000\n"
        "CNTY,County depot,county,NOWHERE,40.85,122.75,4800\n",
    )
    result = relief("depots", "import", str(path))

    assert result.exit_code == 2
    assert f"{path}:3" in result.stderr
    assert "parent_code" in result.stderr
    assert "NOWHERE" in result.stderr
    assert query(relief.db_file, "SELECT count(*) FROM location WHERE kind = 'depot'") == [(0,)]


def test_depots_import_names_line_of_parent_with_lower_tier(relief: Relief, tmp_path: Path) -> None:
    """A depot whose parent is of a lower tier is refused naming its own line (4), not another."""
    path = write_csv(
        tmp_path / "depots.csv",
        f"{DEPOT_HEADER}\n"
        "PROV,Province depot,province,,41.79,123.43,40000\n"
        "TWN,Township depot,township,PROV,40.58,122.97,200\n"
        "CNTY,County depot,county,TWN,40.85,122.75,4800\n",
    )
    result = relief("depots", "import", str(path))

    assert result.exit_code == 2
    assert query(relief.db_file, "SELECT count(*) FROM location WHERE kind = 'depot'") == [(0,)]
    assert f"{path}:4: parent_code" in result.stderr


def test_item_columns_are_the_exports_first_seven() -> None:
    """`catalog import` requires the export's first seven columns (spelled out in the CLI
    so that its start-up does not import the catalogue service and every table)."""
    from api.cli.catalog import DEPOT_COLUMNS, ITEM_COLUMNS
    from supply.services.catalogue import DEPOT_EXPORT_COLUMNS, ITEM_EXPORT_COLUMNS

    assert ITEM_EXPORT_COLUMNS[:7] == ITEM_COLUMNS
    assert set(DEPOT_COLUMNS) <= set(DEPOT_EXPORT_COLUMNS)
