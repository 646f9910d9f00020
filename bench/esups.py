"""The ESUPS Madagascar prepositioning case on the siting core, beside its published values.

Data: `relief/esups_gurobi_madagascar/` of the shared benchmarks (Gurobi's modeling-examples,
`optimization202/ESUPS_case_study`, Apache-2.0). The case study's notebook solves three
linear models for one item (buckets) and reports their optima; this benchmark rebuilds their
inputs the way the notebook's helpers do and solves them with `optimizer.siting.travel_time`:

- single disaster: the third disaster of the list (by EM-DAT id), all of its affected people
  as demand, sent from the warehouses holding buckets at their driving hours to the
  disaster's first listed place;
- all disasters: every disaster (probability 1/64 each), demand capped at the national stock,
  with the same hours as the single disaster (the notebook's `t` is that one column, for
  every scenario; a quirk of the study kept here so that its value can be compared);
- full allocation: the stock per warehouse decided too (national total kept). The notebook
  links y_ki ≤ X_i for one warehouse only (a loop variable reused), so its optimum is the
  all-disasters one; the corrected model links every warehouse and scenario.

The preprocessing (read from the notebook and its `src/reading.py`, not copied): disasters of
the types `disasterTypeSelection.csv` includes, rows without a total dropped, grouped by
EM-DAT id; the inventory's addresses mapped by `depotMapping.csv` and summed per item and
address; warehouses limited to `depotSelection.csv`; demand is people affected (the notebook
does not convert them with `personsPerItem.csv`).
"""

import argparse
import csv
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optimizer.siting.travel_time import TravelTimeCase, TravelTimeResult, solve_travel_time

HELP = "ESUPS Madagascar (Gurobi case study): the bucket allocations on the siting core."
#: Where `python -m bench` looks for the shared benchmarks unless told (`--folder`, or the
#: RELIEF_BENCHMARKS environment variable): ../shared/benchmarks beside the repository.
DEFAULT_BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
CASE = Path("relief") / "esups_gurobi_madagascar"
#: The notebook's printed optima (Gurobi 11.0.3, `opti202_disaster_prepositioning.ipynb`,
#: cells "simple_Allocation", "all_disaster_allocation", "full_allocation").
PUBLISHED = {"single_disaster": 98293.0, "all_disasters": 327403.0, "full_allocation": 327403.0}


@dataclass(frozen=True, slots=True)
class Disaster:
    disaster_id: str
    kind: str
    affected: float
    place: str  # the first listed place (its address), where the notebook sends supplies


@dataclass(frozen=True, slots=True)
class EsupsData:
    """What the notebook's models read, for one item."""

    item: str
    warehouses: tuple[str, ...]  # addresses, sorted (the inventory's grouping order)
    stock: np.ndarray  # (I,) units of the item
    disasters: tuple[Disaster, ...]  # by EM-DAT id
    hours: dict[tuple[str, str], float]  # (warehouse, place) -> driving hours


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (is the shared benchmarks folder there?)")
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _included(path: Path, column: str) -> set[str]:
    return {r[column] for r in _rows(path) if r["include"].strip() in ("1", "1.0")}


def read_esups(folder: Path, item: str = "Buckets") -> EsupsData:
    """The case study's inputs for `item` from its CSV files in `folder`.

    Raises
    ------
    FileNotFoundError
        A file of the case is missing.
    ValueError
        The item has no stock, or a warehouse holding it is not a selected depot.
    """
    kinds = _included(folder / "disasterTypeSelection.csv", "disasterType")
    affected: dict[str, float] = defaultdict(float)
    first: dict[str, Disaster] = {}
    for r in _rows(folder / "disasters.csv"):
        if r["Type"] not in kinds or not r["TotAffected"].strip():
            continue
        did = r["DisasterID"]
        affected[did] += float(r["TotAffected"])
        first.setdefault(did, Disaster(did, r["Type"], 0.0, r["gglAddress"]))
    disasters = tuple(
        Disaster(d, first[d].kind, affected[d], first[d].place) for d in sorted(affected)
    )
    selected = _included(folder / "depotSelection.csv", "gglAddressAscii")
    mapping = {
        r["gglAddressAsciiMapFrom"]: r["gglAddressAsciiMapTo"]
        for r in _rows(folder / "depotMapping.csv")
    }
    stock: dict[str, float] = defaultdict(float)
    for r in _rows(folder / "inventory" / "actual.csv"):
        if r["ItemName"] == item:
            stock[mapping.get(r["gglAddress"], r["gglAddress"])] += float(r["Total"])
    if not stock:
        raise ValueError(f"{folder}: no stock of {item!r} in inventory/actual.csv")
    outside = sorted(set(stock) - selected)
    if outside:
        raise ValueError(f"{folder}: {item} held at depots not selected: {outside}")
    warehouses = tuple(sorted(stock))
    hours = {
        (r["depotGglAddressAscii"], r["disasterGglAddressAscii"]): float(r["drivingTime_hrs"])
        for r in _rows(folder / "distanceMatrix.csv")
        if r["depotGglAddressAscii"] in stock
    }
    return EsupsData(item, warehouses, np.array([stock[w] for w in warehouses]), disasters, hours)


def _hours_to(data: EsupsData, place: str) -> np.ndarray:
    out = np.array([data.hours.get((w, place), np.inf) for w in data.warehouses])
    if not np.isfinite(out).all():
        missing = [w for w, h in zip(data.warehouses, out, strict=True) if not np.isfinite(h)]
        raise ValueError(f"distanceMatrix.csv: no driving time from {missing} to {place!r}")
    return out


