"""Loading scenario sets: the bundled one loads; bad ones say `file:line: column: reason`."""

import shutil
from pathlib import Path

import pytest

from scenarios.scenario import SCENARIOS_DIR, ScenarioError
from scenarios.siting_set import load_set

SET = SCENARIOS_DIR / "haicheng-siting"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "set"
    shutil.copytree(SET, folder)
    base = SCENARIOS_DIR / "haicheng-earthquake"
    (folder / "scenarios.csv").write_text(f"folder,probability\n{base},1.0\n", encoding="utf-8")
    return folder


def test_bundled_set_loads_with_its_candidates_and_scenario() -> None:
    """The bundled Haicheng set: seven candidates, four costed items, one scenario."""
    sset = load_set(SET)
    assert len(sset.candidates) == 7
    assert [it.item for it in sset.items] == ["WATER-24", "QUILT", "TENT-12C", "BISCUIT-10"]
    assert sset.items[2].unit_volume_m3 == pytest.approx(0.32)  # from the scenario's items
    assert [s.probability for s in sset.scenarios] == [1.0]


def test_set_bad_candidate_cell_names_file_line_and_column(tmp_path: Path) -> None:
    """A yes/no column with another word is refused at its line."""
    folder = _copy(tmp_path)
    path = folder / "candidates.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(",yes,enlarge,", ",maybe,enlarge,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"candidates\.csv:3: existing: must be yes or no"):
        load_set(folder)


def test_set_new_site_marked_existing_is_refused(tmp_path: Path) -> None:
    """kind=new with existing=yes contradicts itself."""
    folder = _copy(tmp_path)
    path = folder / "candidates.csv"
    text = path.read_text(encoding="utf-8").replace(
        ",400000,1500,400,no,new,", ",400000,1500,400,yes,new,", 1
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"candidates\.csv:5: existing: a new depot"):
        load_set(folder)


def test_set_probabilities_must_add_up_to_one(tmp_path: Path) -> None:
    """Probabilities of 0.5 alone are refused at the last row."""
    folder = _copy(tmp_path)
    base = SCENARIOS_DIR / "haicheng-earthquake"
    (folder / "scenarios.csv").write_text(f"folder,probability\n{base},0.5\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"scenarios\.csv:2: probability: .*add up to 0\.5"):
        load_set(folder)


def test_set_yaml_error_names_the_line_of_the_key(tmp_path: Path) -> None:
    """An unknown objective is reported at the line of `objective:` in siting.yaml."""
    folder = _copy(tmp_path)
    path = folder / "siting.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(k for k, text in enumerate(lines, start=1) if text.startswith("objective:"))
    path.write_text(
        path.read_text(encoding="utf-8").replace("objective: expected", "objective: best")
    )
    with pytest.raises(ScenarioError, match=rf"siting\.yaml:{line}: objective: "):
        load_set(folder)


def test_set_unknown_item_to_preposition_is_refused(tmp_path: Path) -> None:
    """items.csv may only cost items the scenarios know."""
    folder = _copy(tmp_path)
    with (folder / "items.csv").open("a", encoding="utf-8") as handle:
        handle.write("GOLD,1,\n")
    with pytest.raises(ScenarioError, match=r"items\.csv:6: item: unknown item 'GOLD'"):
        load_set(folder)


def test_set_travel_matrix_with_unknown_shelter_is_refused(tmp_path: Path) -> None:
    """A scenario's travel.csv may only name its sources, the candidates and its shelters."""
    folder = _copy(tmp_path)
    scenario = tmp_path / "quake"
    shutil.copytree(SCENARIOS_DIR / "haicheng-earthquake", scenario)
    (folder / "scenarios.csv").write_text(f"folder,probability\n{scenario},1\n", encoding="utf-8")
    (scenario / "travel.csv").write_text(
        "source,shelter,hours\nHC-COUNTY,SH-XIMU,1.5\nNEW-CHAGOU,SH-NOWHERE,1\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioError, match=r"travel\.csv:3: shelter: unknown shelter"):
        load_set(folder)
