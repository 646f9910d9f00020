"""Per-vehicle manifests: what a driver carries, where to unload it, and when.

A CSV (one row per load line, for spreadsheets and the depot's loading crew) and a printable
HTML page per vehicle (stops in order, what to unload at each, lots, times). Both are built
from the Plan's routes only, so they always add up to the plan's loads. Drivers count stops
afresh on every trip (`stop`); the ledger knows a stop by its number on across the vehicle's
trips (`stop_ref`, what `relief dispatch deliver` takes).
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
    "stop_ref",
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
            for number, stop in enumerate(trip.stops, start=1):
                for load in stop.loads:
                    writer.writerow(
                        [
                            route.vehicle,
                            route.depot,
                            trip.trip,
                            round(trip.depart_hours, 3),
                            number,
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
td.sign { width: 9em; }
.en { color: #555; font-size: 9pt; }
"""


def _both(zh: str, en: str) -> str:
    """A label Chinese first, English beside (drivers and shelters read Chinese)."""
    return f'{zh} <span class="en">{en}</span>'


def manifest_html(plan: Plan, shelter_names: dict[str, str] | None = None) -> str:
    """One printable page per vehicle (装车单 / truck manifest): each trip's stops in order,
    what to unload at each, and a line for the shelter's receiver to sign (签收)."""
    names = shelter_names or {s.code: s.name for s in plan.shelters}
    pages: list[str] = []
    for route in plan.routes:
        parts = [
            f"<section><h1>{escape(route.vehicle)}</h1>",
            f'<p class="meta">{escape(plan.name)} · {_both("储备库", "depot")} '
            f"{escape(route.depot)} · "
            f"{escape(route.vehicle_type)}, {route.capacity_kg:g} kg / {route.capacity_m3:g} m³ · "
            f"{_both('时限', 'deadline')} {_clock(plan.deadline_hours)}</p>",
        ]
        for trip in route.trips:
            parts.append(
                f"<h2>{_both(f'第{trip.trip}趟', f'trip {trip.trip}')}: "
                f"{_both('出发', 'leave')} {_clock(trip.depart_hours)}, "
                f"{_both('返回', 'back')} {_clock(trip.return_hours)} · "
                f"{trip.load_kg:,.0f} kg, {trip.load_m3:.1f} m³</h2>"
            )
            parts.append(
                f"<table><tr><th>{_both('站', 'stop')}</th><th>{_both('安置点', 'shelter')}</th>"
                f"<th>{_both('到达', 'arrive')}</th><th>{_both('物资', 'item')}</th>"
                f"<th>{_both('批次', 'lot')}</th><th>{_both('数量', 'qty')}</th>"
                f"<th>{_both('签收', 'received by')}</th></tr>"
            )
            for number, stop in enumerate(trip.stops, start=1):
                late = ' class="late"' if stop.late_hours > 0 else ""
                label = escape(f"{stop.shelter} {names.get(stop.shelter, '')}".strip())
                for k, load in enumerate(stop.loads):
                    first = k == 0
                    span = len(stop.loads)
                    head = (
                        f'<td rowspan="{span}" class="n">{number} '
                        f'<span class="en">#{stop.stop}</span></td>'
                        f'<td rowspan="{span}">{label}</td>'
                        f'<td rowspan="{span}"{late}>{_clock(stop.arrival_hours)}'
                        + (f" {_both('迟到', 'late')}" if stop.late_hours > 0 else "")
                        + "</td>"
                        if first
                        else ""
                    )
                    sign = f'<td rowspan="{span}" class="sign"></td>' if first else ""
                    parts.append(
                        f"<tr>{head}<td>{escape(load.item)}</td>"
                        f'<td>{escape(load.lot or "")}</td><td class="n">{load.qty:,}</td>'
                        f"{sign}</tr>"
                    )
            parts.append("</table>")
        parts.append("</section>")
        pages.append("".join(parts))
    body = (
        "\n".join(pages) or f"<p>{_both('本计划无车辆路线', 'No vehicle routes in this plan.')}</p>"
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(plan.name)} 装车单 manifests</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
