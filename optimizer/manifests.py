"""Per-vehicle manifests: what a driver carries, where to unload it, and when.

A CSV (one row per load line, for spreadsheets and the depot's loading crew) and a printable
HTML page per vehicle (stops in order, what to unload at each, lots, times). Both are built
from the Plan's routes only, so they always add up to the plan's loads.
"""

import csv
import io
from html import escape

from optimizer.plan import Plan

COLUMNS = [
    "vehicle",
    "depot",
    "trip",
    "depart_hours",
    "stop",
    "shelter",
    "arrival_hours",
    "late_hours",
    "item",
    "lot",
    "qty",
]


def _clock(hours: float) -> str:
    """Hours since the disaster as +H:MM, which drivers read faster than decimals."""
    minutes = round(hours * 60)
    return f"+{minutes // 60}:{minutes % 60:02d}"


def manifest_csv(plan: Plan) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for route in plan.routes:
        for trip in route.trips:
            for stop in trip.stops:
                for load in stop.loads:
                    writer.writerow(
                        [
                            route.vehicle,
                            route.depot,
                            trip.trip,
                            round(trip.depart_hours, 3),
                            stop.stop,
                            stop.shelter,
                            round(stop.arrival_hours, 3),
                            round(stop.late_hours, 3),
                            load.item,
                            load.lot or "",
                            load.qty,
                        ]
                    )
    return out.getvalue()


_STYLE = """
body { font-family: "Noto Sans", "Noto Sans CJK SC", sans-serif; font-size: 11pt; }
section { page-break-after: always; margin-bottom: 2em; }
h1 { font-size: 16pt; margin: 0 0 .2em; }
h2 { font-size: 12pt; margin: 1em 0 .3em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 2px 6px; text-align: left; }
td.n { text-align: right; }
.late { color: #b2182b; font-weight: bold; }
.meta { color: #444; }
"""


def manifest_html(plan: Plan, shelter_names: dict[str, str] | None = None) -> str:
    """One printable page per vehicle."""
    names = shelter_names or {s.code: s.name for s in plan.shelters}
    pages: list[str] = []
    for route in plan.routes:
        parts = [
            f"<section><h1>{escape(route.vehicle)}</h1>",
            f'<p class="meta">{escape(plan.name)} · depot {escape(route.depot)} · '
            f"{escape(route.vehicle_type)}, {route.capacity_kg:g} kg / {route.capacity_m3:g} m³ · "
            f"deadline {_clock(plan.deadline_hours)}</p>",
        ]
        for trip in route.trips:
            parts.append(
                f"<h2>Trip {trip.trip}: leave {_clock(trip.depart_hours)}, back "
                f"{_clock(trip.return_hours)} · {trip.load_kg:,.0f} kg, {trip.load_m3:.1f} m³</h2>"
            )
            parts.append(
                "<table><tr><th>stop</th><th>shelter</th><th>arrive</th>"
                "<th>item</th><th>lot</th><th>qty</th></tr>"
            )
            for stop in trip.stops:
                late = ' class="late"' if stop.late_hours > 0 else ""
                label = escape(f"{stop.shelter} {names.get(stop.shelter, '')}".strip())
                for k, load in enumerate(stop.loads):
                    first = k == 0
                    span = len(stop.loads)
                    head = (
                        f'<td rowspan="{span}" class="n">{stop.stop}</td>'
                        f'<td rowspan="{span}">{label}</td>'
                        f'<td rowspan="{span}"{late}>{_clock(stop.arrival_hours)}'
                        + (" late" if stop.late_hours > 0 else "")
                        + "</td>"
                        if first
                        else ""
                    )
                    parts.append(
                        f"<tr>{head}<td>{escape(load.item)}</td>"
                        f'<td>{escape(load.lot or "")}</td><td class="n">{load.qty:,}</td></tr>'
                    )
            parts.append("</table>")
        parts.append("</section>")
        pages.append("".join(parts))
    body = "\n".join(pages) or "<p>No vehicle routes in this plan.</p>"
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(plan.name)} manifests</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
