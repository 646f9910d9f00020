"""Scenario folders: the bundled one loads; bad ones are refused with file:line: column."""

import shutil
from pathlib import Path

import pytest

from scenarios.scenario import BUNDLED, ScenarioError, load_scenario


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    folder = tmp_path / "s"
    shutil.copytree(BUNDLED, folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_bundled_scenario_loads_with_closed_roads() -> None:
    """The Haicheng scenario is complete: shelters, stock, fleet, a damaged network."""
    meta, problem = load_scenario(BUNDLED)
    assert meta.deadline_hours == 10
    assert len(problem.shelters) >= 20
    assert sum(s.residents for s in problem.shelters) > 10_000
    assert any(r.status.value == "closed" for r in problem.roads)
    assert problem.today == meta.disaster.time.date()


def test_unknown_item_in_norms_names_file_line_and_column(scenario: Path) -> None:
    """A norm for an item not in items.csv is refused at its line."""
    lines = (scenario / "norms.csv").read_text(encoding="utf-8").splitlines()
    first_item = lines[1].split(",")[0]
    edit(scenario / "norms.csv", lines[1], lines[1].replace(first_item, "SOAP", 1))
    with pytest.raises(ScenarioError, match=r"norms\.csv:2: item: unknown item 'SOAP'"):
        load_scenario(scenario)


def test_negative_residents_are_refused(scenario: Path) -> None:
    """Residents must be zero or more."""
    lines = (scenario / "shelters.csv").read_text(encoding="utf-8").splitlines()
    residents = lines[3].rsplit(",", 1)[1]
    edit(scenario / "shelters.csv", lines[3], lines[3].rsplit(",", 1)[0] + f",-{residents}")
    with pytest.raises(ScenarioError, match=r"shelters\.csv:4: residents"):
        load_scenario(scenario)


def test_implausible_residents_are_refused(scenario: Path) -> None:
    """10^14 residents in one shelter is a typo: refused naming file, line and column
    (it used to be planned for)."""
    lines = (scenario / "shelters.csv").read_text(encoding="utf-8").splitlines()
    edit(scenario / "shelters.csv", lines[3], lines[3].rsplit(",", 1)[0] + ",100000000000000")
    with pytest.raises(ScenarioError, match=r"shelters\.csv:4: residents.*200000"):
        load_scenario(scenario)


def test_missing_column_is_named(scenario: Path) -> None:
    """A file without a required column says which."""
    path = scenario / "fleet.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(",".join(r.split(",")[:-1]) for r in lines) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"fleet\.csv:1.*missing column\(s\): speed_kmh"):
        load_scenario(scenario)


def test_road_to_unknown_node_is_refused(scenario: Path) -> None:
    """Every road endpoint must be a node."""
    lines = (scenario / "roads.csv").read_text(encoding="utf-8").splitlines()
    parts = lines[5].split(",")
    parts[1] = "NOWHERE"
    edit(scenario / "roads.csv", lines[5], ",".join(parts))
    with pytest.raises(ScenarioError, match=r"roads\.csv:6: to: unknown node 'NOWHERE'"):
        load_scenario(scenario)


def test_bad_road_status_is_refused(scenario: Path) -> None:
    """Status is open, closed or damaged:F with 0 < F <= 1."""
    lines = (scenario / "roads.csv").read_text(encoding="utf-8").splitlines()
    parts = lines[2].split(",")
    parts[-1] = "damaged:2"
    edit(scenario / "roads.csv", lines[2], ",".join(parts))
    with pytest.raises(ScenarioError, match=r"roads\.csv:3: status"):
        load_scenario(scenario)


def test_missing_yaml_is_refused(scenario: Path) -> None:
    """A folder without scenario.yaml is not a scenario."""
    (scenario / "scenario.yaml").unlink()
    with pytest.raises(ScenarioError, match=r"scenario\.yaml"):
        load_scenario(scenario)


def test_loading_a_scenario_loads_no_ledger_tables() -> None:
    """Pure planning does not import the ledger: no SQLAlchemy, no SQLModel, no models."""
    import subprocess
    import sys

    code = (
        "import sys; from scenarios.scenario import BUNDLED, load_scenario; load_scenario(BUNDLED);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel')"
        " or m.startswith('supply.models')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_scenario_in_gbk_and_xlsx_loads_the_same_problem(tmp_path: Path) -> None:
    """shelters.csv saved as GBK and fleet.csv replaced by fleet.xlsx: the same Problem."""
    import csv

    from openpyxl import Workbook

    folder = tmp_path / "haicheng"
    shutil.copytree(BUNDLED, folder)
    shelters = folder / "shelters.csv"
    shelters.write_bytes(shelters.read_text(encoding="utf-8").encode("gb18030"))
    fleet = folder / "fleet.csv"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    with fleet.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    book.save(folder / "fleet.xlsx")
    fleet.unlink()
    assert load_scenario(folder)[1] == load_scenario(BUNDLED)[1]
