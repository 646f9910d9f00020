"""A map of a Plan: roads (closed ones dashed red), sources, shelters coloured by coverage,
and shipment lines. Returns a matplotlib Figure; saving it is the caller's business."""

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from optimizer.plan import Plan
from optimizer.problem import Problem, RoadStatus


def plot_plan(plan: Plan, problem: Problem | None = None, *, title: str | None = None) -> Figure:
    fig, ax = plt.subplots(figsize=(10, 9), dpi=110)
    if problem is not None and problem.roads:
        where = {n.id: (n.lon, n.lat) for n in problem.nodes}
        for road in problem.roads:
            (x1, y1), (x2, y2) = where[road.a], where[road.b]
            if road.status == RoadStatus.CLOSED:
                ax.plot([x1, x2], [y1, y2], color="#d73027", lw=1.6, ls="--", zorder=1)
            elif road.status == RoadStatus.DAMAGED:
                ax.plot([x1, x2], [y1, y2], color="#f46d43", lw=1.2, zorder=1)
            else:
                width = 1.8 if road.road_class == "expressway" else 0.8
                ax.plot([x1, x2], [y1, y2], color="#bbbbbb", lw=width, zorder=1)
    sources = {s["code"]: s for s in plan.sources}
    shelters = {s.code: s for s in plan.shelters}
    pairs: dict[tuple[str, str], bool] = {}  # one line per source and shelter
    palette = plt.get_cmap("tab20")
    for k, route in enumerate(plan.routes):  # tours along the roads, one colour per truck
        for trip in route.trips:
            if len(trip.path) >= 2:
                xs, ys = zip(*trip.path, strict=True)
                ax.plot(xs, ys, color=palette(k % 20), lw=1.4, alpha=0.75, zorder=2)
    for sh in plan.shipments:
        if plan.routes and sh.source_kind == "depot":
            continue  # drawn as its truck's tour; suppliers' own deliveries stay straight
        on_time = sh.arrival_hours <= plan.deadline_hours
        pairs[(sh.source, sh.shelter)] = pairs.get((sh.source, sh.shelter), False) or on_time
    for (source, code), on_time in pairs.items():
        src, dst = sources.get(source), shelters.get(code)
        if src is None or dst is None:
            continue
        ax.plot(
            [src["lon"], dst.lon],
            [src["lat"], dst.lat],
            color="#4575b4" if on_time else "#984ea3",
            lw=0.8 if on_time else 0.5,
            alpha=0.6 if on_time else 0.25,
            zorder=2,
        )
    for src in plan.sources:
        marker = "s" if src["kind"] == "depot" else "^"
        ax.scatter(src["lon"], src["lat"], marker=marker, s=70, color="#252525", zorder=4)
        ax.annotate(
            src["code"],
            (src["lon"], src["lat"]),
            fontsize=6,
            xytext=(3, 3),
            textcoords="offset points",
        )
    biggest = max((s.residents for s in plan.shelters), default=1) or 1
    for s in plan.shelters:
        colour = (
            "#1a9850" if s.served_on_time else ("#fdae61" if s.on_time_share >= 0.5 else "#d73027")
        )
        ax.scatter(
            s.lon,
            s.lat,
            s=30 + 300 * s.residents / biggest,
            color=colour,
            edgecolor="black",
            lw=0.5,
            zorder=3,
            alpha=0.9,
        )
    k = plan.kpis()
    ax.set_title(
        title
        or (
            f"{plan.name}: {k['residents_served_on_time']:,} of {k['residents_total']:,} residents "
            f"served within {plan.deadline_hours:g} h ({k['share_served_on_time']:.0%})"
        ),
        fontsize=10,
    )
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1.3)
    legend: list[Any] = [
        Line2D([], [], marker="o", ls="", color="#1a9850", label="shelter served on time"),
        Line2D([], [], marker="o", ls="", color="#fdae61", label="≥ 50 % on time"),
        Line2D([], [], marker="o", ls="", color="#d73027", label="< 50 % on time"),
        Line2D([], [], marker="s", ls="", color="#252525", label="depot"),
        Line2D([], [], marker="^", ls="", color="#252525", label="agreement supplier"),
        *(
            [Line2D([], [], color=palette(0), lw=1.4, label="truck tour (one colour a truck)")]
            if plan.routes
            else [
                Line2D([], [], color="#4575b4", label="shipment (on time)"),
                Line2D([], [], color="#984ea3", label="shipment (late)"),
            ]
        ),
        Line2D([], [], color="#d73027", ls="--", label="road closed"),
        Line2D([], [], color="#f46d43", label="road damaged"),
    ]
    ax.legend(handles=legend, loc="lower left", fontsize=7, framealpha=0.9)
    fig.tight_layout()
    return fig
