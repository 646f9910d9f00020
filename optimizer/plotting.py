"""A map of a Plan, for a dispatcher: every truck's tours in its own colour along the roads,
shelters coloured by whether they are served on time, depots and suppliers, closed and
damaged roads; legends beside the map, never over it; labels placed where they do not
overlap. Returns a matplotlib Figure; saving it is the caller's business.

Labels are Chinese first with English beside when a CJK font is installed (e.g. Debian's
`fonts-noto-cjk`), English alone otherwise (a missing font would draw empty boxes).
"""

from functools import cache
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox

from optimizer.plan import Plan, SourceKind
from optimizer.problem import Problem, RoadStatus

#: Offsets (points) tried for a label, nearest first.
_OFFSETS = ((4, 4), (4, -10), (-4, 4), (-4, -10), (0, 9), (0, -14), (9, -3), (-9, -3))
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "Source Han Sans SC")


@cache
def _cjk_font() -> str | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in _CJK_FONTS if n in names), None)


def _label(zh: str, en: str) -> str:
    return f"{zh} {en}" if _cjk_font() else en


def _palette(n: int) -> list[Any]:
    """n colours as far apart as hue allows: golden-angle hues, three shades in turn, so
    neighbouring trucks in the list (often of one depot) never look alike."""
    from matplotlib.colors import hsv_to_rgb

    shades = ((0.85, 0.85), (0.65, 0.55), (0.95, 0.65))
    return [
        hsv_to_rgb(((k * 0.618034) % 1.0, shades[k % 3][0], shades[k % 3][1])) for k in range(n)
    ]


def _place_labels(ax: Axes, points: list[tuple[float, float, str]], fontsize: float) -> None:
    """Each label at the first offset whose box overlaps no label placed before it nor
    the map's edge; skipped when none is free (the point stays, its name is in the plan)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    placed: list[Bbox] = []
    frame = ax.get_window_extent(renderer)
    for x, y, text in points:
        for dx, dy in _OFFSETS:
            label = ax.annotate(
                text,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=fontsize,
                ha="left" if dx >= 0 else "right",
                zorder=6,
            )
            box = label.get_window_extent(renderer).expanded(1.05, 1.1)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            if inside and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                break
            label.remove()


def plot_plan(plan: Plan, problem: Problem | None = None, *, title: str | None = None) -> Figure:
    font = _cjk_font()
    if font is not None:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    fig, ax = plt.subplots(figsize=(12, 9), dpi=110)
    fig.subplots_adjust(left=0.07, right=0.66, top=0.93, bottom=0.06)
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
                ax.plot([x1, x2], [y1, y2], color="#cccccc", lw=width, zorder=1)
    sources = {s["code"]: s for s in plan.sources}
    shelters = {s.code: s for s in plan.shelters}
    colours = _palette(len(plan.routes))
    trucks: list[Any] = []
    for route, colour in zip(plan.routes, colours, strict=True):
        for trip in route.trips:
            if len(trip.path) >= 2:
                xs, ys = zip(*trip.path, strict=True)
                ax.plot(xs, ys, color=colour, lw=1.6, alpha=0.85, zorder=2)
        trucks.append(Line2D([], [], color=colour, lw=2, label=route.vehicle))
    untoured = set(plan.untoured_depots) if plan.routing is not None else set()
    straight: dict[tuple[str, str], tuple[bool, bool]] = {}  # (on time, untoured)
    for sh in plan.shipments:
        depot = sh.source_kind == SourceKind.DEPOT
        if sh.source_kind == SourceKind.EN_ROUTE or (
            depot and plan.routing is not None and sh.source not in untoured
        ):
            continue  # drawn as its truck's tour
        on_time = sh.arrival_hours <= plan.deadline_hours + 1e-9
        old = straight.get((sh.source, sh.shelter), (False, False))
        straight[(sh.source, sh.shelter)] = (old[0] or on_time, depot and sh.source in untoured)
    for (source, code), (on_time, rough) in straight.items():
        src, dst = sources.get(source), shelters.get(code)
        if src is None or dst is None:
            continue
        ax.plot(
            [src["lon"], dst.lon],
            [src["lat"], dst.lat],
            color="#555555" if rough else ("#4575b4" if on_time else "#984ea3"),
            ls=":" if rough else ("-" if on_time else "--"),
            lw=0.7 if on_time else 0.5,
            alpha=0.45 if on_time else 0.3,
            zorder=2,
        )
    for src in plan.sources:
        marker = "s" if src["kind"] == SourceKind.DEPOT else "^"
        ax.scatter(src["lon"], src["lat"], marker=marker, s=70, color="#252525", zorder=4)
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
    by = "by the trucks' tours" if plan.routing is not None else "by the allocation (no tours)"
    ax.set_title(
        title
        or (
            f"{plan.name}: {k['residents_served_on_time']:,} of {k['residents_total']:,} residents "
            f"({k['share_served_on_time']:.0%}) served within {plan.deadline_hours:g} h {by}"
            + (f"; NOT TOURED: {', '.join(sorted(untoured))}" if untoured else "")
        ),
        fontsize=10,
    )
    ax.set_xlabel(_label("经度", "longitude"))
    ax.set_ylabel(_label("纬度", "latitude"))
    ax.set_aspect(1.3)
    ax.margins(0.06)
    fig.canvas.draw()  # labels are placed against the final axes
    names = [(s["lon"], s["lat"], s["code"]) for s in plan.sources]
    names += [
        (s.lon, s.lat, s.name.split(" (")[0] if font else s.code)
        for s in sorted(plan.shelters, key=lambda s: -s.residents)
    ]
    _place_labels(ax, names, 6.5)
    legend: list[Any] = [
        Line2D([], [], marker="o", ls="", color=c, label=_label(zh, en))
        for c, zh, en in (
            ("#1a9850", "按时送达", "served on time"),
            ("#fdae61", "≥50%按时", "≥ 50 % on time"),
            ("#d73027", "<50%按时", "< 50 % on time"),
        )
    ]
    legend += [
        Line2D([], [], marker="s", ls="", color="#252525", label=_label("储备库", "depot")),
        Line2D([], [], marker="^", ls="", color="#252525", label=_label("协议供应商", "supplier")),
        Line2D(
            [],
            [],
            color="#4575b4",
            label=_label("供应商直送", "supplier delivery")
            if plan.routing is not None
            else _label("调运(按时)", "shipment (on time)"),
        ),
        Line2D([], [], color="#984ea3", ls="--", label=_label("迟到", "late delivery")),
        Line2D([], [], color="#d73027", ls="--", label=_label("道路中断", "road closed")),
        Line2D([], [], color="#f46d43", label=_label("道路受损", "road damaged")),
    ]
    if untoured:
        legend.append(
            Line2D([], [], color="#555555", ls=":", label=_label("未排车(估计)", "NOT TOURED"))
        )
    first = ax.legend(
        handles=legend,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=7,
        title=_label("图例", "legend"),
        title_fontsize=8,
    )
    ax.add_artist(first)
    if trucks:
        ax.legend(
            handles=trucks,
            loc="upper left",
            bbox_to_anchor=(1.02, 0.52),
            fontsize=6,
            ncol=2 if len(trucks) > 18 else 1,
            title=_label("车辆(每车一色)", "trucks, one colour each"),
            title_fontsize=8,
        )
    return fig
