"""The siting core on expected travel time: hand instances and the ESUPS Madagascar case."""

import os
from pathlib import Path

import numpy as np
import pytest

from bench.esups import CASE, DEFAULT_BENCHMARKS, PUBLISHED, read_esups, single_disaster
from optimizer.siting.travel_time import TravelTimeCase, solve_travel_time

ESUPS = Path(os.environ.get("RELIEF_BENCHMARKS", DEFAULT_BENCHMARKS)) / CASE


def two_sites() -> TravelTimeCase:
    """Site A is 1 h from both disasters, B 5 h; A holds 10, B 10. Disaster 1 (p 0.5) needs
    15, disaster 2 (p 0.5) needs 5."""
    return TravelTimeCase(
        "hand",
        ("A", "B"),
        np.array([10.0, 10.0]),
        np.array([[1.0, 5.0], [1.0, 5.0]]),
        np.array([15.0, 5.0]),
        np.array([0.5, 0.5]),
    )


def test_fixed_stock_sends_the_nearest_first() -> None:
    """Disaster 1 takes A's 10 (10 h) and 5 from B (25 h), disaster 2 takes 5 from A (5 h):
    0.5·35 + 0.5·5 = 20."""
    result = solve_travel_time(two_sites(), time_limit_s=5)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(20.0)
    assert result.shipped[0] == pytest.approx([10.0, 5.0])


def test_reallocation_links_every_site_and_scenario() -> None:
    """Without today's endowment the 20 units may all sit at A: 0.5·15 + 0.5·5 = 10. Linking
    only some sites would let shipments exceed the stock chosen; every y ≤ X row holds."""
    result = solve_travel_time(two_sites(), reallocate=True, keep_endowment=False, time_limit_s=5)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(10.0)
    assert result.stock == pytest.approx([20.0, 0.0], abs=1e-6)
    assert (result.shipped <= result.stock[None, :] + 1e-6).all()


def test_reallocation_keeping_the_endowment_is_the_fixed_optimum_here() -> None:
    """With y ≤ today's stock kept and demand 15 at A's cap of 10, moving stock gains
    nothing: the optimum equals the fixed one (20)."""
    result = solve_travel_time(two_sites(), reallocate=True, time_limit_s=5)
    assert result.objective == pytest.approx(20.0)


def test_demand_beyond_reach_is_infeasible() -> None:
    """30 units wanted, 20 held: infeasible, reported as a status, not raised."""
    case = two_sites()
    short = TravelTimeCase(
        "short", case.sites, case.stock, case.hours, np.array([30.0, 5.0]), case.probability
    )
    assert solve_travel_time(short, time_limit_s=5).status == "infeasible"


@pytest.mark.skipif(not ESUPS.is_dir(), reason="no shared benchmarks (ESUPS Madagascar)")
def test_esups_single_disaster_matches_the_published_optimum() -> None:
    """The notebook's single-disaster bucket allocation from the case's CSV files: 13,561
    affected by 1983-0157-MDG, 16 warehouses, optimum 98,293 unit-hours."""
    data = read_esups(ESUPS)
    case = single_disaster(data)
    assert case.scenarios == ("1983-0157-MDG",)
    assert len(data.warehouses) == 16
    result = solve_travel_time(case, time_limit_s=10)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(PUBLISHED["single_disaster"])


def test_esups_reader_names_a_missing_file(tmp_path: Path) -> None:
    """A folder without the case's files is refused with the file's path."""
    with pytest.raises(FileNotFoundError, match=r"disasterTypeSelection\.csv"):
        read_esups(tmp_path)