def single_disaster(data: EsupsData, index: int = 2) -> TravelTimeCase:
    """One disaster (the notebook's third), all its affected people as demand."""
    d = data.disasters[index]
    return TravelTimeCase(
        f"single disaster {d.disaster_id}", data.warehouses, data.stock,
        _hours_to(data, d.place)[None, :], np.array([d.affected]), np.array([1.0]),
        (d.disaster_id,),
    )  # fmt: skip


def all_disasters(data: EsupsData, index: int = 2) -> TravelTimeCase:
    """Every disaster, equally likely, demand capped at the national stock, each with the
    hours of disaster `index` (the notebook's single column of times)."""
    hours = _hours_to(data, data.disasters[index].place)
    n_k = len(data.disasters)
    total = float(data.stock.sum())
    return TravelTimeCase(
        "all disasters", data.warehouses, data.stock, np.tile(hours, (n_k, 1)),
        np.array([min(d.affected, total) for d in data.disasters]), np.full(n_k, 1.0 / n_k),
        tuple(d.disaster_id for d in data.disasters),
    )  # fmt: skip


def _row(result: TravelTimeResult, published: float | None) -> dict[str, object]:
    row: dict[str, object] = {
        "objective": round(result.objective, 4),
        "bound": round(result.bound, 4),
        "status": result.status,
        "seconds": round(result.seconds, 3),
        "variables": result.variables,
        "rows": result.rows,
    }
    if published is not None:
        row["published"] = published
        row["matches"] = abs(result.objective - published) <= 0.5  # published to whole units
    return row


def own_hours(data: EsupsData) -> TravelTimeCase:
    """All disasters as the notebook's all-disasters model, but each with the hours to its
    own first listed place (not in the study: what the model means to say)."""
    case = all_disasters(data)
    hours = np.vstack([_hours_to(data, d.place) for d in data.disasters])
    return TravelTimeCase(
        "all disasters, own hours", case.sites, case.stock, hours, case.demand,
        case.probability, case.scenarios,
    )  # fmt: skip


def _moved(data: EsupsData, result: TravelTimeResult) -> dict[str, float]:
    """Warehouses whose reallocated stock differs from today's, with the new stock."""
    return {
        w: round(float(x), 1) + 0.0
        for w, x, s in zip(data.warehouses, result.stock, data.stock, strict=True)
        if abs(x - s) > 0.5
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    default = Path(os.environ.get("RELIEF_BENCHMARKS", DEFAULT_BENCHMARKS))
    parser.add_argument(
        "--folder", type=Path, default=default,
        help="shared benchmarks folder (default: $RELIEF_BENCHMARKS or ../shared/benchmarks)",
    )  # fmt: skip
    parser.add_argument("--item", default="Buckets", help="Item (the notebook's: Buckets).")


def run(args: argparse.Namespace) -> int:
    data = read_esups(args.folder / CASE, args.item)
    # the published values are the buckets'
    published = PUBLISHED if args.item == "Buckets" else dict.fromkeys(PUBLISHED)
    one, every, own = single_disaster(data), all_disasters(data), own_hours(data)
    results = {
        "single_disaster": solve_travel_time(one, time_limit_s=60),
        "all_disasters": solve_travel_time(every, time_limit_s=60),
        "full_allocation": solve_travel_time(every, reallocate=True, time_limit_s=60),
        "full_allocation_without_endowment": solve_travel_time(
            every, reallocate=True, keep_endowment=False, time_limit_s=60
        ),
        "all_disasters_own_hours": solve_travel_time(own, time_limit_s=60),
        "full_allocation_own_hours": solve_travel_time(own, reallocate=True, time_limit_s=60),
    }
    capped = int((every.demand >= every.stock.sum()).sum())
    notes = {
        "single_disaster": f"{one.scenarios[0]}, demand {one.demand[0]:,.0f}",
        "all_disasters": f"{len(every.demand)} disasters, p = 1/{len(every.demand)}; "
        f"{capped} capped at the national stock; every one with the single disaster's hours",
        "full_allocation": "corrected: y[k,i] <= X[i] for every warehouse and disaster; the "
        "notebook's (published) links the last warehouse only, so it equals all_disasters",
        "full_allocation_without_endowment": "y[k,i] <= X[i] alone (the notebook's prose)",
        "all_disasters_own_hours": "not in the study: each disaster's own first place",
        "full_allocation_own_hours": "not in the study: corrected full allocation, own hours",
    }
    report: dict[str, object] = {
        "case": str(CASE),
        "item": data.item,
        "warehouses": len(data.warehouses),
        "disasters": len(data.disasters),
        "national_stock": float(data.stock.sum()),
    }
    ok = True
    print(f"{'model':<36}{'objective':>14}{'published':>14}  status")
    for name, result in results.items():
        row = _row(result, published.get(name))
        row["note"] = notes[name]
        if "full_allocation" in name:
            row["stock_changed"] = _moved(data, result)
        ok &= result.status == "optimal" and row.get("matches", True) is True
        report[name] = row
        known = published.get(name)
        print(
            f"{name:<36}{result.objective:>14,.1f}"
            f"{'' if known is None else f'{known:,.1f}':>14}  {result.status}"
        )
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0 if ok else 1
