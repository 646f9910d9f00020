"""The scenario generator: seeded, sized by its frequency table, loadable by the planner."""

from pathlib import Path

import numpy as np
import pytest

from scenarios.generate import Flood, HazardConfig, Typhoon, _Class, footprint, generate
from scenarios.scenario import SCENARIOS_DIR, ScenarioError, load_scenario
from scenarios.siting_set import load_set

HAZARDS = SCENARIOS_DIR / "haicheng-hazards"


def test_generate_is_seeded_and_makes_a_loadable_set(tmp_path: Path) -> None:
    """Six quakes with the same seed twice give the same residents; the folder is a siting
    set whose probabilities add up to one, and bigger magnitudes are rarer."""
    first = generate(HAZARDS, tmp_path / "a", count=6, seed=7,
                     siting_set=SCENARIOS_DIR / "haicheng-siting")  # fmt: skip
    second = generate(HAZARDS, tmp_path / "b", count=6, seed=7)
    assert [g.residents for g in first] == [g.residents for g in second]
    sset = load_set(tmp_path / "a")
    assert len(sset.scenarios) == 6
    assert sum(s.probability for s in sset.scenarios) == pytest.approx(1.0, abs=1e-6)
    by_size = {g.size: g.probability for g in first}
    assert by_size[5.5] > by_size[7.3]
    _meta, problem = load_scenario(first[-1].folder)
    assert sum(h.residents for h in problem.shelters) == first[-1].residents


def test_bigger_quake_at_the_same_place_hits_harder() -> None:
    """Same seed (same epicentre), M7.3 vs M6.0: intensity higher at every shelter."""
    from scenarios.generate import load_config

    config = load_config(HAZARDS)
    lat, lon = np.array([40.7, 40.9]), np.array([122.8, 122.6])
    small, _ = footprint(config, 6.0, np.random.default_rng(1), lat, lon)
    big, _ = footprint(config, 7.3, np.random.default_rng(1), lat, lon)
    assert (big > small).all()


def test_typhoon_and_flood_footprints_fall_off_with_distance() -> None:
    """The wind field weakens away from the track; the flood stops at its width."""
    lat = np.array([30.0, 30.0, 30.0])
    lon = np.array([121.0, 121.3, 122.0])
    typhoon = HazardConfig(
        name="t", base=".", hazard=Typhoon(kind="typhoon", coast=[(29.0, 121.0), (29.0, 121.001)],
                                          heading_deg=(0.0, 0.0)),
        classes=[_Class(size=60, per_year=1)],
    )  # fmt: skip
    near_to_far, _ = footprint(typhoon, 60, np.random.default_rng(0), lat, lon)
    assert near_to_far[0] > near_to_far[1] > near_to_far[2]
    flood = HazardConfig(
        name="f", base=".", hazard=Flood(kind="flood", river=[(29.0, 121.0), (31.0, 121.0)]),
        classes=[_Class(size=20, per_year=1)],
    )  # fmt: skip
    depth, _ = footprint(flood, 20, np.random.default_rng(0), lat, lon)
    assert depth[0] > depth[1]
    assert depth[2] < 6  # 96 km from the river: dry


def test_generate_refuses_a_bad_hazard_file(tmp_path: Path) -> None:
    """An unknown hazard kind is refused at the line of its key."""
    folder = tmp_path / "hz"
    folder.mkdir()
    (folder / "hazard.yaml").write_text(
        "name: x\nbase: ../b\nhazard:\n  kind: volcano\nclasses:\n  - {size: 1, per_year: 1}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match=r"hazard\.yaml:3: hazard"):
        generate(folder, tmp_path / "out", count=2, seed=0)


@pytest.mark.parametrize(
    ("city", "base"),
    [("cixi", "cixi-typhoon"), ("leping", "leping-flood"), ("huzhou", "huzhou-typhoon")],
)
def test_library_scenarios_load_and_generate(city: str, base: str, tmp_path: Path) -> None:
    """Each library city: its base scenario loads with residents, and its hazard folder
    generates scenarios over the same shelters."""
    _meta, original = load_scenario(SCENARIOS_DIR / base)
    assert sum(h.residents for h in original.shelters) > 0
    made = generate(SCENARIOS_DIR / f"{city}-hazards", tmp_path, count=3, seed=2)
    _meta, drawn = load_scenario(made[0].folder)
    assert [h.code for h in drawn.shelters] == [h.code for h in original.shelters]
