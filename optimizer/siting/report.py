"""A siting result and an evaluation as files: JSON, CSV rows, GeoJSON and two figures.

Figures are returned, not saved; their labels are English only, as the map of a plan's are
(a machine without a CJK font would draw Chinese as empty boxes).
"""

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from optimizer.siting.evaluate import Evaluation, Network
from optimizer.siting.model import SitingResult
from optimizer.siting.problem import SitingSet
from optimizer.sources import sources


def _number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def document(result: SitingResult, sset: SitingSet) -> dict[str, Any]:
    """siting.json: what was chosen, what it costs, what was proved, per scenario."""
    return {
        "name": result.name,
        "mode": result.mode.value,
        "objective_kind": result.objective_kind.value,
        "status": result.status.value,
        "objective": _number(result.objective),
        "bound": _number(result.bound),
        "gap": _number(result.gap),
        "runtime_s": round(result.runtime_s, 3),
        "budget": result.budget,
        "cost": round(result.cost, 2),
        "deadline_hours": sset.deadline_hours,
        "expected_served": round(result.expected_served, 3),
        "expected_total": round(result.expected_total, 3),
        "size": result.size,
        "sites": [asdict(s) for s in result.sites],
        "scenarios": [{**asdict(o), "share": round(o.share, 4)} for o in result.scenarios],
        "marginals": [asdict(m) for m in result.marginals],
    }


def network_of(doc: dict[str, Any]) -> Network:
    """The proposal in a siting.json: its open sites and their added stock.

    Raises ValueError naming the key at fault."""
    try:
        sites = doc["sites"]
        opened = tuple(s["code"] for s in sites if s["opened"])
        stock = tuple(
            (s["code"], str(item), int(qty)) for s in sites for item, qty in s["stock"].items()
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"sites: not a siting.json site list ({exc})") from exc
    return Network(str(doc.get("name", "proposal")), opened, stock)


def sites_csv(result: SitingResult, sset: SitingSet) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        ["code", "name", "tier", "kind", "existing", "opened", "lat", "lon", "added_m3",
         "used_m3", "cost"]
    )  # fmt: skip
    for s in result.sites:
        c = sset.candidate(s.code)
        w.writerow(
            [s.code, s.name, c.tier, s.kind, "yes" if s.existing else "no",
             "yes" if s.opened else "no", c.lat, c.lon, abs(s.added_m3), s.used_m3, s.cost]
        )  # fmt: skip
    return out.getvalue()


def stock_csv(result: SitingResult, sset: SitingSet) -> str:
    """Quotas for `relief quotas import`: each open site's target stock per item, i.e. what
    the first scenario says it holds today plus what the plan adds."""
    today: dict[tuple[str, str], int] = {}
    if sset.scenarios:
        for src in sources(sset.scenarios[0].problem):
            for item, qty in src.supply.items():
                today[(src.code, item)] = qty
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["item", "depot", "tier", "qty", "per_resident"])
    for s in result.sites:
        for item, qty in s.stock.items():
            w.writerow([item, s.code, "", qty + today.get((s.code, item), 0), ""])
    return out.getvalue()


def geojson(result: SitingResult, sset: SitingSet) -> dict[str, Any]:
    features = []
    for s in result.sites:
        c = sset.candidate(s.code)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [c.lon, c.lat]},
                "properties": {
                    "code": s.code,
                    "name": s.name,
                    "kind": s.kind,
                    "existing": s.existing,
                    "opened": s.opened,
                    "added_m3": abs(s.added_m3),
                    "cost": s.cost,
                    "stock": s.stock,
                },
            }
        )
    if sset.scenarios:
        for h in sset.scenarios[0].problem.shelters:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [h.lon, h.lat]},
                    "properties": {"shelter": h.code, "name": h.name, "residents": h.residents},
                }
            )
    return {"type": "FeatureCollection", "features": features}


def plot_sites(result: SitingResult, sset: SitingSet) -> Figure:
    """The map: shelters of the first scenario by residents, today's depots, candidates
    (filled: chosen; size: stock volume)."""
    fig, ax = plt.subplots(figsize=(9, 8), dpi=110)
    if sset.scenarios:
        problem = sset.scenarios[0].problem
        ax.scatter(
            [h.lon for h in problem.shelters],
            [h.lat for h in problem.shelters],
            s=[max(h.residents / 60, 4) for h in problem.shelters],
            color="#9ecae1",
            alpha=0.7,
            label="shelters (size: residents)",
        )
        ax.scatter(
            [d.lon for d in problem.depots],
            [d.lat for d in problem.depots],
            marker="s",
            color="#636363",
            s=25,
            label="today's depots",
        )
    for s in result.sites:
        c = sset.candidate(s.code)
        size = 40 + 2 * s.used_m3
        if s.opened and (not s.existing or s.used_m3 > 0 or s.added_m3 > 0):
            ax.scatter(c.lon, c.lat, marker="^", s=size, color="#d7301f", zorder=3)
        else:
            ax.scatter(c.lon, c.lat, marker="^", s=40, facecolors="none", edgecolors="#d7301f")
        ax.annotate(s.code, (c.lon, c.lat), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.scatter([], [], marker="^", color="#d7301f", label="chosen (size: stock m³)")
    ax.scatter([], [], marker="^", facecolors="none", edgecolors="#d7301f", label="candidate")
    ax.set_title(
        f"{sset.title}\n¥{result.cost:,.0f}: expected {result.expected_served:,.0f} of "
        f"{result.expected_total:,.0f} residents within {sset.deadline_hours:g} h",
        fontsize=10,
    )
    ax.set_xlabel("lon")
    ax.set_ylabel("lat")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def evaluation_rows(evaluations: Sequence[Evaluation]) -> list[dict[str, Any]]:
    return [{**asdict(e), "share": round(e.share, 4)} for e in evaluations]


def evaluation_csv(evaluations: Sequence[Evaluation]) -> str:
    rows = evaluation_rows(evaluations)
    out = io.StringIO()
    if rows:
        w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return out.getvalue()


def aggregate(evaluations: Sequence[Evaluation]) -> dict[str, dict[str, float]]:
    """Per network: expected residents served and share, and the worst scenario's share."""
    out: dict[str, dict[str, float]] = {}
    for e in evaluations:
        a = out.setdefault(
            e.network, {"expected_served": 0.0, "expected_total": 0.0, "worst_share": 1.0}
        )
        a["expected_served"] += e.probability * e.residents_served
        a["expected_total"] += e.probability * e.residents_total
        a["worst_share"] = min(a["worst_share"], e.share)
    for a in out.values():
        a["expected_share"] = (
            a["expected_served"] / a["expected_total"] if a["expected_total"] else 1
        )
    return out


def plot_evaluation(evaluations: Sequence[Evaluation], title: str) -> Figure:
    """Residents served on time per scenario, one bar per network (today vs proposed)."""
    networks = list(dict.fromkeys(e.network for e in evaluations))
    scenarios = list(dict.fromkeys(e.scenario for e in evaluations))
    served = {(e.network, e.scenario): e.residents_served for e in evaluations}
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(scenarios) * len(networks) + 3), 5), dpi=110)
    width = 0.8 / max(len(networks), 1)
    for k, net in enumerate(networks):
        xs = [i + k * width for i in range(len(scenarios))]
        label = "today" if net == "today" else f"proposal {net}"
        ax.bar(xs, [served.get((net, s), 0) for s in scenarios], width, label=label)
    ax.set_xticks([i + width * (len(networks) - 1) / 2 for i in range(len(scenarios))])
    ax.set_xticklabels(scenarios, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("residents served on time")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
