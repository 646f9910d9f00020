"""The siting core on facility location: hand instances and OR-Library files."""

from pathlib import Path

import numpy as np
import pytest

from bench.facility import BENCHMARKS_DIR, read_cflp, read_pmedian
from optimizer.siting.facility import (
    FacilityProblem,
    solve_cflp_large,
    solve_facility,
    solve_pmedian,
)


def test_cflp_hand_instance_splits_demand_over_capacity() -> None:
    """Neither site holds all 15 units, so both open (1 + 5); customer 0's 10 units fill
    site 0 (cost 1), customer 1 goes to site 1 (cost 4): 11."""
    fp = FacilityProblem(
        "hand",
        fixed_cost=np.array([1.0, 5.0]),
        cost=np.array([[1.0, 2.0], [8.0, 4.0]]),
        demand=np.array([10.0, 5.0]),
        capacity=np.array([10.0, 10.0]),
    )
    result = solve_facility(fp, time_limit_s=5)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(11.0)
    assert result.opened == (0, 1)


def test_pmedian_path_graph_picks_the_middle(tmp_path: Path) -> None:
    """On a path 1–2–3–4–5 with unit edges, the 1-median is node 3 at total distance 6; a
    repeated edge's last cost wins (the first 9 is overwritten by 1)."""
    path = tmp_path / "path.txt"
    path.write_text("5 5 1\n1 2 1\n2 3 9\n3 4 1\n4 5 1\n2 3 1\n", encoding="utf-8")
    result = solve_pmedian(read_pmedian(path), time_limit_s=5)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(6.0)
    assert result.opened == (2,)


def test_cflp_reader_refuses_a_short_file(tmp_path: Path) -> None:
    """A file with fewer numbers than its header promises is refused by name."""
    path = tmp_path / "cap.txt"
    path.write_text("2 1\n10 5\n10 5\n3 .5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="8 numbers, expected 9"):
        read_cflp(path)


@pytest.mark.skipif(not (BENCHMARKS_DIR / "cflp").is_dir(), reason="no shared benchmarks")
def test_cflp_cap41_matches_the_published_optimum() -> None:
    """OR-Library cap41 (16 × 50): the published multi-source optimum 1,040,444.375."""
    result = solve_facility(read_cflp(BENCHMARKS_DIR / "cflp" / "cap41.txt"), time_limit_s=30)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(1040444.375, abs=1e-3)


@pytest.mark.skipif(not (BENCHMARKS_DIR / "pmedian").is_dir(), reason="no shared benchmarks")
def test_pmedian_pmed1_matches_the_published_optimum() -> None:
    """OR-Library pmed1 (100 vertices, p = 5): 5,819 with the last-edge-wins rule."""
    result = solve_pmedian(read_pmedian(BENCHMARKS_DIR / "pmedian" / "pmed1.txt"), time_limit_s=30)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(5819.0)


@pytest.mark.skipif(not (BENCHMARKS_DIR / "cflp").is_dir(), reason="no shared benchmarks")
def test_large_cflp_method_finds_cap41_with_a_valid_bound() -> None:
    """The Lagrangian + kernel method (meant for capa) on cap41 with every site in the
    kernel: the published optimum, and a bound that does not pass it."""
    fp = read_cflp(BENCHMARKS_DIR / "cflp" / "cap41.txt")
    result = solve_cflp_large(fp, time_limit_s=20, iterations=150, kernel=16)
    assert result.objective == pytest.approx(1040444.375, abs=1e-3)
    assert result.bound is not None
    assert result.bound <= 1040444.375 + 1e-3
